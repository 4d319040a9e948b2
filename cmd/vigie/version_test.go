package main

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"vigie/store"
)

// TestVersion: `vigie version` names the Go release and the store layout
// this build writes, the two facts a support request needs beside the
// commit; extra arguments are a usage error.
func TestVersion(t *testing.T) {
	code, out, errs := vigieRun(t, "version")
	if code != 0 {
		t.Fatalf("version: exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"vigie ", "commit ", runtime.Version(), fmt.Sprintf("store layout %d", store.LayoutVersion)} {
		if !strings.Contains(out, want) {
			t.Errorf("version output lacks %q:\n%s", want, out)
		}
	}
	if code, _, _ := vigieRun(t, "version", "--nonsense"); code != 2 {
		t.Errorf("version --nonsense: exit %d, want 2 (usage)", code)
	}
}
