package matcher

import (
	"math"
	"testing"

	"vigie"
)

// The auto-link threshold is the lowest posterior at which the mean of
// (1 - p) over the eligible pairs above it stays within 1 - target.
func TestChooseAutoLink(t *testing.T) {
	pairs := []ScoredPair{
		{P: 0.9999, Eligible: true}, {P: 0.999, Eligible: true}, {P: 0.99, Eligible: true},
		{P: 0.9, Eligible: true}, {P: 0.6, Eligible: true},
		{P: 0.4, Eligible: true},      // under MinAutoLink: never linked
		{P: 0.99999, Eligible: false}, // a rule holds it back: not counted
	}
	for _, tc := range []struct {
		name      string
		target    float64
		threshold float64
		linked    int
		expFalse  float64
	}{
		// 0.0001, 0.0011/2, 0.0111/3 = 0.0037 within 0.005; 0.1111/4 beyond.
		{"three pairs", 0.995, 0.99, 3, 0.0111},
		{"one pair", 0.9998, 0.9999, 1, 0.0001},
		// 0.1111/4 = 0.028 within 0.1; 0.5111/5 = 0.102 beyond.
		{"four pairs", 0.9, 0.9, 4, 0.1111},
		{"every eligible pair", 0.5, 0.6, 5, 0.5111},
		{"none reaches the target", 0.99999999, MaxAutoLink, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			th, linked, fp := ChooseAutoLink(pairs, tc.target)
			if th != tc.threshold || linked != tc.linked || math.Abs(fp-tc.expFalse) > 1e-9 {
				t.Errorf("target %g: threshold %g, %d linked, %.6f expected false; want %g, %d, %.6f", tc.target, th, linked, fp, tc.threshold, tc.linked, tc.expFalse)
			}
		})
	}
}

// Pairs of one posterior are linked or left together: a threshold at a
// tie that breaks the target moves above it.
func TestChooseAutoLinkTies(t *testing.T) {
	pairs := []ScoredPair{{P: 0.999, Eligible: true}, {P: 0.99, Eligible: true}, {P: 0.99, Eligible: true}}
	// 0.001, 0.011/2 = 0.0055 within 0.006; 0.021/3 = 0.007 beyond: the
	// second 0.99 breaks the target, so neither is linked.
	th, linked, fp := ChooseAutoLink(pairs, 0.994)
	if linked != 1 || th <= 0.99 || th > 0.999 || math.Abs(fp-0.001) > 1e-12 {
		t.Errorf("threshold %g linking %d (%.4f expected false), want one pair linked, threshold in (0.99, 0.999]", th, linked, fp)
	}
}

// The review band holds at most the budget of pairs, never starts under
// MinReview nor above the level where rules hold pairs for a person.
func TestChooseReview(t *testing.T) {
	held := []float64{0.6, 0.998, 0.3, 0.95, 0.7, 0.9}
	for _, tc := range []struct {
		name     string
		budget   int
		autoLink float64
		pairs    int
		lo, hi   float64 // the threshold's bounds
	}{
		{"budget above the pairs", 10, 0.999, 5, MinReview, MinReview},
		{"budget of two", 2, 0.999, 2, 0.9, 0.95},
		{"no review at all", 0, 0.999, 0, 0.998, 0.999},
		{"auto-link at the floor", 10, 0.5, 5, 0.5 * HeldBelowAutoLink, 0.5 * HeldBelowAutoLink},
		// Over the budget, the pairs a rule holds just under the auto-link
		// threshold are still put to a person.
		{"held pairs over the budget", 0, 0.9985, 1, 0.9985*HeldBelowAutoLink - 1e-9, 0.9985 * HeldBelowAutoLink},
	} {
		t.Run(tc.name, func(t *testing.T) {
			th, n := ChooseReview(held, tc.budget, tc.autoLink)
			if n != tc.pairs || th <= tc.lo && tc.lo != tc.hi || th > tc.hi || tc.lo == tc.hi && th != tc.lo {
				t.Errorf("budget %d: threshold %g with %d pairs; want %d pairs, threshold in (%g, %g]", tc.budget, th, n, tc.pairs, tc.lo, tc.hi)
			}
		})
	}
}

// Expected precision, recall and review share from the counts.
func TestCalibrationArithmetic(t *testing.T) {
	for _, tc := range []struct {
		name              string
		c                 Calibration
		prec, rec, review float64
	}{
		{"three links", Calibration{Records: 100, Linked: 3, ExpectedFalse: 0.0111, ExpectedMatches: 4.5, ReviewPairs: 2}, 1 - 0.0037, (3 - 0.0111) / 4.5, 0.02},
		{"nothing linked", Calibration{Records: 0, ExpectedMatches: 2}, 1, 0, 0},
		{"no match expected", Calibration{Records: 10}, 1, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if p, r, v := tc.c.ExpectedPrecision(), tc.c.ExpectedRecall(), tc.c.ReviewShare(); math.Abs(p-tc.prec) > 1e-9 || math.Abs(r-tc.rec) > 1e-9 || math.Abs(v-tc.review) > 1e-9 {
				t.Errorf("precision %g, recall %g, review %g; want %g, %g, %g", p, r, v, tc.prec, tc.rec, tc.review)
			}
		})
	}
}

// Calibration may make automatic links stricter than the model's own
// threshold, never looser: its posteriors grow overconfident with the
// size of the index.
func TestCalibrateNeverBelowTheModelsThreshold(t *testing.T) {
	var recs []*Prepared
	for i, fn := range []string{"PAUL", "PAUL", "MARIE", "MARIE", "JEAN", "JEAN"} {
		recs = append(recs, prep(t, vigie.Record{LocalID: string(rune('A' + i)), BirthName: "DURANDEAU", FirstName: fn, BirthDate: "1960-0" + string(rune('1'+i/2)) + "-12", Sex: "M"}))
	}
	set := NewPairSet(recs, nil, 100)
	for _, floor := range []float64{0.5, 0.9999999} {
		m := DefaultModel().WithPopulation(1000)
		m.AutoLink = floor
		out, cal := set.Calibrate(m, 1, 0.9, 0.5)
		if out.AutoLink < floor || cal.AutoLink != out.AutoLink {
			t.Errorf("model threshold %g: calibrated %g (calibration says %g), want at least the model's", floor, out.AutoLink, cal.AutoLink)
		}
		for _, p := range []struct{ i, j int }{{0, 1}} {
			c := Compare(recs[p.i], recs[p.j])
			s := m.Score(&c, set.Freq)
			if linked := s.Probability >= out.AutoLink; floor > 0.99 && linked && s.Probability < floor {
				t.Errorf("a pair at %g is linked under the model's threshold %g", s.Probability, floor)
			}
		}
	}
}
