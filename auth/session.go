package auth

import (
	"context"
	"errors"
	"slices"

	"connectrpc.com/connect"

	v1 "vigie/rpc/gen/vigie/v1"
)

// SessionService answers WhoAmI from the principal the Interceptor put in
// the context, and from Policy: a client learns what its role may call
// from the table that decides it, not by trying.
type SessionService struct {
	Policy Policy
}

// WhoAmI implements vigiev1connect.SessionServiceHandler.
func (s *SessionService) WhoAmI(ctx context.Context, _ *connect.Request[v1.WhoAmIRequest]) (*connect.Response[v1.WhoAmIResponse], error) {
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return nil, connect.NewError(connect.CodeUnauthenticated, errors.New("no principal: the call did not pass the interceptor"))
	}
	return connect.NewResponse(&v1.WhoAmIResponse{
		Name:        p.Name,
		Role:        string(p.Role),
		Authorities: slices.Clone(p.Authorities),
		Method:      p.Method,
		Procedures:  s.Policy.Procedures(p.Role),
	}), nil
}

// Procedures lists, sorted, the procedures role may call.
func (p Policy) Procedures(role Role) []string {
	var out []string
	for proc, roles := range p {
		if slices.Contains(roles, role) {
			out = append(out, proc)
		}
	}
	slices.Sort(out)
	return out
}
