package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"vigie"

	"connectrpc.com/connect"

	"vigie/auth"
	"vigie/matcher"
	"vigie/mpi"
	v1 "vigie/rpc/gen/vigie/v1"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
	"vigie/store"
)

const serveChildEnv = "VIGIE_SERVE_CHILD"

// TestServeRestartChild is the child process of TestServeRestart: `vigie
// serve` on the given store, on 127.0.0.1, stopped by SIGTERM (or killed).
// It does nothing when run directly.
func TestServeRestartChild(t *testing.T) {
	data := os.Getenv(serveChildEnv)
	if data == "" {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	err := serve(ctx, serveConfig{Data: data, Addr: "127.0.0.1:0", Ready: func(a string) { fmt.Printf("addr %s\n", a) }})
	if err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(1)
	}
	fmt.Println("stopped")
}

// TestServeRestart stops a server in the middle of a ResolveRecord load,
// by SIGTERM and then by SIGKILL, and checks that every acknowledged
// record is in the store afterwards and that the patient index's
// invariants hold. Traffic goes to 127.0.0.1 only; the load is bounded in
// count and time.
func TestServeRestart(t *testing.T) {
	if os.Getenv(serveChildEnv) != "" {
		t.Skip("child process")
	}
	data := t.TempDir()
	const authority = "1.2.250.1.213.1.1.1.42"
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := auth.NewKeys(db).Create(auth.RoleIngest, []string{authority}, "restart-test", time.Hour)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	var acked []vigie.SourceKey
	for round, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		killAfter := 20 + rng.IntN(120)
		got, out := loadAndStop(t, data, key, authority, round, killAfter, sig)
		t.Logf("%v after %d acknowledged resolves (%d in all)", sig, len(got), len(acked)+len(got))
		if sig == syscall.SIGTERM && !strings.Contains(out, "stopped") {
			t.Errorf("SIGTERM: the server did not stop cleanly:\n%s", out)
		}
		acked = append(acked, got...)

		db, err := store.Open(data, store.Options{})
		if err != nil {
			t.Fatalf("reopen after %v: %v", sig, err)
		}
		ix, err := mpi.Open(db, matcher.DefaultModel(), mpi.Options{})
		if err != nil {
			db.Close()
			t.Fatal(err)
		}
		if err := ix.Verify(context.Background()); err != nil {
			t.Errorf("invariants after %v: %v", sig, err)
		}
		missing := 0
		for _, k := range acked {
			if _, err := ix.IdentityOf(context.Background(), k.Authority, k.LocalID); err != nil {
				missing++
			}
		}
		ix.Close()
		db.Close()
		if missing > 0 {
			t.Fatalf("after %v: %d of %d acknowledged records lost", sig, missing, len(acked))
		}
	}
}

// loadAndStop starts the child server, runs 8 clients resolving fresh
// records until killAfter are acknowledged, sends sig to the child, lets
// each client run until a call fails and the child has exited, and
// returns the acknowledged records and the child's output.
func loadAndStop(t *testing.T, data, key, authority string, round, killAfter int, sig syscall.Signal) ([]vigie.SourceKey, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeRestartChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), serveChildEnv+"="+data)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	addr := ""
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if a, ok := strings.CutPrefix(sc.Text(), "addr "); ok {
			addr = a
			break
		}
	}
	if addr == "" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("the child did not start:\n%s\n%s", out.String(), stderr.String())
	}
	rest := make(chan struct{})
	go func() {
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
		}
		close(rest)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := vigiev1connect.NewIdentityServiceClient(&http.Client{Timeout: 20 * time.Second}, "http://"+addr, withToken(key))
	var mu sync.Mutex
	var acked []vigie.SourceKey
	var next atomic.Int64
	var signalled sync.Once
	sent := make(chan struct{}) // closed once sig is sent
	signal := func() { signalled.Do(func() { _ = cmd.Process.Signal(sig); close(sent) }) }
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			failures := 0
			for ctx.Err() == nil && next.Load() < 5000 && failures < 20 {
				i := next.Add(1)
				k := vigie.SourceKey{Authority: authority, LocalID: fmt.Sprintf("R%d-%d-%d", round, w, i)}
				_, err := client.ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: &v1.SourceRecord{
					Authority: k.Authority, LocalId: k.LocalID, BirthName: fmt.Sprintf("NOM%d", i%997), FirstNames: "ANNE",
					BirthDate: fmt.Sprintf("19%02d-%02d-%02d", 30+i%70, 1+i%12, 1+i%28), Sex: "F"}}))
				if err != nil {
					failures++
					select {
					case <-sent:
						// The server is stopping: its calls fail from
						// now on. Stop once it has exited.
						select {
						case <-rest:
						case <-ctx.Done():
						}
						return
					default:
					}
					continue
				}
				mu.Lock()
				acked = append(acked, k)
				n := len(acked)
				mu.Unlock()
				if n >= killAfter {
					signal()
				}
			}
		})
	}
	wg.Wait()
	signal()
	<-rest
	_ = cmd.Wait()
	if sig == syscall.SIGTERM && !cmd.ProcessState.Success() {
		t.Errorf("SIGTERM: the child exited with %v:\n%s", cmd.ProcessState, stderr.String())
	}
	return acked, out.String()
}
