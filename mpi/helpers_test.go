package mpi

import (
	"context"
	"testing"

	"vigie"
	"vigie/matcher"
	"vigie/store"
)

var ctx = context.Background()

// openIndex opens an index over an in-memory store with model (the shipped
// model when nil).
func openIndex(t *testing.T, model *matcher.Model) *Index {
	t.Helper()
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if model == nil {
		model = matcher.DefaultModel()
	}
	ix, err := Open(db, model, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ix.Verify(ctx); err != nil {
			t.Errorf("invariants broken at the end of the test:\n%v", err)
		}
		ix.Close()
	})
	return ix
}

// person returns a complete record of one made-up person at a site.
func person(authority, localID string) vigie.Record {
	return vigie.Record{Authority: authority, LocalID: localID, BirthName: "LAFFITTE", FirstName: "Bernadette",
		FirstNames: "Bernadette Marie", BirthDate: "1948-03-17", Sex: "F", BirthPlace: "33063",
		PostalCode: "33000", City: "BORDEAUX", Address: "12 rue Sainte-Catherine"}
}

// other returns a record of a clearly different person.
func other(authority, localID string) vigie.Record {
	return vigie.Record{Authority: authority, LocalID: localID, BirthName: "ETCHEVERRY", FirstName: "Ramuntxo",
		BirthDate: "1990-11-02", Sex: "M", BirthPlace: "64102", PostalCode: "64100", City: "BAYONNE"}
}

func resolve(t *testing.T, ix *Index, r vigie.Record) Result {
	t.Helper()
	res, err := ix.Resolve(ctx, r, System)
	if err != nil {
		t.Fatalf("resolve %s/%s: %v", r.Authority, r.LocalID, err)
	}
	return res
}

// scoreOf scores two records with the index's model as Resolve would.
func scoreOf(t *testing.T, ix *Index, a, b vigie.Record) matcher.Score {
	t.Helper()
	pa, err := matcher.Prepare(&a)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := matcher.Prepare(&b)
	if err != nil {
		t.Fatal(err)
	}
	c := matcher.Compare(pa, pb)
	return ix.scoringModel().Score(&c, ix.freq)
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := vigie.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func key(r vigie.Record) vigie.SourceKey {
	return vigie.SourceKey{Authority: r.Authority, LocalID: r.LocalID}
}

func identityOf(t *testing.T, ix *Index, r vigie.Record) vigie.IdentityID {
	t.Helper()
	id, err := ix.IdentityOf(ctx, r.Authority, r.LocalID)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
