package main

import (
	"strings"
	"testing"

	"vigie/store"
)

func TestGCVerb(t *testing.T) {
	dir := doseStore(t, 3)
	code, out, errs := vigieRun(t, "gc", "--data", dir)
	if code != 0 || !strings.HasPrefix(out, "rewrote 0 value-log files") {
		t.Fatalf("gc on a store without superseded values: %d %q %q", code, out, errs)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"gc"}, 2, "--data"},
		{[]string{"gc", "--data", dir, "--ratio", "1"}, 2, "--ratio"},
		{[]string{"gc", "--data", dir + "/missing"}, 2, "--data"},
	} {
		code, _, errs := vigieRun(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d %q, want %d naming %s", tc.args, code, errs, tc.code, tc.want)
		}
	}
	// A folder a server holds is refused, untouched.
	db, err := store.Open(dir, store.Options{Deferred: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if code, _, errs := vigieRun(t, "gc", "--data", dir); code != 1 || !strings.Contains(errs, "is used by another vigie process") {
		t.Errorf("gc on a folder in use: exit %d %q, want 1 saying another process holds it", code, errs)
	}
}
