package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	"vigie/auth"
	"vigie/auth/authtest"
	"vigie/matcher"
	"vigie/mpi"
	v1 "vigie/rpc/gen/vigie/v1"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
	"vigie/store"
)

// syncBuffer is a buffer the server and the test may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runningServer is a `vigie serve` started in-process on 127.0.0.1:0.
type runningServer struct {
	addr   string
	stdout *syncBuffer
	logs   *syncBuffer
	stop   context.CancelFunc
	done   chan error
	// searchReady is closed once the search index has caught up (see
	// waitSearch).
	searchReady chan struct{}
}

// waitSearch waits until the server's search index has caught up with
// the patient index, which it does in the background after listening.
func (s *runningServer) waitSearch(t *testing.T) {
	t.Helper()
	select {
	case <-s.searchReady:
	case err := <-s.done:
		t.Fatalf("serve ended before its search index caught up: %v\n%s", err, s.logs.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("the search index did not catch up within 2 minutes:\n%s", s.logs.String())
	}
}

func startServe(t testing.TB, c serveConfig) *runningServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &runningServer{stdout: &syncBuffer{}, logs: &syncBuffer{}, stop: cancel, done: make(chan error, 1), searchReady: make(chan struct{})}
	ready := make(chan string, 1)
	c.Listener, c.Ready, c.Stdout = ln, func(a string) { ready <- a }, s.stdout
	c.SearchReady = sync.OnceFunc(func() { close(s.searchReady) })
	c.Log = slog.New(slog.NewJSONHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	go func() { s.done <- serve(ctx, c) }()
	select {
	case s.addr = <-ready:
	case err := <-s.done:
		cancel()
		t.Fatalf("serve ended before listening: %v\n%s", err, s.logs.String())
	case <-time.After(2 * time.Minute):
		cancel()
		t.Fatal("serve did not start within 2 minutes")
	}
	t.Cleanup(func() { s.shutdown(t) })
	return s
}

// shutdown cancels the server's context (what SIGTERM does) and waits for
// serve to return.
func (s *runningServer) shutdown(t testing.TB) {
	t.Helper()
	if s.stop == nil {
		return
	}
	s.stop()
	s.stop = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("serve returned %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("serve did not stop within a minute of its shutdown")
	}
}

// demoKey returns the secret printed for a demonstration role.
func demoKey(t *testing.T, stdout, role string) string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 4 && f[0] == "DEMO" && f[1] == role {
			return f[3]
		}
	}
	t.Fatalf("no DEMO key for %s in:\n%s", role, stdout)
	return ""
}

// h2c is a client speaking HTTP/2 without TLS, as gRPC clients do.
func h2cClient() *http.Client {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: p, TLSClientConfig: &tls.Config{}}, Timeout: 30 * time.Second}
}

func withToken(token string) connect.ClientOption {
	return connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", "Bearer "+token)
			return next(ctx, req)
		}
	}))
}

func TestServeDemoRPCAndShutdown(t *testing.T) {
	data := t.TempDir()
	s := startServe(t, serveConfig{Data: data, Demo: true, DemoPersons: 60, MetricsToken: "serve-test-metrics"})
	base := "http://" + s.addr
	ctx := context.Background()
	s.waitSearch(t)

	// Health, without credentials: the plain check and the gRPC one.
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// Its first line is the status; the last says no backup ran yet.
	if first, _, _ := strings.Cut(string(b), "\n"); resp.StatusCode != http.StatusOK || first != "ok" || !strings.Contains(string(b), "\nbackup: none since the start") {
		t.Fatalf("healthz: %d %q", resp.StatusCode, b)
	}
	resp, err = http.Post(base+"/grpc.health.v1.Health/Check", "application/json", strings.NewReader(`{"service":"vigie.v1.DoseService"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "SERVING") {
		t.Fatalf("grpc health: %d %s", resp.StatusCode, b)
	}

	// The demonstration keys work, over gRPC on h2c and over Connect on
	// HTTP/1.1, on the same port.
	iv := vigiev1connect.NewIdentityServiceClient(h2cClient(), base, connect.WithGRPC(), withToken(demoKey(t, s.stdout.String(), "regional_vigilance")))
	g, err := iv.GetIdentity(ctx, connect.NewRequest(&v1.GetIdentityRequest{IdentityId: "1"}))
	if err != nil {
		t.Fatalf("GetIdentity over gRPC: %v", err)
	}
	gold := g.Msg.GetIdentity().GetGolden()
	doctor := vigiev1connect.NewIdentityServiceClient(http.DefaultClient, base, withToken(demoKey(t, s.stdout.String(), "clinician")))
	found, err := doctor.SearchIdentities(ctx, connect.NewRequest(&v1.SearchIdentitiesRequest{Traits: &v1.SearchTraits{
		Name: gold.GetBirthName(), FirstNames: gold.GetFirstNames(), BirthDate: gold.GetBirthDate()}}))
	if err != nil || len(found.Msg.GetResults()) == 0 {
		t.Fatalf("SearchIdentities: %v %v", found, err)
	}
	if _, err := doctor.GetIdentity(ctx, connect.NewRequest(&v1.GetIdentityRequest{IdentityId: "1"})); err != nil {
		// Identity 1 may have no record at the demo clinician's site:
		// then it needs a basis, and breaks the glass.
		if connect.CodeOf(err) != connect.CodePermissionDenied {
			t.Fatalf("clinician GetIdentity: %v", err)
		}
		req := connect.NewRequest(&v1.GetIdentityRequest{IdentityId: "1"})
		req.Header().Set(auth.BreakGlassHeader, url.PathEscape("démonstration : patient vu aux urgences"))
		if _, err := doctor.GetIdentity(ctx, req); err != nil {
			t.Fatalf("clinician GetIdentity breaking the glass: %v", err)
		}
	}
	if _, err := vigiev1connect.NewIdentityServiceClient(http.DefaultClient, base).GetIdentity(ctx,
		connect.NewRequest(&v1.GetIdentityRequest{IdentityId: "1"})); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("without a token: %v", err)
	}
	// The demo has dose reports for someone.
	dose := vigiev1connect.NewDoseServiceClient(http.DefaultClient, base, withToken(demoKey(t, s.stdout.String(), "clinician")))
	withExams := 0
	for id := 1; id <= 20; id++ {
		h, err := dose.GetDoseHistory(ctx, connect.NewRequest(&v1.GetDoseHistoryRequest{IdentityId: strconv.Itoa(id)}))
		if err == nil {
			hh := h.Msg.GetHistory()
			if len(hh.GetCt())+len(hh.GetRadiology())+len(hh.GetMammography())+len(hh.GetNuclearMedicine()) > 0 {
				withExams++
			}
		}
	}
	if withExams == 0 {
		t.Error("no demonstration identity among the first 20 has a dose history")
	}

	// A write through the API, acknowledged before the shutdown.
	ingest := vigiev1connect.NewIdentityServiceClient(h2cClient(), base, withToken(demoKey(t, s.stdout.String(), "ingest")))
	authority := strings.TrimSuffix(s.stdout.String()[strings.Index(s.stdout.String(), "(authority ")+len("(authority "):], "\n")
	authority = authority[:strings.Index(authority, ")")]
	res, err := ingest.ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: &v1.SourceRecord{
		Authority: authority, LocalId: "SERVE-TEST-1", BirthName: "ETCHEVERRY", FirstNames: "MAITE", BirthDate: "1968-05-21", Sex: "F"}}))
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := http.Get(base + "/metrics"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous /metrics: %v %v, want 401", resp, err)
	} else {
		resp.Body.Close()
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer serve-test-metrics")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`vigie_requests_total{code="ok",procedure="/vigie.v1.IdentityService/ResolveRecord"} 1`,
		`vigie_requests_total{code="unauthenticated",procedure="/vigie.v1.IdentityService/GetIdentity"} 1`, "vigie_source_records ", "vigie_review_queue ", "vigie_store_syncs "} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q:\n%s", want, b)
		}
	}
	// Commits are synced in groups, and the write above waited for one.
	if m := regexp.MustCompile(`(?m)^vigie_store_syncs (\d+)$`).FindSubmatch(b); m == nil || string(m[1]) == "0" {
		t.Errorf("no store sync counted after an acknowledged write: %q", m)
	}
	// Every audited call's wait for its entry is counted, and none is
	// waiting once answered.
	if m := regexp.MustCompile(`(?m)^vigie_audit_append_duration_seconds_count (\d+)$`).FindSubmatch(b); m == nil || string(m[1]) == "0" {
		t.Errorf("no audit wait counted after audited calls: %q", m)
	}
	if !regexp.MustCompile(`(?m)^vigie_audit_waiting 0$`).Match(b) {
		t.Errorf("metrics: calls still waiting for their audit entry, or no gauge:\n%s", b)
	}
	// The index's gauges are there (its postings written by now, or
	// about to be), and nothing failed.
	if !regexp.MustCompile(`(?m)^vigie_audit_index_buffered \d+$`).Match(b) ||
		!regexp.MustCompile(`(?m)^vigie_audit_index_failing 0$`).Match(b) {
		t.Errorf("metrics: the audit index's gauges are missing or wrong:\n%s", b)
	}
	if !strings.Contains(s.logs.String(), `"procedure":"/vigie.v1.IdentityService/ResolveRecord","code":"ok"`) ||
		!strings.Contains(s.logs.String(), `"principal":"demo-ingest"`) {
		t.Errorf("the call is not in the debug log:\n%s", s.logs.String())
	}
	if strings.Contains(string(b), "ETCHEVERRY") || strings.Contains(s.logs.String(), "ETCHEVERRY") || strings.Contains(s.logs.String(), "vgk_") {
		t.Error("a name or a secret reached the metrics or the logs")
	}

	s.shutdown(t)
	if !strings.Contains(s.logs.String(), "vigie stopped") {
		t.Errorf("no clean stop in the logs:\n%s", s.logs.String())
	}
	// The store is closed (it opens again) and holds the acknowledged write.
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatalf("reopen after shutdown: %v", err)
	}
	ix, err := mpi.Open(db, matcher.DefaultModel(), mpi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	id, err := ix.IdentityOf(ctx, authority, "SERVE-TEST-1")
	ix.Close()
	// Every key the demo, the calls and the trail wrote is under a
	// prefix registered in store.Prefixes.
	stray, serr := store.Unregistered(db, 10)
	db.Close()
	if err != nil || id.String() != res.Msg.GetIdentityId() {
		t.Fatalf("acknowledged record after restart: %v %v", id, err)
	}
	if serr != nil || len(stray) > 0 {
		t.Errorf("keys under no registered prefix (store/keys.go): %v %v", stray, serr)
	}

	// --demo again: the store is not empty, nothing is loaded.
	s2 := startServe(t, serveConfig{Data: data, Demo: true, DemoPersons: 60})
	// It says so on stdout, with the command that makes a key, and
	// prints no key.
	out2 := s2.stdout.String()
	if strings.Contains(out2, "vgk_") || !strings.Contains(s2.logs.String(), "demo skipped") ||
		!strings.Contains(out2, "no API key created") || !strings.Contains(out2, "vigie token create --data "+data) {
		t.Errorf("--demo on a non-empty store:\n%s\n%s", out2, s2.logs.String())
	}
	s2.shutdown(t)
}

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vigie test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(crand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestServeTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	s := startServe(t, serveConfig{Data: t.TempDir(), TLSCert: certFile, TLSKey: keyFile})
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}, Timeout: 30 * time.Second}
	base := "https://" + s.addr
	resp, err := hc.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Errorf("healthz over TLS: %d %s, want 200 over HTTP/2", resp.StatusCode, resp.Proto)
	}
	// gRPC and gRPC-Web reach the handlers (and their authentication).
	for name, opt := range map[string]connect.ClientOption{"grpc": connect.WithGRPC(), "grpc-web": connect.WithGRPCWeb()} {
		c := vigiev1connect.NewDoseServiceClient(hc, base, opt)
		_, err := c.GetDoseHistory(context.Background(), connect.NewRequest(&v1.GetDoseHistoryRequest{IdentityId: "1"}))
		if connect.CodeOf(err) != connect.CodeUnauthenticated {
			t.Errorf("%s without a token: %v, want unauthenticated", name, err)
		}
	}
	// Plain HTTP to the TLS port is refused.
	if resp, err := http.Get("http://" + s.addr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP served on the TLS port")
		}
	}
}

// TestServeOIDC: with an issuer, serve accepts its JWTs beside API keys
// and offers the console's sign-in, whose redirect goes to the issuer for
// the configured client.
func TestServeOIDC(t *testing.T) {
	issuer := authtest.NewIssuer(t, nil)
	s := startServe(t, serveConfig{Data: t.TempDir(), OIDCIssuer: issuer.URL, OIDCAudience: "vigie-console", OIDCClientSecret: issuer.Secret})
	base := "http://" + s.addr
	resp, err := http.Get(base + "/auth/config")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		OIDC   bool   `json:"oidc"`
		Issuer string `json:"issuer"`
	}
	json.NewDecoder(resp.Body).Decode(&cfg)
	resp.Body.Close()
	if !cfg.OIDC || cfg.Issuer != issuer.URL {
		t.Errorf("/auth/config = %+v, want the issuer's sign-in", cfg)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noRedirect.Get(base + "/auth/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc == nil || !strings.HasPrefix(loc.String(), issuer.URL+"/authorize?") ||
		loc.Query().Get("client_id") != "vigie-console" || loc.Query().Get("redirect_uri") != base+"/auth/callback" {
		t.Errorf("/auth/login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
