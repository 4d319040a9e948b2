package search

import (
	"context"
	"fmt"
	"slices"

	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/index/scorch/mergeplan"
)

// Upkeep of a live index. A query looks each of its terms up in every
// segment, and in a segment holding deleted documents every posting list is
// first stripped of them: both costs grow with live updates, since each
// catch-up batch becomes a segment and re-indexing an identity deletes its
// document where it was. bleve's own tiered merges keep up to ten segments a
// tier and never rewrite the large segment a rebuild leaves, so a served
// index drifted to fifteen segments and thousands of deleted documents, and
// deleted documents cost up to a third of a query's CPU (1.1 million
// records, `vigie bench serve`). Tidy compacts the whole index when the
// large segment carries many deletions or the changes have grown large, and
// merges the small segments together should they pile up past what bleve's
// tiers keep. Merging the small ones eagerly (past three) was tried and
// rejected: at ~1,000 resolves/s each catch-up's segment was merged with the
// recent changes again and again, 0.28 ms of CPU per resolve.
const (
	// maxSmallSegments is the most segments kept beside the largest
	// before the small ones are merged (Index.maxSmall; tests lower it).
	maxSmallSegments = 12
	// compactDeleted is the share of the largest segment's documents
	// deleted above which the whole index is compacted. Deletions tax
	// every query, in proportion to their number: with 1.2 % of the large
	// segment deleted, stripping them from posting lists (roaring AndNot
	// and AndCardinality) was a third of the server's CPU in a search
	// load test at 1.1 million records, and a search cost 1.2 ms of CPU
	// against 0.9 ms compacted. But a compaction rewrites the whole index
	// (about 20 s of CPU at a million identities) and the store's durable
	// commits wait behind its writes on the same disk: resolves fell from
	// over 1,000/s to 134/s while one ran. 2 % is a compaction per some
	// 12,000 identities of the large segment changed.
	compactDeleted = 0.02
	// compactSmall is the size of the small segments, as a share of the
	// largest, above which the whole index is compacted.
	compactSmall = 0.25
)

// Size tiers of the small segments. Each catch-up leaves a segment of the
// identities it changed (a few hundred to a couple of thousand at 1,000
// resolves/s), and every query pays a term lookup in each segment (about
// 1 µs a key for a segment of a thousand documents, against 7 µs for the
// large one: eight such segments cost a query more than the large one).
// Merging them all into the second largest when they pile up rewrote that
// segment (tens of thousands of identities) every few seconds: 17 % of the
// server's CPU in a resolve load test. They are merged by tiers instead, as
// a log-structured store does: once tierFanIn segments are of a size
// (within tierSpread of the smallest of them, sizes under tierFloor
// counting as tierFloor), they are merged together with any smaller
// segment, so that a document is rewritten about log4 of the small
// segments' total over a catch-up's size times, and a query meets a few
// small segments per tier.
const (
	tierFanIn  = 4
	tierSpread = 4
	tierFloor  = 1024
)

// tierToMerge returns the live documents of the segments to merge: those
// of the first tier of sizes (ascending, the largest segment left out) that
// holds tierFanIn segments, and all smaller ones; ok is false when no tier
// does.
func tierToMerge(sizes []uint64) (total uint64, ok bool) {
	for i := 0; i < len(sizes); {
		base := max(sizes[i], tierFloor)
		j := i
		for j < len(sizes) && sizes[j] < tierSpread*base {
			j++
		}
		if j-i >= tierFanIn {
			for _, n := range sizes[:j] {
				total += n
			}
			return total, true
		}
		i = max(j, i+1)
	}
	return 0, false
}

// segmentStats describes the persisted segments of an index.
type segmentStats struct {
	segments       int    // persisted segments
	largest        uint64 // documents in the largest (deleted included)
	largestDeleted uint64 // deleted documents in the largest
	small          uint64 // live documents in the others
	second         uint64 // live documents in the second largest
	tiny           int    // segments under half the second largest
	// tier is the live documents of the small segments to merge by
	// tiers (see tierToMerge), 0 for none.
	tier uint64
}

// segments returns the index's segment statistics; ok is false for an
// index that is not a scorch index on disk (nothing to tidy).
func (x *Index) segments() (st segmentStats, ok bool, err error) {
	if _, isScorch := x.adv.(*scorch.Scorch); !isScorch || !x.disk {
		return st, false, nil
	}
	r, err := x.adv.Reader()
	if err != nil {
		return st, false, fmt.Errorf("search: open a reader: %w", err)
	}
	defer r.Close()
	snap, isSnap := r.(*scorch.IndexSnapshot)
	if !isSnap {
		return st, false, nil
	}
	var live uint64
	var sizes []uint64
	for _, s := range snap.Segments() {
		// A persisted segment has a file (segment.PersistedSegment).
		if _, persisted := s.Segment().(interface{ Path() string }); !persisted {
			continue
		}
		st.segments++
		n, del := uint64(s.FullSize()), uint64(0)
		if d := s.Deleted(); d != nil {
			del = d.GetCardinality()
		}
		live += n - del
		sizes = append(sizes, n-del)
		if n > st.largest {
			st.largest, st.largestDeleted = n, del
		}
	}
	st.small = live - (st.largest - st.largestDeleted)
	slices.Sort(sizes)
	if len(sizes) >= 2 {
		st.tier, _ = tierToMerge(sizes[:len(sizes)-1])
		st.second = sizes[len(sizes)-2]
		for _, n := range sizes {
			if n < st.second/2 {
				st.tiny++
			}
		}
	}
	return st, true, nil
}

// Tidy merges the index's segments as the constants above say and returns
// what it did: "", "small" or "compact". Without allowCompact it never
// compacts the whole index: a compaction rewrites it all (20 to 30 s of CPU
// at a million identities), and while it runs bleve merges nothing else, so
// under load the catch-up segments pile up (37 in a load test) and the
// store's durable commits wait behind its writes; a load test restarting
// the server every few minutes never let one finish. The server compacts
// once after its start-up catch-up (in the background: it listens before),
// and its follower only merges small segments. ctx bounds the merge.
func (x *Index) Tidy(ctx context.Context, allowCompact bool) (string, error) {
	st, ok, err := x.segments()
	if err != nil || !ok || st.segments <= 1 {
		return "", err
	}
	s := x.adv.(*scorch.Scorch)
	switch {
	case allowCompact && (float64(st.largestDeleted) > compactDeleted*float64(st.largest) || float64(st.small) > compactSmall*float64(st.largest)):
		// One pass: updates arriving meanwhile stay in segments of their
		// own, merged by the next passes.
		if err := s.ForceMerge(ctx, nil); err != nil {
			return "", fmt.Errorf("search: compact: %w", err)
		}
		return "compact", nil
	case st.tier > 0:
		// A segment is eligible when its live size is under half of
		// MaxSegmentSize, and a merge stays under MaxSegmentSize: the
		// tier and the smaller segments are merged into one, and a
		// segment above the tier but no larger than the merge's result
		// joins it (the next tier's merge would take both anyway).
		// Every segment merged counts as the floor size, so the budget
		// is one segment.
		o := mergeplan.SingleSegmentMergePlanOptions
		o.MaxSegmentSize = int64(2*st.tier + 2)
		o.FloorSegmentFileSize = 0
		o.SegmentsPerMergeTask = 1000
		if err := s.ForceMerge(ctx, &o); err != nil {
			return "", fmt.Errorf("search: merge a tier of small segments: %w", err)
		}
		return "small", nil
	case st.segments > x.maxSmall+1:
		// A segment is merged when its live size is under half of
		// MaxSegmentSize: the tiny ones (under half the second largest)
		// when there are several, so that each catch-up's segment is
		// not rewritten with all the changes before it every time; else
		// all but the largest. Every segment merged counts as the floor
		// size, so the budget is one segment.
		o := mergeplan.SingleSegmentMergePlanOptions
		o.MaxSegmentSize = int64(st.largest - st.largestDeleted)
		if st.tiny >= 2 {
			o.MaxSegmentSize = int64(st.second)
		}
		o.FloorSegmentFileSize = 0 // count documents, not bytes
		o.SegmentsPerMergeTask = 1000
		if err := s.ForceMerge(ctx, &o); err != nil {
			return "", fmt.Errorf("search: merge small segments: %w", err)
		}
		return "small", nil
	}
	return "", nil
}
