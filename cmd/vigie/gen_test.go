package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

// The generator's knobs for held-out style tests: dirtier or cleaner feeds,
// and feeds without the INS.
func TestGenIdentitiesRates(t *testing.T) {
	type counts struct{ records, lowerName, noSex, withINS int }
	gen := func(t *testing.T, extra ...string) counts {
		t.Helper()
		out := t.TempDir()
		var stdout, stderr bytes.Buffer
		args := append([]string{"gen", "identities", "--persons", "1000", "--seed", "3", "--out", out}, extra...)
		if code := run(args, &stdout, &stderr); code != 0 {
			t.Fatalf("gen %v: exit %d: %s", extra, code, stderr.String())
		}
		f, err := os.Open(filepath.Join(out, "records.csv"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		col := map[string]int{}
		for i, h := range rows[0] {
			col[h] = i
		}
		var c counts
		for _, r := range rows[1:] {
			c.records++
			if strings.IndexFunc(r[col["birth_name"]], unicode.IsLower) >= 0 {
				c.lowerName++
			}
			if s := r[col["sex"]]; s == "" || s == "U" {
				c.noSex++
			}
			if r[col["ins"]] != "" {
				c.withINS++
			}
		}
		return c
	}
	clean, usual, dirty := gen(t, "--error-scale", "0"), gen(t), gen(t, "--error-scale", "5")
	if clean.lowerName != 0 || clean.noSex != 0 {
		t.Errorf("--error-scale 0: %d birth names in lower case, %d records without sex; want none", clean.lowerName, clean.noSex)
	}
	if !(dirty.lowerName > 2*usual.lowerName && dirty.noSex > 2*usual.noSex) {
		t.Errorf("--error-scale 5 against 1: %d/%d birth names in lower case, %d/%d records without sex; want well over twice",
			dirty.lowerName, usual.lowerName, dirty.noSex, usual.noSex)
	}
	none := gen(t, "--ins-coverage", "0")
	if usual.withINS < usual.records/10 || none.withINS > none.records/100 {
		t.Errorf("records with an INS: %d of %d by default, %d of %d with --ins-coverage 0", usual.withINS, usual.records, none.withINS, none.records)
	}
	for _, bad := range [][]string{{"--error-scale", "-1"}, {"--error-scale", "11"}, {"--ins-coverage", "1.5"}} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"gen", "identities", "--out", t.TempDir()}, bad...)
		if code := run(args, &stdout, &stderr); code == 0 || !strings.Contains(stderr.String(), bad[0]) {
			t.Errorf("gen %v: exit %d, stderr %q; want a usage error naming %s", bad, code, stderr.String(), bad[0])
		}
	}
}
