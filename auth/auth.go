// Package auth authenticates the callers of Vigie's API and decides what
// they may do. A caller is a Principal: a name, one role, and the assigning
// authorities (organisation) it acts for. Principals present a bearer
// credential: an API key made by `vigie token create` (Keys), or, through
// the Authenticator interface, an OpenID Connect JWT (OIDC). The Interceptor
// puts authentication, the per-procedure role table (Policy) and the audit
// trail (package audit) in front of every Connect handler.
//
// Key layout (namespace a/ of the store):
//
//	a/tok/<key id>   → API key: name, role, authorities, created, expires,
//	                   revoked, and the SHA-256 of the secret (JSON, versioned)
//
// The secret itself is never stored: it is shown once, at creation.
package auth

import (
	"context"
	"errors"
	"slices"

	"vigie"
)

// Role is what a principal may do. A principal has exactly one.
type Role string

// The roles.
const (
	// RoleIngest submits source records and dose reports, only for its own
	// assigning authorities.
	RoleIngest Role = "ingest"
	// RoleClinician searches and reads identities and dose histories of
	// the patients it has a basis for (see the README's "Roles and
	// access"): a record at one of its sites, the patient's access code,
	// or break the glass; hidden identities and patients who objected are
	// not visible to it.
	RoleClinician Role = "clinician"
	// RoleVigilance (identity vigilance of one or more sites) works the
	// review queue and every correction operation on the identities that
	// hold a record of its sites, hidden ones included.
	RoleVigilance Role = "vigilance"
	// RoleRegionalVigilance is identity vigilance for the whole region:
	// every identity, hidden ones included. It is given explicitly, never
	// implied by a vigilance key without sites.
	RoleRegionalVigilance Role = "regional_vigilance"
	// RolePhysicist (medical physicist) runs dose analytics of its own
	// sites (its authorities).
	RolePhysicist Role = "physicist"
	// RoleAdmin manages API keys and configuration; it reads no patient
	// data.
	RoleAdmin Role = "admin"
)

// Roles lists every role, in the order they are documented.
var Roles = []Role{RoleIngest, RoleClinician, RoleVigilance, RoleRegionalVigilance, RolePhysicist, RoleAdmin}

// ParseRole returns the role named s, or an EINVALID error on field "role".
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if slices.Contains(Roles, r) {
		return r, nil
	}
	return "", vigie.Invalid("role", "unknown role %q (one of ingest, clinician, vigilance, regional_vigilance, physicist, admin)", s)
}

// Scoped reports whether the role is confined to its own authorities
// (ingest, physicist and site vigilance): such a principal may name no
// other authority in a request, and MayActFor is true of its own only.
func (r Role) Scoped() bool { return r == RoleIngest || r == RolePhysicist || r == RoleVigilance }

// NeedsSites reports whether a principal of the role must have at least
// one assigning authority (site): every role but admin (which reads no
// patient data) and regional vigilance.
func (r Role) NeedsSites() bool { return r != RoleAdmin && r != RoleRegionalVigilance }

// ReadsPatients reports whether the role reads patient data (clinician,
// vigilance, regional vigilance, physicist): a key of such a role made
// through the API waits for a second person's approval.
func (r Role) ReadsPatients() bool {
	return r == RoleClinician || r == RoleVigilance || r == RoleRegionalVigilance || r == RolePhysicist
}

// SeesHidden reports whether the role sees hidden identities and those of
// patients who objected (identity vigilance, within its scope).
func (r Role) SeesHidden() bool { return r == RoleVigilance || r == RoleRegionalVigilance }

// Principal is an authenticated caller.
type Principal struct {
	// Name identifies the caller in the audit trail: the API key's name, or
	// the JWT's subject.
	Name string
	// Role is what the caller may do.
	Role Role
	// Authorities are the assigning authorities (OIDs) the caller acts for:
	// its organisation. For scoped roles they bound what it may touch.
	Authorities []string
	// Method says how the caller authenticated: "api_key" or "oidc".
	Method string
	// CredentialID is the API key id, or the JWT's "jti" when it has one:
	// which credential was used, never the credential itself.
	CredentialID string
	// Profession is the profession code a Pro Santé Connect token gives
	// (e.g. "10", physician): an identifier, logged beside the name.
	Profession string
}

// MayActFor reports whether the principal may touch data of the given
// assigning authority: any authority for unscoped roles, only its own for
// ingest, physicist and site vigilance. Handlers use it for what the request does not say
// explicitly (the PatientID issuer inside a DICOM file, the site of an
// exam).
func (p *Principal) MayActFor(authority string) bool {
	if p == nil {
		return false
	}
	if !p.Role.Scoped() {
		return true
	}
	return slices.Contains(p.Authorities, authority)
}

// HasSite reports whether authority is one of the principal's own sites,
// whatever its role (a clinician's care relationship).
func (p *Principal) HasSite(authority string) bool {
	return p != nil && authority != "" && slices.Contains(p.Authorities, authority)
}

type principalKey struct{}

// WithPrincipal returns a context carrying p (the Interceptor does this for
// every authenticated call).
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal of the call, if any.
func PrincipalFrom(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}

// Authenticator turns a bearer credential into a principal. Keys (API keys)
// and OIDC (JWTs) implement it; Chain combines them.
type Authenticator interface {
	// Authenticate returns the principal the credential proves, or an error
	// wrapping ErrUnauthenticated (the message says why: unknown, expired,
	// revoked, bad signature), or ErrNotMine when the credential is not of
	// this authenticator's form, or another error for a fault of ours (the
	// store could not be read).
	Authenticate(ctx context.Context, credential string) (*Principal, error)
}

// ErrUnauthenticated is wrapped by every error that means "this credential
// proves nothing".
var ErrUnauthenticated = errors.New("unauthenticated")

// ErrNotMine says that a credential is not of an authenticator's form (an
// API key given to the JWT verifier, or the reverse), so that Chain tries
// the next one.
var ErrNotMine = errors.New("credential not of this form")

// Chain is an Authenticator that tries each of its authenticators in turn
// until one recognises the credential's form.
type Chain []Authenticator

// Authenticate implements Authenticator.
func (c Chain) Authenticate(ctx context.Context, credential string) (*Principal, error) {
	for _, a := range c {
		p, err := a.Authenticate(ctx, credential)
		if errors.Is(err, ErrNotMine) {
			continue
		}
		return p, err
	}
	return nil, unauthenticated("credential of an unknown form")
}

// unauthenticated returns an error wrapping ErrUnauthenticated with a
// reason that may be shown to the caller.
func unauthenticated(reason string) error {
	return &authError{reason}
}

type authError struct{ reason string }

func (e *authError) Error() string { return e.reason }
func (e *authError) Unwrap() error { return ErrUnauthenticated }
