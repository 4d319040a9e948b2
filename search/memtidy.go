package search

import (
	"context"
	"fmt"
	"slices"

	"vigie"

	"github.com/blevesearch/bleve/v2/index/scorch"

	"vigie/mpi"
)

// An index kept in memory only (Open with an empty dir: the store is
// encrypted and the index must not be written in clear) has no merges:
// bleve's scorch merges segments only on their way to, or once in, files.
// Each catch-up would leave a segment, and each re-indexed identity a
// deleted document in memory, for as long as the process runs. Its segments
// are merged by indexing again, from the patient index, the live identities
// of the segments to merge, in one batch: the new segment replaces them,
// and a segment whose documents are all deleted is dropped by bleve.

// memSegment is the most documents a rebuild puts in one segment of an
// index in memory, and the size past which a segment is no longer merged
// with others. One batch of that many identities is built in memory at
// once; a million identities make some 60 segments.
const memSegment = 16384

// memWorn is the share of a segment's documents deleted past which its
// live identities are indexed again (the deleted ones cost memory and
// every query).
const memWorn = 0.25

// memSegState is what tidyMemory reads of one segment.
type memSegState struct {
	seg        *scorch.SegmentSnapshot
	live, full uint64
}

// memToMerge returns the segments of an index in memory to index again:
// the first worn one (see memWorn), else, when more than maxSmall
// segments are under half of memSegment, the smallest of them while they
// hold at most memSegment live identities together (two at least).
func memToMerge(segs []memSegState, maxSmall int) []memSegState {
	for _, s := range segs {
		if s.full >= memSegment/4 && float64(s.full-s.live) > memWorn*float64(s.full) {
			return []memSegState{s}
		}
	}
	var small []memSegState
	for _, s := range segs {
		if s.live < memSegment/2 {
			small = append(small, s)
		}
	}
	if len(small) <= maxSmall {
		return nil
	}
	slices.SortFunc(small, func(a, b memSegState) int { return int(a.live) - int(b.live) })
	var total uint64
	n := 0
	for n < len(small) && (n < 2 || total+small[n].live <= memSegment) {
		total += small[n].live
		n++
	}
	return small[:n]
}

// tidyMemory merges the segments of an index in memory (see memToMerge)
// by indexing their identities again from src, and returns the number of
// identities indexed; it does nothing for an index on disk. The catch-up
// waits meanwhile.
func (x *Index) tidyMemory(ctx context.Context, src *mpi.Index) (int, error) {
	if x.disk {
		return 0, nil
	}
	x.syncMu.Lock()
	defer x.syncMu.Unlock()
	ids, err := x.memMergeIDs()
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	var put []Entry
	var del []string
	for _, s := range ids {
		id, err := vigie.ParseIdentityID(s)
		if err != nil {
			return 0, fmt.Errorf("search: merge in memory: document %q: %w", s, err)
		}
		snap, ok, err := src.Snapshot(ctx, id)
		if err != nil {
			return 0, fmt.Errorf("search: merge in memory: %w", err)
		}
		if !ok {
			del = append(del, s)
			continue
		}
		put = append(put, entryOf(snap))
	}
	if err := x.apply(put, del, nil); err != nil {
		return 0, fmt.Errorf("search: merge in memory: %w", err)
	}
	return len(put), nil
}

// memMergeIDs returns the ids of the live documents of the segments to
// merge (see memToMerge).
func (x *Index) memMergeIDs() ([]string, error) {
	r, err := x.adv.Reader()
	if err != nil {
		return nil, fmt.Errorf("search: open a reader: %w", err)
	}
	defer r.Close()
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		return nil, nil
	}
	var segs []memSegState
	for _, s := range snap.Segments() {
		st := memSegState{seg: s, full: uint64(s.FullSize())}
		st.live = st.full
		if d := s.Deleted(); d != nil {
			st.live -= d.GetCardinality()
		}
		segs = append(segs, st)
	}
	var ids []string
	for _, s := range memToMerge(segs, x.maxSmall) {
		del := s.seg.Deleted()
		for n := uint64(0); n < s.full; n++ {
			if del != nil && del.Contains(uint32(n)) {
				continue
			}
			id, err := s.seg.Segment().DocID(n)
			if err != nil {
				return nil, fmt.Errorf("search: read document %d: %w", n, err)
			}
			ids = append(ids, string(id))
		}
	}
	return ids, nil
}

// memSegments returns the number of segments of the index and of deleted
// documents in them (tests).
func (x *Index) memSegments() (segs int, deleted uint64, err error) {
	r, err := x.adv.Reader()
	if err != nil {
		return 0, 0, err
	}
	defer r.Close()
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		return 0, 0, nil
	}
	for _, s := range snap.Segments() {
		segs++
		if d := s.Deleted(); d != nil {
			deleted += d.GetCardinality()
		}
	}
	return segs, deleted, nil
}
