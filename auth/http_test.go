package auth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"vigie/audit"
)

// TestHTTPMiddleware drives a stand-in STOW-RS handler through the
// middleware over loopback HTTP.
func TestHTTPMiddleware(t *testing.T) {
	db := memDB(t)
	keys := NewKeys(db)
	trail, err := audit.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	pacs, _, _ := keys.Create(RoleIngest, []string{"1.2.3"}, "pacs", time.Hour)
	doctor, _, _ := keys.Create(RoleClinician, []string{"1.2.3"}, "doctor", time.Hour)
	stow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if string(body) == "bad" {
			http.Error(w, "not multipart/related", http.StatusUnsupportedMediaType)
			return
		}
		audit.Touch(r.Context(), "I-stow")
		audit.TouchRecord(r.Context(), "1.2.3", "IPP1")
		w.Header().Set("Content-Type", "application/dicom+json")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"stored":1}`)
	})
	ic := NewInterceptor(keys, DefaultPolicy(), trail, nil)
	srv := httptest.NewServer(ic.HTTP(STOWProcedure, stow))
	defer srv.Close()

	tests := []struct {
		name, key, body string
		status          int
		result          string // audit result; "" when not audited
		says            string
	}{
		{"no credential", "", "x", http.StatusUnauthorized, "", "missing bearer"},
		{"clinician refused", doctor, "x", http.StatusForbidden, "permission_denied", "may not call"},
		{"ingest stores", pacs, "x", http.StatusOK, "ok", `{"stored":1}`},
		{"bad request", pacs, "bad", http.StatusUnsupportedMediaType, "invalid_argument", "multipart"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := trail.Head()
			req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(tt.body))
			if tt.key != "" {
				req.Header.Set("Authorization", "Bearer "+tt.key)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.says) {
				t.Errorf("status %d body %q; want %d saying %q", resp.StatusCode, body, tt.status, tt.says)
			}
			if tt.status == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			after, _ := trail.Head()
			if tt.result == "" {
				if after != before {
					t.Errorf("%d entries written, want none", after-before)
				}
				return
			}
			e, _ := trail.Get(after)
			if after != before+1 || e.Result != tt.result || e.Operation != STOWProcedure {
				t.Errorf("entry %+v; want one with result %s", e, tt.result)
			}
			if tt.result == "ok" && (!slices.Equal(e.Identities, []string{"I-stow"}) || len(e.Records) != 1 || resp.Header.Get("Content-Type") != "application/dicom+json") {
				t.Errorf("entry %+v, content type %q", e, resp.Header.Get("Content-Type"))
			}
		})
	}

	// A broken trail withholds the response.
	trailDB := memDB(t)
	broken, _ := audit.Open(trailDB)
	trailDB.Close()
	srv2 := httptest.NewServer(NewInterceptor(keys, DefaultPolicy(), broken, nil).HTTP(STOWProcedure, stow))
	defer srv2.Close()
	req, _ := http.NewRequest(http.MethodPost, srv2.URL, strings.NewReader("x"))
	req.Header.Set("Authorization", "Bearer "+pacs)
	resp, err := srv2.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || strings.Contains(string(body), "stored") {
		t.Errorf("broken trail: status %d body %q", resp.StatusCode, body)
	}
}

func TestStatusError(t *testing.T) {
	tests := map[int]string{200: "", 201: "", 204: "", 400: "invalid_argument", 401: "unauthenticated", 403: "permission_denied",
		404: "not_found", 409: "failed_precondition", 413: "invalid_argument", 415: "invalid_argument", 422: "invalid_argument",
		500: "internal", 503: "unavailable"}
	for status, want := range tests {
		err := statusError(status)
		got := ""
		if err != nil {
			got = codeString(err)
		}
		if got != want {
			t.Errorf("statusError(%d) = %q, want %q", status, got, want)
		}
	}
}

func codeString(err error) string { return connect.CodeOf(err).String() }

// authFunc adapts a function to Authenticator.
type authFunc func(context.Context, string) (*Principal, error)

func (f authFunc) Authenticate(ctx context.Context, c string) (*Principal, error) { return f(ctx, c) }

// TestAuthenticatorFault: a store that cannot be read is a fault of ours
// (internal), not the caller's (unauthenticated), and says nothing more.
func TestAuthenticatorFault(t *testing.T) {
	db := memDB(t)
	trail, _ := audit.Open(db)
	broken := authFunc(func(context.Context, string) (*Principal, error) {
		return nil, errors.New("badger: value log corrupt at a/tok/x")
	})
	srv := httptest.NewServer(NewInterceptor(broken, DefaultPolicy(), trail, nil).HTTP(STOWProcedure, http.NotFoundHandler()))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL, nil)
	req.Header.Set("Authorization", "Bearer x")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || strings.Contains(string(body), "badger") || !strings.Contains(string(body), "authentication unavailable") {
		t.Errorf("status %d body %q", resp.StatusCode, body)
	}
}

func TestPurposeCleaned(t *testing.T) {
	ic := NewInterceptor(nil, nil, nil, nil)
	tests := []struct{ header, want string }{
		{"care", "care"},
		{"  care  ", "care"},
		{"care\n2026-01-01 admin GetIdentity ok", "care 2026-01-01 admin GetIdentity ok"},
		{strings.Repeat("é", 150), strings.Repeat("é", 100)},
		{"", ""},
	}
	for _, tt := range tests {
		h := http.Header{}
		h.Set(PurposeHeader, tt.header)
		if got := ic.newCall(&Principal{}, "/p", h, "").purpose; got != tt.want {
			t.Errorf("purpose of %q = %q, want %q", tt.header, got, tt.want)
		}
	}
}

// TestHTTPWithRateAndWriter: HTTPWith applies the rate of reads of a
// Limited operation (429, Retry-After) and writes every refusal with the
// door's writer.
func TestHTTPWithRateAndWriter(t *testing.T) {
	db := memDB(t)
	keys := NewKeys(db)
	trail, err := audit.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	doctor, _, _ := keys.Create(RoleClinician, []string{"1.2.3"}, "doctor", time.Hour)
	pacs, _, _ := keys.Create(RoleIngest, []string{"1.2.3"}, "pacs", time.Hour)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ic := NewInterceptor(keys, DefaultPolicy(), trail, nil).WithLimits(&Limits{Rate: 1, Burst: 2, BackoffBase: time.Second,
		BackoffMax: time.Minute, Now: func() time.Time { return now }})
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "read") })
	writer := func(w http.ResponseWriter, status int, msg string) {
		w.WriteHeader(status)
		io.WriteString(w, "door says: "+msg)
	}
	srv := httptest.NewServer(ic.HTTPWith(FHIRReadOperation, ok, writer))
	defer srv.Close()
	for i, c := range []struct {
		key    string
		status int
		says   string
	}{
		{"", http.StatusUnauthorized, "door says: missing bearer"},
		{pacs, http.StatusForbidden, "door says: role ingest may not call"},
		{doctor, http.StatusOK, "read"},
		{doctor, http.StatusOK, "read"},
		{doctor, http.StatusTooManyRequests, "door says: too many searches and reads"},
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		if c.key != "" {
			req.Header.Set("Authorization", "Bearer "+c.key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.HasPrefix(string(body), c.says) {
			t.Errorf("call %d: %d %q, want %d %q", i, resp.StatusCode, body, c.status, c.says)
		}
		if c.status == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
			t.Errorf("call %d: 429 without Retry-After", i)
		}
	}
}

// TestBearerHTTP: the statuses and messages a handler checking its own
// credential writes, and the cause it logs only for a fault of ours.
func TestBearerHTTP(t *testing.T) {
	fault := errors.New("store unreadable")
	a := authFunc(func(_ context.Context, c string) (*Principal, error) {
		switch c {
		case "good":
			return &Principal{Name: "admin", Role: RoleAdmin}, nil
		case "nobody":
			return nil, nil
		case "other":
			return nil, ErrNotMine
		case "broken":
			return nil, fault
		}
		return nil, ErrUnauthenticated
	})
	for _, c := range []struct {
		header string
		status int
		msg    string
		err    error
	}{
		{"", http.StatusUnauthorized, "missing bearer credential (Authorization: Bearer <token>)", nil},
		{"Basic abc", http.StatusUnauthorized, "missing bearer credential (Authorization: Bearer <token>)", nil},
		{"Bearer   ", http.StatusUnauthorized, "missing bearer credential (Authorization: Bearer <token>)", nil},
		{"Bearer wrong", http.StatusUnauthorized, "invalid credential", nil},
		{"Bearer nobody", http.StatusUnauthorized, "invalid credential", nil},
		{"Bearer other", http.StatusUnauthorized, "invalid credential", nil},
		{"Bearer broken", http.StatusInternalServerError, "authentication unavailable", fault},
		{"Bearer  good ", http.StatusOK, "", nil},
	} {
		r := httptest.NewRequest(http.MethodGet, "/admin/backup", nil)
		if c.header != "" {
			r.Header.Set("Authorization", c.header)
		}
		p, status, msg, err := Bearer(r, a)
		if status != c.status || msg != c.msg || !errors.Is(err, c.err) || (err == nil) != (c.err == nil) {
			t.Errorf("%q: got %d %q %v, want %d %q %v", c.header, status, msg, err, c.status, c.msg, c.err)
		}
		if (p != nil) != (status == http.StatusOK) {
			t.Errorf("%q: principal %v with status %d", c.header, p, status)
		}
	}
}
