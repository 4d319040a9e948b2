package dosimetry_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vigie"
	"vigie/dosimetry"
	"vigie/ingest"
	"vigie/internal/sharedtest"
	"vigie/ledger"
	"vigie/store"
)

// storedStudy stores a real DICOM dose report through the ingest path and
// returns its study's entries as the dose report reads them
// (ledger.Ledger.Study). edit, when set, changes the parsed exam first (a
// diameter the file does not carry).
func storedStudy(t *testing.T, name string, data []byte, edit func(*ledger.Exam)) []ledger.Entry {
	t.Helper()
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	led := ledger.Open(db)
	ctx := context.Background()
	rep, err := ingest.ParseDICOM(bytes.NewReader(data), int64(len(data)), ingest.DICOMOptions{Authority: "1.2.250.1.9"})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if edit != nil {
		edit(&rep.Exam)
	}
	if _, err := ingest.DICOMReport(ctx, name, rep, localIdentity{}, led); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	es, err := led.Study(ctx, rep.Exam.Key, ledger.StudyOf(&rep.Exam))
	if err != nil || len(es) == 0 {
		t.Fatalf("%s: study %d entries, %v", name, len(es), err)
	}
	return es
}

func readShared(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(sharedtest.Path(t, filepath.Join("dicom", rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func estimateOf(s *dosimetry.Summary, kind string) (dosimetry.DoseEstimate, bool) {
	for _, d := range s.Estimates {
		if d.Kind == kind {
			return d, true
		}
	}
	return dosimetry.DoseEstimate{}, false
}

// TestSummaryEstimatesSharedFiles: the second-level estimates of real
// vendor reports, as the dose report carries them: each figure against a
// value worked out by hand (or against the estimator the alerts use), the
// method and source stated, "non estimée" with its reason when the report
// lacks what the estimate needs; the text in French, without codes.
func TestSummaryEstimatesSharedFiles(t *testing.T) {
	opts := dosimetry.SummaryOptions{Coefficients: dosimetry.DefaultCoefficients(), Types: dosimetry.DefaultTable()}
	toshiba := "openrem/CT-RDSR-ToshibaPixelMed.dcm"
	withDw := func(mm float64) func(*ledger.Exam) {
		return func(x *ledger.Exam) {
			for i := range x.CT.Events {
				x.CT.Events[i].WED = &ledger.Quantity{Value: mm, Unit: "mm", Raw: mm, RawUnit: "mm"}
			}
		}
	}
	type check struct {
		kind    string
		present bool
		value   float64 // 0: not estimated
		low     float64
		text    []string
	}
	cases := []struct {
		name     string
		file     string
		data     []byte
		edit     func(*ledger.Exam)
		pregnant func(vigie.SourceKey, string) (bool, error)
		checks   []check
	}{
		// The CT report carries no patient diameter: no SSDE, said so; no
		// pregnancy: no foetal line.
		{name: "CT as sent", file: toshiba, checks: []check{
			{kind: dosimetry.EstimateSSDE, present: true, text: []string{"SSDE (dose estimée selon la corpulence) maximale : non estimée (diamètre du patient non transmis"}},
			{kind: dosimetry.EstimateFoetal}, {kind: dosimetry.EstimateSkin}}},
		// With a water-equivalent diameter of 30 cm on every acquisition:
		// AAPM 204 Table 1D at 30 cm, 1.23 × the highest CTDIvol 25.40.
		{name: "CT with Dw 30 cm", file: toshiba, edit: withDw(300), checks: []check{
			{kind: dosimetry.EstimateSSDE, present: true, value: 1.23 * 25.40,
				text: []string{"diamètre équivalent eau 30 cm transmis par l'appareil", "source : AAPM Report No. 204."}}}},
		// The same CT of a patient whose Pregnancy Status says pregnant:
		// both helices (25.40 + 24.70 mGy) in the beam, 0.57 to 1 × their
		// sum (Radiation Protection Dosimetry 165:226, 2015).
		{name: "pregnant patient's CT", file: toshiba, data: withPregnancy(t, sharedtest.Path(t, "dicom/"+toshiba), 3), checks: []check{
			{kind: dosimetry.EstimateFoetal, present: true, value: 50.1, low: 0.57 * 50.1,
				text: []string{"Dose à l'utérus / au fœtus (patiente enceinte ou susceptible de l'être) : entre 28,56 et 50,1 mGy (ordre de grandeur, fourchette ; 1 radiographie(s) de repérage sans CTDIvol non comptée(s) ; ",
					"source : Fetal radiation dose in computed tomography, Radiation Protection Dosimetry 165(1-4):226-230, 2015"}}}},
		// A pregnancy declared outside DICOM counts the same.
		{name: "declared pregnancy", file: toshiba, pregnant: func(vigie.SourceKey, string) (bool, error) { return true, nil }, checks: []check{
			{kind: dosimetry.EstimateFoetal, present: true, value: 50.1, low: 0.57 * 50.1}}},
		// A real interventional procedure (24 events with their geometry).
		{name: "interventional", file: "pyskindose/siemens_axiom_example_procedure.dcm", checks: []check{
			{kind: dosimetry.EstimateSkin, present: true, value: -1,
				text: []string{"Dose maximale à la peau : entre ", "kerma au point de référence", "rétrodiffusion : Benmakhlouf H. et al."}},
			{kind: dosimetry.EstimateSSDE}}},
		// The FDG PET's radiopharmaceutical dose SR (394 MBq, 63 years):
		// bladder 394 × 0.16 mGy/MBq, the adult row of source S1.
		{name: "FDG PET", file: "openrem/NM-RRDSR-Siemens.dcm", checks: []check{
			{kind: dosimetry.EstimateOrgan, present: true, value: 394 * 0.16,
				text: []string{"Dose absorbée à l'organe le plus exposé, FDG / F 18 (vessie) : 63,04 mGy (activité 394 MBq × 0,16 mGy/MBq, coefficient adulte ; source : SNM, procedure guideline pour la TEP au 18F-FDG, J. Nucl. Med.)",
					"Dose efficace estimée : 7,49 mSv", "(adulte), source : SNM"}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := c.data
			if data == nil {
				data = readShared(t, c.file)
			}
			es := storedStudy(t, filepath.Base(c.file), data, c.edit)
			o := opts
			o.Pregnant = c.pregnant
			s, ok, err := dosimetry.SummarizeWith(es, o)
			if err != nil || !ok {
				t.Fatalf("summary: %v %v", ok, err)
			}
			text := strings.Join(s.Text(), "\n")
			for _, ch := range c.checks {
				d, present := estimateOf(s, ch.kind)
				if present != ch.present {
					t.Errorf("%s: present %v, want %v (%+v)", ch.kind, present, ch.present, s.Estimates)
					continue
				}
				if !present {
					continue
				}
				switch {
				case ch.value == 0 && (d.Estimated() || d.NotEstimated == ""):
					t.Errorf("%s: %+v, want not estimated with a reason", ch.kind, d)
				case ch.value > 0 && (math.Abs(rel(d.Value, ch.value)) > 0.01 || math.Abs(d.Low-ch.low) > 0.01*ch.low+1e-9):
					t.Errorf("%s: %v–%v, want %v–%v", ch.kind, d.Low, d.Value, ch.low, ch.value)
				case ch.value < 0 && !(d.Estimated() && d.Low <= d.Value && d.Method != ""):
					t.Errorf("%s: %+v", ch.kind, d)
				}
				for _, w := range ch.text {
					if !strings.Contains(text, w) {
						t.Errorf("text lacks %q:\n%s", w, text)
					}
				}
			}
			for _, bad := range []string{"1.2.", "113", "DCM", "SRT", "urn:", dosimetry.SchemeVigie, "foetal", "ssde_"} {
				if strings.Contains(text, bad) {
					t.Errorf("the text shows %q:\n%s", bad, text)
				}
			}
			t.Logf("%s", text)
		})
	}
	// The skin estimate is the one the follow-up alert uses.
	es := storedStudy(t, "ir", readShared(t, "pyskindose/siemens_axiom_example_procedure.dcm"), nil)
	s, _, _ := dosimetry.SummarizeWith(es, opts)
	d, _ := estimateOf(s, dosimetry.EstimateSkin)
	ptr := make([]*ledger.Entry, len(es))
	for i := range es {
		ptr[i] = &es[i]
	}
	if want := dosimetry.DefaultSkinModel().Estimate(ptr); d.Value != want.PeakHighmGy || d.Low != want.PeakLowmGy {
		t.Errorf("skin %v–%v, the alert's estimate %v–%v", d.Low, d.Value, want.PeakLowmGy, want.PeakHighmGy)
	}
	// A pregnancy that cannot be read fails the summary.
	o := opts
	o.Pregnant = func(vigie.SourceKey, string) (bool, error) { return false, errors.New("store down") }
	if _, _, err := dosimetry.SummarizeWith(storedStudy(t, "ct", readShared(t, toshiba), nil), o); err == nil {
		t.Error("an unreadable pregnancy declaration gave a summary")
	}
}
