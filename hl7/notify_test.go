package hl7

import (
	"slices"
	"strings"
	"testing"
	"time"

	"vigie"
	"vigie/mpi"
)

// TestBuildReadsBack: a notification read back by Vigie's own PID reader,
// with the regional authority as the site's, gives the identity's id and
// golden traits again, delimiters in values escaped.
func TestBuildReadsBack(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 15, 0, 0, time.UTC)
	snd := Sender{RegionalOID: regionalOID, ReceivingApp: "RIS", ReceivingFacility: "RIS"}
	for _, tc := range []struct {
		name   string
		golden vigie.Record
		attrs  []string
	}{
		{"plain", vigie.Record{BirthName: "MARTIN", UsedName: "DUPONT", FirstName: "MARIE", FirstNames: "MARIE CLAIRE", BirthDate: "1956-03-14", Sex: "F",
			BirthPlace: "33063", Address: "1 RUE DU PORT", City: "BORDEAUX", PostalCode: "33000", Phone: "0556000000", Status: vigie.StatusQUAL,
			INS: "256033306312345", INSOID: "1.2.250.1.213.1.4.8", Email: "marie.martin@example.fr"}, nil},
		{"delimiters in values", vigie.Record{BirthName: "O^BRIEN|X", FirstName: "ANNE&MARIE", FirstNames: "ANNE~MARIE", BirthDate: "1970", Sex: "U"},
			[]string{vigie.AttrDoubtful, vigie.AttrHomonymDoubt}},
		{"backslash and partial date", vigie.Record{BirthName: `A\B`, BirthDate: "1970-05", Status: vigie.StatusPROV}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mpi.Snapshot{Identity: vigie.Identity{ID: 42, Golden: tc.golden, Attributes: tc.attrs,
				Members: []vigie.SourceKey{{Authority: chuA, LocalID: "IPP&1"}, {Authority: radiology, LocalID: "R2"}}}}
			for _, ev := range []string{NotifyCreate, NotifyUpdate, NotifyMerge} {
				raw := Build(Notification{Event: ev, Identity: s, Retired: 7}, snd, "VG9.0", now)
				m, err := Parse(raw)
				if err != nil {
					t.Fatalf("%s: %v\n%q", ev, err, raw)
				}
				h := ReadHeader(m)
				if h.Type != "ADT" || h.Event != ev || h.ControlID != "VG9.0" || h.ReceivingFac != "RIS" {
					t.Errorf("%s: header %+v", ev, h)
				}
				pid, _ := m.Segment("PID")
				rec, err := ReadPID(pid, 1, regionalOID)
				if err != nil {
					t.Fatalf("%s: %v\n%q", ev, err, raw)
				}
				want := tc.golden
				want.Authority, want.LocalID = regionalOID, "42"
				want.Attributes = tc.attrs
				if want.FirstNames == "" && rec.FirstNames == "" {
					rec.FirstNames = ""
				}
				if !recordsEqual(rec, want) {
					t.Errorf("%s: read back\n%+v\nwant\n%+v", ev, rec, want)
				}
				var ipps []string
				for _, r := range pid.Repetitions(3) {
					if r.Get(4, 2) == chuA || r.Get(4, 2) == radiology {
						ipps = append(ipps, r.Get(1, 0))
					}
				}
				if !slices.Equal(ipps, []string{"IPP&1", "R2"}) {
					t.Errorf("%s: member IPPs %v", ev, ipps)
				}
				mrg, ok := m.Segment("MRG")
				if (ev == NotifyMerge) != ok || ok && mrg.Get(1, 1) != "7" {
					t.Errorf("%s: MRG %q", ev, mrg.Field(1))
				}
				if strings.Contains(string(raw), "\n") {
					t.Errorf("%s: a line feed in the message", ev)
				}
			}
		})
	}
}

func recordsEqual(a, b vigie.Record) bool {
	return a.Authority == b.Authority && a.LocalID == b.LocalID && a.BirthName == b.BirthName && a.UsedName == b.UsedName &&
		a.FirstName == b.FirstName && a.FirstNames == b.FirstNames && a.BirthDate == b.BirthDate && a.Sex == b.Sex &&
		a.BirthPlace == b.BirthPlace && a.Address == b.Address && a.City == b.City && a.PostalCode == b.PostalCode &&
		a.Phone == b.Phone && a.Email == b.Email && a.Status == b.Status && a.INS == b.INS && a.INSOID == b.INSOID && slices.Equal(a.Attributes, b.Attributes)
}
