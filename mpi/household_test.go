package mpi

import (
	"slices"
	"testing"

	"vigie"
	"vigie/matcher"
)

// A record without birth date reaching, through the home, the identity of
// a person bearing its names: a man's goes to a person (a son may bear his
// father's first name, rule household_no_date), a woman's links (no such
// custom between mother and daughter), unless the member it matches is a
// man's.
func TestHouseholdNoDateWoman(t *testing.T) {
	dated := func(first, sex string) vigie.Record {
		return vigie.Record{Authority: "1.2.250.1.1", LocalID: "D", BirthName: "VARISCO", FirstName: first, BirthDate: "1991-08-31",
			Sex: sex, PostalCode: "29100", City: "DOUARNENEZ", Address: "1 PLACE DE L'EGLISE", Phone: "0771249050"}
	}
	dateless := func(first, sex string) vigie.Record {
		r := dated(first, sex)
		r.Authority, r.LocalID, r.BirthDate = "1.2.250.1.2", "N", ""
		return r
	}
	for _, tc := range []struct {
		name        string
		first, then vigie.Record
		linked      bool
	}{
		{"a woman's record", dated("MARION", "F"), dateless("MARION", "F"), true},
		{"a woman's record, her dated one arriving second", dateless("MARION", "F"), dated("MARION", "F"), true},
		{"a woman's name, the sex not given", dated("MARION", "F"), dateless("MARION", ""), true},
		{"a man's record", dated("ADRIEN", "M"), dateless("ADRIEN", "M"), false},
		{"a name both sexes bear, the sex not given", dated("CAMILLE", "M"), dateless("CAMILLE", ""), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := matcher.DefaultModel()
			m.BirthDateGuard = true
			ix := openIndex(t, m)
			f := resolve(t, ix, tc.first)
			res := resolve(t, ix, tc.then)
			if got := res.Identity == f.Identity; got != tc.linked {
				t.Fatalf("linked %v, want %v (%+v)", got, tc.linked, res)
			}
			held := res.Score != nil && slices.ContainsFunc(res.Score.Rules, func(r matcher.Rule) bool { return r.Code == matcher.RuleHouseholdNoDate })
			if held == tc.linked {
				t.Errorf("rule %s fired %v, want %v", matcher.RuleHouseholdNoDate, held, !tc.linked)
			}
		})
	}
}

// A pair the index put to a person is never shown graded certain, even
// when its own score would link: here two identities bear the same
// traits (twins recorded under one name, told apart by a person) and a
// third record matches both equally.
func TestReviewNeverGradedCertain(t *testing.T) {
	ix := openIndex(t, nil)
	a, b := person("1.2.250.1.1", "A1"), person("1.2.250.1.2", "B1")
	resolve(t, ix, a)
	resolve(t, ix, b)
	if _, err := ix.Unlink(ctx, key(b), "vigilance", "twins recorded under one name"); err != nil {
		t.Fatal(err)
	}
	res := resolve(t, ix, person("1.2.250.1.3", "C1"))
	if res.Decision != DecisionReview || len(res.Reviews) != 2 {
		t.Fatalf("two equally good candidates: %+v, want review against both", res)
	}
	reviews, err := ix.Reviews(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range reviews {
		if g := ReviewGrade(&reviews[i], ix.Model()); g == matcher.GradeCertain {
			t.Errorf("review %d graded %s (probability %.4f)", reviews[i].ID, g, reviews[i].Probability)
		}
	}
}
