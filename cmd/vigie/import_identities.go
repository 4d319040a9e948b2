package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"syscall"
	"time"

	"vigie"
	"vigie/ingest"
	"vigie/matcher"
	"vigie/mpi"
	"vigie/store"
)

func init() {
	register(verb{name: "import identities", summary: "resolve an identity CSV feed into the patient index", run: runImportIdentities})
}

func runImportIdentities(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("import identities", stderr)
	data := dataFlag(fs, "created if missing")
	modelPath := fs.String("model", "", "matcher model file, stored as the index's current model version (default: the store's current model; into an empty store, a model fitted on the file's own records)")
	durable := fs.Bool("durable", false, "sync every record to disk as it is resolved (slower); by default the load syncs once at the end, and an interrupted load is re-run")
	quiet := fs.Bool("quiet", false, "no progress bar")
	reserve := diskReserveFlag(fs)
	caches := importCaches
	caches.flags(fs)
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the load (not of the model's fit) to this file, for `go tool pprof`")
	memProfile := fs.String("memprofile", "", "write a heap profile, taken at the end of the load, to this file, for `go tool pprof`")
	memLimit := autoMiB(-1)
	fs.Var(&memLimit, "memory-limit", fmt.Sprintf("soft limit of the Go heap in MiB, so that the garbage collector works harder before the process grows past it (default: the caches plus %d MiB, %d with the default caches; 0: none; GOMEMLIMIT wins when set)", importHeapRoomMiB, defaultImportMemoryMiB))
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *data == "" {
		return usageErr("--data DIR is required")
	}
	if memLimit < 0 {
		memLimit = autoMiB(caches.memoryLimitMiB(importHeapRoomMiB))
	}
	setMemoryLimit(int(memLimit))
	if fs.NArg() != 1 {
		return usageErr("one FILE.csv (or - for standard input) is required")
	}
	var in io.ReadSeeker
	name := fs.Arg(0)
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return usageErr("%v", err)
		}
		defer f.Close()
		in = f
	}
	var given *matcher.Model
	if *modelPath != "" {
		var err error
		if given, err = loadModel(*modelPath); err != nil {
			return err
		}
	}
	// Under the disk reserve the load stops with an error naming the free
	// space and the reserve; the rows acknowledged before are kept.
	db, err := openStore(*data, caches.storeOptions(store.Options{NoSync: !*durable, DiskReserve: int64(*reserve),
		Log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}))
	if err != nil {
		return err
	}
	defer db.Close()
	ix, err := mpi.Open(db, nil, mpi.Options{CacheRecords: caches.formRecords()})
	if err != nil {
		return err
	}
	defer ix.Close()
	switch {
	case given != nil:
		info, err := ix.UseModel(given, mpi.ModelInfo{Origin: mpi.OriginFile, File: filepath.Base(*modelPath), Actor: mpi.System, Reason: "given with --model"})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "linking with %s\n", info)
	case ix.Count() == 0:
		if in == nil { // standard input: read it whole to fit, then load
			b, err := io.ReadAll(os.Stdin)
			if err != nil {
				return err
			}
			in = bytes.NewReader(b)
		}
		if _, err := fitBeforeLoad(ix, in, name, mpi.FitOptions{}, stdout); err != nil {
			return err
		}
	default:
		fmt.Fprintf(stdout, "linking with %s\n", ix.ModelInfo())
	}
	if in == nil {
		in = os.Stdin
	}
	var progress io.Writer
	if !*quiet && isTerminal(stderr) {
		progress = stderr
	}
	if *cpuProfile != "" {
		pf, err := os.Create(*cpuProfile)
		if err != nil {
			return usageErr("--cpuprofile: %v", err)
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	// An interrupt (Ctrl-C, SIGTERM) stops the load between two batches:
	// the rows acknowledged are stored and synced, the summary says how
	// many, and a CPU profile is complete. Running the import again loads
	// the rest (the rows stored are found unchanged).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sum, err := importIdentities(ctx, ix, db, in, stderr, progress, importOptions{})
	if *memProfile != "" {
		if perr := writeHeapProfile(*memProfile); perr != nil && err == nil {
			err = perr
		}
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = fmt.Errorf("interrupted after %d rows, stored and synced: run the import again to load the rest", sum.Rows)
	}
	fmt.Fprint(stdout, sum.String())
	if c := ix.Model().Calibration; c != nil {
		fmt.Fprintf(stdout, "the model expected: precision %.5f, recall %.4f of the pairs compared, review %.2f %% of records\n", c.ExpectedPrecision(), c.ExpectedRecall(), 100*c.ReviewShare())
	}
	if err != nil {
		return err
	}
	if sum.Rejected > 0 {
		return vigie.Invalid("rows", "%d rows rejected (listed above)", sum.Rejected)
	}
	return nil
}

// loadModel reads a model file, or returns the shipped one for "".
func loadModel(path string) (*matcher.Model, error) {
	if path == "" || path == "default" {
		return matcher.DefaultModel(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, usageErr("--model: %v", err)
	}
	return matcher.ParseModel(b)
}

// importOptions are what the benchmark and the crash test ask of an import.
type importOptions struct {
	latencies bool                         // record each row's decision time
	ack       func(line int, r mpi.Result) // called for every row resolved, once committed
	reject    func(line int, err error)    // called for every row rejected, with why
	// onlineFrom, when positive, is how many rows are loaded: the rows
	// after them are left in importSummary.Tail, for the benchmark to
	// resolve online at the size the load reached.
	onlineFrom int
}

// importSummary counts what an import did.
type importSummary struct {
	Rows, New, Linked, Review, Updated, Unchanged, Rejected int
	Warned                                                  int // rows stored with warnings (an unreadable birth date...)
	Elapsed                                                 time.Duration
	Latencies                                               []time.Duration // per resolved row, when asked for
	Tail                                                    []mpi.Row       // rows not loaded (see importOptions.onlineFrom)
}

func (s importSummary) String() string {
	rate := 0.0
	if s.Elapsed > 0 {
		rate = float64(s.Rows) / s.Elapsed.Seconds()
	}
	warned := ""
	if s.Warned > 0 {
		warned = fmt.Sprintf(" (%d stored with warnings, listed above)", s.Warned)
	}
	return fmt.Sprintf("%d rows in %s (%.0f rows/s): %d new identities, %d auto-links, %d reviews, %d updated, %d unchanged, %d rejected%s\n",
		s.Rows, s.Elapsed.Round(time.Millisecond), rate, s.New, s.Linked, s.Review, s.Updated, s.Unchanged, s.Rejected, warned)
}

// importIdentities resolves every row of an identity CSV, exactly as online
// resolution does one row after the other (the order of the file decides,
// so that a re-run gives the same links), through the patient index's bulk
// load (mpi.Index.Import): many rows per transaction, a row acknowledged
// once its transaction committed. A rejected row is reported on rejects
// with its line, field and reason, and nothing is written for it; so are
// the reader's notices (a file read as Windows-1252) and the warnings of
// rows stored but not wholly believed (an unreadable birth date). The
// store is synced at the end (the load may run with NoSync).
func importIdentities(ctx context.Context, ix *mpi.Index, db *store.DB, in io.Reader, rejects, progress io.Writer, o importOptions) (importSummary, error) {
	var sum importSummary
	if o.latencies {
		sum.Latencies = []time.Duration{}
	}
	t0 := time.Now()
	last := t0
	var tail []mpi.Row // rows to resolve online, after the bulk load
	read := func(emit func(mpi.Row) error) error {
		n := 0
		feed := ingest.IdentityCSV{Notice: func(line int, msg string) {
			fmt.Fprintf(rejects, "line %d: notice: %s\n", line, msg)
		}}
		return feed.Read(in, func(line int, rec vigie.Record, rerr error) error {
			n++
			if o.onlineFrom > 0 && n > o.onlineFrom {
				tail = append(tail, mpi.Row{Line: line, Record: rec, Err: rerr})
				return nil
			}
			return emit(mpi.Row{Line: line, Record: rec, Err: rerr})
		})
	}
	done := func(r mpi.Imported) error {
		sum.Rows++
		if rerr := r.Err; rerr != nil {
			sum.Rejected++
			var re *ingest.RowError
			if errors.As(rerr, &re) {
				rerr = re.Err
			}
			fmt.Fprintf(rejects, "line %d: rejected: field %s: %v\n", r.Line, vigie.ErrorField(rerr), rerr)
			if o.reject != nil {
				o.reject(r.Line, rerr)
			}
		} else {
			if sum.Latencies != nil {
				sum.Latencies = append(sum.Latencies, r.Decide)
			}
			if len(r.Result.Warnings) > 0 {
				sum.Warned++
				for _, w := range r.Result.Warnings {
					fmt.Fprintf(rejects, "line %d: stored with a warning: %s\n", r.Line, w)
				}
			}
			switch r.Result.Decision {
			case mpi.DecisionNew:
				sum.New++
			case mpi.DecisionLinked:
				sum.Linked++
			case mpi.DecisionReview:
				sum.Review++
			case mpi.DecisionUpdated:
				sum.Updated++
			case mpi.DecisionUnchanged:
				sum.Unchanged++
			}
			if o.ack != nil {
				o.ack(r.Line, r.Result)
			}
		}
		if progress != nil && sum.Rows%1000 == 0 && time.Since(last) > 200*time.Millisecond {
			last = time.Now()
			fmt.Fprintf(progress, "\r%d rows, %.0f rows/s, %d rejected ", sum.Rows, float64(sum.Rows)/time.Since(t0).Seconds(), sum.Rejected)
		}
		return nil
	}
	err := ix.Import(ctx, read, mpi.ImportOptions{Done: done})
	sum.Tail = tail
	if progress != nil {
		fmt.Fprintf(progress, "\r%d rows, done%20s\n", sum.Rows, "")
	}
	if serr := db.Sync(); err == nil && serr != nil {
		err = fmt.Errorf("sync the store: %w", serr)
	}
	sum.Elapsed = time.Since(t0)
	return sum, err
}

// defaultImportMemoryMiB is the soft limit of the Go heap for bulk loads
// with the default caches (see cacheSizes.memoryLimitMiB).
var defaultImportMemoryMiB = importCaches.memoryLimitMiB(importHeapRoomMiB)

// importCacheRecords sizes the patient index's cache of normalised forms
// for the benchmarks' bulk loads, as importCaches does for the verb's.
var importCacheRecords = importCaches.formRecords()

// setMemoryLimit sets a soft limit on the Go heap (in MiB) unless the
// GOMEMLIMIT environment variable already did. A bulk load holds the index's
// in-memory mirrors, which grow with the number of records; without a limit
// the heap may reach twice its live size before a collection.
func setMemoryLimit(mib int) {
	if mib > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(mib) << 20)
	}
}

// writeHeapProfile writes the live heap's profile to path (after a
// collection, so that it shows what the load holds, not its garbage).
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return usageErr("--memprofile: %v", err)
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// autoMiB is a number of MiB given by a flag, negative (shown as auto)
// until set: its default then depends on other flags.
type autoMiB int

func (a *autoMiB) String() string {
	if *a < 0 {
		return "auto"
	}
	return strconv.Itoa(int(*a))
}

func (a *autoMiB) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a number of MiB", s)
	}
	*a = autoMiB(n)
	return nil
}

// isTerminal reports whether w is a terminal (for the progress bar).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
