package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"vigie"
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
		rows, err := countRows(f)
		if err != nil {
			return err
		}
		opts.onlineFrom = max(rows-*online, 1)
	}
	// The process's CPU so far (the fit, when there was one) is not the
	// import's.
	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0) // on failure, zero: the whole process is counted
	stopRSS := sampleRSS(500 * time.Millisecond)
	sum, err := importIdentities(ctx, ix, db, f, stderr, progress, opts)
	rss := stopRSS()
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if *memProfile != "" && err == nil {
		if err := writeHeapProfile(*memProfile); err != nil {
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
		if rss.anon > 0 {
			fmt.Fprintf(stdout, "  sampled during the import: at most %.0f MB anonymous (heap, Badger's buffers), %.0f MB of mapped files (store tables, reclaimable page cache)\n",
				float64(rss.anon)/(1<<20), float64(rss.file)/(1<<20))
		}
	}
	lat := slices.Clone(sum.Latencies)
	slices.Sort(lat)
	if len(lat) > 0 {
		fmt.Fprintf(stdout, "bulk load, time to decide a row: p50 %s, p99 %s, max %s (its batch commits in the background)\n", pct(lat, 0.50), pct(lat, 0.99), lat[len(lat)-1])
	}
	if len(sum.Tail) > 0 {
		if err := resolveOnline(ctx, ix, sum.Tail, stdout, stderr); err != nil {
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
	truth, err := readTruth(filepath.Join(*gen, "truth.csv"))
	if err != nil {
		return err
	}
	acc := scoreClusters(links, truth)
	fmt.Fprint(stdout, acc.String())
	fmt.Fprintf(stdout, "review queue: %d pending (%.2f %% of records)\n", pending, 100*float64(pending)/float64(max(len(links), 1)))
	// Flattening rewrites the tables: not under the disk reserve.
	if err := store.Guard(db).Allow(store.WriteData); err == nil {
		if err := db.Flatten(1); err == nil {
			_ = db.Sync()
		}
	}
	fmt.Fprintf(stdout, "store size on disk: %.1f MB\n", float64(dirSize(dir)-fileSize(linksPath))/(1<<20))
	if *examples > 0 {
		return printExamples(ctx, ix, acc, truth, *examples, stdout)
	}
	return nil
}

// peakRSS is the largest resident memory seen, split as the kernel counts
// it: anonymous memory (the process's own) and pages of mapped files (Badger
// maps its tables; those pages are page cache the kernel may reclaim, yet
// they count in the peak RSS getrusage reports).
type peakRSS struct{ anon, file int64 }

// sampleRSS samples /proc/self/status every interval until the returned
// function is called, which returns the peaks (zero where the file is
// unavailable, as outside Linux).
func sampleRSS(interval time.Duration) func() peakRSS {
	var peak peakRSS
	done := make(chan struct{})
	stopped := make(chan struct{})
	sample := func() {
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			return
		}
		for line := range strings.Lines(string(b)) {
			name, v, _ := strings.Cut(line, ":")
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				continue
			}
			switch name {
			case "RssAnon":
				peak.anon = max(peak.anon, kb<<10)
			case "RssFile":
				peak.file = max(peak.file, kb<<10)
			}
		}
	}
	go func() {
		defer close(stopped)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			sample()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() peakRSS {
		close(done)
		<-stopped
		sample()
		return peak
	}
}

func pct(sorted []time.Duration, q float64) time.Duration {
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		return err
	}
	return f.Close()
}

// readTruth reads the truth.csv of `vigie gen identities`: the true person
// of every source record.
func readTruth(path string) (map[vigie.SourceKey]string, error) { return readKeyed(path, "person") }

func readLinks(path string) (map[vigie.SourceKey]string, error) { return readKeyed(path, "identity") }

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
	return readLinks(path)
}

// readKeyed reads a CSV authority,local_id,COLUMN into a map.
func readKeyed(path, column string) (map[vigie.SourceKey]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil || len(head) != 3 || head[0] != "authority" || head[1] != "local_id" || head[2] != column {
		return nil, fmt.Errorf("%s: the header must be authority,local_id,%s", path, column)
	}
	out := map[vigie.SourceKey]string{}
	for {
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out[vigie.SourceKey{Authority: row[0], LocalID: row[1]}] = row[2]
	}
}

// clusterAccuracy compares the identities found with the true persons.
type clusterAccuracy = linkeval.Clusters[vigie.SourceKey]

func scoreClusters(links, truth map[vigie.SourceKey]string) clusterAccuracy {
	return linkeval.ScoreClusters(links, truth)
}

// printExamples explains a few collisions and splits: the score of the two
// records concerned, as the matcher sees them.
func printExamples(ctx context.Context, ix *mpi.Index, a clusterAccuracy, truth map[vigie.SourceKey]string, n int, w io.Writer) error {
	explain := func(title string, k1, k2 vigie.SourceKey) error {
		h1, err := ix.Latest(ctx, k1)
		if err != nil {
			return err
		}
		h2, err := ix.Latest(ctx, k2)
		if err != nil {
			return err
		}
		p1, err1 := matcher.Prepare(&h1.Record)
		p2, err2 := matcher.Prepare(&h2.Record)
		if err1 != nil || err2 != nil {
			return errors.Join(err1, err2)
		}
		c := matcher.Compare(p1, p2)
		s := ix.Model().WithPopulation(max(ix.Count(), 10000)).Score(&c, nil)
		fmt.Fprintf(w, "\n%s: %s (%s) and %s (%s)\n%s", title, k1, truth[k1], k2, truth[k2], s.Table())
		return nil
	}
	for i, id := range a.Collisions {
		if i >= n {
			break
		}
		ks := a.Members[id]
		for j := 1; j < len(ks); j++ {
			if truth[ks[j]] != truth[ks[0]] {
				if err := explain("collision in identity "+id, ks[0], ks[j]); err != nil {
					return err
				}
				break
			}
		}
	}
	for i, p := range a.Splits {
		if i >= n {
			break
		}
		ks := a.Holdings[p]
		id0, err := ix.IdentityOf(ctx, ks[0].Authority, ks[0].LocalID)
		if err != nil {
			return err
		}
		for j := 1; j < len(ks); j++ {
			id, err := ix.IdentityOf(ctx, ks[j].Authority, ks[j].LocalID)
			if err != nil {
				return err
			}
			if id != id0 {
				if err := explain("split of person "+p, ks[0], ks[j]); err != nil {
					return err
				}
				break
			}
		}
	}
	return nil
}

// dirSize is the disk space the files under dir take (allocated blocks:
// Badger preallocates its log files sparsely).
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				if st, ok := info.Sys().(*syscall.Stat_t); ok {
					n += st.Blocks * 512
				} else {
					n += info.Size()
				}
			}
		}
		return nil
	})
	return n
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// countRows counts the data rows of a CSV file (its lines but the header)
// and rewinds it. A quoted field holding a line break would count twice:
// generated files have none, and the count only places the online tail.
func countRows(f *os.File) (int, error) {
	n, buf := 0, make([]byte, 1<<20)
	for {
		k, err := f.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	_, err := f.Seek(0, io.SeekStart)
	return n - 1, err
}

// resolveOnline resolves rows one Resolve each, as the API does, and prints
// their latency: the online resolution at the size the bulk load reached.
func resolveOnline(ctx context.Context, ix *mpi.Index, rows []mpi.Row, stdout, stderr io.Writer) error {
	var lat []time.Duration
	decisions := map[mpi.Decision]int{}
	for _, r := range rows {
		if r.Err != nil {
			fmt.Fprintf(stderr, "line %d: rejected: field %s: %v\n", r.Line, vigie.ErrorField(r.Err), r.Err)
			continue
		}
		t := time.Now()
		res, err := ix.Resolve(ctx, r.Record, mpi.System)
		d := time.Since(t)
		switch {
		case vigie.ErrorCode(err) == vigie.EINVALID:
			fmt.Fprintf(stderr, "line %d: rejected: field %s: %v\n", r.Line, vigie.ErrorField(err), err)
			continue
		case err != nil:
			return fmt.Errorf("line %d: %w", r.Line, err)
		}
		lat = append(lat, d)
		decisions[res.Decision]++
	}
	if len(lat) == 0 {
		return nil
	}
	slices.Sort(lat)
	fmt.Fprintf(stdout, "online resolve after the load (%d rows, one transaction each, no sync): p50 %s, p99 %s, max %s; %d new, %d linked, %d review\n",
		len(lat), pct(lat, 0.50), pct(lat, 0.99), lat[len(lat)-1], decisions[mpi.DecisionNew], decisions[mpi.DecisionLinked], decisions[mpi.DecisionReview])
	return nil
}
