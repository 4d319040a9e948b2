package matcher

import (
	"fmt"
	"math"
	"slices"
)

// Calibration targets (see PairSet.Calibrate).
const (
	// DefaultTargetPrecision is the expected precision of automatic links
	// the auto-link threshold is set for: one expected false link in
	// 100,000. The expectation assumes, as the model does, that fields err
	// independently; members of one household, and errors that come
	// together, break that, and the model then underestimates its false
	// links: on the census populations (package census) a target of
	// 0.9995 gave a measured precision of 0.9967-0.9984 and 0.99995 gave
	// 0.9984-0.9998, while 0.99999 gave 0.9997-1.
	DefaultTargetPrecision = 0.99999
	// DefaultMaxReview is the largest share of records the review band may
	// send to identity-vigilance staff.
	DefaultMaxReview = 0.02
	// MinAutoLink and MaxAutoLink bound the calibrated auto-link
	// threshold: a pair less likely a match than not is never linked
	// without a person, and a threshold of 1 would link nothing.
	MinAutoLink = 0.5
	MaxAutoLink = 0.999999
	// MinReview is the lowest review threshold: a pair less likely a match
	// than not is not worth a person's time, and every candidate identity
	// above the review threshold competes with the best one (see the
	// patient index's margin), so a low band would cost automatic links.
	MinReview = 0.5
	// ReviewBudgetShare is the share of the review budget the band's
	// pairs may take. The replay of pairs cannot see all the index does:
	// it opens one review per candidate identity, not per pair, and holds
	// back records by household and twin rules that need the index (two
	// twins already filed, a home's other members). On the census with
	// doubled errors the band sized for 1.99 % of records gave 2.10 % in
	// the index, for 1.80 % gave 2.03 %, for 1.60 % gave 1.92 % (recall
	// 0.9109 -> 0.9103): a fifth of the budget is kept for those reviews.
	ReviewBudgetShare = 0.8
)

// Calibration is what PairSet.Calibrate estimated: the thresholds it chose
// and what the model expects of them, from its own posterior match
// probabilities over the candidate pairs (no labels). Expected figures are
// pairwise over the candidate pairs: true pairs the blocking never
// compares are not in them.
type Calibration struct {
	TargetPrecision float64
	MaxReview       float64 // largest share of records in review
	Records         int
	Candidates      int
	AutoLink        float64
	Review          float64
	// ExpectedMatches is the sum of the posteriors over all candidate
	// pairs: the model's estimate of the true pairs among them.
	ExpectedMatches float64
	// Linked is the number of candidate pairs at or above AutoLink that no
	// rule holds back; ExpectedFalse the sum of (1 - posterior) over them.
	Linked        int
	ExpectedFalse float64
	// ReviewPairs is the number of candidate pairs the review band (or a
	// rule holding back a pair above it) puts to a person.
	ReviewPairs int
}

// ExpectedPrecision is the model's expected precision of its automatic
// links: 1 - expected false links / links.
func (c Calibration) ExpectedPrecision() float64 {
	if c.Linked == 0 {
		return 1
	}
	return 1 - c.ExpectedFalse/float64(c.Linked)
}

// ExpectedRecall is the model's expected share of the matches among the
// candidate pairs that are linked automatically.
func (c Calibration) ExpectedRecall() float64 {
	if c.ExpectedMatches == 0 {
		return 0
	}
	return (float64(c.Linked) - c.ExpectedFalse) / c.ExpectedMatches
}

// ReviewShare is the expected review load as a share of records (pairs
// put to a person per record: an upper bound, as one review may cover
// several pairs).
func (c Calibration) ReviewShare() float64 {
	if c.Records == 0 {
		return 0
	}
	return float64(c.ReviewPairs) / float64(c.Records)
}

func (c Calibration) String() string {
	return fmt.Sprintf("thresholds from calibration over %d candidate pairs of %d records: auto-link at p >= %.6f (expected precision %.5f, target %.5f; expected recall %.4f of %.0f expected matches), review at p >= %.4f (%d pairs, %.2f %% of records, limit %.2f %%)\n",
		c.Candidates, c.Records, c.AutoLink, c.ExpectedPrecision(), c.TargetPrecision, c.ExpectedRecall(), c.ExpectedMatches,
		c.Review, c.ReviewPairs, 100*c.ReviewShare(), 100*c.MaxReview)
}

// ScoredPair is one candidate pair as calibration sees it.
type ScoredPair struct {
	// P is the model's posterior match probability, before the hard rules.
	P float64
	// Eligible is false when a hard rule forbids linking the pair without
	// a person whatever its probability.
	Eligible bool
}

// ChooseAutoLink returns the lowest auto-link threshold at which the
// eligible pairs at or above it have an expected precision (mean
// posterior) of at least target, within [MinAutoLink, MaxAutoLink], and
// what it expects of them. Sorted by decreasing posterior, the running
// mean of (1 - p) only grows, so the threshold is the posterior of the
// last pair that keeps it within 1 - target.
func ChooseAutoLink(pairs []ScoredPair, target float64) (threshold float64, linked int, expectedFalse float64) {
	var ps []float64
	for _, p := range pairs {
		if p.Eligible && p.P >= MinAutoLink {
			ps = append(ps, p.P)
		}
	}
	slices.SortFunc(ps, func(a, b float64) int {
		switch {
		case a > b:
			return -1
		case a < b:
			return 1
		}
		return 0
	})
	threshold = MaxAutoLink
	fp := 0.0
	for k, p := range ps {
		if (fp+1-p)/float64(k+1) > 1-target {
			if p == threshold {
				// A tie with the pairs kept: the threshold cannot part
				// them, so it moves above all of them (a shorter prefix
				// has a lower mean).
				threshold = math.Nextafter(p, 2)
			}
			break
		}
		fp += 1 - p
		threshold = p
	}
	threshold = math.Min(math.Max(threshold, MinAutoLink), MaxAutoLink)
	// Count what the threshold links (ties and the clamp included).
	linked, expectedFalse = 0, 0
	for _, p := range ps {
		if p >= threshold {
			linked++
			expectedFalse += 1 - p
		}
	}
	return threshold, linked, expectedFalse
}

// ChooseReview returns the lowest review threshold, within [MinReview,
// HeldProbability(autoLink)], at which at most budget pairs are put to a person, given the
// probabilities after the hard rules of the pairs not linked
// automatically (held lists them), and how many pairs it puts to review.
func ChooseReview(held []float64, budget int, autoLink float64) (threshold float64, pairs int) {
	qs := slices.Clone(held)
	slices.SortFunc(qs, func(a, b float64) int {
		switch {
		case a > b:
			return -1
		case a < b:
			return 1
		}
		return 0
	})
	threshold = MinReview
	n := 0
	for _, q := range qs {
		if q >= MinReview {
			n++
		}
	}
	if n > budget {
		// The band starts just above the first pair that would exceed
		// the budget.
		threshold = math.Nextafter(qs[budget], 2)
	}
	// The pairs a rule holds back for a person sit just under the
	// auto-link threshold: the band always reaches them, whatever the
	// budget, since nobody else will ever look at them.
	threshold = math.Min(threshold, HeldProbability(autoLink))
	pairs = 0
	for _, q := range qs {
		if q >= threshold {
			pairs++
		}
	}
	return threshold, pairs
}

// Calibrate sets the model's thresholds from its own posteriors over the
// set's candidate pairs: automatic links where the expected precision
// reaches targetPrecision, never below m's own auto-link threshold, a review band holding at most maxReview of the
// records. Only the pairs the patient index scores count (those sharing
// minShared blocking keys or an INS, see PairSet.IndexCompared). m should
// carry the prior the index will score with (see Model.WithPopulation).
// It returns a copy of m; m is not changed.
func (p *PairSet) Calibrate(m *Model, minShared int, targetPrecision, maxReview float64) (*Model, Calibration) {
	cal := Calibration{TargetPrecision: targetPrecision, MaxReview: maxReview, Records: p.Valid()}
	var pairs []Pair
	for k, pr := range p.Pairs {
		if p.IndexCompared(k, minShared) {
			pairs = append(pairs, pr)
		}
	}
	cal.Candidates = len(pairs)
	// First pass: the posteriors, and which pairs a rule holds back
	// whatever their probability (thresholds at their lowest).
	open := *m
	open.AutoLink, open.Review = 1e-12, 1e-12
	scored := make([]ScoredPair, len(pairs))
	parallel(len(pairs), func(lo, hi int) {
		for k := lo; k < hi; k++ {
			c := Compare(p.Recs[pairs[k].I], p.Recs[pairs[k].J])
			s := open.Score(&c, p.Freq)
			scored[k] = ScoredPair{P: probability(s.Weight + s.Prior), Eligible: s.AutoLink}
		}
	})
	for _, sp := range scored {
		cal.ExpectedMatches += sp.P
	}
	cal.AutoLink, cal.Linked, cal.ExpectedFalse = ChooseAutoLink(scored, targetPrecision)
	// The posteriors are the model's own, and they grow overconfident with
	// the size of the index: at a million generated records a threshold of
	// 0.9973 expected a precision of 0.99999 and gave 0.99844 (homonyms of
	// common names, chains of links). Calibration may make automatic links
	// stricter than m's threshold, never looser.
	if cal.AutoLink < m.AutoLink {
		cal.AutoLink, cal.Linked, cal.ExpectedFalse = m.AutoLink, 0, 0
		for _, sp := range scored {
			if sp.Eligible && sp.P >= cal.AutoLink {
				cal.Linked++
				cal.ExpectedFalse += 1 - sp.P
			}
		}
	}
	// Second pass: with that threshold, the probabilities after the rules
	// of the pairs not linked (the rules cap them relative to it). Only
	// pairs that can reach the review band are scored again.
	atT := *m
	atT.AutoLink, atT.Review = cal.AutoLink, 1e-12
	var held []float64
	for k, sp := range scored {
		if sp.P < MinReview && sp.Eligible {
			continue // below the band, and no rule raises an eligible pair
		}
		c := Compare(p.Recs[pairs[k].I], p.Recs[pairs[k].J])
		if s := atT.Score(&c, p.Freq); !s.AutoLink {
			held = append(held, s.Probability)
		}
	}
	budget := int(maxReview * ReviewBudgetShare * float64(cal.Records))
	cal.Review, cal.ReviewPairs = ChooseReview(held, budget, cal.AutoLink)
	out := *m
	out.AutoLink, out.Review = cal.AutoLink, cal.Review
	return &out, cal
}
