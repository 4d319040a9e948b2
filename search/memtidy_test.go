package search

import (
	"context"
	"fmt"
	"testing"

	"vigie"
	"vigie/mpi"
)

// An index in memory has no merges of bleve's: every catch-up leaves a
// segment. tidyMemory merges them by indexing their identities again, and
// the index answers as before.
func TestTidyMemoryMergesCatchUpSegments(t *testing.T) {
	ctx := context.Background()
	idx := memoryMPI(t)
	x := newIndex(t, "")
	x.maxSmall = 3
	if _, err := x.Rebuild(ctx, idx); err != nil {
		t.Fatal(err)
	}
	names := []string{"MARTIN", "BERNARD", "THOMAS", "PETIT", "ROBERT", "RICHARD", "DURAND", "DUBOIS", "MOREAU", "LAURENT", "SIMON", "MICHEL"}
	firsts := []string{"CLAIRE", "PAUL", "LUCIE", "HUGO", "EMMA", "LOUIS", "JADE", "LEO", "ROSE", "NOAH", "ALICE", "JULES"}
	var last vigie.IdentityID
	for i := range 12 {
		// One catch-up per record: one segment each.
		r, err := idx.Resolve(ctx, rec("1.2.3.1", fmt.Sprintf("A%d", i), names[i], "", firsts[i], fmt.Sprintf("19%02d-0%d-%02d", 40+3*i, 1+i%9, 1+2*i), "F"), mpi.System)
		if err != nil {
			t.Fatal(err)
		}
		last = r.Identity
		if _, err := x.CatchUp(ctx, idx); err != nil {
			t.Fatal(err)
		}
	}
	before, _, err := x.memSegments()
	if err != nil {
		t.Fatal(err)
	}
	if before <= x.maxSmall+1 {
		t.Fatalf("fixture: %d segments after 12 catch-ups, want more than %d", before, x.maxSmall+1)
	}
	n, err := x.tidyMemory(ctx, idx)
	if err != nil {
		t.Fatal(err)
	}
	after, deleted, err := x.memSegments()
	if err != nil {
		t.Fatal(err)
	}
	if indexed := length(t, x); n != indexed || after != 1 || deleted != 0 {
		t.Fatalf("tidy indexed %d identities, left %d segments and %d deleted documents; want %d, 1, 0", n, after, deleted, indexed)
	}
	if n := length(t, x); n != 12 {
		t.Fatalf("%d identities indexed after the merge, want 12", n)
	}
	hits, err := x.Search(ctx, Query{BirthName: "MICHEL", FirstNames: "JULES", BirthDate: "1973-03-23"})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) == 0 || hits[0].ID != last.String() {
		t.Fatalf("after the merge: %s, want %s first", ids(hits), last)
	}
	// Nothing more to merge: a second pass does nothing.
	if n, err := x.tidyMemory(ctx, idx); err != nil || n != 0 {
		t.Fatalf("second pass: %d, %v", n, err)
	}
}

func TestMemToMerge(t *testing.T) {
	seg := func(live, full uint64) memSegState { return memSegState{live: live, full: full} }
	if got := memToMerge([]memSegState{seg(memSegment, memSegment), seg(10, 10), seg(20, 20)}, 3); got != nil {
		t.Fatalf("two small segments with maxSmall 3: %v, want none", got)
	}
	got := memToMerge([]memSegState{seg(memSegment, memSegment), seg(30, 30), seg(10, 10), seg(memSegment/2-1, memSegment/2-1), seg(20, 20), seg(memSegment/2-1, memSegment/2-1), seg(memSegment-5, memSegment)}, 3)
	if len(got) != 4 || got[0].live != 10 || got[1].live != 20 || got[2].live != 30 || got[3].live != memSegment/2-1 {
		t.Fatalf("small segments: %v, want the four smallest (the fifth would pass memSegment)", got)
	}
	worn := seg(memSegment/2, memSegment)
	if got := memToMerge([]memSegState{seg(memSegment, memSegment), worn}, 3); len(got) != 1 || got[0].live != worn.live {
		t.Fatalf("a segment half deleted: %v, want it alone", got)
	}
}
