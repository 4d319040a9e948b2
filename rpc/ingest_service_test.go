package rpc_test

import (
	"context"
	"testing"

	"connectrpc.com/connect"

	v1 "vigie/rpc/gen/vigie/v1"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
)

const (
	ctRDSR = "openrem/CT-RDSR-GEPixelMed.dcm"
	dxHdr  = "openrem/DX-Im-Carestream_DRX.dcm"
)

func TestIngestServiceRolesAndOutcomes(t *testing.T) {
	f := newServerFixture(t)
	ctx := context.Background()
	ct := dicomFile(t, ctRDSR)

	// Who may submit.
	for _, tc := range []struct {
		who  string
		req  *v1.SubmitDicomRequest
		want connect.Code
	}{
		{"", &v1.SubmitDicomRequest{File: ct, DefaultAuthority: siteA}, connect.CodeUnauthenticated},
		{"dr-martin", &v1.SubmitDicomRequest{File: ct, DefaultAuthority: siteA}, connect.CodePermissionDenied},
		{"iv-team", &v1.SubmitDicomRequest{File: ct, DefaultAuthority: siteA}, connect.CodePermissionDenied},
		{"physicist-a", &v1.SubmitDicomRequest{File: ct, DefaultAuthority: siteA}, connect.CodePermissionDenied},
		{"admin", &v1.SubmitDicomRequest{File: ct, DefaultAuthority: siteA}, connect.CodePermissionDenied},
		// Another site's authority, named in the request.
		{"pacs-a", &v1.SubmitDicomRequest{File: ct, DefaultAuthority: siteB}, connect.CodePermissionDenied},
		// Two authorities and none chosen: the file cannot be attached.
		{"pacs-ab", &v1.SubmitDicomRequest{File: ct}, connect.CodeInvalidArgument},
		// The file's own IssuerOfPatientID is another site's.
		{"pacs-a", &v1.SubmitDicomRequest{File: withIssuer(t, ctRDSR, siteB), Filename: "foreign.dcm"}, connect.CodePermissionDenied},
		// Malformed: truncated, empty, not DICOM.
		{"pacs-a", &v1.SubmitDicomRequest{File: ct[:400], Filename: "cut.dcm"}, connect.CodeInvalidArgument},
		{"pacs-a", &v1.SubmitDicomRequest{Filename: "empty.dcm"}, connect.CodeInvalidArgument},
		{"pacs-a", &v1.SubmitDicomRequest{File: []byte("this is not a DICOM file at all, just text"), Filename: "x.txt"}, connect.CodeInvalidArgument},
	} {
		_, err := f.ingest(tc.who).SubmitDicom(ctx, connect.NewRequest(tc.req))
		if code(err) != tc.want {
			t.Errorf("%s submitting %q (default authority %q): %v, want %v", tc.who, tc.req.GetFilename(), tc.req.GetDefaultAuthority(), err, tc.want)
		}
	}
	if n := f.ledgerCount(t); n != 0 {
		t.Fatalf("refused submissions stored %d exams", n)
	}
	if !f.audited(t, "dr-martin", vigiev1connect.IngestServiceSubmitDicomProcedure, "permission_denied", "") {
		t.Error("the clinician's refused submission is not audited")
	}

	// A real RDSR from the site's PACS: stored, attached to an identity.
	r, err := f.ingest("pacs-a").SubmitDicom(ctx, connect.NewRequest(&v1.SubmitDicomRequest{File: ct, Filename: "ct.dcm"}))
	if err != nil {
		t.Fatal(err)
	}
	o := r.Msg.GetOutcome()
	if o.GetStatus() != v1.DicomStatus_DICOM_STATUS_STORED || o.GetIdentityId() == "" || o.GetRecord().GetAuthority() != siteA ||
		len(o.GetExamIds()) != 1 || o.GetFilename() != "ct.dcm" {
		t.Fatalf("outcome %v", o)
	}
	// The same file again counts nothing twice.
	r2, err := f.ingest("pacs-a").SubmitDicom(ctx, connect.NewRequest(&v1.SubmitDicomRequest{File: ct, DefaultAuthority: siteA}))
	if err != nil || r2.Msg.GetOutcome().GetStatus() != v1.DicomStatus_DICOM_STATUS_DUPLICATE {
		t.Fatalf("resubmission: %v %v", r2.Msg.GetOutcome(), err)
	}
	if n := f.ledgerCount(t); n != 1 {
		t.Fatalf("ledger holds %d exams, want 1", n)
	}
	id := o.GetIdentityId()

	// The clinician reads the history; the read is audited.
	h, err := f.dose("dr-martin").GetDoseHistory(ctx, connect.NewRequest(&v1.GetDoseHistoryRequest{IdentityId: id}))
	if err != nil {
		t.Fatal(err)
	}
	if rows := h.Msg.GetHistory().GetCt(); len(rows) != 1 || rows[0].GetDlpTotalMgyCm() <= 0 || rows[0].GetExamId() != o.GetExamIds()[0] {
		t.Fatalf("CT section: %v", rows)
	}
	if !f.audited(t, "dr-martin", vigiev1connect.DoseServiceGetDoseHistoryProcedure, "ok", id) {
		t.Error("the clinician's read of the dose history is not audited with the identity")
	}

	// A stream: stored, refused, duplicate; the refusal does not stop it.
	stream := f.ingest("pacs-a").SubmitDicomStream(ctx)
	for _, m := range []*v1.SubmitDicomStreamRequest{
		{File: dicomFile(t, dxHdr), Filename: "dx.dcm"},
		{File: ct[:300], Filename: "cut.dcm"},
		{File: ct, Filename: "ct-again.dcm"},
	} {
		if err := stream.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	sr, err := stream.CloseAndReceive()
	if err != nil {
		t.Fatal(err)
	}
	got := sr.Msg
	if got.GetStored() != 1 || got.GetRefused() != 1 || got.GetDuplicates() != 1 || len(got.GetOutcomes()) != 3 {
		t.Fatalf("stream: %v", got)
	}
	if oc := got.GetOutcomes()[1]; oc.GetStatus() != v1.DicomStatus_DICOM_STATUS_REFUSED || oc.GetMessage() == "" || oc.GetFilename() != "cut.dcm" {
		t.Errorf("refused file's outcome: %v", oc)
	}
	if n := f.ledgerCount(t); n != 2 {
		t.Fatalf("ledger holds %d exams after the stream, want 2", n)
	}
	// A stream naming another site's authority is refused.
	stream = f.ingest("pacs-a").SubmitDicomStream(ctx)
	_ = stream.Send(&v1.SubmitDicomStreamRequest{File: ct, DefaultAuthority: siteB})
	if _, err := stream.CloseAndReceive(); code(err) != connect.CodePermissionDenied {
		t.Errorf("stream with a foreign authority: %v, want permission_denied", err)
	}

	var buf metricsText
	if err := f.metrics.Write(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`vigie_dicom_files_total{outcome="stored"} 2`, `vigie_dicom_files_total{outcome="duplicate"} 2`,
		`vigie_requests_total{code="permission_denied",procedure="/vigie.v1.IngestService/SubmitDicom"}`} {
		if !buf.has(want) {
			t.Errorf("metrics lack %s:\n%s", want, buf.String())
		}
	}
}
