package store

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
)

func TestOpenRecordsLayoutAndRefusesNewer(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.b.Update(func(txn *Txn) error { return txn.Set(layoutKey, []byte{LayoutVersion + 1}) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("a store of a newer layout must be refused, got %v", err)
	}
}

func TestOpenReopensOwnLayout(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 2; i++ {
		db, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		db.Close()
	}
}

// fill writes n values of 4 kB under keys k/<i>, in transactions of 200.
func fill(t *testing.T, db *DB, n int) {
	t.Helper()
	val := bytes.Repeat([]byte("v"), 4096)
	for i := 0; i < n; i += 200 {
		err := db.b.Update(func(txn *Txn) error {
			for j := i; j < min(i+200, n); j++ {
				if err := txn.Set(fmt.Appendf(nil, "k/%06d", j), val); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// count returns how many keys k/ the store holds.
func count(t *testing.T, db *DB) int {
	t.Helper()
	return countPrefix(t, db, "k/")
}

// countPrefix returns how many keys under prefix the store holds.
func countPrefix(t *testing.T, db *DB, prefix string) int {
	t.Helper()
	n := 0
	err := db.View(func(txn *Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefix)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A store written by a bulk load (smaller memtables and tables) opens as a
// durable store and the other way round, with every value.
func TestBulkAndDurableStoresOpenEachOther(t *testing.T) {
	dir := t.TempDir()
	for i, o := range []Options{{NoSync: true}, {}, {NoSync: true}} {
		db, err := Open(dir, o)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if got := count(t, db); got != 3000*i {
			t.Fatalf("open %d: %d values, want %d", i, got, 3000*i)
		}
		fill(t, db, 3000*(i+1)) // 12 MB more each time: beyond a bulk memtable
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// A memtable left by an unclean stop of a durable store (larger than a bulk
// load's memtable) is replayed whole when a bulk load opens the store.
func TestBulkOpenReplaysLargerPendingMemtable(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, db, 3000) // 12 MB: more than a bulk memtable, less than a durable one
	// Copy the folder while the store is open, as a crash would leave it.
	crashed := t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	pending := false
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(crashed, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
		pending = pending || strings.HasSuffix(e.Name(), ".mem") && len(b) > bulkMemTableSize
	}
	db.Close()
	if !pending {
		t.Fatal("the open store holds no memtable file larger than a bulk memtable: the test sets nothing up")
	}
	db, err = Open(crashed, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := count(t, db); got != 3000 {
		t.Fatalf("%d values after the replay, want 3000", got)
	}
}
