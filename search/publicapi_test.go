package search

import (
	"context"
	"testing"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"

	"vigie/synth"
)

// The costs of bleve's public API for what the index reads and writes
// through its segments (README, "The search index and bleve's public
// API"): each benchmark does the same work both ways on the index of
// BenchmarkSearch (5,000 generated persons).

// publicQueries returns the typed queries of BenchmarkSearch and the index
// they run on.
func publicQueries(b *testing.B) (*Index, []Query) {
	x := newIndex(b, "")
	persons := generatedIndex(b, x, 5000, 7)
	var qs []Query
	for i := 0; len(qs) < 500; i++ {
		p := persons[(i*7919)%len(persons)]
		if p.Anonymous {
			continue
		}
		tq := synth.TypedQuery(p, uint64(i))
		qs = append(qs, Query{BirthName: tq.BirthName, UsedName: tq.UsedName, FirstNames: tq.FirstNames, BirthDate: tq.BirthDate,
			Sex: tq.Sex, PostalCode: tq.PostalCode, Limit: 5})
	}
	return x, qs
}

// BenchmarkKeysPublicAPI reads every exact key of a typed query (its
// one-typo keys left out) and the documents holding it, at most
// maxGenerate of them: through a view (segments, by document number), and
// through bleve's public API (a term query per key, unscored: its count,
// then its hits' ids). It reports the cost per query and per key.
func BenchmarkKeysPublicAPI(b *testing.B) {
	x, qs := publicQueries(b)
	keysOf := make([][]key, len(qs))
	nkeys := 0
	for i := range qs {
		p, err := qs[i].Validate()
		if err != nil {
			b.Fatal(err)
		}
		for _, k := range queryKeys(&qs[i], p) {
			if !k.typo {
				keysOf[i] = append(keysOf[i], k)
			}
		}
		nkeys += len(keysOf[i])
	}
	perKey := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)*float64(len(qs))/float64(nkeys), "ns/key")
	}
	b.Run("view", func(b *testing.B) {
		b.ReportAllocs()
		docs := 0
		for i := 0; b.Loop(); i++ {
			v, err := x.openView()
			if err != nil {
				b.Fatal(err)
			}
			for _, k := range keysOf[i%len(qs)] {
				p, err := v.lookup(k.field, k.term)
				if err != nil {
					b.Fatal(err)
				}
				if p.df <= maxGenerate {
					v.each(&p, func(uint64) { docs++ })
				}
			}
			v.close()
		}
		perKey(b)
	})
	b.Run("public", func(b *testing.B) {
		b.ReportAllocs()
		docs := 0
		for i := 0; b.Loop(); i++ {
			for _, k := range keysOf[i%len(qs)] {
				// The count first, then the hits: a collector sized
				// for maxGenerate hits at once cost twice as much.
				tq := query.NewTermQuery(k.term)
				tq.SetField(k.field)
				req := bleve.NewSearchRequestOptions(tq, 0, 0, false)
				req.Score = "none"
				res, err := x.bi.Search(req)
				if err != nil {
					b.Fatal(err)
				}
				if res.Total == 0 || res.Total > maxGenerate {
					continue
				}
				req.Size = int(res.Total)
				if res, err = x.bi.Search(req); err != nil {
					b.Fatal(err)
				}
				docs += len(res.Hits)
			}
		}
		perKey(b)
	})
}

// BenchmarkStoredPublicAPI reads the stored form of the 30 candidates a
// query scores (minCandidates): through a view, by document number, and
// through bleve's public API, by id (Index.Document).
func BenchmarkStoredPublicAPI(b *testing.B) {
	x, qs := publicQueries(b)
	type cands struct {
		docs []uint64
		ids  []string
	}
	all := make([]cands, 0, len(qs))
	v, err := x.openView()
	if err != nil {
		b.Fatal(err)
	}
	dec := new(entryDecoder)
	for i := range qs {
		p, err := qs[i].Validate()
		if err != nil {
			b.Fatal(err)
		}
		cs, err := findCandidates(context.Background(), v, queryKeys(&qs[i], p), minCandidates)
		if err != nil {
			b.Fatal(err)
		}
		var c cands
		for _, cd := range cs {
			e, err := load(v, cd.doc, dec)
			if err != nil || e == nil {
				b.Fatal(err)
			}
			c.docs, c.ids = append(c.docs, cd.doc), append(c.ids, e.id)
		}
		all = append(all, c)
	}
	v.close()
	b.Run("view", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			v, err := x.openView()
			if err != nil {
				b.Fatal(err)
			}
			for _, doc := range all[i%len(all)].docs {
				if _, err := load(v, doc, dec); err != nil {
					b.Fatal(err)
				}
			}
			v.close()
		}
	})
	b.Run("public", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			for _, id := range all[i%len(all)].ids {
				d, err := x.bi.Document(id)
				if err != nil || d == nil {
					b.Fatal(id, err)
				}
				var data []byte
				d.VisitFields(func(f index.Field) {
					if f.Name() == "data" {
						data = f.Value()
					}
				})
				if _, err := dec.decode(string(data)); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// BenchmarkMappedDocument builds the documents of 500 generated persons'
// identities: by hand (toDocument, what the index does) and through
// bleve's public mapping (Batch.Index maps a value through the index's
// mapping: the same terms, as TestDocumentAsMapped checks).
func BenchmarkMappedDocument(b *testing.B) {
	entries := formVariants(b)[1].entries // forms known, as the follower has them
	m := indexMapping()
	b.Run("built", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for i := range entries {
				if _, err := toDocument(&entries[i]); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(entries)), "ns/identity")
	})
	b.Run("mapped", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for i := range entries {
				e := &entries[i]
				var s termSet
				entryTerms(e, &s)
				v := make(map[string]any, len(indexedFields)+1)
				for f, list := range s.terms {
					if len(list) > 0 {
						v[indexedFields[f]] = list
					}
				}
				v["data"] = string(encodeEntry(e))
				d := document.NewDocument(e.ID)
				if err := m.MapDocument(d, v); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(entries)), "ns/identity")
	})
}
