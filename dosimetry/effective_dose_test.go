package dosimetry

import (
	"strings"
	"testing"

	"vigie"
	"vigie/ledger"
)

func ctExam(sop, proc string, dlpTotal float64, evs ...ledger.CTEvent) ledger.Exam {
	x := adult(exam(sop, "CHU", "p", "2025-01-01", "CT", ledger.DomainCT), 50, 70, 1.7)
	x.Procedure = proc
	x.CT = &ledger.CTDose{DLPTotal: q(dlpTotal, ledger.DimDLP), Events: evs}
	return x
}

func irExam(sop, proc string, gycm2 float64) ledger.Exam {
	x := adult(exam(sop, "CHU", "p", "2025-01-01", "XA", ledger.DomainProjection), 60, 80, 1.8)
	x.Procedure = proc
	x.Projection = &ledger.ProjectionDose{DAPTotal: q(gycm2/1e4, ledger.DimDAP), RPTotal: q(900, ledger.DimDose)}
	return x
}

// TestEstimateHandComputed checks the estimate against values computed by
// hand from the shipped coefficients.
func TestEstimateHandComputed(t *testing.T) {
	c, tab := DefaultCoefficients(), DefaultTable()
	head := code("T-D1100", "SRT", "Head")
	cases := []struct {
		name   string
		exam   ledger.Exam
		mSv    float64
		method string
	}{
		{"thorax CT 400 mGy.cm × 0.014", ctExam("a", "Thorax^Thorax_NON_CON (Adult)", 400, ctEv("h", "", chest, spiralType, 8, 400)), 5.6, "dlp"},
		{"TAP CT 1000 mGy.cm × 0.015", ctExam("b", "Scanner TAP", 1000), 15, "dlp"},
		{"unnamed CT, head region 1000 × 0.0021", ctExam("c", "", 1000, ctEv("s", "", chest, scoutType, 0.1, 5), ctEv("h", "", head, spiralType, 50, 1000)), 2.1, "dlp"},
		{"unnamed CT without region", ctExam("d", "", 300, ctEv("h", "", code("", "", ""), spiralType, 8, 300)), 0, ""},
		{"coronary angiography 50 Gy.cm2 × 0.30", irExam("e", "Coronarographie", 50), 15, "dap"},
		{"coronary angioplasty 100 Gy.cm2 × 0.33", irExam("f", "Angioplastie coronaire", 100), 33, "dap"},
		{"thorax PA: no shipped coefficient", adult(thoraxPA("g", "CHU", "p", "2025-01-01", 200), 50, 70, 1.7), 0, ""},
		{"FDG PET 394 MBq × 0.019", nmExam("i", "063Y", "C-B1031", "Fluorodeoxyglucose F^18^", 394), 7.486, "activity"},
		{"DPD bone scan: no shipped coefficient", nmExam("j", "050Y", "", "DPD", 764), 0, ""},
	}
	var all []ledger.Entry
	for _, cs := range cases {
		t.Run(cs.name, func(t *testing.T) {
			en := entry(cs.exam)
			all = append(all, en)
			got := c.Estimate(&en, tab)
			if got.Method != cs.method || !near(got.MSv, cs.mSv) {
				t.Errorf("estimate %+v, want %v mSv by %q", got, cs.mSv, cs.method)
			}
			if cs.method == "" && got.Reason == "" {
				t.Error("no estimate and no reason")
			}
		})
	}
	super := entry(ctExam("h", "Scanner TAP", 5000))
	super.SupersededBy = "b"
	all = append(all, super)
	cum := c.EstimateAll(all, tab)
	if !near(cum.MSv, 5.6+15+2.1+15+33+7.486) || cum.NotEstimated != 3 {
		t.Errorf("cumulative %v mSv, %d not estimated; want %v and 3", cum.MSv, cum.NotEstimated, 5.6+15+2.1+15+33+7.486)
	}
	if !strings.Contains(cum.Source, "AAPM Report No. 96") || !strings.Contains(cum.Source, "18F-FDG Radiation Dosimetry") || !strings.Contains(cum.Label, "estimée") {
		t.Errorf("cumulative estimate not labelled with its source: %q / %q", cum.Label, cum.Source)
	}
}

func TestLoadCoefficientsErrors(t *testing.T) {
	for _, c := range []struct{ name, doc, field string }{
		{"json", `{`, "coefficients"},
		{"ct unit", `{"ct":{"unit":"mSv","source":"s","regions":{}},"dap":{"unit":"mSv/(Gy.cm2)","source":"s","regions":{}}}`, "ct.unit"},
		{"dap source", `{"ct":{"unit":"mSv/(mGy.cm)","source":"s","regions":{}},"dap":{"unit":"mSv/(Gy.cm2)","source":" ","regions":{}}}`, "dap.source"},
		{"value", `{"ct":{"unit":"mSv/(mGy.cm)","source":"s","regions":{"chest":14}},"dap":{"unit":"mSv/(Gy.cm2)","source":"s","regions":{}}}`, "ct.regions.chest"},
		{"region", `{"ct":{"unit":"mSv/(mGy.cm)","source":"s","regions":{}},"dap":{"unit":"mSv/(Gy.cm2)","source":"s","regions":{}},"target_regions":{"T-D3000":"chest"}}`, "target_regions.T-D3000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadCoefficients(strings.NewReader(c.doc))
			if vigie.ErrorCode(err) != vigie.EINVALID || !strings.Contains(err.Error(), c.field+":") {
				t.Errorf("error %v does not name %s", err, c.field)
			}
		})
	}
}

func FuzzLoadCoefficients(f *testing.F) {
	f.Add(defaultCoefficientsJSON)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := LoadCoefficients(strings.NewReader(string(b)))
		if err != nil {
			if vigie.ErrorCode(err) != vigie.EINVALID {
				t.Fatalf("error without EINVALID: %v", err)
			}
			return
		}
		for k, v := range c.CT.Regions {
			if v != nil && (*v <= 0 || *v > 1) {
				t.Fatalf("accepted k %v for %s", *v, k)
			}
		}
		for code, r := range c.TargetRegions {
			if _, ok := c.CT.Regions[r]; !ok {
				t.Fatalf("accepted region %q for %s", r, code)
			}
		}
	})
}

// TestEstimateToddlerUsesAgeBand: a toddler's CT is estimated with the
// coefficient of its age band (AAPM 96, 1 year), never the adult one;
// ages and exams the source has no coefficient for get no estimate and
// say why; an unknown age is flagged.
func TestEstimateToddlerUsesAgeBand(t *testing.T) {
	c, tab := DefaultCoefficients(), DefaultTable()
	head := code("T-D1100", "SRT", "Head")
	withAge := func(x ledger.Exam, age string) ledger.Exam { x.Patient.Age = age; return x }
	headCT := ctExam("t", "", 300, ctEv("h", "", head, spiralType, 20, 300))
	cases := []struct {
		name    string
		exam    ledger.Exam
		mSv     float64
		band    string
		reason  string
		warning string
	}{
		{"toddler of 2 years, head CT 300 × 0.0067", withAge(headCT, "002Y"), 2.01, "1 an", "", ""},
		{"baby of 3 months, head CT 300 × 0.011", withAge(headCT, "003M"), 3.3, "0 an", "", ""},
		{"child of 9, chest CT 400 × 0.013", withAge(ctExam("c9", "", 400, ctEv("h", "", chest, spiralType, 5, 400)), "009Y"), 5.2, "10 ans", "", ""},
		{"adult, head CT 300 × 0.0021", withAge(headCT, "045Y"), 0.63, "", "", ""},
		{"teenager of 14: no column in the source", withAge(headCT, "014Y"), 0, "", NoEstimateForAge, ""},
		{"toddler's neck CT: not shipped", withAge(ctExam("n", "", 100, ctEv("h", "", code("T-D1600", "SRT", "Neck"), spiralType, 5, 100)), "002Y"), 0, "", NoEstimateForAge, ""},
		{"toddler's angiography: no paediatric DAP coefficient", withAge(irExam("x", "Coronarographie", 5), "002Y"), 0, "", NoEstimateForAge, ""},
		{"unknown age: adult coefficient, flagged", withAge(headCT, ""), 0.63, "", "", "âge inconnu"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := entry(tc.exam)
			got := c.Estimate(&e, tab)
			if !near(got.MSv, tc.mSv) || got.AgeBand != tc.band || !strings.Contains(got.Reason, tc.reason) || !strings.Contains(got.Warning, tc.warning) {
				t.Errorf("estimate %+v, want %v mSv, band %q, reason %q, warning %q", got, tc.mSv, tc.band, tc.reason, tc.warning)
			}
			if tc.reason != "" && got.Estimated() {
				t.Errorf("estimated %+v where the source has no coefficient", got)
			}
		})
	}
}

// nmExam is a nuclear-medicine exam of one administration.
func nmExam(sop, age, pharmaCode, pharma string, mbq float64) ledger.Exam {
	x := exam(sop, "CHU", "p", "2025-01-01", "PT", ledger.DomainNM)
	x.Patient.Age = age
	scheme := ""
	if pharmaCode != "" {
		scheme = "SRT"
	}
	x.NM = &ledger.NMDose{Administrations: []ledger.Administration{{UID: sop + ".a", Radiopharmaceutical: code(pharmaCode, scheme, pharma),
		Activity: q(mbq, ledger.DimActivity)}}}
	return x
}
