package mpi

import (
	"context"
	"fmt"
	"vigie/store"

	"vigie"
)

// The feed is how derived indexes (the search index) follow the patient
// index: they replay the events after the last one they applied, and read
// the identities those events touched.

// EventsAfter calls fn for every event whose sequence is greater than seq,
// in order.
func (x *Index) EventsAfter(ctx context.Context, seq uint64, fn func(Event) error) error {
	err := x.view(func(txn *store.Txn) error {
		it := txn.NewIterator(store.IteratorOptions{Prefix: []byte(pEvent), PrefetchValues: true, PrefetchSize: 256})
		defer it.Close()
		for it.Seek(eventKey(seq + 1)); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			var e Event
			if err := it.Item().Value(func(b []byte) error { return decode(b, &e) }); err != nil {
				return err
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mpi: events after %d: %w", seq, err)
	}
	return nil
}

// Event reads one event by its sequence (what a correction returned).
func (x *Index) Event(ctx context.Context, seq uint64) (Event, error) {
	var e Event
	err := x.view(func(txn *store.Txn) error {
		found, err := get(txn, eventKey(seq), &e)
		if err != nil {
			return err
		}
		if !found {
			return vigie.Errorf(vigie.ENOTFOUND, "event %d does not exist", seq)
		}
		return nil
	})
	if err != nil {
		return Event{}, fmt.Errorf("mpi: event %d: %w", seq, err)
	}
	return e, nil
}

// Latest returns the latest version of a source record.
func (x *Index) Latest(ctx context.Context, k vigie.SourceKey) (Version, error) {
	var v Version
	err := x.view(func(txn *store.Txn) error {
		st, err := readRecord(txn, k)
		if err != nil {
			return err
		}
		v = Version{Version: st.Version, Received: st.Received, Record: st.Record}
		return nil
	})
	if err != nil {
		return Version{}, fmt.Errorf("mpi: latest version of %s: %w", k, err)
	}
	return v, nil
}

// Touched returns the identities an event changed.
func (e *Event) Touched() []vigie.IdentityID {
	var out []vigie.IdentityID
	add := func(id vigie.IdentityID) {
		if id == 0 {
			return
		}
		for _, o := range out {
			if o == id {
				return
			}
		}
		out = append(out, id)
	}
	add(e.Identity)
	add(e.Other)
	for _, m := range e.Moves {
		add(m.From)
		add(m.To)
	}
	return out
}

// Snapshot is a live identity with the latest version of each member
// record, as a derived index needs it.
type Snapshot struct {
	vigie.Identity
	Records []vigie.Record
	// Normals holds, parallel to Records, each record's normalised form:
	// its matcher.Prepared encoded by matcher.AppendPrepared, as the index
	// filed it with the version in Records (see normal.go), or nil where
	// the index holds no form of the current format. A derived index that
	// stores prepared forms (the search index) keeps it rather than
	// preparing the record again: ten microseconds a record, where reading
	// it costs a fraction of one from the cache, two or three from the
	// store.
	Normals [][]byte
}

// Snapshot reads a live identity and its members' latest records in one
// consistent view. An identity merged into another, left without members,
// or purged (no longer in the store), is reported by ok = false: a derived
// index drops it.
func (x *Index) Snapshot(ctx context.Context, id vigie.IdentityID) (s Snapshot, ok bool, err error) {
	err = x.view(func(txn *store.Txn) error {
		ident, err := readIdentity(txn, id)
		if vigie.ErrorCode(err) == vigie.ENOTFOUND {
			return nil // purged at the end of its retention (see PurgeIn)
		}
		if err != nil {
			return err
		}
		if ident.Retired != 0 || len(ident.Members) == 0 {
			return nil
		}
		if s, err = x.snapshot(txn, ident); err != nil {
			return err
		}
		ok = true
		return nil
	})
	if err != nil {
		return Snapshot{}, false, fmt.Errorf("mpi: snapshot of %s: %w", id, err)
	}
	return s, ok, nil
}

func (x *Index) snapshot(txn *store.Txn, ident *identity) (Snapshot, error) {
	states, err := memberStates(txn, ident)
	if err != nil {
		return Snapshot{}, err
	}
	s := Snapshot{Identity: describeStates(ident, states), Records: make([]vigie.Record, len(states))}
	for i, st := range states {
		s.Records[i] = st.Record
	}
	if s.Normals, err = x.normals(txn, ident.Members, states); err != nil {
		return Snapshot{}, err
	}
	return s, nil
}

// normals returns the normalised forms of the records keys in the
// versions states give (see Snapshot.Normals): from the cache when it
// holds that version, else from the store. They share one buffer.
func (x *Index) normals(txn *store.Txn, keys []vigie.SourceKey, states []*recordState) ([][]byte, error) {
	type slot struct {
		ord   uint32
		known bool // to the mirror, which numbers the cache's records
		end   int  // of the form in buf
	}
	slots := make([]slot, len(keys))
	x.memMu.RLock()
	for i, k := range keys {
		slots[i].ord, slots[i].known = x.keys.find(k)
	}
	x.memMu.RUnlock()
	buf := make([]byte, 0, 320*len(keys))
	// keep copies a form (the cache's is only valid under its lock, the
	// store's within the transaction); one of another format is left out.
	var kept bool
	keep := func(f []byte) error {
		if len(f) > 0 && normalReadable(f[0]) {
			buf = append(buf, f...)
			kept = true
		}
		return nil
	}
	for i, st := range states {
		kept = false
		if slots[i].known {
			x.cache.get(slots[i].ord, st.Version, keep) // keep never fails
		}
		if !kept {
			if _, err := store.Read(txn, normalKey(keys[i], st.Version), keep); err != nil {
				return nil, err
			}
		}
		slots[i].end = len(buf)
	}
	out := make([][]byte, len(keys))
	start := 0
	for i, sl := range slots {
		if sl.end > start {
			out[i] = buf[start:sl.end:sl.end]
		}
		start = sl.end
	}
	return out, nil
}

// Snapshots calls fn for every live identity with members, in id order:
// the input of a full rebuild of a derived index. last is the sequence of
// the newest event at the time of the read, from which the index follows.
func (x *Index) Snapshots(ctx context.Context, fn func(Snapshot) error) (last uint64, err error) {
	err = x.view(func(txn *store.Txn) error {
		last = lastEvent(txn)
		it := txn.NewIterator(store.IteratorOptions{Prefix: []byte(pIdentity), PrefetchValues: true, PrefetchSize: 256})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			var ident identity
			if err := it.Item().Value(func(b []byte) error { return decode(b, &ident) }); err != nil {
				return err
			}
			if ident.Retired != 0 || len(ident.Members) == 0 {
				continue
			}
			s, err := x.snapshot(txn, &ident)
			if err != nil {
				return err
			}
			if err := fn(s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("mpi: snapshots: %w", err)
	}
	return last, nil
}

// LastEvent returns the sequence of the newest event (0 when none): a
// caller reads what its own change wrote with EventsAfter from there.
func (x *Index) LastEvent(ctx context.Context) (uint64, error) {
	var last uint64
	err := x.view(func(txn *store.Txn) error {
		last = lastEvent(txn)
		return nil
	})
	return last, err
}

func lastEvent(txn *store.Txn) uint64 {
	it := txn.NewIterator(store.IteratorOptions{Prefix: []byte(pEvent), Reverse: true})
	defer it.Close()
	it.Seek(append([]byte(pEvent), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))
	if !it.Valid() {
		return 0
	}
	return beU64(it.Item().Key()[len(pEvent):])
}

func beU64(b []byte) uint64 {
	if len(b) < 8 {
		return 0
	}
	var n uint64
	for _, c := range b[:8] {
		n = n<<8 | uint64(c)
	}
	return n
}
