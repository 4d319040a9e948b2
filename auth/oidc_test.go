package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/oauth2-proxy/mockoidc"

	"vigie/audit"
	"vigie/auth/authtest"
	v1 "vigie/rpc/gen/vigie/v1"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
)

var b64 = base64.RawURLEncoding

// clinicianClaims are the claims of a provider that carries Vigie's roles.
func clinicianClaims() map[string]any {
	return map[string]any{"sub": "899700123456", "vigie_role": "clinician", "vigie_authorities": []any{"1.2.3"}}
}

func newVerifier(t testing.TB, issuer string, cfg OIDCConfig) *OIDC {
	t.Helper()
	cfg.Issuer, cfg.Audience = issuer, authtest.ClientID
	o, err := NewOIDC(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestOIDC: the provider's tokens are accepted, and refused when expired,
// for another audience, from another issuer, tampered with, unsigned or
// HMAC-signed, or when their claims give no usable role.
func TestOIDC(t *testing.T) {
	f := authtest.NewIssuer(t, nil)
	o := newVerifier(t, f.URL, OIDCConfig{})
	token := func(edit func(map[string]any)) string {
		c := clinicianClaims()
		if edit != nil {
			edit(c)
		}
		f.Claims = c
		return f.Token(t)
	}
	good := token(nil)
	dot := strings.LastIndexByte(good, '.')
	tampered := good[:dot-2] + "xx" + good[dot:]
	// A token issued an hour ago, valid ten minutes.
	f.M.FastForward(-time.Hour)
	expired := token(nil)
	f.M.FastForward(time.Hour)
	// Another provider, signing with the same key: only the issuer differs.
	other := authtest.NewIssuer(t, clinicianClaims())
	forged := func(alg string) string {
		return b64.EncodeToString([]byte(`{"alg":"`+alg+`","kid":"k"}`)) + good[strings.IndexByte(good, '.'):dot] + "."
	}
	tests := []struct {
		name    string
		token   string
		role    Role   // expected on success
		reason  string // expected in the unauthenticated error
		notMine bool
	}{
		{"signed by the provider", good, RoleClinician, "", false},
		{"authorities as a string", token(func(c map[string]any) { c["vigie_role"], c["vigie_authorities"] = "physicist", "1.2.3 1.2.4" }), RolePhysicist, "", false},
		{"expired", expired, "", "expired", false},
		{"wrong audience", token(func(c map[string]any) { c["aud"] = "other-service" }), "", "audience", false},
		{"wrong issuer", other.Token(t), "", "issued by a different provider", false},
		{"tampered signature", tampered, "", "signature", false},
		{"alg none", forged("none"), "", "refused", false},
		{"HS256", forged("HS256") + "c2ln", "", "refused", false},
		{"missing role", token(func(c map[string]any) { delete(c, "vigie_role") }), "", "vigie_role", false},
		{"unknown role", token(func(c map[string]any) { c["vigie_role"] = "root" }), "", "unknown role", false},
		{"ingest without authorities", token(func(c map[string]any) {
			c["vigie_role"] = "ingest"
			delete(c, "vigie_authorities")
		}), "", "vigie_authorities", false},
		{"no subject", token(func(c map[string]any) { c["sub"] = "" }), "", "claim sub", false},
		{"too large", good + strings.Repeat("A", maxJWT), "", "too large", false},
		{"an API key", KeyPrefix + "0123456789abcdef_abc", "", "", true},
		{"not a JWT", "abc.def", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := o.Authenticate(context.Background(), tt.token)
			switch {
			case tt.notMine:
				if !errors.Is(err, ErrNotMine) {
					t.Fatalf("err = %v, want ErrNotMine", err)
				}
			case tt.role != "":
				if err != nil || p.Role != tt.role || p.Name != "899700123456" || p.Method != "oidc" || p.CredentialID == "" {
					t.Fatalf("Authenticate = %+v, %v", p, err)
				}
			default:
				if !errors.Is(err, ErrUnauthenticated) || !strings.Contains(err.Error(), tt.reason) {
					t.Fatalf("err = %v, want unauthenticated %q", err, tt.reason)
				}
			}
		})
	}
}

// TestOIDCKeyRotation: the provider rotates its signing key. Tokens of the
// new key are accepted once the key set is fetched again, those of the old
// key are refused after that fetch, and while a fetch is under way (held
// at the provider) tokens of known keys are still verified: no lock is
// held during the fetch.
func TestOIDCKeyRotation(t *testing.T) {
	var fetches atomic.Int32
	var hold atomic.Pointer[chan struct{}]
	fetching := make(chan struct{}, 1)
	f := authtest.NewIssuerKey(t, clinicianClaims(), nil, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == mockoidc.JWKSEndpoint {
				fetches.Add(1)
				if h := hold.Load(); h != nil {
					fetching <- struct{}{}
					<-*h
				}
			}
			next.ServeHTTP(w, r)
		})
	})
	o := newVerifier(t, f.URL, OIDCConfig{})
	rotate := func() {
		kp, err := mockoidc.RandomKeypair(2048)
		if err != nil {
			t.Fatal(err)
		}
		f.M.Keypair = kp
	}
	auth := func(tok string) error {
		_, err := o.Authenticate(context.Background(), tok)
		return err
	}

	first := f.Token(t)
	if err := auth(first); err != nil {
		t.Fatalf("token of the first key: %v", err)
	}
	if err := auth(first); err != nil || fetches.Load() != 1 {
		t.Fatalf("second use of the first key: %v after %d fetches, want no new fetch", err, fetches.Load())
	}
	rotate()
	second := f.Token(t)
	if err := auth(second); err != nil {
		t.Fatalf("token of the new key: %v", err)
	}
	if n := fetches.Load(); n != 2 {
		t.Errorf("%d fetches after the rotation, want 2", n)
	}
	// go-oidc hands a fetch's keys to its waiters before it stores them in
	// its cache: for a moment after the refresh the cache still holds the
	// retired key. The retired key's token is refused once it is stored.
	for deadline := time.Now().Add(10 * time.Second); ; {
		err := auth(first)
		if errors.Is(err, ErrUnauthenticated) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("token of the retired key 10 s after the refresh: %v, want unauthenticated", err)
		}
		time.Sleep(time.Millisecond)
	}

	// A third key; its first token waits for a fetch the provider holds.
	rotate()
	third := f.Token(t)
	release := make(chan struct{})
	hold.Store(&release)
	done := make(chan error, 1)
	go func() { done <- auth(third) }()
	<-fetching
	if err := auth(second); err != nil {
		t.Errorf("token of a known key during a fetch: %v", err)
	}
	select {
	case err := <-done:
		t.Fatalf("the held fetch finished early: %v", err)
	default:
	}
	hold.Store(nil)
	close(release)
	if err := <-done; err != nil {
		t.Errorf("token of the third key after the held fetch: %v", err)
	}
}

// TestOIDCKeysUnavailable: keys that cannot be fetched are a fault of the
// server, not the caller's (internal, not unauthenticated).
func TestOIDCKeysUnavailable(t *testing.T) {
	f := authtest.NewIssuer(t, clinicianClaims())
	o := newVerifier(t, f.URL, OIDCConfig{})
	tok := f.Token(t)
	if err := f.M.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Authenticate(context.Background(), tok); err == nil || errors.Is(err, ErrUnauthenticated) {
		t.Errorf("unreachable keys: %v, want an internal error", err)
	}
}

func TestNewOIDCRequires(t *testing.T) {
	f := authtest.NewIssuer(t, nil)
	for _, cfg := range []OIDCConfig{{Audience: "a"}, {Issuer: f.URL}, {Issuer: f.URL + "/nowhere", Audience: "a"}} {
		if _, err := NewOIDC(context.Background(), cfg); err == nil {
			t.Errorf("NewOIDC(%+v) accepted an incomplete configuration or an issuer without discovery", cfg)
		}
	}
}

// pscClaims are the claims of a Pro Santé Connect token (the identity
// traits beside the national identifier are never read).
func pscClaims(rpps, profession string) map[string]any {
	return map[string]any{"sub": "f:550dc1c8:" + rpps, "SubjectNameID": rpps, "preferred_username": rpps,
		"given_name": "Fistinien", "family_name": "Grominoch",
		"SubjectRefPro": map[string]any{"exercices": []any{map[string]any{"codeProfession": profession, "nomDexercice": "Grominoch"}}},
		"SubjectRole":   []any{profession + "^1.2.250.1.213.1.1.5.5"}, "SubjectOrganizationID": "R81311"}
}

// TestProSanteConnect: a PSC token authenticates as its RPPS identifier
// with its profession, in the role and sites of the role map: by
// identifier first, then by claim; a professional the map does not name
// is refused.
func TestProSanteConnect(t *testing.T) {
	roles, err := ParseRoleMap(strings.NewReader(`# Vigie's role map for Pro Santé Connect
810000000001  regional_vigilance
810000000002  vigilance  1.2.250.1.71.4.2.2.1
SubjectOrganizationID=R99999  physicist  1.2.250.1.71.4.2.2.9
profession=10  clinician  1.2.250.1.71.4.2.2.1 1.2.250.1.71.4.2.2.2
`))
	if err != nil {
		t.Fatal(err)
	}
	f := authtest.NewIssuer(t, nil)
	o := newVerifier(t, f.URL, OIDCConfig{Map: roles.Map})
	tests := []struct {
		name       string
		claims     map[string]any
		role       Role
		sites      []string
		profession string
		refused    string
	}{
		{"physician mapped by profession", pscClaims("810000000003", "10"), RoleClinician, []string{"1.2.250.1.71.4.2.2.1", "1.2.250.1.71.4.2.2.2"}, "10", ""},
		{"identifier before profession", pscClaims("810000000002", "10"), RoleVigilance, []string{"1.2.250.1.71.4.2.2.1"}, "10", ""},
		{"regional by identifier", pscClaims("810000000001", "21"), RoleRegionalVigilance, nil, "21", ""},
		{"by another claim", func() map[string]any {
			c := pscClaims("810000000004", "21")
			c["SubjectOrganizationID"] = "R99999"
			return c
		}(), RolePhysicist, []string{"1.2.250.1.71.4.2.2.9"}, "21", ""},
		{"profession from SubjectRole alone", func() map[string]any {
			c := pscClaims("810000000005", "10")
			delete(c, "SubjectRefPro")
			return c
		}(), RoleClinician, []string{"1.2.250.1.71.4.2.2.1", "1.2.250.1.71.4.2.2.2"}, "10", ""},
		{"ADELI in preferred_username", func() map[string]any {
			c := pscClaims("0B1234567", "10")
			delete(c, "SubjectNameID")
			return c
		}(), RoleClinician, []string{"1.2.250.1.71.4.2.2.1", "1.2.250.1.71.4.2.2.2"}, "10", ""},
		{"pharmacist not in the map", pscClaims("810000000006", "21"), "", nil, "", "no role in the role map"},
		{"no national identifier", func() map[string]any {
			c := pscClaims("", "10")
			delete(c, "SubjectNameID")
			delete(c, "preferred_username")
			return c
		}(), "", nil, "", "SubjectNameID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.Claims = tt.claims
			p, err := o.Authenticate(context.Background(), f.Token(t))
			if tt.refused != "" {
				if !errors.Is(err, ErrUnauthenticated) || !strings.Contains(err.Error(), tt.refused) {
					t.Fatalf("err = %v, want unauthenticated %q", err, tt.refused)
				}
				return
			}
			want, _ := PSCIdentity(tt.claims)
			if err != nil || p.Name != want || p.Role != tt.role || strings.Join(p.Authorities, " ") != strings.Join(tt.sites, " ") || p.Profession != tt.profession {
				t.Fatalf("Authenticate = %+v, %v; want %s as %s of %v, profession %s", p, err, want, tt.role, tt.sites, tt.profession)
			}
			if strings.Contains(p.Name, "Grominoch") || strings.Contains(p.Name, "Fistinien") {
				t.Errorf("principal named after the person: %q", p.Name)
			}
		})
	}
}

func TestParseRoleMapRefuses(t *testing.T) {
	for _, tc := range []struct{ doc, says string }{
		{"810000000001", "want <who> <role>"},
		{"810000000001 root", "unknown role"},
		{"810000000001 clinician", "at least one"},
		{"810000000001 admin\n810000000001 admin", "mapped twice"},
	} {
		if _, err := ParseRoleMap(strings.NewReader(tc.doc)); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%q: err = %v, want %q", tc.doc, err, tc.says)
		}
	}
}

// TestOIDCThroughInterceptor: a JWT and an API key both work behind one
// interceptor (Chain), and the audit trail names the JWT's subject.
func TestOIDCThroughInterceptor(t *testing.T) {
	f := authtest.NewIssuer(t, map[string]any{"sub": "psc-8990001", "vigie_role": "clinician", "vigie_authorities": "1.2.3"})
	o := newVerifier(t, f.URL, OIDCConfig{})
	db := memDB(t)
	keys := NewKeys(db)
	secret, _, _ := keys.Create(RoleRegionalVigilance, nil, "iv-team", time.Hour)
	trail, err := audit.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(vigiev1connect.NewIdentityServiceHandler(fakeIdentities{}, connect.WithInterceptors(NewInterceptor(Chain{keys, o}, DefaultPolicy(), trail, nil))))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := vigiev1connect.NewIdentityServiceClient(srv.Client(), srv.URL)
	for _, tc := range []struct {
		cred, principal string
		credential      string
	}{{f.Token(t), "psc-8990001", "oidc"}, {secret, "iv-team", "api_key:"}} {
		req := connect.NewRequest(&v1.GetIdentityRequest{IdentityId: "I9"})
		req.Header().Set("Authorization", "Bearer "+tc.cred)
		if _, err := client.GetIdentity(context.Background(), req); err != nil {
			t.Fatalf("%s: %v", tc.principal, err)
		}
		seq, _ := trail.Head()
		if e, _ := trail.Get(seq); e.Principal != tc.principal || e.Result != "ok" || !strings.HasPrefix(e.Credential, tc.credential) {
			t.Errorf("audit entry = %+v, want %s", e, tc.principal)
		}
	}
}
