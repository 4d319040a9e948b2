package matcher

import (
	"testing"

	"vigie"
)

// Typing slips in a birth date are told from the dates of another person
// by the structure of the difference.
func TestClassifyDates(t *testing.T) {
	d := func(y, m, day int) Date { return Date{Year: y, Month: m, Day: day} }
	for _, tc := range []struct {
		name string
		a, b Date
		want DateDiff
	}{
		{"same date", d(1977, 12, 7), d(1977, 12, 7), DateDiffNone},
		{"one part off is no conflict", d(1977, 12, 7), d(1977, 12, 9), DateDiffNone},
		{"year +1 and a day digit", d(1977, 12, 7), d(1978, 12, 9), DateDiffSlips},
		{"year -1 and a day digit", d(1983, 7, 12), d(1982, 7, 14), DateDiffSlips},
		{"year +10 across a century and a day digit", d(1992, 2, 28), d(2002, 2, 25), DateDiffSlips},
		{"month and day one digit each", d(1950, 5, 10), d(1950, 8, 13), DateDiffSlips},
		{"day and month swapped and the year slipped", d(1970, 3, 9), d(1971, 9, 3), DateDiffSlips},
		{"a month apart", d(2010, 1, 30), d(2010, 3, 1), DateDiffSlips},
		{"father and son", d(1988, 7, 28), d(2008, 4, 8), DateDiffGeneration},
		{"mother and daughter", d(1968, 5, 21), d(1994, 9, 2), DateDiffGeneration},
		{"FEBRL date replaced", d(1970, 10, 20), d(1903, 7, 11), DateDiffGeneration},
		{"brothers two years apart", d(2020, 12, 20), d(2022, 10, 9), DateDiffSibling},
		{"sisters four years apart", d(1990, 3, 14), d(1994, 11, 2), DateDiffSibling},
		{"a partial date is not classified", Date{Year: 1970}, d(1980, 1, 2), DateDiffNone},
	} {
		if got := ClassifyDates(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: %v vs %v classified %d, want %d", tc.name, tc.a, tc.b, got, tc.want)
		}
		if got := ClassifyDates(tc.b, tc.a); got != tc.want {
			t.Errorf("%s (other order): classified %d, want %d", tc.name, got, tc.want)
		}
	}
}

// A first name garbled by two keystrokes is a typo when one of the two is
// no known given name; two real given names stay different.
func TestFirstNameTwoSlips(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want Level
	}{
		{"JEAH", "JFAN", NameSimilar},
		{"LAUFN", "LAUREN", NameSimilar},
		{"MARC", "JEAN", NameDifferent},   // two real names
		{"LUCAS", "LOUIS", NameDifferent}, // two real names
		{"MUIREK", "MURIEL", NameSimilar},
		{"DANBEL", "LOUIS", NameDifferent},
	} {
		a := prep(t, vigie.Record{BirthName: "MARTIN", FirstName: tc.a})
		b := prep(t, vigie.Record{BirthName: "MARTIN", FirstName: tc.b})
		if got, _, _ := compareFirst(a, b); got != tc.want {
			t.Errorf("%s / %s: level %s, want %s", tc.a, tc.b, FieldFirstName.LevelName(got), FieldFirstName.LevelName(tc.want))
		}
	}
}

// The conflict rules hold back pairs that describe two people of a home,
// and leave typing slips to the weights.
func TestConflictRulesOnEvidence(t *testing.T) {
	m := DefaultModel()
	base := vigie.Record{BirthName: "DEQUAINDRY", FirstName: "MURIEL", BirthDate: "1975-11-13", Sex: "F", BirthPlace: "53130"}
	apart := func(r vigie.Record) vigie.Record {
		r.PostalCode, r.City, r.Address = "29200", "BREST", "4 RUE DE SIAM"
		return r
	}
	with := func(f func(*vigie.Record)) vigie.Record { r := base; f(&r); return r }
	for _, tc := range []struct {
		name     string
		a, b     vigie.Record
		rule     string // must fire ("" none)
		noRule   string // must not fire
		autoLink bool
		review   bool // at or above the review threshold
	}{
		{"two slips in the date, same names, apart: the weights decide (review)",
			home(base), apart(with(func(r *vigie.Record) { r.BirthDate = "1976-11-18" })), "", RuleBirthDate, false, true},
		{"two slips in the date, same names, same home: linked",
			home(base), home(with(func(r *vigie.Record) { r.BirthDate = "1976-11-18" })), "", RuleBirthDate, true, true},
		{"two slips in the date, first names only alike, same home: brothers held for review",
			home(with(func(r *vigie.Record) { r.FirstName, r.Sex = "MATIAS", "M" })), home(with(func(r *vigie.Record) { r.FirstName, r.Sex, r.BirthDate = "MATHIS", "M", "1976-10-13" })), RuleBirthDate, "", false, true},
		{"a generation apart, same home: held below review",
			home(base), home(with(func(r *vigie.Record) { r.BirthDate = "2001-02-03" })), RuleBirthDate, "", false, false},
		{"a generation apart, no home known: held below review",
			base, with(func(r *vigie.Record) { r.BirthDate = "2001-02-03" }), RuleBirthDate, "", false, false},
		{"a generation apart, living apart: never linked, a person may see it",
			home(base), apart(with(func(r *vigie.Record) { r.BirthDate = "2001-02-03" })), RuleBirthDate, "", false, true},
		{"a few years apart, same home, no first name on one: a sister, held",
			home(base), home(with(func(r *vigie.Record) { r.FirstName, r.BirthDate = "", "1979-04-02" })), RuleBirthDate, "", false, false},
		{"a few years apart, same home, the same first name: no sister bears it, the weights decide",
			home(base), home(with(func(r *vigie.Record) { r.BirthDate = "1979-04-02" })), "", RuleBirthDate, true, true},
		{"a few years apart, living apart: the weights decide",
			home(base), apart(with(func(r *vigie.Record) { r.BirthDate = "1979-04-02" })), "", RuleBirthDate, false, true},
		{"garbled first name (two slips, no given name)",
			base, with(func(r *vigie.Record) { r.FirstName = "MUIREK" }), "", RuleFirstName, true, true},
		{"two real first names, same home: held below review",
			home(base), home(with(func(r *vigie.Record) { r.FirstName, r.BirthDate = "SOPHIE", "1977-01-20" })), RuleFirstName, "", false, false},
		{"twins with a garbled name, same home: a person decides",
			home(base), home(with(func(r *vigie.Record) { r.FirstName = "XQZWTY" })), RuleTwins, RuleFirstName, false, true},
		{"twins, one surname slip, alike first names: possible twins",
			home(with(func(r *vigie.Record) { r.BirthName, r.FirstName, r.Sex = "VERSELE", "SIMONE", "" })), home(with(func(r *vigie.Record) { r.BirthName, r.FirstName, r.Sex = "VEDSELE", "SIMON", "M" })), RuleTwins, "", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := score(t, m, tc.a, tc.b)
			if s.AutoLink != tc.autoLink {
				t.Errorf("auto-link %v, want %v\n%s", s.AutoLink, tc.autoLink, s.Table())
			}
			if got := s.Probability >= m.Review; got != tc.review {
				t.Errorf("in review band %v, want %v\n%s", got, tc.review, s.Table())
			}
			if tc.rule != "" && !hasRule(s, tc.rule) {
				t.Errorf("rule %s did not fire\n%s", tc.rule, s.Table())
			}
			if tc.noRule != "" && hasRule(s, tc.noRule) {
				t.Errorf("rule %s fired\n%s", tc.noRule, s.Table())
			}
		})
	}
}

// A sibling's gap between birth dates is read as a bad date only where no
// brother or sister can be meant: one home (an e-mail or an address in
// common), one birth name, exactly one first name, no other sex.
func TestClassifyPairDates(t *testing.T) {
	base := vigie.Record{Authority: "a", LocalID: "1", BirthName: "CAMPBELL", FirstName: "JAMES", BirthDate: "2011-10-10", Sex: "M", Email: "jc@herring.info"}
	for _, tc := range []struct {
		name string
		edit func(a, b *vigie.Record)
		want DateDiff
	}{
		{"same e-mail, same names", func(a, b *vigie.Record) {}, DateDiffSlips},
		{"same address and phone, same names", func(a, b *vigie.Record) {
			a.Email, b.Email = "", ""
			for _, r := range []*vigie.Record{a, b} {
				r.PostalCode, r.Address, r.Phone = "33000", "1 RUE DU PORT", "0556000000"
			}
		}, DateDiffSlips},
		{"no home in common: namesakes a year apart", func(a, b *vigie.Record) { b.Email = "" }, DateDiffSibling},
		{"neighbours: the address line alike, no phone or e-mail in common", func(a, b *vigie.Record) {
			a.Email, b.Email = "", ""
			a.PostalCode, a.Address = "33000", "8 BD DES ANGLAIS"
			b.PostalCode, b.Address = "33000", "9 BD DES ANGLAIS"
		}, DateDiffSibling},
		{"first name only in the list (a sister's second name)", func(a, b *vigie.Record) { b.FirstName, b.FirstNames = "MELISA", "MELISA JAMES" }, DateDiffSibling},
		{"first name alike", func(a, b *vigie.Record) { b.FirstName = "JAMIE" }, DateDiffSibling},
		{"first name missing", func(a, b *vigie.Record) { b.FirstName = "" }, DateDiffSibling},
		{"another sex", func(a, b *vigie.Record) { b.Sex = "F" }, DateDiffSibling},
		{"birth name is the other's name in use (spouses)", func(a, b *vigie.Record) { b.BirthName, b.UsedName = "BIHAN", "CAMPBELL" }, DateDiffSibling},
		{"a generation apart: father and son", func(a, b *vigie.Record) { b.BirthDate = "1981-10-10" }, DateDiffGeneration},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := base, base
			b.LocalID, b.BirthDate = "2", "2012-11-06"
			tc.edit(&a, &b)
			pa, err := Prepare(&a)
			if err != nil {
				t.Fatal(err)
			}
			pb, err := Prepare(&b)
			if err != nil {
				t.Fatal(err)
			}
			c := Compare(pa, pb)
			if got := ClassifyPairDates(&c); got != tc.want {
				t.Errorf("got %d, want %d (levels %v)", got, tc.want, c.Levels)
			}
		})
	}
}
