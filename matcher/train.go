package matcher

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"vigie"
)

// GuardMaxM is the largest m of a "different" level for which training
// turns the corresponding homonym guard on (see Model.FirstNameGuard).
const GuardMaxM = 0.05

// MinGuardPairs is the number of INS-sharing candidate pairs from which
// their block alone decides the homonym guards.
const MinGuardPairs = 200

// Levels is a comparison reduced to its per-field levels: all that training
// needs of a pair.
type Levels = [NumFields]Level

// Block is the set of candidate pairs one blocking rule yields, for the
// expectation-maximisation of m. The fields the rule itself compared (Fields)
// agree by construction in these pairs, so their m is not estimated from
// this block and they are left out of its likelihood.
type Block struct {
	Name   string
	Fields []Field
	Pairs  []Levels
	// Records is the number of distinct records the pairs join (0:
	// unknown). It bounds the matches EM may find in the block (see
	// MaxMatchesPerRecord).
	Records int
}

// MaxMatchesPerRecord bounds the matches EM may find in a block: at most
// this many per record the block's pairs join (five records of every
// person, all in the block, give two). A block of common first names and
// birth years in a million records joins each record to dozens of others;
// unbounded, EM took nearly all of them for matches (a share of 0.97: 14
// per record), the matches of every other block were outweighed, and m
// came out as the profile of namesakes, not of one person.
const MaxMatchesPerRecord = 2.0

// TrainReport says what training estimated and from what.
type TrainReport struct {
	RandomPairs int
	Blocks      []BlockReport
	// Guarded lists the levels whose fitted m fell below u and were raised
	// to it, so that agreeing never counts against a match.
	Guarded []string
	// Guards say how the homonym guards were set and from what.
	Guards []string
	// RandomMatches is the share of the random pairs estimated to be
	// matches, set aside when estimating u (see uWithoutMatches).
	RandomMatches float64
}

// BlockReport is the outcome of EM on one block.
type BlockReport struct {
	Name       string
	Pairs      int
	Iterations int
	Lambda     float64 // fitted share of matches among the block's pairs
	Bounded    bool    // the share reached MaxMatchesPerRecord's bound: m not taken from the block
}

func (r TrainReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "u estimated from %d random pairs (%.5f %% of them estimated matches, set aside)\n", r.RandomPairs, 100*r.RandomMatches)
	for _, bl := range r.Blocks {
		if bl.Bounded {
			fmt.Fprintf(&b, "block %-28s %8d pairs, %3d iterations, share of matches %.4f at its bound (%g per record): not used for m\n", bl.Name, bl.Pairs, bl.Iterations, bl.Lambda, MaxMatchesPerRecord)
			continue
		}
		fmt.Fprintf(&b, "m from block %-22s %8d pairs, %3d iterations, share of matches %.4f\n", bl.Name, bl.Pairs, bl.Iterations, bl.Lambda)
	}
	if len(r.Guarded) > 0 {
		fmt.Fprintf(&b, "raised to u (agreement never counts against): %s\n", strings.Join(r.Guarded, ", "))
	}
	for _, g := range r.Guards {
		fmt.Fprintf(&b, "guard %s\n", g)
	}
	return b.String()
}

// Train estimates a model without labels, as Splink and fastLink do: u from
// random pairs (nearly all non-matches), then m by expectation-maximisation
// over each block of candidate pairs with u held fixed, each field's m taken
// from the blocks whose rule did not use that field. Agreement levels whose
// m falls below u are raised to u: on data where every candidate agrees on a
// field (heavy homonymy) EM would otherwise learn that agreeing is evidence
// against a match. start gives the thresholds, the prior and the m of any
// field no block could estimate.
func Train(start *Model, random []Levels, blocks []Block) (*Model, TrainReport, error) {
	var rep TrainReport
	if len(random) < 1000 {
		return nil, rep, vigie.Invalid("random", "%d random pairs: at least 1000 are needed to estimate u", len(random))
	}
	out := *start
	out.Fields = map[string]FieldParams{}
	rep.RandomPairs = len(random)

	var u [NumFields][]float64
	for f := Field(0); f < NumFields; f++ {
		counts := make([]float64, f.NumLevels())
		n := 0.0
		for i := range random {
			if l := random[i][f]; l != Null {
				counts[l]++
				n++
			}
		}
		u[f] = make([]float64, len(counts))
		if n == 0 { // the field is never filled in: keep the starting values
			copy(u[f], start.params[f].U)
			continue
		}
		for l := range counts {
			u[f][l] = (counts[l] + 0.5) / (n + 0.5*float64(len(counts)))
		}
	}

	// m from the blocks with u fixed; then u again from the random pairs
	// with the matches among them set aside (see uWithoutMatches), and m
	// once more with that u. On a large index the random pairs hold
	// hardly any match and the second round changes little; on a small or
	// heavily duplicated feed (1,000 records of 250 persons: one random
	// pair in 250 is a match) the matches inflated u of every agreement
	// level many times over and capped the weight of an exact birth date
	// at a few bits.
	m, _, _ := estimateM(start, u, blocks)
	u, rep.RandomMatches = uWithoutMatches(random, m, u)
	m, insM, blockReps := estimateM(start, u, blocks)
	rep.Blocks = blockReps
	for f := Field(0); f < NumFields; f++ {
		mf := m[f]
		// Guard: agreement levels (all but the last, "different") never
		// weigh against a match.
		for l := 0; l < len(mf)-1; l++ {
			if mf[l] < u[f][l] {
				rep.Guarded = append(rep.Guarded, f.String()+"."+f.LevelName(Level(l)))
				mf[l] = u[f][l]
			}
		}
		normalise(mf, 1e-6)
		if err := out.SetParams(f, FieldParams{M: mf, U: u[f]}); err != nil {
			return nil, rep, err
		}
	}
	// The homonym guards hold back pairs whose first names or birth dates
	// differ beyond a slip; they are turned on when the data shows that
	// true matches hardly ever differ that way.
	guardM := func(f Field, l Level) (float64, string) {
		if insM[f] != nil {
			return insM[f][l], "pairs sharing an INS"
		}
		return out.params[f].M[l], "all blocks"
	}
	mf, fromF := guardM(FieldFirstName, NameDifferent)
	md, fromD := guardM(FieldBirthDate, DateDifferent)
	out.FirstNameGuard = mf < GuardMaxM
	out.BirthDateGuard = md < GuardMaxM
	// A feed that carries the INS but shares too few of them to decide (a
	// clinic's thousand records: a dozen pairs) keeps the start model's
	// guards. All the blocks cannot decide there: twins and fathers
	// sharing a home and their names pass in them for true matches that
	// differ (709 records of a population with many households turned
	// both guards off and merged 11 pairs of twins and 7 fathers with
	// their sons), and a dozen INS pairs, one of them a parent's number on
	// a child's record, no more. A feed without any INS (FEBRL, fake_1000)
	// is judged on all its blocks, as before.
	if insM[FieldFirstName] == nil && insPairs(blocks) > 0 {
		out.FirstNameGuard, out.BirthDateGuard = start.FirstNameGuard, start.BirthDateGuard
		fromF = fmt.Sprintf("all blocks; %d pairs sharing an INS, too few to decide: the start model's guard kept", insPairs(blocks))
		fromD = fromF
	}
	for _, g := range []struct {
		f    Field
		l    Level
		m    float64
		from string
		on   bool
	}{{FieldFirstName, NameDifferent, mf, fromF, out.FirstNameGuard}, {FieldBirthDate, DateDifferent, md, fromD, out.BirthDateGuard}} {
		state := "on: such pairs are not even put to review"
		if !g.on {
			state = "off: such pairs go to review"
		}
		rep.Guards = append(rep.Guards, fmt.Sprintf("%s.%s: m = %.4f from %s, guard %s", g.f, g.f.LevelName(g.l), g.m, g.from, state))
	}
	out.Source = fmt.Sprintf("trained without labels: u from %d random pairs, m by EM over %d blocks", len(random), len(rep.Blocks))
	if err := out.index(); err != nil {
		return nil, rep, err
	}
	return &out, rep, nil
}

// insPairs is the number of candidate pairs sharing an INS.
func insPairs(blocks []Block) int {
	for _, bl := range blocks {
		if bl.Name == BlockINS {
			return len(bl.Pairs)
		}
	}
	return 0
}

// estimateM runs EM on every block with u fixed and averages each field's
// m over the blocks weighted by their expected matches (a field no block
// could estimate keeps start's m). insM is the INS block's own estimate
// when that block is large enough to decide the homonym guards.
func estimateM(start *Model, u [NumFields][]float64, blocks []Block) (m, insM [NumFields][]float64, reps []BlockReport) {
	var mSum [NumFields][]float64
	var mW [NumFields]float64
	for f := Field(0); f < NumFields; f++ {
		mSum[f] = make([]float64, f.NumLevels())
	}
	// The guards' evidence: true matches that differ on a core trait look
	// exactly like homonyms (twins, father and son) in any block but one
	// keyed on the national identifier, so that block decides when it is
	// large enough.
	for _, bl := range blocks {
		if len(bl.Pairs) == 0 {
			continue
		}
		bm, lambda, iters, weight := emBlock(start, u, bl)
		if bl.Name == BlockINS && len(bl.Pairs) >= MinGuardPairs {
			insM = bm
		}
		bounded := bl.Records > 0 && lambda >= 0.999*MaxMatchesPerRecord*float64(bl.Records)/float64(len(bl.Pairs))
		reps = append(reps, BlockReport{Name: bl.Name, Pairs: len(bl.Pairs), Iterations: iters, Lambda: lambda, Bounded: bounded})
		if bounded {
			// EM wanted more matches than the block's records can hold:
			// what it calls matches is mostly namesakes, and its m would
			// describe them. The other blocks estimate m.
			continue
		}
		for f := Field(0); f < NumFields; f++ {
			if bm[f] == nil || weight[f] <= 0 {
				continue
			}
			for l := range bm[f] {
				mSum[f][l] += bm[f][l] * weight[f]
			}
			mW[f] += weight[f]
		}
	}
	for f := Field(0); f < NumFields; f++ {
		m[f] = make([]float64, f.NumLevels())
		if mW[f] > 0 {
			for l := range m[f] {
				m[f][l] = mSum[f][l] / mW[f]
			}
		} else {
			copy(m[f], start.params[f].M)
		}
		normalise(m[f], 1e-6)
	}
	return m, insM, reps
}

// maxRandomMatches bounds the share of matches uWithoutMatches may find
// among random pairs: a feed where more than one random pair in 20 is a
// match is not a population, and u would lose its meaning.
const maxRandomMatches = 0.05

// pattern is one agreement pattern and how many pairs show it.
type pattern struct {
	l Levels
	n float64
}

// countPatterns aggregates identical agreement patterns: EM's cost is per
// distinct pattern, not per pair. The order is a map's: callers sum.
func countPatterns(pairs []Levels) []pattern {
	counts := map[Levels]float64{}
	for _, p := range pairs {
		counts[p]++
	}
	pats := make([]pattern, 0, len(counts))
	for l, n := range counts {
		pats = append(pats, pattern{l, n})
	}
	return pats
}

// uWithoutMatches estimates u again from the random pairs, each counted by
// its probability of being a non-match under m and u (m fixed, u and the
// share of matches among the random pairs fitted by EM), and returns it
// with that share. Random pairs are taken as non-matches by the first
// estimate; in a small feed with several records per person they are not
// (1,000 records of 250 persons: one pair in 250), and every agreement
// level's u came out as large as its matches made it.
func uWithoutMatches(random []Levels, m, u0 [NumFields][]float64) ([NumFields][]float64, float64) {
	pats := countPatterns(random)
	var u [NumFields][]float64
	for f := range u {
		u[f] = slices.Clone(u0[f])
	}
	lambda := 1e-4
	total := float64(len(random))
	for range 100 {
		var acc [NumFields][]float64
		for f := Field(0); f < NumFields; f++ {
			acc[f] = make([]float64, f.NumLevels())
		}
		matches := 0.0
		for _, p := range pats {
			lm, lu := math.Log(lambda), math.Log(1-lambda)
			for f := Field(0); f < NumFields; f++ {
				if p.l[f] == Null {
					continue
				}
				lm += math.Log(m[f][p.l[f]])
				lu += math.Log(u[f][p.l[f]])
			}
			g := 1 / (1 + math.Exp(lu-lm))
			matches += g * p.n
			for f := Field(0); f < NumFields; f++ {
				if p.l[f] != Null {
					acc[f][p.l[f]] += (1 - g) * p.n
				}
			}
		}
		next := math.Min(math.Max(matches/total, 1e-9), maxRandomMatches)
		delta := math.Abs(next-lambda) / lambda
		lambda = next
		for f := Field(0); f < NumFields; f++ {
			s := 0.0
			for _, v := range acc[f] {
				s += v
			}
			if s <= 0 {
				continue // never compared: keep the first estimate
			}
			for l := range acc[f] {
				u[f][l] = (acc[f][l] + 0.5) / (s + 0.5*float64(len(acc[f])))
			}
		}
		if delta < 1e-4 {
			break
		}
	}
	return u, lambda
}

// emBlock runs EM on one block. It returns, for each field not used by the
// block's rule, the fitted m and the expected number of matches that saw the
// field (its weight when averaging blocks).
func emBlock(start *Model, u [NumFields][]float64, bl Block) (m [NumFields][]float64, lambda float64, iters int, weight [NumFields]float64) {
	var used [NumFields]bool
	for _, f := range bl.Fields {
		used[f] = true
	}
	pats := countPatterns(bl.Pairs)
	for f := Field(0); f < NumFields; f++ {
		if !used[f] {
			m[f] = append([]float64(nil), start.params[f].M...)
		}
	}
	total := float64(len(bl.Pairs))
	maxLambda := 1 - 1e-9
	if bl.Records > 0 {
		maxLambda = min(maxLambda, MaxMatchesPerRecord*float64(bl.Records)/total)
	}
	lambda = min(0.5, maxLambda)
	for iters = 1; iters <= 200; iters++ {
		var acc [NumFields][]float64
		for f := range acc {
			if m[f] != nil {
				// The start model's m as a prior: PriorMatches pseudo-
				// matches drawn from it, so that a small block (a clinic's
				// thousand records) moves m as far as its own matches
				// carry it and no further.
				acc[f] = make([]float64, len(m[f]))
				for l := range acc[f] {
					acc[f][l] = PriorMatches * start.params[f].M[l]
				}
			}
		}
		matches := 0.0
		for _, p := range pats {
			lm, lu := math.Log(lambda), math.Log(1-lambda)
			for f := Field(0); f < NumFields; f++ {
				if m[f] == nil || p.l[f] == Null {
					continue
				}
				lm += math.Log(m[f][p.l[f]])
				lu += math.Log(u[f][p.l[f]])
			}
			g := 1 / (1 + math.Exp(lu-lm))
			matches += g * p.n
			for f := range acc {
				if acc[f] != nil && p.l[f] != Null {
					acc[f][p.l[f]] += g * p.n
				}
			}
		}
		newLambda := math.Min(math.Max(matches/total, 1e-9), maxLambda)
		delta := math.Abs(newLambda - lambda)
		lambda = newLambda
		for f := range acc {
			if acc[f] == nil {
				continue
			}
			s := 0.0
			for _, v := range acc[f] {
				s += v
			}
			weight[f] = s - PriorMatches // the block's own matches
			if s <= 0 {
				continue
			}
			for l := range acc[f] {
				nv := acc[f][l] / s
				delta = math.Max(delta, math.Abs(nv-m[f][l]))
				m[f][l] = nv
			}
			normalise(m[f], 1e-6)
		}
		if delta < 1e-6 {
			break
		}
	}
	return m, lambda, min(iters, 200), weight
}

// PriorMatches is the weight of the start model's m in EM, in matches: the
// m of a field is estimated as if the block held that many more matches,
// distributed over the levels as the start model's m. It is the Dirichlet
// prior that lets a small feed be fitted (a thousand records give a few
// hundred matches per block, a level seen in three of them is not an m of
// 1 %); on a population of thousands of matches it weighs nothing.
var PriorMatches = 20.0

// normalise floors every probability and makes them sum to 1.
func normalise(p []float64, floor float64) {
	s := 0.0
	for i := range p {
		if p[i] < floor {
			p[i] = floor
		}
		s += p[i]
	}
	for i := range p {
		p[i] /= s
	}
}

// EstimateMatchesPerRecord estimates how many other records of the same
// person a record has, from the match weights of all candidate pairs of a set
// of records: the expected number of matches among the candidates (each
// pair's probability under the prior) must equal the prior's own expectation.
// comparedWith is the number of records each record could match (the
// population of the prior). start is the first guess.
func EstimateMatchesPerRecord(weights []float64, records, comparedWith int, start float64) float64 {
	mpr := start
	if mpr <= 0 {
		mpr = 1
	}
	for range 50 {
		lambda := mpr / float64(max(comparedWith, 2))
		prior := math.Log2(lambda / (1 - lambda))
		exp := 0.0
		for _, w := range weights {
			exp += probability(w + prior)
		}
		next := 2 * exp / float64(max(records, 1))
		next = math.Min(math.Max(next, 1e-3), 50)
		if math.Abs(next-mpr) < 1e-4 {
			return next
		}
		mpr = next
	}
	return mpr
}
