package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"syscall"
	"time"

	"vigie"
	"vigie/linkeval"
	"vigie/matcher"
	"vigie/mpi"
	"vigie/store"
)

// MPIConfig is one run of `vigie bench mpi`: the whole patient index on a
// generated population, loaded through the command's import code (the
// hooks), then its links scored against the population's truth.
type MPIConfig struct {
	// Generated is a folder of `vigie gen identities` (records.csv,
	// truth.csv).
	Generated string
	// Dir is the store's folder, empty: the caller makes and removes it.
	Dir string
	// Model scores the records; nil fits one on the file before the load
	// (Fit), as an import into an empty store does.
	Model        *matcher.Model
	CacheRecords int // the index's cache of records (mpi.Options)
	// Online, when positive, leaves the file's last Online rows out of the
	// bulk load and resolves them one by one after it (ResolveOnline).
	Online                 int
	Examples               int    // collisions and splits printed, explained
	CPUProfile, MemProfile string // profiles of the import, when set

	// Fit fits a model on the records of f before the load and returns
	// how long it took (`vigie import identities`'s fit).
	Fit func(ix *mpi.Index, f *os.File) (time.Duration, error)
	// Import loads f into the index as `vigie import identities` does,
	// recording each row's decision time; the rows from line onlineFrom
	// on (0: none) are left in Imported.Tail.
	Import func(ctx context.Context, ix *mpi.Index, db *store.DB, f *os.File, onlineFrom int) (Imported, error)
	// Export writes the index's links as `vigie export links` does.
	Export func(ctx context.Context, ix *mpi.Index, w io.Writer) error
}

// Imported is what the import hook reports.
type Imported struct {
	Report    string          // the import's summary, as the verb prints it
	Rows      int             // rows loaded
	Latencies []time.Duration // each row's decision time
	Tail      []mpi.Row       // the rows left for ResolveOnline
}

// MPI runs the measurement c describes and prints its figures: the
// import's speed, CPU time and memory, the online resolution after it,
// the export, the accuracy of the identities against the truth, the
// review queue and the store's size on disk.
func MPI(ctx context.Context, c MPIConfig, stdout, stderr io.Writer) error {
	db, err := store.Open(c.Dir, store.Options{NoSync: true})
	if err != nil {
		return err
	}
	defer db.Close()
	ix, err := mpi.Open(db, c.Model, mpi.Options{CacheRecords: c.CacheRecords})
	if err != nil {
		return err
	}
	defer ix.Close()
	f, err := os.Open(filepath.Join(c.Generated, "records.csv"))
	if err != nil {
		return err
	}
	defer f.Close()
	if c.Model == nil {
		d, err := c.Fit(ix, f)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "fitting the model took %s (before the import, not counted in it)\n", d.Round(time.Millisecond))
	}
	if c := ix.Model().Calibration; c != nil {
		fmt.Fprintf(stdout, "expected by the model: precision %.5f, recall %.4f of the pairs compared, review %.2f %% of records\n", c.ExpectedPrecision(), c.ExpectedRecall(), 100*c.ReviewShare())
	}
	if c.CPUProfile != "" {
		pf, err := os.Create(c.CPUProfile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
	}
	onlineFrom := 0
	if c.Online > 0 {
		rows, err := CountRows(f)
		if err != nil {
			return err
		}
		onlineFrom = max(rows-c.Online, 1)
	}
	// The process's CPU so far (the fit, when there was one) is not the
	// import's.
	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0) // on failure, zero: the whole process is counted
	stopRSS := SampleRSS(500 * time.Millisecond)
	sum, err := c.Import(ctx, ix, db, f, onlineFrom)
	rss := stopRSS()
	if c.CPUProfile != "" {
		pprof.StopCPUProfile()
	}
	if c.MemProfile != "" && err == nil {
		if err := WriteHeapProfile(c.MemProfile); err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "import: %s", sum.Report)
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
		fmt.Fprintf(stdout, "CPU time of the import: %s (%.0f rows per CPU second; other processes on the machine do not count here)\n",
			cpu.Round(time.Millisecond), float64(sum.Rows)/cpu.Seconds())
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peakOf := ""
		if c.Model == nil {
			peakOf = " (the process's: the fit before it included)"
		}
		fmt.Fprintf(stdout, "peak RSS of the import%s: %.0f MB (Go heap now: %.0f MB in use, %.0f MB held; all Go memory: %.0f MB)\n",
			peakOf, float64(ru.Maxrss)/1024, float64(ms.HeapInuse)/(1<<20), float64(ms.HeapSys-ms.HeapReleased)/(1<<20), float64(ms.Sys)/(1<<20))
		if rss.Anon > 0 {
			fmt.Fprintf(stdout, "  sampled during the import: at most %.0f MB anonymous (heap, Badger's buffers), %.0f MB of mapped files (store tables, reclaimable page cache)\n",
				float64(rss.Anon)/(1<<20), float64(rss.File)/(1<<20))
		}
	}
	lat := slices.Clone(sum.Latencies)
	slices.Sort(lat)
	if len(lat) > 0 {
		fmt.Fprintf(stdout, "bulk load, time to decide a row: p50 %s, p99 %s, max %s (its batch commits in the background)\n", Percentile(lat, 0.50), Percentile(lat, 0.99), lat[len(lat)-1])
	}
	if len(sum.Tail) > 0 {
		if err := ResolveOnline(ctx, ix, sum.Tail, stdout, stderr); err != nil {
			return err
		}
	}

	// Export the links and score the clusters against the truth.
	linksPath := filepath.Join(c.Dir, "links.csv")
	t0 := time.Now()
	links, err := exportReadLinks(ctx, c.Export, ix, linksPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "export: %d links in %s\n", len(links), time.Since(t0).Round(time.Millisecond))
	pending, err := ix.PendingReviews(ctx)
	if err != nil {
		return err
	}
	truth, err := ReadTruth(filepath.Join(c.Generated, "truth.csv"))
	if err != nil {
		return err
	}
	acc := linkeval.ScoreClusters(links, truth)
	fmt.Fprint(stdout, acc.String())
	fmt.Fprintf(stdout, "review queue: %d pending (%.2f %% of records)\n", pending, 100*float64(pending)/float64(max(len(links), 1)))
	// Flattening rewrites the tables: not under the disk reserve.
	if err := store.Guard(db).Allow(store.WriteData); err == nil {
		err := db.Flatten(1)
		if err == nil {
			err = db.Sync()
		}
		if err != nil {
			fmt.Fprintf(stderr, "the store was not flattened before its size was measured: %v\n", err)
		}
	}
	fmt.Fprintf(stdout, "store size on disk: %.1f MB\n", float64(DirSize(c.Dir)-FileSize(linksPath))/(1<<20))
	if c.Examples > 0 {
		return PrintExamples(ctx, ix, acc, truth, c.Examples, stdout)
	}
	return nil
}

// exportReadLinks exports the index's links to path with export and reads
// them back.
func exportReadLinks(ctx context.Context, export func(context.Context, *mpi.Index, io.Writer) error, ix *mpi.Index, path string) (map[vigie.SourceKey]string, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := export(ctx, ix, f); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return ReadLinks(path)
}
