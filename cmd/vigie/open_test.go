package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vigie/store"
)

// TestStoreInUse: a verb given a store another process holds (here
// another open of it, which Badger refuses the same way) says so in
// words, names the folder and says what to do, instead of Badger's
// message about its directory lock; a store nobody holds opens.
func TestStoreInUse(t *testing.T) {
	data := t.TempDir()
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	csv := filepath.Join(t.TempDir(), "ids.csv")
	writeTestFile(t, csv, "authority,local_id,birth_name,first_names,birth_date,sex\n1.2.250.1.213.1.1.1.1,P1,DUPONT,JEAN,1950-01-02,M\n")
	verbs := [][]string{
		{"token", "list", "--data", data},
		{"site", "list", "--data", data},
		{"import", "identities", "--data", data, csv},
		{"verify", "--data", data},
		{"backup", "--data", data, "--out", filepath.Join(t.TempDir(), "b.vbk")},
	}
	for _, args := range verbs {
		code, out, errs := vigieRun(t, args...)
		if code == 0 || !strings.Contains(errs, "the store in "+data+" is used by another vigie process") ||
			!strings.Contains(errs, "stop it first") || strings.Contains(errs, "Cannot acquire") {
			t.Errorf("vigie %s on a held store: exit %d\n%s%s", strings.Join(args[:2], " "), code, out, errs)
		}
	}
	if code, _, errs := vigieRun(t, "backup", "--data", data, "--out", filepath.Join(t.TempDir(), "b.vbk")); code == 0 || !strings.Contains(errs, "--server URL") {
		t.Errorf("backup on a held store does not point to --server: %s", errs)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := vigieRun(t, "token", "list", "--data", data); code != 0 {
		t.Errorf("token list once the store is free: exit %d\n%s%s", code, out, errs)
	}
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestDataFlagSameEverywhere: --data is the folder of the Vigie store in
// every verb that has it, with the same words and the same default as
// vigie serve, but for the verbs that must be told the folder (backup
// with its --server alternative, restore), exam-types (which reads a
// store only when given one) and the benchmarks' scratch stores.
func TestDataFlagSameEverywhere(t *testing.T) {
	noDefault := map[string]bool{"backup": true, "restore": true, "exam-types": true, "bench mpi": true, "bench serve": true}
	seen := 0
	for name, v := range verbs {
		var out, errb bytes.Buffer
		if err := v.run([]string{"-h"}, &out, &errb); err != nil && !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%s -h: %v", name, err)
			continue
		}
		help := errb.String()
		_, line, ok := strings.Cut(help, "  -data string\n")
		if !ok {
			continue
		}
		seen++
		line, _, _ = strings.Cut(line, "\n  -")
		switch {
		case strings.HasPrefix(name, "bench "):
		case !strings.Contains(line, "folder of the Vigie store"):
			t.Errorf("vigie %s: --data %q does not say it is the folder of the Vigie store", name, line)
		case noDefault[name] == strings.Contains(line, `(default "./vigie-data")`):
			t.Errorf("vigie %s: --data %q: default, want one: %v", name, line, !noDefault[name])
		}
	}
	if seen < 20 {
		t.Errorf("only %d verbs have --data", seen)
	}
}

// TestDataDefault: without --data, the verbs work on ./vigie-data, the
// folder vigie serve uses: an import creates it, a reader finds it, and a
// reader run where there is none says so instead of making an empty one.
func TestDataDefault(t *testing.T) {
	feed := filepath.Join(t.TempDir(), "ids.csv")
	writeTestFile(t, feed, "authority,local_id,birth_name,first_names,birth_date,sex\n1.2.250.1.213.1.1.1.1,P1,DUPONT,JEAN,1950-01-02,M\n")
	t.Chdir(t.TempDir())
	if code, out, errs := vigieRun(t, "export", "links"); code != 2 || !strings.Contains(errs, "--data: stat ./vigie-data") {
		t.Errorf("export links without a store: exit %d\n%s%s", code, out, errs)
	}
	if _, err := os.Stat(defaultData); err == nil {
		t.Fatalf("a reader created %s", defaultData)
	}
	if code, out, errs := vigieRun(t, "import", "identities", "--quiet", feed); code != 0 {
		t.Fatalf("import identities without --data: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs := vigieRun(t, "export", "links")
	if code != 0 || !strings.Contains(out, "1.2.250.1.213.1.1.1.1,P1,") {
		t.Errorf("export links of the default store: exit %d\n%s%s", code, out, errs)
	}
}
