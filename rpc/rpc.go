// Package rpc is Vigie's Connect API: the protobuf definitions (proto/), the
// generated code committed under gen/ (regenerate with generate.sh), and the
// translation of domain errors into Connect errors. Authentication and
// authorisation live in auth, the audit trail in audit; handlers
// that translate between protobuf messages and the patient index and dose
// ledger come on top of them.
//
// Key space: the a/ namespace of the store belongs to this package's
// sub-packages: a/tok/… API keys (auth), a/log/… the audit trail
// (audit; its index is in files beside the store).
package rpc

//go:generate ./generate.sh

import (
	"context"
	"errors"

	"connectrpc.com/connect"

	"vigie"
	"vigie/auth"
	vigiev1 "vigie/rpc/gen/vigie/v1"
)

// ConnectError maps a domain error to the Connect error a client receives,
// once for every handler:
//
//	EINVALID    → invalid_argument, the message naming the field
//	ENOTFOUND   → not_found
//	ECONFLICT   → failed_precondition
//	EPERMISSION → permission_denied
//	EEXHAUSTED  → resource_exhausted, the message naming the free space
//	              and the reserve (sizes only): retry once space is freed
//	anything else → internal, with the message "internal error" only
//
// ECONFLICT maps to failed_precondition rather than aborted: the patient
// index retries its own transaction conflicts, so a conflict that reaches a
// client is a rule that forbids the change (identities marked distinct, a
// merge already undone, a record that moved since the caller read it), and
// retrying the same call as is would fail again; the client has to read the
// state anew and decide. Context cancellation and deadlines keep their own
// codes, and an error that already is a *connect.Error passes unchanged.
//
// Every domain error carries a vigie.v1.ErrorDetail with the code and field.
// An internal error's message never says more: the caller must log err
// itself (without patient data) before returning the mapped error.
func ConnectError(err error) *connect.Error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce
	}
	switch {
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, errors.New("request canceled"))
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, errors.New("deadline exceeded"))
	}
	code := vigie.ErrorCode(err)
	var c connect.Code
	var msg string
	switch code {
	case vigie.EINVALID:
		c = connect.CodeInvalidArgument
	case vigie.ENOTFOUND:
		c = connect.CodeNotFound
	case vigie.ECONFLICT:
		c = connect.CodeFailedPrecondition
	case vigie.EPERMISSION:
		c = connect.CodePermissionDenied
	case vigie.EEXHAUSTED:
		c = connect.CodeResourceExhausted
	default:
		// The cause stays on the error for the call log to write once,
		// with the request id; the caller reads "internal error".
		out := auth.Internal(err)
		if d, derr := connect.NewErrorDetail(&vigiev1.ErrorDetail{Code: vigie.EINTERNAL}); derr == nil {
			out.AddDetail(d)
		}
		return out
	}
	var field string
	if msg == "" {
		// The domain error's own text ("field: reason"), not the context
		// wrapped around it on the way up, which may name internals.
		var ve *vigie.Error
		errors.As(err, &ve)
		msg, field = ve.Error(), ve.Field
	}
	out := connect.NewError(c, errors.New(msg))
	if d, derr := connect.NewErrorDetail(&vigiev1.ErrorDetail{Code: code, Field: field}); derr == nil {
		out.AddDetail(d)
	}
	return out
}

// ErrorDetail returns the vigie.v1.ErrorDetail attached to a Connect error,
// or nil: what a Go client uses to act on the code and field of an error.
func ErrorDetail(err error) *vigiev1.ErrorDetail {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return nil
	}
	for _, d := range ce.Details() {
		v, derr := d.Value()
		if derr != nil {
			continue
		}
		if ed, ok := v.(*vigiev1.ErrorDetail); ok {
			return ed
		}
	}
	return nil
}
