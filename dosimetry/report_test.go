package dosimetry

import (
	"strings"
	"testing"

	"vigie/ledger"
)

// TestSummarize: a study's summary counts what its exams count (a header
// superseded by the SR counts nothing), gives each figure in its UCUM
// unit, the estimate with its method, and a French text without codes or
// identifiers.
func TestSummarize(t *testing.T) {
	c, tab := DefaultCoefficients(), DefaultTable()
	sr := entry(ctExam("1.2.3.4", "Thorax^Thorax_NON_CON (Adult)", 400, ctEv("h", "", chest, spiralType, 8, 400)))
	sr.Exam.StudyUID, sr.Exam.Accession = "1.2.250.1.999.7", "ACC42"
	header := entry(ctExam("1.2.3.5", "Thorax", 0, ctEv("", "", chest, spiralType, 30, 0)))
	header.Exam.StudyUID, header.SupersededBy = "1.2.250.1.999.7", "1.2.3.4"
	ir := entry(irExam("1.2.3.6", "Coronarographie", 50))
	ir.Exam.Projection.FluoroTime = q(300, ledger.DimTime)
	ir.Counted = ir.Exam.Totals()
	pet := entry(exam("1.2.3.7", "CH2", "q", "2025-04-01", "PT", ledger.DomainNM))
	pet.Exam.Patient.Age = "063Y"
	pet.Exam.NM = &ledger.NMDose{Administrations: []ledger.Administration{{Radiopharmaceutical: code("C-B1031", "SRT", "Fluorodeoxyglucose F^18^"),
		Radionuclide: code("C-111A1", "SRT", "^18^Fluorine"), Activity: q(394, ledger.DimActivity)}}}
	pet.Counted, pet.Reported = pet.Exam.Totals(), pet.Exam.Totals()
	cases := []struct {
		name    string
		es      []ledger.Entry
		figures map[string]float64
		unit    map[string]string
		mSv     float64
		text    []string
	}{
		{"CT with a superseded header", []ledger.Entry{header, sr},
			map[string]float64{CodeCTDIvol: 8, CodeDLPTotal: 400}, map[string]string{CodeDLPTotal: "mGy.cm", CodeCTDIvol: "mGy"}, 5.6,
			[]string{"PDL (produit dose × longueur) total : 400 mGy.cm", "IDSV (CTDIvol) maximal : 8 mGy", "Dose efficace estimée : 5,6 mSv", "k = 0,014 mSv/(mGy.cm), région thorax", "Appareil : ACME M1 S1"}},
		{"interventional", []ledger.Entry{ir},
			map[string]float64{CodeDAPTotal: 50 * 1e3, CodeRPTotal: 900, CodeFluoroTime: 300}, map[string]string{CodeDAPTotal: "mGy.cm2", CodeFluoroTime: "s"}, 15,
			[]string{"PDS (produit dose × surface) total : 50\u202f000 mGy.cm²", "Durée de scopie : 300 s", "PDS × k"}},
		// 394 MBq × 0.019 mSv/MBq = 7.486 mSv
		{"FDG PET", []ledger.Entry{pet},
			map[string]float64{CodeActivity: 394}, map[string]string{CodeActivity: "MBq"}, 7.486,
			[]string{"Activité administrée : 394 MBq", "Radiopharmaceutique : FDG", "Dose efficace estimée : 7,49 mSv", "activité × coefficient, FDG / F 18 : 0,019 mSv/MBq (adulte)"}},
	}
	for _, cs := range cases {
		t.Run(cs.name, func(t *testing.T) {
			s, ok := Summarize(cs.es, c, tab)
			if !ok {
				t.Fatal("no summary")
			}
			got := map[string]Figure{}
			for _, f := range s.Figures {
				got[f.Code] = f
			}
			if len(got) != len(cs.figures) {
				t.Errorf("figures %+v, want %v", s.Figures, cs.figures)
			}
			for code, v := range cs.figures {
				if !near(got[code].Value, v) {
					t.Errorf("figure %s = %v, want %v", code, got[code].Value, v)
				}
			}
			for code, u := range cs.unit {
				if got[code].Unit != u {
					t.Errorf("figure %s in %q, want %q", code, got[code].Unit, u)
				}
			}
			if s.Estimate == nil || !near(s.Estimate.Value, cs.mSv) {
				t.Errorf("estimate %+v, want %v mSv", s.Estimate, cs.mSv)
			}
			text := strings.Join(s.Text(), "\n")
			for _, want := range cs.text {
				if !strings.Contains(text, want) {
					t.Errorf("text lacks %q:\n%s", want, text)
				}
			}
			for _, bad := range []string{"1.2.250", "1.2.3", "113", "DCM", "chest", "SRT"} {
				if strings.Contains(text, bad) {
					t.Errorf("text shows %q (a code or identifier):\n%s", bad, text)
				}
			}
		})
	}
	onlyHeader := []ledger.Entry{header}
	if _, ok := Summarize(onlyHeader, c, tab); ok {
		t.Error("a study whose only exam counts nothing has a summary")
	}
}
