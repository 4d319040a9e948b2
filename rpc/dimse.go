package rpc

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"vigie"
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
// SubmitDicom, and is durable (Sync) before the success status leaves.
type DIMSE struct {
	Ingester *Ingester
	Sites    *sites.Registry
	// Sync returns once every write committed before the call is durable.
	Sync func() error
	Log  *slog.Logger
}

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
	ctx = auth.WithPrincipal(auth.WithRequestID(ctx), &auth.Principal{Name: "dicom:" + p.CallingAE, Role: auth.RoleIngest,
		Authorities: []string{site.Authority}, Method: "dicom_ae"})
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	attrs := []any{"request", auth.RequestID(ctx), "association", p.ID, "calling_ae", p.CallingAE, "sop_instance_uid", req.SOPInstanceUID}
	t0 := time.Now()
	out, err := d.Ingester.IngestReader(ctx, "C-STORE "+req.SOPInstanceUID, req.File, req.Size, site.Authority, "")
	if err != nil {
		st := dimse.Status{Code: dimse.StatusProcessingFailure, Comment: "processing failure: send the instance again"}
		switch vigie.ErrorCode(err) {
		case vigie.EINVALID:
			st = dimse.Status{Code: dimse.StatusCannotUnderstand, Comment: out.GetMessage()}
		case vigie.EPERMISSION:
			// The generic message names the principal, which the
			// sender does not know: say it in the sender's words.
			st = dimse.Status{Code: statusNotAuthorized, Comment: "IssuerOfPatientID is not the sending site's authority"}
		case vigie.EEXHAUSTED:
			st = dimse.Status{Code: dimse.StatusOutOfResources, Comment: "the dose server's disk is full: send again later"}
		}
		log.Warn("dicom C-STORE refused", append(attrs, "status", fmt.Sprintf("%04X", st.Code), "reason", st.Comment)...)
		st.Comment = dimse.ErrorComment(st.Comment)
		return st
	}
	t1 := time.Now()
	if err := d.sync(); err != nil {
		log.Error("dicom C-STORE: the store could not be synced; the instance is not acknowledged", append(attrs, "error", err.Error())...)
		return dimse.Status{Code: dimse.StatusProcessingFailure, Comment: "processing failure: send the instance again"}
	}
	st := dimse.Status{Code: dimse.StatusSuccess}
	switch {
	case out.GetSopInstanceUid() != req.SOPInstanceUID:
		st = dimse.Status{Code: dimse.StatusCoercion, Comment: "stored under the data set's SOP Instance UID, not the command's"}
	case out.GetStatus() == vigiev1.DicomStatus_DICOM_STATUS_STORED && out.GetMessage() != "":
		st = dimse.Status{Code: dimse.StatusCoercion, Comment: dimse.ErrorComment(out.GetMessage())}
	}
	log.Info("dicom C-STORE", append(attrs, "status", fmt.Sprintf("%04X", st.Code), "outcome", strings.ToLower(strings.TrimPrefix(out.GetStatus().String(), "DICOM_STATUS_")),
		"store_ms", t1.Sub(t0).Milliseconds(), "sync_ms", time.Since(t1).Milliseconds())...)
	return st
}

func (d *DIMSE) sync() error {
	if d.Sync == nil {
		return nil
	}
	return d.Sync()
}
