// Package sharedtest finds the workplace's shared test material (the
// shared/ folder beside the project's checkout) for tests that read real
// files: FEBRL sets, INSEE name lists, vendor DICOM files. The project never
// copies that material into its own tree.
package sharedtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Find returns the path of rel inside shared/, looking beside the current
// folder and up to five of its parents, and false when it is absent.
func Find(rel string) (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for range 6 {
		p := filepath.Join(dir, "shared", rel)
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
		p = filepath.Join(dir, "..", "shared", rel)
		if _, err := os.Stat(p); err == nil {
			return filepath.Clean(p), true
		}
		dir = filepath.Dir(dir)
	}
	return "", false
}

// Path returns the path of rel inside shared/, or skips the test with a
// message saying what is missing. CI always has shared/; a developer's
// machine may not.
func Path(t testing.TB, rel string) string {
	t.Helper()
	p, ok := Find(rel)
	if !ok {
		t.Skipf("shared/%s is absent (expected beside the project checkout): this test needs the workplace's shared test data", rel)
	}
	return p
}
