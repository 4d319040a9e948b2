package dosimetry_test

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"vigie"
	"vigie/dosimetry"
	"vigie/ledger"
)

// TestNMCoefficientsShipped checks the shipped file: it loads, every row
// names a declared source and a place in it, and the values are the ones
// read in the sources (a typo in the file fails here).
func TestNMCoefficientsShipped(t *testing.T) {
	c := dosimetry.DefaultNMCoefficients()
	if len(c.Sources) != 5 || len(c.Rows) != 13 {
		t.Fatalf("%d sources, %d rows", len(c.Sources), len(c.Rows))
	}
	want := map[string][3]float64{ // id/reference → mSv/MBq, organ mGy/MBq
		"fdg/adulte": {0.019, 0.16}, "fdg/enfant de 5 ans": {0.050, 0.32},
		"naf/adulte": {0.024, 0.22}, "naf/enfant de 5 ans": {0.086, 0.61},
		"mdp/adulte": {0.0057, 0.063}, "mdp/enfant de 5 ans": {0.025, 0.22},
		"pertechnetate/adulte": {0.013, 0.057}, "dotatate/adulte": {0.0257, 0.282},
		// Andersson et al. 2014, table 1, column (E/A0)1: effective dose only.
		"fdopa/adulte": {0.025, 0}, "ga67citrate/adulte": {0.10, 0}, "c11methionine/adulte": {0.0084, 0},
		"c11acetate/adulte": {0.0035, 0}, "o15water/adulte": {0.0011, 0},
	}
	for _, r := range c.Rows {
		w, ok := want[r.ID+"/"+r.Reference]
		if !ok || r.MSvPerMBq != w[0] || r.OrganMGyPerMBq != w[1] {
			t.Errorf("%s/%s: %v mSv/MBq, %s %v mGy/MBq; want %v", r.ID, r.Reference, r.MSvPerMBq, r.Organ, r.OrganMGyPerMBq, w)
		}
		if c.Sources[r.Source] == "" || r.Table == "" || !strings.Contains(c.Sources[r.Source], "http") {
			t.Errorf("%s/%s: source %q (%q), table %q", r.ID, r.Reference, r.Source, c.Sources[r.Source], r.Table)
		}
	}
	if !bytes.HasPrefix(dosimetry.DefaultNMCoefficientsTSV(), []byte("# ")) {
		t.Error("the embedded file does not start with its comment block")
	}
}

// TestLoadNMCoefficientsRefuses: a file whose row has no declared source,
// no place in the source, a coefficient out of range, an organ without
// its coefficient, or two rows for one age, is refused with the line.
func TestLoadNMCoefficientsRefuses(t *testing.T) {
	const head = "#source S1\tPublication, table 1, https://example.org/t1\n" +
		"id\tradiopharmaceutical\tradionuclide\tcodes\tnames\treference\tfrom_years\tbelow_years\teffective_mSv_per_MBq\torgan\torgan_mGy_per_MBq\tsource\ttable\tnote\n"
	row := func(fields ...string) string { return strings.Join(fields, "\t") + "\n" }
	ok := row("fdg", "FDG", "F 18", "SRT:C-B1031", "fdg", "adulte", "18", "", "0.019", "vessie", "0.16", "S1", "ligne 1", "")
	if c, err := dosimetry.LoadNMCoefficients(strings.NewReader(head + ok)); err != nil || len(c.Rows) != 1 {
		t.Fatalf("a valid file: %v", err)
	}
	for _, c := range []struct{ name, file, want string }{
		{"undeclared source", head + row("fdg", "FDG", "F 18", "SRT:C-B1031", "", "adulte", "18", "", "0.019", "", "", "S9", "t", ""), "not declared"},
		{"no table", head + row("fdg", "FDG", "F 18", "SRT:C-B1031", "", "adulte", "18", "", "0.019", "", "", "S1", "", ""), "table is required"},
		{"zero coefficient", head + row("fdg", "FDG", "F 18", "SRT:C-B1031", "", "adulte", "18", "", "0", "", "", "S1", "t", ""), "effective_mSv_per_MBq"},
		{"organ without coefficient", head + row("fdg", "FDG", "F 18", "SRT:C-B1031", "", "adulte", "18", "", "0.019", "vessie", "", "S1", "t", ""), "organ_mGy_per_MBq"},
		{"coefficient without organ", head + row("fdg", "FDG", "F 18", "SRT:C-B1031", "", "adulte", "18", "", "0.019", "", "0.16", "S1", "t", ""), "needs its organ"},
		{"no code nor name", head + row("fdg", "FDG", "F 18", "", "", "adulte", "18", "", "0.019", "", "", "S1", "t", ""), "code or a name"},
		{"bad code", head + row("fdg", "FDG", "F 18", "C-B1031", "", "adulte", "18", "", "0.019", "", "", "S1", "t", ""), "SCHEME:VALUE"},
		{"ages overlap", head + ok + row("fdg", "FDG", "F 18", "SRT:C-B1031", "", "enfant", "3", "20", "0.05", "", "", "S1", "t", ""), "same ages"},
		{"ages reversed", head + row("fdg", "FDG", "F 18", "SRT:C-B1031", "", "enfant", "7", "3", "0.05", "", "", "S1", "t", ""), "below_years"},
		{"short row", head + "fdg\tFDG\n", "fields"},
		{"no header", "#source S1\tx\n", "no header"},
		{"wrong header", "id\tname\n", "header"},
		{"bad source line", "#source S1\n" + head, "source line"},
	} {
		_, err := dosimetry.LoadNMCoefficients(strings.NewReader(c.file))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
}

func admin(pharma, nuclide ledger.Code, mbq float64) ledger.Administration {
	a := ledger.Administration{Radiopharmaceutical: pharma, Radionuclide: nuclide}
	if mbq > 0 {
		a.Activity = &ledger.Quantity{Value: mbq, Unit: "MBq"}
	}
	return a
}

var (
	fdgSRT   = ledger.Code{Value: "C-B1031", Scheme: "SRT", Meaning: "Fluorodeoxyglucose F^18^"}
	fdgSCT   = ledger.Code{Value: "35321007", Scheme: "SCT", Meaning: "Fluorodeoxyglucose F^18^"}
	f18      = ledger.Code{Value: "C-111A1", Scheme: "SRT", Meaning: "^18^Fluorine"}
	tc99m    = ledger.Code{Value: "C-163A8", Scheme: "99SDM", Meaning: "99m Technetium"}
	ga68     = ledger.Code{Meaning: "^68^Gallium"}
	mdpSCT   = ledger.Code{Value: "96390006", Scheme: "SCT", Meaning: "Technetium Tc^99m^ medronate"}
	lu177    = ledger.Code{Meaning: "^177^Lutetium"}
	noNuclid = ledger.Code{}
)

// TestNMAdministration applies the coefficients by hand: activity ×
// coefficient of the row of the radiopharmaceutical (by code, else by
// name) and of the patient's age; a child outside the source's reference
// ages, an unknown radiopharmaceutical, a radionuclide other than the
// row's get no estimate and say why.
func TestNMAdministration(t *testing.T) {
	c := dosimetry.DefaultNMCoefficients()
	for _, tc := range []struct {
		name     string
		a        ledger.Administration
		age      float64
		ageKnown bool
		msv      float64 // 0: not estimated
		organ    string
		mgy      float64
		ref      string
		reason   string
	}{
		{"FDG by SRT code, adult", admin(fdgSRT, f18, 394), 63, true, 394 * 0.019, "vessie", 394 * 0.16, "adulte", ""},
		{"FDG by SCT code", admin(fdgSCT, f18, 250), 40, true, 250 * 0.019, "vessie", 250 * 0.16, "adulte", ""},
		{"FDG from an image header's text", admin(ledger.Code{Meaning: "FDG -- fluorodeoxyglucose"}, f18, 221.596288), 51, true, 221.596288 * 0.019, "vessie", 221.596288 * 0.16, "adulte", ""},
		{"FDG, child of 5", admin(fdgSRT, f18, 120), 5, true, 120 * 0.050, "vessie", 120 * 0.32, "enfant de 5 ans", ""},
		{"FDG, child of 3 (band starts)", admin(fdgSRT, f18, 100), 3, true, 100 * 0.050, "vessie", 100 * 0.32, "enfant de 5 ans", ""},
		{"FDG, toddler of 2: refused", admin(fdgSRT, f18, 60), 2, true, 0, "", 0, "", "pas d'estimation pour cet âge (2 ans)"},
		{"FDG, child of 10: refused", admin(fdgSRT, f18, 200), 10, true, 0, "", 0, "", "adulte, enfant de 5 ans"},
		{"FDG, age unknown: adult", admin(fdgSRT, f18, 300), 0, false, 300 * 0.019, "vessie", 300 * 0.16, "adulte", ""},
		{"NaF by name", admin(ledger.Code{Meaning: "Sodium fluoride F^18^"}, f18, 200), 70, true, 200 * 0.024, "vessie", 200 * 0.22, "adulte", ""},
		{"MDP by code, Siemens radionuclide", admin(mdpSCT, tc99m, 700), 50, true, 700 * 0.0057, "surfaces osseuses", 700 * 0.063, "adulte", ""},
		{"MDP child", admin(ledger.Code{Meaning: "MDP"}, noNuclid, 150), 6, true, 150 * 0.025, "surfaces osseuses", 150 * 0.22, "enfant de 5 ans", ""},
		{"pertechnetate", admin(ledger.Code{Value: "C-B1206", Scheme: "SRT"}, tc99m, 370), 30, true, 370 * 0.013, "gros intestin (partie haute)", 370 * 0.057, "adulte", ""},
		{"pertechnetate child: no row", admin(ledger.Code{Value: "C-B1206", Scheme: "SRT"}, tc99m, 37), 5, true, 0, "", 0, "", "pas d'estimation pour cet âge"},
		{"Ga-68 DOTATATE by name", admin(ledger.Code{Meaning: "Ga68-DOTATATE"}, ga68, 150), 60, true, 150 * 0.0257, "rate", 150 * 0.282, "adulte", ""},
		{"Lu-177 DOTATATE is not Ga-68", admin(ledger.Code{Meaning: "Lutetium^177^ DOTATATE"}, lu177, 7400), 60, true, 0, "", 0, "", "pas de coefficient publié"},
		{"DPD has no coefficient", admin(ledger.Code{Meaning: "DPD"}, tc99m, 764), 50, true, 0, "", 0, "", "pas de coefficient publié"},
		{"HMDP is not MDP", admin(ledger.Code{Meaning: "HMDP"}, tc99m, 700), 50, true, 0, "", 0, "", "pas de coefficient publié"},
		{"FDG code with Tc 99m", admin(fdgSRT, tc99m, 394), 63, true, 0, "", 0, "", "radionucléide Tc 99m"},
		{"F-DOPA by name: effective dose only", admin(ledger.Code{Meaning: "Fluorodopa F^18^"}, f18, 200), 45, true, 200 * 0.025, "", 0, "adulte", ""},
		{"F-DOPA, child of 10: refused", admin(ledger.Code{Meaning: "18F-DOPA"}, f18, 80), 10, true, 0, "", 0, "", "pas d'estimation pour cet âge"},
		{"Ga-67 citrate", admin(ledger.Code{Meaning: "67Ga citrate"}, ledger.Code{Meaning: "^67^Gallium"}, 150), 50, true, 150 * 0.10, "", 0, "adulte", ""},
		{"gallium citrate without its isotope", admin(ledger.Code{Meaning: "Gallium citrate"}, ga68, 150), 50, true, 0, "", 0, "", "pas de coefficient publié"},
		{"C-11 methionine", admin(ledger.Code{Meaning: "11C-methionine"}, noNuclid, 400), 30, true, 400 * 0.0084, "", 0, "adulte", ""},
		{"no activity", admin(fdgSRT, f18, 0), 63, true, 0, "", 0, "", "activité administrée non transmise"},
		{"no radiopharmaceutical", admin(ledger.Code{}, f18, 300), 63, true, 0, "", 0, "", "radiopharmaceutique non transmis"},
	} {
		got := c.Administration(&tc.a, tc.age, tc.ageKnown)
		if tc.msv == 0 {
			if got.Estimated() || !strings.Contains(got.Reason, tc.reason) {
				t.Errorf("%s: %+v, want no estimate because %q", tc.name, got, tc.reason)
			}
			continue
		}
		if !got.Estimated() || math.Abs(got.MSv-tc.msv) > 1e-9 || got.Organ != tc.organ || math.Abs(got.OrganMGy-tc.mgy) > 1e-9 ||
			got.Coefficient.Reference != tc.ref {
			t.Errorf("%s: %+v (%+v), want %v mSv, %s %v mGy, %s", tc.name, got, got.Coefficient, tc.msv, tc.organ, tc.mgy, tc.ref)
		}
	}
}

func nmEntry(age string, as ...ledger.Administration) *ledger.Entry {
	var mbq float64
	for _, a := range as {
		if a.Activity != nil {
			mbq += a.Activity.Value
		}
	}
	return &ledger.Entry{
		Exam: ledger.Exam{SOPInstanceUID: "1.2.3", StudyUID: "1.2", Date: "2024-03-01", Domain: ledger.DomainNM,
			Source: ledger.SourceRDSR, Key: vigie.SourceKey{Authority: "1.2.250.1.1", LocalID: "P1"}, Patient: ledger.PatientSize{Age: age},
			NM: &ledger.NMDose{Administrations: as}},
		Reported: ledger.Totals{Activity: mbq}, Counted: ledger.Totals{Activity: mbq}, NewEvents: len(as),
	}
}

// TestNMExam: an exam's estimate is the sum of its administrations' when
// every one has a coefficient; otherwise it is not estimated (a partial sum
// would read as the exam's dose) and names the radiopharmaceutical
// without; a report that counts nothing has no estimate; an unknown age is
// said.
func TestNMExam(t *testing.T) {
	c := dosimetry.DefaultNMCoefficients()
	fdg, mdp, dpd := admin(fdgSRT, f18, 394), admin(mdpSCT, tc99m, 700), admin(ledger.Code{Meaning: "DPD"}, tc99m, 764)
	fdg.UID, mdp.UID, dpd.UID = "a1", "a2", "a3"

	e := c.Exam(nmEntry("063Y", fdg, mdp))
	if !e.Estimated() || math.Abs(e.MSv-(394*0.019+700*0.0057)) > 1e-9 {
		t.Errorf("FDG + MDP: %+v", e)
	}
	eff, organ := e.Labels()
	if eff != "FDG / F 18 : 7,49 mSv (adulte) ; MDP / Tc 99m : 3,99 mSv (adulte)" ||
		organ != "FDG / F 18 : vessie : 63,04 mGy ; MDP / Tc 99m : surfaces osseuses : 44,1 mGy" {
		t.Errorf("labels %q / %q", eff, organ)
	}

	e = c.Exam(nmEntry("063Y", fdg, dpd))
	if e.Estimated() || e.MSv != 0 || !strings.HasPrefix(e.Reason, "DPD / Tc 99m : ") {
		t.Errorf("FDG + DPD: %+v", e)
	}
	if eff, _ := e.Labels(); !strings.HasPrefix(eff, "non estimée (DPD / Tc 99m") {
		t.Errorf("FDG + DPD label %q", eff)
	}

	e = c.Exam(nmEntry("", fdg))
	if eff, _ := e.Labels(); !e.Estimated() || eff != "7,49 mSv (adulte) — âge inconnu : coefficients adulte" {
		t.Errorf("unknown age: %q %+v", eff, e)
	}

	repeated := nmEntry("063Y", fdg)
	repeated.NewEvents, repeated.RepeatedEvents = 0, 1
	if e := c.Exam(repeated); e.Estimated() || e.Reason != "" {
		t.Errorf("a report counting nothing: %+v", e)
	}
	repeated.NewEvents = 1
	if e := c.Exam(repeated); e.Estimated() || !strings.Contains(e.Reason, "déjà été comptée") {
		t.Errorf("a report partly counted before: %+v", e)
	}
}

// TestNMFillHistory: the history's NM row carries the estimate of its
// study, each administration once even when an image header and the dose
// SR both report it.
func TestNMFillHistory(t *testing.T) {
	fdg := admin(fdgSRT, f18, 394)
	fdg.UID = "adm-1"
	sr := nmEntry("063Y", fdg)
	again := nmEntry("063Y", fdg)
	again.Exam.SOPInstanceUID, again.NewEvents, again.RepeatedEvents = "1.2.4", 0, 1
	es := []ledger.Entry{*sr, *again}
	h := ledger.BuildHistory(es)
	dosimetry.DefaultNMCoefficients().FillHistory(h, es)
	if len(h.NM) != 1 || h.NM[0].EffectiveDose != "7,49 mSv (adulte)" || h.NM[0].OrganDose != "vessie : 63,04 mGy" {
		t.Fatalf("history NM rows %+v", h.NM)
	}

	child := nmEntry("002Y", admin(fdgSRT, f18, 50))
	h = ledger.BuildHistory([]ledger.Entry{*child})
	dosimetry.DefaultNMCoefficients().FillHistory(h, []ledger.Entry{*child})
	if h.NM[0].EffectiveDose != "non estimée (FDG / F 18 : pas d'estimation pour cet âge (2 ans) : la source ne donne que les coefficients adulte, enfant de 5 ans)" || h.NM[0].OrganDose != "" {
		t.Errorf("toddler: %q / %q", h.NM[0].EffectiveDose, h.NM[0].OrganDose)
	}
}

// FuzzLoadNMCoefficients: any file either loads into rows that satisfy the
// documented bounds, or is refused; it never panics.
func FuzzLoadNMCoefficients(f *testing.F) {
	f.Add(dosimetry.DefaultNMCoefficientsTSV())
	f.Add([]byte("#source S1\tx\nid\tradiopharmaceutical\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := dosimetry.LoadNMCoefficients(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, r := range c.Rows {
			if !(r.MSvPerMBq > 0 && r.MSvPerMBq <= 10) || c.Sources[r.Source] == "" || r.Table == "" || (r.Organ == "") != (r.OrganMGyPerMBq == 0) {
				t.Fatalf("loaded an invalid row %+v", r)
			}
		}
	})
}

// TestNMEffectiveOnlySummary: a radiopharmaceutical whose source gives
// the effective dose alone (F-DOPA, Andersson et al. 2014) has its
// effective dose in the dose summary and its organ dose "non estimée"
// with the reason, never a made-up organ.
func TestNMEffectiveOnlySummary(t *testing.T) {
	e := nmEntry("045Y", admin(ledger.Code{Meaning: "Fluorodopa F^18^"}, f18, 200))
	sum, ok, err := dosimetry.SummarizeWith([]ledger.Entry{*e}, dosimetry.SummaryOptions{Coefficients: dosimetry.DefaultCoefficients(), Types: dosimetry.DefaultTable()})
	if err != nil || !ok {
		t.Fatalf("summary: %v %v", ok, err)
	}
	var organ *dosimetry.DoseEstimate
	for i := range sum.Estimates {
		if sum.Estimates[i].Kind == dosimetry.EstimateOrgan {
			organ = &sum.Estimates[i]
		}
	}
	if organ == nil || organ.Value != 0 || !strings.Contains(organ.NotEstimated, "ne nomme pas d'organe") {
		t.Errorf("organ dose %+v, want not estimated, no organ named by the source", organ)
	}
	text := strings.Join(sum.Text(), "\n")
	if !strings.Contains(text, "Dose efficace estimée : 5 mSv") {
		t.Errorf("text block:\n%s", text)
	}
}

// TestHasWords: a name matches whole words of the text, in order.
func TestHasWords(t *testing.T) {
	for _, c := range []struct {
		text, name string
		want       bool
	}{
		{"fdg fluorodeoxyglucose", "fdg", true},
		{"fdg fluorodeoxyglucose", "fluorodeoxyglucose", true},
		{"18f fdg", "18f fdg", true},
		{"fdgx", "fdg", false},
		{"xfdg", "fdg", false},
		{"ga 68 dotatate", "dotatate", true},
		{"ga 68 dotatatex dotatate", "dotatate", true},
		{"hmdp", "mdp", false},
		{"mdp", "", false},
		{"", "mdp", false},
	} {
		if got := dosimetry.HasWords(c.text, c.name); got != c.want {
			t.Errorf("hasWords(%q, %q) = %v, want %v", c.text, c.name, got, c.want)
		}
	}
}
