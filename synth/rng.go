package synth

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"sort"
)

// rng is the one random stream of a generation. Its methods are written here
// on top of PCG's raw output so that the bytes a seed produces do not depend
// on the standard library's choice of algorithms for IntN or Float64.
type rng struct{ src *rand.PCG }

func newRNG(seed uint64, stream uint64) *rng {
	return &rng{src: rand.NewPCG(seed, stream^0x9e3779b97f4a7c15)}
}

func (r *rng) u64() uint64 { return r.src.Uint64() }

// intn returns a uniform integer in [0, n) (Lemire's method).
func (r *rng) intn(n int) int {
	if n <= 1 {
		return 0
	}
	un := uint64(n)
	hi, lo := bits.Mul64(r.u64(), un)
	if lo < un {
		thresh := -un % un
		for lo < thresh {
			hi, lo = bits.Mul64(r.u64(), un)
		}
	}
	return int(hi)
}

// between returns a uniform integer in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

// float returns a uniform float64 in [0, 1).
func (r *rng) float() float64 { return float64(r.u64()>>11) / (1 << 53) }

// chance reports true with probability p.
func (r *rng) chance(p float64) bool {
	if p <= 0 {
		return false
	}
	return r.float() < p
}

// normal returns a standard normal deviate (Box–Muller, one of the pair).
func (r *rng) normal() float64 {
	u := r.float()
	for u == 0 {
		u = r.float()
	}
	return math.Sqrt(-2*math.Log(u)) * math.Cos(2*math.Pi*r.float())
}

// pick returns a uniformly chosen element.
func pick[T any](r *rng, xs []T) T { return xs[r.intn(len(xs))] }

// shuffle permutes xs in place (Fisher–Yates).
func shuffle[T any](r *rng, xs []T) {
	for i := len(xs) - 1; i > 0; i-- {
		j := r.intn(i + 1)
		xs[i], xs[j] = xs[j], xs[i]
	}
}

// cdf is a cumulative weight table for drawing an index by weight.
type cdf []float64

func newCDF(weights []float64) cdf {
	c := make(cdf, len(weights))
	sum := 0.0
	for i, w := range weights {
		if w > 0 {
			sum += w
		}
		c[i] = sum
	}
	return c
}

// draw returns an index with probability proportional to its weight.
func (c cdf) draw(r *rng) int {
	if len(c) == 0 {
		return -1
	}
	x := r.float() * c[len(c)-1]
	i := sort.Search(len(c), func(i int) bool { return c[i] > x })
	if i >= len(c) {
		i = len(c) - 1
	}
	return i
}

// zipfWeights returns the heavy-tailed weights 1/(rank+offset) for n ranks.
func zipfWeights(n int, offset float64) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 1 / (float64(i+1) + offset)
	}
	return w
}
