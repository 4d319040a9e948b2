package mpi

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"vigie/store"

	"vigie"
)

// Get returns an identity with its members and golden view. A retired id is
// followed to the identity it was merged into (Identity.Redirected says so).
func (x *Index) Get(ctx context.Context, id vigie.IdentityID) (vigie.Identity, error) {
	var out vigie.Identity
	err := x.view(func(txn *store.Txn) error {
		ident, via, err := live(txn, id)
		if err != nil {
			return err
		}
		out, err = x.describe(txn, ident)
		out.Redirected = via
		return err
	})
	if err != nil {
		return vigie.Identity{}, fmt.Errorf("mpi: get identity %s: %w", id, err)
	}
	return out, nil
}

func (x *Index) describe(txn *store.Txn, ident *identity) (vigie.Identity, error) {
	states, err := memberStates(txn, ident)
	if err != nil {
		return vigie.Identity{}, err
	}
	return describeStates(ident, states), nil
}

// memberStates reads the states of an identity's member records.
func memberStates(txn *store.Txn, ident *identity) ([]*recordState, error) {
	states := make([]*recordState, 0, len(ident.Members))
	for _, m := range ident.Members {
		st, err := readRecord(txn, m)
		if vigie.ErrorCode(err) == vigie.ENOTFOUND {
			return nil, vigie.Errorf(vigie.EINTERNAL, "identity %s lists record %s, which is missing", ident.ID, m)
		}
		if err != nil {
			return nil, err
		}
		states = append(states, st)
	}
	return states, nil
}

// describeStates is the Identity of ident, its golden view computed from
// its members' states.
func describeStates(ident *identity, states []*recordState) vigie.Identity {
	return vigie.Identity{ID: ident.ID, Members: slices.Clone(ident.Members), Attributes: slices.Clone(ident.Attributes),
		Created: ident.Created, Updated: ident.Updated, Golden: golden(states)}
}

// IdentityOf returns the identity a source record belongs to.
func (x *Index) IdentityOf(ctx context.Context, authority, localID string) (vigie.IdentityID, error) {
	k := vigie.SourceKey{Authority: authority, LocalID: localID}
	var id vigie.IdentityID
	err := x.view(func(txn *store.Txn) error {
		st, err := readRecord(txn, k)
		if err != nil {
			return err
		}
		id = st.Identity
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("mpi: identity of %s: %w", k, err)
	}
	return id, nil
}

// Records returns the source keys of an identity's members (following a
// retired id to its survivor): what the dose ledger and the search read.
func (x *Index) Records(ctx context.Context, id vigie.IdentityID) ([]vigie.SourceKey, error) {
	var out []vigie.SourceKey
	err := x.view(func(txn *store.Txn) error {
		ident, _, err := live(txn, id)
		if err == nil {
			out = slices.Clone(ident.Members)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("mpi: records of %s: %w", id, err)
	}
	return out, nil
}

// History returns every version of a source record, oldest first.
func (x *Index) History(ctx context.Context, k vigie.SourceKey) ([]Version, error) {
	var out []Version
	err := x.view(func(txn *store.Txn) error {
		prefix := []byte(pHistory + skey(k) + "\x00")
		it := txn.NewIterator(store.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var v Version
			if err := it.Item().Value(func(b []byte) error { return decode(b, &v) }); err != nil {
				return err
			}
			out = append(out, v)
		}
		if len(out) == 0 {
			return vigie.Errorf(vigie.ENOTFOUND, "record %s is not in the index", k)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mpi: history of %s: %w", k, err)
	}
	return out, nil
}

// Events returns the events that touched an identity, oldest first.
func (x *Index) Events(ctx context.Context, id vigie.IdentityID) ([]Event, error) {
	var out []Event
	err := x.view(func(txn *store.Txn) error {
		if _, err := readIdentity(txn, id); err != nil {
			return err
		}
		prefix := append([]byte(pByIdent), u64(uint64(id))...)
		it := txn.NewIterator(store.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var e Event
			key := it.Item().Key()
			if _, err := get(txn, append([]byte(pEvent), key[len(prefix):]...), &e); err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mpi: events of %s: %w", id, err)
	}
	return out, nil
}

// Links calls fn for every source record with the identity it belongs to, in
// key order, from one consistent read (see EachLink).
func (x *Index) Links(ctx context.Context, fn func(k vigie.SourceKey, id vigie.IdentityID) error) error {
	return x.view(func(txn *store.Txn) error { return eachLink(ctx, txn, fn) })
}

// Scan calls fn for every source record with its identity and its latest
// traits, in key order, from one consistent read.
func (x *Index) Scan(ctx context.Context, fn func(k vigie.SourceKey, id vigie.IdentityID, rec vigie.Record) error) error {
	return x.view(func(txn *store.Txn) error {
		return scan(txn, pRecord, func(key, v []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			var st recordState
			if err := decode(v, &st); err != nil {
				return err
			}
			return fn(parseSkey(string(key[len(pRecord):])), st.Identity, st.Record)
		})
	})
}

// Link moves a source record into an identity, by a person's decision: the
// record is pinned there (automatic resolution never moves it again). An
// identity left empty redirects to the target, which gains its attributes
// as a merge survivor would: linking the last record of an identity is
// merging it, and the patient's objection (OPPO) follows the record. It
// returns the event.
func (x *Index) Link(ctx context.Context, k vigie.SourceKey, to vigie.IdentityID, actor Actor, reason string) (uint64, error) {
	if err := checkActor(actor, reason); err != nil {
		return 0, fmt.Errorf("mpi: link %s to %s: %w", k, to, err)
	}
	var seq uint64
	err := x.update(ctx, func(t *tx) error {
		st, err := t.record(k)
		if err != nil {
			return err
		}
		target, _, err := live(t.Txn, to)
		if err != nil {
			return err
		}
		cur, _, err := live(t.Txn, st.Identity)
		if err != nil {
			return err
		}
		if cur.ID == target.ID {
			return vigie.Errorf(vigie.ECONFLICT, "record %s already belongs to identity %s", k, target.ID)
		}
		e := &Event{Kind: EventLink, Actor: actor, Reason: reason, Identity: target.ID, Other: cur.ID, Record: k, Version: st.Version,
			Moves: []Move{{Record: k, From: cur.ID, To: target.ID}}}
		seq, err = t.move(k, st, cur, target, e)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("mpi: link %s to %s: %w", k, to, err)
	}
	return seq, nil
}

// move takes a record out of cur into target by a person's decision and
// writes the event. An identity left empty retires into the target (see
// retireInto).
func (t *tx) move(k vigie.SourceKey, st *recordState, cur, target *identity, e *Event) (uint64, error) {
	cur.remove(k)
	if len(cur.Members) == 0 {
		retireInto(e, cur, target, []vigie.SourceKey{k})
	}
	target.Members = append(target.Members, k)
	st.Identity, st.Pinned = target.ID, true
	for _, x := range []*identity{cur, target} {
		if err := t.setIdentity(x); err != nil {
			return 0, err
		}
	}
	if err := t.setRecord(k, st); err != nil {
		return 0, err
	}
	err := t.event(e)
	return e.Seq, err
}

// Unlink takes a source record out of its identity into a new identity of
// its own, pinned there, and marks it distinct from the records it leaves
// (a person decided they are not the same). It returns the new identity.
//
// When the record came into its identity with the identity it had retiring
// (a merge, a person's link of its last record, an automatic link of it
// updated), the new identity gets that identity's attributes back, as
// Unmerge gives them: those it brought, but for the ones removed from the
// joined identity since, plus the ones added since.
// The identity left keeps its attributes: other records may have joined it
// since, and nothing tells whose an attribute was, so an objection (OPPO)
// carried there stays there too rather than risk being lost; staff remove
// what does not apply. The unlink event lists the attributes given back.
func (x *Index) Unlink(ctx context.Context, k vigie.SourceKey, actor Actor, reason string) (vigie.IdentityID, error) {
	if err := checkActor(actor, reason); err != nil {
		return 0, fmt.Errorf("mpi: unlink %s: %w", k, err)
	}
	var id vigie.IdentityID
	err := x.update(ctx, func(t *tx) error {
		var err error
		id, err = t.unlink(k, actor, reason, 0)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("mpi: unlink %s: %w", k, err)
	}
	return id, nil
}

func (t *tx) unlink(k vigie.SourceKey, actor Actor, reason string, review uint64) (vigie.IdentityID, error) {
	st, err := t.record(k)
	if err != nil {
		return 0, err
	}
	cur, _, err := live(t.Txn, st.Identity)
	if err != nil {
		return 0, err
	}
	if len(cur.Members) < 2 {
		return 0, vigie.Errorf(vigie.ECONFLICT, "record %s is alone in identity %s: nothing to unlink it from", k, cur.ID)
	}
	came, err := arrival(t.Txn, k, cur.ID)
	if err != nil {
		return 0, err
	}
	var attrs []string
	if came != nil && came.Retired != nil {
		attrs, _ = unmergeAttributes(came, cur.Attributes)
	}
	id, err := t.newID()
	if err != nil {
		return 0, err
	}
	target := &identity{ID: id, Created: t.now, Attributes: attrs}
	e := &Event{Kind: EventUnlink, Actor: actor, Reason: reason, Identity: id, Other: cur.ID, Record: k, Version: st.Version,
		Moves: []Move{{Record: k, From: cur.ID, To: id}}, Review: review, Attributes: slices.Clone(attrs)}
	if _, err := t.move(k, st, cur, target, e); err != nil {
		return 0, err
	}
	mark := &distinctMark{Event: e.Seq, Actor: actor, Reason: reason, Time: t.now}
	for _, m := range cur.Members {
		if err := t.markDistinct(k, m, mark); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// arrival returns the latest event that brought record k into identity id,
// or nil when no event says so.
// An unmerge only sends a record back where it was: the event that had
// brought it there is the arrival.
func arrival(txn *store.Txn, k vigie.SourceKey, id vigie.IdentityID) (*Event, error) {
	prefix := append([]byte(pByIdent), u64(uint64(id))...)
	it := txn.NewIterator(store.IteratorOptions{Prefix: prefix, Reverse: true})
	defer it.Close()
	for it.Seek(byIdentKey(id, math.MaxUint64)); it.Valid(); it.Next() {
		var e Event
		key := it.Item().Key()
		if _, err := get(txn, append([]byte(pEvent), key[len(prefix):]...), &e); err != nil {
			return nil, err
		}
		if e.Kind == EventUnmerge {
			continue
		}
		for _, m := range e.Moves {
			if m.Record == k && m.To == id {
				return &e, nil
			}
		}
	}
	return nil, nil
}

// retireInto retires identity r, whose last records (members) are joining
// s: r redirects to s for ever, and s gains r's attributes, the union of
// both kept sorted. An identity's attributes are about the person its
// records are, so they follow the records: an objection (OPPO) the patient
// made, a doubt staff recorded, must not vanish because their records now
// live under another id, whichever way they got there (Merge, a person's
// Link of the last record, an updated record linked automatically). e, the
// event that moves the records, saves both sides' members and attributes
// as they were, so that Unmerge and Unlink can give each side its own back
// and a reader of the log sees what was carried. Call it before adding the
// members to s.
func retireInto(e *Event, r, s *identity, members []vigie.SourceKey) {
	e.Retired = &snapshot{Members: slices.Clone(members), Attributes: slices.Clone(r.Attributes)}
	e.Survivor = &snapshot{Members: slices.Clone(s.Members), Attributes: slices.Clone(s.Attributes)}
	for _, a := range r.Attributes {
		if !slices.Contains(s.Attributes, a) {
			s.Attributes = append(s.Attributes, a)
		}
	}
	slices.Sort(s.Attributes)
	r.Members, r.Retired = nil, s.ID
}

// Merge merges identity retired into survivor, by a person's decision: the
// survivor keeps its id and gains the members and the attributes (the
// union of both sides'), the retired id redirects to it for ever. It
// returns the merge event, which Unmerge takes.
func (x *Index) Merge(ctx context.Context, survivor, retired vigie.IdentityID, actor Actor, reason string) (uint64, error) {
	if err := checkActor(actor, reason); err != nil {
		return 0, fmt.Errorf("mpi: merge %s into %s: %w", retired, survivor, err)
	}
	var seq uint64
	err := x.update(ctx, func(t *tx) error {
		var err error
		seq, err = t.merge(survivor, retired, actor, reason, 0)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("mpi: merge %s into %s: %w", retired, survivor, err)
	}
	return seq, nil
}

func (t *tx) merge(survivor, retired vigie.IdentityID, actor Actor, reason string, review uint64) (uint64, error) {
	s, _, err := live(t.Txn, survivor)
	if err != nil {
		return 0, err
	}
	r, _, err := live(t.Txn, retired)
	if err != nil {
		return 0, err
	}
	if s.ID == r.ID {
		return 0, vigie.Errorf(vigie.ECONFLICT, "identities %s and %s are already one (%s)", survivor, retired, s.ID)
	}
	e := &Event{Kind: EventMerge, Actor: actor, Reason: reason, Identity: s.ID, Other: r.ID, Review: review}
	members := r.Members
	retireInto(e, r, s, members)
	for _, m := range members {
		st, err := t.record(m)
		if err != nil {
			return 0, err
		}
		if st.Pinned {
			e.Retired.Pinned = append(e.Retired.Pinned, m)
		}
		st.Identity = s.ID
		if err := t.setRecord(m, st); err != nil {
			return 0, err
		}
		e.Moves = append(e.Moves, Move{Record: m, From: r.ID, To: s.ID})
	}
	s.Members = append(s.Members, members...)
	for _, x := range []*identity{s, r} {
		if err := t.setIdentity(x); err != nil {
			return 0, err
		}
	}
	err = t.event(e)
	return e.Seq, err
}

// Unmerge undoes a merge exactly: the retired identity comes back with the
// members it had, plus the records that were since linked automatically
// because they matched one of them; everything else stays with the
// survivor. Both sides are then marked distinct, so that automatic
// resolution does not merge them again. A merge is undone once only, and not
// while its survivor is itself merged into another identity (undo that
// first). It returns the unmerge event.
func (x *Index) Unmerge(ctx context.Context, mergeEvent uint64, actor Actor, reason string) (uint64, error) {
	if err := checkActor(actor, reason); err != nil {
		return 0, fmt.Errorf("mpi: unmerge %d: %w", mergeEvent, err)
	}
	var seq uint64
	err := x.update(ctx, func(t *tx) error {
		var err error
		seq, err = t.unmerge(mergeEvent, actor, reason)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("mpi: unmerge %d: %w", mergeEvent, err)
	}
	return seq, nil
}

func (t *tx) unmerge(mergeEvent uint64, actor Actor, reason string) (uint64, error) {
	var me Event
	found, err := get(t.Txn, eventKey(mergeEvent), &me)
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, vigie.Errorf(vigie.ENOTFOUND, "event %d does not exist", mergeEvent)
	}
	if me.Kind != EventMerge || me.Retired == nil {
		return 0, vigie.Invalid("event", "event %d is a %s, not a merge", mergeEvent, me.Kind)
	}
	if found, err := store.Has(t.Txn, undoneKey(mergeEvent)); err != nil {
		return 0, err
	} else if found {
		return 0, vigie.Errorf(vigie.ECONFLICT, "merge %d was already undone", mergeEvent)
	}
	s, err := readIdentity(t.Txn, me.Identity)
	if err != nil {
		return 0, err
	}
	r, err := readIdentity(t.Txn, me.Other)
	if err != nil {
		return 0, err
	}
	if s.Retired != 0 {
		return 0, vigie.Errorf(vigie.ECONFLICT, "identity %s has since been merged into %s: undo that merge first", s.ID, s.Retired)
	}
	if r.Retired != s.ID {
		return 0, vigie.Errorf(vigie.ECONFLICT, "identity %s no longer redirects to %s", r.ID, s.ID)
	}
	// The retired side: its members at the time, plus later automatic
	// arrivals that matched one of its records (in event order, so that a
	// chain of arrivals follows its first link).
	back := map[vigie.SourceKey]bool{}
	for _, m := range me.Retired.Members {
		back[m] = true
	}
	prefix := append([]byte(pByIdent), u64(uint64(s.ID))...)
	it := t.NewIterator(store.IteratorOptions{Prefix: prefix})
	for it.Seek(byIdentKey(s.ID, mergeEvent+1)); it.Valid(); it.Next() {
		var e Event
		key := it.Item().Key()
		if _, err := get(t.Txn, append([]byte(pEvent), key[len(prefix):]...), &e); err != nil {
			it.Close()
			return 0, err
		}
		// An automatic link names the member it matched (Matched), whoever
		// sent the record (the system, or a feed's key); a person's link
		// names none.
		if e.Kind == EventLink && e.Identity == s.ID && back[e.Matched] {
			back[e.Record] = true
		}
	}
	it.Close()
	var moving, staying []vigie.SourceKey
	for _, m := range s.Members {
		if back[m] {
			moving = append(moving, m)
		} else {
			staying = append(staying, m)
		}
	}
	if len(moving) == 0 || len(staying) == 0 {
		return 0, vigie.Errorf(vigie.ECONFLICT, "merge %d: the records of one side have all moved since: nothing to separate", mergeEvent)
	}
	e := &Event{Kind: EventUnmerge, Actor: actor, Reason: reason, Identity: s.ID, Other: r.ID, Undoes: mergeEvent}
	for _, m := range moving {
		st, err := t.record(m)
		if err != nil {
			return 0, err
		}
		st.Identity = r.ID
		st.Pinned = slices.Contains(me.Retired.Pinned, m)
		if err := t.setRecord(m, st); err != nil {
			return 0, err
		}
		e.Moves = append(e.Moves, Move{Record: m, From: s.ID, To: r.ID})
	}
	if err := t.unretired(r.ID); err != nil { // its pending reviews (review_index.go)
		return 0, err
	}
	s.Members, r.Members, r.Retired = staying, moving, 0
	r.Attributes, s.Attributes = unmergeAttributes(&me, s.Attributes)
	for _, x := range []*identity{s, r} {
		if err := t.setIdentity(x); err != nil {
			return 0, err
		}
	}
	if err := t.event(e); err != nil {
		return 0, err
	}
	mark := &distinctMark{Event: e.Seq, Actor: actor, Reason: reason, Time: t.now}
	for _, a := range moving {
		for _, b := range staying {
			if err := t.markDistinct(a, b, mark); err != nil {
				return 0, err
			}
		}
	}
	return e.Seq, t.Set(undoneKey(mergeEvent), u64(e.Seq))
}

// unmergeAttributes returns the attributes of the retired and surviving
// sides of an undone merge: each side's attributes at the merge, with the
// changes made to the merged identity since (cur is its attributes now)
// applied to both, since nothing tells which person they were about. The
// snapshots alone would drop them: an objection (OPPO) the patient made
// after the merge would silently vanish. A merge event written before the
// survivor's snapshot existed leaves the survivor's attributes as they are.
func unmergeAttributes(me *Event, cur []string) (retired, survivor []string) {
	if me.Survivor == nil {
		return slices.Clone(me.Retired.Attributes), cur
	}
	atMerge := slices.Concat(me.Survivor.Attributes, me.Retired.Attributes)
	side := func(then []string) []string {
		out := slices.DeleteFunc(slices.Clone(then), func(a string) bool { return !slices.Contains(cur, a) }) // removed since
		for _, a := range cur {
			if !slices.Contains(atMerge, a) && !slices.Contains(out, a) { // added since
				out = append(out, a)
			}
		}
		slices.Sort(out)
		return out
	}
	return side(me.Retired.Attributes), side(me.Survivor.Attributes)
}

// MarkDistinct records that two identities are different persons: automatic
// resolution never links a record of one to the other. It returns the event.
func (x *Index) MarkDistinct(ctx context.Context, a, b vigie.IdentityID, actor Actor, reason string) (uint64, error) {
	if err := checkActor(actor, reason); err != nil {
		return 0, fmt.Errorf("mpi: mark %s and %s distinct: %w", a, b, err)
	}
	var seq uint64
	err := x.update(ctx, func(t *tx) error {
		var err error
		seq, err = t.markIdentities(a, b, actor, reason, 0)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("mpi: mark %s and %s distinct: %w", a, b, err)
	}
	return seq, nil
}

func (t *tx) markIdentities(a, b vigie.IdentityID, actor Actor, reason string, review uint64) (uint64, error) {
	ia, _, err := live(t.Txn, a)
	if err != nil {
		return 0, err
	}
	ib, _, err := live(t.Txn, b)
	if err != nil {
		return 0, err
	}
	if ia.ID == ib.ID {
		return 0, vigie.Errorf(vigie.ECONFLICT, "%s and %s are one identity (%s): unlink or unmerge first", a, b, ia.ID)
	}
	e := &Event{Kind: EventDistinct, Actor: actor, Reason: reason, Identity: ia.ID, Other: ib.ID, Review: review}
	if err := t.event(e); err != nil {
		return 0, err
	}
	mark := &distinctMark{Event: e.Seq, Actor: actor, Reason: reason, Time: t.now}
	for _, ma := range ia.Members {
		for _, mb := range ib.Members {
			if err := t.markDistinct(ma, mb, mark); err != nil {
				return 0, err
			}
		}
	}
	return e.Seq, nil
}

// MarkRecordsDistinct records that two source records are different
// persons. They must not be in the same identity (unlink one first).
func (x *Index) MarkRecordsDistinct(ctx context.Context, a, b vigie.SourceKey, actor Actor, reason string) (uint64, error) {
	if err := checkActor(actor, reason); err != nil {
		return 0, fmt.Errorf("mpi: mark %s and %s distinct: %w", a, b, err)
	}
	var seq uint64
	err := x.update(ctx, func(t *tx) error {
		sa, err := t.record(a)
		if err != nil {
			return err
		}
		sb, err := t.record(b)
		if err != nil {
			return err
		}
		if sa.Identity == sb.Identity {
			return vigie.Errorf(vigie.ECONFLICT, "%s and %s are in the same identity %s: unlink one first", a, b, sa.Identity)
		}
		e := &Event{Kind: EventDistinct, Actor: actor, Reason: reason, Identity: sa.Identity, Other: sb.Identity, Record: a, OtherRecord: b}
		if err := t.event(e); err != nil {
			return err
		}
		seq = e.Seq
		return t.markDistinct(a, b, &distinctMark{Event: e.Seq, Actor: actor, Reason: reason, Time: t.now})
	})
	if err != nil {
		return 0, fmt.Errorf("mpi: mark %s and %s distinct: %w", a, b, err)
	}
	return seq, nil
}

// Distinct reports whether two source records were marked as different
// persons.
func (x *Index) Distinct(ctx context.Context, a, b vigie.SourceKey) (bool, error) {
	var d bool
	err := x.view(func(txn *store.Txn) error {
		var err error
		d, err = distinct(txn, a, b)
		return err
	})
	return d, err
}

// AttributeChange is what ChangeAttributes committed.
type AttributeChange struct {
	Seq        uint64           // the attributes event
	Identity   vigie.IdentityID // the identity changed (the survivor when a retired id was given)
	Attributes []string         // its attributes after the change, sorted
}

// ChangeAttributes adds and removes attributes of an identity (codes of
// vigie.Attributes; DOUT, FICT, ANOM, HOMA and COLV forbid automatic links
// into it) and writes one event holding the resulting set. The current
// attributes are read in the same transaction as the write, so a
// concurrent change of the identity is a Badger conflict and the change is
// applied again over the new state, never over a stale copy: concurrent
// callers each keep their change (an added OPPO, the patient's objection,
// cannot be lost to another caller's removal). Adding and removing one code
// in the same call is refused.
func (x *Index) ChangeAttributes(ctx context.Context, id vigie.IdentityID, add, remove []string, actor Actor, reason string) (AttributeChange, error) {
	wrap := func(err error) error { return fmt.Errorf("mpi: change attributes of %s: %w", id, err) }
	if err := checkActor(actor, reason); err != nil {
		return AttributeChange{}, wrap(err)
	}
	add, err := attributeCodes("add", add)
	if err != nil {
		return AttributeChange{}, wrap(err)
	}
	remove, err = attributeCodes("remove", remove)
	if err != nil {
		return AttributeChange{}, wrap(err)
	}
	for _, a := range add {
		if slices.Contains(remove, a) {
			return AttributeChange{}, wrap(vigie.Invalid("remove", "%s is both added and removed", a))
		}
	}
	var out AttributeChange
	err = x.update(ctx, func(t *tx) error {
		ident, _, err := live(t.Txn, id)
		if err != nil {
			return err
		}
		attrs := slices.DeleteFunc(slices.Clone(ident.Attributes), func(a string) bool { return slices.Contains(remove, a) })
		for _, a := range add {
			if !slices.Contains(attrs, a) {
				attrs = append(attrs, a)
			}
		}
		slices.Sort(attrs)
		ident.Attributes = attrs
		if err := t.setIdentity(ident); err != nil {
			return err
		}
		e := &Event{Kind: EventAttributes, Actor: actor, Reason: reason, Identity: ident.ID, Attributes: attrs}
		if err := t.event(e); err != nil {
			return err
		}
		out = AttributeChange{Seq: e.Seq, Identity: ident.ID, Attributes: slices.Clone(attrs)}
		return nil
	})
	if err != nil {
		return AttributeChange{}, wrap(err)
	}
	return out, nil
}

// attributeCodes returns codes upper-cased, trimmed and without
// duplicates, refusing (as field) any that is not in vigie.Attributes.
func attributeCodes(field string, codes []string) ([]string, error) {
	var out []string
	for _, a := range codes {
		a = strings.ToUpper(strings.TrimSpace(a))
		if !slices.Contains(vigie.Attributes, a) {
			return nil, vigie.Invalid(field, "%q is not an identity attribute (%s)", a, strings.Join(vigie.Attributes, ", "))
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out, nil
}
