package mpi

import (
	"context"
	"encoding/binary"
	"fmt"
	"vigie/store"

	"vigie"
)

// Reviews returns up to limit pending reviews (all when limit ≤ 0) in queue
// order: potential collisions first, then oldest first (a skipped review goes
// to the back). Each carries both sides' current golden views.
func (x *Index) Reviews(ctx context.Context, limit int) ([]Review, error) {
	var out []Review
	err := x.view(func(txn *store.Txn) error {
		it := txn.NewIterator(store.IteratorOptions{Prefix: []byte(pPending), PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid() && (limit <= 0 || len(out) < limit); it.Next() {
			var id uint64
			if err := it.Item().Value(func(b []byte) error {
				if len(b) != 8 {
					return vigie.Errorf(vigie.EINTERNAL, "pending review entry of %d bytes", len(b))
				}
				id = binary.BigEndian.Uint64(b)
				return nil
			}); err != nil {
				return err
			}
			var r Review
			found, err := get(txn, reviewKey(id), &r)
			if err != nil {
				return err
			}
			if !found {
				return vigie.Errorf(vigie.EINTERNAL, "pending review %d is missing", id)
			}
			if r.IdentityGolden, err = x.goldenOf(txn, r.Identity); err != nil {
				return err
			}
			if r.CandidateGolden, err = x.goldenOf(txn, r.Candidate); err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mpi: reviews: %w", err)
	}
	return out, nil
}

func (x *Index) goldenOf(txn *store.Txn, id vigie.IdentityID) (vigie.Record, error) {
	ident, _, err := live(txn, id)
	if err != nil {
		return vigie.Record{}, err
	}
	d, err := x.describe(txn, ident)
	return d.Golden, err
}

// PendingReviews counts the reviews waiting for a decision.
func (x *Index) PendingReviews(ctx context.Context) (int, error) {
	n := 0
	err := x.view(func(txn *store.Txn) error {
		it := txn.NewIterator(store.IteratorOptions{Prefix: []byte(pPending)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	return n, err
}

// Decide records a person's decision on a review:
//
//   - Same: for a new record, its identity is merged into the candidate
//     (nothing to do if they were merged since); for an updated record, it
//     stays where it is;
//   - Different: for a new record, the two identities are marked distinct;
//     for an updated record, it is unlinked into its own identity;
//   - Skip: the review goes to the back of its queue.
//
// A decided review cannot be decided again (ECONFLICT).
func (x *Index) Decide(ctx context.Context, reviewID uint64, decision string, actor Actor, reason string) error {
	wrap := func(err error) error { return fmt.Errorf("mpi: decide review %d: %w", reviewID, err) }
	if err := checkActor(actor, reason); err != nil {
		return wrap(err)
	}
	switch decision {
	case Same, Different, Skip:
	default:
		return wrap(vigie.Invalid("decision", "%q is not a decision (same, different or skip)", decision))
	}
	err := x.update(ctx, func(t *tx) error {
		var r Review
		found, err := get(t.Txn, reviewKey(reviewID), &r)
		if err != nil {
			return err
		}
		if !found {
			return vigie.Errorf(vigie.ENOTFOUND, "review %d does not exist", reviewID)
		}
		if r.Status != StatusPending {
			return vigie.Errorf(vigie.ECONFLICT, "review %d was already decided (%s by %s)", reviewID, r.Decision, r.Actor)
		}
		if err := t.Delete(pendingKey(r.Priority, r.Order)); err != nil {
			return err
		}
		if err := t.unindexPending(&r); err != nil {
			return err
		}
		e := &Event{Kind: EventDecide, Actor: actor, Reason: reason, Identity: r.Identity, Other: r.Candidate, Record: r.Record, Review: r.ID}
		switch {
		case decision == Skip:
			order, err := t.x.seqOrder.Next()
			if err != nil {
				return err
			}
			r.Order = order + 1
			if err := t.Set(pendingKey(r.Priority, r.Order), u64(r.ID)); err != nil {
				return err
			}
			if err := t.indexPending(&r); err != nil {
				return err
			}
		case decision == Same && r.Kind == ReviewNew:
			a, _, err := live(t.Txn, r.Identity)
			if err != nil {
				return err
			}
			b, _, err := live(t.Txn, r.Candidate)
			if err != nil {
				return err
			}
			if a.ID != b.ID {
				if _, err := t.merge(b.ID, a.ID, actor, reason, r.ID); err != nil {
					return err
				}
			}
		case decision == Different && r.Kind == ReviewNew:
			if _, err := t.markIdentities(r.Identity, r.Candidate, actor, reason, r.ID); err != nil {
				return err
			}
		case decision == Different && r.Kind == ReviewUpdate:
			st, err := t.record(r.Record)
			if err != nil {
				return err
			}
			cur, _, err := live(t.Txn, st.Identity)
			if err != nil {
				return err
			}
			if len(cur.Members) > 1 {
				if _, err := t.unlink(r.Record, actor, reason, r.ID); err != nil {
					return err
				}
			}
		}
		if decision != Skip {
			r.Status, r.Decision, r.Actor, r.Reason, r.Decided = StatusDecided, decision, actor, reason, t.now
			if err := t.unfileDecided(&r); err != nil {
				return err
			}
		}
		if err := put(t.Txn, reviewKey(r.ID), &r); err != nil {
			return err
		}
		e.Explanation = []string{decision}
		return t.event(e)
	})
	if err != nil {
		return wrap(err)
	}
	return nil
}
