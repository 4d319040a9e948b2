package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"vigie"
	"vigie/auth"
)

// ContentType is the one format served: FHIR JSON.
const ContentType = "application/fhir+json"

// problem is an error answered as an OperationOutcome: its HTTP status,
// issue type, the parameter or element at fault (a search parameter, or a
// FHIRPath such as Patient.birthDate) and the diagnostics.
type problem struct {
	status int
	code   fm.IssueType
	param  string
	msg    string
}

func (p *problem) Error() string { return p.param + ": " + p.msg }

// bad is a request error on a parameter.
func bad(param, format string, args ...any) *problem {
	return &problem{status: http.StatusBadRequest, code: fm.IssueTypeInvalid, param: param, msg: fmt.Sprintf(format, args...)}
}

// outcome is the OperationOutcome of one error issue.
func outcome(code fm.IssueType, param, msg string) fm.OperationOutcome {
	issue := fm.OperationOutcomeIssue{Severity: fm.IssueSeverityError, Code: code, Diagnostics: &msg}
	if param != "" {
		issue.Expression = []string{param}
		issue.Diagnostics = ptr(param + ": " + msg)
	}
	return fm.OperationOutcome{Issue: []fm.OperationOutcomeIssue{issue}}
}

// writeJSON answers v as FHIR JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // the links' & stay as they are
	err := enc.Encode(v)
	b := buf.Bytes()
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception","diagnostics":"internal error"}]}`)
	}
	w.Header().Set("Content-Type", ContentType+"; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeRefusal writes the refusals of the API's checks (unauthenticated,
// role, rate, audit trail) as OperationOutcomes (auth.HTTPErrorWriter).
func writeRefusal(w http.ResponseWriter, status int, msg string) {
	code := fm.IssueTypeException
	param := ""
	switch status {
	case http.StatusUnauthorized:
		code, param = fm.IssueTypeLogin, "Authorization"
	case http.StatusForbidden:
		code = fm.IssueTypeForbidden
	case http.StatusTooManyRequests:
		code = fm.IssueTypeThrottled
	case http.StatusServiceUnavailable:
		code = fm.IssueTypeTransient
	}
	writeJSON(w, status, outcome(code, param, msg))
}

// fail answers err: a problem as it is; a domain error (vigie.Error) by
// its code, its field renamed to the FHIR parameter by fields; anything
// else as an internal error, logged once here with the request id and
// never shown.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error, fields map[string]string) {
	if p, ok := err.(*problem); ok {
		writeJSON(w, p.status, outcome(p.code, p.param, p.msg))
		return
	}
	code := vigie.ErrorCode(err)
	field := vigie.ErrorField(err)
	if f, ok := fields[field]; ok {
		field = f
	} else if i := strings.IndexByte(field, '['); i > 0 {
		if f, ok := fields[field[:i]]; ok {
			field = f
		}
	}
	msg := ""
	if code != vigie.EINTERNAL {
		msg = asVigie(err).Message
	}
	switch code {
	case vigie.EINVALID:
		writeJSON(w, http.StatusBadRequest, outcome(fm.IssueTypeInvalid, field, msg))
	case vigie.ENOTFOUND:
		writeJSON(w, http.StatusNotFound, outcome(fm.IssueTypeNotFound, field, msg))
	case vigie.EPERMISSION:
		if field == "access_basis" {
			// The headers a clinician gives a basis with (README,
			// "Roles and access").
			msg += fmt.Sprintf(" (headers %s, %s)", auth.AccessCodeHeader, auth.BreakGlassHeader)
		}
		writeJSON(w, http.StatusForbidden, outcome(fm.IssueTypeForbidden, field, msg))
	case vigie.ECONFLICT:
		writeJSON(w, http.StatusConflict, outcome(fm.IssueTypeConflict, field, msg))
	case vigie.EEXHAUSTED:
		w.Header().Set("Retry-After", auth.RetryAfterSeconds)
		writeJSON(w, http.StatusServiceUnavailable, outcome(fm.IssueTypeTransient, "", msg))
	default:
		id := auth.RequestID(r.Context())
		h.log.ErrorContext(r.Context(), "fhir: internal error", "request", id, "operation", r.Method+" "+r.URL.Path, "error", err.Error())
		writeJSON(w, http.StatusInternalServerError, outcome(fm.IssueTypeException, "", "internal error (request "+id+")"))
	}
}

func asVigie(err error) *vigie.Error {
	var v *vigie.Error
	if errors.As(err, &v) {
		return v
	}
	return &vigie.Error{Code: vigie.ErrorCode(err), Message: err.Error()}
}

// jsonOnly refuses, with an OperationOutcome, a request asking for
// another format than FHIR JSON (_format, Accept) or sending another
// (Content-Type of a body).
func jsonOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f := r.URL.Query().Get("_format"); f != "" && !isJSON(f) {
			writeJSON(w, http.StatusNotAcceptable, outcome(fm.IssueTypeNotSupported, "_format", fmt.Sprintf("%q: only FHIR JSON (json, application/fhir+json) is served", f)))
			return
		}
		if a := r.Header.Get("Accept"); a != "" && !acceptsJSON(a) {
			writeJSON(w, http.StatusNotAcceptable, outcome(fm.IssueTypeNotSupported, "Accept", fmt.Sprintf("%q: only %s is served", a, ContentType)))
			return
		}
		if r.Method == http.MethodPost {
			mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if err != nil || !isJSON(mt) {
				writeJSON(w, http.StatusUnsupportedMediaType, outcome(fm.IssueTypeNotSupported, "Content-Type",
					fmt.Sprintf("%q: send %s", r.Header.Get("Content-Type"), ContentType)))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func isJSON(f string) bool {
	switch strings.ToLower(strings.TrimSpace(f)) {
	case "json", ContentType, "application/json", "application/json+fhir":
		return true
	}
	return false
}

// acceptsJSON reports whether an Accept header admits FHIR JSON.
func acceptsJSON(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if isJSON(mt) || mt == "*/*" || mt == "application/*" {
			return true
		}
	}
	return false
}

// unsupported answers what no route claims under /fhir/.
func unsupported(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, outcome(fm.IssueTypeNotSupported, "",
		fmt.Sprintf("%s %s is not served: Vigie serves GET Patient, GET Patient/{id}, POST Patient/$match, GET Patient/$ihe-pix, GET Observation?patient=, GET Observation/{id} and GET metadata", r.Method, r.URL.Path)))
}

func ptr[T any](v T) *T { return &v }
