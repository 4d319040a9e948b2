package fhir_test

import (
	"context"
	"math"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"vigie"
	"vigie/dosimetry"
	"vigie/fhir"
	"vigie/ingest"
	"vigie/internal/sharedtest"
	"vigie/ledger"
	"vigie/rpc"
	"vigie/store"
)

// TestDoseSummaryEstimates: the Observations of real vendor reports carry
// the second-level estimates as components: a pregnant patient's
// abdominal CT (pregnancy declared outside DICOM; a water-equivalent
// diameter of 30 cm added, which no shared file carries) its SSDE (DCM
// 113930) and its dose to the uterus / foetus (a valueRange in Vigie's
// system); an interventional procedure its peak skin dose (a valueRange);
// an FDG PET the bladder's dose (DCM 113518, the organ in code.text); the
// same CT without a diameter says why it has no SSDE (dataAbsentReason).
func TestDoseSummaryEstimates(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	led, preg := ledger.Open(db), dosimetry.OpenPregnancies(db)
	key := vigie.SourceKey{Authority: siteA, LocalID: "A-100"}
	put := func(rel, study string, edit func(*ledger.Exam)) {
		t.Helper()
		rep, err := ingest.ParseDICOMFile(filepath.Join(sharedtest.Path(t, "dicom"), rel), ingest.DICOMOptions{Authority: siteA})
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		x := &rep.Exam
		x.Key = key
		if study != "" {
			x.SOPInstanceUID, x.StudyUID = x.SOPInstanceUID+".9", study
		}
		if edit != nil {
			edit(x)
		}
		if _, err := led.Put(ctx, x); err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
	}
	toshiba := "openrem/CT-RDSR-ToshibaPixelMed.dcm"
	put(toshiba, "", func(x *ledger.Exam) {
		for i := range x.CT.Events {
			x.CT.Events[i].WED = &ledger.Quantity{Value: 300, Unit: "mm", Raw: 300, RawUnit: "mm"}
		}
	})
	put(toshiba, "1.2.250.1.213.7.2", nil) // the same report as another study, without a diameter
	put("pyskindose/siemens_axiom_example_procedure.dcm", "", nil)
	put("openrem/NM-RRDSR-Siemens.dcm", "", nil)
	if _, err := preg.Declare(ctx, []vigie.SourceKey{key}, "2016-09-01", "2017-05-31", "physicist-a", "order: pregnant"); err != nil {
		t.Fatal(err)
	}
	api := &rpc.Server{Index: f.index, Keys: f.keys, Trail: f.trail, NoLimits: true,
		Doors: map[string]rpc.Door{fhir.Path: &fhir.Server{Index: f.index, Ledger: led, Coefficients: dosimetry.DefaultCoefficients(),
			ExamTypes: dosimetry.DefaultTable(), Pregnancies: preg}}}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	g := &fixture{url: srv.URL, tokens: f.tokens}
	status, b := g.call(t, "dr-a", "GET", "/fhir/Observation?patient="+f.ids["shared"], "")
	if status != 200 {
		t.Fatalf("search: %d %v", status, b)
	}
	type comp struct {
		system, text, absent string
		value, low, high     float64
	}
	var all []map[string]comp
	for _, e := range b["entry"].([]any) {
		o := e.(map[string]any)["resource"].(map[string]any)
		cs := map[string]comp{}
		for _, c := range o["component"].([]any) {
			cm := c.(map[string]any)
			code := cm["code"].(map[string]any)
			coding := code["coding"].([]any)[0].(map[string]any)
			var x comp
			x.system = coding["system"].(string)
			if s, ok := code["text"].(string); ok {
				x.text = s
			}
			if q, ok := cm["valueQuantity"].(map[string]any); ok {
				x.value = q["value"].(float64)
			}
			if r, ok := cm["valueRange"].(map[string]any); ok {
				if l, ok := r["low"].(map[string]any); ok {
					x.low = l["value"].(float64)
				}
				x.high = r["high"].(map[string]any)["value"].(float64)
			}
			if a, ok := cm["dataAbsentReason"].(map[string]any); ok {
				x.absent = a["text"].(string)
			}
			cs[coding["code"].(string)] = x
		}
		notes := o["note"].([]any)
		if text := notes[len(notes)-1].(map[string]any)["text"].(string); strings.Contains(text, "urn:") || strings.Contains(text, "113930") {
			t.Errorf("the note shows a code:\n%s", text)
		}
		all = append(all, cs)
	}
	find := func(code string, ok func(comp) bool) bool {
		for _, cs := range all {
			if c, has := cs[code]; has && ok(c) {
				return true
			}
		}
		return false
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 0.01*math.Abs(b) }
	// By hand: SSDE 1.23 × 25.40 mGy (AAPM 204 Table 1D at 30 cm);
	// foetus 0.57–1 × (25.40 + 24.70) mGy; bladder 394 × 0.16 mGy.
	checks := []struct {
		what string
		code string
		ok   func(comp) bool
	}{
		{"SSDE", dosimetry.CodeSSDE, func(c comp) bool { return c.system == fhir.SystemDICOM && near(c.value, 1.23*25.40) }},
		{"SSDE not estimated", dosimetry.CodeSSDE, func(c comp) bool {
			return c.value == 0 && strings.Contains(c.absent, "diamètre du patient non transmis")
		}},
		{"foetal dose", dosimetry.CodeFoetalDose, func(c comp) bool {
			return c.system == dosimetry.SystemVigie && near(c.low, 0.57*50.1) && near(c.high, 50.1)
		}},
		{"peak skin dose", dosimetry.CodePeakSkinDose, func(c comp) bool {
			return c.system == dosimetry.SystemVigie && c.low > 0 && c.low <= c.high
		}},
		{"bladder", dosimetry.CodeOrganDose, func(c comp) bool {
			return c.system == fhir.SystemDICOM && near(c.value, 394*0.16) && c.text == "Organ Dose : vessie"
		}},
	}
	for _, c := range checks {
		if !find(c.code, c.ok) {
			t.Errorf("no Observation has the %s component as expected: %+v", c.what, all)
		}
	}
	if len(all) != 4 {
		t.Errorf("%d Observations, want 4", len(all))
	}
}
