package mpi

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"vigie"
	"vigie/matcher"
)

// goldenByMap is golden as first written, with a map of votes per field:
// the reference the list of votes must agree with.
func goldenByMap(members []*recordState) vigie.Record {
	var out vigie.Record
	if len(members) == 0 {
		return out
	}
	var qual *recordState
	for _, m := range members {
		if strings.EqualFold(m.Record.Status, vigie.StatusQUAL) && m.Record.INS != "" &&
			(qual == nil || m.Received.After(qual.Received)) {
			qual = m
		}
	}
	for _, f := range goldenFields {
		if f.ins && qual != nil {
			*f.get(&out) = *f.get(&qual.Record)
			continue
		}
		type tally struct {
			rank   int
			count  int
			latest time.Time
		}
		votes := map[string]*tally{}
		best := ""
		var bt *tally
		for _, m := range members {
			v := *f.get(&m.Record)
			if strings.TrimSpace(v) == "" {
				continue
			}
			t := votes[v]
			if t == nil {
				t = &tally{}
				votes[v] = t
			}
			t.rank = max(t.rank, statusRank(m.Record.Status))
			t.count++
			if m.Received.After(t.latest) {
				t.latest = m.Received
			}
		}
		for v, t := range votes {
			if bt == nil || t.rank > bt.rank ||
				t.rank == bt.rank && (t.count > bt.count ||
					t.count == bt.count && (t.latest.After(bt.latest) || t.latest.Equal(bt.latest) && v < best)) {
				best, bt = v, t
			}
		}
		*f.get(&out) = best
	}
	for _, m := range members {
		if statusOrder(m.Record.Status) > statusOrder(out.Status) {
			out.Status = strings.ToUpper(m.Record.Status)
		}
		for _, a := range m.Record.Attributes {
			a = strings.ToUpper(a)
			found := false
			for _, b := range out.Attributes {
				found = found || a == b
			}
			if !found {
				out.Attributes = append(out.Attributes, a)
			}
		}
	}
	return out
}

// TestGoldenAsByMap: golden gives what it gave with a map of votes, on
// random identities of one to six members whose traits often tie (same
// values, counts, statuses and reception times), with blank values,
// statuses in either case, qualified INS and attributes.
func TestGoldenAsByMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	pick := func(vals ...string) string { return vals[rng.IntN(len(vals))] }
	base := time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC)
	if got := golden(nil); !reflect.DeepEqual(got, vigie.Record{}) {
		t.Errorf("no member: %+v", got)
	}
	for n := range 3000 {
		members := make([]*recordState, 1+rng.IntN(6))
		for i := range members {
			r := vigie.Record{Authority: "1.2.3", LocalID: pick("A", "B"),
				INS: pick("", "", "180017512345678", "280017512345612", " "), INSOID: pick("", matcher.OIDINSNIR),
				Status:    pick("", "PROV", "prov", "RECUP", "VALI", "vali", "QUAL", "Qual"),
				BirthName: pick("MARTIN", "MARTIN ", "DURAND", "", "  "), UsedName: pick("", "DUPONT", "LEROY"),
				FirstNames: pick("JEAN PIERRE", "JEAN", ""), FirstName: pick("JEAN", "Jean", ""),
				BirthDate: pick("1961-04-09", "1961-09-04", ""), Sex: pick("M", "F", ""), BirthPlace: pick("33063", "", "99100"),
				PostalCode: pick("33000", "33800", ""), City: pick("BORDEAUX", "Bordeaux", ""), Address: pick("", "12 RUE NEUVE", "3 PLACE"),
				Phone: pick("", "0556000000", "0600000000")}
			for _, a := range []string{"cach", "CACH", "OPPO", "vide"} {
				if rng.IntN(4) == 0 {
					r.Attributes = append(r.Attributes, a)
				}
			}
			members[i] = &recordState{Version: 1, Record: r, Received: base.Add(time.Duration(rng.IntN(3)) * time.Hour)}
		}
		if got, want := golden(members), goldenByMap(members); !reflect.DeepEqual(got, want) {
			var b strings.Builder
			for _, m := range members {
				b.WriteString("\n  " + m.Received.Format(time.Kitchen) + " " + fmtRecord(m.Record))
			}
			t.Fatalf("identity %d:%s\ngolden %+v\nwant   %+v", n, b.String(), got, want)
		}
	}
}

func fmtRecord(r vigie.Record) string {
	return strings.Join([]string{r.Status, r.INS, r.BirthName, r.UsedName, r.FirstNames, r.FirstName, r.BirthDate, r.Sex,
		r.BirthPlace, r.PostalCode, r.City, r.Address, r.Phone, strings.Join(r.Attributes, ",")}, "|")
}
