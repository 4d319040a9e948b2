package dosimetry

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"vigie"
	"vigie/ledger"
)

// only returns a configuration with every rule off, then set.
func only(set func(*AlertConfig)) *AlertConfig {
	c := &AlertConfig{}
	set(c)
	return c
}

func scanner(c *AlertConfig) *Scanner {
	return &Scanner{Types: DefaultTable(), NRD: DefaultNRD(), Coef: DefaultCoefficients(), Config: c}
}

func check(t *testing.T, s *Scanner, es ...ledger.Entry) []Alert {
	t.Helper()
	out, err := s.Check(context.Background(), Entries(es), ScanQuery{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func kinds(as []Alert) string {
	var ks []string
	for _, a := range as {
		ks = append(ks, a.Kind+":"+fmtNum(a.Threshold))
	}
	return strings.Join(ks, ",")
}

func fluoro(sop string, rpmGy, gycm2 float64) ledger.Entry {
	x := adult(exam(sop, "CHU", "p", "2025-01-01", "XA", ledger.DomainProjection), 60, 80, 1.8)
	x.Procedure = "Embolisation hépatique"
	x.Projection = &ledger.ProjectionDose{RPTotal: q(rpmGy, ledger.DimDose), DAPTotal: q(gycm2/1e4, ledger.DimDAP)}
	return entry(x)
}

func ctWith(sop, patient, date, proc string, phantom ledger.Code, ctdi, dlp float64) ledger.Entry {
	x := adult(exam(sop, "CHU", patient, date, "CT", ledger.DomainCT), 50, 70, 1.7)
	x.Procedure = proc
	ev := ctEv("h"+sop, "", code("", "", ""), spiralType, ctdi, dlp)
	ev.Phantom = phantom
	x.CT = &ledger.CTDose{Events: []ledger.CTEvent{ev}}
	return entry(x)
}

func TestExamAlertEdges(t *testing.T) {
	head16 := code("113690", "DCM", "IEC Head Dosimetry Phantom")
	child := entry(thoraxPA("c", "CHU", "c", "2025-01-01", 1000))
	child.Exam.Patient.Age = "010Y"
	cases := []struct {
		name string
		cfg  *AlertConfig
		e    ledger.Entry
		want string
	}{
		{"PDS = 2 × NRD", only(func(c *AlertConfig) { c.NRDFactor = 2 }), entry(adult(thoraxPA("a", "CHU", "a", "2025-01-01", 400), 40, 70, 1.7)), ""},
		{"PDS > 2 × NRD", only(func(c *AlertConfig) { c.NRDFactor = 2 }), entry(adult(thoraxPA("a", "CHU", "a", "2025-01-01", 400.1), 40, 70, 1.7)), "nrd_exceeded:400"},
		{"child not compared with adult NRD", only(func(c *AlertConfig) { c.NRDFactor = 2 }), child, ""},
		{"per exam type factor", only(func(c *AlertConfig) {
			c.NRDFactor = 2
			c.ExamTypes = map[string]Thresholds{"rx_thorax_pa": {NRDFactor: 1.5}}
		}), entry(adult(thoraxPA("a", "CHU", "a", "2025-01-01", 301), 40, 70, 1.7)), "nrd_exceeded:300"},
		{"kerma below 3 Gy", only(func(c *AlertConfig) { c.AirKermamGy = []float64{3000, 5000} }), fluoro("f", 2999.9, 10), ""},
		{"kerma at 3 Gy", only(func(c *AlertConfig) { c.AirKermamGy = []float64{3000, 5000} }), fluoro("f", 3000, 10), "air_kerma:3000"},
		{"kerma at 5 Gy", only(func(c *AlertConfig) { c.AirKermamGy = []float64{3000, 5000} }), fluoro("f", 5000, 10), "air_kerma:3000,air_kerma:5000"},
		{"DAP below", only(func(c *AlertConfig) { c.DAPGycm2 = 500 }), fluoro("f", 10, 499.99), ""},
		{"DAP at the site value", only(func(c *AlertConfig) { c.DAPGycm2 = 500 }), fluoro("f", 10, 500), "dap:500"},
		{"DLP at the site value", only(func(c *AlertConfig) { c.CTDLPmGycm = 1000 }), ctWith("c", "p", "2025-01-01", "TDM", body32, 10, 1000), ""},
		{"DLP above", only(func(c *AlertConfig) { c.CTDLPmGycm = 1000 }), ctWith("c", "p", "2025-01-01", "TDM", body32, 10, 1000.1), "ct_dlp:1000"},
		{"CTDIvol body at 50", only(func(c *AlertConfig) { c.CTDIvolBodymGy, c.CTDIvolHeadmGy = 50, 80 }), ctWith("c", "p", "2025-01-01", "TDM", body32, 50, 100), ""},
		{"CTDIvol body above 50", only(func(c *AlertConfig) { c.CTDIvolBodymGy, c.CTDIvolHeadmGy = 50, 80 }), ctWith("c", "p", "2025-01-01", "TDM", body32, 50.01, 100), "ct_ctdivol:50"},
		{"CTDIvol head 60 under 80", only(func(c *AlertConfig) { c.CTDIvolBodymGy, c.CTDIvolHeadmGy = 50, 80 }), ctWith("c", "p", "2025-01-01", "TDM crâne", head16, 60, 900), ""},
		{"CTDIvol head above 80", only(func(c *AlertConfig) { c.CTDIvolBodymGy, c.CTDIvolHeadmGy = 50, 80 }), ctWith("c", "p", "2025-01-01", "TDM crâne", head16, 80.5, 900), "ct_ctdivol:80"},
		{"rules off", only(func(c *AlertConfig) {}), fluoro("f", 9000, 9000), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := kinds(check(t, scanner(c.cfg), c.e)); got != c.want {
				t.Errorf("alerts %q, want %q", got, c.want)
			}
		})
	}
}

// tapCT returns a TAP CT of a patient whose estimate is mSv (DLP × 0.015).
func tapCT(sop, patient, date string, mSv float64) ledger.Entry {
	return ctWith(sop, patient, date, "Scanner TAP", body32, 10, mSv/0.015)
}

// petOf returns an NM exam of one administration of a 60-year-old.
func petOf(sop, patient, date, pharma string, mbq float64) ledger.Entry {
	x := exam(sop, "CHU", patient, date, "PT", ledger.DomainNM)
	x.Patient.Age = "060Y"
	x.NM = &ledger.NMDose{Administrations: []ledger.Administration{{UID: sop + ".a", Radiopharmaceutical: code("", "", pharma), Activity: q(mbq, ledger.DimActivity)}}}
	return entry(x)
}

func petFDG(sop, patient, date string, mbq float64) ledger.Entry {
	return petOf(sop, patient, date, "Fluorodeoxyglucose F^18^", mbq)
}

func TestCumulativeEdges(t *testing.T) {
	cfg := only(func(c *AlertConfig) { c.CumulativemSv, c.CumulativeWindowDays = 100, 365 })
	cases := []struct {
		name   string
		es     []ledger.Entry
		wantOn string // SOP of the alerted exam, "" for none
	}{
		{"99.9 mSv", []ledger.Entry{tapCT("a", "p", "2025-01-01", 60), tapCT("b", "p", "2025-02-01", 39.9)}, ""},
		{"100 mSv", []ledger.Entry{tapCT("a", "p", "2025-01-01", 60), tapCT("b", "p", "2025-02-01", 40)}, "b"},
		{"crossing once", []ledger.Entry{tapCT("a", "p", "2025-01-01", 60), tapCT("b", "p", "2025-02-01", 40), tapCT("c", "p", "2025-03-01", 30)}, "b"},
		{"364 days apart", []ledger.Entry{tapCT("a", "p", "2025-01-01", 60), tapCT("b", "p", "2025-12-31", 40)}, "b"},
		{"365 days apart", []ledger.Entry{tapCT("a", "p", "2025-01-01", 60), tapCT("b", "p", "2026-01-01", 40)}, ""},
		{"two patients", []ledger.Entry{tapCT("a", "p", "2025-01-01", 60), tapCT("b", "q", "2025-02-01", 40)}, ""},
		// 95 mSv of CT, then an FDG PET of 394 MBq × 0.019 = 7.486 mSv
		{"CT then FDG PET", []ledger.Entry{tapCT("a", "p", "2025-01-01", 95), petFDG("b", "p", "2025-02-01", 394)}, "b"},
		{"CT then a PET without coefficient", []ledger.Entry{tapCT("a", "p", "2025-01-01", 95), petOf("b", "p", "2025-02-01", "DPD", 764)}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			as := check(t, scanner(cfg), c.es...)
			switch {
			case c.wantOn == "" && len(as) != 0:
				t.Errorf("alerts %+v, want none", as)
			case c.wantOn != "" && (len(as) != 1 || as[0].SOP != c.wantOn || !as[0].Estimate || as[0].Kind != AlertCumulative):
				t.Errorf("alerts %+v, want one cumulative estimate on %s", as, c.wantOn)
			}
		})
	}
}

func TestRepeatCTEdges(t *testing.T) {
	cfg := only(func(c *AlertConfig) { c.RepeatCTDays = 30 })
	th := func(sop, date string) ledger.Entry {
		return ctWith(sop, "p", date, "Thorax^Thorax_NON_CON (Adult)", body32, 8, 300)
	}
	same := th("b", "2025-01-05")
	same.Exam.StudyUID = "st-a" // a continued report of the same study
	cases := []struct {
		name string
		es   []ledger.Entry
		want int
	}{
		{"30 days", []ledger.Entry{th("a", "2025-01-01"), th("b", "2025-01-31")}, 1},
		{"31 days", []ledger.Entry{th("a", "2025-01-01"), th("b", "2025-02-01")}, 0},
		{"same study", []ledger.Entry{th("a", "2025-01-01"), same}, 0},
		{"other region", []ledger.Entry{th("a", "2025-01-01"), ctWith("b", "p", "2025-01-02", "TDM crâne", body32, 50, 800)}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			as := check(t, scanner(cfg), c.es...)
			if len(as) != c.want {
				t.Fatalf("%d alerts (%+v), want %d", len(as), as, c.want)
			}
			if c.want == 1 && (as[0].SOP != "b" || as[0].Related != "a") {
				t.Errorf("alert on %s related to %s, want b after a", as[0].SOP, as[0].Related)
			}
		})
	}
}

// fakeIdentities links source records into identities.
type fakeIdentities map[vigie.SourceKey]string

func (f fakeIdentities) IdentityOf(_ context.Context, k vigie.SourceKey) (string, error) {
	if id, ok := f[k]; ok {
		return id, nil
	}
	return "", vigie.Errorf(vigie.ENOTFOUND, "no identity for %s", k)
}

func (f fakeIdentities) Members(_ context.Context, id string) ([]vigie.SourceKey, error) {
	var out []vigie.SourceKey
	for k, v := range f {
		if v == id {
			out = append(out, k)
		}
	}
	return out, nil
}

func TestScanStoresOnceAcrossSitesAndAcks(t *testing.T) {
	ctx := context.Background()
	db := memoryStore(t)
	led := ledger.Open(db)
	a := tapCT("a", "p1", "2025-01-01", 60)
	b := tapCT("b", "p2", "2025-02-01", 45)
	b.Exam.Key.Authority = "CH2" // the same patient, known at another site
	for _, e := range []ledger.Entry{a, b} {
		if _, err := led.Put(ctx, &e.Exam); err != nil {
			t.Fatal(err)
		}
	}
	ids := fakeIdentities{a.Exam.Key: "ID-1", b.Exam.Key: "ID-1"}
	s := scanner(only(func(c *AlertConfig) { c.CumulativemSv, c.CumulativeWindowDays = 100, 365 }))
	s.Identities, s.History = ids, led
	st := OpenAlerts(db)
	// Scan only site CH2: the history of the identity still holds a.
	res, err := s.Scan(ctx, led, st, ScanQuery{Site: "CH2"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Raised != 1 || res.Exams != 1 || res.Patients != 1 {
		t.Fatalf("first scan %+v, want 1 exam, 1 patient, 1 alert", res)
	}
	res, err = s.Scan(ctx, led, st, ScanQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Raised != 0 || res.Known != 1 {
		t.Fatalf("second scan %+v: the same exam raised its alert again", res)
	}
	list, err := st.List(ctx, AlertFilter{Open: true})
	if err != nil || len(list) != 1 {
		t.Fatalf("open alerts %v, %v", list, err)
	}
	al := list[0]
	if al.Identity != "ID-1" || al.SOP != "b" || al.Value != 105 || !strings.Contains(al.Message, "estimation") {
		t.Errorf("alert %+v", al)
	}
	if _, err := st.Ack(ctx, al.ID, "", "vu"); vigie.ErrorCode(err) != vigie.EINVALID {
		t.Errorf("ack without actor: %v", err)
	}
	if _, err := st.Ack(ctx, al.ID, "physicien", " "); vigie.ErrorCode(err) != vigie.EINVALID {
		t.Errorf("ack without comment: %v", err)
	}
	if _, err := st.Ack(ctx, "nope", "physicien", "vu"); vigie.ErrorCode(err) != vigie.ENOTFOUND {
		t.Errorf("ack of a missing alert: %v", err)
	}
	st.now = func() time.Time { return time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC) }
	got, err := st.Ack(ctx, al.ID, "physicien", "Patient vu en consultation, pas d'action.")
	if err != nil || len(got.Acks) != 1 || got.Acks[0].Actor != "physicien" {
		t.Fatalf("ack: %+v, %v", got, err)
	}
	if open, _ := st.List(ctx, AlertFilter{Open: true}); len(open) != 0 {
		t.Errorf("%d open alerts after the ack", len(open))
	}
	if mine, _ := st.List(ctx, AlertFilter{Identity: "ID-1"}); len(mine) != 1 {
		t.Errorf("%d alerts of identity ID-1, want 1", len(mine))
	}
	if other, _ := st.List(ctx, AlertFilter{Key: a.Exam.Key}); len(other) != 0 {
		t.Errorf("%d alerts on source record %s, want 0 (the alert is on %s)", len(other), a.Exam.Key, b.Exam.Key)
	}
	if mine, _ := st.List(ctx, AlertFilter{Key: b.Exam.Key}); len(mine) != 1 {
		t.Errorf("%d alerts on source record %s, want 1", len(mine), b.Exam.Key)
	}
	all, _ := st.List(ctx, AlertFilter{})
	if len(all) != 1 || !all[0].Acknowledged() {
		t.Errorf("the acknowledged alert is gone or not marked: %+v", all)
	}
	// A third scan keeps the acknowledgement.
	if _, err := s.Scan(ctx, led, st, ScanQuery{}); err != nil {
		t.Fatal(err)
	}
	if again, _ := st.Get(ctx, al.ID); again == nil || len(again.Acks) != 1 {
		t.Errorf("a rescan lost the acknowledgement: %+v", again)
	}
}

func TestLoadAlertConfig(t *testing.T) {
	c, err := LoadAlertConfig(strings.NewReader(`{"ct_dlp_mGycm": 1500, "exam_types": {"ct_tap": {"ct_dlp_mGycm": 2000}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.CTDLPmGycm != 1500 || c.DAPGycm2 != 500 || len(c.AirKermamGy) != 2 || c.thresholds("ct_tap").CTDLPmGycm != 2000 || c.thresholds("ct_tap").DAPGycm2 != 500 {
		t.Errorf("config %+v: the file does not overlay the defaults", c)
	}
	for _, bad := range []struct{ doc, field string }{
		{`{"nrd_factor": 0.5}`, "nrd_factor"},
		{`{"dap_Gycm2": -1}`, "dap_Gycm2"},
		{`{"air_kerma_mGy": [5000, 3000]}`, "air_kerma_mGy[1]"},
		{`{"cumulative_window_days": 0}`, "cumulative_window_days"},
		{`{"repeat_ct_days": -2}`, "repeat_ct_days"},
		{`{"exam_types": {"ct_tap": {"ct_dlp_mGycm": -5}}}`, "exam_types.ct_tap.ct_dlp_mGycm"},
		{`{"unknown": 1}`, "config"},
	} {
		if _, err := LoadAlertConfig(strings.NewReader(bad.doc)); vigie.ErrorCode(err) != vigie.EINVALID || !strings.Contains(err.Error(), bad.field+":") {
			t.Errorf("%s: error %v does not name %s", bad.doc, err, bad.field)
		}
	}
}

func FuzzLoadAlertConfig(f *testing.F) {
	f.Add([]byte(`{"air_kerma_mGy":[1,2],"exam_types":{"a":{"nrd_factor":3}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := LoadAlertConfig(strings.NewReader(string(b)))
		if err != nil {
			if vigie.ErrorCode(err) != vigie.EINVALID {
				t.Fatalf("error without EINVALID: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("a loaded config does not validate: %v", err)
		}
	})
}

func ExampleScanner_Check() {
	s := &Scanner{Types: DefaultTable(), NRD: DefaultNRD(), Coef: DefaultCoefficients(), Config: DefaultAlertConfig()}
	x := fluoro("1.2.3", 5200, 320)
	alerts, _ := s.Check(context.Background(), Entries{x}, ScanQuery{}, nil)
	for _, a := range alerts {
		fmt.Println(a.Kind, a.Message)
	}
	// Output:
	// air_kerma kerma au point de référence 5200 mGy ≥ 3000 mGy : suivi des effets cutanés
	// air_kerma kerma au point de référence 5200 mGy ≥ 5000 mGy : suivi des effets cutanés
}

// TestStudyFiguresAcrossContinuedReports sums the counted figures of a
// study's reports: 2 000 + 1 500 mGy of a procedure reported twice crosses
// 3 Gy once, and a rescan with a third report raises nothing new.
func TestStudyFiguresAcrossContinuedReports(t *testing.T) {
	cfg := only(func(c *AlertConfig) { c.AirKermamGy = []float64{3000, 5000} })
	a, b := fluoro("r1", 2000, 10), fluoro("r2", 1500, 10)
	b.Exam.StudyUID = a.Exam.StudyUID
	as := check(t, scanner(cfg), a, b)
	if kinds(as) != "air_kerma:3000" {
		t.Fatalf("alerts %q, want one at 3 Gy for the study", kinds(as))
	}
	c := fluoro("r3", 100, 1)
	c.Exam.StudyUID = a.Exam.StudyUID
	again := check(t, scanner(cfg), a, b, c)
	if len(again) != 1 || again[0].ID != as[0].ID {
		t.Errorf("a third report changed the study's alert: %+v vs %+v", again, as)
	}
	other := check(t, scanner(cfg), a)
	if len(other) != 0 {
		t.Errorf("one report alone (2 Gy) raised %q", kinds(other))
	}
}

// TestUnindexedRecordIsItsOwnPatient: a source record the patient index
// does not know still gets the per-patient rules, on its own exams.
func TestUnindexedRecordIsItsOwnPatient(t *testing.T) {
	s := scanner(only(func(c *AlertConfig) { c.CumulativemSv, c.CumulativeWindowDays = 100, 365 }))
	s.Identities = fakeIdentities{}
	var res ScanResult
	as, err := s.Check(context.Background(), Entries{tapCT("a", "lone", "2025-01-01", 60), tapCT("b", "lone", "2025-01-02", 40)}, ScanQuery{}, &res)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0].Identity != "" || as[0].SOP != "b" || res.Unindexed != 1 || res.Patients != 1 {
		t.Errorf("alerts %+v, result %+v: want one cumulative alert on b, one unindexed patient", as, res)
	}
}

// TestNRDAlertPerProjection: a PA + lateral exam above k × NRD in both
// projections raises two alerts with distinct IDs.
func TestNRDAlertPerProjection(t *testing.T) {
	x := adult(exam("s", "CHU", "p", "2025-01-01", "DX", ledger.DomainProjection), 40, 70, 1.7)
	x.Procedure = "RADIO DU THORAX"
	x.Projection = &ledger.ProjectionDose{Events: []ledger.ProjectionEvent{
		{UID: "1", Protocol: "Thorax PA", DAP: q(500e-7, ledger.DimDAP)},
		{UID: "2", Protocol: "Thorax Profil", DAP: q(1200e-7, ledger.DimDAP)},
	}}
	as := check(t, scanner(only(func(c *AlertConfig) { c.NRDFactor = 2 })), entry(x))
	if len(as) != 2 || as[0].ID == as[1].ID || as[0].ExamType == as[1].ExamType {
		t.Errorf("alerts %+v, want one per projection type with distinct IDs", as)
	}
}

// TestNRDAlertHeaderImages: of a study's header images, the highest
// projection is judged against k × NRD (not their sum, not the first).
func TestNRDAlertHeaderImages(t *testing.T) {
	img := func(sop string, pds float64) ledger.Entry {
		x := adult(exam(sop, "CHU", "p", "2025-01-01", "CR", ledger.DomainProjection), 50, 70, 1.7)
		x.StudyUID, x.Procedure, x.Source = "st", "THORAX", ledger.SourceHeader
		x.Projection = &ledger.ProjectionDose{DAPTotal: q(pds/1e7, ledger.DimDAP)}
		return entry(x)
	}
	cfg := only(func(c *AlertConfig) { c.NRDFactor = 2 })
	if as := check(t, scanner(cfg), img("a", 300), img("b", 300)); len(as) != 0 {
		t.Errorf("two images of 300 (sum 600 > 400) raised %q", kinds(as))
	}
	if as := check(t, scanner(cfg), img("a", 100), img("b", 450)); len(as) != 1 || as[0].Value != 450 {
		t.Errorf("alerts %+v, want one on the 450 mGy.cm2 image", as)
	}
}

func TestNRDAlertAgeFromIndex(t *testing.T) {
	x := entry(thoraxPA("a", "CHU", "a", "2025-01-01", 500)) // no DICOM age
	s := scanner(only(func(c *AlertConfig) { c.NRDFactor = 2 }))
	if as := check(t, s, x); len(as) != 0 {
		t.Errorf("an exam of unknown age raised %q", kinds(as))
	}
	s.Age = func(vigie.SourceKey, string) (float64, bool) { return 40, true }
	if as := check(t, s, x); kinds(as) != "nrd_exceeded:400" {
		t.Errorf("alerts %q, want the adult's exam above 2 × NRD", kinds(as))
	}
}

// TestPerExamTypeSiteValues: a TAP may have its own DLP value above the
// site's.
func TestPerExamTypeSiteValues(t *testing.T) {
	cfg := only(func(c *AlertConfig) {
		c.CTDLPmGycm = 1000
		c.ExamTypes = map[string]Thresholds{"ct_tap": {CTDLPmGycm: 2000}}
	})
	tap := ctWith("t", "p", "2025-01-01", "Scanner TAP", body32, 10, 1500)
	thorax := ctWith("h", "q", "2025-01-01", "Thorax^Thorax_NON_CON (Adult)", body32, 10, 1500)
	if got := kinds(check(t, scanner(cfg), tap)); got != "" {
		t.Errorf("TAP at 1500 under its 2000 value raised %q", got)
	}
	if got := kinds(check(t, scanner(cfg), thorax)); got != "ct_dlp:1000" {
		t.Errorf("thorax at 1500 over the site's 1000: %q", got)
	}
}

// TestScanRaisesIdentityVigilanceAlerts: `vigie alerts scan` applies the
// identity-vigilance rules the server applies on arrival, with the same
// alert IDs: a study UID under two source records (also when the scan
// selects only one site), a SOP instance re-sent under another patient.
func TestScanRaisesIdentityVigilanceAlerts(t *testing.T) {
	ctx := context.Background()
	a := tapCT("a", "p1", "2025-01-01", 60)
	b := tapCT("b", "p2", "2025-01-01", 45)
	b.Exam.Key.Authority = "CH2"
	b.Exam.StudyUID = a.Exam.StudyUID // a study split across two sites
	c := tapCT("c", "p3", "2025-01-02", 30)
	resent := c.Exam
	resent.Key.LocalID = "p4" // the same report under another patient
	for _, q := range []ScanQuery{{}, {Site: "CH2"}} {
		t.Run("site="+q.Site, func(t *testing.T) {
			db := memoryStore(t)
			led := ledger.Open(db)
			for _, x := range []ledger.Exam{a.Exam, b.Exam, c.Exam, resent} {
				if _, err := led.Put(ctx, &x); err != nil {
					t.Fatal(err)
				}
			}
			st := OpenAlerts(db)
			if _, err := scanner(&AlertConfig{}).Scan(ctx, led, st, q); err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			as, err := st.List(ctx, AlertFilter{})
			if err != nil {
				t.Fatal(err)
			}
			for _, al := range as {
				kinds[al.Kind]++
			}
			wantConflict := 1
			if q.Site == "CH2" {
				wantConflict = 0 // the conflict is at site a's authority
			}
			if kinds[AlertSharedStudy] != 1 || kinds[AlertConflict] != wantConflict {
				t.Errorf("alerts by kind %v, want 1 %s and %d %s", kinds, AlertSharedStudy, wantConflict, AlertConflict)
			}
			// The server's evaluation of the same study raises nothing new.
			w := &AlertWatch{Ledger: led, Store: st, Scanner: func(context.Context) *Scanner { return scanner(&AlertConfig{}) }}
			if n, err := w.Evaluate(ctx, b.Exam.Key, b.Exam.StudyUID); err != nil || n != 0 {
				t.Errorf("the watch after the scan: %d new, %v; want the same alert, not a second", n, err)
			}
		})
	}
}
