package dosimetry

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"vigie/internal/cputime"
	"vigie/ledger"
	"vigie/store"
)

// TestMain removes the store the stored-ledger benchmarks built in a
// temporary folder.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchStore.tmp != "" {
		if benchStore.db != nil {
			benchStore.db.Close()
		}
		os.RemoveAll(benchStore.tmp)
	}
	os.Exit(code)
}

// benchStore is the generated ledger stored on disk, built once per run
// (or once for good in VIGIE_BENCH_STORE) and shared by the benchmarks.
var benchStore struct {
	once sync.Once
	tmp  string // temporary folder to remove at the end of the run
	db   *store.DB
	led  *ledger.Ledger
	n    int
	err  error
}

// storedLedger returns the generated ledger of VIGIE_BENCH_EXAMS exams
// (default 1 000 000) in a Badger store on disk. With VIGIE_BENCH_STORE
// set, the store is kept in that folder and reused by later runs when it
// holds the same number of exams; otherwise it is built in a temporary
// folder. Building a million exams takes minutes; it is reported once.
func storedLedger(b *testing.B) *ledger.Ledger {
	b.Helper()
	n := benchN(b, 1_000_000)
	benchStore.once.Do(func() {
		benchStore.n = n
		dir := os.Getenv("VIGIE_BENCH_STORE")
		if dir == "" {
			dir, benchStore.err = os.MkdirTemp("", "vigie-bench-ledger-")
			if benchStore.err != nil {
				return
			}
			benchStore.tmp = dir
		}
		benchStore.db, benchStore.err = store.Open(dir, store.Options{NoSync: true})
		if benchStore.err != nil {
			return
		}
		benchStore.led = ledger.Open(benchStore.db)
		ctx := context.Background()
		_, lastErr := benchStore.led.Get(ctx, "2.25."+strconv.Itoa(n-1))
		_, nextErr := benchStore.led.Get(ctx, "2.25."+strconv.Itoa(n))
		if lastErr == nil && nextErr != nil {
			fmt.Fprintf(os.Stderr, "stored ledger: reusing %d exams in %s (%.0f MB)\n", n, dir, dirMB(dir))
			return
		}
		start, cpu0 := time.Now(), cputime.Process()
		genExams(n, func(x ledger.Exam) {
			if benchStore.err != nil {
				return
			}
			if _, err := benchStore.led.Put(ctx, &x); err != nil {
				benchStore.err = err
			}
		})
		if benchStore.err != nil {
			return
		}
		if benchStore.err = benchStore.db.Sync(); benchStore.err != nil {
			return
		}
		fmt.Fprintf(os.Stderr, "stored ledger: %d exams over 40 sites built in %v wall, %v CPU; store %.0f MB\n",
			n, time.Since(start).Round(time.Millisecond), (cputime.Process() - cpu0).Round(time.Millisecond), dirMB(dir))
	})
	if benchStore.err != nil {
		b.Fatal(benchStore.err)
	}
	if benchStore.n != n {
		b.Fatalf("the stored ledger holds %d exams, not %d", benchStore.n, n)
	}
	return benchStore.led
}

// dirMB is the disk space the files under dir take, in MB.
func dirMB(dir string) float64 {
	var size int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				size += diskBytes(fi)
			}
		}
		return nil
	})
	return float64(size) / 1e6
}

// BenchmarkStoredEvaluateSiteYear evaluates one site (1/40 of the ledger)
// over one year, every device and exam type, reading the exams from the
// Badger store on disk as `vigie nrd evaluate --site` does. Run with
// -benchtime=5x: an iteration is a whole evaluation.
func BenchmarkStoredEvaluateSiteYear(b *testing.B) {
	led := storedLedger(b)
	ev := &Evaluator{Types: DefaultTable(), NRD: DefaultNRD()}
	q := Query{Site: "1.2.250.1.7", From: "2025-01-01", To: "2025-12-31"}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cputime.Process()
	for b.Loop() {
		out, err := ev.Evaluate(context.Background(), led, q)
		if err != nil || len(out) == 0 {
			b.Fatal(err, len(out))
		}
	}
	b.ReportMetric(float64(cputime.Process()-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(benchStore.n), "exams")
}

// BenchmarkStoredAlertScanSite applies every alert rule to one site's year
// read from the store on disk, each patient's history read from the
// ledger as `vigie alerts scan --site` does (without the patient index:
// each source record is a patient).
func BenchmarkStoredAlertScanSite(b *testing.B) {
	led := storedLedger(b)
	s := &Scanner{Types: DefaultTable(), NRD: DefaultNRD(), Coef: DefaultCoefficients(), Config: DefaultAlertConfig(), History: led}
	q := ScanQuery{Site: "1.2.250.1.7", From: "2025-01-01", To: "2025-12-31"}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cputime.Process()
	var res ScanResult
	for b.Loop() {
		res = ScanResult{}
		if _, err := s.Check(context.Background(), led, q, &res); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cputime.Process()-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(res.Exams), "site-exams")
}
