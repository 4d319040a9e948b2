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
