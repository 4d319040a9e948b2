package rpc

import (
	"context"
	"slices"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"vigie"
	"vigie/auth"
	"vigie/mpi"
	vigiev1 "vigie/rpc/gen/vigie/v1"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
)

// AccessService serves vigie.v1.AccessService: the patients' access codes
// and the list of break-the-glass accesses (see Gate).
type AccessService struct {
	Index *mpi.Index
	Gate  *Gate // its Access keeps the codes and accesses (required)
}

var _ vigiev1connect.AccessServiceHandler = (*AccessService)(nil)

// maxBreakGlassList bounds one ListBreakGlass answer.
const maxBreakGlassList = 5000

// codeHolder checks that the caller may make or revoke codes of the
// identity: vigilance within its scope, or a clinician of a site where
// the patient has a record (a code or break the glass is not enough).
func (s *AccessService) codeHolder(ctx context.Context, v string) (vigie.Identity, error) {
	id, err := parseID("identity_id", v)
	if err != nil {
		return vigie.Identity{}, err
	}
	ident, err := s.Index.Get(ctx, id)
	if err != nil {
		return vigie.Identity{}, err
	}
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return vigie.Identity{}, denied("", "no authenticated principal")
	}
	if p.Role == auth.RoleClinician && !hidden(ident.Attributes) && !anyMember(&ident, p.HasSite) {
		return vigie.Identity{}, denied(accessBasisField, "access codes are made by the staff of a site where the patient has a record, or by identity vigilance")
	}
	// Without the headers of a code or break the glass: the gate finds
	// the site (or vigilance) basis only.
	if _, err := s.Gate.Patient(withoutBasisHeaders(ctx), &ident, id); err != nil {
		return vigie.Identity{}, err
	}
	return ident, nil
}

func withoutBasisHeaders(ctx context.Context) context.Context {
	ri, _ := ctx.Value(requestInfoKey{}).(requestInfo)
	ri.header = noHeader{}
	return context.WithValue(ctx, requestInfoKey{}, ri)
}

// CreateAccessCode implements the RPC.
func (s *AccessService) CreateAccessCode(ctx context.Context, req *connect.Request[vigiev1.CreateAccessCodeRequest]) (*connect.Response[vigiev1.CreateAccessCodeResponse], error) {
	ident, err := s.codeHolder(ctx, req.Msg.GetIdentityId())
	if err != nil {
		return nil, ConnectError(err)
	}
	h := req.Msg.GetLifetimeHours()
	if h < 0 {
		return nil, ConnectError(vigie.Invalid("lifetime_hours", "must be positive"))
	}
	p, _ := auth.PrincipalFrom(ctx)
	code, c, err := s.Gate.Access.CreateCode(ident.ID.String(), p.Name, time.Duration(h)*time.Hour)
	if err != nil {
		if vigie.ErrorCode(err) == vigie.EINTERNAL {
			err = s.Gate.internal(ctx, "create access code", err)
		}
		return nil, ConnectError(err)
	}
	return connect.NewResponse(&vigiev1.CreateAccessCodeResponse{IdentityId: ident.ID.String(), Code: code, Expires: timestamppb.New(c.Expires)}), nil
}

// RevokeAccessCodes implements the RPC.
func (s *AccessService) RevokeAccessCodes(ctx context.Context, req *connect.Request[vigiev1.RevokeAccessCodesRequest]) (*connect.Response[vigiev1.RevokeAccessCodesResponse], error) {
	ident, err := s.codeHolder(ctx, req.Msg.GetIdentityId())
	if err != nil {
		return nil, ConnectError(err)
	}
	n, err := s.Gate.Access.RevokeCodes(ident.ID.String())
	if err != nil {
		return nil, ConnectError(s.Gate.internal(ctx, "revoke access codes", err))
	}
	return connect.NewResponse(&vigiev1.RevokeAccessCodesResponse{Revoked: int32(n)}), nil
}

// ListBreakGlass implements the RPC: site vigilance sees the accesses to
// patients of its sites and by principals of its sites.
func (s *AccessService) ListBreakGlass(ctx context.Context, req *connect.Request[vigiev1.ListBreakGlassRequest]) (*connect.Response[vigiev1.ListBreakGlassResponse], error) {
	if req.Msg.GetSince() == nil {
		return nil, ConnectError(vigie.Invalid("since", "required"))
	}
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return nil, ConnectError(denied("", "no authenticated principal"))
	}
	var keep func(*auth.BreakGlass) bool
	if p.Role == auth.RoleVigilance {
		keep = func(bg *auth.BreakGlass) bool {
			return slices.ContainsFunc(bg.PatientAuthorities, p.HasSite) || slices.ContainsFunc(bg.Authorities, p.HasSite)
		}
	}
	list, err := s.Gate.Access.BreakGlassSince(req.Msg.GetSince().AsTime(), maxBreakGlassList, keep)
	if err != nil {
		return nil, ConnectError(s.Gate.internal(ctx, "list break the glass", err))
	}
	out := &vigiev1.ListBreakGlassResponse{}
	for _, bg := range list {
		out.Accesses = append(out.Accesses, &vigiev1.BreakGlass{Time: timestamppb.New(bg.Time), Principal: bg.Principal,
			Authorities: bg.Authorities, IdentityId: bg.Identity, PatientAuthorities: bg.PatientAuthorities,
			Reason: bg.Reason, Operation: bg.Operation})
	}
	return connect.NewResponse(out), nil
}
