package main

import (
	"context"
	"io"

	"vigie/bench"
	"vigie/store"
)

func init() {
	register(verb{name: "bench fhir", summary: "load-test FHIR $match (ITI-119) over loopback: concurrent clients, p50/p99, the record's identity first", run: runBenchFHIR})
}

func runBenchFHIR(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench fhir", stderr)
	data := fs.String("data", "", "folder of a Vigie store prepared with `vigie import identities` (required; no server may hold it)")
	clients := fs.Int("clients", 20, "concurrent clients (1-1000)")
	requests := fs.Int("requests", 20_000, "$match requests in all (1-1000000), each with the traits of another stored record")
	seed := fs.Uint64("seed", 1, "seed of the choice of records queried")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *data == "":
		return usageErr("--data DIR is required")
	case *clients < 1 || *clients > 1000:
		return usageErr("--clients must be between 1 and 1000")
	case *requests < 1 || *requests > 1_000_000:
		return usageErr("--requests must be between 1 and 1000000")
	}
	return bench.FHIR(context.Background(), bench.FHIRConfig{Data: *data, Clients: *clients, Requests: *requests, Seed: *seed,
		Serve: func(ctx context.Context, s bench.Server) error {
			return serve(ctx, serveConfig{RateLimit: -1, Data: *data, Listener: s.Listener, Ready: s.Ready, Warmed: s.Warmed,
				SearchReady: s.SearchReady, Log: s.Log})
		},
		Open: func(dir string) (*store.DB, error) { return openStore(dir, store.Options{}) },
	}, stdout)
}
