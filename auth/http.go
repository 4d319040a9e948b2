package auth

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"

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
	return i.HTTPWith(operation, next, nil)
}

// HTTPErrorWriter writes the refusals of Interceptor.HTTPWith (401, 403,
// 429, 500, 503) in a protocol's own form, such as a FHIR
// OperationOutcome. Headers the status needs (WWW-Authenticate,
// Retry-After) are already set on w; message is safe to show the caller.
type HTTPErrorWriter func(w http.ResponseWriter, status int, message string)

// HTTPWith is HTTP with the refusals written by errs (nil: plain text),
// and the rate of reads of the Limited operations applied as for the
// Connect calls.
func (i *Interceptor) HTTPWith(operation string, next http.Handler, errs HTTPErrorWriter) http.Handler {
	if errs == nil {
		errs = func(w http.ResponseWriter, status int, msg string) { http.Error(w, msg, status) }
	}
	httpError := func(w http.ResponseWriter, err error) {
		status, msg := httpStatus(w, err)
		errs(w, status, msg)
	}
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
		if err := i.rate(ctx, c); err != nil {
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

// httpStatus maps a Connect error to the HTTP status and message to
// answer, and sets the headers that status needs on w.
func httpStatus(w http.ResponseWriter, err error) (int, string) {
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
			if isThrottled(err) {
				status = http.StatusTooManyRequests
				w.Header().Set("Retry-After", "1")
				break
			}
			// The store's disk is under its floor (store.DiskGuard): the
			// request may be sent again once space is freed.
			status = http.StatusServiceUnavailable
			w.Header().Set("Retry-After", RetryAfterSeconds)
		}
	}
	return status, msg
}

// Bearer authenticates the bearer credential of a plain HTTP request that
// checks its own credential (the online backup, the dose report backfill)
// with a. When it fails it answers the status and the message safe to show
// the caller: 401 for a missing or refused credential, 500 when the
// authentication could not be made, with err its cause for the caller to
// log once.
func Bearer(r *http.Request, a Authenticator) (p *Principal, status int, message string, err error) {
	cred, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(cred) == "" {
		return nil, http.StatusUnauthorized, "missing bearer credential (Authorization: Bearer <token>)", nil
	}
	p, err = a.Authenticate(r.Context(), strings.TrimSpace(cred))
	switch {
	case err == nil && p != nil:
		return p, http.StatusOK, "", nil
	case err == nil, errors.Is(err, ErrUnauthenticated), errors.Is(err, ErrNotMine):
		return nil, http.StatusUnauthorized, "invalid credential", nil
	default:
		return nil, http.StatusInternalServerError, "authentication unavailable", err
	}
}
