// Package vigie holds the domain vocabulary shared by every part of the
// regional patient index and dose ledger: a source record (Record) and its
// key (SourceKey), a regional identity (Identity, IdentityID) and its
// attributes, the error type and its codes, and the table of limits every
// door checks (Limits). Every other package depends on this one for its
// words, never on a sibling.
//
// Sub-packages: matcher (pure identity matching), mpi (the patient index),
// ledger (dose data), ingest (DICOM and identity feeds), rpc (the API) and
// cmd/vigie (the single binary).
package vigie

import (
	"errors"
	"fmt"
)

// Error codes, mapped once to Connect codes by the rpc layer and to exit
// statuses by the CLI.
const (
	EINVALID    = "invalid"    // the caller sent something wrong
	ENOTFOUND   = "not_found"  // the thing asked for does not exist
	ECONFLICT   = "conflict"   // the state changed under the caller, or a rule forbids it
	EPERMISSION = "permission" // the caller may not do this
	EINTERNAL   = "internal"   // a fault of ours
	// EEXHAUSTED: a resource of the service ran short (the store's disk
	// space under its reserve). Nothing the caller sent is wrong: the same
	// call succeeds once the operator frees the resource.
	EEXHAUSTED = "exhausted"
)

// Error is a domain error: a code, the field it concerns (if any) and a
// message meant for the person who will read it. Wrap it with context as it
// goes up; ErrorCode finds it again.
type Error struct {
	Code    string
	Field   string
	Message string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error naming the field and the reason.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorField returns the field named by the first *Error in err's chain.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}
