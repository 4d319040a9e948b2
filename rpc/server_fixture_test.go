package rpc_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"vigie/audit"
	"vigie/auth"
	"vigie/dosimetry"
	"vigie/internal/sharedtest"
	"vigie/ledger"
	"vigie/matcher"
	"vigie/mpi"
	"vigie/rpc"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
	"vigie/search"
	"vigie/store"
)

// Assigning authorities of the fixture's two sites.
const (
	siteA = "1.2.250.1.213.1.1.1.3"
	siteB = "1.2.250.1.213.1.1.1.9"
)

// serverFixture serves the API (rpc.Server) over a real in-memory store
// and search index, behind the authenticating and auditing interceptor, on
// loopback, with one API key per role (and per site for scoped roles).
type serverFixture struct {
	url     string
	client  *http.Client
	tokens  map[string]string
	trail   *audit.Log
	ledger  *ledger.Ledger
	index   *mpi.Index
	alerts  *dosimetry.AlertStore
	metrics *rpc.Metrics
	// disk is the store's disk guard: set only by newServerFixtureDisk.
	disk *store.DiskGuard
	// follow does what the server's follower does every interval: index
	// what was resolved since.
	follow func()
	// api is the server the fixture serves (tests build variants of it).
	api *rpc.Server
	// logs holds what the server logged (JSON lines).
	logs *lockedBuffer
}

// lockedBuffer is a bytes.Buffer the server's goroutines may log to.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fixtureMetricsToken is the bearer token of the fixture's /metrics.
const fixtureMetricsToken = "metrics-secret"

func newServerFixture(t testing.TB) *serverFixture {
	t.Helper()
	return newServerFixtureDisk(t, nil)
}

// newServerFixtureDisk is newServerFixture with a disk guard measuring
// free (the guard's seam) when free is not nil.
func newServerFixtureDisk(t testing.TB, free func(dir string) (int64, error)) *serverFixture {
	t.Helper()
	db, err := store.Open("", store.Options{InMemory: true, FreeSpace: free})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ix, err := mpi.Open(db, matcher.DefaultModel(), mpi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	trail, err := audit.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	keys := auth.NewKeys(db)
	sx, err := search.Open("", ix.Model(), search.Options{Population: func() int { return max(ix.Count(), 10000) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sx.Close() })
	f := &serverFixture{tokens: map[string]string{}, trail: trail, ledger: ledger.Open(db), index: ix,
		alerts: dosimetry.OpenAlerts(db), metrics: rpc.NewMetrics(), disk: store.Guard(db)}
	f.follow = func() {
		if _, err := sx.CatchUp(context.Background(), ix); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []struct {
		name string
		role auth.Role
		auth []string
	}{
		{"pacs-a", auth.RoleIngest, []string{siteA}},
		{"pacs-b", auth.RoleIngest, []string{siteB}},
		{"pacs-ab", auth.RoleIngest, []string{siteA, siteB}},
		{"dr-martin", auth.RoleClinician, []string{siteA, siteB}},
		{"dr-a", auth.RoleClinician, []string{siteA}},
		{"iv-team", auth.RoleRegionalVigilance, nil},
		{"iv-a", auth.RoleVigilance, []string{siteA}},
		{"iv-b", auth.RoleVigilance, []string{siteB}},
		{"physicist-a", auth.RolePhysicist, []string{siteA}},
		{"physicist-b", auth.RolePhysicist, []string{siteB}},
		{"admin", auth.RoleAdmin, nil},
		{"admin-2", auth.RoleAdmin, nil},
	} {
		secret, _, err := keys.Create(k.role, k.auth, k.name, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[k.name] = secret
	}
	// The server's follower has caught up once before the tests call
	// (see TestReadiness for the time before).
	f.follow()
	f.logs = &lockedBuffer{}
	api := &rpc.Server{Index: ix, Search: sx, Ledger: f.ledger, Alerts: f.alerts, Keys: keys, Trail: trail, Metrics: f.metrics,
		MetricsToken: fixtureMetricsToken, Disk: f.disk, NoLimits: true, Log: slog.New(slog.NewJSONHandler(f.logs, nil))}
	f.api = api
	srv := httptest.NewUnstartedServer(api.Handler())
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	f.url, f.client = srv.URL, srv.Client()
	return f
}

func (f *serverFixture) identity(who string) vigiev1connect.IdentityServiceClient {
	return vigiev1connect.NewIdentityServiceClient(f.client, f.url, connect.WithInterceptors(bearer(f.tokens[who])))
}

func (f *serverFixture) dose(who string) vigiev1connect.DoseServiceClient {
	return vigiev1connect.NewDoseServiceClient(f.client, f.url, connect.WithInterceptors(bearer(f.tokens[who])))
}

func (f *serverFixture) ingest(who string) vigiev1connect.IngestServiceClient {
	return vigiev1connect.NewIngestServiceClient(f.client, f.url, connect.WithInterceptors(bearer(f.tokens[who]), streamBearer(f.tokens[who])))
}

// ledgerCount counts the exams in the ledger.
func (f *serverFixture) ledgerCount(t *testing.T) int {
	t.Helper()
	n := 0
	if err := f.ledger.Each(t.Context(), func(*ledger.Entry) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// audited reports whether the trail holds an entry of principal on
// operation with the given result, naming identity (when not empty).
func (f *serverFixture) audited(t *testing.T, principal, operation, result, identity string) bool {
	t.Helper()
	entries, err := f.trail.ByUser(principal, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Operation == operation && e.Result == result && (identity == "" || slices.Contains(e.Identities, identity)) {
			return true
		}
	}
	return false
}

// lastEntry is the newest audit entry of a principal.
func (f *serverFixture) lastEntry(t *testing.T, who string) audit.Entry {
	t.Helper()
	entries, err := f.trail.ByUser(who, 1)
	if err != nil || len(entries) == 0 {
		t.Fatalf("audit of %s: %v %v", who, entries, err)
	}
	return entries[0]
}

// streamBearer adds the Authorization header to client streams.
func streamBearer(token string) connect.Interceptor { return streamAuth(token) }

type streamAuth string

func (s streamAuth) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc { return next }
func (s streamAuth) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		conn.RequestHeader().Set("Authorization", "Bearer "+string(s))
		conn.RequestHeader().Set(auth.PurposeHeader, "care")
		return conn
	}
}
func (s streamAuth) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// dicomFile reads a file of the shared DICOM folder.
func dicomFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedtest.Path(t, "dicom"), rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withIssuer returns a shared file with IssuerOfPatientID set, as a site
// that fills it sends it.
func withIssuer(t *testing.T, rel, issuer string) []byte {
	t.Helper()
	ds, err := dicom.ParseFile(filepath.Join(sharedtest.Path(t, "dicom"), rel), nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := dicom.NewElement(tag.IssuerOfPatientID, []string{issuer})
	if err != nil {
		t.Fatal(err)
	}
	ds.Elements = append(ds.Elements, e)
	slices.SortStableFunc(ds.Elements, func(a, b *dicom.Element) int {
		if a.Tag.Group != b.Tag.Group {
			return int(a.Tag.Group) - int(b.Tag.Group)
		}
		return int(a.Tag.Element) - int(b.Tag.Element)
	})
	var buf bytes.Buffer
	if err := dicom.Write(&buf, ds, dicom.SkipVRVerification()); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
