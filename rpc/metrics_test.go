package rpc_test

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"vigie/rpc"
)

// metricsText is a scrape, searched line by line.
type metricsText struct{ strings.Builder }

// has reports whether a line of the scrape starts with prefix.
func (m *metricsText) has(prefix string) bool {
	for _, l := range strings.Split(m.String(), "\n") {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

func TestMetricsExposition(t *testing.T) {
	m := rpc.NewMetrics()
	m.Observe("/vigie.v1.IdentityService/ResolveRecord", "ok", 3*time.Millisecond)
	m.Observe("/vigie.v1.IdentityService/ResolveRecord", "ok", 40*time.Millisecond)
	m.Observe("/vigie.v1.IdentityService/ResolveRecord", "invalid_argument", time.Millisecond/2)
	m.Observe(`odd"proc`+"\n", "ok", time.Second)
	m.ObserveAudit(2 * time.Millisecond)
	m.ObserveAudit(30 * time.Millisecond)
	m.IngestOutcome("stored")
	m.IngestOutcome("refused")
	m.IngestOutcome("refused")
	m.BreakGlass()
	m.RateLimited("/vigie.v1.IdentityService/SearchIdentities")
	m.RateLimited("/vigie.v1.IdentityService/SearchIdentities")
	m.Gauge("review_queue", "Pending reviews.", func(context.Context) (float64, error) { return 7, nil })
	m.Gauge("broken", "A gauge that cannot be read.", func(context.Context) (float64, error) { return 0, errors.New("no") })
	var out metricsText
	if err := m.Write(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		line string
		want bool
	}{
		{`vigie_requests_total{code="ok",procedure="/vigie.v1.IdentityService/ResolveRecord"} 2`, true},
		{`vigie_requests_total{code="invalid_argument",procedure="/vigie.v1.IdentityService/ResolveRecord"} 1`, true},
		// Cumulative buckets: 0.5 ms and 3 ms are under 5 ms and 20 ms, 40 ms
		// is not; a bound holds what equals it (0.5 ms).
		{`vigie_request_duration_seconds_bucket{procedure="/vigie.v1.IdentityService/ResolveRecord",le="0.0005"} 1`, true},
		{`vigie_request_duration_seconds_bucket{procedure="/vigie.v1.IdentityService/ResolveRecord",le="0.005"} 2`, true},
		{`vigie_request_duration_seconds_bucket{procedure="/vigie.v1.IdentityService/ResolveRecord",le="0.02"} 2`, true},
		{`vigie_request_duration_seconds_bucket{procedure="/vigie.v1.IdentityService/ResolveRecord",le="0.05"} 3`, true},
		{`vigie_request_duration_seconds_bucket{procedure="/vigie.v1.IdentityService/ResolveRecord",le="+Inf"} 3`, true},
		{`vigie_request_duration_seconds_count{procedure="/vigie.v1.IdentityService/ResolveRecord"} 3`, true},
		{`vigie_requests_total{code="ok",procedure="odd\"proc\n"} 1`, true},
		// The audit waits: one histogram without labels.
		{`vigie_audit_append_duration_seconds_bucket{le="0.002"} 1`, true},
		{`vigie_audit_append_duration_seconds_bucket{le="0.05"} 2`, true},
		{`vigie_audit_append_duration_seconds_sum 0.032`, true},
		{`vigie_audit_append_duration_seconds_count 2`, true},
		{`vigie_dicom_files_total{outcome="refused"} 2`, true},
		{`vigie_dicom_files_total{outcome="duplicate"} 0`, true},
		{`vigie_review_queue 7`, true},
		{`vigie_break_glass_total 1`, true},
		{`vigie_rate_limited_total{procedure="/vigie.v1.IdentityService/SearchIdentities"} 2`, true},
		// The client library's Go and process collectors.
		{`go_goroutines `, true},
		{`go_memstats_heap_alloc_bytes `, true},
		{`process_cpu_seconds_total `, true},
		{`vigie_broken`, false},
	} {
		if got := out.has(tc.line); got != tc.want {
			t.Errorf("line %s present: %v, want %v\n%s", tc.line, got, tc.want, out.String())
		}
	}
	var nilMetrics *rpc.Metrics
	nilMetrics.Observe("x", "ok", time.Millisecond) // must not panic
	nilMetrics.IngestOutcome("stored")
	nilMetrics.ObserveAudit(time.Millisecond)

	// Before any call: the audit histogram is served, empty.
	out.Reset()
	if err := rpc.NewMetrics().Write(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{`vigie_audit_append_duration_seconds_bucket{le="0.001"} 0`, `vigie_audit_append_duration_seconds_count 0`} {
		if !out.has(line) {
			t.Errorf("empty scrape lacks %s\n%s", line, out.String())
		}
	}
}

// TestMetricsRuntime checks the runtime's figures: present, typed, and
// following what the process does.
func TestMetricsRuntime(t *testing.T) {
	m := rpc.NewMetrics()
	scrape := func() map[string]float64 {
		var out metricsText
		if err := m.Write(context.Background(), &out); err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, l := range strings.Split(out.String(), "\n") {
			f := strings.Fields(l)
			if len(f) == 2 && !strings.HasPrefix(l, "#") {
				v, err := strconv.ParseFloat(f[1], 64)
				if err != nil {
					t.Fatalf("line %q: %v", l, err)
				}
				got[f[0]] = v
			}
		}
		for _, typ := range []string{"# TYPE vigie_go_gc_cycles_total counter", "# TYPE vigie_go_heap_live_bytes gauge"} {
			if !out.has(typ) {
				t.Errorf("scrape lacks %q", typ)
			}
		}
		return got
	}
	before := scrape()
	runtime.GC()
	after := scrape()
	if d := after["vigie_go_gc_cycles_total"] - before["vigie_go_gc_cycles_total"]; d < 1 {
		t.Errorf("a collection between two scrapes: cycles went up by %v", d)
	}
	names := []string{"vigie_go_goroutines", "vigie_go_heap_live_bytes", "vigie_go_heap_objects_bytes", "vigie_go_memory_bytes", "process_cpu_seconds_total"}
	if runtime.GOOS == "linux" { // read from /proc
		names = append(names, "process_resident_memory_bytes")
	}
	for _, name := range names {
		if after[name] <= 0 {
			t.Errorf("%s = %v, want > 0", name, after[name])
		}
	}
	if after["vigie_go_memory_bytes"] < after["vigie_go_heap_live_bytes"] {
		t.Errorf("runtime memory %v below the live heap %v", after["vigie_go_memory_bytes"], after["vigie_go_heap_live_bytes"])
	}
	if after["process_cpu_seconds_total"] < before["process_cpu_seconds_total"] {
		t.Errorf("process CPU went back: %v then %v", before["process_cpu_seconds_total"], after["process_cpu_seconds_total"])
	}
}
