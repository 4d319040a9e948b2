package matcher

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"vigie"
)

var person = vigie.Record{BirthName: "ETCHEVERRY", FirstName: "MAITE", FirstNames: "MAITE ANNE", BirthDate: "1968-05-21",
	Sex: "F", BirthPlace: "64445", PostalCode: "64100", City: "BAYONNE", Address: "3 RUE D'ESPAGNE"}

func score(t *testing.T, m *Model, a, b vigie.Record) Score {
	t.Helper()
	c := Compare(prep(t, a), prep(t, b))
	return m.Score(&c, nil)
}

func TestScoreSamePersonLinks(t *testing.T) {
	m := DefaultModel()
	b := person
	b.BirthName, b.BirthDate = "ETCHEVERY", "1968-05-12" // typo and a one-day slip
	s := score(t, m, person, b)
	if !s.AutoLink || s.Grade != GradeCertain {
		t.Errorf("same person with two slips not linked:\n%s", s.Table())
	}
	if s.Probability <= 0.99 {
		t.Errorf("probability %.4f", s.Probability)
	}
}

func TestScoreHardRules(t *testing.T) {
	m := DefaultModel()
	with := func(f func(*vigie.Record)) vigie.Record { r := person; f(&r); return r }
	for _, tc := range []struct {
		name     string
		a, b     vigie.Record
		rule     string
		autoLink bool
		review   bool // probability at or above the review threshold
	}{
		{"different valid INS", with(func(r *vigie.Record) { r.INS = "268056444512345" + "" }), with(func(r *vigie.Record) { r.INS = "268056444512346" }), "", false, true},
		{"twin sister", person, with(func(r *vigie.Record) { r.FirstName, r.FirstNames = "AMAIA", "AMAIA" }), RuleFirstName, false, false},
		{"mother and daughter", person, with(func(r *vigie.Record) { r.BirthDate = "1994-09-02" }), RuleBirthDate, false, false},
		{"doubtful identity", person, with(func(r *vigie.Record) { r.Attributes = []string{vigie.AttrDoubtful} }), RuleNoAutoLink, false, true},
		{"anonymous name", with(func(r *vigie.Record) { r.BirthName = "ANONYME" }), with(func(r *vigie.Record) { r.BirthName = "ANONYME" }), RuleNoAutoLink, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.a.INS != "" {
				// give both a valid key
				tc.a.INS = validINS(t, tc.a.INS[:13])
				tc.b.INS = validINS(t, tc.b.INS[:12]+"9")
			}
			s := score(t, m, tc.a, tc.b)
			if s.AutoLink != tc.autoLink {
				t.Errorf("auto-link %v, want %v\n%s", s.AutoLink, tc.autoLink, s.Table())
			}
			if got := s.Probability >= m.Review; got != tc.review {
				t.Errorf("in review band %v, want %v\n%s", got, tc.review, s.Table())
			}
			if tc.rule != "" && !hasRule(s, tc.rule) {
				t.Errorf("rule %s did not fire\n%s", tc.rule, s.Table())
			}
		})
	}
}

func TestScoreINSCollision(t *testing.T) {
	m := DefaultModel()
	ins := validINS(t, "2680564445123")
	mother := person
	mother.INS = ins
	daughter := person
	daughter.INS = ins
	daughter.FirstName, daughter.FirstNames, daughter.BirthDate = "LEIRE", "LEIRE", "1968-05-30"
	s := score(t, m, mother, daughter)
	if s.AutoLink || !hasRule(s, RuleINSConflict) || s.Probability < m.Review {
		t.Errorf("one INS on conflicting traits must go to review as a potential collision\n%s", s.Table())
	}
}

func validINS(t *testing.T, body string) string {
	t.Helper()
	k, err := INSKey(body)
	if err != nil {
		t.Fatal(err)
	}
	return body + k
}

func hasRule(s Score, code string) bool {
	for _, r := range s.Rules {
		if r.Code == code {
			return true
		}
	}
	return false
}

type fixedFreq map[string]float64

func (f fixedFreq) NameFrequency(v string) float64      { return f[v] }
func (f fixedFreq) FirstNameFrequency(v string) float64 { return f["first:"+v] }

func TestTermFrequencyAdjustment(t *testing.T) {
	m := DefaultModel()
	freq := fixedFreq{"MARTIN": 0.004, "ETCHEVERRY": 0.00002}
	common := person
	common.BirthName = "MARTIN"
	c1 := Compare(prep(t, common), prep(t, common))
	c2 := Compare(prep(t, person), prep(t, person))
	s1, s2 := m.Score(&c1, freq), m.Score(&c2, freq)
	w1, w2 := s1.Fields[FieldName].Weight, s2.Fields[FieldName].Weight
	if !(w2 > w1+5) {
		t.Errorf("a rare name must weigh more than MARTIN: %.2f vs %.2f", w2, w1)
	}
	want := math.Log2(m.Params(FieldName).M[NameExact] / 0.004)
	if math.Abs(w1-want) > 1e-9 {
		t.Errorf("MARTIN weight %.4f, want log2(m/tf) = %.4f", w1, want)
	}
}

func TestExplanationTable(t *testing.T) {
	m := DefaultModel()
	b := person
	b.FirstName = "MAITÉ"
	s := score(t, m, person, b)
	tab := s.Table()
	for _, want := range []string{"name", "first_name", "birth_date", "exact", "probability", "grade certain"} {
		if !strings.Contains(tab, want) {
			t.Errorf("table lacks %q:\n%s", want, tab)
		}
	}
	if len(s.Reasons()) == 0 {
		t.Error("no reasons")
	}
}

func TestModelRoundTrip(t *testing.T) {
	m := DefaultModel()
	data, err := m.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	m2, err := ParseModel(data)
	if err != nil {
		t.Fatal(err)
	}
	for f := Field(0); f < NumFields; f++ {
		for l := range m.Params(f).M {
			if m.Params(f).M[l] != m2.Params(f).M[l] || m.Params(f).U[l] != m2.Params(f).U[l] {
				t.Fatalf("%s level %d changed in the round trip", f, l)
			}
		}
	}
	bad := strings.Replace(string(data), fmt.Sprintf(`"version": %d`, ModelVersion), `"version": 99`, 1)
	if _, err := ParseModel([]byte(bad)); err == nil || vigieField(err) != "model.version" {
		t.Errorf("a model of another version must be refused naming model.version, got %v", err)
	}
}

func TestSexAndFirstNameConflictNeverAutoLinks(t *testing.T) {
	m := DefaultModel()
	twin := person
	twin.Sex, twin.FirstName, twin.FirstNames = "M", "MAITI", "MAITI"
	s := score(t, m, person, twin)
	if s.AutoLink || !hasRule(s, RuleSexFirstName) && !hasRule(s, RuleFirstName) && !hasRule(s, RuleTwins) {
		t.Errorf("twins of different sex with close first names linked:\n%s", s.Table())
	}
	same := person
	same.Sex = "M" // a typing slip on sex alone
	if s := score(t, m, person, same); hasRule(s, RuleSexFirstName) {
		t.Errorf("the sex rule fired with identical first names:\n%s", s.Table())
	}
}

func TestTwinsAndOtherFirstNamesGoToAPerson(t *testing.T) {
	m := DefaultModel()
	with := func(f func(*vigie.Record)) vigie.Record { r := person; f(&r); return r }
	for _, tc := range []struct {
		name string
		a, b vigie.Record
		rule string
		link bool
	}{
		{"twin sisters MAITE and MAITA", person, with(func(r *vigie.Record) { r.FirstName, r.FirstNames = "MAITA", "MAITA" }), RuleTwins, false},
		{"a typo on another birth date stays linkable", person, with(func(r *vigie.Record) { r.FirstName, r.FirstNames, r.BirthDate = "MAITA", "MAITA", "1968-05-12" }), "", true},
		{"ANNE and JEANNE as later first names", person, with(func(r *vigie.Record) { r.FirstNames = "MAITE JEANNE" }), RuleOtherFirsts, false},
		{"one list has a single name", person, with(func(r *vigie.Record) { r.FirstNames = "MAITE" }), "", true},
		{"later first names shared", person, with(func(r *vigie.Record) { r.FirstNames = "MAITE ANNE LUCIE" }), "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := score(t, m, tc.a, tc.b)
			if tc.rule != "" && !hasRule(s, tc.rule) {
				t.Errorf("rule %s did not fire:\n%s", tc.rule, s.Table())
			}
			if s.AutoLink != tc.link {
				t.Errorf("auto-link %v, want %v:\n%s", s.AutoLink, tc.link, s.Table())
			}
		})
	}
}

// Held pairs sit one bit of weight under a high auto-link threshold, and
// never lower than HeldBelowAutoLink of it.
func TestHeldProbability(t *testing.T) {
	bits := func(p float64) float64 { return math.Log2(p / (1 - p)) }
	for _, autoLink := range []float64{0.5, 0.9, 0.999, 0.9995, 0.9998, 0.99999} {
		h := HeldProbability(autoLink)
		if h >= autoLink || h < autoLink*HeldBelowAutoLink {
			t.Errorf("auto-link %g: held at %g, want in [%g, %g)", autoLink, h, autoLink*HeldBelowAutoLink, autoLink)
		}
		if d := bits(autoLink) - bits(h); autoLink >= 0.999 && math.Abs(d-1) > 1e-6 {
			t.Errorf("auto-link %g: held %.3f bits under it, want 1", autoLink, d)
		}
	}
}

// A model fitted on a feed knows its size: the prior's floor is the
// smaller of the index's floor and that size.
func TestPopulationFloor(t *testing.T) {
	for _, tc := range []struct {
		name string
		cal  *Calibration
		min  int
		want int
	}{
		{"shipped model", nil, 10000, 10000},
		{"fitted on 1,000 records", &Calibration{Records: 1000}, 10000, 1000},
		{"fitted on 50,000 records", &Calibration{Records: 50000}, 10000, 10000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := DefaultModel()
			m.Calibration = tc.cal
			if got := m.PopulationFloor(tc.min); got != tc.want {
				t.Errorf("floor %d, want %d", got, tc.want)
			}
		})
	}
}
