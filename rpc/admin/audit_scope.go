package admin

import (
	"context"
	"slices"

	"vigie"
	"vigie/audit"
	"vigie/auth"
)

// auditScope is what site vigilance may read of the audit trail: the
// entries about an identity holding a record of its sites, or about a
// record of its sites; of those entries, only the identities and records
// in its scope are shown.
type auditScope struct {
	ctx    context.Context
	p      *auth.Principal
	in     func(ctx context.Context, p *auth.Principal, identity string) (bool, error)
	memo   map[string]bool
	lookup int
}

// maxScopeLookups bounds the identities one query looks up.
const maxScopeLookups = 20000

// auditScope returns nil for the roles that read the whole trail (admin,
// regional vigilance), the scope of site vigilance, and refuses any other
// role, and site vigilance on a service without InSites.
func (s *Service) auditScope(ctx context.Context, p *auth.Principal) (*auditScope, error) {
	if p == nil {
		return nil, vigie.Errorf(vigie.EPERMISSION, "no authenticated principal")
	}
	switch p.Role {
	case auth.RoleAdmin, auth.RoleRegionalVigilance:
		return nil, nil
	case auth.RoleVigilance:
		if s.InSites == nil {
			return nil, vigie.Errorf(vigie.EPERMISSION, "the audit trail is not open to site vigilance on this server")
		}
		return &auditScope{ctx: ctx, p: p, in: s.InSites, memo: map[string]bool{}}, nil
	}
	return nil, vigie.Errorf(vigie.EPERMISSION, "role %s does not read the audit trail", p.Role)
}

// identity reports whether the identity is in scope (memoised per query).
func (a *auditScope) identity(id string) (bool, error) {
	if ok, seen := a.memo[id]; seen {
		return ok, nil
	}
	if a.lookup++; a.lookup > maxScopeLookups {
		return false, vigie.Invalid("limit", "the entries name too many identities: query fewer entries")
	}
	ok, err := a.in(a.ctx, a.p, id)
	if err != nil {
		return false, err
	}
	a.memo[id] = ok
	return ok, nil
}

// filter keeps, newest first, up to limit entries about the scope, each
// with only the identities and records of the scope.
func (a *auditScope) filter(entries []audit.Entry, limit int) ([]audit.Entry, error) {
	var out []audit.Entry
	for _, e := range entries {
		if len(out) >= limit {
			break
		}
		var ids []string
		for _, id := range e.Identities {
			ok, err := a.identity(id)
			if err != nil {
				return nil, err
			}
			if ok {
				ids = append(ids, id)
			}
		}
		recs := slices.DeleteFunc(slices.Clone(e.Records), func(r audit.Record) bool { return !a.p.HasSite(r.Authority) })
		if len(ids) == 0 && len(recs) == 0 {
			continue
		}
		e.Identities, e.Records = ids, recs
		out = append(out, e)
	}
	return out, nil
}
