package matcher

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
)

// Pair is a candidate pair of record indexes in a PairSet, I < J.
type Pair struct{ I, J int32 }

// PairSet is a population of prepared records with the candidate pairs the
// blocking keys yield: what Fit learns from and Calibrate counts over. It is
// the production home of the training pass (the patient index fits its
// model on a feed's own records at first load); the evaluation package
// builds on it.
type PairSet struct {
	Recs []*Prepared // nil for a record Prepare refused
	// Side, when set, gives each record's file in a linkage of two files:
	// pairs within one file are then never candidates (FEBRL 4's setting).
	// nil for a deduplication, the patient index's setting.
	Side    []int8
	Refused int // records that are nil in Recs
	// Freq counts the set's own names, for the term-frequency adjustment.
	Freq  *FrequencyTable
	Pairs []Pair // distinct candidate pairs, all rules together, sorted
	// Shared is, for each pair of Pairs, how many blocking rules its two
	// records share a key of (255 for a shared INS, which alone suffices):
	// the patient index scores only pairs sharing several (see
	// IndexCompared).
	Shared   []uint8
	Blocks   map[string][]Pair // candidate pairs per blocking rule
	MaxBlock int               // records in a block above which it is skipped
}

// NewPairSet blocks recs with the blocking keys. Blocks larger than maxBlock
// records are skipped (a key shared by that many records says little and
// would dominate the cost). side may be nil (see PairSet.Side).
func NewPairSet(recs []*Prepared, side []int8, maxBlock int) *PairSet {
	p := &PairSet{Recs: recs, Side: side, Freq: NewFrequencyTable(), Blocks: map[string][]Pair{}, MaxBlock: maxBlock}
	index := map[BlockingKey][]int32{}
	for i, r := range recs {
		if r == nil {
			p.Refused++
			continue
		}
		p.Freq.Add(r)
		for _, k := range BlockingKeys(r) {
			index[k] = append(index[k], int32(i))
		}
	}
	seen := map[Pair]uint8{}
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
				if side != nil && side[i] == side[j] {
					continue
				}
				pr := Pair{i, j}
				if perRule[k.Rule][pr] {
					continue // two keys of one rule are one trait (see RulesOf)
				}
				perRule[k.Rule][pr] = true
				p.Blocks[k.Rule] = append(p.Blocks[k.Rule], pr)
				n, ok := seen[pr]
				if !ok {
					p.Pairs = append(p.Pairs, pr)
				}
				switch {
				case k.Rule == BlockINS:
					seen[pr] = 255
				case n < 254:
					seen[pr] = n + 1
				}
			}
		}
	}
	slices.SortFunc(p.Pairs, func(a, b Pair) int {
		if a.I != b.I {
			return int(a.I - b.I)
		}
		return int(a.J - b.J)
	})
	p.Shared = make([]uint8, len(p.Pairs))
	for k, pr := range p.Pairs {
		p.Shared[k] = seen[pr]
	}
	// Map iteration made each rule's order random: sort, so that training
	// is reproducible.
	for _, ps := range p.Blocks {
		slices.SortFunc(ps, func(a, b Pair) int {
			if a.I != b.I {
				return int(a.I - b.I)
			}
			return int(a.J - b.J)
		})
	}
	return p
}

// IndexCompared reports whether the patient index would score the k-th
// pair: its records share keys of at least minShared blocking rules, or an
// INS.
func (p *PairSet) IndexCompared(k, minShared int) bool {
	return int(p.Shared[k]) >= minShared
}

// parallel runs fn over [0, n) in as many contiguous parts as there are
// processors, and waits.
func parallel(n int, fn func(lo, hi int)) {
	parts := min(runtime.GOMAXPROCS(0), max(1, n/1024))
	var wg sync.WaitGroup
	for i := range parts {
		lo, hi := n*i/parts, n*(i+1)/parts
		wg.Go(func() { fn(lo, hi) })
	}
	wg.Wait()
}

// Valid is the number of records Prepare accepted.
func (p *PairSet) Valid() int { return len(p.Recs) - p.Refused }

// Fit estimates a model on the set without labels: u from randomPairs
// random pairs, m by EM per training blocking rule (see Train), then the
// prior from the expected number of matches among the candidate pairs
// (see FitPrior). start gives the starting values and whatever the set
// cannot estimate. seed makes the random pairs reproducible.
func (p *PairSet) Fit(start *Model, randomPairs int, seed uint64) (*Model, TrainReport, error) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var valid []int32
	for i, r := range p.Recs {
		if r != nil {
			valid = append(valid, int32(i))
		}
	}
	random := make([]Levels, 0, randomPairs)
	for tries := 0; len(random) < randomPairs && len(valid) > 1 && tries < 4*randomPairs; tries++ {
		i, j := valid[rng.IntN(len(valid))], valid[rng.IntN(len(valid))]
		if i == j || (p.Side != nil && p.Side[i] == p.Side[j]) {
			continue
		}
		random = append(random, Compare(p.Recs[i], p.Recs[j]).Levels)
	}
	var blocks []Block
	for _, rule := range TrainingRules {
		pairs := p.Blocks[rule]
		if len(pairs) == 0 {
			continue
		}
		b := Block{Name: rule, Fields: BlockFields(rule), Pairs: make([]Levels, len(pairs)), Records: distinctRecords(pairs, len(p.Recs))}
		parallel(len(pairs), func(lo, hi int) {
			for k := lo; k < hi; k++ {
				b.Pairs[k] = Compare(p.Recs[pairs[k].I], p.Recs[pairs[k].J]).Levels
			}
		})
		blocks = append(blocks, b)
	}
	m, rep, err := Train(start, random, blocks)
	if err != nil {
		return nil, rep, err
	}
	return p.FitPrior(m), rep, nil
}

// FitPrior sets the model's population to this set and estimates how many
// other records of the same person a record has, from the expected number
// of matches among the candidate pairs sharing two blocking keys or an INS
// (EstimateMatchesPerRecord). In a
// linkage of two files each record is compared with the other file only.
func (p *PairSet) FitPrior(m *Model) *Model {
	n := p.Valid()
	if p.Side != nil {
		n /= 2
	}
	m = m.WithPopulation(n)
	// Pairs sharing a single blocking key are most of the candidates and
	// hardly ever matches: they would cost most of the fit and change the
	// expected number of matches by little.
	var pairs []Pair
	for k, pr := range p.Pairs {
		if p.IndexCompared(k, 2) {
			pairs = append(pairs, pr)
		}
	}
	weights := make([]float64, len(pairs))
	parallel(len(pairs), func(lo, hi int) {
		for k := lo; k < hi; k++ {
			c := Compare(p.Recs[pairs[k].I], p.Recs[pairs[k].J])
			weights[k] = m.Score(&c, p.Freq).Weight
		}
	})
	m.MatchesPerRecord = EstimateMatchesPerRecord(weights, p.Valid(), n, m.MatchesPerRecord)
	return m
}

// distinctRecords counts the records of n that pairs join.
func distinctRecords(pairs []Pair, n int) int {
	seen := make([]bool, n)
	count := 0
	for _, pr := range pairs {
		for _, i := range [2]int32{pr.I, pr.J} {
			if !seen[i] {
				seen[i] = true
				count++
			}
		}
	}
	return count
}
