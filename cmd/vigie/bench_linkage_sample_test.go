package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vigie"
)

// A sample holds every record of each person drawn, in the file's order,
// and at least the records asked for; the same seed draws the same.
func TestSampleRecords(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	lines := []string{"authority,local_id,birth_name"}
	truth := map[vigie.SourceKey]string{}
	for i := range 40 {
		id := string(rune('a'+i%26)) + string(rune('0'+i/26))
		lines = append(lines, "A,"+id+",NAME"+id)
		truth[vigie.SourceKey{Authority: "A", LocalID: id}] = "P" + string(rune('0'+i%10)) // 10 persons of 4 records
	}
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		n       int
		records int
		persons int
	}{
		{"three persons", 10, 12, 3},
		{"one record asked", 1, 4, 1},
		{"more than the file", 100, 40, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".csv")
			sub, err := sampleRecords(in, out, truth, tc.n, 7)
			if err != nil {
				t.Fatal(err)
			}
			persons := map[string]int{}
			for _, p := range sub {
				persons[p]++
			}
			if len(sub) != tc.records || len(persons) != tc.persons {
				t.Fatalf("%d records of %d persons, want %d of %d", len(sub), len(persons), tc.records, tc.persons)
			}
			for p, n := range persons {
				if n != 4 {
					t.Errorf("person %s: %d records of 4", p, n)
				}
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			rows := strings.Split(strings.TrimSpace(string(b)), "\n")
			if rows[0] != lines[0] || len(rows) != tc.records+1 {
				t.Errorf("file of %d lines headed %q, want the header and %d records", len(rows), rows[0], tc.records)
			}
			again, err := sampleRecords(in, filepath.Join(dir, "again.csv"), truth, tc.n, 7)
			if err != nil {
				t.Fatal(err)
			}
			for k := range sub {
				if _, ok := again[k]; !ok {
					t.Errorf("seed 7 drew %v once, not twice", k)
				}
			}
		})
	}
}
