package rpc_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"vigie"

	"connectrpc.com/connect"
	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"vigie/dosimetry"
	"vigie/internal/sharedtest"
	"vigie/rpc"
	v1 "vigie/rpc/gen/vigie/v1"
)

// withTags returns a shared file with some elements rewritten in memory
// (added when absent), as another site or patient would send it.
func withTags(t testing.TB, rel string, set map[tag.Tag]string) []byte {
	t.Helper()
	ds, err := dicom.ParseFile(filepath.Join(sharedtest.Path(t, "dicom"), rel), nil)
	if err != nil {
		t.Fatal(err)
	}
	for tg, v := range set {
		e, err := dicom.NewElement(tg, []string{v})
		if err != nil {
			t.Fatal(err)
		}
		ds.Elements = slices.DeleteFunc(ds.Elements, func(x *dicom.Element) bool { return x.Tag == tg })
		ds.Elements = append(ds.Elements, e)
	}
	slices.SortStableFunc(ds.Elements, func(a, b *dicom.Element) int {
		if a.Tag.Group != b.Tag.Group {
			return int(a.Tag.Group) - int(b.Tag.Group)
		}
		return int(a.Tag.Element) - int(b.Tag.Element)
	})
	var buf bytes.Buffer
	if err := dicom.Write(&buf, ds, dicom.SkipVRVerification()); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// watched starts the server's alert watch on the fixture's ledger.
func (f *serverFixture) watched(t testing.TB, cfg *dosimetry.AlertConfig) *dosimetry.AlertWatch {
	w := rpc.NewAlertWatch(f.index, f.ledger, f.alerts, cfg, nil, nil)
	f.ledger.OnStored(w.Stored)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { f.ledger.OnStored(nil); cancel() })
	go w.Run(ctx)
	return w
}

func (f *serverFixture) submitFile(t testing.TB, who, name string, file []byte) *v1.DicomOutcome {
	t.Helper()
	r, err := f.ingest(who).SubmitDicom(context.Background(), connect.NewRequest(&v1.SubmitDicomRequest{Filename: name, File: file}))
	if err != nil {
		t.Fatalf("submit %s: %v", name, err)
	}
	return r.Msg.GetOutcome()
}

// TestTwoPatientsShareOneStudyUID: patient A's PET image (221.6 MBq),
// then patient B's radiopharmaceutical dose SR under A's study UID (a
// PET/CT split across systems). Each activity stays with its own patient
// and the server raises exactly one identity-vigilance alert as the SR
// arrives, listed with the patient's identity.
func TestTwoPatientsShareOneStudyUID(t *testing.T) {
	f := newServerFixture(t)
	w := f.watched(t, nil)
	ctx := context.Background()
	pet := withTags(t, "openrem/NM-PetIm-GE.dcm", map[tag.Tag]string{tag.PatientID: "PAT-A", tag.IssuerOfPatientID: siteA})
	a := f.submitFile(t, "pacs-a", "pet", pet)
	rep, err := dicom.Parse(bytes.NewReader(pet), int64(len(pet)), nil)
	if err != nil {
		t.Fatal(err)
	}
	se, err := rep.FindElementByTag(tag.StudyInstanceUID)
	if err != nil {
		t.Fatal(err)
	}
	study := dicom.MustGetStrings(se.Value)[0]
	sr := withTags(t, "openrem/NM-RRDSR-Siemens.dcm", map[tag.Tag]string{tag.PatientID: "PAT-B", tag.IssuerOfPatientID: siteA,
		tag.StudyInstanceUID: study})
	b := f.submitFile(t, "pacs-a", "sr", sr)
	w.Wait()

	for _, c := range []struct {
		local string
		mbq   float64
	}{{"PAT-A", 221.596}, {"PAT-B", 394}} {
		h, err := f.ledger.History(ctx, []vigie.SourceKey{{Authority: siteA, LocalID: c.local}})
		if err != nil || len(h.NM) != 1 || h.NM[0].ActivityMBq < c.mbq-0.01 || h.NM[0].ActivityMBq > c.mbq+0.01 {
			t.Errorf("%s: NM %+v %v, want one row of %v MBq", c.local, h, err, c.mbq)
		}
	}
	res, err := f.dose("iv-team").ListAlerts(ctx, connect.NewRequest(&v1.ListAlertsRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	var shared []*v1.Alert
	for _, al := range res.Msg.GetAlerts() {
		if al.GetKind() == dosimetry.AlertSharedStudy {
			shared = append(shared, al)
		}
	}
	if len(shared) != 1 {
		t.Fatalf("%d identity-vigilance alerts (%v), want exactly 1", len(shared), res.Msg.GetAlerts())
	}
	if id := shared[0].GetIdentityId(); id == "" || (id != a.GetIdentityId() && id != b.GetIdentityId()) {
		t.Errorf("alert identity %q, want one of the two patients' (%s, %s)", id, a.GetIdentityId(), b.GetIdentityId())
	}
	// Idempotent: the study evaluated again raises nothing new.
	for _, k := range []string{"PAT-A", "PAT-B"} {
		if n, err := w.Evaluate(ctx, vigie.SourceKey{Authority: siteA, LocalID: k}, study); err != nil || n != 0 {
			t.Errorf("evaluated again for %s: %d new alerts, %v; want none", k, n, err)
		}
	}
}

// TestSOPConflictRaisesAlert: the same SOP instance sent again under
// another patient is stored as a conflict and raises one alert.
func TestSOPConflictRaisesAlert(t *testing.T) {
	f := newServerFixture(t)
	w := f.watched(t, nil)
	ctx := context.Background()
	f.submitFile(t, "pacs-a", "first", withTags(t, "openrem/CT-RDSR-Siemens-Multi-1.dcm", map[tag.Tag]string{tag.PatientID: "P1", tag.IssuerOfPatientID: siteA}))
	o := f.submitFile(t, "pacs-a", "again", withTags(t, "openrem/CT-RDSR-Siemens-Multi-1.dcm", map[tag.Tag]string{tag.PatientID: "P2", tag.IssuerOfPatientID: siteA}))
	if o.GetStatus() != v1.DicomStatus_DICOM_STATUS_STORED || o.GetMessage() == "" {
		t.Errorf("conflict outcome %v", o)
	}
	w.Wait()
	as, err := f.alerts.List(ctx, dosimetry.AlertFilter{Kind: dosimetry.AlertConflict})
	if err != nil || len(as) != 1 || as[0].Key.LocalID != "P2" {
		t.Errorf("conflict alerts %+v %v, want one on P2", as, err)
	}
}

// BenchmarkAlertDelay submits CT RDSRs at 50 files/s, each one a new
// patient whose CT crosses the site's CTDIvol threshold, and reports the
// delay from a file's acknowledgement (SubmitDicom returning) to its
// alert being stored, hence listed by ListAlerts: p50 and p99.
func BenchmarkAlertDelay(b *testing.B) {
	const files, rate = 100, 50
	f := newServerFixture(b)
	cfg := dosimetry.DefaultAlertConfig()
	// The rule reads each acquisition's CTDIvol as reported (the rewritten
	// files repeat the original's irradiation event UIDs, so their
	// counted DLP is zero after the first).
	cfg.CTDIvolBodymGy, cfg.CTDIvolHeadmGy = 0.01, 0.01
	w := f.watched(b, cfg)
	var mu sync.Mutex
	raisedAt := map[string]time.Time{}
	w.Raised = func(k vigie.SourceKey, _ string, n int) {
		if n > 0 {
			mu.Lock()
			raisedAt[k.LocalID] = time.Now()
			mu.Unlock()
		}
	}
	var all []time.Duration
	for round := range b.N {
		b.StopTimer()
		ids := make([]string, files)
		bodies := make([][]byte, files)
		for i := range bodies {
			ids[i] = fmt.Sprintf("BENCH-%d-%d", round, i)
			bodies[i] = withTags(b, "openrem/CT-RDSR-Siemens_Flash-TAP-SS.dcm", map[tag.Tag]string{tag.PatientID: ids[i],
				tag.IssuerOfPatientID: siteA, tag.SOPInstanceUID: fmt.Sprintf("1.2.826.0.1.3680043.2.1143.%d.%d", round, i),
				tag.StudyInstanceUID: fmt.Sprintf("1.2.826.0.1.3680043.2.1144.%d.%d", round, i)})
		}
		b.StartTimer()
		acked := make([]time.Time, files)
		tick := time.NewTicker(time.Second / rate)
		for i, body := range bodies {
			<-tick.C
			f.submitFile(b, "pacs-a", "bench", body)
			acked[i] = time.Now()
		}
		tick.Stop()
		w.Wait()
		mu.Lock()
		for i, id := range ids {
			at, ok := raisedAt[id]
			if !ok {
				mu.Unlock()
				b.Fatalf("no alert for file %d", i)
			}
			// An alert stored before the answer reached the client counts
			// as visible at once.
			all = append(all, max(at.Sub(acked[i]), 0))
		}
		mu.Unlock()
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	p50, p99 := all[len(all)/2], all[len(all)*99/100]
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.Logf("acknowledgement to alert visible, %d files at %d/s: p50 %v, p99 %v", len(all), rate, p50, p99)
}

// TestAlertWatchEvaluatesLeftovers: exams acknowledged while no watch ran
// (the server stopped with them queued) are evaluated when the next watch
// starts, and their markers cleared once their alerts are stored.
func TestAlertWatchEvaluatesLeftovers(t *testing.T) {
	f := newServerFixture(t)
	ctx := context.Background()
	f.submitFile(t, "pacs-a", "first", withTags(t, "openrem/CT-RDSR-Siemens-Multi-1.dcm", map[tag.Tag]string{tag.PatientID: "P1", tag.IssuerOfPatientID: siteA}))
	f.submitFile(t, "pacs-a", "again", withTags(t, "openrem/CT-RDSR-Siemens-Multi-1.dcm", map[tag.Tag]string{tag.PatientID: "P2", tag.IssuerOfPatientID: siteA}))
	if ps, err := f.ledger.Pending(ctx); err != nil || len(ps) != 2 {
		t.Fatalf("left to evaluate before the watch: %+v %v, want 2 studies", ps, err)
	}
	if as, _ := f.alerts.List(ctx, dosimetry.AlertFilter{}); len(as) != 0 {
		t.Fatalf("alerts before any evaluation: %+v", as)
	}
	w := f.watched(t, nil)
	w.Wait()
	as, err := f.alerts.List(ctx, dosimetry.AlertFilter{Kind: dosimetry.AlertConflict})
	if err != nil || len(as) != 1 || as[0].Key.LocalID != "P2" {
		t.Errorf("conflict alerts after the restart %+v %v, want one on P2", as, err)
	}
	if ps, err := f.ledger.Pending(ctx); err != nil || len(ps) != 0 {
		t.Errorf("left to evaluate after the watch: %+v %v, want none", ps, err)
	}
}

// TestDeclaredPregnancyRaisesFoetalAlert: a pregnancy declared through the
// API on the identity (no DICOM Pregnancy Status in the files) makes the
// patient's later chest-abdomen-pelvis CT raise the foetal-dose alert as
// it arrives; the same CT of a patient without a declaration, or dated
// outside the declared period, raises none.
func TestDeclaredPregnancyRaisesFoetalAlert(t *testing.T) {
	f := newServerFixture(t)
	w := f.watched(t, nil)
	ctx := context.Background()
	ct := "openrem/CT-RDSR-ToshibaPixelMed.dcm"
	ds, err := dicom.ParseFile(filepath.Join(sharedtest.Path(t, "dicom"), ct), nil)
	if err != nil {
		t.Fatal(err)
	}
	se, err := ds.FindElementByTag(tag.StudyDate)
	if err != nil {
		t.Fatal(err)
	}
	d, err := time.Parse("20060102", dicom.MustGetStrings(se.Value)[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		patient    string
		start, end string // "" start: no declaration
		alert      bool
	}{
		{"PREG-1", d.AddDate(0, -2, 0).Format(time.DateOnly), "", true},
		{"PREG-2", d.AddDate(-1, 0, 0).Format(time.DateOnly), d.AddDate(0, -3, 0).Format(time.DateOnly), false},
		{"OTHER-1", "", "", false},
	} {
		// A first exam makes the patient known to the index.
		first := f.submitFile(t, "pacs-a", "chest", withTags(t, "openrem/CT-RDSR-Siemens-Multi-1.dcm",
			map[tag.Tag]string{tag.PatientID: c.patient, tag.IssuerOfPatientID: siteA}))
		if c.start != "" {
			r, err := f.dose("dr-martin").DeclarePregnancy(ctx, connect.NewRequest(&v1.DeclarePregnancyRequest{
				IdentityId: first.GetIdentityId(), StartDate: c.start, EndDate: c.end, Reason: "déclarée par la patiente"}))
			if err != nil {
				t.Fatal(err)
			}
			if ps := r.Msg.GetPregnancies(); len(ps) != 1 || ps[0].GetDeclaredBy() == "" || ps[0].GetEndDate() == "" {
				t.Errorf("%s: declared %v", c.patient, ps)
			}
		}
		f.submitFile(t, "pacs-a", "ct", withTags(t, ct, map[tag.Tag]string{tag.PatientID: c.patient, tag.IssuerOfPatientID: siteA}))
		w.Wait()
		as, err := f.alerts.List(ctx, dosimetry.AlertFilter{Kind: dosimetry.AlertFoetalDose, Key: vigie.SourceKey{Authority: siteA, LocalID: c.patient}})
		if err != nil {
			t.Fatal(err)
		}
		if (len(as) == 1) != c.alert {
			t.Errorf("%s: %d foetal-dose alerts, want alert %v", c.patient, len(as), c.alert)
		}
	}
}

// TestDoseHistoryNMEstimate: the history served to the console carries
// the nuclear-medicine estimate of the FDG dose SR (63 years, 394 MBq):
// 394 × 0.019 mSv/MBq and the bladder's 394 × 0.16 mGy/MBq (the adult
// row of the shipped coefficients).
func TestDoseHistoryNMEstimate(t *testing.T) {
	f := newServerFixture(t)
	o := f.submitFile(t, "pacs-a", "sr", withTags(t, "openrem/NM-RRDSR-Siemens.dcm", map[tag.Tag]string{tag.PatientID: "PAT-NM", tag.IssuerOfPatientID: siteA}))
	h, err := f.dose("dr-martin").GetDoseHistory(context.Background(), connect.NewRequest(&v1.GetDoseHistoryRequest{IdentityId: o.GetIdentityId()}))
	if err != nil {
		t.Fatal(err)
	}
	rows := h.Msg.GetHistory().GetNuclearMedicine()
	if len(rows) != 1 || rows[0].GetEffectiveDoseEstimate() != "7,49 mSv (adulte)" || rows[0].GetOrganDoseEstimate() != "vessie : 63,04 mGy" {
		t.Fatalf("nuclear-medicine rows %v", rows)
	}
}
