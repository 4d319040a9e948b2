package search

import (
	"context"
	"errors"
	"strings"
	"testing"

	"vigie"

	"github.com/blevesearch/bleve/v2/document"

	"vigie/internal/door"
	"vigie/mpi"
)

// Regression of issue 26, defect 1 (the "inside" half): an identity whose
// document cannot be built is skipped, counted and reported by id, and the
// catch-up goes on with the others instead of failing, and being retried,
// forever. An identity with a 900 KB birth name (a Badger value holds at
// most 1 MiB), as a store of an earlier version may hold one, is indexed in
// bounded work (its terms are counted by TestDocumentTermsBounded) and
// found.
//
// The door refuses such a name now: the records are written with the door
// open (door.WithoutDoor). A query passes the door too, so the huge
// identity is looked for by what a query can hold (the bound on a huge
// query's keys is TestQueryKeysBounded's).
func TestCatchUpSkipsPoisonedIdentity(t *testing.T) {
	ctx := context.Background()
	idx := memoryMPI(t)
	door.WithoutDoor(t)
	var resolved []vigie.IdentityID
	for _, r := range hugeAndPlain() {
		res, err := idx.Resolve(ctx, r, mpi.System)
		if err != nil {
			t.Fatal(err)
		}
		resolved = append(resolved, res.Identity)
	}
	poisoned := resolved[1].String()
	build := buildDocument
	t.Cleanup(func() { buildDocument = build })
	buildDocument = func(e *Entry) (*document.Document, error) {
		switch e.ID {
		case poisoned:
			panic("a document that cannot be built")
		}
		return build(e)
	}
	var reported []string
	x, err := Open("", idx.Model(), Options{Skipped: func(id string, err error) {
		if strings.Contains(err.Error(), "DUPONT") {
			t.Errorf("the report of a skipped identity names the patient: %v", err)
		}
		reported = append(reported, id)
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	if x.Ready() {
		t.Error("ready before any catch-up")
	}
	if _, err := x.CatchUp(ctx, idx); err != nil {
		t.Fatalf("catch-up failed on a poisoned identity: %v", err)
	}
	if !x.Ready() {
		t.Error("not ready after a catch-up to the end")
	}
	if x.Skipped() != 1 || len(reported) != 1 || reported[0] != poisoned {
		t.Errorf("skipped %d, reported %v, want 1 and [%s]", x.Skipped(), reported, poisoned)
	}
	if n := length(t, x); n != len(resolved)-1 {
		t.Errorf("%d identities indexed, want %d", n, len(resolved)-1)
	}
	// Nothing new: the poisoned identity is not tried again.
	if n, err := x.CatchUp(ctx, idx); err != nil || n != 0 || x.Skipped() != 1 {
		t.Errorf("second catch-up: %d events, %v, %d skipped", n, err, x.Skipped())
	}
	hits, err := x.Search(ctx, Query{BirthName: "MARTIN", FirstNames: "JEAN", BirthDate: "1961-04-09"})
	if err != nil || len(hits) == 0 || hits[0].ID != resolved[2].String() {
		t.Errorf("search beside a poisoned identity: %v, %v", ids(hits), err)
	}
	// The huge identity, by its first name and birth date (its name
	// scored against the one typed), and by its local id.
	for _, q := range []Query{
		{BirthName: "ZORGLUB", FirstNames: "ANNE", BirthDate: "1970-01-02"},
		{LocalIDs: []LocalID{{"1.2.3.1", "H1"}}},
	} {
		hits, err = x.Search(ctx, q)
		if err != nil || len(hits) == 0 || hits[0].ID != resolved[0].String() {
			t.Errorf("search of the identity with a 900 KB name (%+.60v): %v, %v", q, ids(hits), err)
		}
	}
}

// A failure of the batch as a whole is not a poisoned identity: it is
// returned, and nothing is skipped.
func TestApplyReturnsBatchFailure(t *testing.T) {
	x, err := Open("", nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := x.apply([]Entry{{ID: ""}}, nil, nil); err != nil || x.Skipped() != 1 {
		t.Errorf("an entry without id: %v, %d skipped; want it skipped", err, x.Skipped())
	}
	x.Close()
	err = x.apply([]Entry{people[0]}, nil, nil)
	var ee *entryError
	if err == nil || errors.As(err, &ee) || x.Skipped() != 1 {
		t.Errorf("closed index: %v, %d skipped; want the batch's error and nothing skipped", err, x.Skipped())
	}
}

// hugeAndPlain are records resolved with the door open: a 900 KB birth name,
// a record whose document the tests poison, and a plain one.
func hugeAndPlain() []vigie.Record {
	return []vigie.Record{
		rec("1.2.3.1", "H1", strings.Repeat("ZORGLUB", 900_000/7), "", "ANNE", "1970-01-02", "F"),
		rec("1.2.3.1", "P1", "DUPONT", "", "MARIE", "1958-03-02", "F"),
		rec("1.2.3.1", "M1", "MARTIN", "", "JEAN", "1961-04-09", "M"),
	}
}
