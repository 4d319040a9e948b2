package mpi

import (
	"slices"
	"testing"

	"vigie/matcher"
)

// A record without birth date that reaches an identity through the home
// alone goes to a person when the home holds another person of its family
// name (a son bearing his father's first name), and links when the
// patient lives there alone.
func TestHouseholdNoDate(t *testing.T) {
	father := matcher.Record{Authority: "1.2.250.1.1", LocalID: "F", BirthName: "LAMBERT", FirstName: "ADRIEN", BirthDate: "1968-07-28",
		Sex: "M", PostalCode: "53000", City: "LAVAL", Address: "10 RUE DE LA REPUBLIQUE", Phone: "0243999496"}
	mother := matcher.Record{Authority: "1.2.250.1.1", LocalID: "M", BirthName: "GAUTIER", UsedName: "LAMBERT", FirstName: "SOPHIE", BirthDate: "1970-02-11",
		Sex: "F", PostalCode: "53000", City: "LAVAL", Address: "10 RUE DE LA REPUBLIQUE", Phone: "0243999496"}
	son := matcher.Record{Authority: "1.2.250.1.2", LocalID: "S", BirthName: "LAMBERT", FirstName: "ADRIEN",
		Sex: "M", PostalCode: "53000", City: "LAVAL", Address: "10 RUE DE LA REPUBLIQUE", Phone: "0243999496"}
	for _, tc := range []struct {
		name   string
		others []matcher.Record
		linked bool
	}{
		{"a family of that name lives there", []matcher.Record{mother}, false},
		{"the patient lives there alone", nil, true},
		{"a neighbour of another name", []matcher.Record{func() matcher.Record {
			r := mother
			r.BirthName, r.UsedName, r.Phone = "PERRIN", "", ""
			return r
		}()}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix := openIndex(t, nil)
			f := resolve(t, ix, father)
			for _, o := range tc.others {
				resolve(t, ix, o)
			}
			res := resolve(t, ix, son)
			if got := res.Identity == f.Identity; got != tc.linked {
				t.Fatalf("linked to the father's identity %v, want %v (%+v)", got, tc.linked, res)
			}
			if !tc.linked {
				if res.Decision != DecisionReview || res.Score == nil || !slices.ContainsFunc(res.Score.Rules, func(r matcher.Rule) bool { return r.Code == matcher.RuleHouseholdNoDate }) {
					t.Errorf("held record not put to review with rule %s: %+v", matcher.RuleHouseholdNoDate, res)
				}
			}
		})
	}
}
