package hl7

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"vigie"
	"vigie/dosimetry"
	"vigie/ingest"
	"vigie/internal/sharedtest"
	"vigie/ledger"
)

// putShared stores a real vendor dose report in the outbox's ledger, as
// the CHU's, after edit (nil: none) changed the parsed exam.
func putShared(t *testing.T, o *Outbox, rel string, edit func(*ledger.Exam)) *ledger.Exam {
	t.Helper()
	rep, err := ingest.ParseDICOMFile(filepath.Join(sharedtest.Path(t, "dicom"), rel), ingest.DICOMOptions{Authority: chuA})
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	if edit != nil {
		edit(&rep.Exam)
	}
	if _, err := o.Ledger.Put(context.Background(), &rep.Exam); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return &rep.Exam
}

// TestDoseReportSecondLevelEstimates: the reports of real vendor files
// carry the second-level estimates as python3-hl7 reads them: a pregnant
// patient's abdominal CT (pregnancy declared outside DICOM; the scanner's
// report given a water-equivalent diameter of 30 cm, which no shared file
// carries) its SSDE (DICOM 113930, method 113988) and its dose to the
// uterus / foetus (a range, Vigie's local code); an interventional
// procedure its peak skin dose (a range); an FDG PET the bladder's dose
// (DICOM 113518 with its finding site); the text block in French
// throughout.
func TestDoseReportSecondLevelEstimates(t *testing.T) {
	ctx := context.Background()
	o, _ := newOutbox(t, "")
	o.Ledger = ledger.Open(o.DB)
	o.Coefficients, o.ExamTypes = dosimetry.DefaultCoefficients(), dosimetry.DefaultTable()
	o.Pregnancies = dosimetry.OpenPregnancies(o.DB)
	out := filepath.Join(t.TempDir(), "got.jsonl")
	r := startReceiver(t, 0, out)
	sub, err := o.AddSubscriber(ctx, Subscriber{Name: "RIS_A", Addr: r.addr(), RegionalOID: regionalOID, Dose: true, Authority: chuA})
	if err != nil {
		t.Fatal(err)
	}
	ct := putShared(t, o, "openrem/CT-RDSR-ToshibaPixelMed.dcm", func(x *ledger.Exam) {
		for i := range x.CT.Events {
			x.CT.Events[i].WED = &ledger.Quantity{Value: 300, Unit: "mm", Raw: 300, RawUnit: "mm"}
		}
	})
	if _, err := o.Pregnancies.Declare(ctx, []vigie.SourceKey{ct.Key}, "2016-09-01", "2017-05-31", "physicist", "order: pregnant"); err != nil {
		t.Fatal(err)
	}
	putShared(t, o, "pyskindose/siemens_axiom_example_procedure.dcm", nil)
	putShared(t, o, "openrem/NM-RRDSR-Siemens.dcm", nil)
	if n, err := o.EnqueueDose(ctx); err != nil || n != 3 {
		t.Fatalf("EnqueueDose: %d %v, want 3", n, err)
	}
	if d, err := o.Deliver(ctx, sub); err != nil || d.Delivered != 3 {
		t.Fatalf("Deliver: %+v %v", d, err)
	}
	type want struct {
		typ, value, unit string
	}
	// By hand: SSDE 1.23 (AAPM 204 Table 1D at 30 cm) × 25.40 mGy = 31.24
	// mGy, the report's exponential fit of the table giving 31.2707
	// (+0.09 %); foetus 0.57–1 × (25.40 + 24.70) mGy; bladder 394 MBq ×
	// 0.16 mGy/MBq.
	byCode := map[string]want{
		dosimetry.CodeSSDE:       {"NM", "31.2707", "mGy"},
		dosimetry.CodeFoetalDose: {"SN", "^28.557^-^50.1", "mGy"},
		dosimetry.CodeOrganDose:  {"NM", "63.04", "mGy"},
	}
	seen := map[string]bool{}
	for _, rc := range got(t, out) {
		m, err := Parse([]byte(strings.ReplaceAll(rc.Raw, "\n", "\r")))
		if err != nil {
			t.Fatal(err)
		}
		segs := m.All("OBX")
		var text string
		for i, x := range rc.OBX {
			seg := segs[i]
			switch x.Code {
			case dosimetry.CodeSSDE:
				if seg.Get(17, 1) != dosimetry.CodeSSDEFromWED || seg.Get(17, 3) != "DCM" || !strings.Contains(seg.Get(17, 9), "diamètre équivalent eau 30 cm") {
					t.Errorf("SSDE method %q", seg.Field(17))
				}
			case dosimetry.CodeFoetalDose, dosimetry.CodePeakSkinDose:
				if x.System != dosimetry.SchemeVigie || x.Type != "SN" {
					t.Errorf("OBX %s: system %q type %q", x.Code, x.System, x.Type)
				}
			case dosimetry.CodeOrganDose:
				site := segs[i+1]
				if seg.Get(4, 0) != "1" || site.Get(3, 1) != "363698007" || site.Get(4, 0) != "1" || site.Get(5, 2) != "vessie" {
					t.Errorf("organ dose %q, then %q", seg.Field(4), strings.Join([]string{site.Field(3), site.Field(4), site.Field(5)}, "|"))
				}
			case LOINCDoseSummary:
				text = x.Value
			}
			if w, ok := byCode[x.Code]; ok {
				seen[x.Code] = true
				if x.Type != w.typ || x.Value != w.value || x.Unit != w.unit || x.Status != "F" {
					t.Errorf("OBX %s: %s %q %s %s, want %s %q %s F", x.Code, x.Type, x.Value, x.Unit, x.Status, w.typ, w.value, w.unit)
				}
			}
			if x.Code == dosimetry.CodePeakSkinDose {
				seen[x.Code] = true
				l, h, ok := strings.Cut(strings.TrimPrefix(x.Value, "^"), "^-^")
				lo, err1 := strconv.ParseFloat(l, 64)
				hi, err2 := strconv.ParseFloat(h, 64)
				if !ok || err1 != nil || err2 != nil || !(0 < lo && lo <= hi) || x.Status != "F" {
					t.Errorf("peak skin dose %q %s", x.Value, x.Status)
				}
			}
		}
		for _, bad := range []string{"1.2.250", "113930", "99VIGIE", "foetal-dose", "SCT"} {
			if strings.Contains(text, bad) {
				t.Errorf("the text block shows %q:\n%s", bad, text)
			}
		}
		t.Logf("%s", text)
	}
	for _, c := range []string{dosimetry.CodeSSDE, dosimetry.CodeFoetalDose, dosimetry.CodeOrganDose, dosimetry.CodePeakSkinDose} {
		if !seen[c] {
			t.Errorf("no report carried %s", c)
		}
	}
}
