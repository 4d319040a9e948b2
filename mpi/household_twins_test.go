package mpi

import (
	"slices"
	"testing"
	"time"

	"vigie"
	"vigie/matcher"
	"vigie/store"
)

// openIndexAt opens an empty index whose clock stands at now.
func openIndexAt(t *testing.T, model *matcher.Model, now time.Time) *Index {
	t.Helper()
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ix, err := Open(db, model, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

// The DESESTRET shape of the census with five times the twins: twin
// sisters NINA and MIA have identities of their own (their names are two
// given names), then a record NIHA of their family name and birth date
// arrives, a slip of either name, giving the phone MIA's record gave. It
// is linked to neither: one review for each twin, rule possible_twins
// naming the twins. A record naming one twin exactly is hers.
func TestTwinNamesSlip(t *testing.T) {
	rec := func(id, first, list, place, address, phone string) vigie.Record {
		r := vigie.Record{Authority: "1.2.250.1.1", LocalID: id, BirthName: "DESERTOT", FirstName: first, FirstNames: list,
			BirthDate: "2024-09-11", Sex: "F", BirthPlace: place, Phone: phone}
		if address != "" {
			r.PostalCode, r.City, r.Address = "50000", "SAINT-LO", address
		}
		return r
	}
	nina := rec("N", "NINA", "NINA MANON SANDRINE", "29151", "12 R PASTEUR", "")
	mia := rec("M", "MIA", "", "", "12 R PASTEUR", "0781742185")
	for _, tc := range []struct {
		name   string
		then   vigie.Record
		linked string // the twin the record joins, "" none
	}{
		{"NIHA, a slip of NINA and of MIA", rec("X", "NIHA", "", "", "", "0781742185"), ""},
		{"MIA named exactly", rec("X", "MIA", "", "", "", "0781742185"), "M"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix := openIndex(t, nil)
			ids := map[string]vigie.IdentityID{}
			for _, r := range []vigie.Record{nina, mia} {
				ids[r.LocalID] = resolve(t, ix, r).Identity
			}
			if ids["N"] == ids["M"] {
				t.Fatal("precondition: the twins share an identity")
			}
			res := resolve(t, ix, tc.then)
			if tc.linked != "" {
				if res.Identity != ids[tc.linked] {
					t.Fatalf("joined %s, want %s's identity %s", res.Identity, tc.linked, ids[tc.linked])
				}
				return
			}
			if res.Identity == ids["N"] || res.Identity == ids["M"] {
				t.Fatalf("linked to a twin's identity %s: %+v", res.Identity, res)
			}
			if res.Decision != DecisionReview || len(res.Reviews) != 2 {
				t.Fatalf("decision %s with %d reviews, want a review naming each twin", res.Decision, len(res.Reviews))
			}
			named := map[vigie.IdentityID]bool{}
			for _, id := range res.Reviews {
				r, err := ix.Review(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				named[r.Candidate] = true
				if !slices.Contains(r.Rules, matcher.RuleTwins) || r.Grade == matcher.GradeCertain {
					t.Errorf("review %d: rules %v grade %s, want possible_twins and not certain", id, r.Rules, r.Grade)
				}
			}
			if !named[ids["N"]] || !named[ids["M"]] {
				t.Errorf("the reviews name %v, want both twins %v", named, ids)
			}
		})
	}
}

// The BAYSE shape of the census with five times the twins: a young man's
// dated record, then his father's record without birth date (nobody else
// of the home known yet: linked to the son by the names), then the
// father's dated record, without the home's address. The son's records
// explain the dateless one no better than the father's once the home both
// share is left out: the dateless record leaves the son's identity, and a
// review names both.
func TestLateEvidenceWithoutHome(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	son := vigie.Record{Authority: "1.2.250.1.1", LocalID: "S", BirthName: "BAYSSAC", FirstName: "FREDERIK", BirthDate: "2002-09-13", Sex: "M",
		BirthPlace: "56007", PostalCode: "56400", City: "AURAY", Address: "4 R DU STADE", Phone: "0275019588"}
	noDate := vigie.Record{Authority: "1.2.250.1.2", LocalID: "D", BirthName: "BAYSSAC", FirstName: "FREDERIK", Sex: "M",
		PostalCode: "56400", City: "AURAY", Address: "4 R DU STADE"}
	father := vigie.Record{Authority: "1.2.250.1.3", LocalID: "F", BirthName: "BAYSSAC", FirstName: "FREDERIK", BirthDate: "1979-07-12", Sex: "M", BirthPlace: "59350"}
	model := matcher.DefaultModel()
	model.BirthDateGuard = true
	model.AutoLink = 0.99 // the names alone link, as a rare name's do
	ix := openIndexAt(t, model, now)
	s := resolve(t, ix, son)
	if d := resolve(t, ix, noDate); d.Identity != s.Identity {
		t.Fatalf("precondition: the dateless record did not link to the son's identity (%s)", d.Decision)
	}
	f := resolve(t, ix, father)
	if f.Identity == s.Identity {
		t.Fatalf("the father's dated record joined the son's identity")
	}
	got, err := ix.IdentityOf(ctx, noDate.Authority, noDate.LocalID)
	if err != nil {
		t.Fatal(err)
	}
	if got == s.Identity || got == f.Identity {
		t.Fatalf("the dateless record is in identity %s (son %s, father %s): want one of its own, put to a person", got, s.Identity, f.Identity)
	}
	if len(f.Reviews) < 2 {
		t.Errorf("%d reviews opened, want one naming each identity", len(f.Reviews))
	}
}

// The BEN REDJEB shape of the census of 100,000 persons: twin sisters
// MEHLIA and MAELIA; a record MQELIA of their birth date (one key from
// MAELIA, two from MEHLIA, no given name) came before any of MAELIA's and
// was linked to MEHLIA. MAELIA's record, held from MEHLIA's identity as
// her possible twin, shows the slip was hers: MQELIA leaves MEHLIA's
// identity, and its review names both twins. A garbled record that the
// newcomer explains worse than the twin it was linked to stays.
func TestLateEvidenceTwinSlip(t *testing.T) {
	rec := func(id, first, list string) vigie.Record {
		return vigie.Record{Authority: "1.2.250.1.1", LocalID: id, BirthName: "BEN REDJAL", FirstName: first, FirstNames: list,
			BirthDate: "2017-10-24", Sex: "F", BirthPlace: "61001"}
	}
	mehlia := rec("A", "MEHLIA", "MEHLIA CLOE")
	mehlia.PostalCode, mehlia.City, mehlia.Address, mehlia.Phone = "29200", "BREST", "5 AVENUE JEAN JAURES", "0224872635"
	for _, tc := range []struct {
		name  string
		slip  string // the garbled record's first name
		moved bool
	}{
		{"MQELIA, one key from MAELIA, two from MEHLIA", "MQELIA", true},
		{"MEHLIQ, one key from MEHLIA", "MEHLIQ", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix := openIndex(t, nil)
			a := resolve(t, ix, mehlia)
			s := resolve(t, ix, rec("S", tc.slip, ""))
			if s.Identity != a.Identity {
				t.Fatalf("precondition: %s not linked to MEHLIA (%s)", tc.slip, s.Decision)
			}
			m := resolve(t, ix, rec("M", "MAELIA", "MAELIA"))
			if m.Identity == a.Identity {
				t.Fatalf("MAELIA joined her twin's identity")
			}
			got, err := ix.IdentityOf(ctx, "1.2.250.1.1", "S")
			if err != nil {
				t.Fatal(err)
			}
			if moved := got != a.Identity; moved != tc.moved {
				t.Fatalf("%s moved out of MEHLIA's identity %v, want %v", tc.slip, moved, tc.moved)
			}
			if !tc.moved {
				return
			}
			if got == m.Identity {
				t.Fatalf("%s linked to MAELIA automatically: a person decides", tc.slip)
			}
			named := map[vigie.IdentityID]bool{}
			for _, id := range m.Reviews {
				r, err := ix.Review(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if r.Identity == got {
					named[r.Candidate] = true
					if !slices.Contains(r.Rules, matcher.RuleTwins) {
						t.Errorf("review %d of the moved record: rules %v, want possible_twins", id, r.Rules)
					}
				}
			}
			if !named[a.Identity] || !named[m.Identity] {
				t.Errorf("the moved record's reviews name %v, want MEHLIA's %s and MAELIA's %s", named, a.Identity, m.Identity)
			}
		})
	}
}
