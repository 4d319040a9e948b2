package mpi

import (
	"math/rand/v2"
	"testing"
)

// TestU32Table sets, overwrites and removes random keys (few of them, so
// that they collide and probe, and the key 0) and compares every lookup
// with a Go map.
func TestU32Table(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys func(*rand.Rand) uint64
	}{
		{"consecutive", func(r *rand.Rand) uint64 { return uint64(r.IntN(5000)) }},
		{"hashes", func(r *rand.Rand) uint64 { return uint64(r.IntN(5000)) * 0x9e3779b97f4a7c15 }},
		{"few", func(r *rand.Rand) uint64 { return uint64(r.IntN(40)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			var tab u32Table
			want := map[uint64]uint32{}
			for op := range 200000 {
				k := tc.keys(rng)
				switch rng.IntN(3) {
				case 0:
					tab.remove(k)
					delete(want, k)
				default:
					v := rng.Uint32()
					tab.set(k, v)
					want[k] = v
				}
				if op%997 == 0 || op > 199000 {
					for k, w := range want {
						if v, ok := tab.get(k); !ok || v != w {
							t.Fatalf("op %d: get(%d) = %d, %v; want %d", op, k, v, ok, w)
						}
					}
					if tab.len() != len(want) {
						t.Fatalf("op %d: len %d, want %d", op, tab.len(), len(want))
					}
				}
			}
			for k := range uint64(6000) {
				_, ok := tab.get(k * 0x9e3779b97f4a7c15)
				if _, w := want[k*0x9e3779b97f4a7c15]; ok != w {
					t.Fatalf("get(%d): present %v, want %v", k, ok, w)
				}
			}
		})
	}
}
