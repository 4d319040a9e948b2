package matcher

import (
	"math"
	"math/rand/v2"
	"testing"

	"vigie"
)

// On a feed where many random pairs are matches (1,000 records of 250
// persons), u must be estimated from the non-matches among them: counted
// as non-matches, the matches inflated u of an exact birth date a
// hundredfold.
func TestTrainSetsRandomMatchesAside(t *testing.T) {
	const matchShare, uDate = 0.004, 1e-4
	rng := rand.New(rand.NewPCG(3, 4))
	pair := func(match bool) Levels {
		var l Levels
		for f := range l {
			l[f] = Null
		}
		pick := func(p float64, agree, differ Level) Level {
			if rng.Float64() < p {
				return agree
			}
			return differ
		}
		if match {
			l[FieldName] = pick(0.95, NameExact, NameDifferent)
			l[FieldFirstName] = pick(0.95, NameExact, NameDifferent)
			l[FieldBirthDate] = pick(0.95, DateExact, DateDifferent)
		} else {
			l[FieldName] = pick(0.005, NameExact, NameDifferent)
			l[FieldFirstName] = pick(0.01, NameExact, NameDifferent)
			l[FieldBirthDate] = pick(uDate, DateExact, DateDifferent)
		}
		return l
	}
	random := make([]Levels, 200_000)
	for i := range random {
		random[i] = pair(rng.Float64() < matchShare)
	}
	// A block keyed on the name: most pairs match.
	bl := Block{Name: BlockNameYear, Fields: BlockFields(BlockNameYear)}
	for range 2000 {
		bl.Pairs = append(bl.Pairs, pair(rng.Float64() < 0.8))
	}
	m, rep, err := Train(DefaultModel(), random, []Block{bl})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(rep.RandomMatches-matchShare)/matchShare > 0.25 {
		t.Errorf("share of matches among random pairs estimated %.5f, want about %.5f", rep.RandomMatches, matchShare)
	}
	// Counted as non-matches, the matches alone would give u ≈ 0.0038.
	if u := m.Params(FieldBirthDate).U[DateExact]; u > 5*uDate {
		t.Errorf("u of an exact birth date %.6f, want about %.6f: the random pairs' matches were counted", u, uDate)
	}
}

// A pair's Shared counts the rules its records share a key of, not the
// keys: one address under its postal code and its town is one.
func TestPairSetCountsRules(t *testing.T) {
	a := vigie.Record{Authority: "a", LocalID: "1", BirthName: "DURAND", FirstName: "ANNE", BirthDate: "1950-01-02", PostalCode: "33000", City: "BORDEAUX", Address: "4 rue Sainte-Catherine"}
	b := vigie.Record{Authority: "a", LocalID: "2", BirthName: "LEROY", FirstName: "ZOE", BirthDate: "1961-03-04", PostalCode: "33000", City: "BORDEAUX", Address: "4 rue Sainte-Catherine"}
	set := NewPairSet([]*Prepared{prep(t, a), prep(t, b)}, nil, 500)
	if len(set.Pairs) != 1 || set.Shared[0] != 1 || set.IndexCompared(0, 2) {
		t.Fatalf("pairs %v sharing %v: want one pair sharing one rule, not compared at 2", set.Pairs, set.Shared)
	}
}

// EM keeps the start model as a prior worth PriorMatches matches: a block
// of five pairs (a clinic's file) moves m by what five matches weigh, a
// block of thousands follows its data.
func TestEMStartModelIsAPrior(t *testing.T) {
	start := DefaultModel()
	var u [NumFields][]float64
	for f := Field(0); f < NumFields; f++ {
		u[f] = start.Params(f).U
	}
	// Matches by their name and birth date that all differ on first name.
	pair := func() Levels {
		var l Levels
		for f := range l {
			l[f] = Null
		}
		l[FieldName], l[FieldBirthDate], l[FieldFirstName] = NameExact, DateExact, NameDifferent
		return l
	}
	startM := start.Params(FieldFirstName).M[NameDifferent]
	for _, tc := range []struct {
		name   string
		pairs  int
		lo, hi float64 // bounds of the fitted m of a different first name
	}{
		{"five pairs", 5, startM, 5/(5+PriorMatches) + 0.05},
		{"two thousand pairs", 2000, 0.95, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bl := Block{Name: "test"}
			for range tc.pairs {
				bl.Pairs = append(bl.Pairs, pair())
			}
			m, _, _, _ := emBlock(start, u, bl)
			if got := m[FieldFirstName][NameDifferent]; got < tc.lo || got > tc.hi {
				t.Errorf("m of a different first name %.4f after %d pairs, want in [%.4f, %.4f] (start %.4f)", got, tc.pairs, tc.lo, tc.hi, startM)
			}
		})
	}
}

// The homonym guards: a feed whose pairs sharing an INS are too few to
// decide keeps the start model's guards, whatever all the blocks say
// (households pass there for matches that differ); a feed without INS is
// judged on all its blocks; hundreds of INS pairs decide on their own.
func TestGuardsOnAFewINSPairs(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	pair := func(match bool, dateDiffers float64) Levels {
		var l Levels
		for f := range l {
			l[f] = Null
		}
		if !match {
			l[FieldName], l[FieldFirstName], l[FieldBirthDate] = NameDifferent, NameDifferent, DateDifferent
			return l
		}
		l[FieldName], l[FieldFirstName], l[FieldBirthDate] = NameExact, NameExact, DateExact
		if rng.Float64() < dateDiffers {
			l[FieldBirthDate] = DateDifferent
		}
		return l
	}
	random := make([]Levels, 5000)
	for i := range random {
		random[i] = pair(false, 0)
	}
	block := func(name string, n int, dateDiffers float64) Block {
		b := Block{Name: name, Fields: BlockFields(name)}
		for range n {
			b.Pairs = append(b.Pairs, pair(true, dateDiffers))
		}
		return b
	}
	start := DefaultModel()
	if !start.BirthDateGuard {
		t.Fatal("the shipped model's birth-date guard is off: the test needs it on")
	}
	for _, tc := range []struct {
		name   string
		blocks []Block
		want   bool
	}{
		{"no INS, matches often differ", []Block{block(BlockNameFirst, 400, 0.3)}, false},
		{"a dozen INS pairs", []Block{block(BlockNameFirst, 400, 0.3), block(BlockINS, 12, 0)}, true},
		{"hundreds of INS pairs that agree", []Block{block(BlockNameFirst, 400, 0.3), block(BlockINS, 400, 0)}, true},
		{"hundreds of INS pairs that differ", []Block{block(BlockNameFirst, 400, 0.3), block(BlockINS, 400, 0.3)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, rep, err := Train(start, random, tc.blocks)
			if err != nil {
				t.Fatal(err)
			}
			if m.BirthDateGuard != tc.want {
				t.Errorf("birth-date guard %v, want %v (%v)", m.BirthDateGuard, tc.want, rep.Guards)
			}
		})
	}
}

// A block of namesakes (common first name and birth year in a large
// population: each record joined to dozens of others) must not teach m:
// EM's share of matches is bounded by MaxMatchesPerRecord per record, a
// block at the bound is reported and left out of m, and a block well under
// it is used as before.
func TestBlockOfNamesakesBounded(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	levels := func(name, first, date Level) Levels {
		var l Levels
		for f := range l {
			l[f] = Null
		}
		l[FieldName], l[FieldFirstName], l[FieldBirthDate] = name, first, date
		return l
	}
	// Namesakes: same first name and birth date, family names that differ
	// or only sound alike, 40 per record.
	namesakes := Block{Name: BlockFirstYear, Fields: BlockFields(BlockFirstYear), Records: 1000}
	for range 40_000 {
		name := NameDifferent
		if rng.Float64() < 0.3 {
			name = NamePhonetic
		}
		namesakes.Pairs = append(namesakes.Pairs, levels(name, NameExact, DateExact))
	}
	// A block keyed on the family name and year: most pairs are one person.
	byName := Block{Name: BlockNameYear, Fields: BlockFields(BlockNameYear), Records: 3000}
	for range 2000 {
		if rng.Float64() < 0.8 {
			byName.Pairs = append(byName.Pairs, levels(NameExact, NameExact, DateExact))
		} else {
			byName.Pairs = append(byName.Pairs, levels(NameExact, NameDifferent, DateDifferent))
		}
	}
	random := make([]Levels, 50_000)
	for i := range random {
		random[i] = levels(NameDifferent, NameDifferent, DateDifferent)
	}
	m, rep, err := Train(DefaultModel(), random, []Block{namesakes, byName})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Blocks) != 2 || !rep.Blocks[0].Bounded || rep.Blocks[1].Bounded {
		t.Fatalf("blocks %+v: want the namesakes at their bound, the family-name block not", rep.Blocks)
	}
	if max := MaxMatchesPerRecord * 1000 / 40_000; rep.Blocks[0].Lambda > max*1.0001 {
		t.Errorf("namesakes' share of matches %.4f, above the bound %.4f", rep.Blocks[0].Lambda, max)
	}
	// Taken for matches, the namesakes would make a different family name
	// the usual case (m near 1); the family-name block says rare.
	if got := m.Params(FieldFirstName).M[NameExact]; got < 0.7 {
		t.Errorf("m of the same first name %.3f: the family-name block's matches agree on it", got)
	}
}
