package mpi

import (
	"encoding/binary"
	"sync"
)

// normalCache keeps the normalised forms (see normal.go) of the records
// seen last, encoded, in one ring of bytes: the oldest are overwritten
// first. Prepared records are trees of strings; fifty thousand of them were
// most of the objects the garbage collector marked on every cycle at a
// million records. Bytes are not scanned, and a hit costs a decode (a
// couple of microseconds) rather than a read of the store.
type normalCache struct {
	mu   sync.RWMutex // many resolves read at once; a get decodes under it
	ring []byte
	head uint64   // absolute position of the next write
	at   []uint64 // ordinal to absolute position + 1 of its latest entry (0: none)
}

// An entry is its ordinal, version and length (uint32 each), then the form.
const cacheHeader = 12

func newNormalCache(bytes int) *normalCache {
	return &normalCache{ring: make([]byte, max(bytes, 1<<16))}
}

// put keeps the encoded form of a version of record ord.
func (c *normalCache) put(ord uint32, version int, form []byte) { c.keep(ord, version, form, true) }

// fill keeps the form only while the ring has room without overwriting
// another, and reports whether it did: Warm fills the cache no further.
func (c *normalCache) fill(ord uint32, version int, form []byte) bool {
	return c.keep(ord, version, form, false)
}

func (c *normalCache) keep(ord uint32, version int, form []byte, overwrite bool) bool {
	n := uint64(cacheHeader + len(form))
	size := uint64(len(c.ring))
	if n > size/8 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !overwrite && c.head+n > size {
		return false
	}
	pos := c.head % size
	if pos+n > size { // an entry never wraps: start again at the beginning
		c.head += size - pos
		pos = 0
	}
	b := c.ring[pos : pos+n]
	binary.LittleEndian.PutUint32(b, ord)
	binary.LittleEndian.PutUint32(b[4:], uint32(version))
	binary.LittleEndian.PutUint32(b[8:], uint32(len(form)))
	copy(b[cacheHeader:], form)
	if int(ord) >= len(c.at) {
		c.at = append(c.at, make([]uint64, int(ord)+1-len(c.at)+len(c.at)/4)...)
	}
	c.at[ord] = c.head + 1
	c.head += n
	return true
}

// get decodes the cached form of a version of record ord with decode,
// under the cache's lock (decode must copy what it keeps); false when the
// cache does not hold it.
func (c *normalCache) get(ord uint32, version int, decode func([]byte) error) (bool, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if int(ord) >= len(c.at) || c.at[ord] == 0 {
		return false, nil
	}
	abs := c.at[ord] - 1
	size := uint64(len(c.ring))
	if c.head > abs+size { // overwritten since
		return false, nil
	}
	b := c.ring[abs%size:]
	if binary.LittleEndian.Uint32(b) != ord || binary.LittleEndian.Uint32(b[4:]) != uint32(version) {
		return false, nil
	}
	n := binary.LittleEndian.Uint32(b[8:])
	return true, decode(b[cacheHeader : cacheHeader+n])
}
