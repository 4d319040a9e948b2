package audit

import (
	"fmt"
	"math/rand/v2"
	"testing"

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
	db, err := store.Open(b.TempDir(), store.Options{Deferred: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	syncer := store.NewSyncer(db)
	l, err := Open(db)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	l.SetSync(syncer.Sync)
	b.ResetTimer()
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
