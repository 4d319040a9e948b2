package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"vigie"
	"vigie/internal/door"
	"vigie/mpi"
)

// Regression of issue 26, defect 1: a store holding an identity with a
// huge birth name (as a store of an earlier version may hold one) kept
// the search index's catch-up busy for more than ten minutes, and `vigie
// serve` on it never reached "listening" since start-up waited for that
// catch-up; `vigie search` hung too. Now serve listens and answers health
// before the catch-up, which runs in the background in bounded work (the
// terms are counted in package search), /readyz says when it is done, and
// the search verb answers, the huge identity included.
//
// The door refuses such a name now: the record is written with the door
// open (door.WithoutDoor), as an earlier version stored it. A query passes
// the door too, so the search verb is asked for the huge identity by its
// local id, the huge query itself being refused (the bound on a huge
// query's keys is TestQueryKeysBounded's, in package search).
func TestServeListensBeforeSearchCatchUpOnHugeName(t *testing.T) {
	ctx := context.Background()
	door.WithoutDoor(t)
	data := t.TempDir()
	_, ix, closeIndex, err := openIndex(data, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	// An index caught up with an empty store: the records below are
	// what the next start catches up.
	sx, err := openSearchIndex(ctx, data, ix, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	sx.Close()
	huge := strings.Repeat("ZORGLUBIEN", 90_000) // 900 KB: a Badger value holds at most 1 MiB
	for _, r := range []vigie.Record{
		{Authority: "1.2.250.1.213.1.1.1.3", LocalID: "H1", BirthName: huge, FirstNames: huge, BirthDate: "1970-01-02", Sex: "F"},
		{Authority: "1.2.250.1.213.1.1.1.3", LocalID: "P1", BirthName: "ETCHEVERRY", FirstNames: "MAITE", BirthDate: "1968-05-21", Sex: "F"},
	} {
		if _, err := ix.Resolve(ctx, r, mpi.System); err != nil {
			t.Fatal(err)
		}
	}
	closeIndex()

	s := startServe(t, serveConfig{Data: data, MetricsToken: "m"})
	base := "http://" + s.addr
	get := func(path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Authorization", "Bearer m")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// Listening, health answered, whatever the search index's state.
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz while starting: %d", code)
	}
	s.waitSearch(t)
	if code, body := get("/readyz"); code != http.StatusOK {
		t.Errorf("/readyz once caught up: %d %q", code, body)
	}
	_, metrics := get("/metrics")
	for _, want := range []string{`(?m)^vigie_identities 2$`, `(?m)^vigie_search_index_ready 1$`, `(?m)^vigie_search_index_skipped 0$`} {
		if !regexp.MustCompile(want).MatchString(metrics) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(s.logs.String(), "ZORGLUB") || strings.Contains(s.logs.String(), "ETCHEVERRY") {
		t.Error("a name reached the logs")
	}
	s.shutdown(t)

	// The search verb on the same store answers: a name, and the huge
	// identity by its local id (scored with its huge values).
	for _, c := range []struct {
		args []string
		want string // the source of the first result
	}{
		{[]string{"--name", "ETCHEVERRY"}, `"local_id":"P1"`},
		{[]string{"--ipp", "1.2.250.1.213.1.1.1.3:H1"}, `"local_id":"H1"`},
	} {
		var out, errOut bytes.Buffer
		if err := runSearch(append([]string{"--data", data, "--json", "--limit", "1"}, c.args...), &out, &errOut); err != nil {
			t.Fatalf("vigie search %s: %v\n%s", c.args, err, errOut.String())
		}
		if !strings.Contains(out.String(), c.want) {
			t.Errorf("vigie search %s: no result with %s\n%.300s\n%s", c.args, c.want, out.String(), errOut.String())
		}
	}
	// The huge name as a query is refused at the door, at once.
	var out, errOut bytes.Buffer
	if err := runSearch([]string{"--data", data, "--name", huge[:500_000], "--json"}, &out, &errOut); vigie.ErrorCode(err) != vigie.EINVALID {
		t.Errorf("vigie search --name of 500 KB: %v, want the door's refusal", err)
	}
}
