package main

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
	"vigie/bench"
	"vigie/linkeval"
	"vigie/matcher"
	"vigie/mpi"
	"vigie/store"
)

func init() {
	register(verb{name: "bench mpi", summary: "measure the full patient-index pipeline on generated data: accuracy, speed, memory, disk", run: runBenchMPI})
}

func runBenchMPI(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench mpi", stderr)
	gen := fs.String("generated", "", "folder written by `vigie gen identities` (records.csv, truth.csv) (required)")
	data := fs.String("data", "", "store folder to import into (default: a temporary folder, removed afterwards); must be empty")
	modelPath := fs.String("model", "", "matcher model file (\"default\" for the shipped one; default: as `vigie import identities` into an empty store, a model fitted on the file's own records)")
	examples := fs.Int("examples", 0, "print this many collisions and splits, explained")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the import to this file")
	memProfile := fs.String("memprofile", "", "write a heap profile taken at the end of the import to this file")
	online := fs.Int("online", 10000, "resolve the file's last N rows online, one Resolve (one transaction) each, after the bulk load of the others, to measure online latency at that size")
	memLimit := fs.Int("memory-limit", defaultImportMemoryMiB, "soft limit of the Go heap in MiB, as for `vigie import identities` (0: none)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *gen == "" {
		return usageErr("--generated DIR is required")
	}
	setMemoryLimit(*memLimit)
	var model *matcher.Model // nil: fitted at the first load
	var err error
	if *modelPath != "" {
		if model, err = loadModel(*modelPath); err != nil {
			return err
		}
	}
	if _, err := os.Stat(filepath.Join(*gen, "truth.csv")); err != nil {
		return usageErr("--generated: %v", err)
	}
	dir := *data
	if dir == "" {
		if dir, err = os.MkdirTemp("", "vigie-bench-mpi-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	} else if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		return usageErr("--data %s is not empty", dir)
	}
	db, err := store.Open(dir, store.Options{NoSync: true})
	if err != nil {
		return err
	}
	defer db.Close()
	ix, err := mpi.Open(db, model, mpi.Options{CacheRecords: importCacheRecords})
	if err != nil {
		return err
	}
	defer ix.Close()
	f, err := os.Open(filepath.Join(*gen, "records.csv"))
	if err != nil {
		return err
	}
	defer f.Close()
	ctx := context.Background()
	if model == nil {
		d, err := fitBeforeLoad(ix, f, f.Name(), mpi.FitOptions{}, stdout)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "fitting the model took %s (before the import, not counted in it)\n", d.Round(time.Millisecond))
	}
	if c := ix.Model().Calibration; c != nil {
		fmt.Fprintf(stdout, "expected by the model: precision %.5f, recall %.4f of the pairs compared, review %.2f %% of records\n", c.ExpectedPrecision(), c.ExpectedRecall(), 100*c.ReviewShare())
	}
	var progress io.Writer
	if isTerminal(stderr) {
		progress = stderr
	}
	if *cpuProfile != "" {
		pf, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
	}
	opts := importOptions{latencies: true}
	if *online > 0 {
		rows, err := bench.CountRows(f)
		if err != nil {
			return err
		}
		opts.onlineFrom = max(rows-*online, 1)
	}
	// The process's CPU so far (the fit, when there was one) is not the
	// import's.
	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0) // on failure, zero: the whole process is counted
	stopRSS := bench.SampleRSS(500 * time.Millisecond)
	sum, err := importIdentities(ctx, ix, db, f, stderr, progress, opts)
	rss := stopRSS()
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if *memProfile != "" && err == nil {
		if err := bench.WriteHeapProfile(*memProfile); err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "import: %s", sum)
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
		fmt.Fprintf(stdout, "CPU time of the import: %s (%.0f rows per CPU second; other processes on the machine do not count here)\n",
			cpu.Round(time.Millisecond), float64(sum.Rows)/cpu.Seconds())
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peakOf := ""
		if model == nil {
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
		fmt.Fprintf(stdout, "bulk load, time to decide a row: p50 %s, p99 %s, max %s (its batch commits in the background)\n", bench.Percentile(lat, 0.50), bench.Percentile(lat, 0.99), lat[len(lat)-1])
	}
	if len(sum.Tail) > 0 {
		if err := bench.ResolveOnline(ctx, ix, sum.Tail, stdout, stderr); err != nil {
			return err
		}
	}

	// Export the links and score the clusters against the truth.
	linksPath := filepath.Join(dir, "links.csv")
	t0 := time.Now()
	links, err := exportReadLinks(ctx, ix, linksPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "export: %d links in %s\n", len(links), time.Since(t0).Round(time.Millisecond))
	pending, err := ix.PendingReviews(ctx)
	if err != nil {
		return err
	}
	truth, err := bench.ReadTruth(filepath.Join(*gen, "truth.csv"))
	if err != nil {
		return err
	}
	acc := scoreClusters(links, truth)
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
	fmt.Fprintf(stdout, "store size on disk: %.1f MB\n", float64(bench.DirSize(dir)-bench.FileSize(linksPath))/(1<<20))
	if *examples > 0 {
		return bench.PrintExamples(ctx, ix, acc, truth, *examples, stdout)
	}
	return nil
}

// readTruth reads the truth.csv of `vigie gen identities` (bench.ReadTruth).
func readTruth(path string) (map[vigie.SourceKey]string, error) { return bench.ReadTruth(path) }

// exportReadLinks exports the index's links to path, as `vigie export
// links` does, and reads them back.
func exportReadLinks(ctx context.Context, ix *mpi.Index, path string) (map[vigie.SourceKey]string, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := exportLinks(ctx, ix, f); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return bench.ReadLinks(path)
}

// clusterAccuracy compares the identities found with the true persons.
type clusterAccuracy = linkeval.Clusters[vigie.SourceKey]

func scoreClusters(links, truth map[vigie.SourceKey]string) clusterAccuracy {
	return linkeval.ScoreClusters(links, truth)
}
