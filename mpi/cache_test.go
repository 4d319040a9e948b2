package mpi

import (
	"bytes"
	"fmt"
	"testing"
)

func TestNormalCache(t *testing.T) {
	c := newNormalCache(1 << 16)
	form := func(ord uint32, version int) []byte {
		return bytes.Repeat([]byte(fmt.Sprintf("%d.%d;", ord, version)), 20)
	}
	get := func(ord uint32, version int) []byte {
		var got []byte
		hit, err := c.get(ord, version, func(b []byte) error { got = bytes.Clone(b); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if !hit {
			return nil
		}
		return got
	}
	for _, tc := range []struct {
		name string
		run  func() bool // reports whether the case held
	}{
		{"a form put is read back", func() bool {
			c.put(3, 1, form(3, 1))
			return bytes.Equal(get(3, 1), form(3, 1))
		}},
		{"another version is a miss", func() bool { return get(3, 2) == nil }},
		{"a new version replaces the old", func() bool {
			c.put(3, 2, form(3, 2))
			return bytes.Equal(get(3, 2), form(3, 2)) && get(3, 1) == nil
		}},
		{"an unknown ordinal is a miss", func() bool { return get(999, 1) == nil }},
		{"fill keeps forms while the ring has room, then refuses", func() bool {
			kept := 0
			for o := uint32(2000); o < 3000 && c.fill(o, 1, form(o, 1)); o++ {
				kept++
			}
			return kept > 0 && kept < 1000 && bytes.Equal(get(3, 2), form(3, 2)) && bytes.Equal(get(2000, 1), form(2000, 1))
		}},
		{"a form larger than an eighth of the ring is not kept", func() bool {
			c.put(5, 1, make([]byte, 1<<14))
			return get(5, 1) == nil
		}},
		{"the oldest forms are overwritten first", func() bool {
			for o := uint32(10); o < 1000; o++ {
				c.put(o, 1, form(o, 1))
			}
			return get(3, 2) == nil && get(10, 1) == nil && bytes.Equal(get(999, 1), form(999, 1)) && bytes.Equal(get(990, 1), form(990, 1))
		}},
	} {
		if !tc.run() {
			t.Errorf("%s: does not hold", tc.name)
		}
	}
	// Every form still reported as cached is intact.
	for o := uint32(10); o < 1000; o++ {
		if got := get(o, 1); got != nil && !bytes.Equal(got, form(o, 1)) {
			t.Fatalf("ordinal %d: damaged form %q", o, got)
		}
	}
}

// TestNormalCacheChunks checks the ring of small chunks against a plain
// map of the latest form of each ordinal: whatever the cache answers is
// that form, the forms written last are all there, and chunks are
// allocated only as the ring first fills them.
func TestNormalCacheChunks(t *testing.T) {
	const chunk = 1 << 12
	c := newChunkedCache(1<<16, chunk) // 16 chunks
	if allocated(c) != 0 {
		t.Fatalf("a new cache holds %d bytes, want none", allocated(c))
	}
	latest := map[uint32][]byte{}
	form := func(ord uint32, version int) []byte {
		// Lengths vary so that entries end anywhere in a chunk.
		return bytes.Repeat([]byte(fmt.Sprintf("%d.%d;", ord, version)), 1+int(ord*7+uint32(version))%40)
	}
	var order []uint32 // ordinals in the order of their latest put
	written := 0
	for i := range 5000 {
		ord := uint32(i*31) % 700
		version := i
		f := form(ord, version)
		c.put(ord, version, f)
		latest[ord] = f
		order = append(order, ord)
		written += cacheHeader + len(f)
		if i == 10 && allocated(c) != chunk {
			t.Fatalf("after %d bytes of entries, %d bytes allocated, want one chunk", written, allocated(c))
		}
		if written < 1<<15 && allocated(c) > written*5/4+chunk { // a chunk's end may go unused
			t.Fatalf("after %d bytes of entries, %d bytes allocated", written, allocated(c))
		}
	}
	if allocated(c) != 1<<16 {
		t.Fatalf("after a full turn, %d bytes allocated, want the whole ring (65536)", allocated(c))
	}
	versions := map[uint32]int{}
	for i, ord := range order {
		versions[ord] = i
	}
	hits := 0
	for ord, want := range latest {
		var got []byte
		hit, err := c.get(ord, versions[ord], func(b []byte) error { got = bytes.Clone(b); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if hit {
			hits++
			if !bytes.Equal(got, want) {
				t.Fatalf("ordinal %d: got %q, want %q", ord, got, want)
			}
		}
		if old, _ := c.get(ord, versions[ord]-700, func([]byte) error { return nil }); old && versions[ord] >= 700 {
			t.Fatalf("ordinal %d: an older version is still answered", ord)
		}
	}
	// The last 100 forms put fit in far less than the ring: all are held.
	for _, ord := range order[len(order)-100:] {
		if hit, _ := c.get(ord, versions[ord], func([]byte) error { return nil }); !hit {
			t.Fatalf("ordinal %d, put among the last 100, is not held", ord)
		}
	}
	if hits == len(latest) {
		t.Fatalf("all %d ordinals held in a ring too small for them: nothing was overwritten", hits)
	}
}

// allocated returns the bytes of the chunks c has allocated so far.
func allocated(c *normalCache) int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.chunks) * int(c.chunk)
}
