package linkeval

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"

	"vigie/matcher"
)

// Prepared is a data set after matcher.Prepare, with the candidate pairs a
// blocking yields.
type Prepared struct {
	Data     *Dataset
	Recs     []*matcher.Prepared // nil for a record Prepare refused
	Refused  int                 // records Prepare refused (counted as unmatched)
	Freq     *matcher.FrequencyTable
	Pairs    []Pair            // distinct candidate pairs, all rules together
	Blocks   map[string][]Pair // candidate pairs per blocking rule
	MaxBlock int               // records in a block above which it is skipped
}

// Pair is a candidate pair of record indexes, I < J.
type Pair struct{ I, J int32 }

// Prepare prepares every record and blocks the set with matcher's blocking
// keys. Blocks larger than maxBlock records are skipped (a key shared by
// that many records says little and would dominate the cost).
func Prepare(d *Dataset, maxBlock int) *Prepared {
	p := &Prepared{Data: d, Recs: make([]*matcher.Prepared, len(d.Records)), Freq: matcher.NewFrequencyTable(), Blocks: map[string][]Pair{}, MaxBlock: maxBlock}
	index := map[matcher.BlockingKey][]int32{}
	for i := range d.Records {
		r, err := matcher.Prepare(&d.Records[i])
		if err != nil {
			p.Refused++
			continue
		}
		p.Recs[i] = r
		p.Freq.Add(r)
		for _, k := range matcher.BlockingKeys(r) {
			index[k] = append(index[k], int32(i))
		}
	}
	seen := map[Pair]bool{}
	perRule := map[string]map[Pair]bool{}
	for k, ids := range index {
		if len(ids) < 2 || len(ids) > maxBlock {
			continue
		}
		if perRule[k.Rule] == nil {
			perRule[k.Rule] = map[Pair]bool{}
		}
		for a := 0; a < len(ids); a++ {
			for b := a + 1; b < len(ids); b++ {
				i, j := ids[a], ids[b]
				if i > j {
					i, j = j, i
				}
				if d.Link && d.Side[i] == d.Side[j] {
					continue
				}
				pr := Pair{i, j}
				if !perRule[k.Rule][pr] {
					perRule[k.Rule][pr] = true
					p.Blocks[k.Rule] = append(p.Blocks[k.Rule], pr)
				}
				if !seen[pr] {
					seen[pr] = true
					p.Pairs = append(p.Pairs, pr)
				}
			}
		}
	}
	sort.Slice(p.Pairs, func(a, b int) bool {
		if p.Pairs[a].I != p.Pairs[b].I {
			return p.Pairs[a].I < p.Pairs[b].I
		}
		return p.Pairs[a].J < p.Pairs[b].J
	})
	return p
}

// Train fits a model on the data set without looking at its labels: u from
// random pairs, m by EM per blocking rule, then the prior from the expected
// number of matches among the candidate pairs.
func (p *Prepared) Train(start *matcher.Model, randomPairs int, seed uint64) (*matcher.Model, matcher.TrainReport, error) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var valid []int32
	for i, r := range p.Recs {
		if r != nil {
			valid = append(valid, int32(i))
		}
	}
	random := make([]matcher.Levels, 0, randomPairs)
	for len(random) < randomPairs && len(valid) > 1 {
		i, j := valid[rng.IntN(len(valid))], valid[rng.IntN(len(valid))]
		if i == j || (p.Data.Link && p.Data.Side[i] == p.Data.Side[j]) {
			continue
		}
		random = append(random, matcher.Compare(p.Recs[i], p.Recs[j]).Levels)
	}
	var blocks []matcher.Block
	for _, rule := range matcher.TrainingRules {
		pairs := p.Blocks[rule]
		if len(pairs) == 0 {
			continue
		}
		b := matcher.Block{Name: rule, Fields: matcher.BlockFields(rule)}
		for _, pr := range pairs {
			b.Pairs = append(b.Pairs, matcher.Compare(p.Recs[pr.I], p.Recs[pr.J]).Levels)
		}
		blocks = append(blocks, b)
	}
	m, rep, err := matcher.Train(start, random, blocks)
	if err != nil {
		return nil, rep, err
	}
	m = p.fitPrior(m)
	return m, rep, nil
}

// fitPrior sets the model's population to this data set and estimates how
// many matches a record has from the expected number of matches among the
// candidate pairs, iterating to a fixed point.
func (p *Prepared) fitPrior(m *matcher.Model) *matcher.Model {
	n := len(p.Recs) - p.Refused
	if p.Data.Link {
		n /= 2 // each record is compared with the other file only
	}
	m = m.WithPopulation(n)
	weights := make([]float64, len(p.Pairs))
	for k, pr := range p.Pairs {
		c := matcher.Compare(p.Recs[pr.I], p.Recs[pr.J])
		weights[k] = m.Score(&c, p.Freq).Weight
	}
	m.MatchesPerRecord = matcher.EstimateMatchesPerRecord(weights, len(p.Recs)-p.Refused, n, m.MatchesPerRecord)
	return m
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
