package audit

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"vigie/internal/cputime"
	"vigie/store"
)

// searchEntry returns an entry shaped like a search's: one principal, ten
// identities and ten source records drawn from a million patients.
func searchEntry(rng *rand.Rand) Entry {
	e := Entry{Principal: "bench-serve-clinician", Role: "clinician", Operation: "/vigie.v1.IdentityService/SearchIdentities", Result: "ok"}
	for range 10 {
		e.Identities = append(e.Identities, fmt.Sprint(rng.IntN(1_000_000)))
		e.Records = append(e.Records, Record{fmt.Sprintf("1.2.250.1.213.1.1.1.%d", rng.IntN(30)), fmt.Sprintf("%08d", rng.IntN(1_000_000))})
	}
	return e
}

// BenchmarkAppendSearch appends search-shaped entries from parallel
// callers on a store on disk synced in groups, as the server runs it, and
// waits for every posting to be indexed at the end: the trail's write
// cost, its index included.
func BenchmarkAppendSearch(b *testing.B) {
	l := groupSyncedTrail(b)
	b.ResetTimer()
	appendSearches(b, l)
}

// BenchmarkByIdentity answers "who looked at this patient" (the last 100
// entries) on a trail of 100,000 search-shaped entries, each identity
// named by some entries among the million patients, in a store tuned as
// the server's (Deferred: unsynced commits, nothing syncs them here).
func BenchmarkByIdentity(b *testing.B) {
	db, err := store.Open(b.TempDir(), store.Options{Deferred: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	l, err := Open(db)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	var ids []string
	for i := range 100_000 {
		e := searchEntry(rng)
		// A patient looked at often: named by one entry in a hundred.
		if i%100 == 0 {
			e.Identities[0] = "often"
		}
		if _, err := l.Append(e); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 0 {
			ids = append(ids, e.Identities[1])
		}
	}
	if err := l.idx.flush(); err != nil {
		b.Fatal(err)
	}
	b.Run("rare", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if got, err := l.ByIdentity(ids[i%len(ids)], 100); err != nil || len(got) == 0 {
				b.Fatal(len(got), err)
			}
		}
	})
	b.Run("often", func(b *testing.B) {
		for b.Loop() {
			if got, err := l.ByIdentity("often", 100); err != nil || len(got) != 100 {
				b.Fatal(len(got), err)
			}
		}
	})
}

// BenchmarkIndexWrite measures the index's writer: 32,768 postings shaped
// like searches' (a thousand entries' worth) written as one batch of
// store keys into a store on disk tuned as the server's, the store
// growing from one batch to the next. The figure to compare with the run
// files' BenchmarkWriteRun and BenchmarkMergeRuns (commit dddb6ed).
func BenchmarkIndexWrite(b *testing.B) {
	db, err := store.Open(b.TempDir(), store.Options{Deferred: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ix, _, err := openIndex(db)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 1 << 15
	seq := uint64(0)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		var ps []posting
		for len(ps) < n {
			seq++
			e := searchEntry(rng)
			e.Seq = seq
			ps = appendPostings(ps, &e)
		}
		ix.mu.Lock()
		ix.ps, ix.to = ps, seq
		ix.mu.Unlock()
		b.StartTimer()
		if err := ix.flush(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/posting")
}

// BenchmarkSearchWrites counts what one audited search writes into Badger:
// the keys (the entry, its postings, the index's progress marker) and
// their bytes (key and value), over 2,000 search-shaped entries appended
// one by one and indexed, in a store in memory that keeps every version.
// The figures are counts, not times: they do not depend on the machine
// or its load. Every key Badger holds costs it a node in its memtable, a
// record in its write-ahead log and, once flushed, an entry in a table
// compacted level after level: the fewer keys and bytes a search writes,
// the later the memtables fill and writes wait for room
// (ensureRoomForWrite).
func BenchmarkSearchWrites(b *testing.B) {
	const searches = 2000
	var keys, postings, bytes, postingBytes int
	for b.Loop() {
		db, err := store.Open("", store.Options{InMemory: true})
		if err != nil {
			b.Fatal(err)
		}
		l, err := Open(db)
		if err != nil {
			b.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for range searches {
			if _, err := l.Append(searchEntry(rng)); err != nil {
				b.Fatal(err)
			}
		}
		if err := l.idx.flush(); err != nil {
			b.Fatal(err)
		}
		keys, postings, bytes, postingBytes = 0, 0, 0, 0
		err = db.View(func(txn *store.Txn) error {
			it := txn.NewIterator(store.IteratorOptions{AllVersions: true, Prefix: []byte("a/")})
			defer it.Close()
			for it.Rewind(); it.Valid(); it.Next() {
				item := it.Item()
				keys++
				n := len(item.Key()) + int(item.ValueSize())
				if strings.HasPrefix(string(item.Key()), indexPrefix) {
					postings++
					postingBytes += n
				}
				bytes += n
			}
			return nil
		})
		l.Close()
		db.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(keys)/searches, "keys/search")
	b.ReportMetric(float64(postings)/searches, "postings/search")
	b.ReportMetric(float64(bytes)/searches, "bytes/search")
	b.ReportMetric(float64(postingBytes)/searches, "posting-bytes/search")
}

// BenchmarkAppendSearchCPU appends search-shaped entries from 32 callers
// per core on a store on disk synced in groups, as the server under load,
// and reports the process's CPU time per entry (user + system, from
// rusage), the index's postings written and Badger's work included: the
// figure that holds on a shared machine, where wall time does not.
func BenchmarkAppendSearchCPU(b *testing.B) {
	l := groupSyncedTrail(b)
	b.ReportAllocs()
	b.SetParallelism(32)
	before := cputime.Process()
	b.ResetTimer()
	appendSearches(b, l)
	b.ReportMetric(float64((cputime.Process()-before).Nanoseconds())/float64(b.N)/1e3, "cpu-µs/op")
}

// groupSyncedTrail opens a trail on a store on disk synced in groups, as
// the server runs it, closed at the end of b.
func groupSyncedTrail(b *testing.B) *Log {
	b.Helper()
	db, err := store.Open(b.TempDir(), store.Options{Deferred: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	syncer := store.NewSyncer(db)
	l, err := Open(db)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	l.SetSync(syncer.Sync)
	return l
}

// appendSearches appends b.N search-shaped entries from parallel callers
// and waits for every posting to be indexed.
func appendSearches(b *testing.B, l *Log) {
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(rand.Uint64(), 2))
		for pb.Next() {
			if _, err := l.Append(searchEntry(rng)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if err := l.idx.flush(); err != nil {
		b.Fatal(err)
	}
}
