package search

import (
	"fmt"
	"hash/maphash"

	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// Term filters of the small segments. A query looks each of its few dozen
// terms up in every segment's term dictionary (an FST), and most of its
// terms are in none of the small segments that live updates leave beside
// the large one: a name's one-letter deletions, a phonetic key with a birth
// year. A miss still walks the FST, and with a dozen small segments those
// walks cost a search more than its lookups in the large one: in the index
// of 1.1 million identities the bench store's import left (13 segments), a
// term looked up in every segment took 6.3-8.3 µs, 2.5-2.9 µs of it in the
// large one. A segment's filter answers "this segment cannot hold this
// term" from one cache line, so that only the lookups that may find
// something reach the dictionary: 3.2-4.1 µs a term there.
//
// A filter is built once per segment (segments are immutable), in the
// background, from every term of the fields queries look in; until it is
// ready the segment is read without one. The large segment gets none: most
// of a query's terms are in it.

// termFilter is a split-block Bloom filter (the layout Apache Parquet
// specifies): a key sets one bit in each of the eight 32-bit words of one
// 256-bit block. It has no false negatives; with filterBitsPerTerm bits a
// term, about 0.2 % of absent terms pass (measured on that index).
type termFilter struct {
	blocks [][8]uint32
}

// filterBitsPerTerm sizes a filter: 16 bits a term, 2 bytes.
const filterBitsPerTerm = 16

// blockSalt are the odd constants that spread a key over a block's words
// (from the Parquet specification of its Bloom filters).
var blockSalt = [8]uint32{0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31}

// filterSeed seeds the terms' hashes, the same for every filter so that a
// lookup hashes its term once for all segments. Filters live in memory
// only: a seed per process is enough.
var filterSeed = maphash.MakeSeed()

// termHash is the hash of a term in a field, as filters take it.
func termHash(field int, term string) uint64 {
	return maphash.String(filterSeed, term) ^ (uint64(field+1) * 0x9e3779b97f4a7c15)
}

func newTermFilter(terms int) *termFilter {
	return &termFilter{blocks: make([][8]uint32, filterBytes(terms)/32)}
}

// block is the block of a hash: its high half scaled to the number of
// blocks.
func (f *termFilter) block(h uint64) *[8]uint32 {
	return &f.blocks[(h>>32)*uint64(len(f.blocks))>>32]
}

// add adds the term of hash h (termHash).
func (f *termFilter) add(h uint64) {
	b, key := f.block(h), uint32(h)
	for i, s := range blockSalt {
		b[i] |= 1 << ((key * s) >> 27)
	}
}

// mayHold reports whether the segment may hold the term of hash h
// (termHash); false is certain.
func (f *termFilter) mayHold(h uint64) bool {
	b, key := f.block(h), uint32(h)
	for i, s := range blockSalt {
		if b[i]&(1<<((key*s)>>27)) == 0 {
			return false
		}
	}
	return true
}

// bytes is the memory the filter holds.
func (f *termFilter) bytes() int64 { return int64(len(f.blocks)) * 32 }

// filterBytes is the memory of a filter of that many terms.
func filterBytes(terms int) int64 { return int64(max(1, (terms*filterBitsPerTerm+255)/256)) * 32 }

// buildTermFilter reads every term of the indexed fields of s, once
// reserve granted the filter's memory; nil when it did not.
func buildTermFilter(s segment.Segment, reserve func(bytes int64) bool) (*termFilter, error) {
	dicts := make([]segment.TermDictionary, len(indexedFields))
	terms := 0
	for i, field := range indexedFields {
		d, err := s.Dictionary(field)
		if err != nil {
			return nil, fmt.Errorf("search: dictionary of %s: %w", field, err)
		}
		dicts[i] = d
		terms += d.Cardinality()
	}
	if !reserve(filterBytes(terms)) {
		return nil, nil
	}
	f := newTermFilter(terms)
	for i, d := range dicts {
		if err := eachTerm(d, func(term string) { f.add(termHash(i, term)) }); err != nil {
			reserve(-f.bytes()) // given back
			return nil, fmt.Errorf("search: terms of %s: %w", indexedFields[i], err)
		}
	}
	return f, nil
}

// eachTerm calls fn with every term of a dictionary, in order, without
// reading the posting lists when the segment format allows.
func eachTerm(d segment.TermDictionary, fn func(term string)) error {
	type omitCount interface {
		AutomatonIteratorOmitCount(a segment.Automaton, start, end []byte) segment.DictionaryIterator
	}
	var it segment.DictionaryIterator
	if o, ok := d.(omitCount); ok {
		it = o.AutomatonIteratorOmitCount(everyTerm{}, nil, nil)
	} else {
		it = d.AutomatonIterator(everyTerm{}, nil, nil)
	}
	for {
		e, err := it.Next()
		if err != nil {
			return err
		}
		if e == nil {
			return nil
		}
		fn(e.Term)
	}
}

// everyTerm is the automaton that accepts every term.
type everyTerm struct{}

func (everyTerm) Start() int               { return 0 }
func (everyTerm) IsMatch(int) bool         { return true }
func (everyTerm) CanMatch(int) bool        { return true }
func (everyTerm) WillAlwaysMatch(int) bool { return true }
func (everyTerm) Accept(int, byte) int     { return 0 }
