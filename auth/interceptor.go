package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"unicode"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"vigie"
	"vigie/audit"
)

// PurposeHeader is the request header in which a caller states why it
// reads or changes patient data ("care", "vigilance", "dosimetry"…); it is
// recorded in the audit trail as given (at most 200 bytes).
const PurposeHeader = "X-Purpose"

const maxPurpose = 200

// Interceptor authenticates, authorises and audits every call of the
// handlers it wraps (unary and streaming):
//
//  1. The `Authorization: Bearer <credential>` header is checked by the
//     Authenticator; a missing, malformed, unknown, expired or revoked
//     credential gets unauthenticated (not audited: an anonymous caller
//     could otherwise fill the trail).
//  2. The Policy must allow the principal's role on the procedure, and a
//     scoped principal (ingest, physicist) may name no assigning authority
//     but its own in a request message; otherwise permission_denied, and
//     the refused attempt is audited with the patients the request named.
//  3. The handler runs with the principal in its context (PrincipalFrom)
//     and an audit.Subjects gathering the patients the request, the
//     handler (audit.Touch) and the response name.
//  4. One audit entry records the call and its result. If the trail cannot
//     be written, a unary call fails with internal (resource_exhausted when
//     the store's disk is under its floor, see store.DiskGuard) and its
//     response is not delivered: no patient data leaves without a trace.
//
// Wrap only the vigie.v1 handlers; health checks and reflection carry no
// patient data and are not in the Policy (which would refuse them).
type Interceptor struct {
	auth   Authenticator
	policy Policy
	trail  *audit.Log
	log    *slog.Logger
	limits *Limits
}

// WithLimits sets the abuse limits (nil: none) and returns i.
func (i *Interceptor) WithLimits(l *Limits) *Interceptor {
	i.limits = l
	return i
}

// NewInterceptor returns an interceptor over the given authenticator,
// policy and audit trail. log receives refusals and audit failures (with
// principal names and procedures, never credentials or patient data); nil
// discards them.
func NewInterceptor(a Authenticator, p Policy, trail *audit.Log, log *slog.Logger) *Interceptor {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Interceptor{auth: a, policy: p, trail: trail, log: log}
}

var _ connect.Interceptor = (*Interceptor)(nil)

// WrapUnary implements connect.Interceptor.
func (i *Interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		proc := req.Spec().Procedure
		msg, _ := req.Any().(proto.Message)
		ctx = WithRequestID(ctx)
		p, err := i.authenticate(ctx, proc, req.Header(), req.Peer().Addr)
		if err != nil {
			return nil, err
		}
		call := i.newCall(p, proc, req.Header(), req.Peer().Addr)
		if err := i.authorize(ctx, call, msg); err != nil {
			return nil, err
		}
		if err := i.rate(ctx, call); err != nil {
			return nil, err
		}
		ctx, call.subjects = audit.WithSubjects(WithPrincipal(ctx, p))
		addSubjects(call.subjects, msg)
		resp, err := next(ctx, req)
		if err == nil && resp != nil {
			if m, ok := resp.Any().(proto.Message); ok {
				addSubjects(call.subjects, m)
			}
		}
		if aerr := i.record(ctx, call, err); aerr != nil {
			return nil, aerr
		}
		return resp, err
	}
}

// WrapStreamingClient implements connect.Interceptor: clients pass through.
func (i *Interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler implements connect.Interceptor. Every message
// received is checked for foreign authorities and, with every message
// sent, searched for the patients it names.
func (i *Interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		proc := conn.Spec().Procedure
		ctx = WithRequestID(ctx)
		p, err := i.authenticate(ctx, proc, conn.RequestHeader(), conn.Peer().Addr)
		if err != nil {
			return err
		}
		call := i.newCall(p, proc, conn.RequestHeader(), conn.Peer().Addr)
		if err := i.authorize(ctx, call, nil); err != nil {
			return err
		}
		ctx, call.subjects = audit.WithSubjects(WithPrincipal(ctx, p))
		err = next(ctx, &auditedConn{StreamingHandlerConn: conn, call: call, trail: i.trail})
		if aerr := i.record(ctx, call, err); aerr != nil && err == nil {
			return aerr
		}
		return err
	}
}

type requestIDKey struct{}

// WithRequestID returns a context carrying a new random request id, which
// the log lines of the call carry (RequestID) so that an internal error
// logged once can be found from the call's other lines.
func WithRequestID(ctx context.Context) context.Context {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return context.WithValue(ctx, requestIDKey{}, hex.EncodeToString(b[:]))
}

// RequestID returns the call's request id ("" outside a call).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// call is what the interceptor knows of one call, for its audit entry.
type call struct {
	principal *Principal
	procedure string
	purpose   string
	client    string
	subjects  *audit.Subjects
}

func (i *Interceptor) newCall(p *Principal, proc string, h http.Header, client string) *call {
	// Control characters would let a caller forge lines in listings.
	purpose := strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, h.Get(PurposeHeader)))
	if len(purpose) > maxPurpose {
		purpose = strings.ToValidUTF8(purpose[:maxPurpose], "")
	}
	return &call{principal: p, procedure: proc, purpose: purpose, client: client}
}

// authenticate returns the principal of the request's bearer credential or
// the Connect error to answer.
func (i *Interceptor) authenticate(ctx context.Context, proc string, h http.Header, addr string) (*Principal, error) {
	cred, ok := bearer(h.Get("Authorization"))
	if !ok {
		return nil, unauthenticatedError("missing bearer credential (Authorization: Bearer <token>)")
	}
	// A source whose credentials failed waits before the next is checked:
	// guessing keys or replaying stolen tokens is slowed down.
	if wait := i.limits.Blocked(addr); wait > 0 {
		i.log.WarnContext(ctx, "authentication slowed after failures", "procedure", proc, "source", source(addr), "wait_ms", wait.Milliseconds())
		return nil, connect.NewError(connect.CodeResourceExhausted,
			throttle(fmt.Sprintf("too many failed authentications from this address: retry in %.1f s", wait.Seconds())))
	}
	p, err := i.auth.Authenticate(ctx, cred)
	switch {
	case err == nil && p != nil:
		return p, nil
	case err == nil, errors.Is(err, ErrUnauthenticated), errors.Is(err, ErrNotMine):
		reason := "invalid credential"
		switch {
		case errors.Is(err, ErrNotMine):
			reason = "credential of an unknown form"
		case err != nil:
			reason = err.Error()
		}
		i.log.InfoContext(ctx, "unauthenticated call", "procedure", proc, "reason", reason)
		i.limits.Failed(addr)
		return nil, unauthenticatedError(reason)
	default:
		i.log.ErrorContext(ctx, "authentication failed", "request", RequestID(ctx), "procedure", proc, "error", err.Error())
		return nil, connect.NewError(connect.CodeInternal, errors.New("authentication unavailable"))
	}
}

// bearer extracts the credential of an "Authorization: Bearer …" value.
func bearer(v string) (string, bool) {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	cred = strings.TrimSpace(cred)
	return cred, cred != ""
}

// unauthenticatedError carries no WWW-Authenticate: gRPC sends error
// metadata as trailers, where HTTP forbids that header.
func unauthenticatedError(reason string) *connect.Error {
	return connect.NewError(connect.CodeUnauthenticated, errors.New(reason))
}

// authorize applies the Policy and, for a unary request, the authority
// scope; a refusal is audited.
func (i *Interceptor) authorize(ctx context.Context, c *call, msg proto.Message) error {
	var denied error
	if !i.policy.Allows(c.procedure, c.principal.Role) {
		denied = connect.NewError(connect.CodePermissionDenied, fmt.Errorf("role %s may not call %s", c.principal.Role, c.procedure))
	} else if a := foreignAuthority(c.principal, msg); a != "" {
		denied = foreignError(c.principal, a)
	}
	if denied == nil {
		return nil
	}
	_, c.subjects = audit.WithSubjects(ctx)
	c.subjects.AddMessage(msg)
	i.log.WarnContext(ctx, "permission denied", "procedure", c.procedure, "principal", c.principal.Name, "role", string(c.principal.Role))
	_ = i.record(ctx, c, denied) // refused either way; record logs a failure
	return denied
}

// rate applies the per-credential rate of the searches and reads: over
// it, the call is refused with resource_exhausted (HTTP 429) and logged
// by credential id, unaudited (nothing was read).
func (i *Interceptor) rate(ctx context.Context, c *call) error {
	if !Limited[c.procedure] || i.limits.Allow(credential(c.principal)+"/"+c.principal.Name) {
		return nil
	}
	if i.limits.Refused != nil {
		i.limits.Refused(c.procedure)
	}
	i.log.WarnContext(ctx, "rate limited", "procedure", c.procedure, "credential", credential(c.principal), "role", string(c.principal.Role))
	return connect.NewError(connect.CodeResourceExhausted, throttle("too many searches and reads: slow down and retry in a few seconds"))
}

// throttled is the cause of a call refused by the abuse limits (rate,
// authentication backoff), as opposed to the store's disk being full:
// plain HTTP answers it 429, not 503.
type throttled string

func (t throttled) Error() string { return string(t) }

func throttle(msg string) error { return throttled(msg) }

// isThrottled reports whether err refuses a call by the abuse limits.
func isThrottled(err error) bool {
	var t throttled
	return errors.As(err, &t)
}

func foreignError(p *Principal, authority string) error {
	return connect.NewError(connect.CodePermissionDenied, fmt.Errorf("%s %q does not act for assigning authority %q", p.Role, p.Name, authority))
}

// record appends the call's audit entry. It returns the error to answer
// instead of the response when the trail could not be written.
func (i *Interceptor) record(ctx context.Context, c *call, callErr error) error {
	result := "ok"
	if callErr != nil {
		result = connect.CodeOf(callErr).String()
	}
	e := audit.Entry{
		Principal: c.principal.Name, Role: string(c.principal.Role), Authorities: c.principal.Authorities,
		Operation: c.procedure, Identities: c.subjects.Identities(), Records: c.subjects.Records(),
		Purpose: c.purpose, Result: result, Client: c.client, Credential: credential(c.principal),
		Basis: c.subjects.Basis(),
	}
	if _, err := i.trail.Append(e); err != nil {
		i.log.ErrorContext(ctx, "audit trail unavailable", "request", RequestID(ctx), "procedure", c.procedure, "principal", c.principal.Name, "error", err.Error())
		if vigie.ErrorCode(err) == vigie.EEXHAUSTED {
			// The store's disk is under its floor: a state the operator
			// fixes, not a fault; the message holds sizes only.
			var ve *vigie.Error
			errors.As(err, &ve)
			return connect.NewError(connect.CodeResourceExhausted, fmt.Errorf("audit trail unavailable: %s", ve.Message))
		}
		return connect.NewError(connect.CodeInternal, errors.New("audit trail unavailable"))
	}
	return nil
}

// credential names the credential a principal used, for the audit trail:
// which key to look at if one leaks.
func credential(p *Principal) string {
	if p.CredentialID == "" {
		return p.Method
	}
	return p.Method + ":" + p.CredentialID
}

// auditedConn checks and records the messages of a streaming call.
type auditedConn struct {
	connect.StreamingHandlerConn
	call  *call
	trail *audit.Log
}

func (a *auditedConn) Receive(msg any) error {
	if err := a.StreamingHandlerConn.Receive(msg); err != nil {
		return err
	}
	m, _ := msg.(proto.Message)
	a.call.subjects.AddMessage(m)
	if auth := foreignAuthority(a.call.principal, m); auth != "" {
		return foreignError(a.call.principal, auth)
	}
	return nil
}

func (a *auditedConn) Send(msg any) error {
	if m, ok := msg.(proto.Message); ok {
		a.call.subjects.AddMessage(m)
	}
	// A stream answers before the call's audit entry is appended: what
	// the answer acknowledges must be durable before it leaves.
	if err := a.trail.Sync(); err != nil {
		return connect.NewError(connect.CodeUnavailable, errors.New("the store cannot make changes durable"))
	}
	return a.StreamingHandlerConn.Send(msg)
}

// Internal returns the Connect error an internal fault becomes: the caller
// reads "internal error" and nothing of the cause, which the error keeps
// for the edge to log once, with the request id (InternalCause). Handlers
// do not log it themselves.
func Internal(cause error) *connect.Error {
	return connect.NewError(connect.CodeInternal, &internalCause{cause})
}

// InternalCause returns the cause kept by Internal, or nil.
func InternalCause(err error) error {
	var ic *internalCause
	if errors.As(err, &ic) {
		return ic.cause
	}
	return nil
}

type internalCause struct{ cause error }

func (e *internalCause) Error() string { return "internal error" }
