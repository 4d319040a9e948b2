package rpc_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"

	"vigie"
	"vigie/rpc"
	v1 "vigie/rpc/gen/vigie/v1"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
)

// TestDiskUnderTheReserveEndToEnd drives the store's disk guard through
// its seam (a free space the test sets, measured by calling the watcher's
// check directly): as the free space falls under twice the reserve, then
// under the reserve, /healthz and the metrics say so; writes (a resolve, a
// STOW-RS request) are refused with resource_exhausted, the code exhausted
// and FailureReason A700 with 503, and audited; reads are answered; once
// space returns, writes are accepted again.
func TestDiskUnderTheReserveEndToEnd(t *testing.T) {
	var free atomic.Int64
	free.Store(100 << 30)
	f := newServerFixtureDisk(t, func(string) (int64, error) { return free.Load(), nil })
	g := f.disk
	setFree := func(n int64) {
		free.Store(n)
		g.Check() // what the server's watcher does every second
	}
	ctx := t.Context()
	pacs, doctor := f.identity("pacs-a"), f.identity("dr-martin")
	resolve := func(local string) (*connect.Response[v1.ResolveRecordResponse], error) {
		return pacs.ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: rec(siteA, local, "ETCHEVERRY", "MAITE", "1968-05-21")}))
	}
	a, err := resolve("P1")
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name          string
		free          int64
		health        int
		healthSays    string
		low, refused  string // the metrics' 0/1
		writesRefused bool
		file          string // sent by STOW-RS (a new one when it is to be stored)
	}{
		{"plenty", 100 << 30, http.StatusOK, "ok\n", "0", "0", false, ctRDSR},
		{"under twice the reserve", 2*g.Reserve() - 1, http.StatusOK, "disk: low", "1", "0", false, ""},
		{"under the reserve", g.Reserve() - 1, http.StatusOK, "degraded: writes refused", "1", "1", true, dxHdr},
		{"space freed", 100 << 30, http.StatusOK, "ok\n", "0", "0", false, dxHdr},
	}
	for i, st := range steps {
		setFree(st.free)
		status, text := f.get(t, "/healthz")
		if status != st.health || !strings.HasPrefix(text, st.healthSays) && !strings.Contains(text, st.healthSays) {
			t.Errorf("%s: /healthz %d %q, want %d with %q", st.name, status, text, st.health, st.healthSays)
		}
		_, metrics := f.get(t, "/metrics")
		for _, want := range []string{"vigie_disk_low " + st.low, "vigie_disk_writes_refused " + st.refused, "vigie_disk_free_bytes ", "vigie_disk_reserve_bytes "} {
			if !slices.ContainsFunc(strings.Split(metrics, "\n"), func(l string) bool { return strings.HasPrefix(l, want) }) {
				t.Errorf("%s: the metrics lack %q", st.name, want)
			}
		}

		_, err := resolve("P" + string(rune('2'+i)))
		stow := stowReply{status: http.StatusOK}
		if st.file != "" {
			ctype, body := stowBody(t, dicomFile(t, st.file))
			stow = f.stow(t, f.tokens["pacs-a"], ctype, body, "")
		}
		if _, rerr := doctor.GetIdentity(ctx, connect.NewRequest(&v1.GetIdentityRequest{IdentityId: a.Msg.GetIdentityId()})); rerr != nil {
			t.Errorf("%s: a read: %v", st.name, rerr)
		}
		if !st.writesRefused {
			if err != nil {
				t.Errorf("%s: resolve: %v", st.name, err)
			}
			if stow.status != http.StatusOK {
				t.Errorf("%s: STOW-RS %d %s", st.name, stow.status, stow.body)
			}
			continue
		}
		if code(err) != connect.CodeResourceExhausted {
			t.Errorf("%s: resolve: %v, want resource_exhausted", st.name, err)
		} else if d := rpc.ErrorDetail(err); d.GetCode() != vigie.EEXHAUSTED || !strings.Contains(err.Error(), "under the reserve") {
			t.Errorf("%s: resolve refused with detail %v: %v", st.name, d, err)
		}
		if stow.status != http.StatusServiceUnavailable || stow.retryAfter == "" || !slices.Equal(stow.failures, []int{0xA700}) {
			t.Errorf("%s: STOW-RS %d (Retry-After %q), failures %x, want 503 with Retry-After and A700", st.name, stow.status, stow.retryAfter, stow.failures)
		}
		if !f.audited(t, "pacs-a", vigiev1connect.IdentityServiceResolveRecordProcedure, "resource_exhausted", "") {
			t.Errorf("%s: the refused resolve is not audited", st.name)
		}
	}
	if n := f.ledgerCount(t); n != 2 {
		t.Errorf("%d exams in the ledger, want the one stored before the refusal and the one after", n)
	}
}

// get fetches path from the fixture's server (with the metrics' bearer
// token): its status and body.
func (f *serverFixture) get(t *testing.T, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+fixtureMetricsToken)
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
