package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"vigie/bench"
)

func init() {
	register(verb{name: "bench import", summary: "measure how the import's and the export's costs grow with the store: one generated population per size, each loaded and exported by a child process", run: runBenchImport})
}

func runBenchImport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench import", stderr)
	sizes := fs.String("sizes", "1000000,3000000", "numbers of source records to load, comma-separated, each into a new store")
	sites := fs.Int("sites", 400, "establishments of the generated region (`gen identities --sites`)")
	seed := fs.Uint64("seed", 7, "the generator's seed")
	names := fs.String("names", "", "folder of the INSEE name files, as for `gen identities` (default: its search from the current folder)")
	model := fs.String("model", "default", "`import identities --model`: default (the shipped model, the same at every size), a model file, or \"\" to fit one on each file first (its time counted in the import's)")
	dir := fs.String("dir", "", "scratch folder for the generated files and stores (default: a temporary folder); each size's is removed after it unless --keep")
	keep := fs.Bool("keep", false, "keep each size's files and store")
	serve := fs.Bool("serve", false, "also start `vigie serve` on each store with its default caches and print its memory once ready (search index built, cache of forms warmed)")
	profiles := fs.String("cpuprofile-dir", "", "write each import's CPU profile into this folder (import-SIZE.cpu)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	var ns []int
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return usageErr("--sizes: %q is not a number of records", s)
		}
		ns = append(ns, n)
	}
	if !slices.IsSorted(ns) {
		return usageErr("--sizes must be in increasing order")
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	scratch := *dir
	if scratch == "" {
		if scratch, err = os.MkdirTemp("", "vigie-bench-import-"); err != nil {
			return err
		}
		if !*keep {
			defer os.RemoveAll(scratch)
		}
	}
	_, err = bench.Growth(context.Background(), bench.GrowthConfig{Sizes: ns, Sites: *sites, Names: *names, Seed: *seed, Model: *model,
		Dir: scratch, Keep: *keep, CPUProfiles: *profiles, Serve: *serve,
		Command: func(ctx context.Context, args ...string) *exec.Cmd { return exec.CommandContext(ctx, exe, args...) },
	}, stdout, stderr)
	return err
}
