// Package authtest is an OpenID Connect issuer for tests: discovery, keys,
// an authorization endpoint that consents at once, and a token endpoint
// that checks what a real issuer checks (code, redirect URI, client
// secret, PKCE verifier). The tests of package auth and the browser tests
// of the console sign in through it.
package authtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

var b64 = base64.RawURLEncoding

// Issuer is a running test issuer. Set its fields before the login they
// should affect.
type Issuer struct {
	// URL is the issuer identifier and the base of its endpoints.
	URL string
	// Secret is the client secret the token endpoint requires.
	Secret string
	// Claims are added to (or replace) the ID token's claims.
	Claims map[string]any
	// Deny makes the authorization endpoint answer error=access_denied.
	Deny bool
	// BadNonce makes the ID token carry another nonce than asked.
	BadNonce bool

	t     testing.TB
	srv   *httptest.Server
	key   *rsa.PrivateKey
	mu    sync.Mutex
	codes map[string]url.Values // authorization request by code
}

// NewIssuer starts an issuer whose ID tokens carry claims; it stops with
// the test.
func NewIssuer(t testing.TB, claims map[string]any) *Issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := &Issuer{t: t, key: key, Secret: "s3cret", Claims: claims, codes: map[string]url.Values{}}
	mux := http.NewServeMux()
	f.srv = httptest.NewServer(mux)
	f.URL = f.srv.URL
	t.Cleanup(f.srv.Close)
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": f.URL, "jwks_uri": f.URL + "/jwks",
			"authorization_endpoint": f.URL + "/authorize", "token_endpoint": f.URL + "/token"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		w.Write(JWKS(t, map[string]crypto.PublicKey{"k1": &key.PublicKey}))
	})
	mux.HandleFunc("GET /authorize", f.authorize)
	mux.HandleFunc("POST /token", f.token)
	return f
}

// Client returns an HTTP client for the issuer's server.
func (f *Issuer) Client() *http.Client { return f.srv.Client() }

func (f *Issuer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || !strings.Contains(q.Get("scope"), "openid") {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	v := url.Values{"state": {q.Get("state")}}
	if f.Deny {
		v.Set("error", "access_denied")
	} else {
		b := make([]byte, 16)
		rand.Read(b)
		code := b64.EncodeToString(b)
		f.mu.Lock()
		f.codes[code] = q
		f.mu.Unlock()
		v.Set("code", code)
	}
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (f *Issuer) token(w http.ResponseWriter, r *http.Request) {
	refuse := func(status int, code string) {
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"error": code})
	}
	id, secret, _ := r.BasicAuth()
	if err := r.ParseForm(); err != nil {
		refuse(http.StatusBadRequest, "invalid_request")
		return
	}
	f.mu.Lock()
	auth, ok := f.codes[r.PostForm.Get("code")]
	delete(f.codes, r.PostForm.Get("code"))
	f.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case !ok:
		refuse(http.StatusBadRequest, "invalid_grant")
		return
	case id != auth.Get("client_id") || secret != f.Secret:
		refuse(http.StatusUnauthorized, "invalid_client")
		return
	case r.PostForm.Get("redirect_uri") != auth.Get("redirect_uri") || b64.EncodeToString(sum[:]) != auth.Get("code_challenge"):
		refuse(http.StatusBadRequest, "invalid_grant")
		return
	}
	nonce := auth.Get("nonce")
	if f.BadNonce {
		nonce = "other"
	}
	claims := map[string]any{"iss": f.URL, "aud": auth.Get("client_id"), "exp": time.Now().Add(time.Hour).Unix(),
		"iat": time.Now().Unix(), "nonce": nonce}
	for k, v := range f.Claims {
		claims[k] = v
	}
	json.NewEncoder(w).Encode(map[string]string{"id_token": SignJWT(f.t, "RS256", "k1", f.key, claims), "token_type": "Bearer"})
}

// SignJWT makes a compact JWS of claims signed with key (RS256 with an RSA
// key, ES256 with a P-256 key) under the given header fields.
func SignJWT(t testing.TB, alg, kid string, key crypto.Signer, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(map[string]any{"alg": alg, "kid": kid, "typ": "JWT"})
	c, _ := json.Marshal(claims)
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	switch k := key.(type) {
	case *rsa.PrivateKey:
		var err error
		if sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, digest[:]); err != nil {
			t.Fatal(err)
		}
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, k, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	}
	return input + "." + b64.EncodeToString(sig)
}

// JWKS publishes public keys as a JWKS document, with two keys Vigie must
// skip (an HMAC secret and an encryption key).
func JWKS(t testing.TB, keys map[string]crypto.PublicKey) []byte {
	t.Helper()
	var out []map[string]string
	for kid, k := range keys {
		switch p := k.(type) {
		case *rsa.PublicKey:
			out = append(out, map[string]string{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
				"n": b64.EncodeToString(p.N.Bytes()), "e": b64.EncodeToString(big.NewInt(int64(p.E)).Bytes())})
		case *ecdsa.PublicKey:
			b, err := p.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, map[string]string{"kty": "EC", "kid": kid, "crv": "P-256", "x": b64.EncodeToString(b[1:33]), "y": b64.EncodeToString(b[33:])})
		}
	}
	out = append(out, map[string]string{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}, map[string]string{"kty": "RSA", "kid": "enc", "use": "enc"})
	doc, _ := json.Marshal(map[string]any{"keys": out})
	return doc
}
