package mpi

import (
	"context"
	"errors"
	"fmt"
	"vigie/store"

	"vigie"
)

// Verify checks the index's invariants in one consistent read:
//
//   - every record's identity is live and lists it, and its latest version
//     is in the history;
//   - every live identity's members exist and point back to it; a retired
//     identity has no member and redirects to an existing identity;
//   - replaying the events' moves in order gives every record's identity;
//   - every pending review is filed under each of its sites, and the
//     per-site queue holds nothing else (review_index.go).
//
// It returns every violation found, joined (nil when the index is sound).
func (x *Index) Verify(ctx context.Context) error {
	var errs []error
	bad := func(format string, args ...any) {
		if len(errs) < 50 {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	err := x.view(func(txn *store.Txn) error {
		states := map[vigie.SourceKey]recordState{}
		if err := scan(txn, pRecord, func(key []byte, v []byte) error {
			var st recordState
			if err := decode(v, &st); err != nil {
				return err
			}
			states[parseSkey(string(key[len(pRecord):]))] = st
			return nil
		}); err != nil {
			return err
		}
		idents := map[vigie.IdentityID]identity{}
		if err := scan(txn, pIdentity, func(_ []byte, v []byte) error {
			var id identity
			if err := decode(v, &id); err != nil {
				return err
			}
			idents[id.ID] = id
			return nil
		}); err != nil {
			return err
		}
		for k, st := range states {
			if err := ctx.Err(); err != nil {
				return err
			}
			id, ok := idents[st.Identity]
			switch {
			case !ok:
				bad("record %s: identity %s is missing", k, st.Identity)
			case id.Retired != 0:
				bad("record %s: identity %s is retired", k, st.Identity)
			default:
				found := false
				for _, m := range id.Members {
					found = found || m == k
				}
				if !found {
					bad("record %s: identity %s does not list it", k, st.Identity)
				}
			}
			if found, err := store.Has(txn, historyKey(k, st.Version)); err != nil {
				return err
			} else if !found {
				bad("record %s: version %d is not in the history", k, st.Version)
			}
		}
		for _, id := range idents {
			if id.Retired != 0 {
				if len(id.Members) > 0 {
					bad("identity %s is retired into %s but lists %d members", id.ID, id.Retired, len(id.Members))
				}
				if _, ok := idents[id.Retired]; !ok {
					bad("identity %s redirects to %s, which is missing", id.ID, id.Retired)
				}
				continue
			}
			if len(id.Members) == 0 {
				bad("identity %s is live and empty", id.ID)
			}
			for _, m := range id.Members {
				st, ok := states[m]
				if !ok {
					bad("identity %s lists record %s, which is missing", id.ID, m)
				} else if st.Identity != id.ID {
					bad("identity %s lists record %s, which belongs to %s", id.ID, m, st.Identity)
				}
			}
		}
		replay := map[vigie.SourceKey]vigie.IdentityID{}
		if err := scan(txn, pEvent, func(_ []byte, v []byte) error {
			var e Event
			if err := decode(v, &e); err != nil {
				return err
			}
			for _, m := range e.Moves {
				if cur := replay[m.Record]; cur != m.From {
					bad("event %d moves %s from %s, but it was in %s", e.Seq, m.Record, m.From, cur)
				}
				replay[m.Record] = m.To
			}
			return nil
		}); err != nil {
			return err
		}
		for k, st := range states {
			if replay[k] != st.Identity {
				bad("record %s is in %s, its events say %s", k, st.Identity, replay[k])
			}
		}
		for k := range replay {
			if _, ok := states[k]; !ok {
				bad("events move record %s, which is missing", k)
			}
		}
		return verifyPendingSites(txn, bad)
	})
	if err != nil {
		return fmt.Errorf("mpi: verify: %w", err)
	}
	return errors.Join(errs...)
}

// scan calls fn for every key under prefix with its value.
func scan(txn *store.Txn, prefix string, fn func(key, value []byte) error) error {
	it := txn.NewIterator(store.IteratorOptions{Prefix: []byte(prefix), PrefetchValues: true, PrefetchSize: 256})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		if err := item.Value(func(v []byte) error { return fn(item.Key(), v) }); err != nil {
			return err
		}
	}
	return nil
}
