package mpi

import (
	"strings"

	"vigie"
	"vigie/matcher"
	"vigie/store"
)

// LateEvidenceReason is the reason of the event that takes a record out of
// the identity it was linked to automatically when a later record shows
// that another identity of its household bears its names (see
// undoLateEvidence).
const LateEvidenceReason = "automatic link undone: a later record shows two persons of the household bearing these names"

// undoLateEvidence reconsiders, once record k is placed in identity placed,
// the automatic links the record has just shown to be ambiguous. A record
// without birth date (member D of identity A) was linked to A because A was
// the only identity bearing its names: the rule that holds such a record
// when two identities of a household bear its names (household_homonyms)
// could not see the second one, not yet there. Record k is that second
// one: it would auto-link with D on their own score, yet A holds a member
// whose birth date (or first name) is another person's (the chain guard of
// score), and k was not linked into A. A father's dateless record linked to
// his son's identity, then the father's dated record, is exactly that. The
// link of D into A was made without the evidence now present: when k
// explains D at least as well as D's closest member in A does (match
// weight), D goes to an identity of its own, as the index would have
// decided had k come first, and a review names both identities. When a
// member of A explains D better (a son's dateless record beside the son's
// dated ones, then the father's), the link stands: on the census sets half
// the candidates were of that kind, and moving them cost recall. Only a
// record without a usable birth date moves (a newcomer whose own date is
// a placeholder reaches dated members the same way). The move is reversible (an unlink
// event by the system, nothing marked distinct, D not pinned) and only
// undoes what the index decided: a record a person placed, or an identity
// a person has acted on, is never touched.
//
// A record can show the same thing by its first names: a record filled
// from INSi (its whole list of first names, FEDERICO) that would link with
// a member on their own score, kept out of the identity by another member
// without usable birth date whose later first names its list lacks
// (FEDERICO CLAUDE, rule other_first_names): that member is another
// person's, a father's linked to his son before the son's whole list was
// known. It moves the same way (candidate.listed), whatever the weights:
// the newcomer does not explain it, it contradicts it.
func (t *tx) undoLateEvidence(k vigie.SourceKey, p *matcher.Prepared, placed vigie.IdentityID, cands []*candidate, model *matcher.Model, res *Result) error {
	for _, c := range cands {
		if c.twinSlip && c.id != placed {
			if err := t.undoTwinSlip(k, p, placed, c, model, res); err != nil {
				return err
			}
			continue
		}
		if !c.chained || c.id == placed {
			continue
		}
		f := &c.best.Fields
		if l := f[matcher.FieldName].Level; l == matcher.Null || l > matcher.NameCross {
			continue
		}
		if l := f[matcher.FieldFirstName].Level; l == matcher.Null || l > matcher.NameCompound {
			continue
		}
		if err := t.undoLink(k, p, placed, c, model, res); err != nil {
			return err
		}
	}
	return nil
}

// placedByIndex reads identity c.id and its member d, which a late record
// may take out again: nil (and no error) when the identity changed since
// c was scored or when a person, not the index, made its links (only what
// the index decided is undone).
func (t *tx) placedByIndex(c *candidate, d vigie.SourceKey) (*identity, *recordState, *matcher.Prepared, error) {
	ident, err := t.identity(c.id)
	if err != nil {
		return nil, nil, nil, t.mirrored(err)
	}
	if ident.Retired != 0 || len(ident.Members) < 2 || !t.x.sameMembers(ident.Members, c.members) {
		return nil, nil, nil, nil // changed since it was scored: left as it is
	}
	auto, err := t.automatic(ident)
	if err != nil || !auto {
		return nil, nil, nil, err
	}
	st, err := t.record(d)
	if err != nil {
		return nil, nil, nil, t.mirrored(err)
	}
	pd, err := t.preparedOf(d, st.Version)
	if err != nil {
		return nil, nil, nil, err
	}
	return ident, st, pd, nil
}

// undoLink takes member c.matched out of identity c.id into a new identity
// when only the index placed it there (see undoLateEvidence), and opens
// the reviews naming both identities.
func (t *tx) undoLink(k vigie.SourceKey, p *matcher.Prepared, placed vigie.IdentityID, c *candidate, model *matcher.Model, res *Result) error {
	d := c.matched
	if c.listed != (vigie.SourceKey{}) {
		d = c.listed
	}
	ident, st, pd, err := t.placedByIndex(c, d)
	if err != nil || ident == nil {
		return err
	}
	if pd.Date.Year != 0 && !pd.Date.Placeholder {
		// The record carries a usable birth date: it was not the
		// dateless one (the newcomer's own date is the vague one).
		return nil
	}
	// The reviews: the record against the identity it leaves (its closest
	// member there) and against the identity of the record that showed
	// the second person. Where a member of its identity explains the
	// record better than the newcomer does, the link stands: the newcomer
	// is the other person of the household, and the record was placed
	// with the better of the two.
	left, err := t.bestOf(d, pd, ident, model)
	if err != nil || left == nil {
		return err
	}
	now := pairCandidate(placed, k, pd, p, model, t.x)
	if c.listed == (vigie.SourceKey{}) && withoutHome(&left.best) > withoutHome(&now.best)+1e-9 { // sums in another order
		return nil
	}
	return t.moveOut(k, d, st, ident, []*candidate{left, now}, matcher.RuleHouseholdHomonyms, matcher.HouseholdHomonymsMessage, model, res)
}

// moveOut takes record d (state st) out of identity ident into an identity
// of its own, by the system's unlink event naming record k, which showed
// the link wrong, and opens a review of d against each candidate, held by
// rule code.
func (t *tx) moveOut(k, d vigie.SourceKey, st *recordState, ident *identity, reviews []*candidate, code, message string, model *matcher.Model, res *Result) error {
	id, err := t.newID()
	if err != nil {
		return err
	}
	ident.remove(d)
	mine := &identity{ID: id, Members: []vigie.SourceKey{d}, Created: t.now}
	for _, x := range []*identity{ident, mine} {
		if err := t.setIdentity(x); err != nil {
			return err
		}
	}
	if t.bulk != nil {
		t.bulk.born(id, t.now)
	}
	st.Identity = id
	if err := t.setRecord(d, st); err != nil {
		return err
	}
	if err := t.event(&Event{Kind: EventUnlink, Actor: System, Reason: LateEvidenceReason, Identity: id, Other: ident.ID, Record: d,
		Version: st.Version, OtherRecord: k, Moves: []Move{{Record: d, From: ident.ID, To: id}}}); err != nil {
		return err
	}
	for _, rc := range reviews {
		rc.hold(code, message, model)
		rid, err := t.openReview(ReviewNew, d, id, rc)
		if err != nil {
			return err
		}
		res.Reviews = append(res.Reviews, rid)
	}
	return nil
}

// undoTwinSlip takes out of identity c.id its member c.matched, whose
// first name is no given name, when record k (placed in identity placed)
// is the twin of another member of c.id and explains c.matched at least as
// well as its closest member there, the home left out (see withoutHome):
// MQELIA, born the day of the twin sisters MEHLIA and MAELIA, was linked
// to MEHLIA (two keys apart) before any record of MAELIA (one key) came.
// The link was made without the evidence now present; the record leaves,
// and a review of it names both twins' identities (rule possible_twins).
// As for a dateless record, only what the index decided is undone.
func (t *tx) undoTwinSlip(k vigie.SourceKey, p *matcher.Prepared, placed vigie.IdentityID, c *candidate, model *matcher.Model, res *Result) error {
	d := c.matched
	ident, st, pd, err := t.placedByIndex(c, d)
	if err != nil || ident == nil {
		return err
	}
	left, err := t.bestOf(d, pd, ident, model)
	if err != nil || left == nil {
		return err
	}
	now := pairCandidate(placed, k, pd, p, model, t.x)
	if withoutHome(&left.best) > withoutHome(&now.best)+1e-9 { // sums in another order
		return nil
	}
	return t.moveOut(k, d, st, ident, []*candidate{left, now}, matcher.RuleTwins, TwinNamesMessage, model, res)
}

// automatic reports whether every member of identity ident is there by
// the index's decision alone: none pinned by a person, and no person's act
// on the identity (a merge, a link, an unlink, a decided review). A bulk
// load holds the index: an identity it created has seen nobody's act; one
// from before is left alone (its log is not read during the load).
func (t *tx) automatic(ident *identity) (bool, error) {
	if t.bulk != nil {
		return t.bulk.firstID != 0 && ident.ID >= t.bulk.firstID, nil
	}
	for _, m := range ident.Members {
		st, err := t.record(m)
		if err != nil {
			return false, err
		}
		if st.Pinned {
			return false, nil
		}
	}
	prefix := append([]byte(pByIdent), u64(uint64(ident.ID))...)
	it := t.NewIterator(store.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		var e Event
		key := it.Item().Key()
		if _, err := get(t.Txn, append([]byte(pEvent), key[len(prefix):]...), &e); err != nil {
			return false, err
		}
		switch e.Kind {
		case EventCreate, EventUpdate, EventReview, EventAttributes:
		case EventLink:
			if !strings.HasPrefix(e.Reason, "automatic link") {
				return false, nil
			}
		case EventUnlink:
			if e.Reason != LateEvidenceReason {
				return false, nil
			}
		default:
			return false, nil
		}
	}
	return true, nil
}

// preparedOf reads the prepared form of version of record k.
func (t *tx) preparedOf(k vigie.SourceKey, version int) (*matcher.Prepared, error) {
	x := t.x
	x.memMu.RLock()
	ord, ok := x.keys.find(k)
	x.memMu.RUnlock()
	if !ok {
		return nil, vigie.Errorf(vigie.EINTERNAL, "record %s is not mirrored", k)
	}
	return t.prepared(k, ord, version)
}

// bestOf scores record k (prepared p) against the members of ident other
// than itself and returns the closest as a candidate, nil when none is left.
func (t *tx) bestOf(k vigie.SourceKey, p *matcher.Prepared, ident *identity, model *matcher.Model) (*candidate, error) {
	var best *candidate
	for _, m := range ident.Members {
		if m == k {
			continue
		}
		st, err := t.record(m)
		if err != nil {
			return nil, err
		}
		mp, err := t.preparedOf(m, st.Version)
		if err != nil {
			return nil, err
		}
		c := pairCandidate(ident.ID, m, p, mp, model, t.x)
		if best == nil || c.best.Probability > best.best.Probability || c.best.Probability == best.best.Probability && c.best.Weight > best.best.Weight {
			best = c
		}
	}
	return best, nil
}

// pairCandidate is identity id as a candidate scored by one member m
// (prepared mp) against a record prepared as p.
func pairCandidate(id vigie.IdentityID, m vigie.SourceKey, p, mp *matcher.Prepared, model *matcher.Model, x *Index) *candidate {
	cmpr := matcher.Compare(p, mp)
	s := model.Score(&cmpr, x.freq)
	return &candidate{id: id, best: s, matched: m}
}
