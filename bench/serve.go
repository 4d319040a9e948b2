// Package bench holds the harnesses of `vigie bench serve`, `bench mpi`,
// `bench search`, `bench match` and `bench fhir`: the load test of the API over
// loopback, the whole patient index on a generated population, the search
// quality and latency, the scorer's accuracy on labelled data, and the
// figures they print (latency percentiles, CPU, memory, disk, accuracy
// against a truth file). The command parses the flags and calls them,
// passing its own server and import code as functions, so that what is
// measured is what the command runs.
package bench

import (
	"bufio"
	"cmp"
	"context"
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"vigie"
	"vigie/auth"
	"vigie/matcher"
	"vigie/mpi"
	"vigie/rpc"
	v1 "vigie/rpc/gen/vigie/v1"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
	"vigie/store"
	"vigie/synth"
)

// Authority is the assigning authority of the records the load test
// resolves, so that they never mix with a site's own.
const Authority = "1.2.250.1.213.1.1.9.999"

// ServedConfig is one run of the served load test (`vigie bench serve`).
type ServedConfig struct {
	// Data is the folder of a store prepared with `vigie import
	// identities`; no server may hold it.
	Data         string
	Clients      int
	Duration     time.Duration
	MaxRequests  int
	ResolveShare float64
	// Rate, when positive, is the open-loop offered load (requests/s):
	// request i is due at start + i/Rate and its latency runs from then,
	// so that a server falling behind shows as latency instead of
	// slowing the clients down (no coordinated omission). Clients is then
	// the most requests in flight.
	Rate       float64
	Seed       uint64
	CPUProfile string
	// MutexProfile, when set, receives the lock contention of the load.
	MutexProfile string
	// MemProfile, when set, receives a heap profile taken at the end of
	// the load, server still running.
	MemProfile string
	// Timeline, when set, is a CSV file of every request (see writeTimeline).
	Timeline string
	// BackupDuring runs online backups during the load (see backupLoop);
	// the last one is then restored with Restore and checked to hold every
	// write acknowledged before it began.
	BackupDuring bool
	// Restore restores backup files into dir, which does not exist yet, as
	// `vigie restore` does (its checks and vigie verify's included).
	Restore func(dir string, files []string) error
	// Serve runs `vigie serve` in-process as s says until ctx ends, and
	// returns its error: the command's server, which the load measures.
	Serve func(ctx context.Context, s Server) error
	// Open opens the store in a folder as the command's verbs do (with
	// the encryption key of the environment): before the load, to prepare
	// it, and after, to count the writes.
	Open func(dir string) (*store.DB, error)
}

// Server is what the load test asks of the server Serve starts: listen on
// Listener, call the hooks as it gets ready, serve its metrics to the
// bearer of MetricsToken, and log to Log. The command adds what is its
// own (no rate limit, the pace of backups).
type Server struct {
	Listener net.Listener
	// Ready is called with the address once the server listens.
	Ready func(addr string)
	// Warmed is called once the cache of normalised forms is warm, with
	// the number of forms.
	Warmed func(forms int)
	// SearchReady is called once the search index has caught up.
	SearchReady  func()
	MetricsToken string
	Log          *slog.Logger
}

// prepared is what the load test reads from the store before serving it:
// the record count, search queries made from stored records, and two API
// keys of its own.
type prepared struct {
	before             int
	queries            queryBook
	ingestKey, readKey string
	adminKey           string
	keyIDs             []string
}

// maxQueries is the most search queries the load test prepares. Each
// search takes the next one, so that a run of up to that many searches
// asks for as many different patients, as clinicians do: a few thousand
// queries asked again and again kept the terms and stored forms they read
// in the caches, and flattered the figures.
const maxQueries = 200_000

// queryBook holds the load's search queries marshalled end to end in one
// buffer. The load generator shares the server's process and its
// collector: 200,000 queries as Go values were 29 MB of pointers to trace
// at every collection, on top of the server's own 17 MB, and made its
// pauses longer than the server alone would have them.
type queryBook struct {
	buf  []byte
	ends []int
}

func (b *queryBook) add(q *v1.SearchTraits) error {
	var err error
	if b.buf, err = (proto.MarshalOptions{}).MarshalAppend(b.buf, q); err != nil {
		return fmt.Errorf("bench query: %w", err)
	}
	b.ends = append(b.ends, len(b.buf))
	return nil
}

func (b *queryBook) len() int { return len(b.ends) }

// get returns query i, decoded afresh.
func (b *queryBook) get(i int) (*v1.SearchTraits, error) {
	start := 0
	if i > 0 {
		start = b.ends[i-1]
	}
	q := new(v1.SearchTraits)
	if err := proto.Unmarshal(b.buf[start:b.ends[i]], q); err != nil {
		return nil, fmt.Errorf("bench query %d: %w", i, err)
	}
	return q, nil
}

func prepare(open func(string) (*store.DB, error), data string, seed uint64) (prepared, error) {
	var p prepared
	var queries []*v1.SearchTraits
	db, err := open(data)
	if err != nil {
		return p, err
	}
	defer db.Close()
	ix, err := mpi.Open(db, nil, mpi.Options{})
	if err != nil {
		return p, err
	}
	defer ix.Close()
	p.before = ix.Count()
	if p.before == 0 {
		return p, vigie.Invalid("--data", "the store in %s is empty: load it with `vigie gen identities` and `vigie import identities` first", data)
	}
	// Queries: the traits of stored records, spread over the key space
	// (one record in step), as a clinician would type them.
	step := max(1, p.before/maxQueries)
	n := 0
	stop := errors.New("enough")
	err = ix.Scan(context.Background(), func(_ vigie.SourceKey, _ vigie.IdentityID, r vigie.Record) error {
		n++
		// A stored record may keep a date that cannot be one (kept
		// verbatim, flagged): nobody types it in a search, which refuses it.
		if n%step == 0 && r.BirthName != "" && validDate(r.BirthDate) {
			queries = append(queries, &v1.SearchTraits{Name: r.BirthName, FirstNames: r.FirstName, BirthDate: r.BirthDate, Sex: r.Sex})
		}
		if len(queries) >= maxQueries {
			return stop
		}
		return nil
	})
	if err != nil && !errors.Is(err, stop) {
		return p, err
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	rng.Shuffle(len(queries), func(i, j int) { queries[i], queries[j] = queries[j], queries[i] })
	for _, q := range queries {
		if err := p.queries.add(q); err != nil {
			return p, err
		}
	}
	keys := auth.NewKeys(db)
	secret, k, err := keys.Create(auth.RoleIngest, []string{Authority}, "bench-serve-ingest", 2*time.Hour)
	if err != nil {
		return p, err
	}
	p.ingestKey, p.keyIDs = secret, append(p.keyIDs, k.ID)
	secret, k, err = keys.Create(auth.RoleClinician, []string{Authority}, "bench-serve-clinician", 2*time.Hour)
	if err != nil {
		return p, err
	}
	p.readKey, p.keyIDs = secret, append(p.keyIDs, k.ID)
	secret, k, err = keys.Create(auth.RoleAdmin, nil, "bench-serve-admin", 2*time.Hour)
	if err != nil {
		return p, err
	}
	p.adminKey, p.keyIDs = secret, append(p.keyIDs, k.ID)
	return p, nil
}

// benchRecords generates the records the clients resolve: a population
// other than the store's (another seed), under the bench authority, with
// local ids unique to this run.
func records(n int, seed uint64) ([]*v1.SourceRecord, error) {
	cfg := synth.DefaultConfig(max(10, n*6/10), seed)
	if d, ok := synth.FindNamesDir("."); ok {
		if names, err := synth.LoadNames(d); err == nil {
			cfg.Names = names
		}
	}
	// Local ids unique to the run, whatever the seed: a re-run must write
	// new records, or "no lost write" could not be checked by counting.
	run := fmt.Sprintf("B%x-", time.Now().UnixNano())
	var out []*v1.SourceRecord
	stop := errors.New("enough")
	_, err := synth.Generate(cfg, func(r *synth.Record) error {
		// The generator also writes records a site's typing slip made
		// invalid (29 February of a common year): the server refuses
		// them, rightly, and the load is about the records it accepts.
		rec := r.Traits()
		rec.Authority, rec.LocalID = Authority, fmt.Sprintf("%s%07d", run, len(out))
		if _, err := matcher.Prepare(&rec); err != nil {
			return nil
		}
		out = append(out, rpc.RecordToProto(rec))
		if len(out) >= n {
			return stop
		}
		return nil
	})
	if err != nil && !errors.Is(err, stop) {
		return nil, err
	}
	return out, nil
}

// latencies collects one kind of request's durations.
type latencies struct {
	mu  sync.Mutex
	d   []time.Duration
	at  []time.Duration // when each request was due, from the start of the load
	err atomic.Int64
}

func (l *latencies) add(at, d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.at = append(l.at, at)
	l.mu.Unlock()
}

// collectionEnds returns when each garbage collection that ended during the
// load (from t1, for d) ended, counted from t1, and the collection's
// stop-the-world pauses: slow calls that cluster just before one waited on
// the collector. The runtime keeps the last 256.
func collectionEnds(t1 time.Time, d time.Duration) (at, pauses []time.Duration) {
	var st debug.GCStats
	debug.ReadGCStats(&st)
	for i, end := range st.PauseEnd {
		if end.After(t1) && end.Sub(t1) <= d {
			at = append(at, end.Sub(t1))
			pauses = append(pauses, st.Pause[i])
		}
	}
	return at, pauses
}

// writeTimeline writes every request of ls (by kind) as a CSV row: when it
// was due in ms from the start of the load (t1), its kind, its latency in
// µs; then a row of kind gc_end for each garbage collection that ended
// during the load (d), with its pauses in µs (see collectionEnds).
func writeTimeline(path string, ls map[string]*latencies, t1 time.Time, d time.Duration) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	w.WriteString("start_ms,kind,latency_us\n")
	for _, kind := range slices.Sorted(maps.Keys(ls)) {
		l := ls[kind]
		l.mu.Lock()
		for i := range l.d {
			fmt.Fprintf(w, "%d,%s,%d\n", l.at[i].Milliseconds(), kind, l.d[i].Microseconds())
		}
		l.mu.Unlock()
	}
	at, pauses := collectionEnds(t1, d)
	for i := range at {
		fmt.Fprintf(w, "%d,gc_end,%d\n", at[i].Milliseconds(), pauses[i].Microseconds())
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (l *latencies) summary(name string, elapsed time.Duration) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	slices.Sort(l.d)
	q := func(p float64) time.Duration {
		if len(l.d) == 0 {
			return 0
		}
		return l.d[min(len(l.d)-1, int(p*float64(len(l.d))))]
	}
	return fmt.Sprintf("%-17s %8d ok %5d errors %9.0f /s   p50 %7s  p90 %7s  p99 %7s  max %7s\n", name, len(l.d), l.err.Load(),
		float64(len(l.d))/elapsed.Seconds(), q(0.5).Round(10*time.Microsecond), q(0.9).Round(10*time.Microsecond),
		q(0.99).Round(10*time.Microsecond), q(1).Round(10*time.Microsecond))
}

// Served starts `vigie serve` in-process (c.Serve) on 127.0.0.1 over the store,
// runs the clients against it, stops it gracefully, reopens the store and
// checks that every acknowledged ResolveRecord is there.
func Served(ctx context.Context, c ServedConfig, stdout io.Writer) error {
	t0 := time.Now()
	prep, err := prepare(c.Open, c.Data, c.Seed)
	if err != nil {
		return err
	}
	if prep.queries.len() == 0 {
		return fmt.Errorf("no record of the store has a birth name and date to search for")
	}
	// Enough fresh records for the whole run at a generous rate.
	perSecond := 6000.0
	if c.Rate > 0 {
		perSecond = c.Rate * 1.1
	}
	want := min(c.MaxRequests, max(1000, int(c.Duration.Seconds()*perSecond*c.ResolveShare)))
	recs, err := records(want, c.Seed)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "store %s: %d records; %d search queries from stored records, %d fresh records to resolve (prepared in %s)\n",
		c.Data, prep.before, prep.queries.len(), len(recs), time.Since(t0).Round(time.Millisecond))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	// The preparation's patient index is garbage now: give its memory
	// back, so that the memory figures are the server's and the load's.
	debug.FreeOSMemory()
	srvCtx, stopServer := context.WithCancel(ctx)
	defer stopServer()
	ready := make(chan string, 1)
	warmed := make(chan int, 1)
	searchReady := make(chan struct{}, 1)
	// The load scrapes the server's metrics with the token they ask for.
	metricsToken := cryptorand.Text()
	served := make(chan error, 1)
	logs := &syncWriter{}
	tStart := time.Now()
	go func() {
		served <- c.Serve(srvCtx, Server{Listener: ln, Ready: func(a string) { ready <- a },
			Warmed: func(n int) { warmed <- n }, SearchReady: func() { searchReady <- struct{}{} }, MetricsToken: metricsToken,
			Log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-served:
		return fmt.Errorf("the server did not start: %v", err)
	}
	// The load starts once the server's search index has caught up and
	// its cache of normalised forms is warm, as they are in a server that
	// has been running for a while.
	select {
	case <-searchReady:
	case err := <-served:
		return fmt.Errorf("the server stopped: %v", err)
	}
	select {
	case n := <-warmed:
		fmt.Fprintf(stdout, "server ready, its cache of normalised forms warmed with %d forms, %s after start; GOMAXPROCS %d on %d cores\n",
			n, time.Since(tStart).Round(time.Millisecond), runtime.GOMAXPROCS(0), runtime.NumCPU())
	case err := <-served:
		return fmt.Errorf("the server stopped: %v", err)
	}
	base := "http://" + addr
	tr := &http.Transport{MaxIdleConns: c.Clients * 2, MaxIdleConnsPerHost: c.Clients * 2, IdleConnTimeout: time.Minute}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	withKey := func(key string) connect.ClientOption {
		return connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
			return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
				req.Header().Set("Authorization", "Bearer "+key)
				req.Header().Set(auth.PurposeHeader, "load test")
				return next(ctx, req)
			}
		}))
	}
	writer := vigiev1connect.NewIdentityServiceClient(hc, base, withKey(prep.ingestKey))
	reader := vigiev1connect.NewIdentityServiceClient(hc, base, withKey(prep.readKey))

	var resolves, searches latencies
	var next, nextQuery, issued atomic.Int64
	var ackMu sync.Mutex
	var acked []vigie.SourceKey
	var firstErr atomic.Value
	if c.CPUProfile != "" {
		f, err := os.Create(c.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	stopMutexProfile := func() error { return nil }
	if c.MutexProfile != "" {
		f, err := os.Create(c.MutexProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		runtime.SetMutexProfileFraction(5)
		stopMutexProfile = func() error {
			runtime.SetMutexProfileFraction(0)
			return pprof.Lookup("mutex").WriteTo(f, 0)
		}
	}
	var due atomic.Int64 // open loop: the next request's number
	var interval time.Duration
	if c.Rate > 0 {
		interval = time.Duration(float64(time.Second) / c.Rate)
	}
	var wg sync.WaitGroup
	var cpu0 cpuUsage
	cpu0.read()
	metrics0, scrapeErr := scrapeMetrics(hc, base, metricsToken)
	stopRSS := SampleRSS(100 * time.Millisecond)
	t1 := time.Now()
	// The load lasts c.Duration from t1, when the first request is due: a
	// deadline taken before the scrape and the sampler above ended the
	// load early, and the open loop's last slots before t1+Duration were
	// then neither sent nor counted as unsent.
	deadline := t1.Add(c.Duration)
	runCtx, cancelRun := context.WithDeadline(ctx, deadline)
	defer cancelRun()
	// Calls are cut at the deadline in a closed loop; in an open loop the
	// requests already due run to their end, so that the backlog of a
	// server falling behind is counted.
	callCtx := runCtx
	if c.Rate > 0 {
		var cancelCalls context.CancelFunc
		callCtx, cancelCalls = context.WithTimeout(ctx, c.Duration+30*time.Second)
		defer cancelCalls()
	}
	stopBackups := func() *backups { return nil }
	if c.BackupDuring {
		stopBackups = backupLoop(runCtx, base, prep.adminKey, func() int {
			ackMu.Lock()
			defer ackMu.Unlock()
			return len(acked)
		})
	}
	for w := range c.Clients {
		wg.Go(func() {
			pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels("side", "client")))
			rng := rand.New(rand.NewPCG(c.Seed, uint64(w)))
			for runCtx.Err() == nil && issued.Add(1) <= int64(c.MaxRequests) {
				// s is when the request is due: now in a closed loop, its
				// slot in the schedule in an open loop.
				s := time.Now()
				if c.Rate > 0 {
					s = t1.Add(time.Duration(due.Add(1)-1) * interval)
					if !s.Before(deadline) {
						return
					}
					time.Sleep(time.Until(s))
				}
				if rng.Float64() < c.ResolveShare {
					i := next.Add(1) - 1
					if int(i) >= len(recs) {
						return
					}
					r := recs[i]
					_, err := writer.ResolveRecord(callCtx, connect.NewRequest(&v1.ResolveRecordRequest{Record: r}))
					if err != nil {
						if callCtx.Err() == nil && (c.Rate > 0 || runCtx.Err() == nil) {
							resolves.err.Add(1)
							firstErr.CompareAndSwap(nil, err.Error())
						}
						continue
					}
					resolves.add(s.Sub(t1), time.Since(s))
					ackMu.Lock()
					acked = append(acked, vigie.SourceKey{Authority: r.GetAuthority(), LocalID: r.GetLocalId()})
					ackMu.Unlock()
				} else {
					q, err := prep.queries.get(int((nextQuery.Add(1) - 1) % int64(prep.queries.len())))
					if err != nil {
						searches.err.Add(1)
						firstErr.CompareAndSwap(nil, err.Error())
						continue
					}
					_, err = reader.SearchIdentities(callCtx, connect.NewRequest(&v1.SearchIdentitiesRequest{Traits: q, Limit: 10}))
					if err != nil {
						if callCtx.Err() == nil && (c.Rate > 0 || runCtx.Err() == nil) {
							searches.err.Add(1)
							firstErr.CompareAndSwap(nil, err.Error())
						}
						continue
					}
					searches.add(s.Sub(t1), time.Since(s))
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(t1)
	backups := stopBackups()
	if backups != nil {
		defer backups.remove()
	}
	var cpu1 cpuUsage
	cpu1.read()
	metrics1, err := scrapeMetrics(hc, base, metricsToken)
	scrapeErr = cmp.Or(scrapeErr, err)
	rss := stopRSS()
	if c.MemProfile != "" {
		if err := WriteHeapProfile(c.MemProfile); err != nil {
			return fmt.Errorf("heap profile: %w", err)
		}
	}
	if c.CPUProfile != "" {
		pprof.StopCPUProfile()
	}
	if err := stopMutexProfile(); err != nil {
		return fmt.Errorf("mutex profile: %w", err)
	}
	cancelRun()
	tr.CloseIdleConnections()
	stopServer()
	if err := <-served; err != nil {
		return fmt.Errorf("the server stopped with %v", err)
	}

	if c.Rate > 0 {
		// A slot no client was free to take before the load ended was
		// never sent: a server this far behind is saturated, and the
		// count says by how much.
		slots := int64(c.Rate * c.Duration.Seconds())
		unsent := slots - min(due.Load(), slots)
		fmt.Fprintf(stdout, "open loop: %.0f requests/s offered for %s (%.0f%% ResolveRecord), at most %d in flight, latency from each request's scheduled start; %d scheduled requests not sent (every client still busy when the load ended); last answer after %s:\n",
			c.Rate, c.Duration, 100*c.ResolveShare, c.Clients, unsent, elapsed.Round(time.Millisecond))
		// Rates over the offered window: a backlog finished after it is
		// not extra throughput.
		elapsed = min(elapsed, c.Duration)
	} else {
		fmt.Fprintf(stdout, "closed loop: %d clients over loopback for %s (%.0f%% ResolveRecord):\n", c.Clients, elapsed.Round(time.Millisecond), 100*c.ResolveShare)
	}
	if c.Timeline != "" {
		// Before the summaries, which sort the latencies.
		if err := writeTimeline(c.Timeline, map[string]*latencies{"resolve": &resolves, "search": &searches}, t1, elapsed); err != nil {
			return fmt.Errorf("timeline: %w", err)
		}
	}
	fmt.Fprint(stdout, resolves.summary("ResolveRecord", elapsed))
	fmt.Fprint(stdout, searches.summary("SearchIdentities", elapsed))
	if backups != nil {
		fmt.Fprint(stdout, backups)
	}
	calls := len(resolves.d) + len(searches.d)
	if calls > 0 {
		user, sys := cpu1.user-cpu0.user, cpu1.sys-cpu0.sys
		fmt.Fprintf(stdout, "process CPU during the load (server, clients and search follower on one machine): %.1f s user + %.1f s sys = %.2f cores; %.3f ms CPU and %.0f KB allocated per call (%d allocations)\n",
			user.Seconds(), sys.Seconds(), (user+sys).Seconds()/cpu1.wall.Sub(cpu0.wall).Seconds(),
			float64((user+sys).Microseconds())/1000/float64(calls), float64(cpu1.alloc-cpu0.alloc)/1024/float64(calls),
			(cpu1.mallocs-cpu0.mallocs)/uint64(calls))
	}
	// Both scrapes or neither: a difference with a missing one is no figure.
	if scrapeErr == nil {
		if syncs := metrics1["vigie_store_syncs"] - metrics0["vigie_store_syncs"]; syncs > 0 && calls > 0 {
			fmt.Fprintf(stdout, "store syncs during the load: %.0f, %.1f calls answered per sync\n", syncs, float64(calls)/syncs)
		}
		fmt.Fprint(stdout, serverShare(metrics0, metrics1, map[string]*latencies{"ResolveRecord": &resolves, "SearchIdentities": &searches}))
		fmt.Fprint(stdout, collections(metrics0, metrics1, elapsed))
	}
	if rss.Anon > 0 {
		fmt.Fprintf(stdout, "memory during the load: peak %d MB anonymous (server and load generator), %d MB of mapped store files; Go heap in use at the end %d MB\n",
			rss.Anon>>20, rss.File>>20, cpu1.heap>>20)
	}
	if v := firstErr.Load(); v != nil {
		fmt.Fprintf(stdout, "first error: %s\n", v)
	}

	// No lost write: reopen the store the server closed.
	db, err := c.Open(c.Data)
	if err != nil {
		return err
	}
	defer db.Close()
	after, lost, err := missingIn(ctx, db, acked)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "records before %d, after %d (+%d); acknowledged resolves %d, missing after restart %d\n",
		prep.before, after, after-prep.before, len(acked), lost)
	keys := auth.NewKeys(db)
	for _, id := range prep.keyIDs {
		if _, err := keys.Revoke(id); err != nil {
			fmt.Fprintf(stdout, "the load test's key %s could not be revoked (it expires within 2 hours; vigie token revoke --id %s): %v\n", id, id, err)
		}
	}
	// Calls cut by the end of the run may have been stored without their
	// answer reaching the client: more records than acknowledgements is
	// not a loss, fewer is.
	if lost > 0 || after-prep.before < len(acked) {
		return fmt.Errorf("%d acknowledged writes lost (records +%d for %d acknowledged)", lost, after-prep.before, len(acked))
	}
	if backups != nil {
		if err := restoreCheck(ctx, c, backups, acked, stdout); err != nil {
			return err
		}
	}
	if resolves.err.Load()+searches.err.Load() > 0 {
		return fmt.Errorf("%d requests failed", resolves.err.Load()+searches.err.Load())
	}
	return nil
}

// missingIn opens the patient index of db and returns how many records it
// holds and how many of keys it lacks.
func missingIn(ctx context.Context, db *store.DB, keys []vigie.SourceKey) (records, missing int, err error) {
	ix, err := mpi.Open(db, nil, mpi.Options{})
	if err != nil {
		return 0, 0, err
	}
	defer ix.Close()
	for _, k := range keys {
		if _, err := ix.IdentityOf(ctx, k.Authority, k.LocalID); err != nil {
			missing++
		}
	}
	return ix.Count(), missing, nil
}

// restoreCheck restores the last online backup taken during the load into
// a temporary folder with c.Restore, and checks that every write
// acknowledged before the backup's request was sent is in it, by source
// key: a backup taken under load holds what the server had answered.
func restoreCheck(ctx context.Context, c ServedConfig, b *backups, acked []vigie.SourceKey, stdout io.Writer) error {
	if b.last == "" || c.Restore == nil {
		return nil
	}
	tmp, err := os.MkdirTemp("", "vigie-bench-restore-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "store")
	t0 := time.Now()
	if err := c.Restore(dir, []string{b.last}); err != nil {
		return fmt.Errorf("restore of the last online backup: %w", err)
	}
	took := time.Since(t0)
	db, err := c.Open(dir)
	if err != nil {
		return err
	}
	defer db.Close()
	records, missing, err := missingIn(ctx, db, acked[:b.ackedBefore])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "last online backup restored in %s (its checks and vigie verify passed): %d records; resolves acknowledged before it began %d, missing %d\n",
		took.Round(time.Millisecond), records, b.ackedBefore, missing)
	if missing > 0 {
		return fmt.Errorf("%d writes acknowledged before the online backup began are not in it", missing)
	}
	return nil
}

// syncWriter is an io.Writer safe for concurrent use that keeps the
// server's warnings for the report.
type syncWriter struct {
	mu sync.Mutex
	b  []byte
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.b) < 1<<20 {
		w.b = append(w.b, p...)
	}
	return len(p), nil
}

// cpuUsage is the process's CPU time and allocations at one moment.
type cpuUsage struct {
	wall           time.Time
	user, sys      time.Duration
	alloc, mallocs uint64
	heap           uint64 // Go heap in use
}

func (u *cpuUsage) read() {
	u.wall = time.Now()
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		u.user = time.Duration(ru.Utime.Nano())
		u.sys = time.Duration(ru.Stime.Nano())
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	u.alloc, u.mallocs, u.heap = m.TotalAlloc, m.Mallocs, m.HeapInuse
}

// scrapeMetrics reads the server's metrics: each sample's value by its name
// and labels as written (`vigie_x{a="b"}`).
func scrapeMetrics(hc *http.Client, base, token string) (map[string]float64, error) {
	req, err := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for line := range strings.Lines(string(body)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); i > 0 && err == nil {
			out[line[:i]] = v
		}
	}
	return out, nil
}

// collections says, from two scrapes around a load of the given length,
// how often the garbage collector ran and its share of the process's
// CPU: the server and the load generator share one heap and one
// collector, and a cycle's marking takes a processor from the calls.
func collections(before, after map[string]float64, elapsed time.Duration) string {
	delta := func(k string) float64 { return after[k] - before[k] }
	cycles, gc, cpu := delta("vigie_go_gc_cycles_total"), delta("vigie_go_gc_cpu_seconds_total"), delta("process_cpu_seconds_total")
	switch {
	case cpu <= 0:
		return ""
	case cycles <= 0:
		return "garbage collections during the load: none\n"
	}
	return fmt.Sprintf("garbage collections during the load: %.0f, one every %.1f s, %.1f s of CPU (%.1f %% of the process's)\n",
		cycles, elapsed.Seconds()/cycles, gc, 100*gc/cpu)
}

// targetLatency is the search latency the region asks for at its p99.
const targetLatency = 20 * time.Millisecond

// serverShare says, from two scrapes of the server's metrics around the
// load, where a call's latency went: the mean time in the server's handlers
// per procedure of seen (against the mean its clients saw), the share of
// calls over targetLatency on each side, and the mean wait for an audit
// entry. What the clients saw beyond the handlers is the HTTP exchange
// and, on a busy machine, waiting for a processor: when the handlers
// alone keep most calls under the target and the clients do not, the
// time is lost outside the handlers.
func serverShare(before, after map[string]float64, seen map[string]*latencies) string {
	delta := func(k string) float64 { return after[k] - before[k] }
	var parts []string
	for _, proc := range slices.Sorted(maps.Keys(seen)) {
		l := seen[proc]
		label := `{procedure="/vigie.v1.IdentityService/` + proc + `"}`
		n := delta("vigie_request_duration_seconds_count" + label)
		if l == nil || len(l.d) == 0 || n <= 0 {
			continue
		}
		var sum time.Duration
		over := 0
		for _, d := range l.d {
			sum += d
			if d > targetLatency {
				over++
			}
		}
		part := fmt.Sprintf("%s %.2f ms in the handlers (clients saw %.2f ms)", proc,
			1000*delta("vigie_request_duration_seconds_sum"+label)/n, float64(sum.Microseconds())/1000/float64(len(l.d)))
		bucket := `vigie_request_duration_seconds_bucket{procedure="/vigie.v1.IdentityService/` + proc +
			`",le="` + strconv.FormatFloat(targetLatency.Seconds(), 'g', -1, 64) + `"}`
		if _, ok := after[bucket]; ok {
			part += fmt.Sprintf(", %.1f %% over %d ms in the handlers (clients saw %.1f %%)",
				100*(1-delta(bucket)/n), targetLatency.Milliseconds(), 100*float64(over)/float64(len(l.d)))
		}
		parts = append(parts, part)
	}
	if n := delta("vigie_audit_append_duration_seconds_count"); n > 0 {
		parts = append(parts, fmt.Sprintf("of which waiting for the call's audit entry %.2f ms (all calls)",
			1000*delta("vigie_audit_append_duration_seconds_sum")/n))
	}
	if len(parts) == 0 {
		return ""
	}
	return "mean per call, from the server's metrics: " + strings.Join(parts, ", ") + "\n"
}

// validDate reports whether s is a birth date a search accepts.
func validDate(s string) bool {
	if s == "" {
		return false
	}
	_, err := matcher.ParseDate(s)
	return err == nil
}
