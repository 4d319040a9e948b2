package dosimetry

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"vigie"
	"vigie/ledger"
)

func TestQuantile(t *testing.T) {
	cases := []struct {
		xs          []float64
		q1, med, q3 float64
	}{
		{[]float64{5}, 5, 5, 5},
		{[]float64{1, 2}, 1.25, 1.5, 1.75},
		{[]float64{1, 2, 3}, 1.5, 2, 2.5},
		{[]float64{1, 2, 3, 4}, 1.75, 2.5, 3.25},
		{[]float64{10, 20, 30, 40, 50}, 20, 30, 40},
	}
	for _, c := range cases {
		if q1, m, q3 := Quantile(c.xs, .25), Quantile(c.xs, .5), Quantile(c.xs, .75); !near(q1, c.q1) || !near(m, c.med) || !near(q3, c.q3) {
			t.Errorf("%v: quartiles %v %v %v, want %v %v %v", c.xs, q1, m, q3, c.q1, c.med, c.q3)
		}
	}
	if !math.IsNaN(Quantile(nil, .5)) {
		t.Error("the median of nothing is a number")
	}
}

func TestAgeYears(t *testing.T) {
	for s, want := range map[string]float64{"045Y": 45, "006M": 0.5, "001D": 1 / 365.25, "052W": 52 * 7 / 365.25} {
		if got, ok := AgeYears(s); !ok || !near(got, want) {
			t.Errorf("AgeYears(%q) = %v, %v, want %v", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "Y", "45", "abcY", "-1Y", "045X"} {
		if _, ok := AgeYears(s); ok {
			t.Errorf("AgeYears(%q) accepted", s)
		}
	}
}

// survey returns n thorax PA exams of distinct patients of one device, of
// the given age and weight, PDS 100+i mGy.cm².
func survey(n int, age int, kg float64) Entries {
	var es Entries
	for i := range n {
		e := adult(thoraxPA(fmt.Sprintf("sop%d", i), "CHU", fmt.Sprintf("p%d", i), "2025-03-01", float64(100+i)), age, kg, 1.7)
		es = append(es, entry(e))
	}
	return es
}

func evalOne(t *testing.T, ev *Evaluator, src Source, q Query) *Evaluation {
	t.Helper()
	out, err := ev.Evaluate(context.Background(), src, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 {
		t.Fatalf("%d evaluations, want 1", len(out))
	}
	return out[0]
}

func TestSurveyValidityEdges(t *testing.T) {
	ev := &Evaluator{Types: DefaultTable(), NRD: DefaultNRD()}
	cases := []struct {
		n, age int
		pop    Population
		valid  bool
	}{
		{29, 40, Adult, false},
		{30, 40, Adult, true},
		{9, 8, Child, false},
		{10, 8, Child, true},
		{30, 17, Adult, false}, // 17-year-olds are children
		{30, 18, Adult, true},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d-%s-%dy", c.n, c.pop, c.age), func(t *testing.T) {
			e := evalOne(t, ev, survey(c.n, c.age, 70), Query{Site: "CHU", ExamType: "rx_thorax_pa", Population: c.pop})
			if e.Valid != c.valid {
				t.Fatalf("valid = %v (%d patients, reasons %v), want %v", e.Valid, e.Patients, e.Reasons, c.valid)
			}
			if !c.valid && (len(e.Reasons) == 0 || !strings.Contains(e.Reasons[0], "il en faut au moins")) {
				t.Errorf("an invalid survey says no reason: %v", e.Reasons)
			}
			if c.valid && len(e.Reasons) > 0 {
				t.Errorf("a valid survey has reasons: %v", e.Reasons)
			}
		})
	}
}

func TestSurveyWeightBand(t *testing.T) {
	nrd := DefaultNRD()
	for i := range nrd.Entries {
		if nrd.Entries[i].ExamType == "rx_thorax_pa" {
			nrd.Entries[i].WeightBand = &WeightBand{Min: 60, Max: 80}
		}
	}
	ev := &Evaluator{Types: DefaultTable(), NRD: nrd}
	for _, c := range []struct {
		kg   float64
		keep bool
	}{{59.9, false}, {60, true}, {80, true}, {80.1, false}, {0, false}} {
		e := evalOne(t, ev, survey(1, 40, c.kg), Query{ExamType: "rx_thorax_pa"})
		if (e.Patients == 1) != c.keep {
			t.Errorf("%v kg: %d patients counted (excluded %v), want kept=%v", c.kg, e.Patients, e.Excluded, c.keep)
		}
	}
	// 30 adults, one out of band: invalid, and the reason names the band.
	es := survey(30, 40, 70)
	es[0].Exam.Patient.Weight.Value = 95
	e := evalOne(t, ev, es, Query{ExamType: "rx_thorax_pa"})
	if e.Valid || !strings.Contains(strings.Join(e.Reasons, " "), "60–80 kg") {
		t.Errorf("valid=%v reasons=%v, want invalid naming the weight band", e.Valid, e.Reasons)
	}
}

func TestMedianAgainstNRD(t *testing.T) {
	ev := &Evaluator{Types: DefaultTable(), NRD: DefaultNRD()}
	for _, c := range []struct {
		vals               []float64
		aboveNRD, aboveVGD bool
	}{
		{[]float64{100, 150, 300}, false, false}, // median 150 = VGD: not above
		{[]float64{100, 151, 300}, false, true},
		{[]float64{100, 200, 300}, false, true}, // median 200 = NRD: not above
		{[]float64{100, 201, 300}, true, true},
		{[]float64{199, 202}, true, true}, // median 200.5
	} {
		var es Entries
		for i, v := range c.vals {
			es = append(es, entry(adult(thoraxPA(fmt.Sprint(i), "CHU", fmt.Sprint(i), "2025-01-01", v), 50, 70, 1.7)))
		}
		st := evalOne(t, ev, es, Query{}).Stats[0]
		if st.Indicator != IndPDS || st.Unit != "mGy.cm2" || *st.NRD != 200 || *st.VGD != 150 {
			t.Fatalf("stat %+v: want PDS in mGy.cm2 against 200/150", st)
		}
		if st.AboveNRD != c.aboveNRD || st.AboveVGD != c.aboveVGD {
			t.Errorf("%v: median %v above NRD %v VGD %v, want %v %v", c.vals, st.Median, st.AboveNRD, st.AboveVGD, c.aboveNRD, c.aboveVGD)
		}
	}
}

func TestEvaluateCountsRules(t *testing.T) {
	ev := &Evaluator{Types: DefaultTable(), NRD: DefaultNRD()}
	// Patient a: two studies, the first counts. Patient b: age unknown.
	// Patient c: a superseded header exam only. Patient d: other site.
	// Patient e: out of the period.
	a1 := adult(thoraxPA("a1", "CHU", "a", "2025-02-01", 180), 50, 70, 1.7)
	a2 := adult(thoraxPA("a2", "CHU", "a", "2025-01-15", 120), 50, 70, 1.7)
	b := thoraxPA("b", "CHU", "b", "2025-02-01", 500)
	c := entry(adult(thoraxPA("c", "CHU", "c", "2025-02-01", 900), 50, 70, 1.7))
	c.SupersededBy = "other"
	d := adult(thoraxPA("d", "CH2", "d", "2025-02-01", 900), 50, 70, 1.7)
	e := adult(thoraxPA("e", "CHU", "e", "2024-12-31", 900), 50, 70, 1.7)
	src := Entries{entry(a1), entry(a2), entry(b), c, entry(d), entry(e)}
	got := evalOne(t, ev, src, Query{Site: "CHU", From: "2025-01-01", To: "2025-12-31"})
	if got.Patients != 1 || got.Records[0].SOP != "a2" || !near(got.Records[0].Values[0], 120) {
		t.Fatalf("records %+v, want patient a's first study a2 at 120 mGy.cm2", got.Records)
	}
	if got.Excluded["âge inconnu"] != 1 {
		t.Errorf("excluded %v, want one patient of unknown age", got.Excluded)
	}
}

func TestEvaluateRadiographyPerProjection(t *testing.T) {
	ev := &Evaluator{Types: DefaultTable(), NRD: DefaultNRD()}
	x := adult(exam("s", "CHU", "p", "2025-01-01", "CR", ledger.DomainProjection), 40, 70, 1.7)
	for _, c := range []struct{ proc, pa, lat string }{
		{"RADIO DU THORAX", "Thorax PA", "Thorax Profil"},
		{"THORAX F+P", "Thorax PA", "Thorax Lat"},
		{"RADIO DU THORAX", "PA", "Profil"}, // the exam names the region, the projection the view
	} {
		x.Procedure = c.proc
		x.Projection = &ledger.ProjectionDose{DAPTotal: q(9e-5, ledger.DimDAP), Events: []ledger.ProjectionEvent{
			{UID: "1", Protocol: c.pa, DAP: q(2e-5, ledger.DimDAP)},
			{UID: "2", Protocol: c.lat, DAP: q(7e-5, ledger.DimDAP)},
		}}
		out, err := ev.Evaluate(context.Background(), Entries{entry(x)}, Query{})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, e := range out {
			got[e.ExamType] = e.Records[0].Values[0]
		}
		if len(got) != 2 || !near(got["rx_thorax_pa"], 200) || !near(got["rx_thorax_lat"], 700) {
			t.Errorf("%s / %s / %s: per-projection PDS %v, want PA 200 and lateral 700 mGy.cm2", c.proc, c.pa, c.lat, got)
		}
	}
}

func TestCTHelix(t *testing.T) {
	tab := DefaultTable()
	tap, thorax := tab.Type("ct_tap"), tab.Type("ct_thorax")
	cases := []struct {
		name   string
		et     *ExamType
		events []ledger.CTEvent
		want   string // UID of the chosen event, "" for none
	}{
		{"scout left out", thorax, []ledger.CTEvent{ctEv("s", "Topogram", chest, scoutType, 0.1, 9), ctEv("h", "Thorax", chest, spiralType, 8, 300)}, "h"},
		{"highest DLP of the region", thorax, []ledger.CTEvent{ctEv("h1", "", chest, spiralType, 8, 300), ctEv("h2", "", chest, spiralType, 9, 350)}, "h2"},
		{"TAP in two helices is not one helix", tap, []ledger.CTEvent{ctEv("t", "", chest, spiralType, 8, 300), ctEv("ap", "", abdomen, spiralType, 10, 500)}, ""},
		{"TAP one coded helix", tap, []ledger.CTEvent{ctEv("s", "", cap, scoutType, 0, 0), ctEv("h", "", cap, spiralType, 10, 700)}, "h"},
		{"one uncoded helix", tap, []ledger.CTEvent{ctEv("s", "", code("", "", ""), scoutType, 0, 0), ctEv("h", "", code("", "", ""), spiralType, 10, 700)}, "h"},
		{"monitoring left out", tap, []ledger.CTEvent{ctEv("m", "Monitoring", abdomen, code("113806", "DCM", "Stationary Acquisition"), 20, 30), ctEv("h", "TAP", abdomen, spiralType, 9, 600)}, "h"},
		{"only scouts", thorax, []ledger.CTEvent{ctEv("s", "", chest, scoutType, 0.1, 1)}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, why := CTHelix(c.events, c.et)
			switch {
			case c.want == "" && h != nil:
				t.Errorf("took %s, want none", h.UID)
			case c.want == "" && why == "":
				t.Error("no helix and no reason")
			case c.want != "" && (h == nil || h.UID != c.want):
				t.Errorf("took %v (%s), want %s", h, why, c.want)
			}
		})
	}
}

func TestEvaluateCTAndUnits(t *testing.T) {
	ev := &Evaluator{Types: DefaultTable(), NRD: DefaultNRD()}
	x := adult(exam("s", "CHU", "p", "2025-01-01", "CT", ledger.DomainCT), 40, 70, 1.7)
	x.Procedure = "Thorax^Thorax_NON_CON (Adult)"
	x.CT = &ledger.CTDose{Events: []ledger.CTEvent{ctEv("s", "Topogram", chest, scoutType, 0.1, 5), ctEv("h", "Thorax", chest, spiralType, 8.5, 310)}}
	e := evalOne(t, ev, Entries{entry(x)}, Query{})
	if e.ExamType != "ct_thorax" || len(e.Stats) != 2 {
		t.Fatalf("evaluation %s with %d stats", e.ExamType, len(e.Stats))
	}
	if s := e.Stats; s[0].Indicator != IndCTDIvol || !near(s[0].Median, 8.5) || s[1].Indicator != IndDLP || !near(s[1].Median, 310) || s[0].NRD != nil {
		t.Errorf("stats %+v, want CTDIvol 8.5 and DLP 310 without an NRD value", s)
	}
	if !strings.HasPrefix(e.Stats[0].Note, NoNRD+" : non livré") || !strings.Contains(e.Stats[0].Note, "le physicien médical la complète") {
		t.Errorf("note %q does not say there is no NRD and that the physicist completes it", e.Stats[0].Note)
	}
	if e.Records[0].Phantom != "32" {
		t.Errorf("phantom %q, want 32", e.Records[0].Phantom)
	}
}

func TestEvaluateRefusesBadQuery(t *testing.T) {
	ev := &Evaluator{Types: DefaultTable(), NRD: DefaultNRD()}
	for _, q := range []Query{{From: "2025-1-1"}, {To: "tomorrow"}, {ExamType: "ct_unknown"}, {Population: "baby"}} {
		if _, err := ev.Evaluate(context.Background(), Entries{}, q); vigie.ErrorCode(err) != vigie.EINVALID {
			t.Errorf("query %+v: error %v, want EINVALID", q, err)
		}
	}
}

func TestLoadNRDErrors(t *testing.T) {
	good := `{"source":{"decision":"D"},"survey":{"min_adults":30,"min_children":10,"adult_age_years":18},"entries":[%s]}`
	entry := func(s string) string { return strings.Replace(good, "%s", s, 1) }
	cases := []struct{ name, doc, field string }{
		{"not json", `[`, "table"},
		{"no source", `{"survey":{"min_adults":30,"min_children":10,"adult_age_years":18}}`, "source.decision"},
		{"min adults", `{"source":{"decision":"D"},"survey":{"min_adults":0,"min_children":10,"adult_age_years":18}}`, "survey.min_adults"},
		{"min children", `{"source":{"decision":"D"},"survey":{"min_adults":30,"min_children":0,"adult_age_years":18}}`, "survey.min_children"},
		{"adult age", `{"source":{"decision":"D"},"survey":{"min_adults":30,"min_children":10,"adult_age_years":0}}`, "survey.adult_age_years"},
		{"exam type", entry(`{"exam_type":"CT!","population":"adult","indicator":"dlp","unit":"mGy.cm","nrd":1}`), "entries[0].exam_type"},
		{"population", entry(`{"exam_type":"a","population":"elderly","indicator":"dlp","unit":"mGy.cm","nrd":1}`), "entries[0].population"},
		{"indicator", entry(`{"exam_type":"a","population":"adult","indicator":"dap","unit":"mGy.cm","nrd":1}`), "entries[0].indicator"},
		{"unit", entry(`{"exam_type":"a","population":"adult","indicator":"pds","unit":"mGy.cm","nrd":1}`), "entries[0].unit"},
		{"negative", entry(`{"exam_type":"a","population":"adult","indicator":"dlp","unit":"mGy.cm","nrd":-1}`), "entries[0].nrd"},
		{"vgd above", entry(`{"exam_type":"a","population":"adult","indicator":"dlp","unit":"mGy.cm","nrd":1,"vgd":2}`), "entries[0].vgd"},
		{"no value no note", entry(`{"exam_type":"a","population":"adult","indicator":"dlp","unit":"mGy.cm"}`), "entries[0].note"},
		{"band", entry(`{"exam_type":"a","population":"adult","indicator":"dlp","unit":"mGy.cm","nrd":1,"weight_band_kg":{"min":80,"max":60}}`), "entries[0].weight_band_kg"},
		{"adult age band", entry(`{"exam_type":"a","population":"adult","indicator":"dlp","unit":"mGy.cm","nrd":1,"age_band_years":{"min":1,"max":5}}`), "entries[0].age_band_years"},
		{"age band past adulthood", entry(`{"exam_type":"a","population":"child","indicator":"dlp","unit":"mGy.cm","nrd":1,"age_band_years":{"min":10,"max":20}}`), "entries[0].age_band_years"},
		{"adult band from 0", entry(`{"exam_type":"a","population":"adult","indicator":"dlp","unit":"mGy.cm","nrd":1,"weight_band_kg":{"min":0,"max":20}}`), "entries[0].weight_band_kg"},
		{"duplicate class", entry(`{"exam_type":"a","population":"child","indicator":"dlp","unit":"mGy.cm","nrd":1,"age_band_years":{"min":1,"max":5}},{"exam_type":"a","population":"child","indicator":"dlp","unit":"mGy.cm","nrd":2,"age_band_years":{"min":1,"max":5}}`), "entries[1]"},
		{"duplicate", entry(`{"exam_type":"a","population":"adult","indicator":"dlp","unit":"mGy.cm","nrd":1},{"exam_type":"a","population":"adult","indicator":"dlp","unit":"mGy.cm","nrd":2}`), "entries[1]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadNRD(strings.NewReader(c.doc))
			if err == nil {
				t.Fatal("accepted")
			}
			if vigie.ErrorCode(err) != vigie.EINVALID || !strings.Contains(err.Error(), c.field+":") {
				t.Errorf("error %q does not name %s", err, c.field)
			}
		})
	}
}

// TestShippedNRD checks the shipped table holds exactly the verified adult
// radiography values and no other value.
func TestShippedNRD(t *testing.T) {
	nrd := DefaultNRD()
	if err := nrd.CheckTypes(DefaultTable()); err != nil {
		t.Fatal(err)
	}
	want := map[string][2]float64{
		"rx_thorax_pa": {200, 150}, "rx_thorax_lat": {550, 400}, "rx_abdomen": {3400, 2300}, "rx_bassin": {3800, 2750},
		"rx_hanche": {1350, 950}, "rx_rachis_cervical": {400, 250}, "rx_rachis_dorsal_face": {1000, 750},
		"rx_rachis_dorsal_profil": {1150, 900}, "rx_rachis_lombaire_face": {2700, 1950},
		"rx_rachis_lombaire_profil": {3900, 2650}, "rx_opg": {150, 100},
	}
	seen := 0
	for _, e := range nrd.Entries {
		w, ok := want[e.ExamType]
		if !ok {
			if e.NRD != nil || e.VGD != nil || !strings.HasPrefix(e.Note, "non livré : valeur non vérifiée") || e.Source != "" {
				t.Errorf("%s %s: value %v/%v or note %q shipped without the legal text", e.ExamType, e.Indicator, e.NRD, e.VGD, e.Note)
			}
			continue
		}
		seen++
		if e.NRD == nil || e.VGD == nil || *e.NRD != w[0] || *e.VGD != w[1] || e.Unit != "mGy.cm2" || e.Population != Adult ||
			e.Source != "Décision ASN n° 2019-DC-0667, annexe 2, tableau 2.1" {
			t.Errorf("%s: %+v, want %v mGy.cm2 adult", e.ExamType, e, w)
		}
	}
	if seen != len(want) {
		t.Errorf("%d radiography entries, want %d", seen, len(want))
	}
	// Every exam type of the shipped mapping table is in the NRD table,
	// with its figures or saying they are not shipped.
	for _, et := range DefaultTable().Types {
		if len(nrd.entries(et.Code, Adult)) == 0 {
			t.Errorf("exam type %s is not in the NRD table", et.Code)
		}
	}
	if nrd.Survey.MinAdults != 30 || nrd.Survey.MinChildren != 10 {
		t.Errorf("survey rules %+v, want 30 adults / 10 children", nrd.Survey)
	}
}

func FuzzLoadNRD(f *testing.F) {
	f.Add(DefaultNRDJSON())
	f.Add([]byte(`{"source":{"decision":"D"},"survey":{"min_adults":1,"min_children":1,"adult_age_years":18},"entries":[{"exam_type":"a","population":"adult","indicator":"kar","unit":"Gy","nrd":1e308}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		nrd, err := LoadNRD(strings.NewReader(string(b)))
		if err != nil {
			if vigie.ErrorCode(err) != vigie.EINVALID {
				t.Fatalf("error without EINVALID: %v", err)
			}
			return
		}
		for _, e := range nrd.Entries {
			if e.NRD != nil && (*e.NRD <= 0 || math.IsInf(*e.NRD, 0)) {
				t.Fatalf("accepted NRD %v", *e.NRD)
			}
			if _, ok := units[e.Indicator][e.Unit]; !ok {
				t.Fatalf("accepted unit %q for %s", e.Unit, e.Indicator)
			}
		}
	})
}

func TestEvaluateNMPerKg(t *testing.T) {
	nrd := DefaultNRD()
	for i := range nrd.Entries {
		if e := &nrd.Entries[i]; e.ExamType == "nm_tep_fdg" {
			e.Indicator, e.Unit = IndActivityPerKg, "MBq/kg"
		}
	}
	ev := &Evaluator{Types: DefaultTable(), NRD: nrd}
	x := adult(exam("s", "CHU", "p", "2025-01-01", "PT", ledger.DomainNM), 60, 80, 1.8)
	x.Procedure = "TEP FDG"
	x.NM = &ledger.NMDose{Administrations: []ledger.Administration{{Activity: q(240, ledger.DimActivity)}}}
	e := evalOne(t, ev, Entries{entry(x)}, Query{})
	if e.ExamType != "nm_tep_fdg" || !near(e.Records[0].Values[0], 3) || e.Stats[0].Unit != "MBq/kg" {
		t.Errorf("evaluation %s %+v, want 240 MBq / 80 kg = 3 MBq/kg", e.ExamType, e.Records)
	}
	x.Patient.Weight = nil
	e = evalOne(t, ev, Entries{entry(x)}, Query{})
	if e.Patients != 0 || e.Excluded["indicateur activity_per_kg non renseigné"] != 1 {
		t.Errorf("an unweighed patient counted: %d, %v", e.Patients, e.Excluded)
	}
}

func ExampleEvaluator_Evaluate() {
	var es Entries
	for i := range 30 {
		es = append(es, entry(adult(thoraxPA(fmt.Sprint(i), "CHU", fmt.Sprint(i), "2025-05-01", float64(150+2*i)), 50, 70, 1.72)))
	}
	ev := &Evaluator{Types: DefaultTable(), NRD: DefaultNRD()}
	evs, err := ev.Evaluate(context.Background(), es, Query{Site: "CHU", From: "2025-01-01", To: "2025-12-31"})
	if err != nil {
		fmt.Println(err)
		return
	}
	e := evs[0]
	s := e.Stats[0]
	fmt.Printf("%s, %s: %d patients, valid %v\n", e.Label, e.Device, e.Patients, e.Valid)
	fmt.Printf("PDS median %v %s (Q1 %v, Q3 %v), NRD %v, above NRD %v, above VGD %v\n", s.Median, s.Unit, s.Q1, s.Q3, *s.NRD, s.AboveNRD, s.AboveVGD)
	// Output:
	// Thorax de face (PA), ACME M1 S1: 30 patients, valid true
	// PDS median 179 mGy.cm2 (Q1 164.5, Q3 193.5), NRD 200, above NRD false, above VGD true
}

// siteIndexed is a Source with a site index that records its use.
type siteIndexed struct {
	Entries
	sites []string
}

func (s *siteIndexed) EachSite(ctx context.Context, site, _, _ string, fn func(*ledger.Entry) error) error {
	s.sites = append(s.sites, site)
	for i := range s.Entries {
		if s.Entries[i].Exam.Key.Authority == site {
			if err := fn(&s.Entries[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

func TestEvaluateUsesSiteIndex(t *testing.T) {
	src := &siteIndexed{Entries: append(survey(3, 40, 70), entry(adult(thoraxPA("o", "OTHER", "o", "2025-01-01", 100), 40, 70, 1.7)))}
	ev := &Evaluator{Types: DefaultTable(), NRD: DefaultNRD()}
	e := evalOne(t, ev, src, Query{Site: "CHU"})
	if e.Patients != 3 || len(src.sites) != 1 || src.sites[0] != "CHU" {
		t.Errorf("%d patients, site reads %v: want 3 through the CHU index", e.Patients, src.sites)
	}
	if out, _ := ev.Evaluate(context.Background(), src, Query{}); len(out) != 2 || len(src.sites) != 1 {
		t.Errorf("an all-sites query used the site index (%v) or missed a site (%d)", src.sites, len(out))
	}
}

// TestPaediatricClasses evaluates children per class of the NRD table:
// 10 children aged 1 to 4 make a valid 1–5 class, 9 aged 5 to 9 an
// invalid 5–10 class; a 5-year-old belongs to 5–10, not 1–5.
func TestPaediatricClasses(t *testing.T) {
	nrd := DefaultNRD()
	v := func(f float64) *float64 { return &f }
	nrd.Entries = append(nrd.Entries,
		NRDEntry{ExamType: "rx_thorax_pa", Population: Child, Indicator: IndPDS, Unit: "mGy.cm2", NRD: v(50), AgeBand: &Band{Min: 1, Max: 5}},
		NRDEntry{ExamType: "rx_thorax_pa", Population: Child, Indicator: IndPDS, Unit: "mGy.cm2", NRD: v(70), AgeBand: &Band{Min: 5, Max: 10}},
	)
	var es Entries
	for i := range 10 {
		x := thoraxPA(fmt.Sprintf("a%d", i), "CHU", fmt.Sprintf("a%d", i), "2025-01-01", 60)
		x.Patient.Age = fmt.Sprintf("%03dY", 1+i%4)
		es = append(es, entry(x))
	}
	for i := range 9 {
		x := thoraxPA(fmt.Sprintf("b%d", i), "CHU", fmt.Sprintf("b%d", i), "2025-01-01", 60)
		x.Patient.Age = fmt.Sprintf("%03dY", 5+i%5)
		es = append(es, entry(x))
	}
	ev := &Evaluator{Types: DefaultTable(), NRD: nrd}
	out, err := ev.Evaluate(context.Background(), es, Query{Population: Child})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 {
		t.Fatalf("%d evaluations, want one per class", len(out))
	}
	want := []struct {
		class    string
		n        int
		valid    bool
		nrd      float64
		aboveNRD bool
	}{{"1–5 ans", 10, true, 50, true}, {"5–10 ans", 9, false, 70, false}}
	for i, w := range want {
		e := out[i]
		if e.Class != w.class || e.Patients != w.n || e.Valid != w.valid || *e.Stats[0].NRD != w.nrd || e.Stats[0].AboveNRD != w.aboveNRD {
			t.Errorf("class %d: %s, %d patients, valid %v, NRD %v above %v; want %+v", i, e.Class, e.Patients, e.Valid, *e.Stats[0].NRD, e.Stats[0].AboveNRD, w)
		}
	}
	if !strings.Contains(strings.Join(out[1].Reasons, ""), "dans la classe 5–10 ans") || out[1].Excluded["enfants d'une autre classe d'âge ou de poids"] != 10 {
		t.Errorf("invalid class: reasons %v, excluded %v", out[1].Reasons, out[1].Excluded)
	}
}

// TestRadiographyHeaderImagesAreProjections: two header images of one hip
// study are two projections; the survey takes one, not their sum.
func TestRadiographyHeaderImagesAreProjections(t *testing.T) {
	ev := &Evaluator{Types: DefaultTable(), NRD: DefaultNRD()}
	img := func(sop string, pds float64) ledger.Entry {
		x := adult(exam(sop, "CHU", "p", "2025-01-01", "CR", ledger.DomainProjection), 50, 70, 1.7)
		x.StudyUID, x.Procedure, x.Source = "st-hip", "HANCHE DROITE F+P", ledger.SourceHeader
		x.Projection = &ledger.ProjectionDose{DAPTotal: q(pds/1e7, ledger.DimDAP)}
		return entry(x)
	}
	e := evalOne(t, ev, Entries{img("i1", 600), img("i2", 900)}, Query{})
	if e.ExamType != "rx_hanche" || e.Patients != 1 || !near(e.Records[0].Values[0], 600) {
		t.Errorf("%s: records %+v, want one hip projection of 600 mGy.cm2", e.ExamType, e.Records)
	}
}

func TestEvaluateAgeFromIndex(t *testing.T) {
	x := thoraxPA("s", "CHU", "p", "2025-06-01", 120) // no DICOM age
	asked := ""
	ev := &Evaluator{Types: DefaultTable(), NRD: DefaultNRD(), Age: func(k vigie.SourceKey, date string) (float64, bool) {
		asked = k.String() + " " + date
		return 42, true
	}}
	e := evalOne(t, ev, Entries{entry(x)}, Query{})
	if e.Patients != 1 || e.Records[0].AgeYears != 42 || asked != "CHU/p 2025-06-01" {
		t.Errorf("patients %d, age %v, asked %q: want the index's age on the exam date", e.Patients, e.Records, asked)
	}
	x.Patient.Age = "030Y"
	if e := evalOne(t, ev, Entries{entry(x)}, Query{}); e.Records[0].AgeYears != 30 {
		t.Errorf("age %v: the DICOM age comes first", e.Records[0].AgeYears)
	}
}

// TestDefaultsAreCopies: changing a default table never changes the next.
func TestDefaultsAreCopies(t *testing.T) {
	nrd := DefaultNRD()
	*nrd.Entries[0].NRD = 1
	nrd.Entries[0].WeightBand = &Band{Min: 1, Max: 2}
	nrd.Entries = nrd.Entries[:1]
	again := DefaultNRD()
	if *again.Entries[0].NRD != 200 || again.Entries[0].WeightBand != nil || len(again.Entries) < 2 {
		t.Errorf("the default NRD table changed: %+v", again.Entries[0])
	}
	tab := DefaultTable()
	tab.Rules[0].Keywords[0][0] = "thorax"
	tab.Types[0].Label = "changed"
	fresh := DefaultTable()
	if fresh.Rules[0].Keywords[0][0] == "thorax" || fresh.Type(fresh.Types[0].Code).Label == "changed" {
		t.Error("the default mapping table changed")
	}
	if tab.Type(tab.Types[0].Code) != &tab.Types[0] {
		t.Error("a copy's index points outside the copy")
	}
}
