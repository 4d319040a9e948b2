package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestSiteVerbs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	const oid = "1.2.250.1.71.4.2.7.1"
	steps := []struct {
		args     []string
		wantCode int
		wantOut  string
	}{
		{[]string{"site", "list", "--data", dir}, 2, ""}, // no store yet: nothing created
		{[]string{"site", "add", "--data", dir, "--authority", oid, "--name", "CHU de Bordeaux", "--ae", "CHUBX_CT1"}, 0, `registered as "CHU de Bordeaux"`},
		{[]string{"site", "add", "--data", dir, "--authority", oid, "--name", "Autre"}, 1, ""},
		{[]string{"site", "add", "--data", dir, "--authority", "CHU", "--name", "X"}, 2, ""},
		{[]string{"site", "rename", "--data", dir, "--authority", oid, "--name", "CHU de Bordeaux — Pellegrin"}, 0, "renamed"},
		{[]string{"site", "list", "--data", dir}, 0, "CHU de Bordeaux — Pellegrin  CHUBX_CT1"},
		{[]string{"site", "remove", "--data", dir, "--authority", oid}, 0, "Établissement non référencé"},
		{[]string{"site", "remove", "--data", dir, "--authority", oid}, 1, ""},
	}
	for _, s := range steps {
		code, out, errs := runCLI(s.args...)
		if code != s.wantCode || !strings.Contains(out, s.wantOut) {
			t.Errorf("%v: exit %d, out %q (stderr %q); want exit %d and %q", s.args, code, out, errs, s.wantCode, s.wantOut)
		}
	}
}
