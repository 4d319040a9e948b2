package rpc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"vigie"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"vigie/auth"
	"vigie/ledger"
	v1 "vigie/rpc/gen/vigie/v1"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
	"vigie/sites"
	"vigie/store"
)

// withHeader sets one request header on every call of a client.
func withHeader(k, v string) connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx2 context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set(k, v)
			return next(ctx2, req)
		}
	}
}

func (f *serverFixture) identityWith(who string, ics ...connect.Interceptor) vigiev1connect.IdentityServiceClient {
	return vigiev1connect.NewIdentityServiceClient(f.client, f.url, connect.WithInterceptors(append([]connect.Interceptor{bearer(f.tokens[who])}, ics...)...))
}

func (f *serverFixture) admin(who string) vigiev1connect.AdminServiceClient {
	return vigiev1connect.NewAdminServiceClient(f.client, f.url, connect.WithInterceptors(bearer(f.tokens[who])))
}

func (f *serverFixture) access(who string) vigiev1connect.AccessServiceClient {
	return vigiev1connect.NewAccessServiceClient(f.client, f.url, connect.WithInterceptors(bearer(f.tokens[who])))
}

// TestSearchWithoutBasisShowsWhatIsNeededToChoose: a clinician of site A
// searching a patient known only at site B sees the names, the sex, the
// birth year and the sites by name; not the birth date, address, phone,
// INS nor the records, until it gives the patient's code.
func TestSearchWithoutBasisShowsWhatIsNeededToChoose(t *testing.T) {
	f := newServerFixture(t)
	ctx := t.Context()
	r := rec(siteB, "B77", "ZUBIRI", "OIHANA", "1985-11-23")
	r.Address, r.Phone, r.PostalCode, r.Ins = "3 rue des Halles", "0556000000", "33000", "285113306300123"
	b, err := f.identity("pacs-b").ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: r}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.admin("admin").AddSite(ctx, connect.NewRequest(&v1.AddSiteRequest{Site: &v1.Site{Authority: siteB, Name: "CH de Bayonne"}})); err != nil {
		t.Fatal(err)
	}
	f.follow()
	search := func(c vigiev1connect.IdentityServiceClient) *v1.SearchResult {
		t.Helper()
		s, err := c.SearchIdentities(ctx, connect.NewRequest(&v1.SearchIdentitiesRequest{Traits: &v1.SearchTraits{Name: "ZUBIRI", FirstNames: "OIHANA"}}))
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range s.Msg.GetResults() {
			if h.GetIdentityId() == b.Msg.GetIdentityId() {
				return h
			}
		}
		t.Fatalf("the patient is not found: %v", s.Msg.GetResults())
		return nil
	}
	h := search(f.identity("dr-a"))
	g := h.GetGolden()
	if !h.GetRestricted() || g.GetBirthName() != "ZUBIRI" || h.GetBirthYear() != "1985" || !slices.Equal(h.GetSiteNames(), []string{"CH de Bayonne"}) {
		t.Errorf("restricted result: %v", h)
	}
	if g.GetBirthDate() != "" || g.GetAddress() != "" || g.GetPhone() != "" || g.GetIns() != "" || g.GetPostalCode() != "" ||
		len(h.GetSources()) != 0 || strings.Contains(h.String(), siteB) {
		t.Errorf("a result without basis shows more than needed to choose: %v", h)
	}
	// The names are the site registry's: a rename shows at once, and a
	// site taken out of it is shown as not referenced, never by its OID.
	if _, err := f.admin("admin").RenameSite(ctx, connect.NewRequest(&v1.RenameSiteRequest{Authority: siteB, Name: "CH de la Côte basque"})); err != nil {
		t.Fatal(err)
	}
	if h := search(f.identity("dr-a")); !slices.Equal(h.GetSiteNames(), []string{"CH de la Côte basque"}) {
		t.Errorf("after the rename: %v", h.GetSiteNames())
	}
	if _, err := f.admin("admin").RemoveSite(ctx, connect.NewRequest(&v1.RemoveSiteRequest{Authority: siteB})); err != nil {
		t.Fatal(err)
	}
	if h := search(f.identity("dr-a")); !slices.Equal(h.GetSiteNames(), []string{sites.Unknown}) || strings.Contains(h.String(), siteB) {
		t.Errorf("after the removal: %v", h.GetSiteNames())
	}
	ac, err := f.access("iv-team").CreateAccessCode(ctx, connect.NewRequest(&v1.CreateAccessCodeRequest{IdentityId: b.Msg.GetIdentityId()}))
	if err != nil {
		t.Fatal(err)
	}
	h = search(f.identityWith("dr-a", withHeader(auth.AccessCodeHeader, ac.Msg.GetCode())))
	if h.GetRestricted() || h.GetGolden().GetBirthDate() != "1985-11-23" || len(h.GetSources()) != 1 {
		t.Errorf("with the patient's code: %v", h)
	}
	if h := search(f.identity("dr-martin")); h.GetRestricted() { // site B is one of its sites
		t.Errorf("a clinician of the patient's site: %v", h)
	}
	// Revoked, the code opens nothing.
	if _, err := f.access("iv-team").RevokeAccessCodes(ctx, connect.NewRequest(&v1.RevokeAccessCodesRequest{IdentityId: b.Msg.GetIdentityId()})); err != nil {
		t.Fatal(err)
	}
	_, err = f.identityWith("dr-a", withHeader(auth.AccessCodeHeader, ac.Msg.GetCode())).GetIdentity(ctx, connect.NewRequest(&v1.GetIdentityRequest{IdentityId: b.Msg.GetIdentityId()}))
	if code(err) != connect.CodePermissionDenied {
		t.Errorf("revoked code: %v, want permission_denied", err)
	}
}

// TestBreakTheGlass: a reason too short is refused; a stated one opens the
// patient, is recorded in the audit entry, and is listed for the
// vigilance staff of the patient's site and of the clinician's site.
func TestBreakTheGlass(t *testing.T) {
	f := newServerFixture(t)
	ctx := t.Context()
	b, err := f.identity("pacs-b").ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: rec(siteB, "B1", "ZUBIRI", "OIHANA", "1985-11-23")}))
	if err != nil {
		t.Fatal(err)
	}
	get := func(reason string) error {
		_, err := f.identityWith("dr-a", withHeader(auth.BreakGlassHeader, url.PathEscape(reason))).
			GetIdentity(ctx, connect.NewRequest(&v1.GetIdentityRequest{IdentityId: b.Msg.GetIdentityId()}))
		return err
	}
	if err := get("urgence"); code(err) != connect.CodeInvalidArgument {
		t.Errorf("short reason: %v, want invalid_argument", err)
	}
	if err := get("Patient inconscient aux urgences, détresse respiratoire"); err != nil {
		t.Fatal(err)
	}
	if e := f.lastEntry(t, "dr-a"); e.Basis != "break_glass: Patient inconscient aux urgences, détresse respiratoire" {
		t.Errorf("audit basis %q", e.Basis)
	}
	// One access granted, counted once (the refused short reason is not).
	var scrape metricsText
	if err := f.metrics.Write(ctx, &scrape); err != nil {
		t.Fatal(err)
	}
	if !scrape.has("vigie_break_glass_total 1") {
		t.Errorf("metrics lack vigie_break_glass_total 1:\n%s", scrape.String())
	}
	since := timestamppb.New(time.Now().Add(-time.Hour))
	for who, want := range map[string]int{"iv-team": 1, "iv-a": 1, "admin": 1} {
		l, err := f.access(who).ListBreakGlass(ctx, connect.NewRequest(&v1.ListBreakGlassRequest{Since: since}))
		if err != nil {
			t.Fatal(err)
		}
		if got := l.Msg.GetAccesses(); len(got) != want || (want > 0 && (got[0].GetPrincipal() != "dr-a" ||
			got[0].GetIdentityId() != b.Msg.GetIdentityId() || !slices.Equal(got[0].GetPatientAuthorities(), []string{siteB}))) {
			t.Errorf("%s: break-the-glass list %v", who, got)
		}
	}
}

// TestListExamsByRecordFailsClosed (issue 30): the exams of a record
// whose identity cannot be found were listed without the hidden-patient
// check; any failure of the lookup now refuses.
func TestListExamsByRecordFailsClosed(t *testing.T) {
	f := newServerFixture(t)
	ctx := t.Context()
	ex := &ledger.Exam{SOPInstanceUID: "1.2.3.4.5", Date: "2024-03-01", Domain: ledger.DomainCT, Source: ledger.SourceHeader,
		Key: vigie.SourceKey{Authority: siteB, LocalID: "ORPHAN"}}
	if _, err := f.ledger.Put(ctx, ex); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"dr-martin", "dr-a"} {
		r, err := f.dose(who).ListExams(ctx, connect.NewRequest(&v1.ListExamsRequest{Record: &v1.SourceKey{Authority: siteB, LocalId: "ORPHAN"}}))
		if code(err) != connect.CodeNotFound {
			t.Errorf("%s: exams of a record without identity: %v %v, want not_found", who, r, err)
		}
	}
}

// TestIngestAnswerHasNoValues (issue 30): an ingest key's ResolveRecord
// answer names the identity and the decision; its explanation keeps the
// fields, levels and weights, never the matched identity's values.
func TestIngestAnswerHasNoValues(t *testing.T) {
	f := newServerFixture(t)
	ctx := t.Context()
	r := rec(siteA, "A1", "ETCHEVERRY", "MAITE", "1968-05-21")
	r.PostalCode, r.Phone = "64100", "0559123456"
	if _, err := f.identity("pacs-a").ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: r})); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		who    string
		values bool
	}{{"pacs-b", false}, {"iv-team", true}} {
		r2 := rec(siteB, "B-"+tc.who, "ETCHEVERRY", "MAITE", "1968-05-21")
		r2.PostalCode = "64100"
		res, err := f.identity(tc.who).ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: r2}))
		if err != nil {
			t.Fatal(err)
		}
		e := res.Msg.GetExplanation()
		if len(e.GetFields()) == 0 {
			t.Fatalf("%s: no explanation to check: %v", tc.who, res.Msg)
		}
		values := false
		for _, fe := range e.GetFields() {
			values = values || fe.GetValueA() != "" || fe.GetValueB() != ""
			if fe.GetLevel() == "" {
				t.Errorf("%s: field %s lost its level", tc.who, fe.GetField())
			}
		}
		for _, ru := range e.GetRules() {
			values = values || ru.GetMessage() != ""
		}
		if values != tc.values {
			t.Errorf("%s: values in the explanation = %v, want %v: %v", tc.who, values, tc.values, e)
		}
	}
}

// TestKeyApproval: a key made through the API for a role that reads
// patients waits for a second person; its creator cannot approve it, nor
// the vigilance of another site; once approved it works.
func TestKeyApproval(t *testing.T) {
	f := newServerFixture(t)
	ctx := t.Context()
	created, err := f.admin("admin").CreateApiKey(ctx, connect.NewRequest(&v1.CreateApiKeyRequest{Role: "vigilance", Name: "admin", Authorities: []string{siteB}}))
	if err != nil {
		t.Fatal(err)
	}
	if !created.Msg.GetKey().GetPending() || created.Msg.GetKey().GetCreatedBy() != "admin" {
		t.Fatalf("key %v, want pending", created.Msg.GetKey())
	}
	f.tokens["new"] = created.Msg.GetSecret()
	if _, err := f.identity("new").ListReviews(ctx, connect.NewRequest(&v1.ListReviewsRequest{})); code(err) != connect.CodeUnauthenticated {
		t.Errorf("pending key: %v, want unauthenticated", err)
	}
	id := created.Msg.GetKey().GetId()
	approve := func(who string) error {
		_, err := f.admin(who).ApproveApiKey(ctx, connect.NewRequest(&v1.ApproveApiKeyRequest{Id: id}))
		return err
	}
	for _, who := range []string{"admin", "iv-a"} { // its creator; vigilance of site A for a site-B key
		if err := approve(who); code(err) != connect.CodePermissionDenied {
			t.Errorf("approved by %s: %v, want permission_denied", who, err)
		}
	}
	if err := approve("admin-2"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.identity("new").ListReviews(ctx, connect.NewRequest(&v1.ListReviewsRequest{})); err != nil {
		t.Errorf("approved key: %v", err)
	}
	if !f.audited(t, "admin-2", vigiev1connect.AdminServiceApproveApiKeyProcedure, "ok", "") {
		t.Error("the approval is not audited")
	}
	// An ingest key reads no patient: active at once.
	ing, err := f.admin("admin").CreateApiKey(ctx, connect.NewRequest(&v1.CreateApiKeyRequest{Role: "ingest", Name: "pacs-c", Authorities: []string{siteA}}))
	if err != nil || ing.Msg.GetKey().GetPending() {
		t.Errorf("ingest key: %v %v", ing.Msg.GetKey(), err)
	}
}

// TestRateLimits: over its rate a credential's searches are refused with
// resource_exhausted (HTTP 429), other credentials are not; a source
// whose credentials fail waits before the next is even checked.
func TestRateLimits(t *testing.T) {
	f := newServerFixture(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	api := *f.api
	api.NoLimits = false
	api.Limits = &auth.Limits{Rate: 1, Burst: 2, BackoffBase: time.Second, BackoffMax: time.Minute, Now: func() time.Time { return now }}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	client := func(token string) vigiev1connect.IdentityServiceClient {
		return vigiev1connect.NewIdentityServiceClient(srv.Client(), srv.URL, connect.WithInterceptors(bearer(token)))
	}
	search := func(token string) error {
		_, err := client(token).SearchIdentities(t.Context(), connect.NewRequest(&v1.SearchIdentitiesRequest{Traits: &v1.SearchTraits{Name: "X"}}))
		return err
	}
	for i := range 2 {
		if err := search(f.tokens["dr-a"]); err != nil {
			t.Fatalf("search %d within the burst: %v", i, err)
		}
	}
	if err := search(f.tokens["dr-a"]); code(err) != connect.CodeResourceExhausted {
		t.Errorf("over the rate: %v, want resource_exhausted", err)
	}
	if err := search(f.tokens["dr-martin"]); err != nil {
		t.Errorf("another credential: %v", err)
	}
	now = now.Add(time.Second) // one token back
	if err := search(f.tokens["dr-a"]); err != nil {
		t.Errorf("after a second: %v", err)
	}
	// Failed authentications.
	if err := search("vgk_0000000000000000_nope"); code(err) != connect.CodeUnauthenticated {
		t.Fatalf("bad key: %v", err)
	}
	err := search(f.tokens["dr-martin"])
	var ce *connect.Error
	if code(err) != connect.CodeResourceExhausted || !errors.As(err, &ce) || !strings.Contains(ce.Message(), "failed authentications") {
		t.Errorf("right after a failure from the same source: %v, want resource_exhausted", err)
	}
	now = now.Add(time.Second)
	if err := search(f.tokens["dr-martin"]); err != nil {
		t.Errorf("after the backoff: %v", err)
	}
	// The metrics count the call refused by the rate, not the one slowed
	// after a failed authentication.
	var scrape metricsText
	if err := f.metrics.Write(t.Context(), &scrape); err != nil {
		t.Fatal(err)
	}
	if want := `vigie_rate_limited_total{procedure="/vigie.v1.IdentityService/SearchIdentities"} 1`; !scrape.has(want) {
		t.Errorf("metrics lack %s:\n%s", want, scrape.String())
	}
}

// syncBuffer is a log destination written by the server's goroutines.
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

// TestInternalErrorLoggedOnce (issue 30): an internal error is answered
// "internal error" without its cause, and logged exactly once, at the
// edge, with the request id and the cause, and without the patient's
// name or birth date.
func TestInternalErrorLoggedOnce(t *testing.T) {
	f := newServerFixture(t)
	ctx := t.Context()
	a, err := f.identity("pacs-a").ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: rec(siteA, "A7", "ZUBIRI", "OIHANA", "1985-11-23")}))
	if err != nil {
		t.Fatal(err)
	}
	// The access codes live in a store that is closed: creating one fails
	// inside the handler, after the Gate has found the site basis.
	broken, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	broken.Close()
	var logs syncBuffer
	api := *f.api
	api.Access = auth.NewAccess(broken)
	api.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	client := vigiev1connect.NewAccessServiceClient(srv.Client(), srv.URL, connect.WithInterceptors(bearer(f.tokens["dr-a"])))
	const calls = 2
	for range calls {
		_, err := client.CreateAccessCode(ctx, connect.NewRequest(&v1.CreateAccessCodeRequest{IdentityId: a.Msg.GetIdentityId()}))
		var ce *connect.Error
		if !errors.As(err, &ce) || ce.Code() != connect.CodeInternal || ce.Message() != "internal error" {
			t.Fatalf("CreateAccessCode on a closed store: %v, want internal with no detail", err)
		}
	}
	var errorLines []map[string]any
	for line := range strings.Lines(logs.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["level"] == "ERROR" {
			errorLines = append(errorLines, rec)
		}
	}
	if len(errorLines) != calls {
		t.Fatalf("%d error lines for %d internal errors, want one each:\n%s", len(errorLines), calls, logs.String())
	}
	ids := map[any]bool{}
	for _, rec := range errorLines {
		cause, _ := rec["error"].(string)
		if id, _ := rec["request"].(string); id == "" || ids[id] || !strings.Contains(cause, "access check create access code") ||
			rec["procedure"] != vigiev1connect.AccessServiceCreateAccessCodeProcedure {
			t.Errorf("error line %v: want a request id of its own, the procedure and the cause", rec)
		}
		ids[rec["request"]] = true
	}
	for _, secret := range []string{"ZUBIRI", "OIHANA", "1985"} {
		if strings.Contains(strings.ToUpper(logs.String()), secret) {
			t.Errorf("the log holds patient data %q:\n%s", secret, logs.String())
		}
	}
}
