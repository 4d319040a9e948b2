package search

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	index "github.com/blevesearch/bleve_index_api"

	"vigie/matcher"
)

// A view reads what bleve's own reader reads: on an index of several
// segments with deleted documents (identities re-indexed and removed), every
// term's document frequency and documents, membership of each document, and
// each document's stored form.
func TestViewReadsWhatBleveReads(t *testing.T) {
	x := unmergedIndex(t)
	var all []Entry
	for i := range 300 {
		all = append(all, tidyPerson(i, i%3))
	}
	// Four batches, four segments (each persisted before the next: the
	// persister merges the segments it finds in memory into one); then
	// re-index a third of them (their old documents are deleted where
	// they were) and remove a tenth.
	for b := 0; b < 300; b += 75 {
		if err := x.Batch(all[b:b+75], nil); err != nil {
			t.Fatal(err)
		}
		settled(t, x)
	}
	var again []Entry
	var del []string
	for i := 0; i < 300; i++ {
		switch {
		case i%10 == 0:
			del = append(del, all[i].ID)
		case i%3 == 0:
			again = append(again, tidyPerson(i, 1+i%2))
		}
	}
	if err := x.Batch(again, del); err != nil {
		t.Fatal(err)
	}
	settled(t, x)

	v, err := x.openView()
	if err != nil {
		t.Fatal(err)
	}
	defer v.close()
	if len(v.segs) < 2 {
		t.Fatalf("the test needs several segments, the index has %d", len(v.segs))
	}
	deleted := 0
	for _, s := range v.segs {
		if s.deleted != nil {
			deleted += int(s.deleted.GetCardinality())
		}
	}
	if deleted == 0 {
		t.Fatal("the test needs deleted documents, the index has none")
	}
	if n, _ := v.r.DocCount(); v.live != n || v.live != 270 {
		t.Fatalf("view counts %d live documents, bleve %d, want 270", v.live, n)
	}

	terms := map[[2]string]bool{}
	for _, e := range append(slices.Clone(all), again...) {
		var s termSet
		entryTerms(&e, &s)
		for f, vs := range s.terms {
			for _, term := range vs {
				terms[[2]string{indexedFields[f], term}] = true
			}
		}
	}
	terms[[2]string{"name", "ABSENT"}] = true
	v.filtered = false
	for i := range v.segs {
		v.segs[i].filter = nil // every lookup reads the dictionaries
	}
	checkTerms(t, v, terms)

	// Again through the small segments' term filters, once built: a
	// filter may turn a lookup away only from a segment without the term.
	x.dicts.building.Wait()
	fv, err := x.openView()
	if err != nil {
		t.Fatal(err)
	}
	defer fv.close()
	filtered := 0
	for _, s := range fv.segs {
		if s.filter != nil {
			filtered++
		}
	}
	if filtered < 2 {
		t.Fatalf("%d of %d segments have a term filter, want at least 2", filtered, len(fv.segs))
	}
	if turned := checkTerms(t, fv, terms); turned == 0 {
		t.Fatal("no lookup was turned away by a filter")
	}

	// Stored forms: each live document read by number is the one bleve
	// finds by its id.
	var docs []uint64
	for _, e := range all {
		id, err := v.r.DocIDReaderOnly([]string{e.ID})
		if err != nil {
			t.Fatal(err)
		}
		var d index.IndexInternalID
		if d, err = id.Next(); err != nil {
			t.Fatal(err)
		}
		id.Close()
		if d != nil {
			docs = append(docs, d.Value())
		}
	}
	if len(docs) != 270 {
		t.Fatalf("%d documents found by id, want 270", len(docs))
	}
	var dec entryDecoder // one for all, as a search reuses it
	for _, doc := range docs {
		e, err := load(v, doc, &dec)
		if err != nil || e == nil {
			t.Fatalf("load %d: %v, %v", doc, e, err)
		}
		ext, err := v.r.ExternalID(index.NewIndexInternalID(nil, doc))
		if err != nil {
			t.Fatal(err)
		}
		if e.id != ext {
			t.Fatalf("document %d holds identity %s, bleve says %s", doc, e.id, ext)
		}
	}
}

// unmergedIndex returns an empty index on disk whose segments bleve does
// not merge: its merges would merge the small segments a test needs as
// soon as they are persisted.
func unmergedIndex(tb testing.TB) *Index {
	tb.Helper()
	x, err := open(filepath.Join(tb.TempDir(), "idx"), matcher.DefaultModel(), Options{},
		testConfig(map[string]any{"scorchMergePlanOptions": map[string]any{"MaxSegmentSize": 1}}))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { x.Close() })
	return x
}

// checkTerms asserts that the view finds, for each term, the documents
// and document frequency bleve's own reader finds, and returns how many
// times a segment's filter turned a lookup away.
func checkTerms(t *testing.T, v *view, terms map[[2]string]bool) (turned int) {
	t.Helper()
	ctx := context.Background()
	checked := 0
	for ft := range terms {
		field, term := ft[0], ft[1]
		for _, s := range v.segs {
			if s.filter != nil && !s.filter.mayHold(termHash(fieldNum[field], term)) {
				turned++
			}
		}
		tfr, err := v.r.TermFieldReader(ctx, []byte(term), field, false, false, false)
		if err != nil {
			t.Fatal(err)
		}
		var want []uint64
		var tfd index.TermFieldDoc
		for {
			d, err := tfr.Next(tfd.Reset())
			if err != nil {
				t.Fatal(err)
			}
			if d == nil {
				break
			}
			want = append(want, d.ID.Value())
		}
		df := tfr.Count()
		tfr.Close()
		p, err := v.lookup(field, term)
		if err != nil {
			t.Fatal(err)
		}
		var got []uint64
		v.each(&p, func(doc uint64) { got = append(got, doc) })
		if p.df != df || !slices.Equal(got, want) {
			t.Fatalf("%s %q: view df %d docs %v, bleve df %d docs %v", field, term, p.df, got, df, want)
		}
		for _, doc := range want {
			if !v.holds(&p, doc) {
				t.Fatalf("%s %q: document %d not held", field, term, doc)
			}
		}
		checked++
	}
	if checked < 300 {
		t.Fatalf("only %d terms checked", checked)
	}
	return turned
}
