package hl7

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"vigie"
	"vigie/audit"
	"vigie/auth"
)

// DoseBackfillPath is the route of the backfill of dose reports on a
// running server (the command line's vigie hl7 backfill needs it
// stopped): POST with a JSON body {"subscriber", "site", "from"} asks for
// the dose reports of the exams already in the ledger to be queued for a
// subscriber that takes them (Outbox.RequestBackfill; the server's
// outbox walks the ledger by batches and sends them); GET lists each
// subscriber's backfill with what is left of it. Both need the admin
// role: what is shown is counts and subscriber names, no patient data.
const DoseBackfillPath = "/admin/dose-backfill"

// DoseBackfillOperation names the backfill's calls in the audit trail.
const DoseBackfillOperation = "/vigie.v1.AdminService/DoseBackfill"

// DoseBackfillHandler serves DoseBackfillPath. Like the online backup it is a
// plain HTTP route that authenticates and audits itself, outside the
// Connect services' role table.
type DoseBackfillHandler struct {
	Outbox        *Outbox
	Authenticator auth.Authenticator
	Trail         *audit.Log
	Log           *slog.Logger
}

// BackfillRequest is the body of a POST to DoseBackfillPath.
type BackfillRequest struct {
	Subscriber string `json:"subscriber"`
	Site       string `json:"site,omitempty"`
	From       string `json:"from,omitempty"`
}

// BackfillState is one backfill in the answers of DoseBackfillPath.
type BackfillState struct {
	Subscriber  string    `json:"subscriber"`
	Site        string    `json:"site,omitempty"`
	From        string    `json:"from,omitempty"`
	Requested   time.Time `json:"requested"`
	By          string    `json:"by,omitempty"`
	Rows        int       `json:"rows_read"`
	RowsLeft    int       `json:"rows_left"`
	Queued      int       `json:"queued"`
	AlreadySent int       `json:"already_sent"`
	Waiting     int       `json:"left_to_live_queue"`
	Withheld    int       `json:"withheld"`
	Empty       int       `json:"without_figures"`
	Before      int       `json:"before_from"`
	DosePending int       `json:"dose_reports_unacknowledged"`
	Done        time.Time `json:"done,omitzero"`
	State       string    `json:"state"` // "en cours" or "terminé"
}

func backfillState(v BackfillView) BackfillState {
	s := BackfillState{Subscriber: v.Subscriber, Site: v.Site, From: v.From, Requested: v.Requested, By: v.By, Rows: v.Rows,
		RowsLeft: v.RowsLeft, Queued: v.Queued, AlreadySent: v.AlreadySent, Waiting: v.Waiting, Withheld: v.Withheld,
		Empty: v.Empty, Before: v.Before, DosePending: v.DosePending, Done: v.Done, State: "en cours"}
	if !v.Done.IsZero() {
		s.State = "terminé"
	}
	return s
}

func (d *DoseBackfillHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "GET or POST only", http.StatusMethodNotAllowed)
		return
	}
	reqID := auth.RequestID(auth.WithRequestID(r.Context()))
	w.Header().Set("X-Request-Id", reqID)
	p, status, msg, err := auth.Bearer(r, d.Authenticator)
	if status != http.StatusOK {
		if err != nil {
			log.Error("dose backfill: authentication failed", "request_id", reqID, "error", err.Error())
		}
		http.Error(w, msg, status)
		return
	}
	result, status, msg := "ok", http.StatusOK, ""
	var answer any
	var req BackfillRequest
	switch {
	case p.Role != auth.RoleAdmin:
		result, status, msg = "permission_denied", http.StatusForbidden, "the dose report backfill needs the admin role"
	case r.Method == http.MethodGet:
		vs, err := d.Outbox.Backfills(r.Context())
		if err != nil {
			result, status, msg = "internal", http.StatusInternalServerError, "the backfills could not be read"
			log.Error("dose backfill: list failed", "request_id", reqID, "error", err.Error())
			break
		}
		out := make([]BackfillState, len(vs))
		for i, v := range vs {
			out[i] = backfillState(v)
		}
		answer = map[string]any{"backfills": out}
	default:
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
			result, status, msg = "invalid_argument", http.StatusBadRequest, fmt.Sprintf("body: not the JSON object {\"subscriber\", \"site\", \"from\"}: %v", err)
			break
		}
		b, err := d.Outbox.RequestBackfill(r.Context(), strings.TrimSpace(req.Subscriber), req.Site, req.From, p.Name)
		switch vigie.ErrorCode(err) {
		case "":
			status = http.StatusAccepted
			answer = backfillState(BackfillView{Backfill: b})
		case vigie.EINVALID:
			result, status, msg = "invalid_argument", http.StatusBadRequest, err.Error()
		case vigie.ENOTFOUND:
			result, status, msg = "not_found", http.StatusNotFound, err.Error()
		case vigie.ECONFLICT:
			result, status, msg = "aborted", http.StatusConflict, err.Error()
		default:
			result, status, msg = "internal", http.StatusInternalServerError, "the backfill could not be recorded"
			log.Error("dose backfill: request failed", "request_id", reqID, "subscriber", req.Subscriber, "error", err.Error())
		}
	}
	credential := p.Method
	if p.CredentialID != "" {
		credential += ":" + p.CredentialID
	}
	if _, err := d.Trail.Append(audit.Entry{Principal: p.Name, Role: string(p.Role), Authorities: p.Authorities,
		Operation: DoseBackfillOperation, Result: result, Client: r.RemoteAddr, Credential: credential}); err != nil {
		log.Error("dose backfill: audit trail unavailable", "request_id", reqID, "principal", p.Name, "error", err.Error())
		http.Error(w, "audit trail unavailable", http.StatusServiceUnavailable)
		return
	}
	if answer == nil {
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(answer)
}
