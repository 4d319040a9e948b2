package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// GrowthConfig is one run of `vigie bench import`: for each size, a
// generated population loaded into a new store and its links exported,
// each step run as the command a user types (a child process, whose CPU
// time and peak memory the kernel counts alone), so that the figures of
// two sizes are comparable and a cost that grows faster than the data
// shows in the table.
type GrowthConfig struct {
	// Sizes are the numbers of source records to load, in increasing
	// order (the generator gives about RecordsPerPerson per person: the
	// loads hold about that many rows).
	Sizes []int
	Sites int    // establishments (`gen identities --sites`)
	Names string // `gen identities --names` (empty: the generator's search)
	Seed  uint64 // the generator's seed
	// Model is `import identities --model`: "default" scores with the
	// shipped model, "" fits one on each file first (its time is then
	// in the import's).
	Model string
	// Dir holds each size's generated files and store (removed after it
	// unless Keep).
	Dir  string
	Keep bool
	// CPUProfiles, when set, is a folder where each size's import writes
	// its CPU profile (import-N.cpu).
	CPUProfiles string
	// Serve, when set, also starts `vigie serve` on each size's store
	// with its default caches and measures its memory once it is ready
	// (its search index built, its cache of forms warmed).
	Serve bool
	// ServeTimeout bounds how long the server may take to be ready.
	ServeTimeout time.Duration
	// Command returns the command running the vigie binary with args.
	Command func(ctx context.Context, args ...string) *exec.Cmd
}

// RecordsPerPerson is about how many source records the generator writes
// per person (`vigie gen identities` prints the exact figure).
const RecordsPerPerson = 1.85

// Run is one child process's cost.
type Run struct {
	Wall, CPU time.Duration
	PeakRSS   int64 // bytes
}

// GrowthRow is one size's figures.
type GrowthRow struct {
	Rows           int // data rows of the generated file
	Import, Export Run
	Disk           int64 // the store's size on disk after the import
	// Served is the server's memory once ready (zero unless
	// GrowthConfig.Serve).
	Served ServedMemory
}

// Growth runs c and prints each size's figures as it has them, then the
// growth table: each cost per row at every size against the first.
func Growth(ctx context.Context, c GrowthConfig, stdout, stderr io.Writer) ([]GrowthRow, error) {
	var rows []GrowthRow
	for _, size := range c.Sizes {
		r, err := growthStep(ctx, c, size, stdout, stderr)
		if err != nil {
			return rows, fmt.Errorf("size %d: %w", size, err)
		}
		rows = append(rows, r)
	}
	fmt.Fprint(stdout, GrowthTable(rows))
	return rows, nil
}

func growthStep(ctx context.Context, c GrowthConfig, size int, stdout, stderr io.Writer) (GrowthRow, error) {
	var r GrowthRow
	dir := filepath.Join(c.Dir, "size-"+strconv.Itoa(size))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return r, err
	}
	if !c.Keep {
		defer os.RemoveAll(dir)
	}
	gen, data := filepath.Join(dir, "generated"), filepath.Join(dir, "store")
	persons := max(1, int(float64(size)/RecordsPerPerson+0.5))
	genArgs := []string{"gen identities", "--persons", strconv.Itoa(persons), "--seed", strconv.FormatUint(c.Seed, 10),
		"--sites", strconv.Itoa(c.Sites), "--out", gen}
	if c.Names != "" {
		genArgs = append(genArgs, "--names", c.Names)
	}
	if _, err := runChild(ctx, c, stdout, stderr, genArgs...); err != nil {
		return r, err
	}
	f, err := os.Open(filepath.Join(gen, "records.csv"))
	if err != nil {
		return r, err
	}
	r.Rows, err = CountRows(f)
	f.Close()
	if err != nil {
		return r, err
	}
	args := []string{"import identities", "--quiet", "--data", data}
	if c.Model != "" {
		args = append(args, "--model", c.Model)
	}
	if c.CPUProfiles != "" {
		args = append(args, "--cpuprofile", filepath.Join(c.CPUProfiles, "import-"+strconv.Itoa(size)+".cpu"))
	}
	if r.Import, err = runChild(ctx, c, stdout, stderr, append(args, filepath.Join(gen, "records.csv"))...); err != nil {
		return r, err
	}
	r.Disk = DirSize(data)
	if r.Export, err = runChild(ctx, c, io.Discard, stderr, "export links", "--data", data, "--out", os.DevNull); err != nil {
		return r, err
	}
	if c.Serve {
		if r.Served, err = serveMemory(ctx, c, data, stderr); err != nil {
			return r, err
		}
		fmt.Fprintf(stdout, "%d rows: vigie serve ready in %s; resident memory then %.0f MB (%.0f MB anonymous, %.0f MB of mapped files), peak %.0f MB\n",
			r.Rows, r.Served.Ready.Round(time.Millisecond), mb(r.Served.RSS), mb(r.Served.Anon), mb(r.Served.File), mb(r.Served.Peak))
	}
	fmt.Fprintf(stdout, "%d rows: import %s wall, %s CPU, peak RSS %.0f MB, store %.0f MB; export links %s wall, %s CPU, peak RSS %.0f MB\n",
		r.Rows, r.Import.Wall.Round(time.Millisecond), r.Import.CPU.Round(time.Millisecond), mb(r.Import.PeakRSS), mb(r.Disk),
		r.Export.Wall.Round(time.Millisecond), r.Export.CPU.Round(time.Millisecond), mb(r.Export.PeakRSS))
	return r, nil
}

// runChild runs the vigie verb args as a child process, its standard
// output to stdout, and returns what it cost.
func runChild(ctx context.Context, c GrowthConfig, stdout, stderr io.Writer, args ...string) (Run, error) {
	verb := strings.Fields(args[0])
	cmd := c.Command(ctx, append(verb, args[1:]...)...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	t0 := time.Now()
	err := cmd.Run()
	run := Run{Wall: time.Since(t0)}
	if err != nil {
		return run, fmt.Errorf("vigie %s: %w", args[0], err)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		run.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		run.PeakRSS = ru.Maxrss << 10 // kilobytes on Linux
	}
	return run, nil
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// GrowthTable formats rows: each size's costs, then how each cost per
// row grew from the first size to the last (1.00: it follows the data;
// more: each row costs more in a larger store).
func GrowthTable(rows []GrowthRow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| rows | import rows/s (wall) | import rows per CPU-second | CPU µs per row | peak RSS | store on disk | bytes per row on disk | export links rows/s (wall) | export rows per CPU-second | export peak RSS |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %d | %.0f | %.0f | %.1f | %.0f MB | %.0f MB | %.0f | %.0f | %.0f | %.0f MB |\n",
			r.Rows, perSecond(r.Rows, r.Import.Wall), perSecond(r.Rows, r.Import.CPU), perRow(r.Import.CPU, r.Rows),
			mb(r.Import.PeakRSS), mb(r.Disk), float64(r.Disk)/float64(max(r.Rows, 1)),
			perSecond(r.Rows, r.Export.Wall), perSecond(r.Rows, r.Export.CPU), mb(r.Export.PeakRSS))
	}
	if len(rows) < 2 {
		return b.String()
	}
	first, last := rows[0], rows[len(rows)-1]
	ratio := func(a, z float64) string {
		if a <= 0 {
			return "—"
		}
		return fmt.Sprintf("× %.2f", z/a)
	}
	perRowOf := func(r GrowthRow, v float64) float64 { return v / float64(max(r.Rows, 1)) }
	fmt.Fprintf(&b, "\ngrowth from %d to %d rows (× %.2f), per row (× 1.00: the cost follows the data):\n", first.Rows, last.Rows, float64(last.Rows)/float64(max(first.Rows, 1)))
	fmt.Fprintf(&b, "  import wall time per row %s, CPU per row %s, peak RSS per row %s, disk per row %s; export CPU per row %s, export peak RSS %s (a streaming export's memory does not follow the data)\n",
		ratio(perRowOf(first, first.Import.Wall.Seconds()), perRowOf(last, last.Import.Wall.Seconds())),
		ratio(perRowOf(first, first.Import.CPU.Seconds()), perRowOf(last, last.Import.CPU.Seconds())),
		ratio(perRowOf(first, float64(first.Import.PeakRSS)), perRowOf(last, float64(last.Import.PeakRSS))),
		ratio(perRowOf(first, float64(first.Disk)), perRowOf(last, float64(last.Disk))),
		ratio(perRowOf(first, first.Export.CPU.Seconds()), perRowOf(last, last.Export.CPU.Seconds())),
		ratio(float64(first.Export.PeakRSS), float64(last.Export.PeakRSS)))
	return b.String()
}

func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func perRow(d time.Duration, n int) float64 {
	return float64(d.Microseconds()) / float64(max(n, 1))
}
