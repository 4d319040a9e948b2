package search

import (
	"fmt"
	"testing"

	"vigie"
	"vigie/matcher"
)

// A filter holds every term added to it, in its field only, and turns away
// nearly every other: with 16 bits a term, about 0.2 % of absent terms
// pass (1 % is the bound tested).
func TestTermFilter(t *testing.T) {
	for _, n := range []int{1, 10, 1000, 100_000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			f := newTermFilter(n)
			for i := range n {
				f.add(termHash(i%len(indexedFields), fmt.Sprintf("T%d", i)))
			}
			for i := range n {
				if !f.mayHold(termHash(i%len(indexedFields), fmt.Sprintf("T%d", i))) {
					t.Fatalf("term T%d added, not held", i)
				}
			}
			const absent = 100_000
			passed := 0
			for i := range absent {
				// Terms never added, and added terms in another field.
				term, field := fmt.Sprintf("A%d", i), 0
				if i%2 == 1 && n > 1 {
					term, field = fmt.Sprintf("T%d", i%n), (i%n+1)%len(indexedFields)
				}
				if f.mayHold(termHash(field, term)) {
					passed++
				}
			}
			if rate := float64(passed) / absent; rate > 0.01 {
				t.Fatalf("%.2f %% of absent terms pass, want at most 1 %%", 100*rate)
			}
		})
	}
}

// A segment's filter, built from its dictionaries, holds every term the
// segment indexes.
func TestBuildTermFilter(t *testing.T) {
	x, err := Open("", matcher.DefaultModel(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	var all []Entry
	for i := range 200 {
		all = append(all, tidyPerson(i, i%2))
	}
	if err := x.Batch(all, nil); err != nil {
		t.Fatal(err)
	}
	v, err := x.openView()
	if err != nil {
		t.Fatal(err)
	}
	defer v.close()
	for _, s := range v.segs {
		f, err := buildTermFilter(s.seg, func(int64) bool { return true })
		if err != nil {
			t.Fatal(err)
		}
		held := 0
		for i, field := range indexedFields {
			d, err := s.seg.Dictionary(field)
			if err != nil {
				t.Fatal(err)
			}
			err = eachTerm(d, func(term string) {
				if !f.mayHold(termHash(i, term)) {
					t.Errorf("%s %q is in the segment, not in its filter", field, term)
				}
				held++
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if held < 1000 {
			t.Fatalf("only %d terms in a segment of %d documents", held, s.seg.Count())
		}
	}
}

// The filters' memory is bounded (Options.FilterBytes): a filter the
// budget cannot hold is not built, and the bytes of one are counted.
func TestTermFilterBudget(t *testing.T) {
	x, err := Open("", matcher.DefaultModel(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	var all []Entry
	for i := range 50 {
		all = append(all, tidyPerson(i, i%2))
	}
	if err := x.Batch(all, nil); err != nil {
		t.Fatal(err)
	}
	v, err := x.openView()
	if err != nil {
		t.Fatal(err)
	}
	defer v.close()
	seg := v.segs[0].seg
	var asked int64
	f, err := buildTermFilter(seg, func(n int64) bool { asked = n; return false })
	if err != nil || f != nil || asked <= 0 {
		t.Fatalf("refused budget: filter %v, error %v, %d bytes asked; want none built", f, err, asked)
	}
	f, err = buildTermFilter(seg, func(int64) bool { return true })
	if err != nil || f == nil || f.bytes() != asked {
		t.Fatalf("granted budget: filter of %d bytes (error %v), %d asked", f.bytes(), err, asked)
	}
	p := dictPools{budget: 2 * asked}
	first := p.reserve(asked)
	second := p.reserve(asked)
	if !first || !second || p.reserve(1) {
		t.Fatalf("a budget of two filters: used %d of %d", p.used, p.budget)
	}
	if p.reserve(-asked); !p.reserve(asked) {
		t.Errorf("bytes given back were not reusable: used %d of %d", p.used, p.budget)
	}
	if x.dicts.budget != DefaultFilterBytes {
		t.Errorf("default budget %d, want %d", x.dicts.budget, DefaultFilterBytes)
	}
}

// BenchmarkLookup looks the terms of one identity in every field up in an
// index of one large segment and eight small ones, as live updates leave
// it: with the small segments' term filters, and with every lookup
// reading each segment's dictionary. The identity is in the large segment
// and its names in no small one, as most patients' are; the small ones
// share the birth dates of the large.
func BenchmarkLookup(b *testing.B) {
	x := unmergedIndex(b)
	const large, small, smalls = 20_000, 500, 8
	r := rec("1.2.3.1", "Q1", "LEFEBVRE-DUPONT", "", "GHISLAINE ODETTE", "1957-03-14", "F")
	sought := Entry{ID: "q1", Golden: r, Members: []vigie.Record{r}}
	batch := []Entry{sought}
	for i := range large + small*smalls {
		batch = append(batch, tidyPerson(i, i%3))
		if i+1 == large || (i+1 > large && (i+1-large)%small == 0) {
			if err := x.Batch(batch, nil); err != nil {
				b.Fatal(err)
			}
			batch = nil
			settled(b, x)
		}
	}
	var terms termSet
	entryTerms(&sought, &terms)
	type lookupKey struct{ field, term string }
	var keys []lookupKey
	for f, vs := range terms.terms {
		for _, term := range vs {
			keys = append(keys, lookupKey{indexedFields[f], term})
		}
	}
	v, err := x.openView() // starts the filters' builds
	if err != nil {
		b.Fatal(err)
	}
	v.close()
	x.dicts.building.Wait()
	for _, filters := range []bool{false, true} {
		b.Run(fmt.Sprintf("filters=%v", filters), func(b *testing.B) {
			v, err := x.openView()
			if err != nil {
				b.Fatal(err)
			}
			defer v.close()
			if len(v.segs) != 1+smalls {
				b.Fatalf("%d segments, want %d", len(v.segs), 1+smalls)
			}
			v.filtered = filters
			for i := range v.segs {
				if !filters {
					v.segs[i].filter = nil
				} else if i > 0 && v.segs[i].filter == nil {
					b.Fatalf("small segment %d has no filter", i)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				v.lookups = 0
				for _, k := range keys {
					if _, err := v.lookup(k.field, k.term); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(keys)), "ns/lookup")
		})
	}
}
