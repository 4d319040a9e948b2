package search

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"vigie"

	"github.com/blevesearch/bleve/v2/index/scorch"
)

// tidyPerson is identity i of the tidy tests, with extra members.
func tidyPerson(i, extra int) Entry {
	families := []string{"MARTIN", "BERNARD", "THOMAS", "PETIT", "ROBERT", "RICHARD", "DURAND", "DUBOIS"}
	firsts := []string{"JEAN", "MARIE", "PIERRE", "ANNE", "LUC", "SOPHIE"}
	r := rec("1.2.3.1", fmt.Sprintf("L%d", i), families[i%len(families)], "", firsts[i%len(firsts)],
		fmt.Sprintf("19%02d-%02d-%02d", 30+i%60, 1+i%12, 1+i%28), "M")
	e := Entry{ID: fmt.Sprintf("p%d", i), Golden: r, Members: []vigie.Record{r}}
	for k := range extra {
		m := r
		m.Authority, m.LocalID = "1.2.3.2", fmt.Sprintf("X%d-%d", i, k)
		e.Members = append(e.Members, m)
	}
	return e
}

// testEvents names the scorch event callback of the tests' indexes (see
// testConfig): settled waits on it.
const testEvents = "vigie.search.test"

// persistRound is closed, and replaced, each time the persister of a
// test index completes a round.
var persistRound = struct {
	sync.Mutex
	ch chan struct{}
}{ch: make(chan struct{})}

func init() {
	scorch.RegistryEventCallbacks[testEvents] = func(e scorch.Event) bool {
		if e.Kind == scorch.EventKindPersisterProgress {
			persistRound.Lock()
			close(persistRound.ch)
			persistRound.ch = make(chan struct{})
			persistRound.Unlock()
		}
		return true // never holds a merge back (EventKindPreMergeCheck)
	}
}

// testConfig returns the configuration of a test index: its persister
// tells settled of its rounds; extra adds bleve options.
func testConfig(extra map[string]any) map[string]any {
	c := map[string]any{"eventCallbackName": testEvents}
	maps.Copy(c, extra)
	return c
}

// settled waits until every segment of x is persisted (merges and the
// segment statistics look at persisted segments only) and returns the
// statistics. It looks again after each round of a persister, not at
// intervals.
func settled(t testing.TB, x *Index) segmentStats {
	t.Helper()
	s := x.adv.(*scorch.Scorch)
	timeout := time.After(30 * time.Second)
	for {
		persistRound.Lock()
		round := persistRound.ch
		persistRound.Unlock()
		if s.StatsMap()["num_root_memorysegments"] == uint64(0) {
			break
		}
		select {
		case <-round:
		case <-timeout:
			t.Fatal("the index's segments were not persisted in 30 s")
		}
	}
	st, ok, err := x.segments()
	if err != nil || !ok {
		t.Fatalf("segments: %v, %v", ok, err)
	}
	return st
}

// checkMembers asserts that every identity of want is found by each of its
// members' local ids, with all its members, and that the ids of gone are
// found nowhere.
func checkMembers(t *testing.T, x *Index, want []Entry, gone []string) {
	t.Helper()
	for _, e := range want {
		for _, m := range e.Members {
			hits, err := x.Search(context.Background(), Query{LocalIDs: []LocalID{{m.Authority, m.LocalID}}, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, h := range hits {
				if h.ID == e.ID {
					found = len(h.Sources) == len(e.Members)
				}
				for _, g := range gone {
					if h.ID == g {
						t.Errorf("%s: deleted identity %s returned", m.LocalID, g)
					}
				}
			}
			if !found {
				t.Errorf("%s|%s: identity %s with %d members not found: %s", m.Authority, m.LocalID, e.ID, len(e.Members), ids(hits))
			}
		}
	}
}

// TestTidyMergesSmallSegmentsThenCompacts: live updates (each batch a
// segment, each re-indexed identity a deleted document) are merged into one
// small segment beside the large one, then, once the large segment carries
// many deletions, into one; searches see every update throughout.
func TestTidyMergesSmallSegmentsThenCompacts(t *testing.T) {
	ctx := context.Background()
	x := newIndex(t, filepath.Join(t.TempDir(), "search"))
	x.maxSmall = 3
	// A large segment big enough that bleve's own merge planner (ten
	// segments a tier from 2,000 documents: eight here) leaves the seven
	// segments of this test alone.
	const n = 15000
	var base []Entry
	for i := range n {
		base = append(base, tidyPerson(i, 0))
	}
	if err := x.Batch(base, nil); err != nil {
		t.Fatal(err)
	}
	if err := x.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if st := settled(t, x); st.segments != 1 || st.largest != n {
		t.Fatalf("after compaction: %+v", st)
	}
	if did, err := x.Tidy(ctx, true); err != nil || did != "" {
		t.Fatalf("tidy of a compact index: %q, %v", did, err)
	}
	// Six catch-ups: each re-indexes one identity of the large segment
	// with a new member, adds one, and deletes one.
	want := map[string]Entry{}
	for _, e := range base {
		want[e.ID] = e
	}
	var gone []string
	for r := range 6 {
		changed, added, deleted := tidyPerson(r, 1), tidyPerson(n+r, 0), fmt.Sprintf("p%d", 100+r)
		if err := x.Batch([]Entry{changed, added}, []string{deleted}); err != nil {
			t.Fatal(err)
		}
		want[changed.ID], want[added.ID] = changed, added
		delete(want, deleted)
		gone = append(gone, deleted)
		settled(t, x)
	}
	st := settled(t, x)
	if st.segments <= x.maxSmall+1 {
		t.Fatalf("fixture: %d segments after six batches, want more than %d", st.segments, x.maxSmall+1)
	}
	if did, err := x.Tidy(ctx, false); err != nil || did != "small" {
		t.Fatalf("tidy with %d segments: %q, %v, want the small ones merged", st.segments, did, err)
	}
	if st := settled(t, x); st.segments != 2 || st.largest != n || st.largestDeleted != 12 || st.small != 12 {
		t.Errorf("after merging the small segments: %+v, want the large one (%d, 12 deleted) and one of 12", st, n)
	}
	// The identities changed, and a sample of the others.
	var all []Entry
	for _, e := range want {
		if len(e.Members) > 1 || len(all) < 100 {
			all = append(all, e)
		}
	}
	checkMembers(t, x, all, gone)

	// Re-index a twentieth of the large segment: its deletions call for a
	// compaction.
	var changed []Entry
	for i := 200; i < 200+n/20+10; i++ {
		changed = append(changed, tidyPerson(i, 2))
	}
	if err := x.Batch(changed, nil); err != nil {
		t.Fatal(err)
	}
	for _, e := range changed {
		want[e.ID] = e
	}
	settled(t, x)
	if did, err := x.Tidy(ctx, false); err != nil || did != "" {
		t.Fatalf("tidy without compaction, %+v: %q, %v, want nothing done", settled(t, x), did, err)
	}
	if did, err := x.Tidy(ctx, true); err != nil || did != "compact" {
		t.Fatalf("tidy with %+v: %q, %v, want a compaction", settled(t, x), did, err)
	}
	if st := settled(t, x); st.segments != 1 || st.largestDeleted != 0 || st.largest != uint64(len(want)) {
		t.Errorf("after compaction: %+v, want one segment of %d live documents", st, len(want))
	}
	all = all[:0]
	for i, e := range changed {
		if i%20 == 0 {
			all = append(all, e)
		}
	}
	for r := range 6 {
		all = append(all, want[fmt.Sprintf("p%d", r)], want[fmt.Sprintf("p%d", n+r)])
	}
	checkMembers(t, x, all, gone)
	if n := length(t, x); n != len(want) {
		t.Errorf("%d identities indexed, want %d", n, len(want))
	}
}

// Small segments are merged by tiers of like sizes, four at a time, with
// any smaller one; a tier short of four is left as it is.
func TestTierToMerge(t *testing.T) {
	for _, tc := range []struct {
		sizes []uint64
		want  uint64 // documents merged, 0: nothing to merge
	}{
		{nil, 0},
		{[]uint64{500, 900, 1200}, 0},
		// Catch-up segments, all under four times the floor.
		{[]uint64{474, 508, 732, 908, 1206}, 3828},
		{[]uint64{10, 20, 30, 40}, 100},
		// Three tiny ones and three of a tier above: nothing yet.
		{[]uint64{600, 700, 900, 5000, 6000, 9000, 80000}, 0},
		// A fourth in the second tier: it is merged with the tiny ones.
		{[]uint64{600, 700, 900, 5000, 6000, 9000, 12000, 80000}, 34200},
		// A full first tier is merged before a full second one.
		{[]uint64{600, 700, 900, 1000, 5000, 6000, 9000, 12000}, 3200},
		// Sizes far apart make no tier.
		{[]uint64{1000, 5000, 30000, 200000}, 0},
	} {
		got, ok := tierToMerge(tc.sizes)
		if got != tc.want || ok != (tc.want > 0) {
			t.Errorf("tierToMerge(%v) = %d, %v, want %d", tc.sizes, got, ok, tc.want)
		}
	}
}
