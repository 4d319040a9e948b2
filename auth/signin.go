package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// SignIn paths, served by SignIn.Handler.
const (
	SignInConfigPath   = "/auth/config"
	SignInLoginPath    = "/auth/login"
	SignInCallbackPath = "/auth/callback"
	SignInSessionPath  = "/auth/session"
)

// SignInConfig configures the console's OpenID Connect sign-in.
type SignInConfig struct {
	// Verifier is the API's authenticator of the issuer's tokens: it gives
	// the issuer's endpoints, the client id (its audience: the token
	// handed to the console is the ID token) and checks the ID token
	// exactly as the API will check it on every call.
	Verifier *OIDC
	// ClientSecret, when set, authenticates Vigie at the token endpoint
	// (a confidential client, as Pro Santé Connect registers them); PKCE
	// is used either way.
	ClientSecret string
	// Scopes asked for; "openid" is always included.
	Scopes []string
	// PublicURL is the server's address as browsers reach it (for the
	// redirect URI registered at the issuer), e.g. https://vigie.example.
	// Empty derives it from each request's Host and TLS state, which is
	// right only when no proxy rewrites them.
	PublicURL string
	// Log receives sign-in outcomes: principal identifiers, professions
	// and reasons, never tokens nor names.
	Log *slog.Logger
}

// SignIn runs the authorization code flow with PKCE (golang.org/x/oauth2)
// on behalf of the web console: the browser is sent to the issuer, comes
// back to the callback with a code, Vigie exchanges the code for an ID
// token, verifies it (go-oidc, with the nonce), and
// hands it to the console once through a short-lived single-use handle, so
// that the token never travels in a URL. A nil *SignIn serves only the
// configuration, saying that redirect sign-in is off.
type SignIn struct {
	cfg SignInConfig
	now func() time.Time

	mu       sync.Mutex
	pending  map[string]pendingLogin // by state
	handoffs map[string]handoff      // by handle
}

type pendingLogin struct {
	verifier, nonce, redirect string
	expires                   time.Time
}

type handoff struct {
	token   string
	expires time.Time
}

const (
	// loginTTL bounds the time a person may spend at the issuer's page.
	loginTTL = 10 * time.Minute
	// handoffTTL bounds the time between the callback and the console
	// collecting its token (one page load).
	handoffTTL = time.Minute
	// maxPending bounds the logins in flight, so that a flood of
	// /auth/login requests cannot grow memory without end.
	maxPending  = 10000
	stateCookie = "vigie_oidc_state"
)

// NewSignIn returns the sign-in flow for cfg.
func NewSignIn(cfg SignInConfig) (*SignIn, error) {
	switch {
	case cfg.Verifier == nil:
		return nil, errors.New("auth: sign-in: an ID token verifier is required")
	case cfg.Verifier.provider.Endpoint().AuthURL == "" || cfg.Verifier.provider.Endpoint().TokenURL == "":
		return nil, errors.New("auth: sign-in: the issuer publishes no authorization or token endpoint")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	return &SignIn{cfg: cfg, now: time.Now, pending: map[string]pendingLogin{}, handoffs: map[string]handoff{}}, nil
}

// oauth returns the OAuth 2 client configuration for a redirect URI.
func (s *SignIn) oauth(redirect string) *oauth2.Config {
	scopes := []string{oidc.ScopeOpenID}
	for _, sc := range s.cfg.Scopes {
		if sc != oidc.ScopeOpenID && sc != "" {
			scopes = append(scopes, sc)
		}
	}
	return &oauth2.Config{ClientID: s.cfg.Verifier.cfg.Audience, ClientSecret: s.cfg.ClientSecret,
		Endpoint: s.cfg.Verifier.provider.Endpoint(), RedirectURL: redirect, Scopes: scopes}
}

// Handler serves the four sign-in paths; mount it on "/auth/".
func (s *SignIn) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+SignInConfigPath, s.config)
	if s != nil {
		mux.HandleFunc("GET "+SignInLoginPath, s.login)
		mux.HandleFunc("GET "+SignInCallbackPath, s.callback)
		mux.HandleFunc("POST "+SignInSessionPath, s.session)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer")
		mux.ServeHTTP(w, r)
	})
}

// config tells the console whether to offer the redirect sign-in.
func (s *SignIn) config(w http.ResponseWriter, r *http.Request) {
	doc := map[string]any{"oidc": s != nil}
	if s != nil {
		doc["issuer"] = s.cfg.Verifier.cfg.Issuer
		doc["login"] = SignInLoginPath
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(doc)
}

func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *SignIn) redirectURI(r *http.Request) string {
	base := s.cfg.PublicURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return base + SignInCallbackPath
}

// login sends the browser to the issuer.
func (s *SignIn) login(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	p := pendingLogin{verifier: oauth2.GenerateVerifier(), nonce: random(), redirect: s.redirectURI(r), expires: now.Add(loginTTL)}
	state := random()
	s.mu.Lock()
	s.sweep(now)
	full := len(s.pending) >= maxPending
	if !full {
		s.pending[state] = p
	}
	s.mu.Unlock()
	if full {
		http.Error(w, "too many sign-ins in progress, try again in a few minutes", http.StatusServiceUnavailable)
		return
	}
	// The cookie ties the callback to the browser that started the
	// login: a callback URL sent to someone else signs no one in.
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: state, Path: "/auth/", MaxAge: int(loginTTL.Seconds()),
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
	target := s.oauth(p.redirect).AuthCodeURL(state, oidc.Nonce(p.nonce), oauth2.S256ChallengeOption(p.verifier))
	http.Redirect(w, r, target, http.StatusFound)
}

// sweep drops expired logins and handoffs; s.mu is held.
func (s *SignIn) sweep(now time.Time) {
	for k, p := range s.pending {
		if now.After(p.expires) {
			delete(s.pending, k)
		}
	}
	for k, h := range s.handoffs {
		if now.After(h.expires) {
			delete(s.handoffs, k)
		}
	}
}

// fail sends the browser back to the console's sign-in page with a reason
// code it can explain in French; the details go to the log.
func (s *SignIn) fail(w http.ResponseWriter, r *http.Request, code, detail string) {
	s.cfg.Log.Warn("console sign-in refused", "reason", code, "detail", detail)
	http.Redirect(w, r, "/#/connexion/echec/"+code, http.StatusSeeOther)
}

// callback receives the issuer's answer, exchanges the code and verifies
// the ID token.
func (s *SignIn) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: "", Path: "/auth/", MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
	c, err := r.Cookie(stateCookie)
	if state == "" || err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(state)) != 1 {
		s.fail(w, r, "etat", "state missing or not this browser's")
		return
	}
	now := s.now()
	s.mu.Lock()
	p, ok := s.pending[state]
	delete(s.pending, state)
	s.mu.Unlock()
	if !ok || now.After(p.expires) {
		s.fail(w, r, "etat", "unknown or expired state")
		return
	}
	if e := q.Get("error"); e != "" {
		s.fail(w, r, "refus", "issuer error "+e)
		return
	}
	code := q.Get("code")
	if code == "" {
		s.fail(w, r, "refus", "no code")
		return
	}
	ctx := context.WithValue(r.Context(), oauth2.HTTPClient, s.cfg.Verifier.cfg.Client)
	tok, err := s.oauth(p.redirect).Exchange(ctx, code, oauth2.VerifierOption(p.verifier))
	if err != nil {
		s.fail(w, r, "echange", err.Error())
		return
	}
	idToken, _ := tok.Extra("id_token").(string)
	if idToken == "" {
		s.fail(w, r, "echange", "the token endpoint gave no id_token")
		return
	}
	claims, verified, err := s.cfg.Verifier.verify(ctx, idToken)
	if err != nil {
		s.fail(w, r, "jeton", err.Error())
		return
	}
	if subtle.ConstantTimeCompare([]byte(verified.Nonce), []byte(p.nonce)) != 1 {
		s.fail(w, r, "jeton", "nonce does not match")
		return
	}
	principal, err := s.cfg.Verifier.principal(claims)
	if err != nil {
		s.fail(w, r, "droits", err.Error())
		return
	}
	handle := random()
	s.mu.Lock()
	s.sweep(now)
	s.handoffs[handle] = handoff{token: idToken, expires: now.Add(handoffTTL)}
	s.mu.Unlock()
	s.cfg.Log.Info("console sign-in", "principal", principal.Name, "profession", principal.Profession, "role", string(principal.Role))
	http.Redirect(w, r, "/#/connexion/oidc/"+handle, http.StatusSeeOther)
}

// session hands the console its token, once.
func (s *SignIn) session(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Handle string `json:"handle"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil || req.Handle == "" {
		http.Error(w, "handle: a JSON body {\"handle\": …} is required", http.StatusBadRequest)
		return
	}
	now := s.now()
	s.mu.Lock()
	h, ok := s.handoffs[req.Handle]
	delete(s.handoffs, req.Handle)
	s.mu.Unlock()
	if !ok || now.After(h.expires) {
		http.Error(w, "handle: unknown, already used or expired", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"token": h.token})
}
