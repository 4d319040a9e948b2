package search

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// best keeps the k best candidates in order, as a full sort would.
func TestBestCandidates(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ n, k int }{{0, 5}, {3, 5}, {5, 5}, {6, 5}, {100, 1}, {1000, 30}, {5000, 60}} {
		var cands []candidate
		for range tc.n {
			// Few distinct scores: ties are broken by document.
			cands = append(cands, candidate{doc: uint64(rng.IntN(1 << 20)), score: float64(rng.IntN(20))})
		}
		want := slices.Clone(cands)
		slices.SortFunc(want, func(a, b candidate) int {
			if better(&a, &b) {
				return -1
			}
			if better(&b, &a) {
				return 1
			}
			return 0
		})
		want = want[:min(tc.k, len(want))]
		got := best(slices.Clone(cands), tc.k)
		if !slices.Equal(got, want) {
			t.Errorf("n=%d k=%d: best differs from a sort", tc.n, tc.k)
		}
	}
}
