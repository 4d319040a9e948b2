package mpi

import (
	"slices"
	"testing"
	"time"

	"vigie"
	"vigie/matcher"
)

// A man's record without birth date that bears a boy's family and first
// names goes to a person rather than into the boy's identity (his father's
// record?), in either order and whatever the home says; into a grown
// man's identity, or with the birthplace or a later first name in common,
// it links.
func TestMinorNamesake(t *testing.T) {
	now := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	rec := func(id, date, place, list, phone string) vigie.Record {
		return vigie.Record{Authority: "1.2.250.1.1", LocalID: id, BirthName: "DE REGNAULD DE LA SOUDIERE", FirstName: "RACHID", FirstNames: list,
			BirthDate: date, Sex: "M", BirthPlace: place, Phone: phone}
	}
	boy := rec("S", "2018-02-27", "", "", "0678993184")
	man := rec("M", "1980-05-02", "", "", "0678993184")
	dateless := rec("D", "", "", "", "0685643582")
	for _, tc := range []struct {
		name        string
		first, then vigie.Record
		linked      bool
	}{
		{"the dateless record, then the boy's", dateless, boy, false},
		{"the boy's record, then the dateless one", boy, dateless, false},
		{"a grown man's record, then the dateless one", man, dateless, true},
		{"one birthplace", func() vigie.Record { r := boy; r.BirthPlace = "49099"; return r }(), func() vigie.Record { r := dateless; r.BirthPlace = "49099"; return r }(), true},
		{"one later first name", func() vigie.Record { r := boy; r.FirstNames = "RACHID VASCO"; return r }(), func() vigie.Record { r := dateless; r.FirstNames = "RACHID VASCO"; return r }(), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := matcher.DefaultModel()
			// A tiny index has no name frequencies: the names of a large one,
			// rare enough to link alone, are set by the threshold.
			m.AutoLink, m.Review = 0.6, 0.1
			ix := openIndexAt(t, m, now)
			f := resolve(t, ix, tc.first)
			res := resolve(t, ix, tc.then)
			if got := res.Identity == f.Identity; got != tc.linked {
				t.Fatalf("linked to the first record's identity %v, want %v (%+v)\n%s", got, tc.linked, res, res.Score.Table())
			}
			if !tc.linked && (res.Decision != DecisionReview || res.Score == nil ||
				!slices.ContainsFunc(res.Score.Rules, func(r matcher.Rule) bool { return r.Message == MinorNamesakeMessage })) {
				t.Errorf("held record not put to review with the minor namesake rule: %+v", res)
			}
		})
	}
}
