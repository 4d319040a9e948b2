package rpc

import (
	"context"
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"

	"vigie"
	"vigie/audit"
	"vigie/auth"
	"vigie/dosimetry"
	"vigie/ledger"
	"vigie/mpi"
	"vigie/rpc/admin"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
	"vigie/search"
	"vigie/sites"
	"vigie/store"
)

// CompressMinBytes is the smallest response the API compresses (when the
// caller accepts gzip). The answers of the hot calls (a resolve, a search
// page) are a few kilobytes: compressing them saves little on a hospital
// network and cost about 5 % of the server's CPU under load (a gzip
// writer's reset dominates), while long lists (review queue, exams) still
// shrink.
const CompressMinBytes = 16 << 10

// MaxRequestBytes bounds a request message of the identity, dose, admin
// and session services: they are small, and a large one is an attack or a
// bug. DICOM submissions have their own bound (MaxDicomBytes). The value
// is vigie.MaxRequestBytes, in the one table of limits.
const MaxRequestBytes = vigie.MaxRequestBytes

// Server assembles every route Vigie serves on one port: the Connect
// services behind authentication, authorisation and audit, STOW-RS, the
// console's sign-in, health, reflection, metrics and the console itself.
// `vigie serve` and the end-to-end tests build the same handler from it,
// so that a test exercises what the region runs.
type Server struct {
	Index  *mpi.Index
	Search *search.Index // nil: SearchIdentities answers unavailable
	Ledger *ledger.Ledger
	// Sites is the registry of establishments (package sites), the one
	// place an authority gets its name: the dose pages, the restricted
	// search answers and AdminService read and manage it (default:
	// sites.Open on the keys' store).
	Sites  *sites.Registry
	Alerts *dosimetry.AlertStore
	Keys   *auth.Keys
	Trail  *audit.Log
	// Authenticator checks bearer tokens (default: Keys alone).
	Authenticator auth.Authenticator
	// Policy is the role table (default: auth.DefaultPolicy).
	Policy auth.Policy
	// Metrics counts calls and ingests (default: a new set).
	Metrics *Metrics
	// SignIn is the console's OpenID Connect sign-in; nil offers none.
	SignIn *auth.SignIn
	// Console serves "/" and what no other route claims; nil: 404.
	Console http.Handler
	// Log receives call logs (debug), failures and refusals.
	Log *slog.Logger
	// Disk is the store's disk guard (store.Guard); nil: /healthz and the
	// metrics say nothing of the disk.
	Disk *store.DiskGuard
	// Access keeps the access codes and break-the-glass accesses
	// (default: auth.NewAccess on the keys' store).
	Access *auth.Access
	// Limits are the abuse limits (rate of reads per credential, backoff
	// of failed authentications); nil: auth.DefaultLimits. NoLimits turns
	// them off (benchmarks).
	Limits   *auth.Limits
	NoLimits bool
	// HealthLines add lines to /healthz after the backup's, one per
	// function (an empty string adds none): what other parts of the
	// server want an operator to see, such as the HL7 outbox's lag. They
	// never change the status.
	HealthLines []func(context.Context) string
	// Backups, when set, adds the last online backup's age to /healthz.
	Backups *Backups
	// MetricsToken is the bearer token GET /metrics asks for (vigie
	// serve --metrics-token-file). Empty: /metrics answers no one. The
	// metrics carry no patient data, but they tell the load, the size of
	// the index and the review queue of a regional service: not for
	// anonymous callers on the API's public address.
	MetricsToken string
	// Doors are the plain HTTP interfaces served beside the Connect
	// services with their access checks (package fhir), by the pattern
	// each is mounted on ("/fhir/").
	Doors map[string]Door
	// NMCoefficients are the nuclear-medicine dose coefficients of the
	// dose history's estimates (nil: the shipped table).
	NMCoefficients *dosimetry.NMCoefficients

	routes []string // the patterns Handler registered (Routes)
}

// Door is a plain HTTP interface that reads patients as the Connect
// services do (FHIR PDQm and PIXm): Mount returns its handler, given the
// Gate (who reads which patient, on what basis) and wrap, which puts an
// operation behind the API's metrics, authentication, role table, rate
// of reads and audit entry, as STOW-RS is (auth.Interceptor.HTTPWith;
// errs writes the refusals, nil as plain text).
type Door interface {
	Mount(gate *Gate, wrap func(operation string, h http.Handler, errs auth.HTTPErrorWriter) http.Handler) http.Handler
}

// Handler returns the server's routes.
func (s *Server) Handler() http.Handler {
	log := s.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	authn := s.Authenticator
	if authn == nil {
		authn = s.Keys
	}
	policy := s.Policy
	if policy == nil {
		policy = auth.DefaultPolicy()
	}
	if s.Metrics == nil {
		s.Metrics = NewMetrics()
	}
	if s.Access == nil {
		s.Access = auth.NewAccess(s.Keys.Store())
	}
	if s.Sites == nil {
		s.Sites = sites.Open(s.Keys.Store())
	}
	if s.Limits == nil && !s.NoLimits {
		s.Limits = auth.DefaultLimits()
	}
	if s.Limits != nil && s.Limits.Refused == nil {
		s.Limits.Refused = s.Metrics.RateLimited
	}
	ic := auth.NewInterceptor(authn, policy, s.Trail, log).WithLimits(s.Limits)
	gate := &Gate{Access: s.Access, Log: log, Metrics: s.Metrics}
	// The codecs repair an answer holding text that is not UTF-8 instead
	// of failing it (see text.go).
	opts := connect.WithHandlerOptions(append(repairingCodecs(&s.Metrics.repaired, log),
		connect.WithInterceptors(s.Metrics.Interceptor(), ic, callLog{log}, requestInterceptor{}), connect.WithReadMaxBytes(MaxRequestBytes),
		connect.WithCompressMinBytes(CompressMinBytes))...)
	ingester := &Ingester{Index: s.Index, Ledger: s.Ledger, Metrics: s.Metrics, Log: log}

	mux := &routeMux{ServeMux: http.NewServeMux()}
	defer func() { s.routes = mux.patterns }()
	mux.Handle(vigiev1connect.NewIdentityServiceHandler(&IdentityService{Index: s.Index, Search: s.Search, Log: log, Gate: gate, Sites: s.Sites}, opts))
	mux.Handle(vigiev1connect.NewDoseServiceHandler(&DoseService{Index: s.Index, Ledger: s.Ledger, Alerts: s.Alerts, Gate: gate, Sites: s.Sites, NM: s.NMCoefficients}, opts))
	mux.Handle(vigiev1connect.NewIngestServiceHandler(&IngestService{Ingester: ingester}, opts,
		connect.WithReadMaxBytes(MaxDicomBytes+1<<20)))
	stow := s.Metrics.HTTP(auth.STOWProcedure, ic.HTTP(auth.STOWProcedure, &STOW{Ingester: ingester}))
	mux.Handle("POST "+STOWPath, stow)
	mux.Handle("POST "+STOWPath+"/{study}", stow)
	mux.Handle(vigiev1connect.NewAdminServiceHandler(&admin.Service{Keys: s.Keys, Trail: s.Trail, Sites: s.Sites, Log: log, InSites: identityInSites(s.Index)}, opts))
	mux.Handle(vigiev1connect.NewAccessServiceHandler(&AccessService{Index: s.Index, Gate: gate}, opts))
	mux.Handle(vigiev1connect.NewSessionServiceHandler(&auth.SessionService{Policy: policy}, opts))
	// Health and reflection carry no patient data: no interceptor.
	services := []string{vigiev1connect.IdentityServiceName, vigiev1connect.DoseServiceName, vigiev1connect.IngestServiceName}
	mux.Handle(grpchealth.NewHandler(grpchealth.NewStaticChecker(services...)))
	reflector := grpcreflect.NewStaticReflector(append(services, vigiev1connect.AdminServiceName, vigiev1connect.SessionServiceName,
		vigiev1connect.AccessServiceName)...)
	mux.Handle(grpcreflect.NewHandlerV1(reflector))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))
	mux.Handle("GET /metrics", requireToken(s.MetricsToken, s.Metrics))
	if s.Disk != nil {
		diskGauges(s.Metrics, s.Disk)
	}
	for pattern, d := range s.Doors {
		mux.Handle(pattern, d.Mount(gate, func(op string, h http.Handler, errs auth.HTTPErrorWriter) http.Handler {
			return s.Metrics.HTTP(op, ic.HTTPWith(op, h, errs))
		}))
	}
	mux.HandleFunc("GET /healthz", s.health)
	mux.HandleFunc("GET /readyz", s.ready)
	mux.Handle("/auth/", s.SignIn.Handler())
	// The console owns "/" and what no route above claims ("GET /" would
	// conflict with the Connect patterns).
	if s.Console != nil {
		mux.Handle("/", s.Console)
	}
	return mux.ServeMux
}

// Routes lists the patterns the last Handler call registered, in order:
// what the authorization matrix test walks, so that a route added without
// a row in it fails the test.
func (s *Server) Routes() []string { return slices.Clone(s.routes) }

// routeMux is a ServeMux that records the patterns it is given.
type routeMux struct {
	*http.ServeMux
	patterns []string
}

func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

func (m *routeMux) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(f))
}

// health answers GET /healthz: "ok", a line on the store's disk when
// its free space is low, one on the last online backup (Backups), and the
// HealthLines. With writes refused (under the reserve) it still
// answers 200, its first line "degraded": the server answers reads, and a
// probe that took it out of service would stop them too; a monitor reads
// the line or the metric vigie_disk_writes_refused. Under the floor, where
// every audited call is refused, it answers 503.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	defer func() { // these lines come last, after the status
		s.Backups.writeHealth(w)
		for _, line := range s.HealthLines {
			if l := line(r.Context()); l != "" {
				fmt.Fprintln(w, l)
			}
		}
	}()
	if s.Disk == nil {
		fmt.Fprintln(w, "ok")
		return
	}
	d := s.Disk.State()
	switch {
	case d.Level >= store.DiskExhausted:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "unavailable: the store's disk is exhausted, every audited call is refused\ndisk: %s\n", d)
	case d.WritesRefused():
		fmt.Fprintf(w, "degraded: writes refused, reads answered\ndisk: %s\n", d)
	case d.Low():
		fmt.Fprintf(w, "ok\ndisk: %s\n", d)
	default:
		fmt.Fprintln(w, "ok")
	}
}

// diskGauges registers the disk guard's figures with the metrics: free
// space and reserve in bytes, and 0/1 flags for low (under twice the
// reserve) and writes refused (under the reserve), to alert on.
func diskGauges(m *Metrics, g *store.DiskGuard) {
	m.Gauge("disk_free_bytes", "Free space of the store's filesystem, as last measured (every second).", func(context.Context) (float64, error) {
		d := g.State()
		return float64(d.Free), d.Err
	})
	m.Gauge("disk_reserve_bytes", "Free space under which writes are refused.", func(context.Context) (float64, error) {
		return float64(g.Reserve()), nil
	})
	m.Gauge("disk_low", "1 while the free space is under twice the reserve (writes refused soon), else 0.", func(context.Context) (float64, error) {
		return flag(g.State().Low()), nil
	})
	m.Gauge("disk_writes_refused", "1 while writes are refused because the free space is under the reserve, else 0.", func(context.Context) (float64, error) {
		return flag(g.State().WritesRefused()), nil
	})
}

func flag(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// ready answers GET /readyz: 200 once the derived data the answers use
// has caught up with the store (the search index), 503 with the reason
// before. The server listens and answers everything else from the start
// (see README, "Start-up"): a load balancer may route searches elsewhere
// until then.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	switch {
	case s.Search == nil:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready: the search index is not open")
	case !s.Search.Ready():
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready: the search index is catching up with the patient index")
	default:
		fmt.Fprintln(w, "ready")
	}
}

// requireToken serves next only to callers presenting the bearer token;
// an empty token lets no one in.
func requireToken(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if token == "" || !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vigie metrics"`)
			http.Error(w, "the metrics need the bearer token of vigie serve --metrics-token-file", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// callLog logs every call at debug level, and at error level the calls that
// failed with internal or unknown: procedure, result, duration, the
// caller's name and role, and the cause of an internal error (auth.Internal):
// the one place an internal error of a handler is logged. Never a request
// field: no patient data in logs.
type callLog struct{ log *slog.Logger }

func (l callLog) entry(ctx context.Context, proc string, t0 time.Time, err error) {
	level, code := slog.LevelDebug, "ok"
	if err != nil {
		code = connect.CodeOf(err).String()
		if c := connect.CodeOf(err); c == connect.CodeInternal || c == connect.CodeUnknown {
			level = slog.LevelError
		}
	}
	if !l.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{slog.String("request", auth.RequestID(ctx)), slog.String("procedure", proc), slog.String("code", code),
		slog.Float64("ms", float64(time.Since(t0).Microseconds())/1000)}
	if p, ok := auth.PrincipalFrom(ctx); ok {
		attrs = append(attrs, slog.String("principal", p.Name), slog.String("role", string(p.Role)))
	}
	// The one log line of an internal error: its cause (identifiers and
	// the store's words, never a request field), with the request id.
	if cause := auth.InternalCause(err); cause != nil {
		attrs = append(attrs, slog.String("error", cause.Error()))
	}
	l.log.LogAttrs(ctx, level, "call", attrs...)
}

func (l callLog) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		t0 := time.Now()
		resp, err := next(ctx, req)
		if !req.Spec().IsClient {
			l.entry(ctx, req.Spec().Procedure, t0, err)
		}
		return resp, err
	}
}

func (l callLog) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (l callLog) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		t0 := time.Now()
		err := next(ctx, conn)
		l.entry(ctx, conn.Spec().Procedure, t0, err)
		return err
	}
}

// requestInterceptor gives the handlers the request's headers and
// procedure (withRequest): the Gate reads a clinician's access code and
// break-the-glass reason there.
type requestInterceptor struct{}

func (requestInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		return next(withRequest(ctx, req), req)
	}
}

func (requestInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (requestInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}
