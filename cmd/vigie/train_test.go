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
	// The import fitted version 2 on the feed itself (600 persons are
	// enough); the proposal is stored as version 3, not applied; applying
	// it is a named act.
	if !strings.Contains(out.String(), "proposed as model version 3") {
		t.Fatalf("no proposed version 3 in:\n%s", out.String())
	}
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		current string // the line of --list marked current
	}{
		{"proposal not current", []string{"--list"}, 0, "* model version 2 (fitted"},
		{"apply without actor refused", []string{"--apply", "3"}, 2, "* model version 2 (fitted"},
		{"apply unknown version refused", []string{"--apply", "7", "--actor", "dr.martin", "--reason", "review of issue 27"}, 1, "* model version 2 (fitted"},
		{"applied by an administrator", []string{"--apply", "3", "--actor", "dr.martin", "--reason", "review of issue 27"}, 0, "* model version 3 (fitted"},
	} {
		out.Reset()
		errb.Reset()
		code := run(append([]string{"train", "--data", data}, tc.args...), &out, &errb)
		if code != tc.code && !(tc.code != 0 && code != 0) {
			t.Errorf("%s: exit %d, want %d: %s%s", tc.name, code, tc.code, out.String(), errb.String())
		}
		out.Reset()
		if code := run([]string{"train", "--data", data, "--list"}, &out, &errb); code != 0 || !strings.Contains(out.String(), tc.current) {
			t.Errorf("%s: list (exit %d) lacks %q:\n%s", tc.name, code, tc.current, out.String())
		}
	}
	if !strings.Contains(out.String(), "version 2 -> 3 by dr.martin: review of issue 27") {
		t.Errorf("no audit trace of the change in:\n%s", out.String())
	}
	if after := exportMap(t, data); !mapsEqual(before, after) {
		t.Fatal("applying a model changed links")
	}
	if code := run([]string{"train"}, &out, &errb); code != 2 {
		t.Fatalf("train without --data: exit %d", code)
	}
}
