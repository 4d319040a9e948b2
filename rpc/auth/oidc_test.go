package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	"vigie/rpc/audit"
	"vigie/rpc/auth/authtest"
	v1 "vigie/rpc/gen/vigie/v1"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
)

var b64 = base64.RawURLEncoding

func TestOIDC(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	const issuer, audience = "https://auth.esante.example/realms/psc", "vigie"
	var fetches atomic.Int32
	published := map[string]crypto.PublicKey{"r1": &rsaKey.PublicKey, "e1": &ecKey.PublicKey}
	mux := http.NewServeMux()
	var srvURL string
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": issuer, "jwks_uri": srvURL + "/jwks"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Write(authtest.JWKS(t, published))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	srvURL = srv.URL

	// Discovery needs the issuer to serve its own document; here the test
	// server stands in for it, so check Discover against a document naming
	// another issuer and the one that matches.
	if _, err := Discover(context.Background(), srv.Client(), srv.URL); err == nil || !strings.Contains(err.Error(), "names issuer") {
		t.Errorf("Discover with a mismatching issuer = %v", err)
	}
	remote := &RemoteKeys{URL: srv.URL + "/jwks", Client: srv.Client()}
	o, err := NewOIDC(OIDCConfig{Issuer: issuer, Audience: audience, Keys: remote})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	o.now = func() time.Time { return now }
	claims := func(edit func(map[string]any)) map[string]any {
		c := map[string]any{"iss": issuer, "aud": []string{"account", audience}, "sub": "899700123456", "jti": "tok-1",
			"exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(), "nbf": now.Unix(),
			"vigie_role": "clinician", "vigie_authorities": []string{"1.2.3"}}
		if edit != nil {
			edit(c)
		}
		return c
	}
	good := authtest.SignJWT(t, "RS256", "r1", rsaKey, claims(nil))
	tampered := good[:strings.LastIndexByte(good, '.')-2] + "xx" + good[strings.LastIndexByte(good, '.'):]
	tests := []struct {
		name    string
		token   string
		role    Role   // expected on success
		reason  string // expected in the unauthenticated error
		notMine bool
	}{
		{"RS256", good, RoleClinician, "", false},
		{"ES256", authtest.SignJWT(t, "ES256", "e1", ecKey, claims(nil)), RoleClinician, "", false},
		{"audience as string, authorities as string", authtest.SignJWT(t, "ES256", "e1", ecKey, claims(func(c map[string]any) {
			c["aud"] = audience
			c["vigie_role"], c["vigie_authorities"] = "physicist", "1.2.3 1.2.4"
		})), RolePhysicist, "", false},
		{"expired", authtest.SignJWT(t, "RS256", "r1", rsaKey, claims(func(c map[string]any) { c["exp"] = now.Add(-2 * time.Minute).Unix() })), "", "expired", false},
		{"expired within leeway", authtest.SignJWT(t, "RS256", "r1", rsaKey, claims(func(c map[string]any) { c["exp"] = now.Add(-30 * time.Second).Unix() })), RoleClinician, "", false},
		{"no expiry", authtest.SignJWT(t, "RS256", "r1", rsaKey, claims(func(c map[string]any) { delete(c, "exp") })), "", "no expiry", false},
		{"absurd expiry", authtest.SignJWT(t, "RS256", "r1", rsaKey, claims(func(c map[string]any) { c["exp"] = 1e300 })), "", "no expiry", false},
		{"not yet valid", authtest.SignJWT(t, "RS256", "r1", rsaKey, claims(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() })), "", "not yet valid", false},
		{"wrong issuer", authtest.SignJWT(t, "RS256", "r1", rsaKey, claims(func(c map[string]any) { c["iss"] = "https://evil.example" })), "", "issuer", false},
		{"wrong audience", authtest.SignJWT(t, "RS256", "r1", rsaKey, claims(func(c map[string]any) { c["aud"] = "other-service" })), "", "audience", false},
		{"tampered signature", tampered, "", "signature", false},
		{"signed by another key", authtest.SignJWT(t, "ES256", "e1", other, claims(nil)), "", "bad token signature", false},
		{"unknown key id", authtest.SignJWT(t, "ES256", "nope", other, claims(nil)), "", "unknown key", false},
		{"algorithm confusion", authtest.SignJWT(t, "ES256", "r1", ecKey, claims(nil)), "", "does not match key", false},
		{"alg none", func() string {
			h := b64.EncodeToString([]byte(`{"alg":"none","kid":"r1"}`))
			c, _ := json.Marshal(claims(nil))
			return h + "." + b64.EncodeToString(c) + "."
		}(), "", "not accepted", false},
		{"HS256", func() string {
			s := authtest.SignJWT(t, "RS256", "r1", rsaKey, claims(nil))
			return b64.EncodeToString([]byte(`{"alg":"HS256","kid":"r1"}`)) + s[strings.IndexByte(s, '.'):]
		}(), "", "not accepted", false},
		{"missing role", authtest.SignJWT(t, "RS256", "r1", rsaKey, claims(func(c map[string]any) { delete(c, "vigie_role") })), "", "vigie_role", false},
		{"unknown role", authtest.SignJWT(t, "RS256", "r1", rsaKey, claims(func(c map[string]any) { c["vigie_role"] = "root" })), "", "unknown role", false},
		{"ingest without authorities", authtest.SignJWT(t, "RS256", "r1", rsaKey, claims(func(c map[string]any) {
			c["vigie_role"] = "ingest"
			delete(c, "vigie_authorities")
		})), "", "vigie_authorities", false},
		{"no subject", authtest.SignJWT(t, "RS256", "r1", rsaKey, claims(func(c map[string]any) { delete(c, "sub") })), "", "claim sub", false},
		{"malformed header", "!!!." + strings.SplitN(good, ".", 2)[1], "", "malformed", false},
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
				if err != nil || p.Role != tt.role || p.Name != "899700123456" || p.Method != "oidc" || p.CredentialID != "tok-1" {
					t.Fatalf("Authenticate = %+v, %v", p, err)
				}
			default:
				if !errors.Is(err, ErrUnauthenticated) || !strings.Contains(err.Error(), tt.reason) {
					t.Fatalf("err = %v, want unauthenticated %q", err, tt.reason)
				}
			}
		})
	}
	if n := fetches.Load(); n < 1 || n > 2 {
		t.Errorf("JWKS fetched %d times, want 1 or 2 (unknown kids refetch at most once per minute)", n)
	}

	// Key rotation: a token signed by a new key is accepted once the issuer
	// publishes it and the minimum refresh interval has passed.
	newKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	published = map[string]crypto.PublicKey{"e2": &newKey.PublicKey}
	rotated := authtest.SignJWT(t, "ES256", "e2", newKey, claims(nil))
	remote.now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	if p, err := o.Authenticate(context.Background(), rotated); err != nil || p.Role != RoleClinician {
		t.Errorf("after rotation: %+v, %v", p, err)
	}

	// A key set that cannot be fetched is a fault of ours, not the caller's.
	down := &RemoteKeys{URL: srv.URL + "/missing", Client: srv.Client()}
	o2, _ := NewOIDC(OIDCConfig{Issuer: issuer, Audience: audience, Keys: down})
	o2.now = o.now
	if _, err := o2.Authenticate(context.Background(), good); err == nil || errors.Is(err, ErrUnauthenticated) {
		t.Errorf("unreachable JWKS = %v, want an internal error", err)
	}
}

func TestDiscover(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	mux.HandleFunc("/realm/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL + "/realm", "jwks_uri": srv.URL + "/realm/certs"})
	})
	prov, err := Discover(context.Background(), srv.Client(), srv.URL+"/realm")
	if err != nil || prov.JWKSURI != srv.URL+"/realm/certs" {
		t.Errorf("Discover = %+v, %v", prov, err)
	}
	if _, err := Discover(context.Background(), srv.Client(), srv.URL+"/other"); err == nil {
		t.Error("Discover of a missing document succeeded")
	}
}

func TestParseJWKSRejects(t *testing.T) {
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	tests := []struct {
		name, doc, says string
	}{
		{"not json", "{", "jwks"},
		{"weak RSA", `{"keys":[{"kty":"RSA","kid":"w","n":"` + b64.EncodeToString(small.N.Bytes()) + `","e":"AQAB"}]}`, "too weak"},
		{"bad EC point", `{"keys":[{"kty":"EC","kid":"p","crv":"P-256","x":"` + b64.EncodeToString(make([]byte, 32)) + `","y":"` + b64.EncodeToString(make([]byte, 32)) + `"}]}`, "p"},
		{"short EC coordinate", `{"keys":[{"kty":"EC","kid":"s","crv":"P-256","x":"AQ","y":"AQ"}]}`, "malformed"},
	}
	for _, tt := range tests {
		if _, err := ParseJWKS([]byte(tt.doc)); err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.says)
		}
	}
	keys, err := ParseJWKS([]byte(`{"keys":[{"kty":"EC","kid":"p384","crv":"P-384","x":"AQ","y":"AQ"},{"kty":"OKP","kid":"ed","crv":"Ed25519","x":"AQ"}]}`))
	if err != nil || len(keys) != 0 {
		t.Errorf("unsupported keys: %v, %v; want skipped", keys, err)
	}
}

func TestNewOIDCRequires(t *testing.T) {
	keys := StaticKeys{}
	for _, cfg := range []OIDCConfig{{Audience: "a", Keys: keys}, {Issuer: "i", Keys: keys}, {Issuer: "i", Audience: "a"}} {
		if _, err := NewOIDC(cfg); err == nil {
			t.Errorf("NewOIDC(%+v) accepted an incomplete configuration", cfg)
		}
	}
}

// TestOIDCThroughInterceptor: a JWT and an API key both work behind one
// interceptor (Chain), and the audit trail names the JWT's subject.
func TestOIDCThroughInterceptor(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	o, err := NewOIDC(OIDCConfig{Issuer: "https://idp", Audience: "vigie", Keys: StaticKeys{"k": &ecKey.PublicKey}})
	if err != nil {
		t.Fatal(err)
	}
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
	jwt := authtest.SignJWT(t, "ES256", "k", ecKey, map[string]any{"iss": "https://idp", "aud": "vigie", "sub": "psc-8990001", "exp": time.Now().Add(time.Minute).Unix(), "vigie_role": "clinician", "vigie_authorities": "1.2.3"})
	for _, tc := range []struct {
		cred, principal string
		credential      string
	}{{jwt, "psc-8990001", "oidc"}, {secret, "iv-team", "api_key:"}} {
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
