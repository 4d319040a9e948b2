package linkeval

import (
	"path/filepath"
	"testing"

	"vigie/internal/sharedtest"
	"vigie/matcher"
	"vigie/synth"
)

// generated writes a small synthetic population (built-in name lists) and
// loads it as a labelled data set.
func generated(t *testing.T, persons int, seed uint64) *Dataset {
	t.Helper()
	dir := t.TempDir()
	if _, err := synth.WriteFiles(synth.DefaultConfig(persons, seed), dir); err != nil {
		t.Fatal(err)
	}
	d, err := LoadGenerated(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != filepath.Base(dir) || len(d.Records) < persons {
		t.Fatalf("loaded %d records for %d persons", len(d.Records), persons)
	}
	return d
}

// Training without labels on one population and scoring another must keep
// automatic links precise: this is the check identity-fr.md asks for before
// a fitted model is used.
func TestTrainThenEvaluateOnAnotherPopulation(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on 4,000 generated persons")
	}
	train := Prepare(generated(t, 4000, 11), 500)
	m, rep, err := train.Train(matcher.StartingModel(), 50000, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !m.FirstNameGuard || !m.BirthDateGuard {
		t.Errorf("guards off on data whose true matches keep their first names and dates:\n%s", rep)
	}
	for _, f := range []matcher.Field{matcher.FieldName, matcher.FieldFirstName, matcher.FieldBirthDate} {
		p := m.Params(f)
		if p.M[0] <= p.U[0] {
			t.Errorf("%s: exact agreement weighs against a match (m %.4f, u %.4f)", f, p.M[0], p.U[0])
		}
	}
	test := Prepare(generated(t, 4000, 12), 500)
	met := test.Evaluate(m, 0)
	t.Logf("auto-link precision %.4f recall %.4f; review %d", met.Precision(), met.Recall(), met.Review)
	if met.Precision() < 0.995 || met.Recall() < 0.95 {
		t.Errorf("auto-link precision %.4f recall %.4f on a fresh population: want ≥ 0.995 and ≥ 0.95", met.Precision(), met.Recall())
	}
}

func TestTrainRefusesTooFewRandomPairs(t *testing.T) {
	p := Prepare(generated(t, 200, 3), 500)
	if _, _, err := p.Train(matcher.StartingModel(), 10, 1); err == nil {
		t.Error("training on 10 random pairs was accepted")
	}
}

func TestMetricsArithmetic(t *testing.T) {
	m := Metrics{TruePairs: 100, TP: 90, FP: 10, MatchTP: 95, MatchFP: 5}
	if m.Precision() != 0.9 || m.Recall() != 0.9 || m.F1() < 0.8999 || m.F1() > 0.9001 {
		t.Errorf("precision %v recall %v F1 %v", m.Precision(), m.Recall(), m.F1())
	}
	if (Metrics{}).Precision() != 0 {
		t.Error("precision of nothing must be 0, not NaN")
	}
}

// FEBRL 4 (5,000 records linked to 5,000 corrupted copies) is the public
// yardstick of issue "matching core": F1 ≥ 0.99 at probability 0.5, with a
// model trained on the data without its labels.
func TestFEBRL4(t *testing.T) {
	dir := sharedtest.Path(t, "data/linkage/febrl")
	d, err := LoadFEBRL4(filepath.Join(dir, "dataset4a.csv"), filepath.Join(dir, "dataset4b.csv"))
	if err != nil {
		t.Fatal(err)
	}
	p := Prepare(d, 500)
	m, _, err := p.Train(matcher.StartingModel(), 100000, 1)
	if err != nil {
		t.Fatal(err)
	}
	met := p.Evaluate(m, 0)
	t.Logf("match F1 %.4f (precision %.4f, recall %.4f); auto-link precision %.4f", met.MatchF1(), met.MatchPrecision(), met.MatchRecall(), met.Precision())
	if met.MatchF1() < 0.99 {
		t.Errorf("FEBRL 4 F1 %.4f < 0.99", met.MatchF1())
	}
	if met.Precision() < 0.999 {
		t.Errorf("FEBRL 4 auto-link precision %.4f < 0.999", met.Precision())
	}
}
