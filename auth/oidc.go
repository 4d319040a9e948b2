package auth

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// OIDCConfig configures the verification of OpenID Connect tokens (Pro
// Santé Connect, or the region's own provider): which issuer, which
// audience, and how a token's claims become a Principal. Discovery, the
// issuer's keys (fetched again when a token names a key not seen yet: key
// rotation) and the JWT checks are github.com/coreos/go-oidc's.
type OIDCConfig struct {
	// Issuer is the issuer URL, exactly as its tokens' "iss" claim says
	// it (required); its discovery document is read at NewOIDC.
	Issuer string
	// Audience must be in the "aud" claim (required): the client id Vigie
	// is registered under, so that a token minted for another service is
	// refused.
	Audience string
	// Map turns verified claims into the principal's name, role and
	// authorities. Nil means ClaimMapper{} (claims sub, vigie_role,
	// vigie_authorities). Pro Santé Connect knows nothing of Vigie's roles:
	// its users are mapped through a RoleMap (--oidc-role-map).
	Map func(claims map[string]any) (*Principal, error)
	// Client fetches the discovery document, the keys and, for the
	// console's sign-in, the tokens (nil: a client with a 10 s timeout).
	Client *http.Client
	// Now is the clock the expiry is checked against (tests); nil is
	// time.Now.
	Now func() time.Time
}

// OIDC is an Authenticator of the issuer's JWTs, signed with RS256 or
// ES256: "none", HMAC and the other algorithms are refused.
type OIDC struct {
	cfg      OIDCConfig
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
}

// NewOIDC reads the issuer's discovery document and returns an
// authenticator of its tokens.
func NewOIDC(ctx context.Context, cfg OIDCConfig) (*OIDC, error) {
	switch {
	case cfg.Issuer == "":
		return nil, errors.New("auth: oidc: issuer is required")
	case cfg.Audience == "":
		return nil, errors.New("auth: oidc: audience is required")
	}
	if cfg.Map == nil {
		cfg.Map = ClaimMapper{}.Map
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, cfg.Client), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("auth: oidc: discovery of %s: %w", cfg.Issuer, err)
	}
	var doc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := provider.Claims(&doc); err != nil || doc.JWKSURI == "" {
		return nil, fmt.Errorf("auth: oidc: the discovery document of %s gives no jwks_uri", cfg.Issuer)
	}
	// The key set lives as long as the server: its fetches use a context
	// that is never canceled, and the client's timeout. It fetches the
	// keys again when a token names an unknown key id, one fetch at a time
	// shared by the calls waiting for it, without holding a lock the
	// calls with known keys need.
	keys := fetchErrors{oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), cfg.Client), doc.JWKSURI)}
	verifier := oidc.NewVerifier(cfg.Issuer, keys, &oidc.Config{ClientID: cfg.Audience,
		SupportedSigningAlgs: []string{oidc.RS256, oidc.ES256}, Now: cfg.Now})
	return &OIDC{cfg: cfg, provider: provider, verifier: verifier}, nil
}

// fetchErrors tells the key set's failures to fetch the keys (a fault of
// ours or of the issuer, answered as internal) apart from tokens whose
// signature does not verify (the caller's, unauthenticated): go-oidc wraps
// only the former with %w, and its verifier then flattens every error to
// text, so the failure is handed back through the call's context.
type fetchErrors struct{ oidc.KeySet }

type fetchFailedKey struct{}

func (k fetchErrors) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.KeySet.VerifySignature(ctx, jwt)
	if err != nil && errors.Unwrap(err) != nil {
		if failed, ok := ctx.Value(fetchFailedKey{}).(*error); ok {
			*failed = err
		}
	}
	return payload, err
}

// maxJWT bounds the size of a credential worth parsing.
const maxJWT = 16 << 10

// Authenticate implements Authenticator: ErrNotMine for a credential that
// is not a compact JWS (three dot-separated parts), an unauthenticated
// error for a token that fails any check, another error when the issuer's
// keys cannot be fetched.
func (o *OIDC) Authenticate(ctx context.Context, credential string) (*Principal, error) {
	if strings.HasPrefix(credential, KeyPrefix) || strings.Count(credential, ".") != 2 {
		return nil, ErrNotMine
	}
	if len(credential) > maxJWT {
		return nil, unauthenticated("token too large")
	}
	claims, _, err := o.verify(ctx, credential)
	if err != nil {
		return nil, err
	}
	return o.principal(claims)
}

// verify checks the token's signature, issuer, audience and expiry, and
// returns its claims.
func (o *OIDC) verify(ctx context.Context, token string) (map[string]any, *oidc.IDToken, error) {
	var fetchFailed error
	tok, err := o.verifier.Verify(context.WithValue(ctx, fetchFailedKey{}, &fetchFailed), token)
	var expired *oidc.TokenExpiredError
	switch {
	case err != nil && fetchFailed != nil:
		return nil, nil, fmt.Errorf("auth: oidc: the issuer's keys could not be fetched: %w", fetchFailed)
	case errors.As(err, &expired):
		return nil, nil, unauthenticated("token expired")
	case err != nil:
		return nil, nil, unauthenticated("token refused: " + strings.TrimPrefix(err.Error(), "oidc: "))
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return nil, nil, unauthenticated("malformed token claims")
	}
	return claims, tok, nil
}

// principal maps verified claims to the principal.
func (o *OIDC) principal(claims map[string]any) (*Principal, error) {
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

// ClaimMapper is the default mapping of claims to a principal, for a
// provider that carries Vigie's roles: the name from NameClaim (default
// "sub"), the role from RoleClaim (default "vigie_role", a string), the
// authorities from AuthoritiesClaim (default "vigie_authorities", a list of
// strings or a space-separated string).
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
	auths, err := strings2(claims[authClaim])
	if err != nil {
		return nil, fmt.Errorf("claim %s: %w", authClaim, err)
	}
	auths, err = checkAuthorities(role, auths)
	if err != nil {
		return nil, fmt.Errorf("claim %s: %w", authClaim, err)
	}
	return &Principal{Name: name, Role: role, Authorities: auths}, nil
}

// strings2 reads a claim holding a list of strings or a space-separated
// string.
func strings2(v any) ([]string, error) {
	switch a := v.(type) {
	case string:
		return strings.Fields(a), nil
	case []any:
		var out []string
		for _, x := range a {
			s, ok := x.(string)
			if !ok {
				return nil, errors.New("holds a non-string")
			}
			out = append(out, s)
		}
		return out, nil
	case nil:
		return nil, nil
	}
	return nil, errors.New("is neither a list nor a string")
}

func cmpOrString(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Pro Santé Connect's claims Vigie reads: the national identifier of the
// professional (RPPS, or ADELI for the professions without one), and the
// profession's code.
const (
	// PSCNationalIDClaim carries the RPPS or ADELI identifier.
	PSCNationalIDClaim = "SubjectNameID"
	// PSCUsernameClaim carries the same identifier (read when
	// SubjectNameID is absent).
	PSCUsernameClaim = "preferred_username"
	// PSCPracticeClaim holds the practices ("exercices"), each with its
	// codeProfession.
	PSCPracticeClaim = "SubjectRefPro"
	// PSCRoleClaim lists "<profession code>^<OID of the nomenclature>".
	PSCRoleClaim = "SubjectRole"
)

// PSCIdentity returns the professional's national identifier and
// profession code from Pro Santé Connect claims ("" when absent). Names
// are never read.
func PSCIdentity(claims map[string]any) (nationalID, profession string) {
	nationalID, _ = claims[PSCNationalIDClaim].(string)
	if nationalID == "" {
		nationalID, _ = claims[PSCUsernameClaim].(string)
	}
	if ref, ok := claims[PSCPracticeClaim].(map[string]any); ok {
		if ex, ok := ref["exercices"].([]any); ok && len(ex) > 0 {
			if e, ok := ex[0].(map[string]any); ok {
				profession, _ = e["codeProfession"].(string)
			}
		}
	}
	if profession == "" {
		if roles, err := strings2(claims[PSCRoleClaim]); err == nil && len(roles) > 0 {
			profession, _, _ = strings.Cut(roles[0], "^")
		}
	}
	return strings.TrimSpace(nationalID), strings.TrimSpace(profession)
}

// RoleMap gives the users of a provider that carries no Vigie role (Pro
// Santé Connect) their role and sites. It is read from a file of lines
//
//	<who> <role> [<site> …]
//
// where <who> is a national identifier (RPPS or ADELI) or
// <claim>=<value>, matched against a claim of the token (a string, or any
// element of a list) — "profession" naming the profession code. Blank
// lines and lines starting with # are ignored. A line naming the
// identifier wins over the claim lines, which are tried in the file's
// order; a user no line matches is refused.
type RoleMap struct {
	byID   map[string]roleSites
	claims []claimRule
}

type roleSites struct {
	role  Role
	sites []string
}

type claimRule struct {
	claim, value string
	to           roleSites
}

// LoadRoleMap reads a RoleMap from a file.
func LoadRoleMap(path string) (*RoleMap, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := ParseRoleMap(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// ParseRoleMap reads a RoleMap (see RoleMap for the format).
func ParseRoleMap(r io.Reader) (*RoleMap, error) {
	m := &RoleMap{byID: map[string]roleSites{}}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) < 2 {
			return nil, fmt.Errorf("line %d: want <who> <role> [<site> …]", n)
		}
		role, err := ParseRole(f[1])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		sites, err := checkAuthorities(role, f[2:])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		to := roleSites{role, sites}
		if claim, value, ok := strings.Cut(f[0], "="); ok {
			m.claims = append(m.claims, claimRule{claim, value, to})
			continue
		}
		if _, dup := m.byID[f[0]]; dup {
			return nil, fmt.Errorf("line %d: %s is mapped twice", n, f[0])
		}
		m.byID[f[0]] = to
	}
	return m, sc.Err()
}

// Map implements OIDCConfig.Map: the principal is named by its national
// identifier and carries its profession; its role and sites are the
// mapping's.
func (m *RoleMap) Map(claims map[string]any) (*Principal, error) {
	id, profession := PSCIdentity(claims)
	if err := checkName(id); err != nil {
		return nil, fmt.Errorf("claim %s: %w", PSCNationalIDClaim, err)
	}
	to, ok := m.byID[id]
	for i := 0; !ok && i < len(m.claims); i++ {
		c := m.claims[i]
		if c.claim == "profession" {
			ok = profession != "" && profession == c.value
		} else {
			vals, _ := strings2(claims[c.claim])
			ok = slices.Contains(vals, c.value)
		}
		to = c.to
	}
	if !ok {
		return nil, fmt.Errorf("professional %s (profession %q) has no role in the role map", id, profession)
	}
	return &Principal{Name: id, Role: to.role, Authorities: slices.Clone(to.sites), Profession: profession}, nil
}
