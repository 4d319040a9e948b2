package matcher

import (
	"slices"
	"testing"

	"vigie"
)

// A typed list of first names whose later names are all missing from the
// whole list an INSi-filled record carries is another person's, whatever
// the rest says; a typed list that is part of the whole one is the same.
func TestOutsideFullList(t *testing.T) {
	son := vigie.Record{BirthName: "DERDA", FirstName: "FEDERICO", FirstNames: "FEDERICO", Sex: "M", BirthDate: "2010-09-22", BirthPlace: "29046",
		INS: "110092904651233", INSOID: "1.2.250.1.213.1.4.8", Status: "QUAL", PostalCode: "49400", City: "SAUMUR", Address: "1 RUE SAINT-MICHEL", Phone: "0689822554"}
	typed := func(list string) vigie.Record {
		return vigie.Record{BirthName: "DERDA", FirstName: "FEDERICO", FirstNames: list, Sex: "M", BirthDate: "2010-09-22",
			PostalCode: "49400", City: "SAUMUR", Address: "1 RUE SAINT-MICHEL", Phone: "0689822554"}
	}
	withList := son
	withList.FirstNames = "FEDERICO JEAN CLAUDE"
	for _, tc := range []struct {
		name string
		full vigie.Record
		b    vigie.Record
		held bool
	}{
		{"a later name the whole list lacks", son, typed("FEDERICO CLAUDE"), true},
		{"no later name", son, typed("FEDERICO"), false},
		{"the later name in the whole list", withList, typed("FEDERICO CLAUDE"), false},
		{"a later name of the whole list, another left out", withList, typed("FEDERICO CLAUDE"), false},
		{"no INS: the list may be cut", typed("FEDERICO"), typed("FEDERICO CLAUDE"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if p := prepFor(t, tc.full); tc.full.INS != "" && !p.HasINS {
				t.Fatalf("the INS %s is not valid", tc.full.INS)
			}
			s := score(t, DefaultModel(), tc.full, tc.b)
			fired := slices.ContainsFunc(s.Rules, func(r Rule) bool { return r.Code == RuleOtherFirsts })
			if fired != tc.held || s.AutoLink == tc.held {
				t.Errorf("other_first_names %v, auto-link %v; want held %v:\n%s", fired, s.AutoLink, tc.held, s.Table())
			}
		})
	}
}
