package auth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// OIDCConfig configures the verification of OpenID Connect JWTs (the
// regional e-CPS / Pro Santé Connect case): which issuer, which audience,
// where its keys are, and how a token's claims become a Principal.
type OIDCConfig struct {
	// Issuer is the expected "iss" claim, exactly (required).
	Issuer string
	// Audience must be in the "aud" claim (required): the client id Vigie
	// is registered under, so that a token minted for another service is
	// refused.
	Audience string
	// Keys gives the issuer's signing keys (required): a RemoteKeys on the
	// issuer's jwks_uri, or StaticKeys.
	Keys KeySet
	// Map turns verified claims into the principal's name, role and
	// authorities. Nil means ClaimMapper{} (claims sub, vigie_role,
	// vigie_authorities). A deployment whose identity provider knows
	// nothing of Vigie's roles maps subjects through its own table here.
	Map func(claims map[string]any) (*Principal, error)
	// Leeway tolerates clock skew on exp and nbf (default 60 s).
	Leeway time.Duration
}

// OIDC is an Authenticator of JWTs signed with RS256 or ES256 by the
// configured issuer. Only those two algorithms are accepted, and the key's
// type must match the token's algorithm: "none", HMAC and algorithm
// confusion are refused.
type OIDC struct {
	cfg OIDCConfig
	now func() time.Time
}

// NewOIDC returns a JWT authenticator for cfg.
func NewOIDC(cfg OIDCConfig) (*OIDC, error) {
	switch {
	case cfg.Issuer == "":
		return nil, errors.New("auth: oidc: issuer is required")
	case cfg.Audience == "":
		return nil, errors.New("auth: oidc: audience is required")
	case cfg.Keys == nil:
		return nil, errors.New("auth: oidc: a key set is required")
	}
	if cfg.Map == nil {
		cfg.Map = ClaimMapper{}.Map
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = time.Minute
	}
	return &OIDC{cfg: cfg, now: time.Now}, nil
}

// maxJWT bounds the size of a credential worth parsing.
const maxJWT = 16 << 10

// Authenticate implements Authenticator: ErrNotMine for a credential that
// is not a compact JWS (three dot-separated parts), an unauthenticated
// error for a token that fails any check.
func (o *OIDC) Authenticate(ctx context.Context, credential string) (*Principal, error) {
	if strings.HasPrefix(credential, KeyPrefix) || strings.Count(credential, ".") != 2 {
		return nil, ErrNotMine
	}
	if len(credential) > maxJWT {
		return nil, unauthenticated("token too large")
	}
	claims, err := o.verify(ctx, credential)
	if err != nil {
		return nil, err
	}
	p, err := o.cfg.Map(claims)
	if err != nil {
		return nil, unauthenticated("token claims: " + err.Error())
	}
	p.Method = "oidc"
	if jti, ok := claims["jti"].(string); ok {
		p.CredentialID = jti
	}
	return p, nil
}

// verify checks the signature and the registered claims and returns the
// claims.
func (o *OIDC) verify(ctx context.Context, token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	var header struct {
		Alg  string   `json:"alg"`
		Kid  string   `json:"kid"`
		Crit []string `json:"crit"`
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		return nil, unauthenticated("malformed token header")
	}
	if len(header.Crit) > 0 {
		return nil, unauthenticated("token header has critical extensions")
	}
	if header.Alg != "RS256" && header.Alg != "ES256" {
		// Checked before any key is looked up: junk costs no JWKS fetch.
		return nil, unauthenticated(fmt.Sprintf("token algorithm %q is not accepted (RS256, ES256)", header.Alg))
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, unauthenticated("malformed token signature")
	}
	key, err := o.cfg.Keys.Key(ctx, header.Kid)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch header.Alg {
	case "RS256":
		pub, ok := key.(*rsa.PublicKey)
		if !ok {
			return nil, unauthenticated("token algorithm RS256 does not match key " + header.Kid)
		}
		if rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) != nil {
			return nil, unauthenticated("bad token signature")
		}
	case "ES256":
		pub, ok := key.(*ecdsa.PublicKey)
		if !ok || pub.Curve != elliptic.P256() {
			return nil, unauthenticated("token algorithm ES256 does not match key " + header.Kid)
		}
		if len(sig) != 64 {
			return nil, unauthenticated("bad token signature")
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(pub, digest[:], r, s) {
			return nil, unauthenticated("bad token signature")
		}
	}

	var claims map[string]any
	if err := decodeSegment(parts[1], &claims); err != nil {
		return nil, unauthenticated("malformed token claims")
	}
	if iss, _ := claims["iss"].(string); iss != o.cfg.Issuer {
		return nil, unauthenticated("token issuer is not the configured one")
	}
	if !audienceHas(claims["aud"], o.cfg.Audience) {
		return nil, unauthenticated("token audience is not this service")
	}
	now := o.now()
	exp, ok := numericDate(claims["exp"])
	if !ok {
		return nil, unauthenticated("token has no expiry")
	}
	if !now.Before(exp.Add(o.cfg.Leeway)) {
		return nil, unauthenticated("token expired")
	}
	if v, present := claims["nbf"]; present {
		nbf, ok := numericDate(v)
		if !ok || now.Add(o.cfg.Leeway).Before(nbf) {
			return nil, unauthenticated("token not yet valid")
		}
	}
	return claims, nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

func audienceHas(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return a == want
	case []any:
		for _, x := range a {
			if s, ok := x.(string); ok && s == want {
				return true
			}
		}
	}
	return false
}

// numericDate reads a JWT NumericDate (seconds since the epoch, possibly
// fractional); values before 1970 or after year 9999 are refused.
func numericDate(v any) (time.Time, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f > 253402300799 {
		return time.Time{}, false
	}
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64((f-sec)*1e9)), true
}

// ClaimMapper is the default mapping of claims to a principal: the name
// from NameClaim (default "sub"), the role from RoleClaim (default
// "vigie_role", a string), the authorities from AuthoritiesClaim (default
// "vigie_authorities", a list of strings or a space-separated string).
type ClaimMapper struct {
	NameClaim        string
	RoleClaim        string
	AuthoritiesClaim string
}

// Map implements OIDCConfig.Map.
func (m ClaimMapper) Map(claims map[string]any) (*Principal, error) {
	nameClaim, roleClaim, authClaim := cmpOrString(m.NameClaim, "sub"), cmpOrString(m.RoleClaim, "vigie_role"), cmpOrString(m.AuthoritiesClaim, "vigie_authorities")
	name, _ := claims[nameClaim].(string)
	if err := checkName(name); err != nil {
		return nil, fmt.Errorf("claim %s: %w", nameClaim, err)
	}
	roleName, _ := claims[roleClaim].(string)
	role, err := ParseRole(roleName)
	if err != nil {
		return nil, fmt.Errorf("claim %s: %w", roleClaim, err)
	}
	var auths []string
	switch a := claims[authClaim].(type) {
	case string:
		auths = strings.Fields(a)
	case []any:
		for _, x := range a {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("claim %s holds a non-string", authClaim)
			}
			auths = append(auths, s)
		}
	case nil:
	default:
		return nil, fmt.Errorf("claim %s is neither a list nor a string", authClaim)
	}
	auths, err = checkAuthorities(role, auths)
	if err != nil {
		return nil, fmt.Errorf("claim %s: %w", authClaim, err)
	}
	return &Principal{Name: name, Role: role, Authorities: auths}, nil
}

func cmpOrString(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// KeySet gives the public key of a key id. Errors must wrap
// ErrUnauthenticated when the key is unknown, and not when the keys could
// not be fetched (a fault of ours, answered as internal).
type KeySet interface {
	Key(ctx context.Context, kid string) (crypto.PublicKey, error)
}

// StaticKeys is a fixed key set, parsed from a JWKS document.
type StaticKeys map[string]crypto.PublicKey

// Key implements KeySet.
func (s StaticKeys) Key(_ context.Context, kid string) (crypto.PublicKey, error) {
	if k, ok := s[kid]; ok {
		return k, nil
	}
	return nil, unauthenticated(fmt.Sprintf("token signed by unknown key %q", kid))
}

// ParseJWKS reads a JSON Web Key Set (RFC 7517): RSA keys of at least 2048
// bits and EC P-256 keys meant for signatures. Keys of other types, curves
// or uses are skipped, so that an issuer publishing extra kinds of keys
// still works; a malformed key of a supported type is an error.
func ParseJWKS(doc []byte) (StaticKeys, error) {
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			Use string `json:"use"`
			Alg string `json:"alg"`
			N   string `json:"n"`
			E   string `json:"e"`
			Crv string `json:"crv"`
			X   string `json:"x"`
			Y   string `json:"y"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, fmt.Errorf("auth: jwks: %w", err)
	}
	keys := StaticKeys{}
	for i, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		switch {
		case k.Kty == "RSA" && (k.Alg == "" || k.Alg == "RS256"):
			n, err1 := base64.RawURLEncoding.DecodeString(k.N)
			e, err2 := base64.RawURLEncoding.DecodeString(k.E)
			if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
				return nil, fmt.Errorf("auth: jwks: key %d (%s): malformed RSA key", i, k.Kid)
			}
			pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
			if pub.N.BitLen() < 2048 || pub.E < 3 || pub.E%2 == 0 {
				return nil, fmt.Errorf("auth: jwks: key %d (%s): RSA key too weak (%d bits, e=%d)", i, k.Kid, pub.N.BitLen(), pub.E)
			}
			keys[k.Kid] = pub
		case k.Kty == "EC" && k.Crv == "P-256" && (k.Alg == "" || k.Alg == "ES256"):
			x, err1 := base64.RawURLEncoding.DecodeString(k.X)
			y, err2 := base64.RawURLEncoding.DecodeString(k.Y)
			if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
				return nil, fmt.Errorf("auth: jwks: key %d (%s): malformed P-256 key", i, k.Kid)
			}
			pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), slices.Concat([]byte{4}, x, y))
			if err != nil {
				return nil, fmt.Errorf("auth: jwks: key %d (%s): %w", i, k.Kid, err)
			}
			keys[k.Kid] = pub
		}
	}
	return keys, nil
}

// RemoteKeys is the key set published at an issuer's jwks_uri, fetched on
// first use, again when a token names a key id not seen yet (key rotation)
// but at most once per MinRefresh, and again when older than MaxAge.
type RemoteKeys struct {
	URL        string
	Client     *http.Client  // nil: a client with a 10 s timeout
	MinRefresh time.Duration // default 1 min
	MaxAge     time.Duration // default 1 h

	mu      sync.Mutex
	keys    StaticKeys
	fetched time.Time
	now     func() time.Time
}

// Key implements KeySet.
func (r *RemoteKeys) Key(ctx context.Context, kid string) (crypto.PublicKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if r.now != nil {
		now = r.now()
	}
	minRefresh, maxAge := r.MinRefresh, r.MaxAge
	if minRefresh <= 0 {
		minRefresh = time.Minute
	}
	if maxAge <= 0 {
		maxAge = time.Hour
	}
	_, known := r.keys[kid]
	stale := r.keys == nil || now.Sub(r.fetched) > maxAge
	if stale || (!known && now.Sub(r.fetched) > minRefresh) {
		keys, err := r.fetch(ctx)
		if err != nil && r.keys == nil {
			return nil, err
		}
		if err == nil {
			r.keys, r.fetched = keys, now
		}
		// On a failed refresh, the keys already known keep working.
	}
	return r.keys.Key(ctx, kid)
}

func (r *RemoteKeys) fetch(ctx context.Context) (StaticKeys, error) {
	client := r.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("auth: jwks %s: %w", r.URL, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("auth: jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("auth: jwks %s: HTTP %s", r.URL, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("auth: jwks %s: %w", r.URL, err)
	}
	return ParseJWKS(body)
}

// Provider is what an issuer's OpenID Connect discovery document says of
// it that Vigie uses.
type Provider struct {
	Issuer string `json:"issuer"`
	// JWKSURI publishes the keys tokens are signed with.
	JWKSURI string `json:"jwks_uri"`
	// AuthorizationEndpoint and TokenEndpoint serve the console's sign-in
	// (authorization code flow); an issuer without them still has its
	// tokens accepted, but the console offers no redirect sign-in.
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
}

// Discover reads the issuer's OpenID Connect discovery document
// (<issuer>/.well-known/openid-configuration), checking that the document
// names the same issuer and gives its keys.
func Discover(ctx context.Context, client *http.Client, issuer string) (*Provider, error) {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	url := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("auth: discovery: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("auth: discovery: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("auth: discovery %s: HTTP %s", url, resp.Status)
	}
	var doc Provider
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("auth: discovery %s: %w", url, err)
	}
	if doc.Issuer != issuer {
		return nil, fmt.Errorf("auth: discovery %s names issuer %q, not %q", url, doc.Issuer, issuer)
	}
	if doc.JWKSURI == "" {
		return nil, fmt.Errorf("auth: discovery %s has no jwks_uri", url)
	}
	return &doc, nil
}
