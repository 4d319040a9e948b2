package mpi

import (
	"slices"

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
			// A home is filed under two keys (postal code and town):
			// a record of both postings is read once.
			if id := x.recIdent[o]; id != exclude && x.liveLocked(id) && !slices.ContainsFunc(others, func(r rec) bool { return r.ord == o }) {
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
			return nil, t.mirrored(err)
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
			return false, t.mirrored(err)
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

// minorYears is the age under which a boy's identity is a child's: his
// records are typed with his birth date (a child is registered by his
// parents, from his health booklet), and a man's record without one that
// bears his names may be his father's.
const minorYears = 18

// MinorNamesakeMessage is the message of rule matcher.RuleHouseholdNoDate
// when the index holds a man's record without birth date from a boy's
// identity bearing his names (see holdMinorNamesake).
const MinorNamesakeMessage = "no birth date on one record, the other a boy under age bearing the same names (his father's record?): a person decides"

// holdMinorNamesake keeps a man's record without a usable birth date from
// joining automatically the identity of a boy under age who bears its
// family and first names, and a boy's dated record from joining an
// identity through a man's record without one, whatever the home says:
// a father and the son given his first name agree on everything such a
// record says, and a rare family name links them without the home (DE
// REGNAULD DE LA SOUDIERE RACHID: the father's record, a phone of his
// own and no date, then his son's, born 2018). The other way round (a
// son's record without date reaching his father's identity) has no such
// sign: any grown man may have a son of his name. Only where the model's
// birth-date guard is on (true matches hardly ever differ on the date),
// and only where nothing but the names and the home joins them: no INS in
// common, no birthplace, no e-mail address, no later first name. A person
// decides.
func (t *tx) holdMinorNamesake(p *matcher.Prepared, cands []*candidate, model *matcher.Model) error {
	if len(cands) == 0 || !cands[0].autoLink() || !model.BirthDateGuard {
		return nil
	}
	c := cands[0]
	f := &c.best.Fields
	if f[matcher.FieldBirthDate].Level != matcher.Null || f[matcher.FieldINS].Level == matcher.INSSame {
		return nil
	}
	if l := f[matcher.FieldName].Level; l == matcher.Null || l > matcher.NameCross {
		return nil
	}
	if l := f[matcher.FieldFirstName].Level; l == matcher.Null || l > matcher.NameCompound {
		return nil
	}
	// Something beyond the names and the home that a father and his son
	// seldom share: the birthplace, an e-mail address.
	if f[matcher.FieldBirthPlace].Level == matcher.PlaceSame || f[matcher.FieldEmail].Level == matcher.EmailSame {
		return nil
	}
	st, err := t.record(c.matched)
	if err != nil {
		return t.mirrored(err)
	}
	m, err := t.preparedOf(c.matched, st.Version)
	if err != nil {
		return err
	}
	dated, dateless := p, m
	if !usableDate(p) {
		dated, dateless = m, p
	}
	if !usableDate(dated) || usableDate(dateless) || !dated.Date.Full() {
		return nil
	}
	if !man(dated) || !man(dateless) {
		return nil
	}
	if age := t.now.Year() - dated.Date.Year; age < 0 || age >= minorYears || laterNamesAgree(dated, dateless) {
		return nil
	}
	c.hold(matcher.RuleHouseholdNoDate, MinorNamesakeMessage, model)
	return nil
}

// usableDate reports whether a record carries a birth date to compare: a
// year at least, not a placeholder.
func usableDate(p *matcher.Prepared) bool { return p.Date.Year != 0 && !p.Date.Placeholder }

// man reports whether a record is a man's: its sex, or, without one, its
// first name's usual sex.
func man(p *matcher.Prepared) bool {
	if p.Sex != 0 {
		return p.Sex == 'M'
	}
	sex, ok := matcher.KnownGivenName(p.First.Glued)
	return ok && sex == 'M'
}

// laterNamesAgree reports whether both records carry a list of birth first
// names and a later name of one is among the later names of the other: a
// son named after his father is given other later names.
func laterNamesAgree(a, b *matcher.Prepared) bool {
	for i := 1; i < len(a.List); i++ {
		for j := 1; j < len(b.List); j++ {
			if a.List[i].Glued == b.List[j].Glued {
				return true
			}
		}
	}
	return false
}
