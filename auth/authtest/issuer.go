// Package authtest runs an OpenID Connect provider for tests: the
// github.com/oauth2-proxy/mockoidc server on loopback (discovery, keys, an
// authorization endpoint that consents at once, a token endpoint checking
// the client secret and the PKCE verifier), whose ID tokens carry the
// claims a test gives. The tests of package auth, of `vigie serve` and the
// browser tests of the console sign in through it.
package authtest

import (
	"crypto/rsa"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// ClientID is the client the provider knows Vigie as.
const ClientID = "vigie-console"

// Issuer is a running provider. Set its fields before the login they
// should affect.
type Issuer struct {
	// URL is the issuer identifier (its discovery document is at
	// URL/.well-known/openid-configuration).
	URL string
	// Secret is the client secret the token endpoint requires.
	Secret string
	// Claims are added to (or replace) the ID token's claims.
	Claims map[string]any
	// Deny makes the authorization endpoint send the browser back with
	// error=access_denied (a person who refused).
	Deny bool
	// M is the provider itself: M.Keypair signs (replace it to rotate the
	// key), M.FastForward moves its clock.
	M *mockoidc.MockOIDC
}

// NewIssuer starts a provider on loopback whose ID tokens carry claims;
// it stops with the test.
func NewIssuer(t testing.TB, claims map[string]any) *Issuer {
	return NewIssuerKey(t, claims, nil, nil)
}

// NewIssuerKey is NewIssuer with a signing key and a middleware of the
// test's around every endpoint (nil: none).
func NewIssuerKey(t testing.TB, claims map[string]any, key *rsa.PrivateKey, mw func(http.Handler) http.Handler) *Issuer {
	t.Helper()
	m, err := mockoidc.NewServer(key)
	if err != nil {
		t.Fatal(err)
	}
	m.ClientID = ClientID
	f := &Issuer{Secret: m.ClientSecret, Claims: claims, M: m}
	// A person who refuses comes back to the client with an error.
	if err := m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == mockoidc.AuthorizationEndpoint {
				// Each login signs in the person of the current claims.
				f.M.QueueUser(&user{f})
			}
			if f.Deny && r.URL.Path == mockoidc.AuthorizationEndpoint {
				back, err := url.Parse(r.URL.Query().Get("redirect_uri"))
				if err == nil {
					back.RawQuery = url.Values{"error": {"access_denied"}, "state": {r.URL.Query().Get("state")}}.Encode()
					http.Redirect(w, r, back.String(), http.StatusFound)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}); err != nil {
		t.Fatal(err)
	}
	if mw != nil {
		if err := m.AddMiddleware(mw); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	f.URL = m.Issuer()
	return f
}

// Client returns an HTTP client for the provider.
func (f *Issuer) Client() *http.Client { return http.DefaultClient }

// user is the signed-in person: its ID token's claims are the
// provider's registered claims and nonce, then the Issuer's Claims.
type user struct{ f *Issuer }

func (u *user) ID() string {
	if s, ok := u.f.Claims["sub"].(string); ok {
		return s
	}
	return "user-1"
}

func (u *user) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]string{"sub": u.ID()})
}

func (u *user) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	b, err := json.Marshal(base)
	if err != nil {
		return nil, err
	}
	out := jwt.MapClaims{}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	for k, v := range u.f.Claims {
		out[k] = v
	}
	return out, nil
}

// Token signs in through the provider's endpoints as a client would
// (authorization with PKCE, then the code exchanged at the token
// endpoint) and returns the ID token it issues for the current Claims.
func (f *Issuer) Token(t testing.TB) string {
	t.Helper()
	const verifier = "a-verifier-of-at-least-forty-three-characters-for-pkce"
	challenge, _ := mockoidc.GenerateCodeChallenge(mockoidc.CodeChallengeMethodS256, verifier)
	q := url.Values{"client_id": {ClientID}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s"}, "nonce": {"n"},
		"redirect_uri": {"http://127.0.0.1/cb"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(f.M.AuthorizationEndpoint() + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || back.Query().Get("code") == "" {
		t.Fatalf("authorization: HTTP %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = http.PostForm(f.M.TokenEndpoint(), url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")},
		"client_id": {ClientID}, "client_secret": {f.Secret}, "redirect_uri": {"http://127.0.0.1/cb"}, "code_verifier": {verifier}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		IDToken string `json:"id_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || doc.IDToken == "" {
		t.Fatalf("token endpoint: HTTP %d, %v", resp.StatusCode, err)
	}
	return doc.IDToken
}
