package mpi

import (
	"fmt"
	"hash/maphash"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"vigie"
)

func TestKeyTable(t *testing.T) {
	kt := newKeyTable(maphash.MakeSeed())
	keys := []vigie.SourceKey{{Authority: "1.2.250.1", LocalID: "A1"}, {Authority: "1.2.250.1", LocalID: "A2"}, {Authority: "1.2.250.2", LocalID: "A1"}, {Authority: "1.2.250.12", LocalID: "1"}, {Authority: "1.2.250.1", LocalID: "2A1"}}
	for i, k := range keys {
		if _, ok := kt.find(k); ok {
			t.Fatalf("%v found before it was added", k)
		}
		if o := kt.add(k); o != uint32(i) {
			t.Fatalf("%v numbered %d, want %d", k, o, i)
		}
	}
	for i, k := range keys {
		o, ok := kt.find(k)
		if !ok || o != uint32(i) {
			t.Errorf("find(%v) = %d, %v; want %d", k, o, ok, i)
		}
		if got := kt.key(uint32(i)); got != k {
			t.Errorf("key(%d) = %v, want %v", i, got, k)
		}
	}
	// A key whose hash an earlier key took goes to the spill map.
	k := vigie.SourceKey{Authority: "1.2.250.9", LocalID: "Z"}
	kt.index.set(kt.hash(k), 0)
	o := kt.add(k)
	if got, ok := kt.find(k); !ok || got != o {
		t.Fatalf("spilled key: find = %d, %v; want %d", got, ok, o)
	}
	if got, ok := kt.find(keys[0]); !ok || got != 0 {
		t.Fatalf("the key owning the hash: find = %d, %v", got, ok)
	}
}

// TestPostings files and unfiles random ordinals under a few keys and
// compares with a plain map of sets.
func TestPostings(t *testing.T) {
	for _, tc := range []struct {
		name       string
		keys, ords int
		ops        int
	}{
		{"one key", 1, 50, 500},
		{"few keys", 5, 200, 5000},
		{"many keys", 300, 1000, 20000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tc.keys)))
			p := newPostings()
			want := map[uint64]map[uint32]bool{}
			for range tc.ops {
				h := uint64(rng.IntN(tc.keys)) * 0x9e3779b97f4a7c15
				o := uint32(rng.IntN(tc.ords))
				if want[h] == nil {
					want[h] = map[uint32]bool{}
				}
				if want[h][o] || rng.IntN(4) == 0 {
					p.remove(h, o)
					delete(want[h], o)
				} else {
					p.add(h, o)
					want[h][o] = true
				}
			}
			for h, set := range want {
				got := p.get(h, nil)
				slices.Sort(got)
				w := slices.Sorted(maps.Keys(set))
				if !slices.Equal(got, w) || p.size(h) != len(w) {
					t.Fatalf("key %x: %v (size %d), want %v", h, got, p.size(h), w)
				}
				if _, present := p.m.get(h); present != (len(w) > 0) {
					t.Fatalf("key %x: present %v with %d ordinals", h, present, len(w))
				}
			}
		})
	}
}

func TestCounter(t *testing.T) {
	c := new(counter)
	for round := range 3 {
		c.reset(10 + round)
		for rule, o := range []uint32{3, 1, 3, 9, 3} {
			c.add(o, 1, uint8(rule+1))
		}
		c.add(1, 5, 6)
		// Two keys of one rule count once; a rare key of the same rule
		// still counts (it suffices alone).
		c.add(9, 1, 7)
		c.add(9, 1, 7)
		c.add(3, 1, 7)
		c.add(3, 4, 7)
		got := map[uint32]int{}
		for _, o := range c.touched {
			got[o] = c.count(o)
		}
		if want := map[uint32]int{3: 8, 1: 6, 9: 2}; !maps.Equal(got, want) {
			t.Fatalf("round %d: %v, want %v", round, got, want)
		}
	}
	c.epoch = 1<<16 - 1 // the next reset wraps
	c.reset(10)
	if len(c.touched) != 0 || c.slots[3].stamp == c.epoch {
		t.Fatal(fmt.Sprint("a wrapped epoch still sees old counts: ", c.slots[:10], c.epoch))
	}
}

// TestPostingsSet replaces whole lists (an identity's members) and checks
// that order is kept and that a list that fits is rewritten in place.
func TestPostingsSet(t *testing.T) {
	p := newPostings()
	for _, tc := range []struct {
		ords    []uint32
		inPlace bool // the slab does not grow
	}{
		{[]uint32{7}, true},
		{[]uint32{9, 3}, false},
		{[]uint32{9, 3, 5}, true}, // a new list has room for twice its length
		{[]uint32{1, 2, 3, 4, 5}, false},
		{[]uint32{4}, true},
		{nil, true},
		{[]uint32{2, 1}, false},
	} {
		before := len(p.slab)
		p.set(42, tc.ords)
		if got := p.get(42, nil); !slices.Equal(got, tc.ords) && len(got)+len(tc.ords) > 0 {
			t.Fatalf("set %v: get %v", tc.ords, got)
		}
		if p.has(42) != (len(tc.ords) > 0) {
			t.Fatalf("set %v: has %v", tc.ords, p.has(42))
		}
		if grew := len(p.slab) != before; grew == tc.inPlace {
			t.Fatalf("set %v: slab grew %v, want in place %v", tc.ords, grew, tc.inPlace)
		}
	}
}

// TestKeyTableConcurrentReaders reads keys under the read lock while keys
// of new authorities are added under the write lock, as resolutions do
// (run with -race: reading a key must not write the table).
func TestKeyTableConcurrentReaders(t *testing.T) {
	var mu sync.RWMutex
	kt := newKeyTable(maphash.MakeSeed())
	kt.add(vigie.SourceKey{Authority: "1.2.250.0", LocalID: "first"})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				if g == 0 {
					mu.Lock()
					kt.add(vigie.SourceKey{Authority: fmt.Sprintf("1.2.250.%d", i+1), LocalID: "x"})
					mu.Unlock()
					continue
				}
				mu.RLock()
				o := uint32(i % kt.len())
				k := kt.key(o)
				if got, ok := kt.find(k); !ok || got != o {
					t.Errorf("key %d read back as %v: find %d, %v", o, k, got, ok)
				}
				mu.RUnlock()
			}
		}()
	}
	wg.Wait()
}
