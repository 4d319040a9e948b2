package mpi

import (
	"context"
	"fmt"
	"vigie/store"

	"vigie"
)

// Review returns one review, pending or decided, with both sides' current
// golden views; ENOTFOUND when no review has that id.
func (x *Index) Review(ctx context.Context, id uint64) (Review, error) {
	var r Review
	err := x.view(func(txn *store.Txn) error {
		found, err := get(txn, reviewKey(id), &r)
		if err != nil {
			return err
		}
		if !found {
			return vigie.Errorf(vigie.ENOTFOUND, "review %d does not exist", id)
		}
		if r.IdentityGolden, err = x.goldenOf(txn, r.Identity); err != nil {
			return err
		}
		r.CandidateGolden, err = x.goldenOf(txn, r.Candidate)
		return err
	})
	if err != nil {
		return Review{}, fmt.Errorf("mpi: review %d: %w", id, err)
	}
	return r, nil
}
