package dosimetry

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"vigie"
	"vigie/internal/cputime"
	"vigie/ledger"
	"vigie/mpi"
	"vigie/store"
)

// BenchmarkLoadExamsForRecords puts VIGIE_BENCH_EXAMS exams (default
// 1 000 000) into the Vigie store in VIGIE_BENCH_RECORDS_STORE, a store
// made by `vigie import identities` (service stopped), each exam attached
// to one of the store's source records: the exams of genExams (the shapes
// and mix of the NRD benchmarks, patients seen about twice), each one's
// source key replaced by a stored record's, through the ledger's ordinary
// Put. It makes the store of a million records with a million exams that
// issue 33's backup and restore figures are taken on (docs/benchmarks.md,
// "Backup and restore at a million records"). Run it once, with
// -benchtime 1x; a second run stores nothing new (every SOP instance is
// already there).
//
// The exams stand for a history evaluated long ago: the markers Put leaves
// for the dose alerts (ledger.Pending) are cleared through
// ledger.Evaluated once the exams are in, so that the server's first start
// does not evaluate a million studies while it is measured.
func BenchmarkLoadExamsForRecords(b *testing.B) {
	dir := os.Getenv("VIGIE_BENCH_RECORDS_STORE")
	if dir == "" {
		b.Skip("VIGIE_BENCH_RECORDS_STORE is not set: name a store made by `vigie import identities` (it is written into)")
	}
	n := benchN(b, 1_000_000)
	db, err := store.Open(dir, store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var keys []vigie.SourceKey
	if err := db.View(func(txn *store.Txn) error {
		return mpi.Patients(txn, func(p *mpi.Patient) error {
			keys = append(keys, p.Members...)
			return nil
		})
	}); err != nil {
		b.Fatal(err)
	}
	if len(keys) == 0 {
		b.Fatalf("%s holds no source record: import identities into it first", dir)
	}
	led := ledger.Open(db)
	ctx := context.Background()
	for b.Loop() {
		start, cpu0 := time.Now(), cputime.Process()
		var putErr error
		i := 0
		genExams(n, func(x ledger.Exam) {
			if putErr != nil {
				return
			}
			// genExams spreads its patients over n/2+1 numbers: patient p
			// is the p-th stored record (identities in id order, each one's
			// records in turn), so that a
			// record has two exams on average when n is the number of
			// records.
			p, err := strconv.Atoi(x.Key.LocalID)
			if err != nil {
				putErr = err
				return
			}
			x.Key = keys[p%len(keys)]
			if _, err := led.Put(ctx, &x); err != nil {
				putErr = err
			}
			i++
		})
		if putErr != nil {
			b.Fatal(putErr)
		}
		put := time.Since(start)
		pending, err := led.Pending(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range pending {
			if err := led.Evaluated(ctx, p); err != nil {
				b.Fatal(err)
			}
		}
		if err := db.Sync(); err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(os.Stderr, "%d exams put for %d stored records in %v (%.0f exams/s), %d alert markers cleared; %v wall, %v CPU in all; store %.0f MB\n",
			i, len(keys), put.Round(time.Millisecond), float64(i)/put.Seconds(), len(pending),
			time.Since(start).Round(time.Millisecond), (cputime.Process() - cpu0).Round(time.Millisecond), dirMB(dir))
	}
}
