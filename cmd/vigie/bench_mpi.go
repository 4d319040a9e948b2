package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
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
	return bench.MPI(context.Background(), bench.MPIConfig{Generated: *gen, Dir: dir, Model: model, CacheRecords: importCacheRecords,
		Online: *online, Examples: *examples, CPUProfile: *cpuProfile, MemProfile: *memProfile,
		Fit: func(ix *mpi.Index, f *os.File) (time.Duration, error) {
			return fitBeforeLoad(ix, f, f.Name(), mpi.FitOptions{}, stdout)
		},
		Import: func(ctx context.Context, ix *mpi.Index, db *store.DB, f *os.File, onlineFrom int) (bench.Imported, error) {
			var progress io.Writer
			if isTerminal(stderr) {
				progress = stderr
			}
			sum, err := importIdentities(ctx, ix, db, f, stderr, progress, importOptions{latencies: true, onlineFrom: onlineFrom})
			return bench.Imported{Report: sum.String(), Rows: sum.Rows, Latencies: sum.Latencies, Tail: sum.Tail}, err
		},
		Export: exportLinks,
	}, stdout, stderr)
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
