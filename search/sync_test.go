package search

import (
	"bytes"
	"context"
	"testing"

	"vigie"
	"vigie/matcher"
	"vigie/mpi"
	"vigie/store"
)

// memoryMPI opens a patient index over an in-memory store, closed with
// the test.
func memoryMPI(t *testing.T) *mpi.Index {
	t.Helper()
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	idx, err := mpi.Open(db, matcher.DefaultModel(), mpi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	return idx
}

func TestCatchUpFollowsMergesAndAttributes(t *testing.T) {
	ctx := context.Background()
	idx := memoryMPI(t)
	// Two records of one woman that the matcher keeps apart (another name
	// and first name at the second site): a person merges them.
	a, err := idx.Resolve(ctx, rec("1.2.3.1", "A1", "LEFEVRE", "", "HELENE", "1958-03-02", "F"), mpi.System)
	if err != nil {
		t.Fatal(err)
	}
	b, err := idx.Resolve(ctx, rec("1.2.3.2", "B1", "DUPONT", "", "MARIE", "1958-03-02", "F"), mpi.System)
	if err != nil {
		t.Fatal(err)
	}
	if a.Identity == b.Identity {
		t.Fatal("fixture: the two records were linked automatically")
	}
	x := newIndex(t, "")
	if n, err := x.Rebuild(ctx, idx); err != nil || n != 2 {
		t.Fatalf("rebuild: %d, %v", n, err)
	}
	find := func(q Query) []Hit {
		t.Helper()
		hits, err := x.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return hits
	}
	if hits := find(Query{BirthName: "DUPONT", FirstNames: "MARIE", BirthDate: "1958-03-02"}); len(hits) == 0 || hits[0].ID != b.Identity.String() {
		t.Fatalf("before merge: %s", ids(hits))
	}
	if _, err := idx.Merge(ctx, a.Identity, b.Identity, "vigilance.agent", "same person: usage name, second first name"); err != nil {
		t.Fatal(err)
	}
	if n, err := x.CatchUp(ctx, idx); err != nil || n == 0 {
		t.Fatalf("catch up: %d, %v", n, err)
	}
	hits := find(Query{BirthName: "DUPONT", FirstNames: "MARIE", BirthDate: "1958-03-02"})
	if len(hits) == 0 || hits[0].ID != a.Identity.String() {
		t.Fatalf("after merge the retired identity's member must lead to the survivor: %s", ids(hits))
	}
	for _, h := range hits {
		if h.ID == b.Identity.String() {
			t.Error("the retired identity is still returned")
		}
	}
	if len(hits[0].Sources) != 2 {
		t.Errorf("survivor sources %v, want both records", hits[0].Sources)
	}
	if _, err := idx.ChangeAttributes(ctx, a.Identity, []string{"OPPO"}, nil, "vigilance.agent", "the patient objects to sharing"); err != nil {
		t.Fatal(err)
	}
	if _, err := x.CatchUp(ctx, idx); err != nil {
		t.Fatal(err)
	}
	if hits := find(Query{BirthName: "LEFEVRE", FirstNames: "HELENE"}); len(hits) != 0 {
		t.Errorf("a hidden identity is returned to a clinical caller: %s", ids(hits))
	}
	// Nothing new: catching up again applies nothing.
	if n, err := x.CatchUp(ctx, idx); err != nil || n != 0 {
		t.Errorf("second catch up applied %d events (%v), want 0", n, err)
	}
}

// TestCatchUpLeavesUnchangedIdentities: two identities marked distinct are
// named by the event but not changed: catching up leaves their documents as
// they are (no deleted document behind), while a later change to one of
// them is indexed.
func TestCatchUpLeavesUnchangedIdentities(t *testing.T) {
	ctx := context.Background()
	idx := memoryMPI(t)
	a, err := idx.Resolve(ctx, rec("1.2.3.1", "A1", "LEFEVRE", "", "HELENE", "1958-03-02", "F"), mpi.System)
	if err != nil {
		t.Fatal(err)
	}
	b, err := idx.Resolve(ctx, rec("1.2.3.2", "B1", "DUPONT", "", "MARIE", "1958-03-02", "F"), mpi.System)
	if err != nil {
		t.Fatal(err)
	}
	x := newIndex(t, "")
	if _, err := x.Rebuild(ctx, idx); err != nil {
		t.Fatal(err)
	}
	if _, err := idx.MarkDistinct(ctx, a.Identity, b.Identity, "vigilance.agent", "twins"); err != nil {
		t.Fatal(err)
	}
	if n, err := x.CatchUp(ctx, idx); err != nil || n != 1 {
		t.Fatalf("catch up: %d, %v", n, err)
	}
	if got := x.unchanged.Load(); got != 2 {
		t.Errorf("%d identities left as indexed, want both identities marked distinct", got)
	}
	// A new record joins A: A is indexed again, with it.
	if _, err := idx.Resolve(ctx, rec("1.2.3.3", "C1", "LEFEVRE", "", "HELENE", "1958-03-02", "F"), mpi.System); err != nil {
		t.Fatal(err)
	}
	if _, err := x.CatchUp(ctx, idx); err != nil {
		t.Fatal(err)
	}
	hits, err := x.Search(ctx, Query{LocalIDs: []LocalID{{"1.2.3.3", "C1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) == 0 || hits[0].ID != a.Identity.String() || len(hits[0].Sources) != 2 {
		t.Errorf("after a record joined A: %s", ids(hits))
	}
	if got := x.unchanged.Load(); got != 2 {
		t.Errorf("%d identities left as indexed after a change, want still 2", got)
	}
}

// TestEntryOfKeepsNormalForms: the entries the follower makes of the patient
// index's snapshots carry every member's prepared form, and store exactly
// what preparing the members again gives: records linked, updated, of
// several sites.
func TestEntryOfKeepsNormalForms(t *testing.T) {
	ctx := context.Background()
	idx := memoryMPI(t)
	updated := rec("1.2.3.1", "A2", "MARTIN", "", "LEA", "2012-08-30", "F")
	for _, r := range []vigie.Record{
		rec("1.2.3.1", "A1", "DE LA FONTAINE", "", "Jean-Pierre Marc", "1961-04-09", "M"),
		rec("1.2.3.2", "B1", "DELAFONTAINE", "", "JEAN PIERRE", "1961-04-09", "M"),
		updated,
		rec("1.2.3.1", "A3", "LEFÈVRE", "DUPONT", "Hélène Marie", "1958-03-02", "F"),
	} {
		if _, err := idx.Resolve(ctx, r, mpi.System); err != nil {
			t.Fatal(err)
		}
	}
	updated.City, updated.PostalCode = "BORDEAUX", "33000"
	if _, err := idx.Resolve(ctx, updated, mpi.System); err != nil {
		t.Fatal(err)
	}
	members := 0
	_, err := idx.Snapshots(ctx, func(s mpi.Snapshot) error {
		e := entryOf(s)
		for i, f := range e.Normals {
			if f == nil {
				t.Errorf("identity %s: no form for %s/%s", e.ID, e.Members[i].Authority, e.Members[i].LocalID)
			}
		}
		members += len(e.Members)
		prepared := e
		prepared.Normals = nil
		if !bytes.Equal(encodeEntry(&e), encodeEntry(&prepared)) {
			t.Errorf("identity %s: stored with the patient index's forms is not what preparing its members gives", e.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if members != 4 {
		t.Errorf("%d members seen, want 4", members)
	}
}

// BenchmarkBatch measures what the follower pays per identity it
// re-indexes, bleve's analysis and segment building included: a batch of
// generated identities into a new in-memory index, members prepared or
// their forms known (as the patient index gives them).
func BenchmarkBatch(b *testing.B) {
	for _, bc := range formVariants(b) {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				b.StopTimer()
				x := newIndex(b, "")
				b.StartTimer()
				if err := x.Batch(bc.entries, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(bc.entries)), "ns/identity")
		})
	}
}
