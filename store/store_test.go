package store

import (
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
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set(layoutKey, []byte{LayoutVersion + 1}) }); err != nil {
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
