package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"vigie"
	"vigie/internal/cputime"
	"vigie/matcher"
	"vigie/search"
	"vigie/synth"
)

// SearchConfig is one run of `vigie bench search`.
type SearchConfig struct {
	Persons int    // persons generated (about 1.85 records each)
	Seed    uint64 // the population's seed
	Queries int    // typed queries run
	// Dir is the index's folder, kept and reused by a later run with the
	// same population ("": a temporary folder, removed at the end).
	Dir        string
	CPUProfile string // a CPU profile of the queries goes there when set
	// Clients, when positive, runs the queries again from this many
	// concurrent clients after the one-client run.
	Clients int
	// MinPopulation is the least population the scores assume, as the
	// patient index's search does.
	MinPopulation int
}

// Search builds a perfect patient index of a generated population (one
// identity per true person) into a search index, runs typed queries made
// from the persons against it and prints their recall and latency.
func Search(ctx context.Context, c SearchConfig, stdout io.Writer) error {
	cfg := synth.DefaultConfig(c.Persons, c.Seed)
	if d, ok := synth.FindNamesDir("."); ok {
		names, err := synth.LoadNames(d)
		if err != nil {
			return err
		}
		cfg.Names = names
	}
	idxDir := c.Dir
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
	byPerson := map[*synth.Person][]vigie.Record{}
	var order []*synth.Person
	records := 0
	st, err := synth.Generate(cfg, func(r *synth.Record) error {
		if _, ok := byPerson[r.Person]; !ok {
			order = append(order, r.Person)
		}
		records++
		byPerson[r.Person] = append(byPerson[r.Person], r.Traits())
		return nil
	})
	if err != nil {
		return err
	}
	// The name list decides how many exact homonyms the queries meet:
	// say which one was used, so that figures are compared like for like.
	fmt.Fprintf(stdout, "generated %d persons, %d records in %s (names: %s)\n", len(order), records, time.Since(t0).Round(time.Millisecond), st.NamesSource)
	opts := search.Options{Population: func() int { return max(records, c.MinPopulation) }}
	sx, err := search.Open(idxDir, matcher.DefaultModel(), opts)
	if errors.Is(err, search.ErrFormat) {
		// The index is derived: one of another build is built again.
		fmt.Fprintf(stdout, "index in %s has another format: built again\n", idxDir)
		if err := os.RemoveAll(idxDir); err != nil {
			return err
		}
		sx, err = search.Open(idxDir, matcher.DefaultModel(), opts)
	}
	if err != nil {
		return err
	}
	defer sx.Close()
	t1 := time.Now()
	indexed, err := sx.Len()
	if err != nil {
		return err
	}
	reuse := indexed == len(order)
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
	if !reuse {
		if err := sx.Compact(ctx); err != nil {
			return err
		}
	}
	build := time.Since(t1)
	size := DirSize(idxDir)
	if !reuse {
		fmt.Fprintf(stdout, "indexed %d identities in %s (%.0f/s); index %.1f MB on disk\n", len(order), build.Round(time.Millisecond),
			float64(len(order))/build.Seconds(), float64(size)/1e6)
	}

	if c.CPUProfile != "" {
		f, err := os.Create(c.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	type benchQuery struct {
		person string
		q      search.Query
	}
	var qs []benchQuery
	for i := 0; len(qs) < c.Queries && i < len(order)*4; i++ {
		p := order[(i*7919)%len(order)]
		if p.Anonymous {
			continue
		}
		tq := synth.TypedQuery(p, uint64(i))
		qs = append(qs, benchQuery{p.ID, search.Query{BirthName: tq.BirthName, UsedName: tq.UsedName, FirstNames: tq.FirstNames,
			BirthDate: tq.BirthDate, Sex: tq.Sex, PostalCode: tq.PostalCode, Limit: 5}})
	}
	// The population is no longer needed: let the collector forget it, so
	// that the CPU time per query is the search's, not the marking of a
	// million generated records.
	clear(byPerson)
	order = nil
	runtime.GC()
	lat := make([]time.Duration, 0, len(qs))
	at1, at5, wrongCertain := 0, 0, 0
	u0 := resourceUsage()
	for _, bq := range qs {
		ts := time.Now()
		hits, err := sx.Search(ctx, bq.q)
		lat = append(lat, time.Since(ts))
		if err != nil {
			return fmt.Errorf("query %+v: %w", bq.q, err)
		}
		for k, h := range hits {
			if h.ID == bq.person {
				if k == 0 {
					at1++
				}
				at5++
			} else if h.Grade == matcher.GradeCertain {
				wrongCertain++
			}
		}
	}
	u1 := resourceUsage()
	n := len(qs)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(stdout, "%d typed queries: recall@1 %.4f, recall@5 %.4f, wrong certain %d\n", n, float64(at1)/float64(n), float64(at5)/float64(n), wrongCertain)
	fmt.Fprintf(stdout, "one client: %s\n", latencyLine(lat, u0, u1))
	if c.Clients > 0 {
		// Closed loop: each client sends its next query as soon as the
		// previous one is answered, as many as the one-client run.
		lats := make([][]time.Duration, c.Clients)
		next := make(chan int)
		errc := make(chan error, c.Clients)
		var wg sync.WaitGroup
		u2 := resourceUsage()
		for c := range c.Clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					ts := time.Now()
					_, err := sx.Search(ctx, qs[i].q)
					lats[c] = append(lats[c], time.Since(ts))
					if err != nil {
						errc <- err
						return
					}
				}
			}()
		}
		for i := range qs {
			next <- i
		}
		close(next)
		wg.Wait()
		u3 := resourceUsage()
		close(errc)
		if err := <-errc; err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d clients: %s\n", c.Clients, latencyLine(slices.Concat(lats...), u2, u3))
	}
	fmt.Fprintf(stdout, "Go heap in use %.0f MB\n", float64(ms.HeapInuse)/1e6)
	return nil
}

// resources is what the process used up to a moment.
type resources struct {
	wall    time.Time
	cpu     time.Duration // user + system
	mallocs uint64
}

func resourceUsage() resources {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r := resources{wall: time.Now(), mallocs: ms.Mallocs}
	r.cpu = cputime.Process()
	return r
}

// latencyLine sums up a run of queries: throughput, latency percentiles,
// and the process's CPU time and allocations per query (garbage collection
// included), which a shared machine does not distort as it does wall time.
func latencyLine(lat []time.Duration, from, to resources) string {
	slices.Sort(lat)
	n := len(lat)
	pct := func(p float64) time.Duration {
		return lat[min(n-1, int(p*float64(n)))].Round(10 * time.Microsecond)
	}
	wall := to.wall.Sub(from.wall)
	return fmt.Sprintf("%.0f queries/s, latency p50 %s, p90 %s, p99 %s, max %s; CPU %s and %d allocations per query",
		float64(n)/wall.Seconds(), pct(0.5), pct(0.9), pct(0.99), lat[n-1].Round(10*time.Microsecond),
		((to.cpu - from.cpu) / time.Duration(n)).Round(time.Microsecond), (to.mallocs-from.mallocs)/uint64(n))
}
