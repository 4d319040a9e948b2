package linkeval

import (
	"math"
	"strconv"
	"testing"

	"vigie"
	"vigie/matcher"
)

// A hand-made example with known answers: persons a (3 records), b (2), c
// (1); identity 1 holds a1, a2 and b1 (a collision), identity 2 holds a3
// (a split of a), identity 3 holds b2 (a split of b), identity 4 holds c1.
func TestScoreClusters(t *testing.T) {
	truth := map[string]string{"a1": "a", "a2": "a", "a3": "a", "b1": "b", "b2": "b", "c1": "c"}
	links := map[string]string{"a1": "1", "a2": "1", "b1": "1", "a3": "2", "b2": "3", "c1": "4"}
	a := ScoreClusters(links, truth)
	// True pairs: a1a2 a1a3 a2a3 b1b2 = 4. Found: a1a2 a1b1 a2b1 = 3, right: a1a2 = 1.
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"true pairs", float64(a.TruePairs), 4},
		{"found pairs", float64(a.FoundPairs), 3},
		{"right pairs", float64(a.TP), 1},
		{"precision", a.Precision(), 1.0 / 3},
		{"recall", a.Recall(), 1.0 / 4},
		{"F1", a.F1(), 2 * (1.0 / 3) * (1.0 / 4) / (1.0/3 + 1.0/4)},
		{"collisions", float64(len(a.Collisions)), 1},
		{"splits", float64(len(a.Splits)), 2},
		{"identities", float64(a.Identities), 4},
		{"persons", float64(a.Persons), 3},
	} {
		if math.Abs(c.got-c.want) > 1e-12 {
			t.Errorf("%s = %g, want %g", c.name, c.got, c.want)
		}
	}
	if a.Collisions[0] != "1" || a.Splits[0] != "a" || a.Splits[1] != "b" {
		t.Errorf("collisions %v, splits %v", a.Collisions, a.Splits)
	}
	if e := ScoreClusters(map[string]string{}, truth); e.Precision() != 0 || e.Recall() != 0 || e.F1() != 0 {
		t.Errorf("no links: %v", e)
	}
}

func prep(t *testing.T, r vigie.Record) *matcher.Prepared {
	t.Helper()
	r.Authority = "site"
	r.LocalID = r.BirthName + r.FirstName + r.BirthDate
	p, err := matcher.Prepare(&r)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The blocking replay compares what the index would: records sharing two
// keys, or an INS; not a pair sharing one key; not a refused record; and
// not through a key above the block cap.
func TestCandidatePairs(t *testing.T) {
	dupont := vigie.Record{BirthName: "DUPONT", FirstName: "JEAN", BirthDate: "1950-03-04"}
	typo := vigie.Record{BirthName: "DUPOND", FirstName: "JEAN", BirthDate: "1950-03-04"}  // same first name, year, date
	apart := vigie.Record{BirthName: "MARTIN", FirstName: "PAUL", BirthDate: "1971-05-06"} // shares nothing with dupont
	recs := []*matcher.Prepared{prep(t, dupont), prep(t, typo), prep(t, apart), nil, prep(t, dupont)}
	person := []string{"p", "p", "p", "p", "q"}
	compared, total := IndexBlocking{MaxBlock: 500, MinShared: 2}.CandidatePairs(recs, person)
	// True pairs of p: (0,1) (0,2) (0,3) (1,2) (1,3) (2,3) = 6; only (0,1) is compared.
	if total != 6 || len(compared) != 1 || !compared[[2]int{0, 1}] {
		t.Fatalf("compared %v of %d true pairs, want only [0 1] of 6", SortedPairs(compared), total)
	}
	// With a cap of 0 records per block, no key but the INS is used.
	if compared, _ := (IndexBlocking{MaxBlock: 0, MinShared: 2}).CandidatePairs(recs, person); len(compared) != 0 {
		t.Fatalf("cap 0: compared %v", SortedPairs(compared))
	}
	// A shared INS suffices whatever the cap.
	a := vigie.Record{BirthName: "DURAND", FirstName: "ANNE", BirthDate: "1980-01-02", INS: "280017512345610", INSOID: matcher.OIDINSNIR}
	b := vigie.Record{BirthName: "LEROY", FirstName: "ZOE", INS: a.INS, INSOID: matcher.OIDINSNIR}
	pa, pb := prep(t, a), prep(t, b)
	if compared, total := (IndexBlocking{MaxBlock: 0, MinShared: 2}).CandidatePairs([]*matcher.Prepared{pa, pb}, []string{"x", "x"}); total != 1 || !compared[[2]int{0, 1}] {
		t.Fatalf("shared INS: compared %v of %d", SortedPairs(compared), total)
	}
}

// A key held by very few records suffices alone, unless it is the bare
// birth date; a common key alone never does.
func TestCandidatePairsRareKey(t *testing.T) {
	// Same family name and first initial, birth year and day wrong: one
	// key (name_first) shared.
	a := vigie.Record{BirthName: "CAMPBELL", FirstName: "JACOB", BirthDate: "1987-06-06"}
	b := vigie.Record{BirthName: "CAMPBELL", FirstName: "JACOB", BirthDate: "1988-06-05"}
	// Same birth date only.
	c := vigie.Record{BirthName: "HUGHES", FirstName: "DAISY", BirthDate: "1987-06-06"}
	recs := []*matcher.Prepared{prep(t, a), prep(t, b), prep(t, c)}
	person := []string{"p", "p", "q"}
	for _, tc := range []struct {
		rare int
		want bool
	}{{0, false}, {3, true}} {
		compared, _, candidates := IndexBlocking{MaxBlock: 500, MinShared: 2, RareBlock: tc.rare}.Replay(recs, person)
		if compared[[2]int{0, 1}] != tc.want {
			t.Errorf("rare block %d: CAMPBELL JACOB 1987/1988 compared %v, want %v", tc.rare, compared[[2]int{0, 1}], tc.want)
		}
		// HUGHES shares only the birth date with CAMPBELL: never scored.
		if want := map[bool]int{false: 0, true: 1}[tc.want]; candidates != want {
			t.Errorf("rare block %d: %d candidate pairs, want %d", tc.rare, candidates, want)
		}
	}
	// The same key held by more records than the rare size: not enough.
	many := []*matcher.Prepared{prep(t, a)}
	for i := range 4 {
		r := a
		r.BirthDate = strconv.Itoa(1990+i) + "-01-0" + strconv.Itoa(i+2)
		many = append(many, prep(t, r))
	}
	many = append(many, prep(t, b))
	owners := []string{"p", "x1", "x2", "x3", "x4", "p"}
	if compared, _, _ := (IndexBlocking{MaxBlock: 500, MinShared: 2, RareBlock: 3}).Replay(many, owners); compared[[2]int{0, 5}] {
		t.Errorf("a key held by 5 records sufficed alone")
	}
}

// Two keys of one rule are one trait: records of one street, under its
// postal code and its town, share one rule, and a common street is no
// reason to compare two strangers (their address keys are not rare).
func TestCandidatePairsCountRules(t *testing.T) {
	street := func(name, first, date string) vigie.Record {
		return vigie.Record{BirthName: name, FirstName: first, BirthDate: date, PostalCode: "33000", City: "BORDEAUX", Address: "rue Sainte-Catherine"}
	}
	recs := []*matcher.Prepared{
		prep(t, street("DURAND", "ANNE", "1950-01-02")), prep(t, street("LEROY", "ZOE", "1961-03-04")),
		prep(t, street("PETIT", "LEO", "1972-05-06")), prep(t, street("BLANC", "EVE", "1983-07-08")),
		prep(t, street("NOIR", "GUY", "1994-09-10")),
	}
	if n := matcher.RulesOf(matcher.BlockingKeys(recs[0])); n >= len(matcher.BlockingKeys(recs[0])) {
		t.Fatalf("%d rules for %d keys: the address under postal code and town should be one rule", n, len(matcher.BlockingKeys(recs[0])))
	}
	_, _, candidates := IndexBlocking{MaxBlock: 500, MinShared: 2, RareBlock: 3}.Replay(recs, []string{"a", "b", "c", "d", "e"})
	// The first four records find the street's keys held by at most three
	// earlier records (rare: suffices), each is compared with the ones
	// before (0+1+2+3); the fifth finds it common, and its two keys of one
	// rule are not two reasons (counted as keys: 4 more pairs).
	if candidates != 6 {
		t.Fatalf("%d candidate pairs, want 6 (the street alone is no reason once common)", candidates)
	}
}
