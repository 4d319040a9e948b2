package mpi

import (
	"testing"

	"vigie"
	"vigie/matcher"
)

// A member whose whole list of first names (filled from INSi) lacks the
// record's later first names keeps the record out of the identity, even
// when the member the record matches best carries no list: a father
// FEDERICO CLAUDE without birth date beside his son FEDERICO's identity.
func TestOtherFirstNamesHoldTheIdentity(t *testing.T) {
	home := func(r vigie.Record) vigie.Record {
		r.BirthName, r.FirstName, r.Sex = "DERDA", "FEDERICO", "M"
		r.PostalCode, r.City, r.Address, r.Phone = "49400", "SAUMUR", "1 RUE SAINT-MICHEL", "0689822554"
		return r
	}
	sonINS := home(vigie.Record{Authority: "1.2.250.1.1", LocalID: "S1", FirstNames: "FEDERICO", BirthDate: "2010-09-22", BirthPlace: "29046",
		INS: "110092904651233", INSOID: "1.2.250.1.213.1.4.8", Status: "QUAL"})
	sonTyped := home(vigie.Record{Authority: "1.2.250.1.2", LocalID: "S2", BirthDate: "2010-09-22"})
	for _, tc := range []struct {
		name    string
		members []vigie.Record
		list    string
		linked  bool
	}{
		{"a member's whole list lacks CLAUDE", []vigie.Record{sonINS, sonTyped}, "FEDERICO CLAUDE", false},
		{"no member carries a whole list", []vigie.Record{sonTyped}, "FEDERICO CLAUDE", true},
		{"the record gives no later name", []vigie.Record{sonINS, sonTyped}, "FEDERICO", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := matcher.DefaultModel()
			m.BirthDateGuard = false // the home holds nobody else: household_no_date stays out of it
			ix := openIndex(t, m)
			var id vigie.IdentityID
			for _, r := range tc.members {
				id = resolve(t, ix, r).Identity
			}
			if got := identityOf(t, ix, tc.members[0]); got != id {
				t.Fatalf("the son's records are not one identity (%d, %d)", got, id)
			}
			father := home(vigie.Record{Authority: "1.2.250.1.3", LocalID: "F", FirstNames: tc.list})
			res := resolve(t, ix, father)
			if got := res.Identity == id; got != tc.linked {
				t.Fatalf("linked %v, want %v (%+v)", got, tc.linked, res)
			}
			if !tc.linked && res.Decision != DecisionReview {
				t.Errorf("held record not put to review: %+v", res)
			}
		})
	}
}

// A father's record without birth date linked to his namesake son's
// identity, before the son's whole list of first names was known, leaves
// it when a record filled from INSi brings that list: it lacks the
// father's later first name. Two reviews name both identities.
func TestOtherFirstNamesUndoLateLink(t *testing.T) {
	home := func(r vigie.Record) vigie.Record {
		r.BirthName, r.FirstName, r.Sex = "DERDA", "FEDERICO", "M"
		r.PostalCode, r.City, r.Address, r.Phone = "49400", "SAUMUR", "1 RUE SAINT-MICHEL", "0689822554"
		return r
	}
	sonTyped := home(vigie.Record{Authority: "1.2.250.1.2", LocalID: "S2", BirthDate: "2010-09-22"})
	father := home(vigie.Record{Authority: "1.2.250.1.3", LocalID: "F", FirstNames: "FEDERICO CLAUDE"})
	sonINS := home(vigie.Record{Authority: "1.2.250.1.1", LocalID: "S1", FirstNames: "FEDERICO", BirthDate: "2010-09-22", BirthPlace: "29046",
		INS: "110092904651233", INSOID: "1.2.250.1.213.1.4.8", Status: "QUAL"})
	for _, tc := range []struct {
		name  string
		last  vigie.Record
		moved bool
	}{
		{"the son's whole list lacks CLAUDE", sonINS, true},
		{"another typed record of the son, no list", home(vigie.Record{Authority: "1.2.250.1.4", LocalID: "S3", BirthDate: "2010-09-22"}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := matcher.DefaultModel()
			m.BirthDateGuard = false // the home holds nobody else: household_no_date stays out of it
			ix := openIndex(t, m)
			son := resolve(t, ix, sonTyped).Identity
			if res := resolve(t, ix, father); res.Identity != son {
				t.Fatalf("the father's dateless record did not join the son's identity (%+v): nothing to undo", res)
			}
			res := resolve(t, ix, tc.last)
			moved := identityOf(t, ix, father) != son
			if moved != tc.moved {
				t.Fatalf("father's record moved out %v, want %v (%+v)", moved, tc.moved, res)
			}
			if tc.moved && len(res.Reviews) < 2 {
				t.Errorf("the move opened %d reviews, want the two naming both identities", len(res.Reviews))
			}
		})
	}
}
