package rpc

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"vigie"
	"vigie/audit"
	"vigie/auth"
	"vigie/dimse"
	"vigie/ingest"
	vigiev1 "vigie/rpc/gen/vigie/v1"
	"vigie/sites"
)

// statusNotAuthorized is DIMSE's "Refused: Not Authorized" (PS3.7 C.5.x).
const statusNotAuthorized = 0x0124

// DIMSE is the dose intake of the DICOM listener (package dimse): which
// calling AE titles may send (those of the site registry, each acting for
// its site's assigning authority) and what a received instance becomes.
// Each instance goes through the same Ingester as STOW-RS and
// SubmitDicom, gets its audit entry (one per C-STORE, as one per STOW-RS
// request), and is durable before its status leaves.
type DIMSE struct {
	Ingester *Ingester
	Sites    *sites.Registry
	// Trail records one entry per C-STORE: the calling AE as principal,
	// the record and identity touched, the result. Its Append makes the
	// instance durable too; without a Trail, Sync does.
	Trail *audit.Log
	// Sync returns once every write committed before the call is durable.
	Sync func() error
	Log  *slog.Logger
}

// CStoreOperation is the operation of a C-STORE's audit entry.
const CStoreOperation = "DICOM C-STORE"

// Admit is dimse.Server.Admit: the calling AE title must be one of a
// registered site's; the site is kept for the association. An unknown
// title is refused (the server rejects the association and logs why).
func (d *DIMSE) Admit(calling string) (any, error) {
	ss, err := d.Sites.List(context.Background())
	if err != nil {
		return nil, dimse.RejectNoReason
	}
	for _, s := range ss {
		if slices.ContainsFunc(s.AETitles, func(ae string) bool { return strings.TrimSpace(ae) == calling }) {
			return s, nil
		}
	}
	return nil, fmt.Errorf("calling AE title %q belongs to no registered site (vigie site add --ae)", calling)
}

// Accepts is dimse.Server.Accepts: the SOP classes Vigie reads dose from.
func (d *DIMSE) Accepts(sopClass string) bool { return ingest.ReadsSOPClass(sopClass) }

// Store is dimse.Server.Store. The status: 0000 stored or already stored
// (the same SOP instance twice is counted once); B000 stored with a
// warning (values left out, a conflict kept for trace), the Error Comment
// saying which; C000 refused with the reason in the Error Comment (not a
// dose report, unreadable, no patient id…); 0124 a patient of another
// site's authority; A700 out of resources (the store's disk is under its
// reserve); 0110 a failure of Vigie's, logged with the request id.
func (d *DIMSE) Store(ctx context.Context, p *dimse.Peer, req *dimse.StoreRequest) dimse.Status {
	site, _ := p.Admitted.(sites.Site)
	principal := &auth.Principal{Name: "dicom:" + p.CallingAE, Role: auth.RoleIngest, Authorities: []string{site.Authority}, Method: "dicom_ae"}
	ctx, subjects := audit.WithSubjects(auth.WithPrincipal(auth.WithRequestID(ctx), principal))
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	attrs := []any{"request", auth.RequestID(ctx), "association", p.ID, "calling_ae", p.CallingAE, "sop_instance_uid", req.SOPInstanceUID}
	failure := dimse.Status{Code: dimse.StatusProcessingFailure, Comment: "processing failure: send the instance again"}
	t0 := time.Now()
	out, err := d.Ingester.IngestReader(ctx, "C-STORE "+req.SOPInstanceUID, req.File, req.Size, site.Authority, "")
	var st dimse.Status
	switch {
	case err == nil && out.GetSopInstanceUid() != req.SOPInstanceUID:
		st = dimse.Status{Code: dimse.StatusCoercion, Comment: "stored under the data set's SOP Instance UID, not the command's"}
	case err == nil && out.GetStatus() == vigiev1.DicomStatus_DICOM_STATUS_STORED && out.GetMessage() != "":
		st = dimse.Status{Code: dimse.StatusCoercion, Comment: dimse.ErrorComment(out.GetMessage())}
	case err == nil:
		st = dimse.Status{Code: dimse.StatusSuccess}
	case vigie.ErrorCode(err) == vigie.EINVALID:
		st = dimse.Status{Code: dimse.StatusCannotUnderstand, Comment: out.GetMessage()}
	case vigie.ErrorCode(err) == vigie.EPERMISSION:
		// The generic message names the principal, which the sender
		// does not know: say it in the sender's words.
		st = dimse.Status{Code: statusNotAuthorized, Comment: "IssuerOfPatientID is not the sending site's authority"}
	case vigie.ErrorCode(err) == vigie.EEXHAUSTED:
		st = dimse.Status{Code: dimse.StatusOutOfResources, Comment: "the dose server's disk is full: send again later"}
	default:
		st = failure // the Ingester logged the cause
	}
	t1 := time.Now()
	// The audit entry, then the answer: Append makes the instance and
	// its entry durable; an instance that cannot be audited is not
	// acknowledged (the sender sends it again, counted once).
	if aerr := d.record(ctx, p, principal, subjects, err); aerr != nil {
		log.Error("dicom C-STORE: the audit trail or the store is unavailable; the instance is not acknowledged", append(attrs, "error", aerr.Error())...)
		if vigie.ErrorCode(aerr) == vigie.EEXHAUSTED {
			return dimse.Status{Code: dimse.StatusOutOfResources, Comment: "the dose server's disk is full: send again later"}
		}
		return failure
	}
	attrs = append(attrs, "status", fmt.Sprintf("%04X", st.Code), "store_ms", t1.Sub(t0).Milliseconds(), "sync_ms", time.Since(t1).Milliseconds())
	if err != nil {
		log.Warn("dicom C-STORE refused", append(attrs, "reason", st.Comment)...)
	} else {
		log.Info("dicom C-STORE", append(attrs, "outcome", strings.ToLower(strings.TrimPrefix(out.GetStatus().String(), "DICOM_STATUS_")))...)
	}
	st.Comment = dimse.ErrorComment(st.Comment)
	return st
}

// record appends the C-STORE's audit entry (with a Trail) or syncs the
// store (without).
func (d *DIMSE) record(ctx context.Context, p *dimse.Peer, principal *auth.Principal, subjects *audit.Subjects, callErr error) error {
	if d.Trail == nil {
		return d.sync()
	}
	result := "ok"
	if callErr != nil {
		result = vigie.ErrorCode(callErr)
	}
	_, err := d.Trail.Append(audit.Entry{Principal: principal.Name, Role: string(principal.Role), Authorities: principal.Authorities,
		Operation: CStoreOperation, Identities: subjects.Identities(), Records: subjects.Records(), Result: result,
		Client: p.Addr, Credential: "dicom_ae:" + p.CallingAE})
	return err
}

func (d *DIMSE) sync() error {
	if d.Sync == nil {
		return nil
	}
	return d.Sync()
}
