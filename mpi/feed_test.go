package mpi

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"vigie"
	"vigie/matcher"
	"vigie/store"
	"vigie/synth"
)

func TestEventAndLatest(t *testing.T) {
	ix := openIndex(t, nil)
	ctx := context.Background()
	r := vigie.Record{Authority: "1.2.3.1", LocalID: "L1", BirthName: "DURAND", FirstName: "ANNE", BirthDate: "1970-01-02", Sex: "F"}
	if _, err := ix.Resolve(ctx, r, System); err != nil {
		t.Fatal(err)
	}
	r.FirstName = "ANNE-MARIE"
	if _, err := ix.Resolve(ctx, r, System); err != nil {
		t.Fatal(err)
	}
	v, err := ix.Latest(ctx, vigie.SourceKey{Authority: "1.2.3.1", LocalID: "L1"})
	if err != nil || v.Version != 2 || v.Record.FirstName != "ANNE-MARIE" {
		t.Errorf("latest: %+v, %v", v, err)
	}
	if _, err := ix.Latest(ctx, vigie.SourceKey{Authority: "1.2.3.1", LocalID: "nope"}); vigie.ErrorCode(err) != vigie.ENOTFOUND {
		t.Errorf("latest of an unknown record: %v", err)
	}
	last, err := ix.LastEvent(ctx)
	if err != nil || last == 0 {
		t.Fatalf("last event %d, %v", last, err)
	}
	e, err := ix.Event(ctx, last)
	if err != nil || e.Seq != last || e.Record.LocalID != "L1" {
		t.Errorf("event %d: %+v, %v", last, e, err)
	}
	if _, err := ix.Event(ctx, last+100); vigie.ErrorCode(err) != vigie.ENOTFOUND {
		t.Errorf("an event that does not exist: %v", err)
	}
}

// generatedRecords returns the records of a generated population.
func generatedRecords(tb testing.TB, persons int, seed uint64) []vigie.Record {
	tb.Helper()
	var recs []vigie.Record
	if _, err := synth.Generate(synth.DefaultConfig(persons, seed), func(r *synth.Record) error {
		recs = append(recs, r.Traits())
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	return recs
}

// importRecords opens an index over db and imports recs into it.
func importRecords(tb testing.TB, db *store.DB, recs []vigie.Record) *Index {
	tb.Helper()
	ix, err := Open(db, matcher.DefaultModel(), Options{})
	if err != nil {
		tb.Fatal(err)
	}
	err = ix.Import(ctx, func(emit func(Row) error) error {
		for i, r := range recs {
			if err := emit(Row{Line: i, Record: r}); err != nil {
				return err
			}
		}
		return nil
	}, ImportOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return ix
}

// BenchmarkSnapshot measures what the search index's follower reads per
// identity it re-indexes: the snapshots of every identity of a generated
// population, in memory.
func BenchmarkSnapshot(b *testing.B) {
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ix := importRecords(b, db, generatedRecords(b, 1000, 5))
	defer ix.Close()
	var ids []vigie.IdentityID
	if _, err := ix.Snapshots(ctx, func(s Snapshot) error { ids = append(ids, s.ID); return nil }); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for _, id := range ids {
			if _, ok, err := ix.Snapshot(ctx, id); err != nil || !ok {
				b.Fatalf("snapshot of %s: %v, %v", id, ok, err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ids)), "ns/identity")
}

// BenchmarkNormalForm compares the ways a snapshot can have a member's
// encoded prepared form, per record: from the cache of normalised forms,
// read from the store (in memory; on disk once the store was closed, so
// that it is read from a table rather than the memtable), or prepared
// again.
func BenchmarkNormalForm(b *testing.B) {
	recs := generatedRecords(b, 1000, 5)
	load := func(db *store.DB) *Index { return importRecords(b, db, recs) }
	mem, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		b.Fatal(err)
	}
	defer mem.Close()
	ix := load(mem)
	defer ix.Close()
	dir := b.TempDir()
	disk, err := store.Open(dir, store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	load(disk).Close()
	if err := disk.Close(); err != nil {
		b.Fatal(err)
	}
	if disk, err = store.Open(dir, store.Options{}); err != nil {
		b.Fatal(err)
	}
	defer disk.Close()

	type member struct {
		k       vigie.SourceKey
		ord     uint32
		version int
		rec     vigie.Record
	}
	var members []member
	err = mem.View(func(txn *store.Txn) error {
		for _, r := range recs {
			k := vigie.SourceKey{Authority: r.Authority, LocalID: r.LocalID}
			st, err := readRecord(txn, k)
			if err != nil {
				return err
			}
			ord, _ := ix.keys.find(k)
			members = append(members, member{k, ord, st.Version, st.Record})
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	perRecord := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(members)), "ns/record")
	}
	read := func(db *store.DB) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				err := db.View(func(txn *store.Txn) error {
					for _, m := range members {
						item, err := txn.Get(normalKey(m.k, m.version))
						if err != nil {
							return err
						}
						if _, err := item.ValueCopy(nil); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			perRecord(b)
		}
	}
	b.Run("cache", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			for _, m := range members {
				hit, _ := ix.cache.get(m.ord, m.version, func(f []byte) error { _ = bytes.Clone(f); return nil })
				if !hit {
					b.Fatalf("%s is not cached", m.k)
				}
			}
		}
		perRecord(b)
	})
	b.Run("store-memory", read(mem))
	b.Run("store-disk", read(disk))
	b.Run("prepare", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			for _, m := range members {
				p, err := matcher.Prepare(&m.rec)
				if err != nil {
					b.Fatal(err)
				}
				matcher.AppendPrepared(nil, p)
			}
		}
		perRecord(b)
	})
}

// TestSnapshotNormals: a snapshot carries each member's normalised form of
// its current version, byte for byte what preparing that version gives,
// wherever the index finds it (its cache, else its store), and none where
// it holds none of the current format.
func TestSnapshotNormals(t *testing.T) {
	db := memStore(t)
	// The smallest cache (64 kB), so that the first records are evicted by
	// the fillers resolved after them.
	ix, err := Open(db, matcher.DefaultModel(), Options{CacheRecords: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	ord := func(t *testing.T, k vigie.SourceKey) uint32 {
		ix.memMu.RLock()
		defer ix.memMu.RUnlock()
		o, ok := ix.keys.find(k)
		if !ok {
			t.Fatalf("%s unknown to the mirror", k)
		}
		return o
	}
	cached := func(t *testing.T, k vigie.SourceKey, version int) bool {
		hit, _ := ix.cache.get(ord(t, k), version, func([]byte) error { return nil })
		return hit
	}
	setForm := func(t *testing.T, k vigie.SourceKey, version int, form []byte) {
		err := store.Update(db, func(txn *store.Txn) error {
			if form == nil {
				return txn.Delete(normalKey(k, version))
			}
			return txn.Set(normalKey(k, version), form)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	otherFormat := func(t *testing.T, r vigie.Record) []byte {
		p, err := matcher.Prepare(&r)
		if err != nil {
			t.Fatal(err)
		}
		f := matcher.AppendPrepared(nil, p)
		f[0] = normalVersion + 1
		return f
	}
	// The records evicted (resolved before the fillers) share no blocking
	// key with those resolved after the fillers, nor with the fillers:
	// resolving one would read the other as a candidate, into the cache.
	rec := func(i int, evicted bool) vigie.Record {
		r := person("1.2.250.1.1", fmt.Sprintf("C%d", i))
		if evicted {
			r = other("1.2.250.1.1", fmt.Sprintf("C%d", i))
		}
		r.BirthName = fmt.Sprintf("CAS%03d", i)
		return r
	}
	filler := func(i int) vigie.Record {
		return vigie.Record{Authority: "1.2.250.1.2", LocalID: fmt.Sprintf("F%04d", i), BirthName: fmt.Sprintf("REMPLI%04d", i),
			FirstName: "Zoé", BirthDate: "2001-02-03", Sex: "F", PostalCode: "97400"}
	}
	cases := []struct {
		name string
		// before runs before the fillers (the record is evicted), after
		// once they are resolved.
		before, after func(t *testing.T, k vigie.SourceKey, r vigie.Record) vigie.Record
		want          bool // a form expected
	}{
		{name: "cached", want: true,
			after: func(t *testing.T, k vigie.SourceKey, r vigie.Record) vigie.Record {
				resolve(t, ix, r)
				if !cached(t, k, 1) {
					t.Fatal("fixture: not cached")
				}
				return r
			}},
		{name: "updated", want: true,
			after: func(t *testing.T, k vigie.SourceKey, r vigie.Record) vigie.Record {
				resolve(t, ix, r)
				r.City, r.Address = "MERIGNAC", "3 avenue de la Marne"
				resolve(t, ix, r)
				if !cached(t, k, 2) {
					t.Fatal("fixture: version 2 not cached")
				}
				return r
			}},
		{name: "updated, the older version cached", want: true,
			after: func(t *testing.T, k vigie.SourceKey, r vigie.Record) vigie.Record {
				resolve(t, ix, r)
				p, err := matcher.Prepare(&r)
				if err != nil {
					t.Fatal(err)
				}
				r.City, r.Address = "MERIGNAC", "3 avenue de la Marne"
				resolve(t, ix, r)
				ix.cache.put(ord(t, k), 1, encodeNormal(p))
				if cached(t, k, 2) || !cached(t, k, 1) {
					t.Fatal("fixture: the cache holds version 2, or not version 1")
				}
				return r
			}},
		{name: "evicted", want: true,
			before: func(t *testing.T, k vigie.SourceKey, r vigie.Record) vigie.Record { resolve(t, ix, r); return r },
			after: func(t *testing.T, k vigie.SourceKey, r vigie.Record) vigie.Record {
				if cached(t, k, 1) {
					t.Fatal("fixture: still cached")
				}
				return r
			}},
		{name: "cached in another format", want: true,
			after: func(t *testing.T, k vigie.SourceKey, r vigie.Record) vigie.Record {
				resolve(t, ix, r)
				ix.cache.put(ord(t, k), 1, otherFormat(t, r))
				return r
			}},
		{name: "stored in another format, evicted", want: false,
			before: func(t *testing.T, k vigie.SourceKey, r vigie.Record) vigie.Record {
				resolve(t, ix, r)
				setForm(t, k, 1, otherFormat(t, r))
				return r
			}},
		{name: "not stored, evicted", want: false,
			before: func(t *testing.T, k vigie.SourceKey, r vigie.Record) vigie.Record {
				resolve(t, ix, r)
				setForm(t, k, 1, nil)
				return r
			}},
	}
	recs := make([]vigie.Record, len(cases))
	last := -1 // the last record resolved before the fillers
	for i, tc := range cases {
		recs[i] = rec(i, tc.before != nil)
		if tc.before != nil {
			recs[i] = tc.before(t, recs[i].Key(), recs[i])
			last = i
		}
	}
	for i := 0; cached(t, recs[last].Key(), 1); i++ {
		if i == 5000 {
			t.Fatal("fixture: 5000 records resolved, the first ones still cached")
		}
		resolve(t, ix, filler(i))
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := recs[i].Key()
			r := recs[i]
			if tc.after != nil {
				r = tc.after(t, k, r)
			}
			id, err := ix.IdentityOf(ctx, k.Authority, k.LocalID)
			if err != nil {
				t.Fatal(err)
			}
			s, ok, err := ix.Snapshot(ctx, id)
			if err != nil || !ok {
				t.Fatalf("snapshot of %s: %v, %v", id, ok, err)
			}
			if len(s.Normals) != len(s.Records) {
				t.Fatalf("%d forms for %d records", len(s.Normals), len(s.Records))
			}
			m := slices.Index(s.Members, k)
			if m < 0 {
				t.Fatalf("%s is not a member of %s", k, id)
			}
			if !reflect.DeepEqual(s.Records[m], r) {
				t.Fatalf("record %+v, want the current version %+v", s.Records[m], r)
			}
			got := s.Normals[m]
			if !tc.want {
				if got != nil {
					t.Errorf("a form %x where the index holds none of the current format", got)
				}
				return
			}
			p, err := matcher.Prepare(&r)
			if err != nil {
				t.Fatal(err)
			}
			if want := matcher.AppendPrepared(nil, p); !bytes.Equal(got, want) {
				t.Errorf("form\n%x\nwant what Prepare gives\n%x", got, want)
			}
		})
	}
}
