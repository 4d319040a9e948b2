package auth

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"

	"connectrpc.com/connect"

	"vigie/audit"
)

// STOWProcedure names the STOW-RS endpoint (DICOMweb store, for PACS and
// DICOM nodes that cannot speak Connect) in the Policy and the audit trail.
const STOWProcedure = "POST /dicomweb/studies"

// HTTP wraps a plain HTTP handler (such as the STOW-RS endpoint) with what
// the Interceptor gives Connect handlers: bearer authentication (401),
// the Policy for operation (403, audited), the principal and an
// audit.Subjects in the request's context, and one audit entry per request
// whose result follows the status code. The handler's response is buffered
// and only sent once the audit entry is written; if it cannot be, the
// client gets 500 instead: no response leaves without a trace. Keep such
// responses small (STOW-RS answers a short status document).
func (i *Interceptor) HTTP(operation string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := WithRequestID(r.Context())
		p, err := i.authenticate(ctx, operation, r.Header, r.RemoteAddr)
		if err != nil {
			httpError(w, err)
			return
		}
		c := i.newCall(p, operation, r.Header, r.RemoteAddr)
		if err := i.authorize(ctx, c, nil); err != nil {
			httpError(w, err)
			return
		}
		ctx, c.subjects = audit.WithSubjects(WithPrincipal(ctx, p))
		buf := &bufferedWriter{header: http.Header{}}
		next.ServeHTTP(buf, r.WithContext(ctx))
		if buf.status == 0 {
			buf.status = http.StatusOK
		}
		if aerr := i.record(ctx, c, statusError(buf.status)); aerr != nil {
			httpError(w, aerr)
			return
		}
		for k, v := range buf.header {
			w.Header()[k] = v
		}
		w.WriteHeader(buf.status)
		_, _ = w.Write(buf.body.Bytes())
	})
}

// bufferedWriter holds a handler's response until it may be sent.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// statusError turns an HTTP status into the error whose Connect code the
// audit entry records as its result (nil for success).
func statusError(status int) error {
	var code connect.Code
	switch {
	case status < 400:
		return nil
	case status == http.StatusBadRequest, status == http.StatusUnsupportedMediaType, status == http.StatusRequestEntityTooLarge:
		code = connect.CodeInvalidArgument
	case status == http.StatusUnauthorized:
		code = connect.CodeUnauthenticated
	case status == http.StatusForbidden:
		code = connect.CodePermissionDenied
	case status == http.StatusNotFound:
		code = connect.CodeNotFound
	case status == http.StatusConflict:
		code = connect.CodeFailedPrecondition
	case status == http.StatusServiceUnavailable:
		code = connect.CodeUnavailable
	case status < 500:
		code = connect.CodeInvalidArgument
	default:
		code = connect.CodeInternal
	}
	return connect.NewError(code, fmt.Errorf("HTTP %d", status))
}

// RetryAfterSeconds is the Retry-After of an HTTP answer refused because
// the store's disk is short of space: the server measures it every
// second, an operator takes minutes.
const RetryAfterSeconds = "60"

// httpError answers a Connect error as plain HTTP with its status and
// message.
func httpError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	msg := "internal error"
	var ce *connect.Error
	if errors.As(err, &ce) {
		msg = ce.Message()
		switch ce.Code() {
		case connect.CodeUnauthenticated:
			status = http.StatusUnauthorized
			w.Header().Set("WWW-Authenticate", `Bearer realm="vigie"`)
		case connect.CodePermissionDenied:
			status = http.StatusForbidden
		case connect.CodeResourceExhausted:
			// The store's disk is under its floor (store.DiskGuard): the
			// request may be sent again once space is freed.
			status = http.StatusServiceUnavailable
			w.Header().Set("Retry-After", RetryAfterSeconds)
		}
	}
	http.Error(w, msg, status)
}
