package mpi

import (
	"vigie"
	"vigie/matcher"
)

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

// HouseholdNamesakeMessage is the message of rule
// matcher.RuleHouseholdNoDate when the names alone would link the record
// (see namesakeFather).
const HouseholdNamesakeMessage = "no birth date to tell them apart, and one of them is a boy whose mother lives in the home and whose father is not known: a father and the son bearing his first name agree on every trait given; a person decides"

// namesakeFather reports, for a man's record that would join identity c
// with no birth date to compare (the record has none, or c's closest
// member has none), in a home the two share, whether the dated side is a
// boy whose father, unseen by the index, may bear his names: the home
// holds a parent of his (a generation older: his mother) and no man of
// that generation. A father's only record, dateless, reaches his namesake
// son's identity through a rare family name and first name as surely as
// the son's own dateless record would: the names weigh enough to link on
// their own, and the home adds nothing that tells the two apart. A boy
// whose father the index knows (another man of the generation before, in
// the home) leaves no unseen namesake; a man's identity is left to the
// weights (a namesake son's dated record, when it comes, undoes the link:
// see undoLateEvidence), and so is a boy of whose home nobody else is
// known yet: holding every such record (a minor's, who lives with a
// parent) cost recall 0.0005 on the census sets for one father–son pair
// kept apart (docs/benchmarks.md). A birthplace both give and agree on is
// the person's own evidence (a father is seldom born in his son's
// commune), and so is a shared INS (excluded before): either lets the link
// stand.
func (t *tx) namesakeFather(p *matcher.Prepared, keys []matcher.BlockingKey, c *candidate) (bool, error) {
	f := &c.best.Fields
	if f[matcher.FieldBirthPlace].Level == matcher.PlaceSame {
		return false, nil
	}
	son := p
	if p.Date.Year == 0 || p.Date.Placeholder {
		st, err := t.record(c.matched)
		if err != nil {
			return false, err
		}
		if son, err = t.preparedOf(c.matched, st.Version); err != nil {
			return false, err
		}
	}
	if !son.Date.Full() || son.Date.Placeholder || son.Sex == 'F' || !male(p) && !male(son) {
		return false, nil
	}
	others, err := t.homeRecords(keys, c.id)
	if err != nil {
		return false, err
	}
	parents, fathers := false, false
	for _, o := range others {
		if matcher.ClassifyDates(son.Date, o.Date) != matcher.DateDiffGeneration || o.Date.Year > son.Date.Year {
			continue // not of the generation before the boy's
		}
		cmp := matcher.Compare(p, o)
		if h := cmp.Levels[matcher.FieldHousehold]; h == matcher.Null || h > matcher.HousePhone {
			continue
		}
		parents = true
		fathers = fathers || male(o)
	}
	return parents && !fathers, nil
}

// male reports whether a record is a man's: by its sex, or, when it gives
// none, by its first name's usual one.
func male(p *matcher.Prepared) bool {
	if p.Sex != 0 {
		return p.Sex == 'M'
	}
	sex, ok := matcher.KnownGivenName(p.First.Glued)
	return ok && sex == 'M'
}

// homeRecords reads the records sharing record p's address blocking key
// (its home, read as the blocking reads it) that belong to a live identity
// other than exclude. A key too common to say anything (a care home's
// street) gives none.
func (t *tx) homeRecords(keys []matcher.BlockingKey, exclude vigie.IdentityID) ([]*matcher.Prepared, error) {
	x := t.x
	var one [1]uint32
	type rec struct {
		k       vigie.SourceKey
		ord     uint32
		version int
	}
	var others []rec
	x.memMu.RLock()
	for _, b := range keys {
		if b.Rule != matcher.BlockAddress {
			continue
		}
		posting := x.blocks.list(x.blockHash(blockString(b)), &one)
		if len(posting) > x.opts.MaxBlock {
			break
		}
		for _, o := range posting {
			if id := x.recIdent[o]; id != exclude && x.liveLocked(id) {
				others = append(others, rec{x.keys.key(o), o, int(x.recVersion[o])})
			}
		}
	}
	x.memMu.RUnlock()
	out := make([]*matcher.Prepared, 0, len(others))
	for _, o := range others {
		if o.version == 0 {
			continue // being mirrored by a concurrent commit
		}
		mp, err := t.prepared(o.k, o.ord, o.version)
		if err != nil {
			return nil, err
		}
		out = append(out, mp)
	}
	return out, nil
}

// TwinNamesMessage is the message of rule matcher.RuleTwins when the
// index holds a record back because its first name is alike to those of
// two twins (see holdTwinNames).
const TwinNamesMessage = "the first name is a slip of two twins' names (same family name and birth date, two identities): a person decides which twin the record is"

// holdTwinNames keeps a record from linking automatically when its first
// name is only a slip of the names of two identities bearing its family
// name and birth date, whose own records are twins' (their closest members
// differ by two first names, each a given name: see twinsApart). NIHA, born
// 11/09/2024, is a slip of NINA as much as of MIA, the twin sisters of one
// home: the home's address or phone, given by one twin's record and not
// the other's, decides nothing, yet it would link the record to the
// sister whose record carried it. A person decides, the review naming
// both. A record naming one twin exactly (or by another of her birth first
// names) is hers; two identities of one person split earlier are no twins
// (their members' names are alike) and are left to the weights and to the
// rule of split identities.
func (t *tx) holdTwinNames(cands []*candidate, model *matcher.Model) error {
	if len(cands) < 2 || !cands[0].autoLink() {
		return nil
	}
	c := cands[0]
	if !twinNameSlip(&c.best) {
		return nil
	}
	for _, o := range cands[1:] {
		if o.best.Probability < model.Review {
			break // sorted by probability
		}
		if !twinNameSlip(&o.best) {
			continue
		}
		twins, err := t.twinsApart(c, o, model)
		if err != nil {
			return err
		}
		if twins {
			c.hold(matcher.RuleTwins, TwinNamesMessage, model)
			o.hold(matcher.RuleTwins, TwinNamesMessage, model)
			return nil
		}
	}
	return nil
}

// twinNameSlip reports whether a record's score against an identity's
// closest member says: same family name, same full birth date, first
// names a slip apart (not the same, not another birth first name, not
// unrelated).
func twinNameSlip(s *matcher.Score) bool {
	f := &s.Fields
	n, fn := f[matcher.FieldName].Level, f[matcher.FieldFirstName].Level
	return f[matcher.FieldBirthDate].Level == matcher.DateExact && n != matcher.Null && n <= matcher.NameSimilar &&
		fn >= matcher.NameTypo && fn <= matcher.NameSimilar && f[matcher.FieldINS].Level != matcher.INSSame
}

// twinsApart reports whether the closest members of candidates a and b are
// twins by the matcher's own rules: scored against each other, their first
// names are two different given names (rule twins or first_name_conflict).
// Two alike given names (possible_twins: MARIE and MARINE) may be one
// person's name slipped, split earlier; a record alike to both is left to
// the weights and the rule of split identities.
func (t *tx) twinsApart(a, b *candidate, model *matcher.Model) (bool, error) {
	var ps [2]*matcher.Prepared
	for i, k := range []vigie.SourceKey{a.matched, b.matched} {
		st, err := t.record(k)
		if err != nil {
			return false, err
		}
		if ps[i], err = t.preparedOf(k, st.Version); err != nil {
			return false, err
		}
	}
	cmp := matcher.Compare(ps[0], ps[1])
	s := model.Score(&cmp, t.x.freq)
	for _, r := range s.Rules {
		switch r.Code {
		case matcher.RuleTwinsDifferent, matcher.RuleFirstName:
			return true, nil
		}
	}
	return false, nil
}

// withoutHome is a score's weight without the household's: what a pair's
// own traits say, beyond the home its two persons may share.
func withoutHome(s *matcher.Score) float64 {
	return s.Weight - s.Fields[matcher.FieldHousehold].Weight
}
