package mpi

import (
	"bytes"
	"hash/maphash"
	"slices"
	"strings"
	"sync"

	"vigie"
)

// The in-memory mirror holds a few words per record and almost no pointers:
// at a million records, maps of strings and slices cost hundreds of
// megabytes and, above all, a garbage collector that scans them on every
// cycle. Records are numbered by ordinal (in the order the mirror first
// saw them); their source keys live back to back in one byte arena.

// keyTable numbers source keys: ordinal to key and key to ordinal.
type keyTable struct {
	seed  maphash.Seed
	arena []byte            // authority NUL local id, for each ordinal in turn
	ends  []uint32          // ends[o]: where key o ends in arena
	index u32Table          // hash of a key to its ordinal
	spill map[string]uint32 // keys whose hash an earlier key already took (skey form)
	auths map[string]string // authorities, interned
}

func newKeyTable(seed maphash.Seed) keyTable {
	return keyTable{seed: seed, spill: map[string]uint32{}, auths: map[string]string{}}
}

func (kt *keyTable) hash(k vigie.SourceKey) uint64 {
	var h maphash.Hash
	h.SetSeed(kt.seed)
	h.WriteString(k.Authority)
	h.WriteByte(0)
	h.WriteString(k.LocalID)
	return h.Sum64()
}

func (kt *keyTable) bytesOf(o uint32) []byte {
	start := uint32(0)
	if o > 0 {
		start = kt.ends[o-1]
	}
	return kt.arena[start:kt.ends[o]]
}

func (kt *keyTable) equal(o uint32, k vigie.SourceKey) bool {
	b := kt.bytesOf(o)
	n := len(k.Authority)
	return len(b) == n+1+len(k.LocalID) && string(b[:n]) == k.Authority && b[n] == 0 && string(b[n+1:]) == k.LocalID
}

// find returns the ordinal of k.
func (kt *keyTable) find(k vigie.SourceKey) (uint32, bool) {
	if o, ok := kt.index.get(kt.hash(k)); ok && kt.equal(o, k) {
		return o, true
	}
	if len(kt.spill) == 0 {
		return 0, false
	}
	o, ok := kt.spill[skey(k)]
	return o, ok
}

// add numbers k, which find does not know. It is the only writer of the
// table (under Index.memMu held for writing): key, called under the read
// lock, only reads the interned authorities.
func (kt *keyTable) add(k vigie.SourceKey) uint32 {
	if _, ok := kt.auths[k.Authority]; !ok {
		a := strings.Clone(k.Authority)
		kt.auths[a] = a
	}
	o := uint32(len(kt.ends))
	kt.arena = append(append(append(kt.arena, k.Authority...), 0), k.LocalID...)
	kt.ends = append(kt.ends, uint32(len(kt.arena)))
	h := kt.hash(k)
	if _, taken := kt.index.get(h); taken {
		kt.spill[skey(k)] = o
	} else {
		kt.index.set(h, o)
	}
	return o
}

// key returns the source key of an ordinal (its authority interned).
func (kt *keyTable) key(o uint32) vigie.SourceKey {
	b := kt.bytesOf(o)
	i := bytes.IndexByte(b, 0)
	auth, ok := kt.auths[string(b[:i])]
	if !ok { // every authority is interned by add; this is only a fallback
		auth = string(b[:i])
	}
	return vigie.SourceKey{Authority: auth, LocalID: string(b[i+1:])}
}

func (kt *keyTable) len() int { return len(kt.ends) }

// postings is the blocking index: a hash of each blocking key to the
// ordinals filed under it. A key with one record (most of them) holds the
// ordinal itself in the map; a longer list lives in one slab of uint32, so
// that nothing in it is a pointer. A hash collision only adds candidates.
type postings struct {
	m    *u32Table // ordinal, or listBit|offset of a list in slab
	slab []uint32  // lists: length, capacity, then capacity entries
}

const listBit = 1 << 31

func newPostings() postings { return postings{m: new(u32Table)} }

// list returns the ordinals filed under h, in the order they were filed
// or set; the slice is valid until the next change.
func (p *postings) list(h uint64, one *[1]uint32) []uint32 {
	v, ok := p.m.get(h)
	switch {
	case !ok:
		return nil
	case v&listBit == 0:
		one[0] = v
		return one[:]
	}
	off := v &^ listBit
	return p.slab[off+2 : off+2+p.slab[off]]
}

// get appends the ordinals filed under h to buf.
func (p *postings) get(h uint64, buf []uint32) []uint32 {
	var one [1]uint32
	return append(buf, p.list(h, &one)...)
}

// size returns how many ordinals are filed under h.
func (p *postings) size(h uint64) int {
	var one [1]uint32
	return len(p.list(h, &one))
}

// has reports whether anything is filed under h.
func (p *postings) has(h uint64) bool {
	_, ok := p.m.get(h)
	return ok
}

// set replaces the list under h by ords (in this order; none deletes it).
func (p *postings) set(h uint64, ords []uint32) {
	v, ok := p.m.get(h)
	switch {
	case len(ords) == 0:
		p.m.remove(h)
		return
	case len(ords) == 1:
		p.m.set(h, ords[0])
		return
	}
	var off uint32
	if ok && v&listBit != 0 && p.slab[v&^listBit+1] >= uint32(len(ords)) {
		off = v &^ listBit // fits where it is
	} else {
		off = p.alloc(uint32(max(2*len(ords), 4)))
		p.m.set(h, listBit|off)
	}
	p.slab[off] = uint32(copy(p.slab[off+2:], ords))
}

// add files ordinal o under h.
func (p *postings) add(h uint64, o uint32) {
	v, ok := p.m.get(h)
	if !ok {
		p.m.set(h, o)
		return
	}
	if v&listBit == 0 {
		off := p.alloc(2)
		p.slab[off], p.slab[off+2], p.slab[off+3] = 2, v, o
		p.m.set(h, listBit|off)
		return
	}
	off := v &^ listBit
	n, c := p.slab[off], p.slab[off+1]
	if n == c { // move the list to the end of the slab, twice as large
		noff := p.alloc(2 * c)
		copy(p.slab[noff+2:], p.slab[off+2:off+2+n])
		p.slab[noff] = n
		off = noff
		p.m.set(h, listBit|off)
	}
	p.slab[off+2+n] = o
	p.slab[off]++
}

// alloc reserves a list of capacity c at the end of the slab. A list that
// grows leaves its old place unused: at most as much as is in use.
func (p *postings) alloc(c uint32) uint32 {
	off := uint32(len(p.slab))
	if need := int(off + 2 + c); need > cap(p.slab) {
		// Grow by a quarter rather than double: the slab is the largest
		// thing the mirror holds.
		p.slab = slices.Grow(p.slab, max(need, cap(p.slab)+cap(p.slab)/4)-len(p.slab))
	}
	p.slab = p.slab[:off+2+c]
	clear(p.slab[off:])
	p.slab[off+1] = c
	return off
}

// remove takes ordinal o out of h.
func (p *postings) remove(h uint64, o uint32) {
	v, ok := p.m.get(h)
	switch {
	case !ok:
		return
	case v&listBit == 0:
		if v == o {
			p.m.remove(h)
		}
		return
	}
	off := v &^ listBit
	n := p.slab[off]
	list := p.slab[off+2 : off+2+n]
	for i, x := range list {
		if x == o {
			list[i] = list[n-1]
			n--
			p.slab[off] = n
			break
		}
	}
	switch n {
	case 0:
		p.m.remove(h)
	case 1:
		p.m.set(h, p.slab[off+2])
	}
}

// counter counts, for one resolution, how many blocking rules each record
// shares a key of with the record being resolved (two keys of one rule,
// such as one address under its postal code and under its town, count
// once: they are one trait). It is indexed by ordinal and
// reset by bumping its epoch, so that counting costs no hashing and no
// clearing. A record's stamp and count sit side by side in 4 bytes: one
// miss of the cache per record counted, not two, in an array small enough
// (4 MB at a million records) to stay mostly in the processor's cache; the
// 16-bit epoch wraps every 65,535 resolutions, when the array is cleared.
type counter struct {
	epoch   uint16
	slots   []counterSlot
	touched []uint32
	idents  []vigie.IdentityID // scratch for the caller
	warm    int                // what reading ahead read (kept, so that it is not optimised away)
}

type counterSlot struct {
	stamp uint16 // the epoch count belongs to
	count uint8
	rule  uint8 // the run of keys of one rule that last counted the record (see add)
}

// counters keeps the counters between resolutions (a sync.Pool would
// drop them at every garbage collection, and one is a few megabytes at a
// million records).
type counters struct {
	mu   sync.Mutex
	free []*counter
}

func (cs *counters) get() *counter {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if n := len(cs.free); n > 0 {
		c := cs.free[n-1]
		cs.free = cs.free[:n-1]
		return c
	}
	return new(counter)
}

func (cs *counters) put(c *counter) {
	cs.mu.Lock()
	cs.free = append(cs.free, c)
	cs.mu.Unlock()
}

// reset prepares the counter for ordinals below n.
func (c *counter) reset(n int) {
	if len(c.slots) < n {
		grow := max(n, len(c.slots)+len(c.slots)/4, 1024)
		c.slots = slices.Grow(c.slots, grow-len(c.slots))[:grow]
	}
	c.epoch++
	if c.epoch == 0 { // wrapped: forget every stamp
		clear(c.slots)
		c.epoch = 1
	}
	c.touched = c.touched[:0]
}

// add counts inc for o under rule, the number (from 1) of the run of
// consecutive keys of one rule being read: a record already counted in
// this run is counted again only for an inc above 1 (a rare key, which
// suffices on its own whatever was counted before).
func (c *counter) add(o uint32, inc int, rule uint8) {
	e := &c.slots[o]
	if e.stamp != c.epoch {
		e.stamp, e.count, e.rule = c.epoch, 0, 0
		c.touched = append(c.touched, o)
	} else if e.rule == rule && inc <= 1 {
		return
	}
	e.rule = rule
	e.count = uint8(min(int(e.count)+inc, 1<<8-1))
}

// count returns how many keys o shares (o must have been touched).
func (c *counter) count(o uint32) int { return int(c.slots[o].count) }
