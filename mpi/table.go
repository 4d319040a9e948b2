package mpi

import "math/bits"

// u32Table maps uint64 keys to uint32 values: the mirror's three large
// maps (blocking key hash to posting, identity to members, source key hash
// to ordinal) hold millions of entries at a million records, and every
// resolution looks up dozens of them. A Go map finds an entry in several
// dependent reads of memory (directory, control word, slot), each a cache
// and TLB miss in tables this size: on the 2-core virtual machine of the
// benchmarks a lookup in a map of 8 million entries took 2.2 µs, against
// 0.9 µs here. Here an entry (key and value side by side, 12 bytes) is
// found by linear probing from its home slot, almost always in the cache
// line read first.
//
// The table is split into shards by the top bits of the mixed key, each
// growing on its own, so that growing never copies more than a 256th of
// it at once (nor holds old and new copies of the whole table).
type u32Table struct {
	shards [tableShards]tableShard
	n      int
	// The key 0 cannot be marked in a slot (0 is an empty slot's key):
	// it is kept here.
	zero    uint32
	hasZero bool
}

const (
	tableShardBits = 8
	tableShards    = 1 << tableShardBits
)

// tableSlot is one entry: the key in two halves (so that a slot is 12
// bytes, not 16), and its value. A key of 0 marks an empty slot.
type tableSlot struct{ lo, hi, val uint32 }

type tableShard struct {
	slots []tableSlot // a power of two long, or empty
	n     int
}

// mix spreads keys that are not hashes (identity numbers are consecutive)
// over the whole range; the top bits choose the shard, the next ones the
// home slot.
func mix(k uint64) uint64 { return (k ^ k>>29) * 0x9e3779b97f4a7c15 }

func (t *u32Table) shard(k uint64) (*tableShard, uint64) {
	h := mix(k)
	return &t.shards[h>>(64-tableShardBits)], h << tableShardBits
}

// get returns the value under k.
func (t *u32Table) get(k uint64) (uint32, bool) {
	if k == 0 {
		return t.zero, t.hasZero
	}
	s, h := t.shard(k)
	if len(s.slots) == 0 {
		return 0, false
	}
	mask := uint64(len(s.slots) - 1)
	lo, hi := uint32(k), uint32(k>>32)
	for i := h >> (64 - bitsOf(len(s.slots))); ; i = (i + 1) & mask {
		e := &s.slots[i]
		if e.lo == lo && e.hi == hi {
			return e.val, true
		}
		if e.lo == 0 && e.hi == 0 {
			return 0, false
		}
	}
}

// set puts v under k.
func (t *u32Table) set(k uint64, v uint32) {
	if k == 0 {
		if !t.hasZero {
			t.n++
		}
		t.zero, t.hasZero = v, true
		return
	}
	s, h := t.shard(k)
	if (s.n+1)*4 > len(s.slots)*3 { // keep the load below three quarters
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	lo, hi := uint32(k), uint32(k>>32)
	for i := h >> (64 - bitsOf(len(s.slots))); ; i = (i + 1) & mask {
		e := &s.slots[i]
		if e.lo == lo && e.hi == hi {
			e.val = v
			return
		}
		if e.lo == 0 && e.hi == 0 {
			*e = tableSlot{lo, hi, v}
			s.n++
			t.n++
			return
		}
	}
}

// remove takes k out of the table (backward-shift deletion: no
// tombstones, so that lookups stay short after many removals).
func (t *u32Table) remove(k uint64) {
	if k == 0 {
		if t.hasZero {
			t.n--
		}
		t.zero, t.hasZero = 0, false
		return
	}
	s, h := t.shard(k)
	if len(s.slots) == 0 {
		return
	}
	nb := bitsOf(len(s.slots))
	mask := uint64(len(s.slots) - 1)
	lo, hi := uint32(k), uint32(k>>32)
	i := h >> (64 - nb)
	for {
		e := &s.slots[i]
		if e.lo == 0 && e.hi == 0 {
			return // absent
		}
		if e.lo == lo && e.hi == hi {
			break
		}
		i = (i + 1) & mask
	}
	// Shift back the entries after the hole that may move into it.
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		e := s.slots[j]
		if e.lo == 0 && e.hi == 0 {
			break
		}
		_, eh := t.shard(uint64(e.hi)<<32 | uint64(e.lo))
		home := eh >> (64 - nb)
		// e may fill the hole at i unless its home lies in (i, j].
		if (j-home)&mask >= (j-i)&mask {
			s.slots[i] = e
			i = j
		}
	}
	s.slots[i] = tableSlot{}
	s.n--
	t.n--
}

// len returns the number of keys.
func (t *u32Table) len() int { return t.n }

// grow doubles the shard's slots and files its entries again.
func (s *tableShard) grow() {
	old := s.slots
	size := max(2*len(old), 64)
	s.slots = make([]tableSlot, size)
	nb := bitsOf(size)
	mask := uint64(size - 1)
	for _, e := range old {
		if e.lo == 0 && e.hi == 0 {
			continue
		}
		h := mix(uint64(e.hi)<<32|uint64(e.lo)) << tableShardBits
		for i := h >> (64 - nb); ; i = (i + 1) & mask {
			if s.slots[i].lo == 0 && s.slots[i].hi == 0 {
				s.slots[i] = e
				break
			}
		}
	}
}

// bitsOf returns log2 of a power of two.
func bitsOf(n int) uint { return uint(bits.TrailingZeros(uint(n))) }
