package auth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"vigie/auth/authtest"
)

// signInServer runs Vigie's sign-in handler against the issuer, with the
// authenticator the API would use.
func signInServer(t *testing.T, f *authtest.Issuer, secret string) (*httptest.Server, *OIDC) {
	t.Helper()
	verifier := newVerifier(t, f.URL, OIDCConfig{})
	si, err := NewSignIn(SignInConfig{Verifier: verifier, ClientSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", si.Handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("console")) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, verifier
}

// browser follows redirects like a browser, keeping cookies, and returns
// the fragment of the final console URL (which a browser never sends).
func browse(t *testing.T, start string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	var last *url.URL
	client := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		last = req.URL
		return nil
	}}
	resp, err := client.Get(start)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if last == nil {
		t.Fatalf("GET %s: no redirect (HTTP %d)", start, resp.StatusCode)
	}
	return last.Fragment
}

func collect(t *testing.T, srv *httptest.Server, handle string) (int, string) {
	t.Helper()
	resp, err := http.Post(srv.URL+SignInSessionPath, "application/json", strings.NewReader(`{"handle":"`+handle+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Token string `json:"token"`
	}
	json.NewDecoder(resp.Body).Decode(&doc)
	return resp.StatusCode, doc.Token
}

func TestSignInFlow(t *testing.T) {
	f := authtest.NewIssuer(t, map[string]any{"sub": "dr.martin", "vigie_role": "clinician", "vigie_authorities": "1.2.3"})
	srv, verifier := signInServer(t, f, f.Secret)

	frag := browse(t, srv.URL+SignInLoginPath)
	handle, ok := strings.CutPrefix(frag, "/connexion/oidc/")
	if !ok || handle == "" {
		t.Fatalf("final console route %q, want #/connexion/oidc/<handle>", frag)
	}
	code, token := collect(t, srv, handle)
	if code != http.StatusOK || token == "" {
		t.Fatalf("collect: HTTP %d, token %q", code, token)
	}
	p, err := verifier.Authenticate(context.Background(), token)
	if err != nil || p.Name != "dr.martin" || p.Role != RoleClinician {
		t.Fatalf("token handed over authenticates as %+v, %v", p, err)
	}
	// A handle is good once.
	if code, _ := collect(t, srv, handle); code != http.StatusNotFound {
		t.Errorf("second collect: HTTP %d, want 404", code)
	}
}

func TestSignInRefusals(t *testing.T) {
	tests := []struct {
		name   string
		claims map[string]any
		setup  func(f *authtest.Issuer)
		secret string // Vigie's client secret; "" means the issuer's own
		want   string // console route after the flow
	}{
		{"issuer refuses", map[string]any{"sub": "a", "vigie_role": "clinician", "vigie_authorities": "1.2.3"}, func(f *authtest.Issuer) { f.Deny = true }, "", "/connexion/echec/refus"},
		{"wrong client secret", map[string]any{"sub": "a", "vigie_role": "clinician", "vigie_authorities": "1.2.3"}, nil, "wrong", "/connexion/echec/echange"},
		{"replayed nonce", map[string]any{"sub": "a", "vigie_role": "clinician", "vigie_authorities": "1.2.3"}, func(f *authtest.Issuer) { f.Claims["nonce"] = "other" }, "", "/connexion/echec/jeton"},
		{"no role claim", map[string]any{"sub": "a"}, nil, "", "/connexion/echec/droits"},
		{"token for another audience", map[string]any{"sub": "a", "vigie_role": "clinician", "vigie_authorities": "1.2.3", "aud": "other-app"}, nil, "", "/connexion/echec/jeton"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := authtest.NewIssuer(t, tc.claims)
			if tc.setup != nil {
				tc.setup(f)
			}
			secret := tc.secret
			if secret == "" {
				secret = f.Secret
			}
			srv, _ := signInServer(t, f, secret)
			if got := browse(t, srv.URL+SignInLoginPath); got != tc.want {
				t.Errorf("console route %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSignInCallbackNeedsTheBrowserThatStarted(t *testing.T) {
	f := authtest.NewIssuer(t, map[string]any{"sub": "a", "vigie_role": "clinician", "vigie_authorities": "1.2.3"})
	srv, _ := signInServer(t, f, f.Secret)
	// Start a login, stop at the issuer's answer, and replay the callback
	// from another browser (no state cookie).
	jar, _ := cookiejar.New(nil)
	var callback string
	client := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == SignInCallbackPath {
			callback = req.URL.String()
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := client.Get(srv.URL + SignInLoginPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if callback == "" {
		t.Fatal("the issuer did not send back to the callback")
	}
	if got := browse(t, callback); got != "/connexion/echec/etat" {
		t.Errorf("callback from another browser: route %q, want /connexion/echec/etat", got)
	}
}

func TestSignInConfig(t *testing.T) {
	var off *SignIn
	srv := httptest.NewServer(off.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + SignInConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if doc["oidc"] != false {
		t.Errorf("config without sign-in = %v, want oidc false", doc)
	}
	if resp, _ := http.Get(srv.URL + SignInLoginPath); resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("login without sign-in configured: %v, want 404", resp)
	}
}
