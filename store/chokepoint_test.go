package store

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestWritesGoThroughTheGuard keeps the disk guard the one way into the
// store: outside this package, no Go file (tests aside) opens a read-write
// Badger transaction, batch or stream itself, and the calls that make
// Badger rewrite files (value-log GC, DropPrefix, Flatten) sit after a
// question to the guard in the same function. A new writer that bypassed
// it could fill the disk until Badger's mapped files fault.
func TestWritesGoThroughTheGuard(t *testing.T) {
	direct := regexp.MustCompile(`\bdb\.Update\(|\.NewTransaction\(true\)|\.NewTransactionAt\(|\.NewWriteBatch|\.NewStreamWriter|\.NewManagedWriteBatch`)
	rewrites := regexp.MustCompile(`\.RunValueLogGC\(|\.DropPrefix\(|\.Flatten\(|\.DropAll\(`)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "gen") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		src := string(b)
		inStore := filepath.Dir(rel) == "store"
		for i, line := range strings.Split(src, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "//") {
				continue
			}
			if direct.MatchString(line) && !inStore {
				t.Errorf("%s:%d writes to Badger without the disk guard (use store.Update, UpdateTrail, UpdateRetry, NewWriteTxn or NewBatch): %s", rel, i+1, strings.TrimSpace(line))
			}
			// DB's methods pass the call on to Badger: their callers are
			// the ones checked.
			forward := strings.HasPrefix(line, "func (db *DB) ")
			if rewrites.MatchString(line) && !forward && !guardedBefore(src, i) {
				t.Errorf("%s:%d makes Badger rewrite files without asking the disk guard first: %s", rel, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("only %d Go files found under %s", checked, root)
	}
}

// guardedBefore reports whether the function holding line i of src asks
// the guard (Allow) before that line.
func guardedBefore(src string, i int) bool {
	lines := strings.Split(src, "\n")
	for j := i; j >= 0; j-- {
		if strings.Contains(lines[j], ".Allow(") {
			return true
		}
		if strings.HasPrefix(lines[j], "func ") {
			return false
		}
	}
	return false
}
