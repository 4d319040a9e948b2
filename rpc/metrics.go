package rpc

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"connectrpc.com/connect"
)

// latencyBuckets are the upper bounds (seconds) of the latency
// histograms, from a search's own work (0.5 ms) to a large DICOM batch
// (10 s), in steps of 1, 2 and 5. They include 20 ms, the search latency
// the region asks for, so that the share of calls over it reads from the
// metrics: 1 - bucket{le="0.02"} / count.
var latencyBuckets = []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10}

// Metrics counts what the server does, in the Prometheus text exposition
// format (version 0.0.4), written with the standard library only: requests
// by procedure and code, their latency, the part of it spent waiting for
// the audit trail, DICOM ingest outcomes, gauges read when scraped
// (review queue, records, identities), and the Go runtime's memory and
// garbage collections with the process's CPU time. Labels carry
// procedure names, codes and outcomes only: never a patient identifier,
// a name or a credential. The zero value is not usable; use NewMetrics.
// A nil *Metrics ignores every observation.
type Metrics struct {
	mu       sync.Mutex
	requests map[reqKey]uint64
	latency  map[string]*histogram
	audit    histogram // waits for audit entries (see ObserveAudit)
	ingest   map[string]uint64
	gauges   []gauge
	// repaired counts the answers whose text was repaired to be sent
	// (see repairingCodec).
	repaired atomic.Int64
}

type reqKey struct{ procedure, code string }

// histogram counts durations in latencyBuckets.
type histogram struct {
	counts []uint64 // per bucket, not cumulative; nil until the first
	sum    float64
	n      uint64
}

func (h *histogram) add(d time.Duration) {
	if h.counts == nil {
		h.counts = make([]uint64, len(latencyBuckets)+1)
	}
	s := d.Seconds()
	i, _ := slices.BinarySearch(latencyBuckets, s)
	h.counts[i]++
	h.sum += s
	h.n++
}

// write writes h as the histogram name, with labels ("" or `key="value",`
// pairs ending in a comma) on every line.
func (h *histogram) write(b *strings.Builder, name, labels string) {
	var cum uint64
	for i, le := range latencyBuckets {
		if h.counts != nil {
			cum += h.counts[i]
		}
		fmt.Fprintf(b, "%s_bucket{%sle=\"%s\"} %d\n", name, labels, strconv.FormatFloat(le, 'g', -1, 64), cum)
	}
	fmt.Fprintf(b, "%s_bucket{%sle=\"+Inf\"} %d\n", name, labels, h.n)
	labels = strings.TrimSuffix(labels, ",")
	if labels != "" {
		labels = "{" + labels + "}"
	}
	fmt.Fprintf(b, "%s_sum%s %s\n", name, labels, formatFloat(h.sum))
	fmt.Fprintf(b, "%s_count%s %d\n", name, labels, h.n)
}

type gauge struct {
	name, help string
	read       func(context.Context) (float64, error)
}

// NewMetrics returns an empty set of metrics.
func NewMetrics() *Metrics {
	return &Metrics{requests: map[reqKey]uint64{}, latency: map[string]*histogram{}, ingest: map[string]uint64{}}
}

// Gauge registers a value read at every scrape (name without the vigie_
// prefix). A read error leaves the gauge out of that scrape.
func (m *Metrics) Gauge(name, help string, read func(context.Context) (float64, error)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gauges = append(m.gauges, gauge{name, help, read})
}

// Observe records one finished request: its procedure (a Connect procedure
// path or an HTTP operation), its result code ("ok" or a Connect code) and
// its duration.
func (m *Metrics) Observe(procedure, code string, d time.Duration) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[reqKey{procedure, code}]++
	h := m.latency[procedure]
	if h == nil {
		h = &histogram{}
		m.latency[procedure] = h
	}
	h.add(d)
}

// ObserveAudit records how long a call waited for its audit entry to be
// written and synced (audit.Log.SetObserver): part of the call's latency
// that Observe records.
func (m *Metrics) ObserveAudit(d time.Duration) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.audit.add(d)
}

// IngestOutcome counts one DICOM file by outcome: stored, duplicate or
// refused.
func (m *Metrics) IngestOutcome(outcome string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ingest[outcome]++
}

func codeOf(err error) string {
	if err == nil {
		return "ok"
	}
	return connect.CodeOf(err).String()
}

// Interceptor returns a Connect interceptor that observes every handler
// call. Put it outside the authenticating interceptor so that refused and
// unauthenticated calls are counted too.
func (m *Metrics) Interceptor() connect.Interceptor { return metricsInterceptor{m} }

type metricsInterceptor struct{ m *Metrics }

func (i metricsInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		t0 := time.Now()
		resp, err := next(ctx, req)
		i.m.Observe(req.Spec().Procedure, codeOf(err), time.Since(t0))
		return resp, err
	}
}

func (i metricsInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i metricsInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		t0 := time.Now()
		err := next(ctx, conn)
		i.m.Observe(conn.Spec().Procedure, codeOf(err), time.Since(t0))
		return err
	}
}

// HTTP observes a plain HTTP handler (STOW-RS) under operation; the code
// is "ok" below 400, else "http_<status>".
func (m *Metrics) HTTP(operation string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		code := "ok"
		if sw.status >= 400 {
			code = "http_" + strconv.Itoa(sw.status)
		}
		m.Observe(operation, code, time.Since(t0))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// ServeHTTP answers GET /metrics.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_ = m.Write(r.Context(), w)
}

// Write writes every metric in the text exposition format, sorted so that
// two scrapes compare line by line.
func (m *Metrics) Write(ctx context.Context, w io.Writer) error {
	m.mu.Lock()
	var b strings.Builder
	b.WriteString("# HELP vigie_requests_total Requests handled, by procedure and result code.\n# TYPE vigie_requests_total counter\n")
	keys := make([]reqKey, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b reqKey) int {
		if c := strings.Compare(a.procedure, b.procedure); c != 0 {
			return c
		}
		return strings.Compare(a.code, b.code)
	})
	for _, k := range keys {
		fmt.Fprintf(&b, "vigie_requests_total{procedure=%s,code=%s} %d\n", quote(k.procedure), quote(k.code), m.requests[k])
	}
	b.WriteString("# HELP vigie_request_duration_seconds Request latency, by procedure.\n# TYPE vigie_request_duration_seconds histogram\n")
	procs := make([]string, 0, len(m.latency))
	for p := range m.latency {
		procs = append(procs, p)
	}
	slices.Sort(procs)
	for _, p := range procs {
		m.latency[p].write(&b, "vigie_request_duration_seconds", "procedure="+quote(p)+",")
	}
	b.WriteString("# HELP vigie_audit_append_duration_seconds Time a call waited for its audit entry to be written and synced (part of its request duration).\n# TYPE vigie_audit_append_duration_seconds histogram\n")
	m.audit.write(&b, "vigie_audit_append_duration_seconds", "")
	b.WriteString("# HELP vigie_dicom_files_total DICOM files submitted (Connect or STOW-RS), by outcome.\n# TYPE vigie_dicom_files_total counter\n")
	outcomes := []string{"stored", "duplicate", "refused"}
	for o := range m.ingest {
		if !slices.Contains(outcomes, o) {
			outcomes = append(outcomes, o)
		}
	}
	for _, o := range outcomes {
		fmt.Fprintf(&b, "vigie_dicom_files_total{outcome=%s} %d\n", quote(o), m.ingest[o])
	}
	gauges := slices.Clone(m.gauges)
	m.mu.Unlock()
	writeSample(&b, "vigie_answers_text_repaired_total", "counter",
		"Answers that held stored text that is not valid UTF-8, sent with U+FFFD in its place instead of failing.", strconv.FormatInt(m.repaired.Load(), 10))
	for _, g := range gauges {
		v, err := g.read(ctx)
		if err != nil {
			continue
		}
		writeSample(&b, "vigie_"+g.name, "gauge", g.help, formatFloat(v))
	}
	writeRuntime(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

// runtimeSamples are the Go runtime's figures the scrape carries (its
// runtime/metrics name, then the scrape's): its memory and its garbage
// collections, which every call's latency shares (a collection's marking
// takes a processor from the calls for a tenth of a second or more on a
// heap of a million records).
var runtimeSamples = []struct{ runtime, name, kind, help string }{
	{"/sched/goroutines:goroutines", "go_goroutines", "gauge", "Goroutines that currently exist."},
	{"/gc/heap/live:bytes", "go_heap_live_bytes", "gauge", "Heap memory the last garbage collection found live."},
	{"/memory/classes/heap/objects:bytes", "go_heap_objects_bytes", "gauge", "Heap memory occupied by objects, live or not yet collected."},
	{"/memory/classes/total:bytes", "go_memory_bytes", "gauge", "Memory the Go runtime has mapped (heap, stacks, its own structures)."},
	{"/gc/cycles/total:gc-cycles", "go_gc_cycles_total", "counter", "Garbage collections completed since the start."},
	{"/cpu/classes/gc/total:cpu-seconds", "go_gc_cpu_seconds_total", "counter", "Processor time spent collecting garbage since the start (the runtime's estimate)."},
}

// writeRuntime writes the runtime's figures (vigie_go_…) and the process's
// CPU time and resident memory (the usual process_… names); a figure this
// platform does not give is left out.
func writeRuntime(b *strings.Builder) {
	samples := make([]metrics.Sample, len(runtimeSamples))
	for i, r := range runtimeSamples {
		samples[i].Name = r.runtime
	}
	metrics.Read(samples)
	for i, r := range runtimeSamples {
		var v float64
		switch samples[i].Value.Kind() {
		case metrics.KindUint64:
			v = float64(samples[i].Value.Uint64())
		case metrics.KindFloat64:
			v = samples[i].Value.Float64()
		default:
			continue
		}
		writeSample(b, "vigie_"+r.name, r.kind, r.help, formatFloat(v))
	}
	if cpu, ok := processCPU(); ok {
		writeSample(b, "process_cpu_seconds_total", "counter", "User and system CPU time of the process.", formatFloat(cpu.Seconds()))
	}
	if rss, ok := residentBytes(); ok {
		writeSample(b, "process_resident_memory_bytes", "gauge", "Resident memory of the process.", strconv.FormatInt(rss, 10))
	}
}

// writeSample writes a metric of one unlabelled sample with its help and
// type lines.
func writeSample(b *strings.Builder, name, kind, help, value string) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n%s %s\n", name, help, name, kind, name, value)
}

// residentBytes reads the process's resident memory from /proc (Linux).
func residentBytes() (int64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * int64(os.Getpagesize()), true
}

// processCPU is the process's user and system CPU time.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// quote writes a label value with the escapes of the text format.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
