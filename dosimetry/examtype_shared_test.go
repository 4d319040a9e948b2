package dosimetry_test

import (
	"context"
	"path/filepath"
	"testing"

	"vigie/dosimetry"
	"vigie/ingest"
	"vigie/internal/sharedtest"
	"vigie/ledger"
	"vigie/store"
)

// TestClassifySharedDICOM parses the vendor files of the shared DICOM
// folder with the ingest package and maps them to exam types: the rules
// see exactly what the ledger will store.
func TestClassifySharedDICOM(t *testing.T) {
	root := sharedtest.Path(t, "dicom")
	tab := dosimetry.DefaultTable()
	cases := map[string]string{
		"openrem/CT-RDSR-Siemens-Continued-1.dcm":        "ct_thorax",
		"openrem/CT-RDSR-Siemens-Continued-2.dcm":        "ct_thorax",
		"openrem/CT-RDSR-Siemens_Flash-TAP-SS.dcm":       "ct_tap",
		"openrem/CT-RDSR-ToshibaPixelMed.dcm":            "ct_tap",
		"openrem/CT-SC-Philips_Brilliance16P.dcm":        "ct_tap",
		"openrem/CT-RDSR-Toshiba_DoseCheck.dcm":          "ct_abdomen_pelvis",
		"openrem/CT-RDSR-Toshiba_MultiValSD.dcm":         "ct_thorax",
		"openrem/CT-ESR-GE_VCT.dcm":                      "ct_massif_facial",
		"openrem/CT-ESR-GE_Optima.dcm":                   "",
		"openrem/NM-CT-RDSR-Siemens.dcm":                 "nm_tep_ct",
		"openrem/CT-RDSR-GEPixelMed.dcm":                 dosimetry.NoExamType,
		"openrem/CT-RDSR-Philips_BigBore4DCT.dcm":        dosimetry.NoExamType,
		"openrem/CT-RDSR-Siemens-Multi-2.dcm":            dosimetry.NoExamType,
		"openrem/CT-RDSR-Siemens_Flash-QA-DS.dcm":        dosimetry.NoExamType,
		"openrem/CT-RDSR-SpectrumDynamics.dcm":           dosimetry.NoExamType,
		"openrem/DX-Im-Carestream_DRX.dcm":               "rx_thorax_pa",
		"openrem/DX-Im-SiemensMultix.dcm":                "rx_thorax_pa",
		"openrem/DX-RDSR-Canon_CXDI.dcm":                 "rx_thorax_pa",
		"openrem/DX-Im-GE_XR220-1.dcm":                   "rx_abdomen",
		"openrem/DX-RDSR-Canon_CXDI_noDAP.dcm":           "",
		"openrem/DX-RDSR-Carestream_DRXEvolution.dcm":    "",
		"openrem/Dual-RDSR-DX.dcm":                       dosimetry.NoExamType,
		"openrem/DX-Im-Carestream_DR7500-1.dcm":          dosimetry.NoExamType,
		"openrem/Dual-RDSR-RF.dcm":                       "",
		"openrem/MG-RDSR-Hologic_2D.dcm":                 "mg_mammographie",
		"openrem/MG-RDSR-Hologic_mix.dcm":                "",
		"openrem/MG-RDSR-Giotto-DBT.dcm":                 "",
		"openrem/MG-Im-GE_Seno_1_ForPresentation.dcm":    "",
		"openrem/NM-PetIm-GE.dcm":                        "nm_tep_fdg",
		"openrem/NM-RRDSR-Siemens-Extended.dcm":          "nm_tep_fdg",
		"openrem/NM-NmIm-Siemens.dcm":                    "nm_scinti_osseuse",
		"openrem/NM-NmIm-Siemens-s1-1.dcm":               "nm_perfusion_myocardique",
		"openrem/RF-RDSR-Canon-Alphenix-rotational.dcm":  "",
		"openrem/RF-RDSR-Canon-Ultimaxi-mGyDoseAtRP.dcm": "",
	}
	for rel, want := range cases {
		t.Run(rel, func(t *testing.T) {
			rep, err := ingest.ParseDICOMFile(filepath.Join(root, filepath.FromSlash(rel)), ingest.DICOMOptions{Authority: "1.2.250.1.999"})
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if got := tab.Classify(&rep.Exam); got.ExamType != want {
				t.Errorf("Classify = %q (rule %d, text %q), want %q", got.ExamType, got.Rule, got.Text, want)
			}
		})
	}
}

// TestEvaluateSharedCT takes the helix of real CT dose reports: the
// Siemens TAP report's spiral, not its scout or bolus-tracking scans.
func TestEvaluateSharedCT(t *testing.T) {
	root := sharedtest.Path(t, "dicom")
	rep, err := ingest.ParseDICOMFile(filepath.Join(root, "openrem", "CT-RDSR-Siemens_Flash-TAP-SS.dcm"), ingest.DICOMOptions{Authority: "1.2.250.1.999"})
	if err != nil {
		t.Fatal(err)
	}
	var helix *ledger.CTEvent
	for i := range rep.Exam.CT.Events {
		if e := &rep.Exam.CT.Events[i]; e.Protocol == "TAP" {
			helix = e
		}
	}
	if helix == nil || helix.DLP == nil || helix.CTDIvol == nil {
		t.Fatal("the report has no TAP helix with its dose")
	}
	x := rep.Exam
	x.Patient.Age = "067Y"
	t0 := x.Totals()
	ev := &dosimetry.Evaluator{Types: dosimetry.DefaultTable(), NRD: dosimetry.DefaultNRD()}
	out, err := ev.Evaluate(context.Background(), dosimetry.Entries{{Exam: x, Reported: t0, Counted: t0}}, dosimetry.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].ExamType != "ct_tap" {
		t.Fatalf("evaluations %+v, want one ct_tap", out)
	}
	e := out[0]
	if e.Patients != 1 || e.Records[0].Values[0] != helix.CTDIvol.Value || e.Records[0].Values[1] != helix.DLP.Value {
		t.Errorf("record %+v, want the TAP helix CTDIvol %v and DLP %v (excluded: %v)", e.Records, helix.CTDIvol.Value, helix.DLP.Value, e.Excluded)
	}
	if t0.DLP <= helix.DLP.Value {
		t.Errorf("the exam total %v should exceed the helix's %v (scout, monitoring)", t0.DLP, helix.DLP.Value)
	}
}

// TestEvaluateSharedContinued stores a Siemens CT report and its
// continuation in a ledger: the survey counts the patient once, with the
// thorax helix, not the scout.
func TestEvaluateSharedContinued(t *testing.T) {
	root := sharedtest.Path(t, "dicom")
	ctx := context.Background()
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	led := ledger.Open(db)
	var helixDLP float64
	for _, f := range []string{"CT-RDSR-Siemens-Continued-1.dcm", "CT-RDSR-Siemens-Continued-2.dcm"} {
		rep, err := ingest.ParseDICOMFile(filepath.Join(root, "openrem", f), ingest.DICOMOptions{Authority: "1.2.250.1.999"})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range rep.Exam.CT.Events {
			if e.Protocol == "Thorax" && e.DLP != nil {
				helixDLP = max(helixDLP, e.DLP.Value)
			}
		}
		if _, err := led.Put(ctx, &rep.Exam); err != nil {
			t.Fatal(err)
		}
	}
	ev := &dosimetry.Evaluator{Types: dosimetry.DefaultTable(), NRD: dosimetry.DefaultNRD()}
	out, err := ev.Evaluate(ctx, led, dosimetry.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].ExamType != "ct_thorax" || out[0].Patients != 1 {
		t.Fatalf("evaluations %+v, want one ct_thorax survey of one patient", out)
	}
	if got := out[0].Records[0].Values[1]; helixDLP == 0 || got != helixDLP {
		t.Errorf("DLP %v, want the thorax helix's %v", got, helixDLP)
	}
}

// TestEvaluateSharedMammography reads the mean glandular dose per view and
// the breast thickness of a real Hologic report.
func TestEvaluateSharedMammography(t *testing.T) {
	root := sharedtest.Path(t, "dicom")
	rep, err := ingest.ParseDICOMFile(filepath.Join(root, "openrem", "MG-RDSR-Hologic_2D.dcm"), ingest.DICOMOptions{Authority: "1.2.250.1.999"})
	if err != nil {
		t.Fatal(err)
	}
	x := rep.Exam
	var sum float64
	var n int
	for _, e := range x.Mammography.Events {
		if e.AGD != nil {
			sum += e.AGD.Value
			n++
		}
	}
	if n == 0 {
		t.Fatal("the report has no exposure with a glandular dose")
	}
	if x.Patient.Age == "" {
		x.Patient.Age = "061Y"
	}
	tot := x.Totals()
	ev := &dosimetry.Evaluator{Types: dosimetry.DefaultTable(), NRD: dosimetry.DefaultNRD()}
	out, err := ev.Evaluate(context.Background(), dosimetry.Entries{{Exam: x, Reported: tot, Counted: tot}}, dosimetry.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].ExamType != "mg_mammographie" || out[0].Patients != 1 {
		t.Fatalf("evaluations %+v, want one mammography survey of one patient", out)
	}
	r := out[0].Records[0]
	if d := r.Values[0] - sum/float64(n); d > 1e-9 || d < -1e-9 || r.Thickness <= 0 {
		t.Errorf("AGD per view %v (want %v over %d exposures), thickness %v mm", r.Values[0], sum/float64(n), n, r.Thickness)
	}
}
