package rpc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"connectrpc.com/connect"

	"vigie"
)

func TestConnectError(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		code      connect.Code
		msg       string // exact message expected
		detail    string // expected ErrorDetail code; "" for none
		field     string
		notInText string // must not appear in the message
	}{
		{"invalid names field", fmt.Errorf("resolve record 42: %w", vigie.Invalid("record.birth_date", "not a date: %q", "1970-13-01")),
			connect.CodeInvalidArgument, `record.birth_date: not a date: "1970-13-01"`, vigie.EINVALID, "record.birth_date", "resolve record 42"},
		{"not found", fmt.Errorf("get: %w", vigie.Errorf(vigie.ENOTFOUND, "identity %s not found", "I7")),
			connect.CodeNotFound, "identity I7 not found", vigie.ENOTFOUND, "", ""},
		{"conflict", vigie.Errorf(vigie.ECONFLICT, "identities are marked distinct"),
			connect.CodeFailedPrecondition, "identities are marked distinct", vigie.ECONFLICT, "", ""},
		{"permission", vigie.Errorf(vigie.EPERMISSION, "authority 1.2.3 is not yours"),
			connect.CodePermissionDenied, "authority 1.2.3 is not yours", vigie.EPERMISSION, "", ""},
		{"exhausted names the sizes", fmt.Errorf("mpi: resolve: %w", vigie.Errorf(vigie.EEXHAUSTED, "store: 900.0 MiB free on the store's filesystem, under the reserve of 1024.0 MiB")),
			connect.CodeResourceExhausted, "store: 900.0 MiB free on the store's filesystem, under the reserve of 1024.0 MiB", vigie.EEXHAUSTED, "", "mpi: resolve"},
		{"plain error is internal", fmt.Errorf("badger: write m/idn/I7: %w", errors.New("disk full")),
			connect.CodeInternal, "internal error", vigie.EINTERNAL, "", "disk full"},
		{"internal domain error hides its message", vigie.Errorf(vigie.EINTERNAL, "codec version 9 in m/src/x"),
			connect.CodeInternal, "internal error", vigie.EINTERNAL, "", "m/src"},
		{"unknown code is internal", &vigie.Error{Code: "weird", Message: "secret detail"},
			connect.CodeInternal, "internal error", vigie.EINTERNAL, "", "secret"},
		{"canceled", fmt.Errorf("search: %w", context.Canceled), connect.CodeCanceled, "request canceled", "", "", ""},
		{"deadline", context.DeadlineExceeded, connect.CodeDeadlineExceeded, "deadline exceeded", "", "", ""},
		{"connect error passes", connect.NewError(connect.CodeUnauthenticated, errors.New("no token")),
			connect.CodeUnauthenticated, "no token", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ce := ConnectError(tt.err)
			if ce.Code() != tt.code {
				t.Errorf("code = %v, want %v", ce.Code(), tt.code)
			}
			if ce.Message() != tt.msg {
				t.Errorf("message = %q, want %q", ce.Message(), tt.msg)
			}
			if tt.notInText != "" && strings.Contains(ce.Error(), tt.notInText) {
				t.Errorf("error %q leaks %q", ce.Error(), tt.notInText)
			}
			d := ErrorDetail(ce)
			switch {
			case tt.detail == "" && d != nil:
				t.Errorf("unexpected detail %v", d)
			case tt.detail != "" && d == nil:
				t.Errorf("no ErrorDetail, want code %q", tt.detail)
			case d != nil && (d.GetCode() != tt.detail || d.GetField() != tt.field):
				t.Errorf("detail = %q/%q, want %q/%q", d.GetCode(), d.GetField(), tt.detail, tt.field)
			}
		})
	}
	if ConnectError(nil) != nil {
		t.Error("ConnectError(nil) != nil")
	}
}
