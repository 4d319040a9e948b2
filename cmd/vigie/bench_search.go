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
	"time"

	"vigie/matcher"
	"vigie/search"
	"vigie/synth"
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
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *persons < 10 || *queries < 1 {
		return usageErr("--persons must be ≥ 10 and --queries ≥ 1")
	}
	ctx := context.Background()
	cfg := synth.DefaultConfig(*persons, *seed)
	if d, ok := synth.FindNamesDir("."); ok {
		names, err := synth.LoadNames(d)
		if err != nil {
			return err
		}
		cfg.Names = names
	}
	idxDir := *dir
	if idxDir == "" {
		tmp, err := os.MkdirTemp("", "vigie-bench-search-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		idxDir = filepath.Join(tmp, "search")
	}
	// A perfect patient index: one identity per true person.
	t0 := time.Now()
	byPerson := map[*synth.Person][]matcher.Record{}
	var order []*synth.Person
	records := 0
	if _, err := synth.Generate(cfg, func(r *synth.Record) error {
		if _, ok := byPerson[r.Person]; !ok {
			order = append(order, r.Person)
		}
		records++
		byPerson[r.Person] = append(byPerson[r.Person], r.Traits())
		return nil
	}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "generated %d persons, %d records in %s\n", len(order), records, time.Since(t0).Round(time.Millisecond))
	sx, err := search.Open(idxDir, matcher.DefaultModel(), search.Options{Population: func() int { return max(records, mpiMinPopulation) }})
	if err != nil {
		return err
	}
	defer sx.Close()
	t1 := time.Now()
	reuse := sx.Len() == len(order)
	if reuse {
		fmt.Fprintf(stdout, "index in %s already holds the %d identities: reused\n", idxDir, len(order))
	}
	batch := make([]search.Entry, 0, 2000)
	for _, p := range order {
		if reuse {
			break
		}
		batch = append(batch, search.Entry{ID: p.ID, Golden: byPerson[p][0], Members: byPerson[p]})
		if len(batch) == cap(batch) {
			if err := sx.Batch(batch, nil); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := sx.Batch(batch, nil); err != nil {
		return err
	}
	build := time.Since(t1)
	size := dirSize(idxDir)
	if !reuse {
		fmt.Fprintf(stdout, "indexed %d identities in %s (%.0f/s); index %.1f MB on disk\n", len(order), build.Round(time.Millisecond),
			float64(len(order))/build.Seconds(), float64(size)/1e6)
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var lat []time.Duration
	at1, at5, wrongCertain, n := 0, 0, 0, 0
	for i := 0; n < *queries && i < len(order)*4; i++ {
		p := order[(i*7919)%len(order)]
		if p.Anonymous {
			continue
		}
		tq := synth.TypedQuery(p, uint64(i))
		q := search.Query{BirthName: tq.BirthName, UsedName: tq.UsedName, FirstNames: tq.FirstNames, BirthDate: tq.BirthDate,
			Sex: tq.Sex, PostalCode: tq.PostalCode, Limit: 5}
		ts := time.Now()
		hits, err := sx.Search(ctx, q)
		lat = append(lat, time.Since(ts))
		if err != nil {
			return fmt.Errorf("query %+v: %w", tq, err)
		}
		n++
		for k, h := range hits {
			if h.ID == p.ID {
				if k == 0 {
					at1++
				}
				at5++
			} else if h.Grade == matcher.GradeCertain {
				wrongCertain++
			}
		}
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(stdout, "%d typed queries: recall@1 %.4f, recall@5 %.4f, wrong certain %d\n", n, float64(at1)/float64(n), float64(at5)/float64(n), wrongCertain)
	fmt.Fprintf(stdout, "latency p50 %s, p90 %s, p99 %s, max %s (one client)\n", pct(0.5).Round(10*time.Microsecond), pct(0.9).Round(10*time.Microsecond),
		pct(0.99).Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond))
	fmt.Fprintf(stdout, "Go heap in use %.0f MB\n", float64(ms.HeapInuse)/1e6)
	return nil
}
