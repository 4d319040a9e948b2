package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"vigie/matcher"
	"vigie/rpc"
	v1 "vigie/rpc/gen/vigie/v1"
)

// TestBenchServeClosedAndOpenLoop runs the load test on a small store in
// both modes: every request answered, none failed, every acknowledged
// resolve found after the server stopped, and the open loop's report names
// its offered rate and process CPU per call.
func TestBenchServeClosedAndOpenLoop(t *testing.T) {
	data := t.TempDir()
	feed := genFeed(t, 150, 3)
	if code, out, errs := vigieRun(t, "import", "identities", "--data", data, filepath.Join(feed, "records.csv")); code != 0 {
		t.Fatalf("import: %d\n%s%s", code, out, errs)
	}
	okLine := regexp.MustCompile(`(ResolveRecord|SearchIdentities)\s+(\d+) ok\s+(\d+) errors`)
	// The figures depend on the server's scheduler slots: the report says them.
	procsLine := regexp.MustCompile(`GOMAXPROCS [1-9]\d* on [1-9]\d* cores`)
	// Where the latency went, from the server's own metrics.
	gcLine := regexp.MustCompile(`garbage collections during the load: (none|\d+, one every [\d.]+ s, [\d.]+ s of CPU \([\d.]+ % of the process's\))`)
	shareLine := regexp.MustCompile(`mean per call, from the server's metrics: .*ms in the handlers \(clients saw [\d.]+ ms\).*, of which waiting for the call's audit entry [\d.]+ ms`)
	timeline := filepath.Join(t.TempDir(), "timeline.csv")
	for _, args := range [][]string{
		{"--clients", "4", "--duration", "1s"},
		{"--clients", "8", "--duration", "2s", "--rate", "40", "--timeline", timeline},
	} {
		// Collections during the load, for the timeline to show.
		stopGC := make(chan struct{})
		gcDone := make(chan struct{})
		go func() {
			defer close(gcDone)
			tick := time.NewTicker(200 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stopGC:
					return
				case <-tick.C:
					runtime.GC()
				}
			}
		}()
		code, out, errs := vigieRun(t, append([]string{"bench", "serve", "--data", data, "--seed", "5"}, args...)...)
		close(stopGC)
		<-gcDone
		if code != 0 {
			t.Fatalf("bench serve %v: exit %d\n%s%s", args, code, out, errs)
		}
		if !strings.Contains(out, "missing after restart 0") || !strings.Contains(out, "ms CPU and") || !procsLine.MatchString(out) ||
			!shareLine.MatchString(out) || !gcLine.MatchString(out) {
			t.Errorf("bench serve %v report:\n%s", args, out)
		}
		total := 0
		for _, m := range okLine.FindAllStringSubmatch(out, -1) {
			n, _ := strconv.Atoi(m[2])
			total += n
			if m[3] != "0" {
				t.Errorf("bench serve %v: %s errors", args, m[3])
			}
		}
		open := len(args) > 4
		switch {
		case open && !strings.Contains(out, "open loop: 40 requests/s offered"):
			t.Errorf("open loop report:\n%s", out)
		case open && total+unsentRequests(t, out) != 80:
			// 40/s offered for 2 s: every scheduled request is sent once,
			// or counted as not sent when every client was still busy (a
			// loaded machine); none is lost or sent twice.
			t.Errorf("open loop at 40/s for 2 s answered %d requests and left %d unsent, want 80 in all\n%s", total, unsentRequests(t, out), out)
		case !open && total == 0:
			t.Errorf("closed loop answered nothing:\n%s", out)
		}
		if open {
			checkTimeline(t, timeline, total)
		}
	}
}

// unsentRequests reads how many scheduled requests the open loop's report
// says were not sent.
func unsentRequests(t *testing.T, report string) int {
	t.Helper()
	m := regexp.MustCompile(`; (\d+) scheduled requests not sent`).FindStringSubmatch(report)
	if m == nil {
		t.Fatalf("the open loop's report does not say how many requests were not sent:\n%s", report)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// checkTimeline checks that the timeline holds one row per answered
// request, due within the 2-s load and with a latency, and rows of the
// collections that ended during it.
func checkTimeline(t *testing.T, path string, answered int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != "start_ms,kind,latency_us" {
		t.Fatalf("timeline header: %v", rows)
	}
	requests, collections := 0, 0
	for _, r := range rows[1:] {
		start, err1 := strconv.Atoi(r[0])
		lat, err2 := strconv.Atoi(r[2])
		switch {
		case r[1] == "gc_end" && err1 == nil && err2 == nil && start >= 0 && start < 3000 && lat >= 0:
			collections++ // the load may end up to a second late
		case err1 != nil || err2 != nil || start < 0 || start >= 2000 || lat <= 0 || (r[1] != "resolve" && r[1] != "search"):
			t.Errorf("timeline row %v", r)
		default:
			requests++
		}
	}
	if requests != answered {
		t.Errorf("timeline has %d requests, the report %d", requests, answered)
	}
	if collections == 0 {
		t.Errorf("timeline has no collection, though the test forced some during the load")
	}
}

// The load's fresh records are all ones the server accepts: an invalid
// record would count as an error of the server.
func TestBenchRecordsValid(t *testing.T) {
	recs, err := benchRecords(3000, 11)
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
