package mpi

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"vigie"
	"vigie/matcher"
	"vigie/store"
	"vigie/synth"
)

// feedRows builds a feed from a generated population, with what a real
// feed also holds: rows sent again unchanged (at once and much later),
// updates of records sent earlier, and rows to reject.
func feedRows(t *testing.T, persons int, seed uint64) []Row {
	t.Helper()
	var recs []vigie.Record
	_, err := synth.Generate(synth.DefaultConfig(persons, seed), func(r *synth.Record) error {
		recs = append(recs, r.Traits())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var rows []Row
	add := func(r vigie.Record, err error) {
		rows = append(rows, Row{Line: len(rows) + 2, Record: r, Err: err})
	}
	for i, r := range recs {
		add(r, nil)
		switch {
		case i%53 == 7:
			add(r, nil) // sent twice in a row: unchanged
		case i%41 == 3 && i > 100:
			u := recs[i-100] // an update of a record sent long before
			u.Address, u.Phone = "3 place de la Mairie", "0600000000"
			add(u, nil)
		case i%67 == 5 && i > 10:
			u := recs[i-3] // a correction of a record still in the batch
			u.FirstName = u.FirstName + "E"
			add(u, nil)
		case i%97 == 11:
			bad := r
			bad.LocalID = fmt.Sprintf("X%d", i)
			bad.BirthDate = "1948-02-30" // no such day: rejected by Prepare
			add(bad, nil)
		case i%89 == 13:
			add(vigie.Record{LocalID: "Z"}, vigie.Invalid("authority", "the assigning authority is empty"))
		case i%83 == 17:
			bad := r
			bad.LocalID = "A\x01B" // a control character: rejected by checkKey
			add(bad, nil)
		}
	}
	if i := len(recs) / 2; true { // the whole first half again, unchanged
		for _, r := range recs[:i:i] {
			add(r, nil)
		}
	}
	return rows
}

// tickingClock returns a clock that advances by a little more than a
// millisecond at each reading: two indexes reading their own clock as
// often stamp the same times, and every row a different one.
func tickingClock() func() time.Time {
	t := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time {
		t = t.Add(1001 * time.Microsecond)
		return t
	}
}

func openAt(t *testing.T, db *store.DB) *Index {
	t.Helper()
	ix, err := Open(db, matcher.DefaultModel(), Options{Now: tickingClock()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

func memStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// outcome is what a row gave, comparable between the two ways.
func outcome(line int, res Result, err error) string {
	if err != nil {
		return fmt.Sprintf("%d rejected %s: %v", line, vigie.ErrorField(err), err)
	}
	s := fmt.Sprintf("%d %s %s v%d %s cand %s reviews %v", line, res.Key, res.Identity, res.Version, res.Decision, res.Candidate, res.Reviews)
	if res.Score != nil {
		s += fmt.Sprintf(" p=%g w=%g", res.Score.Probability, res.Score.Weight)
	}
	return s
}

// dump lists every key of the patient index and its value, but for the
// sequences' leases (bulk and online lease differently).
func dump(t *testing.T, db *store.DB) []string {
	t.Helper()
	var out []string
	err := db.View(func(txn *store.Txn) error {
		it := txn.NewIterator(store.IteratorOptions{Prefix: []byte("m/")})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().KeyCopy(nil)
			if bytes.HasPrefix(k, []byte(pSeq)) {
				continue
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out = append(out, fmt.Sprintf("%q=%x", k, v))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestImportSameAsResolve loads one feed row by row with Resolve and with
// Import (small batches, so that many commit in the background and the
// updates fall among them), and checks that both stores hold exactly the
// same keys and values: records, versions, identities, events in the same
// order, reviews and the review queue.
func TestImportSameAsResolve(t *testing.T) {
	rows := feedRows(t, 1500, 3)

	online := memStore(t)
	ox := openAt(t, online)
	var want []string
	for _, r := range rows {
		err := r.Err
		var res Result
		if err == nil {
			res, err = ox.Resolve(ctx, r.Record, System)
		}
		if err != nil && vigie.ErrorCode(err) != vigie.EINVALID {
			t.Fatal(err)
		}
		want = append(want, outcome(r.Line, res, err))
	}

	for _, tc := range []struct {
		name string
		db   func(t *testing.T) *store.DB
		o    ImportOptions
	}{
		{"batches of 37", memStore, ImportOptions{BatchRows: 37, Workers: 3}},
		{"defaults", memStore, ImportOptions{}},
		// A store whose memtables are so small that Badger finds most
		// batches too large: they are split at row boundaries.
		{"transactions too big", tinyStore, ImportOptions{BatchRows: 500}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := tc.db(t)
			bx := openAt(t, db)
			var got []string
			tc.o.Done = func(r Imported) error {
				got = append(got, outcome(r.Line, r.Result, r.Err))
				return nil
			}
			err := bx.Import(ctx, func(emit func(Row) error) error {
				for _, r := range rows {
					if err := emit(r); err != nil {
						return err
					}
				}
				return nil
			}, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%d rows reported, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("row %d:\n bulk   %s\n online %s", i, got[i], want[i])
				}
			}
			a, b := dump(t, online), dump(t, db)
			sameKeys(t, a, b)
			if err := bx.Verify(ctx); err != nil {
				t.Fatal(err)
			}
			// What Open rebuilds from the store is what the load left in memory.
			rx := openAt(t, db)
			var ea, eb []string
			for _, p := range []struct {
				x   *Index
				out *[]string
			}{{ox, &ea}, {rx, &eb}} {
				if err := p.x.EventsAfter(ctx, 0, func(e Event) error {
					*p.out = append(*p.out, fmt.Sprintf("%d %s %s %s %s %g", e.Seq, e.Kind, e.Record, e.Identity, e.Other, e.Probability))
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			if !slices.Equal(ea, eb) || len(ea) == 0 {
				t.Fatalf("events differ: %d online, %d bulk", len(ea), len(eb))
			}
			res, err := rx.Resolve(ctx, rows[0].Record, System)
			if err != nil || res.Decision != DecisionUnchanged {
				t.Fatalf("after reopening, the first row again: %+v, %v", res, err)
			}
		})
	}
}

// tinyStore is an in-memory store whose transactions hold little.
func tinyStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open("", store.Options{InMemory: true, MemTableKB: 256})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestImportExclusive checks that changes asked during a bulk load are
// refused rather than racing with it, and accepted again afterwards.
func TestImportExclusive(t *testing.T) {
	ix := openIndex(t, nil)
	var during error
	err := ix.Import(ctx, func(emit func(Row) error) error {
		return emit(Row{Line: 2, Record: person("1.2.250.1.1", "A1")})
	}, ImportOptions{Done: func(Imported) error {
		_, during = ix.Resolve(ctx, other("1.2.250.1.2", "B1"), System)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if vigie.ErrorCode(during) != vigie.ECONFLICT {
		t.Fatalf("Resolve during a bulk load: %v, want a conflict", during)
	}
	if res := resolve(t, ix, other("1.2.250.1.2", "B1")); res.Decision != DecisionNew {
		t.Fatalf("after the load: %+v", res)
	}
}

// TestImportStops checks that a load stopped by a failure of its feed
// loads the rows read before it, and that a load stopped by its caller
// keeps every row it reported, leaves a store whose invariants hold, and
// converges to a clean load's result when run again after reopening.
func TestImportStops(t *testing.T) {
	rows := feedRows(t, 300, 5)
	load := func(ix *Index, rows []Row, feedErr error, done func(Imported) error) error {
		return ix.Import(ctx, func(emit func(Row) error) error {
			for _, r := range rows {
				if err := emit(r); err != nil {
					return err
				}
			}
			return feedErr
		}, ImportOptions{BatchRows: 20, Done: done})
	}
	clean := memStore(t)
	if err := load(openAt(t, clean), rows, nil, nil); err != nil {
		t.Fatal(err)
	}
	want := partition(t, openAt(t, clean))

	t.Run("feed fails", func(t *testing.T) {
		ix := openAt(t, memStore(t))
		broken := errors.New("the feed broke")
		n := 0
		err := load(ix, rows[:45], broken, func(Imported) error { n++; return nil })
		if !errors.Is(err, broken) || n != 45 {
			t.Fatalf("Import: %v after %d rows, want the feed's error after 45", err, n)
		}
		if _, err := ix.Resolve(ctx, rows[0].Record, System); err != nil {
			t.Fatalf("every decided row committed, yet: %v", err)
		}
	})
	t.Run("caller stops", func(t *testing.T) {
		db := memStore(t)
		ix := openAt(t, db)
		var acked []vigie.SourceKey
		stop := errors.New("enough")
		calls := 0
		err := load(ix, rows, nil, func(r Imported) error {
			calls++
			if r.Err == nil {
				acked = append(acked, r.Result.Key)
			}
			if calls == 25 {
				return stop
			}
			return nil
		})
		if err != stop || calls != 25 {
			t.Fatalf("Import: %v after %d calls of Done, want Done's error after 25", err, calls)
		}
		rx := openAt(t, db)
		if err := rx.Verify(ctx); err != nil {
			t.Fatal(err)
		}
		for _, k := range acked {
			if _, err := rx.IdentityOf(ctx, k.Authority, k.LocalID); err != nil {
				t.Fatalf("acknowledged row lost: %v", err)
			}
		}
		if err := load(rx, rows, nil, nil); err != nil {
			t.Fatal(err)
		}
		// Identity numbers differ (the stopped load lost some), the
		// grouping of records must not.
		if got := partition(t, rx); !slices.Equal(got, want) {
			t.Fatalf("run again: %d identities, a clean load %d", len(got), len(want))
		}
	})
}

// partition returns the records grouped by identity, in a canonical order.
func partition(t *testing.T, ix *Index) []string {
	t.Helper()
	groups := map[vigie.IdentityID][]string{}
	err := ix.Links(ctx, func(k vigie.SourceKey, id vigie.IdentityID) error {
		groups[id] = append(groups[id], k.String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, g := range groups {
		slices.Sort(g)
		out = append(out, fmt.Sprint(g))
	}
	slices.Sort(out)
	return out
}

// TestImportNewRecordsSameAsResolve loads a feed of new records only (no
// row goes online, so that the filing of the load's reviews by site
// leaves alone the identities whose pending reviews it filed already)
// with Resolve and with Import, and checks that both stores hold exactly
// the same keys and values, reviews and their filing by identity and by
// site among them.
func TestImportNewRecordsSameAsResolve(t *testing.T) {
	defer func(n int) { minPart = n }(minPart)
	minPart = 8 // the filing after the load in parts on every processor
	var rows []Row
	for _, r := range feedRows(t, 1500, 5) {
		if r.Err == nil && r.Record.BirthDate != "1948-02-30" && !bytes.ContainsRune([]byte(r.Record.LocalID), 1) {
			rows = append(rows, r)
		}
	}
	seen := map[vigie.SourceKey]bool{}
	rows = slices.DeleteFunc(rows, func(r Row) bool {
		k := vigie.SourceKey{Authority: r.Record.Authority, LocalID: r.Record.LocalID}
		dup := seen[k]
		seen[k] = true
		return dup
	})
	online := memStore(t)
	ox := openAt(t, online)
	for _, r := range rows {
		if _, err := ox.Resolve(ctx, r.Record, System); err != nil {
			t.Fatal(err)
		}
	}
	db := memStore(t)
	bx := openAt(t, db)
	updates := 0
	err := bx.Import(ctx, func(emit func(Row) error) error {
		for _, r := range rows {
			if err := emit(r); err != nil {
				return err
			}
		}
		return nil
	}, ImportOptions{BatchRows: 53, Done: func(r Imported) error {
		if r.Err != nil || r.Result.Decision == DecisionUnchanged || r.Result.Version != 1 {
			updates++
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if updates > 0 {
		t.Fatalf("%d rows were not new records: the test sets nothing up", updates)
	}
	a, b := dump(t, online), dump(t, db)
	reviews, bySite := 0, 0
	for _, k := range a {
		reviews += bytesPrefix(k, pReview)
		bySite += bytesPrefix(k, pPendingSite)
	}
	t.Logf("%d reviews, %d keys of the queue by site", reviews, bySite)
	if reviews == 0 || bySite == 0 {
		t.Fatalf("%d reviews, %d filed by site: the test sets nothing up", reviews, bySite)
	}
	sameKeys(t, a, b)
	if err := bx.Verify(ctx); err != nil {
		t.Fatal(err)
	}
}

// bytesPrefix is 1 when the dumped key k (see dump) is under prefix.
func bytesPrefix(k, prefix string) int {
	if len(k) > 1 && len(k)-1 >= len(prefix) && k[1:1+len(prefix)] == prefix {
		return 1
	}
	return 0
}

// sameKeys fails t where the keys and values the bulk load stored (bulk)
// differ from those online resolution stored (online), naming the first.
func sameKeys(t *testing.T, online, bulk []string) {
	t.Helper()
	if len(online) != len(bulk) {
		t.Errorf("%d keys stored by the bulk load, %d online", len(bulk), len(online))
	}
	for i := range min(len(online), len(bulk)) {
		if online[i] != bulk[i] {
			t.Fatalf("first difference:\n bulk   %.300s\n online %.300s", bulk[i], online[i])
		}
	}
}
