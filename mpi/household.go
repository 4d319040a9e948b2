package mpi

import "vigie/matcher"

// womanNoHomonym reports whether a record without a usable birth date and
// the member it matches are both a woman's: the household rule that holds
// such a record through the home (holdHouseholdNoDate, birth-date guard
// on) guards against a son bearing his father's first name, a custom that
// has no like among mothers and daughters in France (a daughter named
// after her mother is given the name as a later first name, if at all).
// A woman's record is then left to the weights and to the rule that two
// identities of the home bearing its names hold it (household_homonyms).
// The sex is the record's, or, when it has none, its first name's usual
// one; the member's must be a woman's too (or not given, beside a record
// that gives it).
func womanNoHomonym(p *matcher.Prepared, best *matcher.Score) bool {
	woman := p.Sex == 'F'
	if p.Sex == 0 {
		sex, ok := matcher.KnownGivenName(p.First.Glued)
		woman = ok && sex == 'F'
	}
	member := best.Fields[matcher.FieldSex].B // the member's, as Compare(record, member) shows it
	return woman && (member == "F" || member == "" && p.Sex == 'F')
}
