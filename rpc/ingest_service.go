package rpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"connectrpc.com/connect"

	"vigie"
	"vigie/audit"
	"vigie/auth"
	"vigie/ingest"
	"vigie/ledger"
	"vigie/mpi"
	vigiev1 "vigie/rpc/gen/vigie/v1"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
)

// MaxDicomBytes bounds one submitted DICOM file: dose reports are small
// (an RDSR is tens of kilobytes; a header image with its pixels, a few
// megabytes). The value is vigie.MaxDicomBytes, in the one table of limits.
const MaxDicomBytes = vigie.MaxDicomBytes

// MPIResolver is the ingest.Resolver over the patient index: the file's
// demographics become (or update) a source record, resolved as online
// resolution does, with the caller as the actor.
type MPIResolver struct {
	Index *mpi.Index
}

// Resolve implements ingest.Resolver.
func (r MPIResolver) Resolve(ctx context.Context, rec vigie.Record) (string, error) {
	res, err := r.Index.Resolve(ctx, rec, actor(ctx))
	if err != nil {
		return "", err
	}
	return res.Identity.String(), nil
}

// Ingester turns submitted DICOM files into ledger entries, for
// IngestService and the STOW-RS endpoint alike.
type Ingester struct {
	Index   *mpi.Index
	Ledger  *ledger.Ledger
	Metrics *Metrics     // may be nil
	Log     *slog.Logger // may be nil
}

// Ingest parses and stores one file for the caller in ctx. defaultAuthority
// is the PatientID's assigning authority when the file names none (empty:
// the caller's only authority, when it has exactly one). The outcome is
// always filled as far as the file could be read; the error is a domain
// error (EINVALID for a file Vigie cannot use, EPERMISSION for a patient
// of another authority) or an internal one. Nothing is stored for a refused
// file.
func (g *Ingester) Ingest(ctx context.Context, name string, file []byte, defaultAuthority string) (*vigiev1.DicomOutcome, error) {
	if len(file) > MaxDicomBytes {
		return g.refuse(ctx, &vigiev1.DicomOutcome{Filename: name}, vigie.Invalid("file", "is %d bytes, more than %d", len(file), MaxDicomBytes))
	}
	return g.IngestReader(ctx, name, bytes.NewReader(file), int64(len(file)), defaultAuthority, "")
}

// IngestReader is Ingest for a file of size bytes read from r, which the
// caller has bounded (the DICOM listener streams an instance to a
// temporary file, whatever its size: only its first megabytes are held in
// memory, see ingest.ParseDICOM). study, when set, is the study the file
// must belong to (STOW-RS POST /studies/{StudyInstanceUID}): a file of
// another is refused, EINVALID on field StudyInstanceUID, before anything
// is stored.
func (g *Ingester) IngestReader(ctx context.Context, name string, r io.Reader, size int64, defaultAuthority, study string) (*vigiev1.DicomOutcome, error) {
	out := &vigiev1.DicomOutcome{Filename: name}
	p, _ := auth.PrincipalFrom(ctx)
	fail := func(err error) (*vigiev1.DicomOutcome, error) { return g.refuse(ctx, out, err) }
	if size == 0 {
		return fail(vigie.Invalid("file", "is empty: a DICOM Part-10 file is required"))
	}
	authority := strings.TrimSpace(defaultAuthority)
	if authority == "" && p != nil && len(p.Authorities) == 1 {
		authority = p.Authorities[0]
	}
	if authority != "" && !p.MayActFor(authority) {
		return fail(&vigie.Error{Code: vigie.EPERMISSION, Field: "default_authority", Message: fmt.Sprintf("%s %q does not act for %q", p.Role, p.Name, authority)})
	}
	rep, err := ingest.ParseDICOM(r, size, ingest.DICOMOptions{Authority: authority})
	if err != nil {
		if vigie.ErrorCode(err) == vigie.EINVALID {
			return fail(err)
		}
		return fail(vigie.Invalid("file", "cannot be read as DICOM"))
	}
	x := &rep.Exam
	out.SopInstanceUid = x.SOPInstanceUID
	if x.Key.LocalID != "" {
		out.Record = &vigiev1.SourceKey{Authority: x.Key.Authority, LocalId: x.Key.LocalID}
	}
	if study != "" && x.StudyUID != study {
		return fail(vigie.Invalid("StudyInstanceUID", "%s is not the study the request names (%s)", x.StudyUID, study))
	}
	if x.Key.Authority == "" {
		return fail(vigie.Invalid("default_authority", "the file has no IssuerOfPatientID and no default authority was given"))
	}
	// The interceptor checked the request; the file's own issuer is the
	// handler's to check.
	if !p.MayActFor(x.Key.Authority) {
		return fail(&vigie.Error{Code: vigie.EPERMISSION, Field: "IssuerOfPatientID", Message: fmt.Sprintf("%s %q does not act for assigning authority %q", p.Role, p.Name, x.Key.Authority)})
	}
	o, err := ingest.DICOMReport(ctx, name, rep, MPIResolver{g.Index}, g.Ledger)
	if err != nil {
		switch vigie.ErrorCode(err) {
		case vigie.EINVALID, vigie.EPERMISSION:
			return fail(err)
		case vigie.EEXHAUSTED:
			// The store's disk is under its reserve: the server logged
			// the crossing once; each file refused is counted, not logged.
			out.Status = vigiev1.DicomStatus_DICOM_STATUS_REFUSED
			out.Message = refusalMessage(err) + "; send the file again once space is freed"
			g.Metrics.IngestOutcome("no_space")
			return out, err
		}
		if ctx.Err() == nil && g.Log != nil {
			g.Log.ErrorContext(ctx, "dicom ingest failed", "request", auth.RequestID(ctx), "sop_instance_uid", x.SOPInstanceUID, "error", err.Error())
		}
		out.Status = vigiev1.DicomStatus_DICOM_STATUS_REFUSED
		out.Message = "internal error: the file was not stored; send it again"
		g.Metrics.IngestOutcome("error")
		return out, err
	}
	out.IdentityId = o.Identity
	switch o.Ledger.Result {
	case ledger.Duplicate:
		out.Status = vigiev1.DicomStatus_DICOM_STATUS_DUPLICATE
		out.Message = "this SOP instance is already in the ledger: nothing counted twice"
		g.Metrics.IngestOutcome("duplicate")
	case ledger.Conflict:
		out.Status = vigiev1.DicomStatus_DICOM_STATUS_STORED
		out.Message = "this SOP instance was first stored under another " + o.Ledger.Conflict +
			": kept as a conflict for trace, not counted; an identity-vigilance alert is raised"
		g.Metrics.IngestOutcome("conflict")
	case ledger.Excluded:
		out.Status = vigiev1.DicomStatus_DICOM_STATUS_STORED
		out.Message = "image-header figures of a study already covered by a dose SR: kept for trace, not counted"
		g.Metrics.IngestOutcome("stored")
	default:
		out.Status = vigiev1.DicomStatus_DICOM_STATUS_STORED
		if o.Ledger.RepeatedEvents > 0 {
			out.Message = fmt.Sprintf("%d irradiation events already counted by an earlier report were left out", o.Ledger.RepeatedEvents)
		}
		g.Metrics.IngestOutcome("stored")
	}
	if out.IdentityId == "" { // a duplicate is not resolved again
		if id, err := g.Index.IdentityOf(ctx, x.Key.Authority, x.Key.LocalID); err == nil {
			out.IdentityId = id.String()
		}
	}
	out.ExamIds = []string{x.SOPInstanceUID}
	// The Connect interceptor finds the patient in the response; STOW-RS
	// answers DICOM, so the handler names it for the audit entry.
	audit.TouchRecord(ctx, x.Key.Authority, x.Key.LocalID)
	if out.IdentityId != "" {
		audit.Touch(ctx, out.IdentityId)
	}
	if len(rep.Warnings) > 0 && out.Message == "" {
		out.Message = strings.Join(rep.Warnings, "; ")
	}
	return out, nil
}

// refusalMessage is the text of a refusal the sender may read: the domain
// error's own message, never internals.
func refusalMessage(err error) string {
	var ve *vigie.Error
	if errors.As(err, &ve) {
		return ve.Error()
	}
	return "internal error"
}

// IngestService serves vigie.v1.IngestService: DICOM dose reports from
// ingestion pipelines, each stored in the ledger under its patient's
// source record, resolved through the patient index.
type IngestService struct {
	Ingester *Ingester
}

var _ vigiev1connect.IngestServiceHandler = (*IngestService)(nil)

// SubmitDicom ingests one file. A file Vigie refuses is an error of the
// call (invalid_argument naming the reason, permission_denied for a
// patient of another authority) and nothing of it is stored; a duplicate
// is a success with status DUPLICATE.
func (s *IngestService) SubmitDicom(ctx context.Context, req *connect.Request[vigiev1.SubmitDicomRequest]) (*connect.Response[vigiev1.SubmitDicomResponse], error) {
	m := req.Msg
	out, err := s.Ingester.Ingest(ctx, m.GetFilename(), m.GetFile(), m.GetDefaultAuthority())
	if err != nil {
		return nil, ConnectError(err)
	}
	return connect.NewResponse(&vigiev1.SubmitDicomResponse{Outcome: out}), nil
}

// SubmitDicomStream ingests a batch, one outcome per file: a refused file
// gets status REFUSED with its reason and does not stop the stream. An
// internal error ends the stream (files already stored stay stored).
func (s *IngestService) SubmitDicomStream(ctx context.Context, stream *connect.ClientStream[vigiev1.SubmitDicomStreamRequest]) (*connect.Response[vigiev1.SubmitDicomStreamResponse], error) {
	resp := &vigiev1.SubmitDicomStreamResponse{}
	for stream.Receive() {
		m := stream.Msg()
		out, err := s.Ingester.Ingest(ctx, m.GetFilename(), m.GetFile(), m.GetDefaultAuthority())
		if err != nil {
			switch vigie.ErrorCode(err) {
			case vigie.EINVALID, vigie.EPERMISSION:
			default:
				return nil, ConnectError(err)
			}
		}
		resp.Outcomes = append(resp.Outcomes, out)
		switch out.Status {
		case vigiev1.DicomStatus_DICOM_STATUS_STORED:
			resp.Stored++
		case vigiev1.DicomStatus_DICOM_STATUS_DUPLICATE:
			resp.Duplicates++
		default:
			resp.Refused++
		}
	}
	if err := stream.Err(); err != nil {
		return nil, ConnectError(err)
	}
	return connect.NewResponse(resp), nil
}

// refuse makes out a refused file's outcome, counts it, and says once in
// the log who sent it and why: the sender's name and key, the request,
// the file's SOP instance when read, and the field and code of the
// reason. The reason's text is the sender's to read (it may quote a trait
// of the file), and a file's name may hold a patient's: the log keeps
// identifiers only.
func (g *Ingester) refuse(ctx context.Context, out *vigiev1.DicomOutcome, err error) (*vigiev1.DicomOutcome, error) {
	out.Status = vigiev1.DicomStatus_DICOM_STATUS_REFUSED
	out.Message = refusalMessage(err)
	g.Metrics.IngestOutcome("refused")
	if g.Log != nil {
		sender, credential := "", ""
		if p, _ := auth.PrincipalFrom(ctx); p != nil {
			sender, credential = p.Name, p.CredentialID
		}
		g.Log.WarnContext(ctx, "dicom file refused", "request", auth.RequestID(ctx), "sender", sender, "credential", credential,
			"sop_instance_uid", out.SopInstanceUid, "field", vigie.ErrorField(err), "code", vigie.ErrorCode(err))
	}
	return out, err
}
