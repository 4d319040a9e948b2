package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"strings"
	"time"

	"vigie/bench"
	"vigie/rpc/admin"
	"vigie/store"
)

func init() {
	register(verb{name: "bench serve", summary: "load-test the API over loopback: concurrent ResolveRecord and SearchIdentities, throughput, p50/p99, no lost write", run: runBenchServe})
}

func runBenchServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench serve", stderr)
	data := fs.String("data", "", "folder of a Vigie store prepared with `vigie import identities` (required; no server may hold it)")
	clients := fs.Int("clients", 50, "concurrent clients (1-1000)")
	duration := fs.Duration("duration", 30*time.Second, "how long the load runs (at most 10m)")
	maxRequests := fs.Int("max-requests", 2_000_000, "stop after this many requests even if --duration is not over")
	resolveShare := fs.Float64("resolve-share", 0.5, "share of requests that are ResolveRecord (the others are SearchIdentities)")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "seed of the generated records and queries")
	rate := fs.Float64("rate", 0, "open loop: requests offered per second in all, each timed from its scheduled start so that queueing counts (0: closed loop, each client sends its next request when the last one is answered)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the load to this file (the clients' samples carry the label side=client: go tool pprof -tagignore side=client shows the server alone)")
	memProfile := fs.String("memprofile", "", "write a heap profile at the end of the load to this file (go tool pprof)")
	timeline := fs.String("timeline", "", "write every request's start (ms into the load), kind and latency (µs) to this CSV file: where in the run the slow ones fall; rows of kind gc_end give when each garbage collection of the process ended and its pauses (µs)")
	mutexProfile := fs.String("mutexprofile", "", "write a profile of the time calls waited on locks during the load to this file (go tool pprof)")
	backupDuring := fs.Bool("backup-during", false, "take full online backups back to back (GET "+admin.BackupPath+", to a temporary file) while the load runs: the p99 with a backup running")
	backupRate := byteSize(store.DefaultBackupRate)
	fs.Var(&backupRate, "backup-rate", "with --backup-during: the server's pace of online backups in bytes per second, as vigie serve --backup-rate (0: unpaced)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	pace := int64(backupRate)
	if pace == 0 {
		pace = -1
	}
	switch {
	case *data == "":
		return usageErr("--data DIR is required")
	case *clients < 1 || *clients > 1000:
		return usageErr("--clients must be between 1 and 1000")
	case *duration <= 0 || *duration > 10*time.Minute:
		return usageErr("--duration must be between 0 and 10m")
	case *resolveShare < 0 || *resolveShare > 1:
		return usageErr("--resolve-share must be between 0 and 1")
	case *rate < 0 || *rate > 100_000:
		return usageErr("--rate must be between 0 (closed loop) and 100000 requests/s")
	}
	var backupKey []byte
	if *backupDuring {
		// The online backup leaves the server encrypted only: a key of
		// the run's own, thrown away with the backups.
		backupKey = make([]byte, 32)
		if _, err := rand.Read(backupKey); err != nil {
			return err
		}
	}
	return bench.Served(context.Background(), bench.ServedConfig{Data: *data, Clients: *clients, Duration: *duration,
		MaxRequests: *maxRequests, ResolveShare: *resolveShare, Rate: *rate, Seed: *seed, CPUProfile: *cpuProfile, MutexProfile: *mutexProfile,
		MemProfile: *memProfile, Timeline: *timeline, BackupDuring: *backupDuring,
		Serve: func(ctx context.Context, s bench.Server) error {
			return serve(ctx, serveConfig{RateLimit: -1, Data: *data, Listener: s.Listener, Ready: s.Ready, Warmed: s.Warmed,
				SearchReady: s.SearchReady, MetricsToken: s.MetricsToken, BackupRate: pace, BackupKey: backupKey, Log: s.Log})
		},
		Open: func(dir string) (*store.DB, error) { return openStore(dir, store.Options{}) },
		// As `vigie restore` does, the store's own key (the environment's)
		// kept on the restored copy.
		Restore: func(dir string, files []string) error {
			skey, err := storeKey("", dir)
			if err != nil {
				return err
			}
			var report strings.Builder
			_, err = store.Restore(dir, files, store.RestoreOptions{Key: backupKey, Store: store.Options{EncryptionKey: skey},
				Summarize: admin.Summarize, Check: func(db *store.DB) error { return verifyStore(context.Background(), db, "", &report) }})
			if err != nil && report.Len() > 0 {
				return fmt.Errorf("%w\n%s", err, report.String())
			}
			return err
		},
	}, stdout)
}
