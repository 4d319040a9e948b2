// Package admin serves vigie.v1.AdminService: API keys, audit queries and
// the site registry while the server runs. The `vigie token`, `vigie audit`
// and `vigie site` verbs open the store themselves, which Badger allows
// only while no server holds it; this service is the way to do the same on
// a running platform. It keeps nothing of its own: keys are auth's, the
// trail is audit's, the sites are package sites'.
//
// Roles (auth.DefaultPolicy): key management, the site registry and
// VerifyAudit for admin, QueryAudit for admin and vigilance, ApproveApiKey
// for a second person (admin or vigilance, never the key's creator). A key
// of every role but ingest made here is pending until approved: an
// administrator cannot give itself access to patients. Every call is
// audited by the interceptor like any other; a created key's secret appears
// only in the response.
package admin

import (
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"vigie"
	"vigie/audit"
	"vigie/auth"
	v1 "vigie/rpc/gen/vigie/v1"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
	"vigie/sites"
)

// Service implements vigiev1connect.AdminServiceHandler.
type Service struct {
	Keys  *auth.Keys
	Trail *audit.Log
	// Sites is the registry of member establishments (package sites).
	Sites *sites.Registry
	// Log receives the creations and approvals of keys (ids, roles and
	// principals' names, never secrets); nil discards them.
	Log *slog.Logger
	// InSites reports whether an identity named in the audit trail (by
	// its id, as entries name it) holds, as it is now, a record of one of
	// p's sites: QueryAudit shows site vigilance only such entries. Nil
	// refuses every site vigilance query.
	InSites func(ctx context.Context, p *auth.Principal, identity string) (bool, error)
}

var _ vigiev1connect.AdminServiceHandler = (*Service)(nil)

// Defaults and bounds of requests.
const (
	defaultLifetimeDays = 90
	defaultAuditLimit   = 100
	maxAuditLimit       = 1000
)

// CreateApiKey implements the RPC.
func (s *Service) CreateApiKey(ctx context.Context, req *connect.Request[v1.CreateApiKeyRequest]) (*connect.Response[v1.CreateApiKeyResponse], error) {
	m := req.Msg
	days := m.GetLifetimeDays()
	if days == 0 {
		days = defaultLifetimeDays
	}
	if maxDays := int32(auth.MaxKeyLifetime / (24 * time.Hour)); days < 0 || days > maxDays {
		return nil, connectError(vigie.Invalid("lifetime_days", "must be between 1 and %d, got %d", maxDays, days))
	}
	role, err := auth.ParseRole(m.GetRole())
	if err != nil {
		return nil, connectError(err)
	}
	p, _ := auth.PrincipalFrom(ctx)
	secret, key, err := s.Keys.CreatePending(role, m.GetAuthorities(), m.GetName(), time.Duration(days)*24*time.Hour, p)
	if err != nil {
		return nil, connectError(err)
	}
	if s.Log != nil {
		s.Log.WarnContext(ctx, "API key created", "request", auth.RequestID(ctx), "key", key.ID, "role", string(key.Role),
			"pending", key.Pending, "created_by", key.CreatedBy)
	}
	return connect.NewResponse(&v1.CreateApiKeyResponse{Key: keyMessage(key), Secret: secret}), nil
}

// ListApiKeys implements the RPC.
func (s *Service) ListApiKeys(_ context.Context, req *connect.Request[v1.ListApiKeysRequest]) (*connect.Response[v1.ListApiKeysResponse], error) {
	keys, err := s.Keys.List()
	if err != nil {
		return nil, connectError(err)
	}
	now := time.Now()
	out := &v1.ListApiKeysResponse{}
	for _, k := range keys {
		if req.Msg.GetIncludeInactive() || k.Active(now) {
			out.Keys = append(out.Keys, keyMessage(k))
		}
	}
	return connect.NewResponse(out), nil
}

// RevokeApiKey implements the RPC.
func (s *Service) RevokeApiKey(_ context.Context, req *connect.Request[v1.RevokeApiKeyRequest]) (*connect.Response[v1.RevokeApiKeyResponse], error) {
	if req.Msg.GetId() == "" {
		return nil, connectError(vigie.Invalid("id", "required"))
	}
	k, err := s.Keys.Revoke(req.Msg.GetId())
	if err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(&v1.RevokeApiKeyResponse{Key: keyMessage(k)}), nil
}

// ApproveApiKey implements the RPC.
func (s *Service) ApproveApiKey(ctx context.Context, req *connect.Request[v1.ApproveApiKeyRequest]) (*connect.Response[v1.ApproveApiKeyResponse], error) {
	if req.Msg.GetId() == "" {
		return nil, connectError(vigie.Invalid("id", "required"))
	}
	p, _ := auth.PrincipalFrom(ctx)
	k, err := s.Keys.Approve(req.Msg.GetId(), p)
	if err != nil {
		return nil, connectError(err)
	}
	if s.Log != nil {
		s.Log.WarnContext(ctx, "API key approved", "request", auth.RequestID(ctx), "key", k.ID, "role", string(k.Role),
			"created_by", k.CreatedBy, "approved_by", k.ApprovedBy)
	}
	return connect.NewResponse(&v1.ApproveApiKeyResponse{Key: keyMessage(k)}), nil
}

// QueryAudit implements the RPC. Admin and regional vigilance read the
// whole trail; site vigilance the entries naming an identity that holds
// a record of its sites (InSites) or a record of its sites, each shown
// with only those identities and records (the hash shown is the stored
// entry's), newest first, reading the query's entries maxAuditLimit at a
// time; an identity out of its scope is not found. Every answer says
// where the next page starts (next_before_seq), so a long history is read
// to its first entry, one page after another.
func (s *Service) QueryAudit(ctx context.Context, req *connect.Request[v1.QueryAuditRequest]) (*connect.Response[v1.QueryAuditResponse], error) {
	m := req.Msg
	limit := int(m.GetLimit())
	switch {
	case limit == 0:
		limit = defaultAuditLimit
	case limit < 0 || limit > maxAuditLimit:
		return nil, connectError(vigie.Invalid("limit", "must be between 1 and %d, got %d", maxAuditLimit, limit))
	}
	rec := m.GetRecord()
	given := 0
	for _, b := range []bool{m.GetIdentityId() != "", rec != nil, m.GetPrincipal() != ""} {
		if b {
			given++
		}
	}
	if given != 1 {
		return nil, connectError(vigie.Invalid("identity_id", "give exactly one of identity_id, record or principal"))
	}
	p, _ := auth.PrincipalFrom(ctx)
	scope, err := s.auditScope(ctx, p)
	if err != nil {
		return nil, connectError(err)
	}
	fetch := limit
	if scope != nil {
		// Site vigilance: a window of the query's entries, filtered down
		// to limit; the next page goes on from the window's end.
		fetch = maxAuditLimit
	}
	var subject audit.Subject
	switch {
	case m.GetIdentityId() != "":
		if scope != nil {
			ok, err := scope.identity(m.GetIdentityId())
			if err != nil {
				return nil, connectError(err)
			}
			if !ok {
				return nil, connectError(vigie.Errorf(vigie.ENOTFOUND, "identity %s does not exist", m.GetIdentityId()))
			}
		}
		subject.Identity = m.GetIdentityId()
	case rec != nil:
		if rec.GetAuthority() == "" || rec.GetLocalId() == "" {
			return nil, connectError(vigie.Invalid("record", "authority and local_id are required"))
		}
		audit.TouchRecord(ctx, rec.GetAuthority(), rec.GetLocalId())
		subject.Record = audit.Record{Authority: rec.GetAuthority(), LocalID: rec.GetLocalId()}
	default:
		subject.User = m.GetPrincipal()
	}
	entries, err := s.Trail.Older(subject, m.GetBeforeSeq(), fetch)
	if err != nil {
		return nil, connectError(err)
	}
	out := &v1.QueryAuditResponse{}
	if len(entries) == fetch {
		// The window is full: more may be older (for site vigilance,
		// past what the filter keeps of it).
		out.NextBeforeSeq = entries[len(entries)-1].Seq
	}
	if scope != nil {
		if entries, err = scope.filter(entries, limit); err != nil {
			return nil, connectError(err)
		}
		if len(entries) == limit {
			// The page is full before the window's end: go on from it.
			out.NextBeforeSeq = entries[len(entries)-1].Seq
		}
	}
	for _, e := range entries {
		out.Entries = append(out.Entries, entryMessage(e))
	}
	return connect.NewResponse(out), nil
}

// VerifyAudit implements the RPC.
func (s *Service) VerifyAudit(context.Context, *connect.Request[v1.VerifyAuditRequest]) (*connect.Response[v1.VerifyAuditResponse], error) {
	rep, err := s.Trail.Verify()
	if err != nil {
		return nil, connectError(err)
	}
	out := &v1.VerifyAuditResponse{Entries: rep.Entries, HeadHash: hex.EncodeToString(rep.Head)}
	if rep.Broken != nil {
		out.BrokenSeq, out.BrokenReason = rep.Broken.Seq, rep.Broken.Reason
	}
	return connect.NewResponse(out), nil
}

func keyMessage(k auth.Key) *v1.ApiKey {
	m := &v1.ApiKey{Id: k.ID, Name: k.Name, Role: string(k.Role), Authorities: k.Authorities,
		Created: timestamppb.New(k.Created), Expires: timestamppb.New(k.Expires), Pending: k.Pending,
		CreatedBy: k.CreatedBy, ApprovedBy: k.ApprovedBy}
	if !k.Revoked.IsZero() {
		m.Revoked = timestamppb.New(k.Revoked)
	}
	return m
}

func entryMessage(e audit.Entry) *v1.AuditEntry {
	m := &v1.AuditEntry{Seq: e.Seq, Time: timestamppb.New(e.Time), Principal: e.Principal, Role: e.Role,
		Authorities: e.Authorities, Operation: e.Operation, IdentityIds: e.Identities, Purpose: e.Purpose,
		Result: e.Result, Client: e.Client, Credential: e.Credential, Hash: hex.EncodeToString(e.Hash), Basis: e.Basis}
	for _, r := range e.Records {
		m.Records = append(m.Records, &v1.AuditRecord{Authority: r.Authority, LocalId: r.LocalID})
	}
	return m
}

// connectError maps domain errors as rpc.ConnectError does, with the same
// ErrorDetail. It is not that function so that package rpc, which holds
// the server's handlers, can mount this service without an import cycle.
// Only the codes this service produces are mapped: invalid → invalid_argument
// naming the field, not found → not_found, permission → permission_denied,
// conflict → failed_precondition, exhausted (the store's disk
// under its reserve) → resource_exhausted, anything else → internal
// without detail.
func connectError(err error) *connect.Error {
	code := vigie.ErrorCode(err)
	var out *connect.Error
	var field string
	switch code {
	case vigie.EINVALID, vigie.ENOTFOUND, vigie.EEXHAUSTED, vigie.EPERMISSION, vigie.ECONFLICT:
		var ve *vigie.Error
		errors.As(err, &ve)
		c := connect.CodeInvalidArgument
		switch code {
		case vigie.ENOTFOUND:
			c = connect.CodeNotFound
		case vigie.EPERMISSION:
			c = connect.CodePermissionDenied
		case vigie.ECONFLICT:
			c = connect.CodeFailedPrecondition
		case vigie.EEXHAUSTED:
			c = connect.CodeResourceExhausted
		}
		out, field = connect.NewError(c, errors.New(ve.Error())), ve.Field
	default:
		code = vigie.EINTERNAL
		out = auth.Internal(err) // logged once, at the edge, with the request id
	}
	if d, derr := connect.NewErrorDetail(&v1.ErrorDetail{Code: code, Field: field}); derr == nil {
		out.AddDetail(d)
	}
	return out
}

// ListSites implements the RPC.
func (s *Service) ListSites(ctx context.Context, _ *connect.Request[v1.ListSitesRequest]) (*connect.Response[v1.ListSitesResponse], error) {
	ss, err := s.Sites.List(ctx)
	if err != nil {
		return nil, connectError(err)
	}
	out := &v1.ListSitesResponse{}
	for _, x := range ss {
		out.Sites = append(out.Sites, siteMessage(x))
	}
	return connect.NewResponse(out), nil
}

// AddSite implements the RPC.
func (s *Service) AddSite(ctx context.Context, req *connect.Request[v1.AddSiteRequest]) (*connect.Response[v1.AddSiteResponse], error) {
	m := req.Msg.GetSite()
	if m == nil {
		return nil, connectError(vigie.Invalid("site", "required"))
	}
	x, err := s.Sites.Add(ctx, sites.Site{Authority: m.GetAuthority(), Name: m.GetName(), AETitles: m.GetAeTitles(),
		HL7Senders: m.GetHl7Senders(), Joined: m.GetJoined()})
	if err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(&v1.AddSiteResponse{Site: siteMessage(x)}), nil
}

// RenameSite implements the RPC.
func (s *Service) RenameSite(ctx context.Context, req *connect.Request[v1.RenameSiteRequest]) (*connect.Response[v1.RenameSiteResponse], error) {
	x, err := s.Sites.Rename(ctx, req.Msg.GetAuthority(), req.Msg.GetName())
	if err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(&v1.RenameSiteResponse{Site: siteMessage(x)}), nil
}

// RemoveSite implements the RPC.
func (s *Service) RemoveSite(ctx context.Context, req *connect.Request[v1.RemoveSiteRequest]) (*connect.Response[v1.RemoveSiteResponse], error) {
	if err := s.Sites.Remove(ctx, req.Msg.GetAuthority()); err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(&v1.RemoveSiteResponse{}), nil
}

func siteMessage(x sites.Site) *v1.Site {
	return &v1.Site{Authority: x.Authority, Name: x.Name, AeTitles: x.AETitles, Hl7Senders: x.HL7Senders, Joined: x.Joined, Source: x.Source}
}
