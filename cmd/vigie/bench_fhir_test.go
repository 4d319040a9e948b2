package main

import (
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// TestBenchFHIR runs `vigie bench fhir` on a small store: every request
// answered, the report's figures there, and the queried record's identity
// first for most queries (the records' own traits).
func TestBenchFHIR(t *testing.T) {
	data := t.TempDir()
	feed := genFeed(t, 150, 3)
	if code, out, errs := vigieRun(t, "import", "identities", "--data", data, filepath.Join(feed, "records.csv")); code != 0 {
		t.Fatalf("import: %d\n%s%s", code, out, errs)
	}
	code, out, errs := vigieRun(t, "bench", "fhir", "--data", data, "--clients", "4", "--requests", "100")
	if code != 0 {
		t.Fatalf("bench fhir: exit %d\n%s%s", code, out, errs)
	}
	for _, re := range []string{
		`(\d+) \$match requests from 4 clients in \S+: \d+ requests/s`,
		`latency: p50 \S+, p90 \S+, p99 \S+, max \S+`,
		`the queried record's identity first: (\d+) of (\d+) `,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("the report lacks %q:\n%s", re, out)
		}
	}
	m := regexp.MustCompile(`identity first: (\d+) of (\d+) `).FindStringSubmatch(out)
	if m != nil {
		first, _ := strconv.Atoi(m[1])
		n, _ := strconv.Atoi(m[2])
		if n == 0 || first*10 < n*9 {
			t.Errorf("the record's own identity came first for %d of %d queries of its own traits", first, n)
		}
	}
	// A second run on the same store works, with a key of its own.
	if code, out, errs := vigieRun(t, "bench", "fhir", "--data", data, "--clients", "2", "--requests", "10"); code != 0 {
		t.Fatalf("second bench fhir: exit %d\n%s%s", code, out, errs)
	}
}
