package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"vigie"
	"vigie/auth"
	"vigie/mpi"
	"vigie/store"
)

// FHIRConfig is one run of the FHIR $match load test (`vigie bench fhir`).
type FHIRConfig struct {
	// Data is the folder of a store prepared with `vigie import
	// identities`; no server may hold it.
	Data     string
	Clients  int
	Requests int    // $match requests in all, each with another stored record's traits
	Seed     uint64 // the choice of records queried
	// Serve runs `vigie serve` in-process as s says until ctx ends: the
	// command's server, which the load measures (rate limits off).
	Serve func(ctx context.Context, s Server) error
	// Open opens the store in a folder as the command's verbs do.
	Open func(dir string) (*store.DB, error)
}

// fhirQuery is one $match request: the Parameters sent and the identity
// of the record whose traits it carries.
type fhirQuery struct {
	body     []byte
	identity string
}

// benchFHIRPrepare reads queries from the stored records (birth name,
// first name, birth date, sex, as a clinical tool sends them) and makes a
// regional_vigilance key for the load, which sees every candidate in full.
func fhirPrepare(c FHIRConfig) (queries []fhirQuery, records int, key, keyID string, err error) {
	data, n, seed := c.Data, c.Requests, c.Seed
	db, err := c.Open(data)
	if err != nil {
		return nil, 0, "", "", err
	}
	defer db.Close()
	ix, err := mpi.Open(db, nil, mpi.Options{})
	if err != nil {
		return nil, 0, "", "", err
	}
	defer ix.Close()
	records = ix.Count()
	if records == 0 {
		return nil, 0, "", "", vigie.Invalid("--data", "the store in %s is empty: load it with `vigie gen identities` and `vigie import identities` first", data)
	}
	step := max(1, records/n)
	i := 0
	stop := errors.New("enough")
	err = ix.Scan(context.Background(), func(_ vigie.SourceKey, id vigie.IdentityID, r vigie.Record) error {
		i++
		if i%step != 0 || r.BirthName == "" || len(r.BirthDate) != 10 {
			return nil
		}
		name := map[string]any{"use": "official", "family": r.BirthName}
		if r.FirstName != "" { // FHIR has no empty strings
			name["given"] = []string{r.FirstName}
		}
		p := map[string]any{"resourceType": "Patient", "birthDate": r.BirthDate, "name": []any{name}}
		switch r.Sex {
		case "M":
			p["gender"] = "male"
		case "F":
			p["gender"] = "female"
		}
		b, err := json.Marshal(map[string]any{"resourceType": "Parameters", "parameter": []any{
			map[string]any{"name": "resource", "resource": p}, map[string]any{"name": "count", "valueInteger": 5}}})
		if err != nil {
			return err
		}
		queries = append(queries, fhirQuery{body: b, identity: id.String()})
		if len(queries) >= n {
			return stop
		}
		return nil
	})
	if err != nil && !errors.Is(err, stop) {
		return nil, 0, "", "", err
	}
	rng := rand.New(rand.NewPCG(seed, 31))
	rng.Shuffle(len(queries), func(i, j int) { queries[i], queries[j] = queries[j], queries[i] })
	secret, k, err := auth.NewKeys(db).Create(auth.RoleRegionalVigilance, nil, "bench-fhir", 2*time.Hour)
	if err != nil {
		return nil, 0, "", "", err
	}
	return queries, records, secret, k.ID, nil
}

// FHIR serves the store with `vigie serve` in-process (c.Serve) and sends
// $match requests from concurrent clients once its search index has caught
// up and its cache is warm; it prints the latencies and how often the
// queried record's identity came first. The key it made is revoked at
// the end.
func FHIR(ctx context.Context, c FHIRConfig, stdout io.Writer) error {
	clients := c.Clients
	queries, records, key, keyID, err := fhirPrepare(c)
	if err != nil {
		return err
	}
	defer func() {
		if db, err := c.Open(c.Data); err == nil {
			_, _ = auth.NewKeys(db).Revoke(keyID)
			db.Close()
		}
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srvCtx, stopServer := context.WithCancel(ctx)
	ready, warmed, searchReady, served := make(chan string, 1), make(chan int, 1), make(chan struct{}, 1), make(chan error, 1)
	t0 := time.Now()
	go func() {
		served <- c.Serve(srvCtx, Server{Listener: ln, Ready: func(a string) { ready <- a },
			Warmed: func(n int) { warmed <- n }, SearchReady: func() { searchReady <- struct{}{} },
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}()
	defer func() {
		stopServer()
		<-served
	}()
	var addr string
	for _, wait := range []string{"listen", "search", "warm"} {
		select {
		case addr = <-ready:
		case <-searchReady:
		case <-warmed:
		case err := <-served:
			return fmt.Errorf("the server stopped before the load (%s): %v", wait, err)
		}
	}
	fmt.Fprintf(stdout, "server ready %s after start: %d records; GOMAXPROCS %d on %d cores\n",
		time.Since(t0).Round(time.Millisecond), records, runtime.GOMAXPROCS(0), runtime.NumCPU())

	url := "http://" + addr + "/fhir/Patient/$match"
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients * 2}, Timeout: time.Minute}
	lat := make([]time.Duration, len(queries))
	var next, first, failed atomic.Int64
	var mu sync.Mutex
	grades := map[string]int{}
	var firstErr error
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(queries) {
					return
				}
				q := queries[i]
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(q.body))
				req.Header.Set("Content-Type", "application/fhir+json")
				req.Header.Set("Authorization", "Bearer "+key)
				t := time.Now()
				resp, err := hc.Do(req)
				var b []byte
				if err == nil {
					b, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
					}
				}
				lat[i] = time.Since(t)
				var bundle struct {
					Entry []struct {
						Resource struct{ ID string }
						Search   struct {
							Extension []struct{ ValueCode string }
						}
					}
				}
				if err == nil {
					err = json.Unmarshal(b, &bundle)
				}
				if err != nil {
					failed.Add(1)
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				grade := "none"
				if len(bundle.Entry) > 0 {
					if bundle.Entry[0].Resource.ID == q.identity {
						first.Add(1)
					}
					if x := bundle.Entry[0].Search.Extension; len(x) > 0 {
						grade = x[0].ValueCode
					}
				}
				mu.Lock()
				grades[grade]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	n := len(queries)
	slices.Sort(lat)
	fmt.Fprintf(stdout, "%d $match requests from %d clients in %s: %.0f requests/s\n", n, clients, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
	fmt.Fprintf(stdout, "latency: p50 %s, p90 %s, p99 %s, max %s\n", Percentile(lat, 0.50), Percentile(lat, 0.90), Percentile(lat, 0.99), lat[n-1])
	fmt.Fprintf(stdout, "the queried record's identity first: %d of %d (%.2f %%); grade of the first candidate: certain %d, probable %d, possible %d, certainly-not %d, none %d\n",
		first.Load(), n, 100*float64(first.Load())/float64(n), grades["certain"], grades["probable"], grades["possible"], grades["certainly-not"], grades["none"])
	if failed.Load() > 0 {
		return fmt.Errorf("%d requests failed, the first: %v", failed.Load(), firstErr)
	}
	return nil
}
