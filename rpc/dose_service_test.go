package rpc_test

import (
	"context"
	"testing"

	"vigie"

	"connectrpc.com/connect"

	"vigie/dosimetry"
	"vigie/rpc"
	v1 "vigie/rpc/gen/vigie/v1"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
)

// submit ingests a shared file as who and returns its outcome.
func (f *serverFixture) submit(t *testing.T, who, rel, authority string) *v1.DicomOutcome {
	t.Helper()
	r, err := f.ingest(who).SubmitDicom(context.Background(), connect.NewRequest(&v1.SubmitDicomRequest{File: dicomFile(t, rel), DefaultAuthority: authority}))
	if err != nil {
		t.Fatalf("submit %s: %v", rel, err)
	}
	return r.Msg.GetOutcome()
}

func field(err error) string { return rpc.ErrorDetail(err).GetField() }

func TestDoseServiceRoles(t *testing.T) {
	f := newServerFixture(t)
	ctx := context.Background()
	a := f.submit(t, "pacs-a", ctRDSR, siteA)
	b := f.submit(t, "pacs-b", dxHdr, siteB)
	idA := a.GetIdentityId()

	hist := func(who, id, since string) error {
		_, err := f.dose(who).GetDoseHistory(ctx, connect.NewRequest(&v1.GetDoseHistoryRequest{IdentityId: id, Since: since}))
		return err
	}
	for _, tc := range []struct {
		who, id, since string
		want           connect.Code
		field          string
	}{
		{"", idA, "", connect.CodeUnauthenticated, ""},
		{"pacs-a", idA, "", connect.CodePermissionDenied, ""},
		{"admin", idA, "", connect.CodePermissionDenied, ""},
		{"dr-martin", idA, "", 0, ""},
		{"iv-team", idA, "", 0, ""},
		{"physicist-a", idA, "", 0, ""},
		// A physicist of a site that never saw the patient learns nothing.
		{"physicist-b", idA, "", connect.CodeNotFound, ""},
		{"dr-martin", "abc", "", connect.CodeInvalidArgument, "identity_id"},
		{"dr-martin", "999999", "", connect.CodeNotFound, ""},
		{"dr-martin", idA, "2020-13-01", connect.CodeInvalidArgument, "since"},
	} {
		err := hist(tc.who, tc.id, tc.since)
		if code(err) != tc.want || (tc.field != "" && field(err) != tc.field) {
			t.Errorf("%s GetDoseHistory(%s, since %q): %v (field %q), want %v %q", tc.who, tc.id, tc.since, err, field(err), tc.want, tc.field)
		}
	}
	if !f.audited(t, "pacs-a", vigiev1connect.DoseServiceGetDoseHistoryProcedure, "permission_denied", idA) {
		t.Error("a refused read is not audited with the identity it asked for")
	}
	for _, who := range []string{"dr-martin", "iv-team", "physicist-a"} {
		if !f.audited(t, who, vigiev1connect.DoseServiceGetDoseHistoryProcedure, "ok", idA) {
			t.Errorf("%s's read is not audited", who)
		}
	}

	// ListExams.
	list := func(who string, req *v1.ListExamsRequest) (*v1.ListExamsResponse, error) {
		r, err := f.dose(who).ListExams(ctx, connect.NewRequest(req))
		if err != nil {
			return nil, err
		}
		return r.Msg, nil
	}
	for _, tc := range []struct {
		who   string
		req   *v1.ListExamsRequest
		want  connect.Code
		field string
		n     int
	}{
		{"dr-martin", &v1.ListExamsRequest{IdentityId: idA}, 0, "", 1},
		{"dr-martin", &v1.ListExamsRequest{Record: a.GetRecord()}, 0, "", 1},
		{"dr-martin", &v1.ListExamsRequest{IdentityId: idA, Modality: v1.Modality_MODALITY_RADIOGRAPHY}, 0, "", 0},
		{"dr-martin", &v1.ListExamsRequest{Site: siteA}, connect.CodePermissionDenied, "", 0},
		{"physicist-a", &v1.ListExamsRequest{Site: siteA}, 0, "", 1},
		{"physicist-a", &v1.ListExamsRequest{Site: siteB}, connect.CodePermissionDenied, "", 0},
		{"physicist-b", &v1.ListExamsRequest{Record: a.GetRecord()}, connect.CodePermissionDenied, "", 0},
		{"iv-team", &v1.ListExamsRequest{Site: siteB}, 0, "", 1},
		{"iv-team", &v1.ListExamsRequest{}, connect.CodeInvalidArgument, "identity_id", 0},
		{"iv-team", &v1.ListExamsRequest{Site: siteA, PageSize: 5000}, connect.CodeInvalidArgument, "page_size", 0},
		{"iv-team", &v1.ListExamsRequest{Site: siteA, Until: "13/03/2013"}, connect.CodeInvalidArgument, "until", 0},
		{"pacs-a", &v1.ListExamsRequest{Site: siteA}, connect.CodePermissionDenied, "", 0},
	} {
		got, err := list(tc.who, tc.req)
		if code(err) != tc.want || (tc.field != "" && field(err) != tc.field) || len(got.GetExams()) != tc.n {
			t.Errorf("%s ListExams(%v): %d exams, %v (field %q), want %d, %v %q", tc.who, tc.req, len(got.GetExams()), err, field(err), tc.n, tc.want, tc.field)
		}
	}
	got, _ := list("dr-martin", &v1.ListExamsRequest{IdentityId: idA})
	if e := got.GetExams()[0]; e.GetModality() != v1.Modality_MODALITY_CT || e.GetDlpTotalMgyCm() <= 0 || e.GetIdentityId() != idA ||
		e.GetSopInstanceUid() != a.GetSopInstanceUid() || e.DapTotalCgyCm2 != nil {
		t.Errorf("exam %v", e)
	}

	// Hidden identities: clinicians no longer see the patient's doses.
	iv := vigiev1connect.NewIdentityServiceClient(f.client, f.url, connect.WithInterceptors(bearer(f.tokens["iv-team"])))
	if _, err := iv.SetAttributes(ctx, connect.NewRequest(&v1.SetAttributesRequest{IdentityId: idA, Add: []string{"CACH"}, Reason: "patient request"})); err != nil {
		t.Fatal(err)
	}
	if err := hist("dr-martin", idA, ""); code(err) != connect.CodeNotFound {
		t.Errorf("clinician reads a hidden identity's doses: %v, want not_found", err)
	}
	if _, err := list("dr-martin", &v1.ListExamsRequest{Record: a.GetRecord()}); code(err) != connect.CodeNotFound {
		t.Errorf("clinician lists a hidden identity's exams by record: %v, want not_found", err)
	}
	if err := hist("iv-team", idA, ""); err != nil {
		t.Errorf("vigilance reads a hidden identity's doses: %v", err)
	}
	_ = b
}

func TestDoseServiceAlertsAndNRD(t *testing.T) {
	f := newServerFixture(t)
	ctx := context.Background()
	a := f.submit(t, "pacs-a", ctRDSR, siteA)
	_, err := f.alerts.RaiseAll(ctx, []dosimetry.Alert{
		{ID: "alert-a", Kind: dosimetry.AlertCTDIvol, Site: siteA, Key: vigie.SourceKey{Authority: siteA, LocalID: a.GetRecord().GetLocalId()},
			SOP: a.GetSopInstanceUid(), Date: "2013-03-13", Indicator: "ctdivol", Value: 90, Threshold: 50, Unit: "mGy", Message: "CTDIvol 90 mGy"},
		{ID: "alert-b", Kind: dosimetry.AlertDAP, Site: siteB, Key: vigie.SourceKey{Authority: siteB, LocalID: "X1"},
			SOP: "1.2.3", Date: "2013-03-14", Indicator: "pds", Value: 600, Threshold: 500, Unit: "Gy.cm2", Message: "PDS 600 Gy.cm2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	alerts := func(who string, req *v1.ListAlertsRequest) ([]string, error) {
		r, err := f.dose(who).ListAlerts(ctx, connect.NewRequest(req))
		if err != nil {
			return nil, err
		}
		var ids []string
		for _, al := range r.Msg.GetAlerts() {
			ids = append(ids, al.GetId())
		}
		return ids, err
	}
	for _, tc := range []struct {
		who  string
		req  *v1.ListAlertsRequest
		want connect.Code
		ids  int
	}{
		{"physicist-a", &v1.ListAlertsRequest{}, 0, 1},
		{"physicist-b", &v1.ListAlertsRequest{}, 0, 1},
		{"iv-team", &v1.ListAlertsRequest{}, 0, 2},
		{"physicist-a", &v1.ListAlertsRequest{Site: siteB}, connect.CodePermissionDenied, 0},
		{"dr-martin", &v1.ListAlertsRequest{}, connect.CodePermissionDenied, 0},
		{"pacs-a", &v1.ListAlertsRequest{}, connect.CodePermissionDenied, 0},
	} {
		ids, err := alerts(tc.who, tc.req)
		if code(err) != tc.want || len(ids) != tc.ids {
			t.Errorf("%s ListAlerts(%v): %v %v, want %d alerts, %v", tc.who, tc.req, ids, err, tc.ids, tc.want)
		}
	}
	if ids, _ := alerts("physicist-a", &v1.ListAlertsRequest{}); len(ids) != 1 || ids[0] != "alert-a" {
		t.Errorf("physicist-a sees %v", ids)
	}
	ack := func(who, id, comment string) (*v1.Alert, error) {
		r, err := f.dose(who).AcknowledgeAlert(ctx, connect.NewRequest(&v1.AcknowledgeAlertRequest{AlertId: id, Comment: comment}))
		if err != nil {
			return nil, err
		}
		return r.Msg.GetAlert(), nil
	}
	if _, err := ack("physicist-b", "alert-a", "seen"); code(err) != connect.CodeNotFound {
		t.Errorf("physicist of another site acknowledges: %v, want not_found", err)
	}
	if _, err := ack("physicist-a", "alert-a", "  "); code(err) != connect.CodeInvalidArgument || field(err) != "comment" {
		t.Errorf("acknowledge without a comment: %v", err)
	}
	if _, err := ack("physicist-a", "", "x"); code(err) != connect.CodeInvalidArgument || field(err) != "alert_id" {
		t.Errorf("acknowledge without an id: %v", err)
	}
	al, err := ack("physicist-a", "alert-a", "protocol reviewed with the radiographers")
	if err != nil || al.GetAcknowledgedBy() != "physicist-a" || al.GetAcknowledged() == nil {
		t.Fatalf("acknowledge: %v %v", al, err)
	}
	if ids, _ := alerts("physicist-a", &v1.ListAlertsRequest{}); len(ids) != 0 {
		t.Errorf("pending alerts after acknowledgement: %v", ids)
	}
	if ids, _ := alerts("physicist-a", &v1.ListAlertsRequest{IncludeAcknowledged: true}); len(ids) != 1 {
		t.Errorf("alerts including acknowledged: %v", ids)
	}
	if !f.audited(t, "physicist-a", vigiev1connect.DoseServiceAcknowledgeAlertProcedure, "ok", "") {
		t.Error("the acknowledgement is not audited")
	}

	// NRD evaluation: the physicist's own site only.
	eval := func(who string, req *v1.EvaluateNrdRequest) (*v1.EvaluateNrdResponse, error) {
		r, err := f.dose(who).EvaluateNrd(ctx, connect.NewRequest(req))
		if err != nil {
			return nil, err
		}
		return r.Msg, nil
	}
	year := func(site string) *v1.EvaluateNrdRequest {
		return &v1.EvaluateNrdRequest{Site: site, Since: "2013-01-01", Until: "2013-12-31"}
	}
	for _, tc := range []struct {
		who   string
		req   *v1.EvaluateNrdRequest
		want  connect.Code
		field string
	}{
		{"physicist-a", year(siteA), 0, ""},
		{"physicist-a", year(siteB), connect.CodePermissionDenied, ""},
		{"iv-team", year(siteA), connect.CodePermissionDenied, ""},
		{"dr-martin", year(siteA), connect.CodePermissionDenied, ""},
		{"physicist-a", &v1.EvaluateNrdRequest{Site: siteA, Until: "2013-12-31"}, connect.CodeInvalidArgument, "since"},
		{"physicist-a", &v1.EvaluateNrdRequest{Since: "2013-01-01", Until: "2013-12-31"}, connect.CodeInvalidArgument, "site"},
		{"physicist-a", &v1.EvaluateNrdRequest{Site: siteA, Since: "2014-01-01", Until: "2013-12-31"}, connect.CodeInvalidArgument, "until"},
	} {
		_, err := eval(tc.who, tc.req)
		if code(err) != tc.want || (tc.field != "" && field(err) != tc.field) {
			t.Errorf("%s EvaluateNrd(%v): %v (field %q), want %v %q", tc.who, tc.req, err, field(err), tc.want, tc.field)
		}
	}
	ev, err := eval("physicist-a", year(siteA))
	if err != nil {
		t.Fatal(err)
	}
	if ev.GetTableSource() == "" {
		t.Error("no NRD table source")
	}
	exp := func(req *v1.ExportNrdSurveyRequest) error {
		_, err := f.dose("physicist-a").ExportNrdSurvey(ctx, connect.NewRequest(req))
		return err
	}
	if err := exp(&v1.ExportNrdSurveyRequest{Site: siteA, ExamType: "ct_thorax", Since: "2013-01-01", Until: "2013-12-31"}); code(err) != connect.CodeInvalidArgument || field(err) != "device" {
		t.Errorf("export without a device: %v", err)
	}
	if err := exp(&v1.ExportNrdSurveyRequest{Site: siteA, Device: "nowhere", ExamType: "ct_thorax", Since: "2013-01-01", Until: "2013-12-31"}); code(err) != connect.CodeNotFound {
		t.Errorf("export of a device without exams: %v, want not_found", err)
	}
	if evs := ev.GetEvaluations(); len(evs) > 0 {
		// One patient is not a valid survey: IRSN would reject the file.
		e := evs[0]
		err := exp(&v1.ExportNrdSurveyRequest{Site: siteA, Device: e.GetDevice(), ExamType: e.GetExamType(), Since: "2013-01-01", Until: "2013-12-31"})
		if code(err) != connect.CodeInvalidArgument || e.GetCount() >= e.GetRequired() {
			t.Errorf("export of a one-patient survey: %v (count %d of %d)", err, e.GetCount(), e.GetRequired())
		}
	}
}
