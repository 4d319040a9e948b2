package census

import (
	"math"
	"math/rand/v2"
)

// rng is the one random source of a generation: every draw goes through it
// in a fixed order, which makes the output a function of the seed.
type rng struct{ r *rand.Rand }

func newRNG(seed uint64) *rng { return &rng{rand.New(rand.NewPCG(seed, seed^0x6a09e667f3bcc909))} }

func (r *rng) float() float64        { return r.r.Float64() }
func (r *rng) chance(p float64) bool { return p > 0 && r.r.Float64() < p }
func (r *rng) intn(n int) int        { return r.r.IntN(n) }

// between returns an int in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.r.IntN(hi-lo+1) }

// pick returns an index drawn by the weights.
func (r *rng) pick(w []float64) int {
	var total float64
	for _, x := range w {
		total += x
	}
	x := r.r.Float64() * total
	for i, v := range w {
		if x < v {
			return i
		}
		x -= v
	}
	return len(w) - 1
}

// poisson draws a Poisson variate of small mean (Knuth's method).
func (r *rng) poisson(mean float64) int {
	if mean <= 0 {
		return 0
	}
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= r.r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}
