package linkeval

import (
	"fmt"
	"slices"
	"sort"

	"vigie/matcher"
)

// Clusters compares the identities an index formed with the true persons:
// pairwise precision and recall over the pairs of records put together,
// collisions (identities holding several persons) and splits (persons
// spread over several identities). K is the key of a source record.
type Clusters[K comparable] struct {
	Records, Identities, Persons int
	TruePairs, FoundPairs, TP    int
	Collisions                   []string       // identities holding more than one person, sorted
	Splits                       []string       // persons spread over several identities, sorted
	Members                      map[string][]K // records of each identity
	Holdings                     map[string][]K // records of each true person
}

// ScoreClusters scores links (record → identity) against truth (record →
// person). Records are those of links; a record missing from truth counts
// as a person of its own (""): give truth for every linked record.
func ScoreClusters[K comparable](links, truth map[K]string) Clusters[K] {
	a := Clusters[K]{Records: len(links), Members: map[string][]K{}, Holdings: map[string][]K{}}
	cell := map[[2]string]int{}
	for k, id := range links {
		p := truth[k]
		a.Members[id] = append(a.Members[id], k)
		a.Holdings[p] = append(a.Holdings[p], k)
		cell[[2]string{id, p}]++
	}
	pairs := func(n int) int { return n * (n - 1) / 2 }
	for _, n := range cell {
		a.TP += pairs(n)
	}
	for id, ks := range a.Members {
		a.FoundPairs += pairs(len(ks))
		seen := map[string]bool{}
		for _, k := range ks {
			seen[truth[k]] = true
		}
		if len(seen) > 1 {
			a.Collisions = append(a.Collisions, id)
		}
	}
	for p, ks := range a.Holdings {
		a.TruePairs += pairs(len(ks))
		seen := map[string]bool{}
		for _, k := range ks {
			seen[links[k]] = true
		}
		if len(seen) > 1 {
			a.Splits = append(a.Splits, p)
		}
	}
	sort.Strings(a.Collisions)
	sort.Strings(a.Splits)
	a.Identities, a.Persons = len(a.Members), len(a.Holdings)
	return a
}

// Precision is the share of the pairs put together that are one person.
func (a Clusters[K]) Precision() float64 { return ratio(a.TP, a.FoundPairs) }

// Recall is the share of the true pairs put together.
func (a Clusters[K]) Recall() float64 { return ratio(a.TP, a.TruePairs) }

// F1 is the harmonic mean of precision and recall.
func (a Clusters[K]) F1() float64 {
	p, r := a.Precision(), a.Recall()
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

func (a Clusters[K]) String() string {
	return fmt.Sprintf("clusters: %d records, %d identities for %d true persons\n"+
		"  pairwise precision %.5f, recall %.5f (%d true pairs, %d found, %d right)\n"+
		"  collisions: %d identities holding more than one person (%.2f per 10,000 identities)\n"+
		"  splits: %d persons spread over several identities\n",
		a.Records, a.Identities, a.Persons,
		a.Precision(), a.Recall(), a.TruePairs, a.FoundPairs, a.TP,
		len(a.Collisions), 10000*ratio(len(a.Collisions), a.Identities), len(a.Splits))
}

// IndexBlocking is how the patient index chooses the records a new record
// is compared with (mpi's candidate search): the records filed before it
// that share a key of at least MinShared of its blocking rules (all of them
// when it has fewer; a shared INS suffices), a key shared by more than MaxBlock
// earlier records being skipped (never the INS).
type IndexBlocking struct {
	MaxBlock, MinShared int
	RareBlock           int // a key shared by at most this many earlier records suffices (see matcher.RareSuffices)
	// Model, when set, raises RareBlock as the index does (see
	// matcher.RareBlock).
	Model *matcher.Model
}

// CandidatePairs replays a load in file order: recs are the prepared
// records (nil for a record the index refused) and same reports whether
// two records are of one person. It returns the pairs of one person the
// index would have compared, as [earlier, later] indexes of recs, and the
// number of such true pairs in all (refused records included: their pairs
// are never compared).
func (b IndexBlocking) CandidatePairs(recs []*matcher.Prepared, person []string) (compared map[[2]int]bool, truePairs int) {
	compared, truePairs, _ = b.Replay(recs, person)
	return compared, truePairs
}

// Replay is CandidatePairs that also counts every pair compared, of one
// person or not: the work the blocking gives the scorer.
func (b IndexBlocking) Replay(recs []*matcher.Prepared, person []string) (compared map[[2]int]bool, truePairs, candidates int) {
	byPerson := map[string][]int{}
	postings := map[matcher.BlockingKey][]int{}
	compared = map[[2]int]bool{}
	shared := map[int]int{}
	lastRule := map[int]int{}
	rare := matcher.RareBlock(b.RareBlock, b.Model)
	for j, p := range recs {
		earlier := byPerson[person[j]]
		truePairs += len(earlier)
		byPerson[person[j]] = append(earlier, j)
		if p == nil {
			continue
		}
		keys := matcher.BlockingKeys(p)
		need := min(b.MinShared, matcher.RulesOf(keys))
		clear(shared)
		clear(lastRule)
		run := 0 // keys of one rule count once (see matcher.RulesOf)
		for n, k := range keys {
			if n == 0 || k.Rule != keys[n-1].Rule {
				run++
			}
			post := postings[k]
			if len(post) > b.MaxBlock && k.Rule != matcher.BlockINS {
				continue
			}
			inc := 1
			if k.Rule == matcher.BlockINS || len(post) <= rare && matcher.RareSuffices(k.Rule) {
				inc = len(keys)
			}
			for _, i := range post {
				if lastRule[i] == run && inc <= 1 {
					continue
				}
				lastRule[i] = run
				shared[i] += inc
			}
		}
		for _, n := range shared {
			if n >= need && need > 0 {
				candidates++
			}
		}
		for _, i := range earlier {
			if recs[i] != nil && shared[i] >= need && need > 0 {
				compared[[2]int{i, j}] = true
			}
		}
		for _, k := range keys {
			postings[k] = append(postings[k], j)
		}
	}
	return compared, truePairs, candidates
}

// SortedPairs returns the keys of a pair set in order.
func SortedPairs(m map[[2]int]bool) [][2]int {
	out := make([][2]int, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b [2]int) int {
		if a[0] != b[0] {
			return a[0] - b[0]
		}
		return a[1] - b[1]
	})
	return out
}
