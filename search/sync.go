package search

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"vigie"

	index "github.com/blevesearch/bleve_index_api"

	"vigie/mpi"
)

// entryOf is the index entry of a patient-index snapshot.
func entryOf(s mpi.Snapshot) Entry {
	e := Entry{ID: s.ID.String(), Golden: s.Golden, Members: s.Records, Normals: s.Normals}
	for _, a := range s.Attributes {
		if slices.Contains(vigie.HiddenAttributes, a) {
			e.Hidden = true
		}
	}
	return e
}

// batchSize bounds the documents of one bleve batch: larger batches make
// merges memory-hungry.
const batchSize = 2000

// Rebuild indexes every live identity of the patient index into an empty
// index, sets the cursor to the newest event seen, so that CatchUp follows
// from there, and compacts the index (see Compact). It returns the number of
// identities indexed.
func (x *Index) Rebuild(ctx context.Context, src *mpi.Index) (int, error) {
	// A correction's catch-up meanwhile would read every event from the
	// start (the cursor is set last): it waits.
	x.syncMu.Lock()
	defer x.syncMu.Unlock()
	var batch []Entry
	n := 0
	size := batchSize
	if !x.disk {
		// No merges in memory (see memtidy.go): fewer, larger segments.
		size = memSegment
	}
	last, err := src.Snapshots(ctx, func(s mpi.Snapshot) error {
		batch = append(batch, entryOf(s))
		if len(batch) == size {
			if err := x.apply(batch, nil, nil); err != nil {
				return err
			}
			n += len(batch)
			batch = batch[:0]
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("search: rebuild: %w", err)
	}
	// What was read must be durable before the cursor says it was indexed.
	if err := src.Sync(); err != nil {
		return n, fmt.Errorf("search: rebuild: %w", err)
	}
	if err := x.apply(batch, nil, &last); err != nil {
		return n, fmt.Errorf("search: rebuild: %w", err)
	}
	n += len(batch)
	x.caughtUp.Store(true)
	if err := x.Compact(ctx); err != nil {
		return n, fmt.Errorf("search: rebuild: %w", err)
	}
	return n, nil
}

// apply applies a batch as batch does, leaving out the identities whose
// document cannot be built (see safeDocument): each is counted and
// reported (see Skipped) and the others are indexed, so that one
// poisoned identity never holds the index back by failing every catch-up.
// A failure of the batch as a whole (bleve's, the disk's) is returned:
// the caller tries again.
func (x *Index) apply(put []Entry, del []string, cursor *uint64) error {
	for {
		err := x.batch(put, del, cursor)
		var ee *entryError
		if !errors.As(err, &ee) {
			return err
		}
		x.skip(ee.id, ee.err)
		put = slices.DeleteFunc(slices.Clone(put), func(e Entry) bool { return e.ID == ee.id })
	}
}

// CatchUp applies the patient index's events after the index's cursor: every
// identity they touched is read again and re-indexed, or removed when it was
// retired by a merge or left without members. Re-applying an event is
// harmless, so a crash between a batch and its cursor loses nothing. It
// returns the number of events applied.
func (x *Index) CatchUp(ctx context.Context, src *mpi.Index) (int, error) {
	x.syncMu.Lock()
	defer x.syncMu.Unlock()
	cursor, err := x.Cursor()
	if err != nil {
		return 0, err
	}
	// touched maps each identity the events named to whether one of them
	// may have changed it; false: it was only named as the candidate of
	// a review or one of two identities marked distinct.
	touched := map[vigie.IdentityID]bool{}
	applied := 0
	last := cursor
	flush := func() error {
		var put []Entry
		var del []string
		for id := range touched {
			s, ok, err := src.Snapshot(ctx, id)
			if err != nil {
				return err
			}
			if !ok {
				del = append(del, id.String())
				continue
			}
			e := entryOf(s)
			if !touched[id] {
				if same, err := x.indexedAs(&e); err != nil {
					return err
				} else if same {
					x.unchanged.Add(1)
					continue
				}
			}
			put = append(put, e)
		}
		// On a store synced in groups the events and identities just
		// read may not be durable yet: an index ahead of its store after
		// a power loss would skip the events numbered again.
		if err := src.Sync(); err != nil {
			return err
		}
		if err := x.apply(put, del, &last); err != nil {
			return err
		}
		clear(touched)
		return nil
	}
	err = src.EventsAfter(ctx, cursor, func(e mpi.Event) error {
		for _, id := range e.Touched() {
			named := (e.Kind == mpi.EventDistinct || e.Kind == mpi.EventReview && id == e.Other) && !moved(&e, id)
			touched[id] = touched[id] || !named
		}
		last = e.Seq
		applied++
		if len(touched) >= batchSize {
			return flush()
		}
		return nil
	})
	if err != nil {
		return applied, fmt.Errorf("search: catch up after event %d: %w", cursor, err)
	}
	if last != cursor {
		if err := flush(); err != nil {
			return applied, fmt.Errorf("search: catch up: %w", err)
		}
	}
	x.caughtUp.Store(true)
	return applied, nil
}

// moved reports whether a record of e moved into or out of identity id.
func moved(e *mpi.Event, id vigie.IdentityID) bool {
	for _, m := range e.Moves {
		if m.From == id || m.To == id {
			return true
		}
	}
	return false
}

// indexedAs reports whether the index already holds e as it is. Events
// name identities they do not change (the candidate of a review, two
// identities marked distinct): re-indexing one would leave a deleted
// document in its segment, a cost to every later query until a compaction
// (see Tidy), for nothing. Only identities no event of the batch may have
// changed are checked, and their stored form must be the same: it holds
// the golden record and the members' prepared forms, not every raw field
// the terms are made from, so it is a guard, not a proof on its own.
func (x *Index) indexedAs(e *Entry) (bool, error) {
	d, err := x.bi.Document(e.ID)
	if err != nil {
		return false, fmt.Errorf("search: read identity %s: %w", e.ID, err)
	}
	if d == nil {
		return false, nil
	}
	var data []byte
	d.VisitFields(func(f index.Field) {
		if f.Name() == "data" {
			data = f.Value()
		}
	})
	return data != nil && bytes.Equal(data, encodeEntry(e)), nil
}

// Follow keeps the index caught up with the patient index until ctx ends,
// checking every interval; errors are passed to report and retried. After a
// catch-up that applied events it merges small segments (see Tidy; for
// an index in memory, tidyMemory) in the background, one merge at a time, so that a long merge delays neither
// the next catch-up nor the searches. It returns once its merge, if any,
// has stopped.
func (x *Index) Follow(ctx context.Context, src *mpi.Index, interval time.Duration, report func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var merging sync.WaitGroup
	defer merging.Wait()
	var busy atomic.Bool
	first := true
	for {
		n, err := x.CatchUp(ctx, src)
		if err != nil && ctx.Err() == nil && report != nil {
			report(err)
		}
		if (n > 0 || first) && busy.CompareAndSwap(false, true) {
			first = false
			merging.Go(func() {
				defer busy.Store(false)
				var err error
				if x.disk {
					_, err = x.Tidy(ctx, false)
				} else {
					_, err = x.tidyMemory(ctx, src)
				}
				if err != nil && ctx.Err() == nil && report != nil {
					report(err)
				}
			})
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
