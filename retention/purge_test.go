package retention

import (
	"context"
	"strings"
	"testing"
	"time"

	"vigie"
	"vigie/audit"
	"vigie/ledger"
	"vigie/matcher"
	"vigie/mpi"
	"vigie/store"
)

var ctx = context.Background()

const siteA, siteB = "1.2.250.1.1", "1.2.250.1.2"

// people are distinct made-up persons, by local id.
var people = map[string]vigie.Record{
	"old":   {BirthName: "LAFFITTE", FirstName: "Bernadette", BirthDate: "1948-03-17", Sex: "F", BirthPlace: "33063", PostalCode: "33000"},
	"moved": {BirthName: "ETCHEVERRY", FirstName: "Ramuntxo", BirthDate: "1950-11-02", Sex: "M", BirthPlace: "64102", PostalCode: "64100"},
	"exam":  {BirthName: "KERGUELEN", FirstName: "Yannick", BirthDate: "1940-01-09", Sex: "M", BirthPlace: "29019", PostalCode: "29200"},
	"child": {BirthName: "MARTINEZ", FirstName: "Lucia", BirthDate: "1998-07-21", Sex: "F", BirthPlace: "31555", PostalCode: "31000"},
	"split": {BirthName: "OLLIVIER", FirstName: "Gaston", BirthDate: "1939-04-30", Sex: "M", BirthPlace: "44109", PostalCode: "44000"},
}

type fixture struct {
	db    *store.DB
	ix    *mpi.Index
	led   *ledger.Ledger
	now   time.Time
	ids   map[string]vigie.IdentityID
	trail *audit.Log
}

func rec(site, local string) vigie.Record {
	r := people[local]
	r.Authority, r.LocalID = site, local
	return r
}

// newFixture builds a store where, as of 2025-06-01:
//   - "old" (one record at site A, 2001) is past its deadline;
//   - "moved" has a record at site A in 2001 and one at site B in 2020:
//     one identity with a recent record elsewhere in the region, kept;
//   - "exam" has a record of 2001 and exams of 2001 and 2019: kept;
//   - "child" was 3 at its last contact in 2001: kept until 2026;
//   - "split" has two records of 2001 and 2002 at sites A and B, and an
//     exam of 2002, past its deadline, its second record unlinked into a
//     new identity in 2002 (an event shared by the two identities).
func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{db: db, ids: map[string]vigie.IdentityID{}}
	f.ix, err = mpi.Open(db, matcher.DefaultModel(), mpi.Options{Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	f.led = ledger.Open(db)
	at := func(day string) { f.now = date(day).Add(10 * time.Hour) }
	put := func(site, local, day string) {
		at(day)
		res, err := f.ix.Resolve(ctx, rec(site, local), mpi.System)
		if err != nil {
			t.Fatal(err)
		}
		if site == siteA {
			f.ids[local] = res.Identity
		} else if res.Identity != f.ids[local] && local != "split" {
			t.Fatalf("%s at site B: identity %s, want %s (linked)", local, res.Identity, f.ids[local])
		}
	}
	exam := func(local, sop, day string) {
		q, err := ledger.NewQuantity(100, "mGy.cm", ledger.DimDLP)
		if err != nil {
			t.Fatal(err)
		}
		ev := ledger.CTEvent{UID: sop + ".1", DLP: &q}
		_, err = f.led.Put(ctx, &ledger.Exam{SOPInstanceUID: sop, StudyUID: sop + ".9", Date: day, Procedure: "TDM", Source: ledger.SourceRDSR,
			Domain: ledger.DomainCT, Key: vigie.SourceKey{Authority: siteA, LocalID: local}, CT: &ledger.CTDose{DLPTotal: &q, Events: []ledger.CTEvent{ev}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	put(siteA, "old", "2001-02-01")
	put(siteA, "moved", "2001-02-01")
	put(siteB, "moved", "2020-09-01")
	put(siteA, "exam", "2001-02-01")
	exam("exam", "1.2.3.10", "2001-02-01")
	exam("exam", "1.2.3.11", "2019-05-01")
	put(siteA, "child", "2001-02-01")
	put(siteA, "split", "2001-02-01")
	put(siteB, "split", "2002-01-10")
	exam("split", "1.2.3.20", "2002-01-10")
	if f.ids["split"] == 0 {
		t.Fatal("no identity for split")
	}
	at("2002-02-01")
	if _, err := f.ix.Unlink(ctx, vigie.SourceKey{Authority: siteB, LocalID: "split"}, "vigilance", "two persons"); err != nil {
		t.Fatal(err)
	}
	if err := f.ix.Close(); err != nil { // a purge runs on a store no index holds
		t.Fatal(err)
	}
	if f.trail, err = audit.Open(db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.trail.Close() })
	return f
}

func (f *fixture) verify(t *testing.T) {
	t.Helper()
	ix, err := mpi.Open(f.db, matcher.DefaultModel(), mpi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if err := ix.Verify(ctx); err != nil {
		t.Fatalf("the index breaks its invariants after the purge:\n%v", err)
	}
	rep, err := f.trail.Verify()
	if err != nil || rep.Broken != nil {
		t.Fatalf("audit chain: %v %v", err, rep.Broken)
	}
}

func ids(items []Item) []vigie.IdentityID {
	var out []vigie.IdentityID
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

func TestReportAndPurge(t *testing.T) {
	f := newFixture(t)
	asOf := date("2025-06-01")
	rep, err := Build(f.db, asOf)
	if err != nil {
		t.Fatal(err)
	}
	// "split"'s second record went to a new identity of its own, whose
	// last contact (2002-01-10) is past too.
	var splitB vigie.IdentityID
	f.db.View(func(txn *store.Txn) error {
		return mpi.Patients(txn, func(p *mpi.Patient) error {
			if len(p.Members) == 1 && p.Members[0] == (vigie.SourceKey{Authority: siteB, LocalID: "split"}) {
				splitB = p.ID
			}
			return nil
		})
	})
	want := []vigie.IdentityID{f.ids["old"], f.ids["split"], splitB}
	if got := ids(rep.Past); !sameIDs(got, want) {
		t.Fatalf("past their deadline: %v, want %v (old, split and its unlinked record)", got, want)
	}
	for _, it := range rep.Past {
		if it.ID == f.ids["split"] && (it.Exams != 1 || it.LastContact.Format(time.DateOnly) != "2002-01-10") {
			t.Errorf("split: %d exams, last contact %s; want 1 exam, 2002-01-10 (its exam)", it.Exams, it.LastContact)
		}
	}
	// A later day adds the child (28th birthday 2026-07-21).
	later, _ := Build(f.db, date("2026-07-22"))
	if len(later.Past) != len(rep.Past)+1 || later.Token == rep.Token {
		t.Fatalf("as of 2026-07-22: %v (token %s); want the child added and another token", ids(later.Past), later.Token)
	}

	purge := func(tok, actor string) (PurgeResult, error) {
		return Purge(ctx, f.db, PurgeOptions{Token: tok, Actor: actor, Trail: f.trail, Now: func() time.Time { return date("2025-06-02") }})
	}
	for _, c := range []struct {
		tok, actor, field, code string
	}{
		{rep.Token, "", "actor", vigie.EINVALID},
		{"nonsense", "dpo", "confirm", vigie.EINVALID},
		{later.Token, "dpo", "confirm", vigie.EINVALID}, // a day still to come
		{token(asOf, rep.Past[:1]), "dpo", "confirm", vigie.ECONFLICT},
	} {
		if _, err := purge(c.tok, c.actor); vigie.ErrorCode(err) != c.code || vigie.ErrorField(err) != c.field {
			t.Errorf("purge --confirm %s --actor %q: %v, want %s on %s", c.tok, c.actor, err, c.code, c.field)
		}
	}
	if r, _ := Build(f.db, asOf); len(r.Past) != 3 {
		t.Fatal("a refused purge removed something")
	}

	res, err := purge(rep.Token, "dpo")
	if err != nil {
		t.Fatal(err)
	}
	if res.Purged != 3 || len(res.Kept) != 0 || res.Counts.Records != 3 || res.Counts.Exams != 1 {
		t.Fatalf("purge: %+v", res)
	}
	f.verify(t)
	after, _ := Build(f.db, asOf)
	if len(after.Past) != 0 || after.Identities != rep.Identities-3 {
		t.Fatalf("after the purge: %d past, %d identities (was %d)", len(after.Past), after.Identities, rep.Identities)
	}
	ix, err := mpi.Open(f.db, matcher.DefaultModel(), mpi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	for _, name := range []string{"moved", "exam", "child"} {
		got, err := ix.Get(ctx, f.ids[name])
		if err != nil || len(got.Members) == 0 {
			t.Errorf("%s must be untouched: %v", name, err)
		}
	}
	if got, err := ix.Get(ctx, f.ids["moved"]); err == nil && len(got.Members) != 2 {
		t.Errorf("moved: %d records, want 2 (one at each site)", len(got.Members))
	}
	for _, id := range want {
		if _, err := ix.Get(ctx, id); vigie.ErrorCode(err) != vigie.ENOTFOUND {
			t.Errorf("identity %s: %v, want not found", id, err)
		}
		var ts mpi.Tombstone
		var found bool
		f.db.View(func(txn *store.Txn) error {
			ts, found, err = mpi.TombstoneIn(txn, id)
			return err
		})
		if !found || ts.Audit == 0 || ts.Run != rep.Token || ts.Actor != "dpo" || ts.Counts.Records != 1 {
			t.Errorf("tombstone of %s: %+v (found %v)", id, ts, found)
		}
		entries, err := f.trail.ByIdentity(id.String(), 10)
		if err != nil || len(entries) != 1 || entries[0].Operation != PurgeOperation || entries[0].Principal != "dpo" || entries[0].Seq != ts.Audit {
			t.Errorf("audit entries of %s: %+v (%v)", id, entries, err)
		}
		if e, err := ix.Event(ctx, ts.Event); err != nil || e.Kind != mpi.EventPurge || e.Identity != id || e.Actor != "dpo" {
			t.Errorf("purge event of %s: %+v (%v)", id, e, err)
		}
	}
	// Nothing of the records is left in the store: no key names them.
	f.db.View(func(txn *store.Txn) error {
		it := txn.NewIterator(store.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := string(it.Item().Key())
			if strings.Contains(k, "\x00old") || strings.Contains(k, "\x00split") || strings.Contains(k, "1.2.3.20") {
				t.Errorf("key %q left after the purge", k)
			}
			v, _ := it.Item().ValueCopy(nil)
			for _, name := range []string{"LAFFITTE", "OLLIVIER"} {
				if strings.Contains(string(v), name) {
					t.Errorf("value of %q still holds a purged name", k)
				}
			}
		}
		return nil
	})
	// The exam of "exam" (another record, kept) is still there.
	if e, err := f.led.Exams(ctx, []vigie.SourceKey{{Authority: siteA, LocalID: "exam"}}); err != nil || len(e) != 2 {
		t.Errorf("the kept patient's exams: %d (%v), want 2", len(e), err)
	}
	// Run again: nothing more, every identity already done.
	again, err := purge(rep.Token, "dpo")
	if err != nil || again.Purged != 0 || again.Before != 3 {
		t.Fatalf("the same purge again: %+v, %v", again, err)
	}
}

// TestPurgeKeepsACameBack: an identity of the run with a contact after
// the report (a resumed run) is kept.
func TestPurgeKeepsACameBack(t *testing.T) {
	f := newFixture(t)
	asOf := date("2025-06-01")
	rep, err := Build(f.db, asOf)
	if err != nil {
		t.Fatal(err)
	}
	// The run is recorded, then interrupted before its first identity.
	run := mpi.PurgeRun{Token: rep.Token, AsOf: "2025-06-01", IDs: ids(rep.Past)}
	if err := store.Update(f.db, func(txn *store.Txn) error { return mpi.SetPurgeRunIn(txn, run) }); err != nil {
		t.Fatal(err)
	}
	// "old" comes back at site B in 2025.
	ix, err := mpi.Open(f.db, matcher.DefaultModel(), mpi.Options{Now: func() time.Time { return date("2025-05-01") }})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := ix.Resolve(ctx, rec(siteB, "old"), mpi.System); err != nil || res.Identity != f.ids["old"] {
		t.Fatalf("old at site B: %v %v", res.Identity, err)
	}
	ix.Close()
	res, err := Purge(ctx, f.db, PurgeOptions{Token: rep.Token, Actor: "dpo", Trail: f.trail})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || res.Purged != 2 || len(res.Kept) != 1 || res.Kept[0] != f.ids["old"] {
		t.Fatalf("resumed purge: %+v, want old kept", res)
	}
	f.verify(t)
}

func sameIDs(a, b []vigie.IdentityID) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[vigie.IdentityID]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}
