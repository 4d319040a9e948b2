package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
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
	// Provider gives the issuer's authorization and token endpoints
	// (from Discover).
	Provider *Provider
	// ClientID is the client Vigie is registered under at the issuer; it
	// is also the audience the OIDC authenticator requires, since the
	// token handed to the console is the ID token.
	ClientID string
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
	// Verifier checks the ID token returned by the issuer exactly as the
	// API will check it on every call.
	Verifier *OIDC
	// Client calls the token endpoint (default: 10 s timeout).
	Client *http.Client
	// Log receives sign-in outcomes: principal names and reasons, never
	// tokens.
	Log *slog.Logger
}

// SignIn runs the authorization code flow with PKCE on behalf of the web
// console: the browser is sent to the issuer, comes back to the callback
// with a code, Vigie exchanges the code for an ID token, verifies it, and
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
	case cfg.Provider == nil || cfg.Provider.AuthorizationEndpoint == "" || cfg.Provider.TokenEndpoint == "":
		return nil, errors.New("auth: sign-in: the issuer publishes no authorization or token endpoint")
	case cfg.ClientID == "":
		return nil, errors.New("auth: sign-in: client id is required")
	case cfg.Verifier == nil:
		return nil, errors.New("auth: sign-in: an ID token verifier is required")
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	return &SignIn{cfg: cfg, now: time.Now, pending: map[string]pendingLogin{}, handoffs: map[string]handoff{}}, nil
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
		doc["issuer"] = s.cfg.Provider.Issuer
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
	p := pendingLogin{verifier: random(), nonce: random(), redirect: s.redirectURI(r), expires: now.Add(loginTTL)}
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
	challenge := sha256.Sum256([]byte(p.verifier))
	scopes := []string{"openid"}
	for _, sc := range s.cfg.Scopes {
		if sc != "openid" && sc != "" {
			scopes = append(scopes, sc)
		}
	}
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {s.cfg.ClientID},
		"redirect_uri":          {p.redirect},
		"scope":                 {strings.Join(scopes, " ")},
		"state":                 {state},
		"nonce":                 {p.nonce},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(challenge[:])},
		"code_challenge_method": {"S256"},
	}
	target := s.cfg.Provider.AuthorizationEndpoint
	if strings.Contains(target, "?") {
		target += "&" + q.Encode()
	} else {
		target += "?" + q.Encode()
	}
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
	idToken, err := s.exchange(r.Context(), code, p)
	if err != nil {
		s.fail(w, r, "echange", err.Error())
		return
	}
	claims, err := s.cfg.Verifier.verify(r.Context(), idToken)
	if err != nil {
		s.fail(w, r, "jeton", err.Error())
		return
	}
	if n, _ := claims["nonce"].(string); subtle.ConstantTimeCompare([]byte(n), []byte(p.nonce)) != 1 {
		s.fail(w, r, "jeton", "nonce does not match")
		return
	}
	principal, err := s.cfg.Verifier.cfg.Map(claims)
	if err != nil {
		s.fail(w, r, "droits", err.Error())
		return
	}
	handle := random()
	s.mu.Lock()
	s.sweep(now)
	s.handoffs[handle] = handoff{token: idToken, expires: now.Add(handoffTTL)}
	s.mu.Unlock()
	s.cfg.Log.Info("console sign-in", "principal", principal.Name, "role", string(principal.Role))
	http.Redirect(w, r, "/#/connexion/oidc/"+handle, http.StatusSeeOther)
}

// exchange trades the authorization code for the ID token.
func (s *SignIn) exchange(ctx context.Context, code string, p pendingLogin) (string, error) {
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {p.redirect},
		"client_id":     {s.cfg.ClientID},
		"code_verifier": {p.verifier},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.Provider.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if s.cfg.ClientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(s.cfg.ClientID), url.QueryEscape(s.cfg.ClientSecret))
	}
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("token endpoint: %w", err)
	}
	defer resp.Body.Close()
	var doc struct {
		IDToken string `json:"id_token"`
		Error   string `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return "", fmt.Errorf("token endpoint: HTTP %d: %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || doc.Error != "" {
		return "", fmt.Errorf("token endpoint: HTTP %d: %s", resp.StatusCode, doc.Error)
	}
	if doc.IDToken == "" {
		return "", errors.New("token endpoint: no id_token")
	}
	return doc.IDToken, nil
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
