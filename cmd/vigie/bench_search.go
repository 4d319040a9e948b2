package main

import (
	"context"
	"io"

	"vigie/bench"
)

func init() {
	register(verb{name: "bench search", summary: "measure identity-search quality and latency on a generated population", run: runBenchSearch})
}

func runBenchSearch(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench search", stderr)
	persons := fs.Int("persons", 20000, "persons to generate (about 1.85 records each)")
	seed := fs.Uint64("seed", 1, "population seed")
	queries := fs.Int("queries", 1000, "typed queries to run")
	dir := fs.String("dir", "", "folder for the index, kept and reused by a later run with the same population (default: a temporary folder, removed at the end)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the queries to this file")
	clients := fs.Int("clients", 0, "after the one-client run, run the queries again from this many concurrent clients (0: no concurrent run)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *persons < 10 || *queries < 1 || *clients < 0 {
		return usageErr("--persons must be ≥ 10, --queries ≥ 1 and --clients ≥ 0")
	}
	return bench.Search(context.Background(), bench.SearchConfig{Persons: *persons, Seed: *seed, Queries: *queries, Dir: *dir,
		CPUProfile: *cpuProfile, Clients: *clients, MinPopulation: mpiMinPopulation}, stdout)
}
