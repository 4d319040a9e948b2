package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vigie/matcher"
)

// train reports what a re-estimated model would change and changes no link.
func TestTrainVerb(t *testing.T) {
	gen := genFeed(t, 600, 3)
	data := t.TempDir()
	var out, errb bytes.Buffer
	if code := run([]string{"import", "identities", "--data", data, "--quiet", filepath.Join(gen, "records.csv")}, &out, &errb); code != 0 {
		t.Fatalf("import: exit %d: %s%s", code, out.String(), errb.String())
	}
	before := exportMap(t, data)
	model := filepath.Join(t.TempDir(), "model.json")
	out.Reset()
	if code := run([]string{"train", "--data", data, "--random-pairs", "20000", "--out", model}, &out, &errb); code != 0 {
		t.Fatalf("train: exit %d: %s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"trained on ", "pairs of records in the same identity now", "model written to"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	b, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := matcher.ParseModel(b); err != nil {
		t.Fatalf("written model: %v", err)
	}
	if after := exportMap(t, data); !mapsEqual(before, after) {
		t.Fatal("train changed links")
	}
	if code := run([]string{"train"}, &out, &errb); code != 2 {
		t.Fatalf("train without --data: exit %d", code)
	}
}
