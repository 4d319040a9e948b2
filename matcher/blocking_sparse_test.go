package matcher

import (
	"testing"

	"vigie"
)

// The keys for records whose other keys miss: the birth year wrong or the
// names swapped (name_day) and both names garbled (date_place, and
// date_initials without a place), each with a
// case that must not share.
func TestSparseBlockingKeys(t *testing.T) {
	base := vigie.Record{Authority: "a", LocalID: "1", BirthName: "DESSEZ", UsedName: "KINT", FirstName: "MELANIE", BirthDate: "1986-11-15", City: "LONDON"}
	with := func(f func(r *vigie.Record)) vigie.Record { r := base; r.LocalID = "2"; f(&r); return r }
	for _, tc := range []struct {
		name  string
		b     vigie.Record
		rule  string
		share bool
	}{
		{"year off by one, same family name", with(func(r *vigie.Record) { r.BirthDate = "1987-11-15" }), BlockNameDay, true},
		{"year wrong, no first name", with(func(r *vigie.Record) { r.BirthDate = "1987-11-15"; r.FirstName = "" }), BlockNameDay, true},
		{"other day of birth", with(func(r *vigie.Record) { r.BirthDate = "1987-11-16" }), BlockNameDay, false},
		{"other family and first names", with(func(r *vigie.Record) { r.BirthName, r.FirstName, r.BirthDate = "MARTIN", "JULIE", "1987-11-15" }), BlockNameDay, false},
		{"other family name, same first name", with(func(r *vigie.Record) { r.BirthName = "MARTIN"; r.BirthDate = "1987-11-15" }), BlockNameDay, true},
		{"names swapped, one with a slip", with(func(r *vigie.Record) { r.BirthName, r.FirstName = "MELANIE", "DSESEZ" }), BlockNameDay, true},
		{"both names garbled, same date and town", with(func(r *vigie.Record) { r.BirthName, r.FirstName = "DSESEZ", "MELNAIE" }), BlockDatePlace, true},
		{"same date, postal code on both", with(func(r *vigie.Record) { r.BirthName = "XU" }), BlockDatePlace, true},
		{"same date, other town", with(func(r *vigie.Record) { r.BirthName, r.City = "DSESEZ", "LEEDS" }), BlockDatePlace, false},
		{"same town, no birth date", with(func(r *vigie.Record) { r.BirthDate = "" }), BlockDatePlace, false},
		{"both names garbled, same date, no place", with(func(r *vigie.Record) { r.BirthName, r.FirstName, r.City = "DESSFZ", "MFLANIE", "" }), BlockDateInit, true},
		{"both names garbled and swapped, same date", with(func(r *vigie.Record) { r.BirthName, r.FirstName, r.City = "MELANLE", "DESSFZ", "" }), BlockDateInit, true},
		{"same date, other initials", with(func(r *vigie.Record) { r.BirthName, r.FirstName = "MARTIN", "JULIE" }), BlockDateInit, false},
		{"married name given as the birth name, no date", with(func(r *vigie.Record) { r.BirthName, r.BirthDate = "KINT", "" }), BlockNameFirst, true},
		{"same initials, other year", with(func(r *vigie.Record) { r.BirthName, r.FirstName, r.BirthDate = "DESSFZ", "MFLANIE", "1987-11-15" }), BlockDateInit, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := base
			if tc.name == "same date, postal code on both" {
				a.PostalCode, tc.b.PostalCode, a.City = "33000", "33000", ""
			}
			pa, err := Prepare(&a)
			if err != nil {
				t.Fatal(err)
			}
			pb, err := Prepare(&tc.b)
			if err != nil {
				t.Fatal(err)
			}
			got := false
			for _, ka := range BlockingKeys(pa) {
				for _, kb := range BlockingKeys(pb) {
					if ka == kb && ka.Rule == tc.rule {
						got = true
					}
				}
			}
			if got != tc.share {
				t.Errorf("share a %s key: %v, want %v (%v / %v)", tc.rule, got, tc.share, BlockingKeys(pa), BlockingKeys(pb))
			}
		})
	}
}
