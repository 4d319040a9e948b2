package main

import (
	"context"
	"testing"

	"vigie"

	"github.com/blevesearch/bleve/v2"

	"vigie/mpi"
	"vigie/search"
)

// A search index left by a build with another document format is rebuilt
// from the patient index when the server or the search verb opens it, and
// says so; one of the current format is reopened and caught up.
func TestOpenSearchIndexRebuildsAnotherFormat(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	_, ix, closeIndex, err := openIndex(data, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer closeIndex()
	r := vigie.Record{Authority: "1.2.250.1.213.1.1.1.3", LocalID: "A1", BirthName: "ETCHEVERRY", FirstNames: "MAITE", BirthDate: "1968-05-21", Sex: "F"}
	res, err := ix.Resolve(ctx, r, mpi.System)
	if err != nil {
		t.Fatal(err)
	}
	// The first format's index: a bleve index without a format mark.
	old, err := bleve.New(searchDir(data), bleve.NewIndexMapping())
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	for i, wantNotices := range []int{1, 0} {
		var notices []string
		sx, err := openSearchIndex(ctx, data, ix, func(msg string) { notices = append(notices, msg) })
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		hits, err := sx.Search(ctx, search.Query{BirthName: "ETCHEVERRY", FirstNames: "MAITE", BirthDate: "1968-05-21"})
		sx.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(notices) != wantNotices {
			t.Errorf("open %d: notices %q, want %d", i, notices, wantNotices)
		}
		if len(hits) == 0 || hits[0].ID != res.Identity.String() {
			t.Errorf("open %d: the identity is not found after opening: %+v", i, hits)
		}
	}
}
