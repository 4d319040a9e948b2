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
//
// The ring is made of chunks allocated as the cache first fills them, so
// that a cache sized for a regional index costs a small store only what it
// holds: the whole ring, allocated at once, counted in the live heap of a
// server of a few thousand records (and in the garbage collector's goal)
// as 640 MB.
type normalCache struct {
	mu     sync.RWMutex // many resolves read at once; a get decodes under it
	chunks [][]byte     // allocated in order, each cacheChunk bytes (or size when smaller)
	chunk  uint64       // bytes of a chunk
	size   uint64       // bytes of the whole ring: a multiple of chunk
	head   uint64       // absolute position of the next write
	at     []uint64     // ordinal to absolute position + 1 of its latest entry (0: none)
}

// An entry is its ordinal, version and length (uint32 each), then the form.
const cacheHeader = 12

// cacheChunk is the size of the ring's chunks: small against a regional
// cache (a few hundred MB), large against one form (a few hundred bytes).
const cacheChunk = 4 << 20

func newNormalCache(bytes int) *normalCache { return newChunkedCache(bytes, cacheChunk) }

// newChunkedCache returns a cache of at least bytes (64 KB at least) in
// chunks of chunk bytes (the tests' small chunks cross their boundaries
// often).
func newChunkedCache(bytes, chunk int) *normalCache {
	size := uint64(max(bytes, 1<<16))
	chunk = min(int(size), chunk)
	size = (size + uint64(chunk) - 1) / uint64(chunk) * uint64(chunk)
	return &normalCache{chunk: uint64(chunk), size: size}
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
	if n > c.chunk/8 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	pos := c.head % c.size
	if off := pos % c.chunk; off+n > c.chunk { // an entry never spans two chunks
		c.head += c.chunk - off
		pos = c.head % c.size
	}
	if !overwrite && c.head+n > c.size {
		return false
	}
	i := pos / c.chunk
	if i == uint64(len(c.chunks)) {
		c.chunks = append(c.chunks, make([]byte, c.chunk))
	}
	off := pos % c.chunk
	b := c.chunks[i][off : off+n]
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
	if c.head > abs+c.size { // overwritten since
		return false, nil
	}
	pos := abs % c.size
	b := c.chunks[pos/c.chunk][pos%c.chunk:]
	if binary.LittleEndian.Uint32(b) != ord || binary.LittleEndian.Uint32(b[4:]) != uint32(version) {
		return false, nil
	}
	n := binary.LittleEndian.Uint32(b[8:])
	return true, decode(b[cacheHeader : cacheHeader+n])
}
