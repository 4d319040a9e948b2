package bench

import (
	"runtime"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"vigie/matcher"
	"vigie/rpc"
	v1 "vigie/rpc/gen/vigie/v1"
)

// The load's fresh records are all ones the server accepts: an invalid
// record would count as an error of the server.
func TestBenchRecordsValid(t *testing.T) {
	recs, err := records(3000, 11)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3000 {
		t.Fatalf("%d records, want 3000", len(recs))
	}
	for _, r := range recs {
		rec := rpc.RecordFromProto(r)
		if _, err := matcher.Prepare(&rec); err != nil {
			t.Errorf("record %s: %v", r.GetLocalId(), err)
		}
	}
}

// The query book gives back each query as it was added, in order, the
// first and the last included.
func TestQueryBook(t *testing.T) {
	qs := []*v1.SearchTraits{
		{Name: "DUPONT", FirstNames: "JEAN", BirthDate: "1950-01-02", Sex: "M"},
		{Name: "ÉLISE-MARIE D'ARC", BirthDate: "2001-12-31"},
		{},
		{Name: "N", FirstNames: "A B C", Sex: "F"},
	}
	var b queryBook
	for _, q := range qs {
		if err := b.add(q); err != nil {
			t.Fatal(err)
		}
	}
	if b.len() != len(qs) {
		t.Fatalf("len %d, want %d", b.len(), len(qs))
	}
	for i, want := range qs {
		got, err := b.get(i)
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(got, want) {
			t.Errorf("query %d: %v, want %v", i, got, want)
		}
	}
}

// TestServerShare checks the split of a call's latency computed from two
// scrapes: differences of sums over differences of counts, per procedure,
// and nothing for a procedure without calls.
func TestServerShare(t *testing.T) {
	const search = `{procedure="/vigie.v1.IdentityService/SearchIdentities"}`
	before := map[string]float64{
		"vigie_request_duration_seconds_sum" + search: 1, "vigie_request_duration_seconds_count" + search: 100,
		"vigie_audit_append_duration_seconds_sum": 0.5, "vigie_audit_append_duration_seconds_count": 100,
	}
	after := map[string]float64{
		"vigie_request_duration_seconds_sum" + search: 1.3, "vigie_request_duration_seconds_count" + search: 120,
		"vigie_audit_append_duration_seconds_sum": 0.7, "vigie_audit_append_duration_seconds_count": 120,
	}
	seen := map[string]*latencies{"SearchIdentities": {d: []time.Duration{20 * time.Millisecond, 40 * time.Millisecond}}, "ResolveRecord": {}}
	got := serverShare(before, after, seen)
	want := "mean per call, from the server's metrics: SearchIdentities 15.00 ms in the handlers (clients saw 30.00 ms), of which waiting for the call's audit entry 10.00 ms (all calls)\n"
	if got != want {
		t.Errorf("serverShare:\n got %q\nwant %q", got, want)
	}
	// With the 20 ms bucket: 15 of the 20 calls within it, and one of the
	// clients' two latencies over it (20 ms is not over).
	const bucket = `vigie_request_duration_seconds_bucket{procedure="/vigie.v1.IdentityService/SearchIdentities",le="0.02"}`
	before[bucket], after[bucket] = 90, 105
	got = serverShare(before, after, seen)
	want = "mean per call, from the server's metrics: SearchIdentities 15.00 ms in the handlers (clients saw 30.00 ms), 25.0 % over 20 ms in the handlers (clients saw 50.0 %), of which waiting for the call's audit entry 10.00 ms (all calls)\n"
	if got != want {
		t.Errorf("serverShare with buckets:\n got %q\nwant %q", got, want)
	}
	gcBefore := map[string]float64{"vigie_go_gc_cycles_total": 10, "vigie_go_gc_cpu_seconds_total": 1, "process_cpu_seconds_total": 20}
	gcAfter := map[string]float64{"vigie_go_gc_cycles_total": 16, "vigie_go_gc_cpu_seconds_total": 2.5, "process_cpu_seconds_total": 50}
	if got, want := collections(gcBefore, gcAfter, 30*time.Second), "garbage collections during the load: 6, one every 5.0 s, 1.5 s of CPU (5.0 % of the process's)\n"; got != want {
		t.Errorf("collections:\n got %q\nwant %q", got, want)
	}
	if got, want := collections(gcBefore, map[string]float64{"process_cpu_seconds_total": 21}, time.Second), "garbage collections during the load: none\n"; got != want {
		t.Errorf("collections without any: %q, want %q", got, want)
	}
	if got := collections(gcBefore, gcBefore, 30*time.Second); got != "" {
		t.Errorf("collections without the process's CPU: %q", got)
	}
	if got := serverShare(before, before, seen); got != "" {
		t.Errorf("serverShare without calls: %q", got)
	}
}

// collectionEnds gives the collections that ended in the window, and only
// those.
func TestCollectionEnds(t *testing.T) {
	t1 := time.Now()
	runtime.GC()
	runtime.GC()
	at, pauses := collectionEnds(t1, time.Minute)
	if len(at) < 2 || len(pauses) != len(at) {
		t.Fatalf("two forced collections: %d ends, %d pauses", len(at), len(pauses))
	}
	for i, a := range at {
		if a < 0 || a > time.Since(t1) || pauses[i] < 0 {
			t.Errorf("collection %d: ended at %s, paused %s", i, a, pauses[i])
		}
	}
	if at, _ := collectionEnds(time.Now(), time.Minute); len(at) != 0 {
		t.Errorf("a window that starts now holds %d collections", len(at))
	}
	t2 := time.Now()
	runtime.GC()
	if at, _ := collectionEnds(t2, 0); len(at) != 0 {
		t.Errorf("a window of no length holds %d collections", len(at))
	}
}
