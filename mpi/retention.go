package mpi

import (
	"encoding/binary"
	"fmt"
	"slices"
	"time"
	"vigie/store"

	"vigie"
)

// Retention keys (see the package doc): a purged identity's tombstone,
// and the purge runs, by confirmation token.
const (
	pTombstone = "m/z/"
	pPurgeRun  = "m/y/"
)

// EventPurge is the event of an identity removed at the end of its legal
// retention (see PurgeIn): the only event of it that stays whole.
const EventPurge = "purge"

// Patient is what the retention rule reads of a live identity.
type Patient struct {
	ID      vigie.IdentityID
	Members []vigie.SourceKey
	// LastUpdate is the latest time one of its records was received (a
	// new version: the latest record update).
	LastUpdate time.Time
	// Births are its records' birth dates, as received (latest versions).
	Births []string
	// Held is why it may not be purged whatever its dates ("" when it
	// may): a pending review names it or one of its records (it may be
	// the same person as another identity, whose dates would count).
	Held string
	// Retired are the identities merged into it, directly or through
	// others: they redirect to it and go with it.
	Retired []vigie.IdentityID
	// Reviews are the reviews, pending or decided, that name one of its
	// records or it: they hold its records' traits and go with it.
	Reviews []uint64
}

type recFacts struct {
	identity vigie.IdentityID
	received time.Time
	birth    string
}

// Patients calls fn with every live identity of the store in txn, in id
// order, as the retention rule reads it. It reads the whole index once.
func Patients(txn *store.Txn, fn func(*Patient) error) error {
	recs := map[vigie.SourceKey]recFacts{}
	if err := scan(txn, pRecord, func(key, v []byte) error {
		var st recordState
		if err := decode(v, &st); err != nil {
			return err
		}
		recs[parseSkey(string(key[len(pRecord):]))] = recFacts{identity: st.Identity, received: st.Received, birth: st.Record.BirthDate}
		return nil
	}); err != nil {
		return err
	}
	var lives []identity
	into := map[vigie.IdentityID][]vigie.IdentityID{} // survivor → identities retired directly into it
	retiredTo := map[vigie.IdentityID]vigie.IdentityID{}
	if err := scan(txn, pIdentity, func(_, v []byte) error {
		var x identity
		if err := decode(v, &x); err != nil {
			return err
		}
		if x.Retired != 0 {
			into[x.Retired] = append(into[x.Retired], x.ID)
			retiredTo[x.ID] = x.Retired
		} else {
			lives = append(lives, x)
		}
		return nil
	}); err != nil {
		return err
	}
	liveOf := func(id vigie.IdentityID) vigie.IdentityID {
		for range 1000 {
			next, ok := retiredTo[id]
			if !ok {
				return id
			}
			id = next
		}
		return id
	}
	held := map[vigie.IdentityID]string{}
	reviews := map[vigie.IdentityID][]uint64{}
	if err := scan(txn, pReview, func(_, v []byte) error {
		var r Review
		if err := decode(v, &r); err != nil {
			return err
		}
		var ids []vigie.IdentityID
		for _, k := range []vigie.SourceKey{r.Record, r.Matched} {
			if f, ok := recs[k]; ok {
				ids = append(ids, f.identity)
			}
		}
		for _, id := range []vigie.IdentityID{r.Identity, r.Candidate} {
			if id != 0 {
				ids = append(ids, liveOf(id))
			}
		}
		slices.Sort(ids)
		for _, id := range slices.Compact(ids) {
			reviews[id] = append(reviews[id], r.ID)
			if r.Status == StatusPending {
				held[id] = fmt.Sprintf("review %d is pending", r.ID)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	for _, x := range lives {
		p := &Patient{ID: x.ID, Members: x.Members, Held: held[x.ID], Reviews: reviews[x.ID]}
		for _, k := range x.Members {
			f, ok := recs[k]
			if !ok {
				return vigie.Errorf(vigie.EINTERNAL, "mpi: identity %s lists record %s, which is missing: run vigie verify", x.ID, k)
			}
			if f.received.After(p.LastUpdate) {
				p.LastUpdate = f.received
			}
			if f.birth != "" {
				p.Births = append(p.Births, f.birth)
			}
		}
		stack := slices.Clone(into[x.ID])
		for len(stack) > 0 {
			id := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			p.Retired = append(p.Retired, id)
			stack = append(stack, into[id]...)
		}
		slices.Sort(p.Retired)
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}

// Tombstone is what stays of a purged identity: its id, when and by
// which run it was removed, and how much was removed. No patient data.
type Tombstone struct {
	Identity vigie.IdentityID `json:"identity"`
	Purged   time.Time        `json:"purged"`
	Actor    Actor            `json:"actor"`
	Run      string           `json:"run"` // the purge's confirmation token
	Rule     string           `json:"rule"`
	Event    uint64           `json:"event"` // the purge event
	// Audit is the sequence of the purge's audit entry (0 until it is
	// written, just after the purge commits).
	Audit  uint64      `json:"audit,omitempty"`
	Counts PurgeCounts `json:"counts"`
}

// PurgeCounts are the keys a purge removed or rewrote.
type PurgeCounts struct {
	Records  int `json:"records"`
	Versions int `json:"versions"`
	Retired  int `json:"retired_identities,omitempty"`
	// EventsRemoved are the events only about the identity's records;
	// EventsRedacted those also about records kept (an unlink out of it,
	// a merge partly undone…), rewritten without its records.
	EventsRemoved  int `json:"events_removed"`
	EventsRedacted int `json:"events_redacted,omitempty"`
	Reviews        int `json:"reviews,omitempty"`
	Distinct       int `json:"distinct_marks,omitempty"`
	// Exams and Alerts are removed by the ledger and the dose alerts in
	// the same transaction; the caller fills them in.
	Exams  int `json:"exams"`
	Alerts int `json:"alerts,omitempty"`
}

func tombstoneKey(id vigie.IdentityID) []byte { return append([]byte(pTombstone), u64(uint64(id))...) }

// TombstoneIn reads the tombstone of a purged identity.
func TombstoneIn(txn *store.Txn, id vigie.IdentityID) (Tombstone, bool, error) {
	var t Tombstone
	found, err := get(txn, tombstoneKey(id), &t)
	return t, found, err
}

// SetTombstoneIn writes a tombstone (its audit sequence, once known).
func SetTombstoneIn(txn *store.Txn, t Tombstone) error {
	return put(txn, tombstoneKey(t.Identity), &t)
}

// Tombstones calls fn with every tombstone, in identity order.
func Tombstones(txn *store.Txn, fn func(Tombstone) error) error {
	return scan(txn, pTombstone, func(_, v []byte) error {
		var t Tombstone
		if err := decode(v, &t); err != nil {
			return err
		}
		return fn(t)
	})
}

// PurgeRun is a purge confirmed by its token: the identities the report
// listed, so that an interrupted purge resumes the same list.
type PurgeRun struct {
	Token   string             `json:"token"`
	AsOf    string             `json:"as_of"`
	Started time.Time          `json:"started"`
	IDs     []vigie.IdentityID `json:"ids"`
	Done    time.Time          `json:"done,omitzero"`
}

func purgeRunKey(token string) []byte { return []byte(pPurgeRun + token) }

// PurgeRunIn reads the purge run of a token.
func PurgeRunIn(txn *store.Txn, token string) (PurgeRun, bool, error) {
	var r PurgeRun
	found, err := get(txn, purgeRunKey(token), &r)
	return r, found, err
}

// SetPurgeRunIn writes a purge run.
func SetPurgeRunIn(txn *store.Txn, r PurgeRun) error { return put(txn, purgeRunKey(r.Token), &r) }

// PatientIn reads one live identity's members, last update and birth
// dates in txn (not Held, Retired nor Reviews, which Patients computes
// over the whole index): a purge checks them again in its transaction.
func PatientIn(txn *store.Txn, id vigie.IdentityID) (*Patient, error) {
	x, err := readIdentity(txn, id)
	if err != nil {
		return nil, err
	}
	if x.Retired != 0 || len(x.Members) == 0 {
		return nil, vigie.Errorf(vigie.ECONFLICT, "identity %s is no longer live", id)
	}
	p := &Patient{ID: id, Members: x.Members}
	for _, k := range x.Members {
		st, err := readRecord(txn, k)
		if err != nil {
			return nil, err
		}
		if st.Received.After(p.LastUpdate) {
			p.LastUpdate = st.Received
		}
		if st.Record.BirthDate != "" {
			p.Births = append(p.Births, st.Record.BirthDate)
		}
	}
	return p, nil
}

// PurgeIn removes a live identity and everything of it from the patient
// index in txn, and writes its purge event and tombstone:
//
//   - its records: states (with their blocking keys), every version and
//     normalised form, the pairs they were marked distinct in;
//   - the identity, and those retired into it (p.Retired);
//   - its reviews (p.Reviews), which hold its records' traits;
//   - the events about its records or it alone; an event also about
//     records kept (a record unlinked out of it, a merge partly undone)
//     is kept for their history, rewritten without its records, so that
//     replaying the events still gives every kept record its identity;
//     the identity's number stays in such events (a number, no data);
//   - then one event of kind EventPurge names it, so that a follower (the
//     search index) drops it, and the tombstone t is written, its counts
//     and event filled in.
//
// The caller removes the ledger's exams of the same records in the same
// transaction. The store must not be open in an Index meanwhile (a
// stopped server: the purge verbs hold the store's folder): the index's
// memory would keep what is removed, and the event number is taken
// straight from the store's sequence.
func PurgeIn(txn *store.Txn, p *Patient, t *Tombstone) error {
	if err := checkActor(t.Actor, t.Rule); err != nil {
		return err
	}
	x, err := readIdentity(txn, p.ID)
	if err != nil {
		return err
	}
	if x.Retired != 0 || !slices.Equal(x.Members, p.Members) {
		return vigie.Errorf(vigie.ECONFLICT, "identity %s changed since it was read", p.ID)
	}
	gone := map[vigie.SourceKey]bool{}
	for _, k := range p.Members {
		gone[k] = true
	}
	c := &t.Counts
	del := func(key []byte) error { return txn.Delete(key) }
	for _, k := range p.Members {
		if err := del(recordKey(k)); err != nil {
			return err
		}
		c.Records++
		n, err := deletePrefix(txn, []byte(pHistory+skey(k)+"\x00"))
		if err != nil {
			return err
		}
		c.Versions += n
		if _, err := deletePrefix(txn, []byte(pNormal+skey(k)+"\x00")); err != nil {
			return err
		}
		dp := distinctPrefix(k)
		others, err := keysUnder(txn, dp)
		if err != nil {
			return err
		}
		for _, key := range others {
			b := parseSkey(string(key[len(dp):]))
			if err := del(key); err != nil {
				return err
			}
			if err := del(distinctKey(b, k)); err != nil {
				return err
			}
			c.Distinct++
		}
	}
	ids := append([]vigie.IdentityID{p.ID}, p.Retired...)
	for _, id := range p.Retired {
		r, err := readIdentity(txn, id)
		if err != nil {
			return err
		}
		if r.Retired == 0 {
			return vigie.Errorf(vigie.ECONFLICT, "identity %s is live again: it is no longer retired into %s", id, p.ID)
		}
	}
	for _, id := range ids {
		if err := del(identityKey(id)); err != nil {
			return err
		}
	}
	c.Retired = len(p.Retired)
	for _, rid := range p.Reviews {
		var r Review
		found, err := get(txn, reviewKey(rid), &r)
		if err != nil {
			return err
		}
		if !found {
			continue
		}
		if r.Status == StatusPending {
			return vigie.Errorf(vigie.ECONFLICT, "identity %s: review %d is pending", p.ID, rid)
		}
		if err := del(reviewKey(rid)); err != nil {
			return err
		}
		c.Reviews++
	}
	// The events naming its records are indexed under the identities the
	// records were ever in: its own, those retired into it, and those a
	// record moved out of into it (followed from the moves).
	scanned := map[vigie.IdentityID]bool{}
	queue := slices.Clone(ids)
	seen := map[uint64]bool{}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if id == 0 || scanned[id] {
			continue
		}
		scanned[id] = true
		prefix := append([]byte(pByIdent), u64(uint64(id))...)
		keys, err := keysUnder(txn, prefix)
		if err != nil {
			return err
		}
		for _, k := range keys {
			seq := binary.BigEndian.Uint64(k[len(prefix):])
			if seen[seq] {
				continue
			}
			seen[seq] = true
			var e Event
			found, err := get(txn, eventKey(seq), &e)
			if err != nil {
				return err
			}
			if !found {
				continue
			}
			for _, m := range e.Moves {
				if gone[m.Record] {
					queue = append(queue, m.From, m.To)
				}
			}
			touched := e.Touched()
			if !redact(&e, gone) {
				continue
			}
			if len(e.Moves) > 0 || e.Record != (vigie.SourceKey{}) || e.OtherRecord != (vigie.SourceKey{}) {
				if err := put(txn, eventKey(seq), &e); err != nil {
					return err
				}
				c.EventsRedacted++
				continue
			}
			if err := del(eventKey(seq)); err != nil {
				return err
			}
			for _, id := range touched {
				if err := del(byIdentKey(id, seq)); err != nil {
					return err
				}
			}
			if err := del(undoneKey(seq)); err != nil {
				return err
			}
			if e.Undoes != 0 {
				if err := del(undoneKey(e.Undoes)); err != nil {
					return err
				}
			}
			c.EventsRemoved++
		}
	}
	seq, err := nextEventIn(txn)
	if err != nil {
		return err
	}
	e := Event{Seq: seq, Time: t.Purged, Kind: EventPurge, Actor: t.Actor, Reason: "retention: " + t.Rule, Identity: p.ID}
	if err := put(txn, eventKey(seq), &e); err != nil {
		return err
	}
	if err := txn.Set(byIdentKey(p.ID, seq), nil); err != nil {
		return err
	}
	t.Identity, t.Event = p.ID, seq
	return SetTombstoneIn(txn, *t)
}

// redact takes the records of gone out of e, and reports whether it
// named one. An event left with no record is then the purged identity's
// alone.
func redact(e *Event, gone map[vigie.SourceKey]bool) bool {
	changed := false
	moves := e.Moves[:0]
	for _, m := range e.Moves {
		if gone[m.Record] {
			changed = true
			continue
		}
		moves = append(moves, m)
	}
	e.Moves = moves
	for _, k := range []*vigie.SourceKey{&e.Record, &e.OtherRecord, &e.Matched} {
		if gone[*k] {
			*k, changed = vigie.SourceKey{}, true
		}
	}
	for _, s := range []*snapshot{e.Retired, e.Survivor} {
		if s == nil {
			continue
		}
		for _, l := range []*[]vigie.SourceKey{&s.Members, &s.Pinned} {
			n := len(*l)
			*l = slices.DeleteFunc(*l, func(k vigie.SourceKey) bool { return gone[k] })
			changed = changed || len(*l) != n
		}
	}
	if changed {
		e.Explanation, e.Probability, e.Weight = nil, 0, 0
	}
	return changed
}

// nextEventIn takes the next event number from the stored sequence in
// txn (see sequence: an index that is not open has given its lease back).
func nextEventIn(txn *store.Txn) (uint64, error) {
	key := []byte(pSeq + "event")
	var end uint64
	v, found, err := store.Get(txn, key)
	switch {
	case err != nil:
		return 0, err
	case found:
		if len(v) != 8 {
			return 0, fmt.Errorf("mpi: stored lease of %d bytes, want 8", len(v))
		}
		end = binary.BigEndian.Uint64(v)
	}
	if err := txn.Set(key, binary.BigEndian.AppendUint64(nil, end+1)); err != nil {
		return 0, err
	}
	return end + 1, nil
}

// keysUnder returns the keys under prefix in txn.
func keysUnder(txn *store.Txn, prefix []byte) ([][]byte, error) {
	it := txn.NewIterator(store.IteratorOptions{Prefix: prefix})
	defer it.Close()
	var keys [][]byte
	for it.Rewind(); it.Valid(); it.Next() {
		keys = append(keys, it.Item().KeyCopy(nil))
	}
	return keys, nil
}

// deletePrefix deletes every key under prefix in txn.
func deletePrefix(txn *store.Txn, prefix []byte) (int, error) {
	keys, err := keysUnder(txn, prefix)
	if err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := txn.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}
