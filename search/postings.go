package search

import (
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	index "github.com/blevesearch/bleve_index_api"
	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// Reading the index segment by segment. A query reads a few dozen exact
// terms and decodes a few dozen stored documents; through bleve's reader
// (IndexSnapshot.TermFieldReader, Document) each term lookup builds a term
// dictionary per segment, strips the segment's deleted documents from the
// whole posting list (a roaring AndNot) before the first document is read,
// and each document read is first looked up by its external id in every
// segment. At a million identities with live updates, that was two thirds
// of a served search's CPU. A view reads the same snapshot directly: term
// dictionaries are kept per segment and reused from query to query,
// posting lists are read as the segment's bitmaps with deleted documents
// skipped one by one (a key's document frequency is still exact: the
// postings' intersection with the deletions is counted, not built), and a
// candidate's stored form is read from its segment by number.
//
// A document's number in a view is bleve's own: the segment's offset (the
// documents of the segments before it, deleted included) plus its number in
// the segment, so that candidates keep the order bleve gave them.

// indexedFields are the fields a query looks terms up in.
var indexedFields = [...]string{"name", "name_ph", "name_ph_y", "name_del", "first", "first_ph", "first_born", "first_y", "name_first", "name_born", "born", "year", "ins", "ipp"}

// fieldNum numbers indexedFields.
var fieldNum = func() map[string]int {
	m := make(map[string]int, len(indexedFields))
	for i, f := range indexedFields {
		m[f] = i
	}
	return m
}()

// segDicts are the term dictionaries of one segment, opened as queries need
// them. A dictionary is not safe for concurrent use: each query takes a set
// of its own from the segment's pool.
type segDicts struct {
	dicts [len(indexedFields)]segment.TermDictionary
	it    segment.PostingsIterator // reused to reach a posting list's bitmap
	// pls are the posting lists of a query's lookups, by lookup number:
	// their bitmaps are held until the query ends, then reused.
	pls []segment.PostingsList
}

// maxPooledLookups bounds the posting lists a segment's pooled
// dictionaries keep for reuse.
const maxPooledLookups = 128

// dictPools keeps, per segment, a pool of segDicts and the segment's term
// filter.
type dictPools struct {
	mu   sync.Mutex
	segs map[segment.Segment]*segState
	// budget bounds the bytes the term filters hold together
	// (Options.FilterBytes), used the bytes of those built (both guarded
	// by mu): a segment whose filter would go over is read without one.
	budget, used int64
	building     sync.WaitGroup // term filters being built
	builders     chan struct{}  // one filter built at a time
	closing      atomic.Bool    // the index is closing: builds not started are dropped
}

// segState is what the queries keep of one segment.
type segState struct {
	pool   sync.Pool
	filter atomic.Pointer[termFilter] // nil until built, and for the large segment
	asked  bool                       // a filter was asked for (guarded by dictPools.mu)
}

// get returns the state of segment s. When wantFilter, a filter is built
// for it in the background unless one was asked for already.
func (p *dictPools) get(s segment.Segment, wantFilter bool) *segState {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.segs[s]
	if st == nil {
		if p.segs == nil {
			p.segs = map[segment.Segment]*segState{}
			p.builders = make(chan struct{}, 1)
		}
		st = &segState{pool: sync.Pool{New: func() any { return new(segDicts) }}}
		p.segs[s] = st
	}
	if wantFilter && !st.asked {
		st.asked = true
		// The segment may be merged away while its filter is built: the
		// reference keeps it readable until then.
		s.AddRef()
		p.building.Add(1)
		go func() {
			defer p.building.Done()
			p.builders <- struct{}{}
			// A failed build leaves the segment without a filter: its
			// dictionaries answer every lookup, as without filters.
			if !p.closing.Load() {
				if f, err := buildTermFilter(s, p.reserve); err == nil && f != nil {
					st.filter.Store(f)
				}
			}
			<-p.builders
			_ = s.DecRef()
		}()
	}
	return st
}

// reserve takes n bytes of the filters' budget, and reports whether it
// could; reserve(-n) gives them back.
func (p *dictPools) reserve(n int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.used+n > p.budget {
		return false
	}
	p.used += n
	return true
}

// prune forgets the segments no longer in the index (merged away), once
// they outnumber the live ones: their dictionaries and filters would never
// be used again, and their filters' bytes return to the budget.
func (p *dictPools) prune(live []segView) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.segs) <= 2*len(live)+8 {
		return
	}
	keep := make(map[segment.Segment]*segState, len(live))
	for _, s := range live {
		if st := p.segs[s.seg]; st != nil {
			keep[s.seg] = st
		}
	}
	for s, st := range p.segs {
		if _, ok := keep[s]; !ok {
			if f := st.filter.Load(); f != nil {
				p.used -= f.bytes()
			}
		}
	}
	p.segs = keep
}

// filterShare is the largest share of the index's documents a segment may
// hold and still get a term filter: the large segment holds most query
// terms, so its filter would cost memory (2 bytes a term) for little.
const filterShare = 0.25

// segView is one segment of a view.
type segView struct {
	seg     segment.Segment
	deleted *roaring.Bitmap // nil when none
	offset  uint64
	dicts   *segDicts
	state   *segState
	filter  *termFilter // nil: every lookup reads the dictionary
}

// view is a snapshot of the index read segment by segment. It must be
// closed.
type view struct {
	r       index.IndexReader
	segs    []segView
	live    uint64 // live documents
	lookups int    // lookups made, numbering the posting lists reused
	// filtered is set when a segment has a term filter: a lookup then
	// hashes its term, once for all of them.
	filtered bool
}

// openView opens a view of the index as it is now.
func (x *Index) openView() (*view, error) {
	r, err := x.adv.Reader()
	if err != nil {
		return nil, fmt.Errorf("search: open a reader: %w", err)
	}
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		r.Close()
		return nil, fmt.Errorf("search: the index reader is a %T, not a scorch snapshot", r)
	}
	v := &view{r: r}
	if v.live, err = snap.DocCount(); err != nil {
		r.Close()
		return nil, fmt.Errorf("search: count documents: %w", err)
	}
	segs := snap.Segments()
	v.segs = make([]segView, len(segs))
	var total uint64
	for _, ss := range segs {
		total += ss.Segment().Count()
	}
	var offset uint64
	for i, ss := range segs {
		s := ss.Segment()
		sv := segView{seg: s, offset: offset}
		if d := ss.Deleted(); d != nil && !d.IsEmpty() {
			sv.deleted = d
		}
		// Only a persisted segment gets a filter: one in memory is
		// soon replaced by its persisted copy.
		_, persisted := s.(segment.PersistedSegment)
		wantFilter := persisted && float64(s.Count()) <= filterShare*float64(total)
		sv.state = x.dicts.get(s, wantFilter)
		sv.dicts = sv.state.pool.Get().(*segDicts)
		sv.filter = sv.state.filter.Load()
		v.filtered = v.filtered || sv.filter != nil
		v.segs[i] = sv
		offset += s.Count()
	}
	x.dicts.prune(v.segs)
	return v, nil
}

// close returns the view's dictionaries to their pools and releases the
// snapshot.
func (v *view) close() {
	for i := range v.segs {
		v.segs[i].state.pool.Put(v.segs[i].dicts)
		v.segs[i].dicts = nil
	}
	v.r.Close()
}

// part is a term's postings in one segment: a bitmap of the segment's
// document numbers, deleted documents included, or one document.
type part struct {
	seg int             // index in view.segs
	bm  *roaring.Bitmap // nil: the one document below
	one uint32
}

// postings are a term's postings in a view.
type postings struct {
	parts []part
	df    uint64 // live documents holding the term
}

// lookup returns the postings of a term.
func (v *view) lookup(field, term string) (postings, error) {
	var p postings
	f, ok := fieldNum[field]
	if !ok {
		return p, fmt.Errorf("search: %s is not an indexed field", field)
	}
	t := []byte(term)
	n := v.lookups
	v.lookups++
	var h uint64 // the term's hash, for the segments' filters
	if v.filtered {
		h = termHash(f, term)
	}
	for i := range v.segs {
		sv := &v.segs[i]
		if sv.filter != nil && !sv.filter.mayHold(h) {
			// Keep the posting lists' numbering: lookup n's list is
			// pls[n].
			if n == len(sv.dicts.pls) && n < maxPooledLookups {
				sv.dicts.pls = append(sv.dicts.pls, nil)
			}
			continue
		}
		d := sv.dicts.dicts[f]
		if d == nil {
			var err error
			if d, err = sv.seg.Dictionary(field); err != nil {
				return p, fmt.Errorf("search: dictionary of %s: %w", field, err)
			}
			sv.dicts.dicts[f] = d
		}
		var prealloc segment.PostingsList
		if n < len(sv.dicts.pls) {
			prealloc = sv.dicts.pls[n]
		}
		pl, err := d.PostingsList(t, nil, prealloc)
		if err != nil {
			return p, fmt.Errorf("search: postings of %s %q: %w", field, term, err)
		}
		if n < len(sv.dicts.pls) {
			sv.dicts.pls[n] = pl
		} else if n == len(sv.dicts.pls) && n < maxPooledLookups {
			sv.dicts.pls = append(sv.dicts.pls, pl)
		}
		if pl.Count() == 0 {
			continue
		}
		it := pl.Iterator(false, false, false, sv.dicts.it)
		sv.dicts.it = it
		pt := part{seg: i}
		if o, ok := it.(segment.OptimizablePostingsIterator); ok {
			if doc, one := o.DocNum1Hit(); one {
				pt.one = uint32(doc)
			} else {
				pt.bm = o.ActualBitmap()
			}
		} else {
			// Another segment format: read its postings into a bitmap.
			pt.bm = roaring.New()
			for {
				ps, err := it.Next()
				if err != nil {
					return p, fmt.Errorf("search: postings of %s %q: %w", field, term, err)
				}
				if ps == nil {
					break
				}
				pt.bm.Add(uint32(ps.Number()))
			}
		}
		var n uint64
		switch {
		case pt.bm == nil && (sv.deleted == nil || !sv.deleted.Contains(pt.one)):
			n = 1
		case pt.bm != nil:
			n = pt.bm.GetCardinality()
			if sv.deleted != nil {
				n -= pt.bm.AndCardinality(sv.deleted)
			}
		}
		if n > 0 {
			p.parts = append(p.parts, pt)
			p.df += n
		}
	}
	return p, nil
}

// each calls fn with each live document of the postings, in order.
func (v *view) each(p *postings, fn func(doc uint64)) {
	for _, pt := range p.parts {
		sv := &v.segs[pt.seg]
		if pt.bm == nil {
			if sv.deleted == nil || !sv.deleted.Contains(pt.one) {
				fn(sv.offset + uint64(pt.one))
			}
			continue
		}
		del, off := sv.deleted, sv.offset
		pt.bm.Iterate(func(d uint32) bool {
			if del == nil || !del.Contains(d) {
				fn(off + uint64(d))
			}
			return true
		})
	}
}

// locate returns the segment of a document and its number there.
func (v *view) locate(doc uint64) (int, uint32) {
	i := sort.Search(len(v.segs), func(i int) bool { return v.segs[i].offset > doc }) - 1
	if i < 0 {
		return 0, uint32(doc)
	}
	return i, uint32(doc - v.segs[i].offset)
}

// holds reports whether a live document is in the postings.
func (v *view) holds(p *postings, doc uint64) bool {
	i, local := v.locate(doc)
	for _, pt := range p.parts {
		if pt.seg != i {
			continue
		}
		if pt.bm == nil {
			return pt.one == local
		}
		return pt.bm.Contains(local)
	}
	return false
}

// stored returns the stored form of a document ("" when it has none).
func (v *view) stored(doc uint64) (string, error) {
	i, local := v.locate(doc)
	var data string
	err := v.segs[i].seg.VisitStoredFields(uint64(local), func(field string, _ byte, value []byte, _ []uint64) bool {
		if field == "data" {
			data = string(value) // value is the segment's buffer: copied
		}
		return true
	})
	if err != nil {
		return "", fmt.Errorf("search: read document %d: %w", doc, err)
	}
	return data, nil
}
