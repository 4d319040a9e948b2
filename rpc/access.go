package rpc

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"connectrpc.com/connect"

	"vigie"
	"vigie/audit"
	"vigie/auth"
)

// Gate decides whether the caller may read or change one patient, and on
// what basis (README, "Roles and access"). Every check fails closed: an
// error while deciding refuses the call.
//
//   - regional_vigilance: every identity, hidden ones included (basis
//     "regional");
//   - vigilance: the identities holding a record of its sites, hidden ones
//     included (basis "site"); others are not found;
//   - physicist: the identities holding a record of its sites, not hidden
//     ones (basis "site"); the handler shows only its sites' exams;
//   - clinician: never a hidden identity; otherwise on the first basis
//     that holds: a record at one of its sites ("site"), the patient's
//     access code in X-Access-Code ("code"), or a reason in X-Break-Glass
//     ("break_glass: <reason>", stored for the vigilance staff of the
//     patient's sites and logged); without one, permission_denied on the
//     field access_basis;
//   - any other role: permission_denied.
type Gate struct {
	Access *auth.Access // nil: no access codes nor break-the-glass
	Log    *slog.Logger
	// Metrics counts the break-the-glass accesses (may be nil).
	Metrics *Metrics
}

// accessBasisField is the ErrorDetail field of a refusal for want of a
// basis: the console offers the code and the break-the-glass form on it.
const accessBasisField = "access_basis"

func denied(field, format string, args ...any) error {
	e := vigie.Errorf(vigie.EPERMISSION, format, args...)
	e.Field = field
	return e
}

// internal names the check that failed on an internal error and returns
// it: mapped to internal, without detail, at the edge, where the call log
// writes it once with the request id.
func (g *Gate) internal(_ context.Context, what string, err error) error {
	return fmt.Errorf("access check %s: %w", what, err)
}

func anyMember(ident *vigie.Identity, ok func(string) bool) bool {
	return slices.ContainsFunc(ident.Members, func(m vigie.SourceKey) bool { return ok(m.Authority) })
}

// Patient checks the caller's access to ident (the live identity behind
// the id asked for) and records the basis in the call's audit entry.
// Callers return its error through ConnectError.
func (g *Gate) Patient(ctx context.Context, ident *vigie.Identity, asked vigie.IdentityID) (auth.Basis, error) {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok || ident == nil {
		return "", denied("", "no authenticated principal")
	}
	notFound := vigie.Errorf(vigie.ENOTFOUND, "identity %s does not exist", asked)
	isHidden := hidden(ident.Attributes)
	var basis auth.Basis
	note := ""
	switch p.Role {
	case auth.RoleRegionalVigilance:
		basis = auth.BasisRegional
	case auth.RoleVigilance:
		if !anyMember(ident, p.HasSite) {
			return "", notFound
		}
		basis = auth.BasisSite
	case auth.RolePhysicist:
		if isHidden || !anyMember(ident, p.HasSite) {
			return "", notFound
		}
		basis = auth.BasisSite
	case auth.RoleClinician:
		if isHidden {
			return "", notFound
		}
		b, reason, err := g.clinician(ctx, p, ident, asked)
		if err != nil {
			return "", err
		}
		basis, note = b, reason
	default:
		return "", denied("", "role %s reads no patient data", p.Role)
	}
	if note != "" {
		audit.SetBasis(ctx, string(basis)+": "+note)
	} else {
		audit.SetBasis(ctx, string(basis))
	}
	return basis, nil
}

// clinician finds a clinician's basis to read ident.
func (g *Gate) clinician(ctx context.Context, p *auth.Principal, ident *vigie.Identity, asked vigie.IdentityID) (auth.Basis, string, error) {
	if anyMember(ident, p.HasSite) {
		return auth.BasisSite, "", nil
	}
	h := headersFrom(ctx)
	if code := h.Get(auth.AccessCodeHeader); code != "" {
		if g.Access == nil {
			return "", "", denied("access_code", "access codes are not enabled on this server")
		}
		ok, err := g.Access.CheckCode(code, ident.ID.String(), asked.String())
		if err != nil {
			return "", "", g.internal(ctx, "access code", err)
		}
		if !ok {
			return "", "", denied("access_code", "the access code is not valid for this patient, or has expired or been revoked")
		}
		return auth.BasisCode, "", nil
	}
	reason, err := auth.BreakGlassReason(h.Get(auth.BreakGlassHeader))
	if err != nil {
		return "", "", err
	}
	if reason != "" {
		if g.Access == nil {
			return "", "", denied("break_glass", "break-the-glass access is not enabled on this server")
		}
		var sites []string
		for _, m := range ident.Members {
			sites = append(sites, m.Authority)
		}
		slices.Sort(sites)
		sites = slices.Compact(sites)
		bg := auth.BreakGlass{Principal: p.Name, Credential: p.Method + ":" + p.CredentialID, Authorities: p.Authorities,
			Identity: ident.ID.String(), PatientAuthorities: sites, Reason: reason, Operation: procedureFrom(ctx)}
		// The alert is stored before anything is read: an access that
		// cannot be alerted is refused.
		if err := g.Access.RecordBreakGlass(bg); err != nil {
			return "", "", g.internal(ctx, "break the glass", err)
		}
		if g.Log != nil {
			g.Log.WarnContext(ctx, "break-the-glass access", "request", auth.RequestID(ctx), "credential", bg.Credential,
				"identity", bg.Identity, "patient_sites", len(sites))
		}
		g.Metrics.BreakGlass()
		return auth.BasisBreakGlass, reason, nil
	}
	return "", "", denied(accessBasisField, "no care relationship with this patient at the caller's sites: give the patient's access code (%s) or state the reason of an emergency access (%s)",
		auth.AccessCodeHeader, auth.BreakGlassHeader)
}

// Seen reports, without a code or break the glass, whether the caller
// has a basis to see ident in full in a search answer: site for a
// clinician, its sites for vigilance, every identity for regional
// vigilance. A code in X-Access-Code counts for the identity it is for.
func (g *Gate) Seen(ctx context.Context, p *auth.Principal, ident *vigie.Identity) (bool, error) {
	switch p.Role {
	case auth.RoleRegionalVigilance:
		return true, nil
	case auth.RoleVigilance:
		return anyMember(ident, p.HasSite), nil
	case auth.RoleClinician:
		if hidden(ident.Attributes) {
			return false, nil
		}
		if anyMember(ident, p.HasSite) {
			return true, nil
		}
		if code := headersFrom(ctx).Get(auth.AccessCodeHeader); code != "" && g.Access != nil {
			ok, err := g.Access.CheckCode(code, ident.ID.String())
			if err != nil {
				return false, g.internal(ctx, "access code", err)
			}
			return ok, nil
		}
	}
	return false, nil
}

// headersFrom and procedureFrom read what the handlers' requests carry:
// the handler puts the request's header and procedure in the context
// (withRequest) before any check.
type requestInfoKey struct{}

type requestInfo struct {
	header    headerGetter
	procedure string
}

type headerGetter interface{ Get(string) string }

type noHeader struct{}

func (noHeader) Get(string) string { return "" }

func withRequest(ctx context.Context, req connect.AnyRequest) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, requestInfo{header: req.Header(), procedure: req.Spec().Procedure})
}

// WithHTTPRequest gives the Gate the headers of a plain HTTP request
// (X-Access-Code, X-Break-Glass) and the name of its operation, as the
// Connect handlers' requests give theirs: a door outside the Connect
// services (package fhir) calls it before Gate.Patient or Gate.Seen.
func WithHTTPRequest(ctx context.Context, h http.Header, operation string) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, requestInfo{header: h, procedure: operation})
}

func headersFrom(ctx context.Context) headerGetter {
	if ri, ok := ctx.Value(requestInfoKey{}).(requestInfo); ok && ri.header != nil {
		return ri.header
	}
	return noHeader{}
}

func procedureFrom(ctx context.Context) string {
	ri, _ := ctx.Value(requestInfoKey{}).(requestInfo)
	return ri.procedure
}
