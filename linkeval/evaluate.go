package linkeval

import (
	"fmt"
	"sort"
	"strings"

	"vigie/matcher"
)

// Prepared is a data set after matcher.Prepare, with the candidate pairs a
// blocking yields (matcher.PairSet, where the training pass lives).
type Prepared struct {
	*matcher.PairSet
	Data *Dataset
}

// Pair is a candidate pair of record indexes, I < J.
type Pair = matcher.Pair

// Prepare prepares every record and blocks the set with matcher's blocking
// keys. Blocks larger than maxBlock records are skipped (a key shared by
// that many records says little and would dominate the cost).
func Prepare(d *Dataset, maxBlock int) *Prepared {
	recs := make([]*matcher.Prepared, len(d.Records))
	for i := range d.Records {
		if r, err := matcher.Prepare(&d.Records[i]); err == nil {
			recs[i] = r
		}
	}
	var side []int8
	if d.Link {
		side = d.Side
	}
	return &Prepared{PairSet: matcher.NewPairSet(recs, side, maxBlock), Data: d}
}

// Train fits a model on the data set without looking at its labels (see
// matcher.PairSet.Fit).
func (p *Prepared) Train(start *matcher.Model, randomPairs int, seed uint64) (*matcher.Model, matcher.TrainReport, error) {
	return p.Fit(start, randomPairs, seed)
}

// Metrics are pairwise accuracy figures at the model's thresholds.
type Metrics struct {
	TruePairs    int // all pairs of the same person in the data
	Candidates   int // pairs the blocking yields
	TrueInBlocks int // true pairs among the candidates (the blocking's recall)
	Linked       int // pairs the scorer would link automatically
	TP, FP       int
	// MatchTP and MatchFP count the pairs classified as matches at
	// probability ≥ 0.5, the decision that weighs a false link and a missed
	// one equally (what F1 measures); auto-link is the stricter policy.
	MatchTP, MatchFP int
	Review           int // pairs between the thresholds (or held back by a rule)
	ReviewTrue       int
	Rules            map[string]int
	FalseExamples    []string // a few false links, explained
}

// Precision of the automatic links.
func (m Metrics) Precision() float64 { return ratio(m.TP, m.TP+m.FP) }

// Recall of the automatic links over every true pair.
func (m Metrics) Recall() float64 { return ratio(m.TP, m.TruePairs) }

// F1 is the harmonic mean of precision and recall of the automatic links.
func (m Metrics) F1() float64 { return f1(m.Precision(), m.Recall()) }

// MatchPrecision, MatchRecall and MatchF1 measure the classification at
// probability ≥ 0.5.
func (m Metrics) MatchPrecision() float64 { return ratio(m.MatchTP, m.MatchTP+m.MatchFP) }

// MatchRecall is the recall at probability ≥ 0.5.
func (m Metrics) MatchRecall() float64 { return ratio(m.MatchTP, m.TruePairs) }

// MatchF1 is the F1 at probability ≥ 0.5.
func (m Metrics) MatchF1() float64 { return f1(m.MatchPrecision(), m.MatchRecall()) }

func f1(p, r float64) float64 {
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Evaluate scores every candidate pair with the model and counts.
func (p *Prepared) Evaluate(m *matcher.Model, examples int) Metrics {
	out := Metrics{TruePairs: p.Data.TruePairs(), Candidates: len(p.Pairs), Rules: map[string]int{}}
	for _, pr := range p.Pairs {
		same := p.Data.Entity[pr.I] == p.Data.Entity[pr.J]
		if same {
			out.TrueInBlocks++
		}
		c := matcher.Compare(p.Recs[pr.I], p.Recs[pr.J])
		s := m.Score(&c, p.Freq)
		for _, r := range s.Rules {
			out.Rules[r.Code]++
		}
		if s.Probability >= 0.5 {
			if same {
				out.MatchTP++
			} else {
				out.MatchFP++
			}
		}
		switch {
		case s.AutoLink:
			out.Linked++
			if same {
				out.TP++
			} else {
				out.FP++
				if len(out.FalseExamples) < examples {
					out.FalseExamples = append(out.FalseExamples, s.Table())
				}
			}
		case s.Probability >= m.Review:
			out.Review++
			if same {
				out.ReviewTrue++
			}
		}
	}
	return out
}

// Report renders metrics for the bench verb.
func (m Metrics) Report(name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d true pairs, %d candidate pairs (blocking recall %.4f)\n", name, m.TruePairs, m.Candidates, ratio(m.TrueInBlocks, m.TruePairs))
	fmt.Fprintf(&b, "  auto-link: %d pairs, precision %.4f, recall %.4f, F1 %.4f (TP %d, FP %d, FN %d)\n",
		m.Linked, m.Precision(), m.Recall(), m.F1(), m.TP, m.FP, m.TruePairs-m.TP)
	fmt.Fprintf(&b, "  match (p >= 0.5): precision %.4f, recall %.4f, F1 %.4f (TP %d, FP %d)\n",
		m.MatchPrecision(), m.MatchRecall(), m.MatchF1(), m.MatchTP, m.MatchFP)
	fmt.Fprintf(&b, "  review band: %d pairs (%d true)\n", m.Review, m.ReviewTrue)
	if len(m.Rules) > 0 {
		var rs []string
		for k, v := range m.Rules {
			rs = append(rs, fmt.Sprintf("%s=%d", k, v))
		}
		sort.Strings(rs)
		fmt.Fprintf(&b, "  rules fired: %s\n", strings.Join(rs, " "))
	}
	return b.String()
}
