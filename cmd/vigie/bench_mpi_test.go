package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestBenchMPIVerb runs the benchmark verb on a small generated population
// and checks that it reports what the issue asks for: speed, memory (with
// the anonymous and mapped-file split where the kernel gives it), latency,
// accuracy and store size; the last rows resolved online, one by one.
func TestBenchMPIVerb(t *testing.T) {
	gen := genFeed(t, 300, 3)
	var out, errb bytes.Buffer
	if code := run([]string{"bench", "mpi", "--generated", gen, "--online", "100"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out.String(), errb.String())
	}
	want := []string{"rows per CPU second", "peak RSS of the import", "time to decide a row: p50", "online resolve after the load (100 rows", "pairwise precision", "review queue", "store size on disk"}
	if _, err := os.Stat("/proc/self/status"); err == nil {
		want = append(want, "MB anonymous")
	}
	for _, w := range want {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
}
