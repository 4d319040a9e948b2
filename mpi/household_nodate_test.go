package mpi

import (
	"slices"
	"testing"

	"vigie"
	"vigie/matcher"
)

// A record without birth date that reaches an identity through the home
// alone goes to a person: always where the model's birth-date guard is on
// (a son bearing his father's first name may live there, seen yet or
// not), and with the guard off when the home holds another person of its
// family name; with the guard off a patient living alone links. The same
// holds the other way round: a dated record reaching a dateless one.
func TestHouseholdNoDate(t *testing.T) {
	father := vigie.Record{Authority: "1.2.250.1.1", LocalID: "F", BirthName: "LAMBERT", FirstName: "ADRIEN", BirthDate: "1968-07-28",
		Sex: "M", PostalCode: "53000", City: "LAVAL", Address: "10 RUE DE LA REPUBLIQUE", Phone: "0243999496"}
	mother := vigie.Record{Authority: "1.2.250.1.1", LocalID: "M", BirthName: "GAUTIER", UsedName: "LAMBERT", FirstName: "SOPHIE", BirthDate: "1970-02-11",
		Sex: "F", PostalCode: "53000", City: "LAVAL", Address: "10 RUE DE LA REPUBLIQUE", Phone: "0243999496"}
	son := vigie.Record{Authority: "1.2.250.1.2", LocalID: "S", BirthName: "LAMBERT", FirstName: "ADRIEN",
		Sex: "M", PostalCode: "53000", City: "LAVAL", Address: "10 RUE DE LA REPUBLIQUE", Phone: "0243999496"}
	neighbour := mother
	neighbour.BirthName, neighbour.UsedName, neighbour.Phone = "PERRIN", "", ""
	for _, tc := range []struct {
		name        string
		guard       bool // the model's birth-date guard
		first, then vigie.Record
		others      []vigie.Record
		linked      bool
	}{
		{"guard on: a family of that name lives there", true, father, son, []vigie.Record{mother}, false},
		{"guard on: the patient lives there alone", true, father, son, nil, false},
		{"guard on: the dated record arrives second", true, son, father, nil, false},
		{"guard off: a family of that name lives there", false, father, son, []vigie.Record{mother}, false},
		{"guard off: the patient lives there alone", false, father, son, nil, true},
		{"guard off: a neighbour of another name", false, father, son, []vigie.Record{neighbour}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := matcher.DefaultModel()
			m.BirthDateGuard = tc.guard
			ix := openIndex(t, m)
			f := resolve(t, ix, tc.first)
			for _, o := range tc.others {
				resolve(t, ix, o)
			}
			res := resolve(t, ix, tc.then)
			if got := res.Identity == f.Identity; got != tc.linked {
				t.Fatalf("linked to the first record's identity %v, want %v (%+v)", got, tc.linked, res)
			}
			if !tc.linked {
				if res.Decision != DecisionReview || res.Score == nil || !slices.ContainsFunc(res.Score.Rules, func(r matcher.Rule) bool { return r.Code == matcher.RuleHouseholdNoDate }) {
					t.Errorf("held record not put to review with rule %s: %+v", matcher.RuleHouseholdNoDate, res)
				}
			}
		})
	}
}
