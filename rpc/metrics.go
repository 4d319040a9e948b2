package rpc

import (
	"context"
	"io"
	"net/http"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
)

// latencyBuckets are the upper bounds (seconds) of the latency
// histograms, from a search's own work (0.5 ms) to a large DICOM batch
// (10 s), in steps of 1, 2 and 5. They include 20 ms, the search latency
// the region asks for, so that the share of calls over it reads from the
// metrics: 1 - bucket{le="0.02"} / count.
var latencyBuckets = []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10}

// Metrics counts what the server does, through the Prometheus client
// library on a registry of its own: requests by procedure and code, their
// latency, the part of it spent waiting for the audit trail, DICOM ingest
// outcomes, break-the-glass accesses and rate-limited calls, gauges read
// when scraped (review queue, records, identities), the Go and process
// collectors (go_…, process_…) and the runtime's figures under their
// earlier names (vigie_go_…). Labels carry procedure names, codes and
// outcomes only: never a patient identifier, a name or a credential. The
// zero value is not usable; use NewMetrics. A nil *Metrics ignores every
// observation.
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	audit       prometheus.Histogram
	ingest      *prometheus.CounterVec
	breakGlass  prometheus.Counter
	rateLimited *prometheus.CounterVec
	gauges      *gaugeSet
	// repaired counts the answers whose text was repaired to be sent
	// (see repairingCodec).
	repaired atomic.Int64
}

// NewMetrics returns an empty set of metrics.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigie_requests_total",
			Help: "Requests handled, by procedure and result code."}, []string{"procedure", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "vigie_request_duration_seconds",
			Help: "Request latency, by procedure.", Buckets: latencyBuckets}, []string{"procedure"}),
		audit: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "vigie_audit_append_duration_seconds",
			Help: "Time a call waited for its audit entry to be written and synced (part of its request duration).", Buckets: latencyBuckets}),
		ingest: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigie_dicom_files_total",
			Help: "DICOM files submitted (Connect or STOW-RS), by outcome."}, []string{"outcome"}),
		breakGlass: prometheus.NewCounter(prometheus.CounterOpts{Name: "vigie_break_glass_total",
			Help: "Break-the-glass accesses granted (each alerted and in the weekly report)."}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigie_rate_limited_total",
			Help: "Calls refused by the per-credential rate of searches and reads, by procedure."}, []string{"procedure"}),
		gauges: &gaugeSet{byName: map[string]gauge{}},
	}
	for _, o := range []string{"stored", "duplicate", "refused"} {
		m.ingest.WithLabelValues(o)
	}
	m.reg.MustRegister(m.requests, m.latency, m.audit, m.ingest, m.breakGlass, m.rateLimited, m.gauges,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vigie_answers_text_repaired_total",
			Help: "Answers that held stored text that is not valid UTF-8, sent with U+FFFD in its place instead of failing."},
			func() float64 { return float64(m.repaired.Load()) }))
	for _, r := range runtimeSamples {
		read := func() float64 { return readRuntime(r.runtime) }
		if r.counter {
			m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vigie_" + r.name, Help: r.help}, read))
		} else {
			m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigie_" + r.name, Help: r.help}, read))
		}
	}
	return m
}

// Registry is the registry the metrics are on, for a caller that adds
// collectors of its own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// gauge is a value read at every scrape.
type gauge struct {
	desc *prometheus.Desc
	read func(context.Context) (float64, error)
}

// gaugeSet collects the registered gauges; a read error leaves a gauge out
// of that scrape. It is an unchecked collector (it describes nothing), so
// that gauges may be added after it is registered.
type gaugeSet struct {
	mu     sync.Mutex
	byName map[string]gauge
}

func (g *gaugeSet) Describe(chan<- *prometheus.Desc) {}

func (g *gaugeSet) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	list := make([]gauge, 0, len(g.byName))
	for _, x := range g.byName {
		list = append(list, x)
	}
	g.mu.Unlock()
	for _, x := range list {
		v, err := x.read(context.Background())
		if err != nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(x.desc, prometheus.GaugeValue, v)
	}
}

// Gauge registers a value read at every scrape (name without the vigie_
// prefix); registering a name again replaces its reader. A read error
// leaves the gauge out of that scrape.
func (m *Metrics) Gauge(name, help string, read func(context.Context) (float64, error)) {
	m.gauges.mu.Lock()
	defer m.gauges.mu.Unlock()
	m.gauges.byName[name] = gauge{prometheus.NewDesc("vigie_"+name, help, nil, nil), read}
}

// Observe records one finished request: its procedure (a Connect procedure
// path or an HTTP operation), its result code ("ok" or a Connect code) and
// its duration.
func (m *Metrics) Observe(procedure, code string, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(procedure, code).Inc()
	m.latency.WithLabelValues(procedure).Observe(d.Seconds())
}

// ObserveAudit records how long a call waited for its audit entry to be
// written and synced (audit.Log.SetObserver): part of the call's latency
// that Observe records.
func (m *Metrics) ObserveAudit(d time.Duration) {
	if m == nil {
		return
	}
	m.audit.Observe(d.Seconds())
}

// IngestOutcome counts one DICOM file by outcome: stored, duplicate or
// refused.
func (m *Metrics) IngestOutcome(outcome string) {
	if m == nil {
		return
	}
	m.ingest.WithLabelValues(outcome).Inc()
}

// BreakGlass counts one break-the-glass access.
func (m *Metrics) BreakGlass() {
	if m == nil {
		return
	}
	m.breakGlass.Inc()
}

// RateLimited counts one call refused by the rate of searches and reads
// (auth.Limits.Refused).
func (m *Metrics) RateLimited(procedure string) {
	if m == nil {
		return
	}
	m.rateLimited.WithLabelValues(procedure).Inc()
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

// ServeHTTP answers GET /metrics (promhttp: the text format, or what the
// scraper negotiates). A collector that fails leaves its metrics out and
// the rest is served.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, r)
}

// Write writes every metric in the text exposition format, sorted by name
// (tests, and a look without a scraper).
func (m *Metrics) Write(_ context.Context, w io.Writer) error {
	families, err := m.reg.Gather()
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range families {
		if e := enc.Encode(f); e != nil {
			return e
		}
	}
	return err
}

// runtimeSamples are the Go runtime's figures the scrape carries under
// Vigie's own names (its runtime/metrics name, then the scrape's), beside
// the Go collector's go_…: its memory and its garbage collections, which
// every call's latency shares (a collection's marking takes a processor
// from the calls for a tenth of a second or more on a heap of a million
// records). `vigie bench serve` reads them.
var runtimeSamples = []struct {
	runtime, name string
	counter       bool
	help          string
}{
	{"/sched/goroutines:goroutines", "go_goroutines", false, "Goroutines that currently exist."},
	{"/gc/heap/live:bytes", "go_heap_live_bytes", false, "Heap memory the last garbage collection found live."},
	{"/memory/classes/heap/objects:bytes", "go_heap_objects_bytes", false, "Heap memory occupied by objects, live or not yet collected."},
	{"/memory/classes/total:bytes", "go_memory_bytes", false, "Memory the Go runtime has mapped (heap, stacks, its own structures)."},
	{"/gc/cycles/total:gc-cycles", "go_gc_cycles_total", true, "Garbage collections completed since the start."},
	{"/cpu/classes/gc/total:cpu-seconds", "go_gc_cpu_seconds_total", true, "Processor time spent collecting garbage since the start (the runtime's estimate)."},
}

// readRuntime reads one runtime/metrics figure; 0 when this runtime does
// not give it.
func readRuntime(name string) float64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	switch s[0].Value.Kind() {
	case metrics.KindUint64:
		return float64(s[0].Value.Uint64())
	case metrics.KindFloat64:
		return s[0].Value.Float64()
	}
	return 0
}
