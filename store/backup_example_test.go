package store_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"vigie/store"
)

// A backup taken while the store serves, restored into a new folder.
func ExampleBackup() {
	dir, _ := os.MkdirTemp("", "vigie-example-")
	defer os.RemoveAll(dir)
	db, err := store.Open(filepath.Join(dir, "data"), store.Options{})
	if err != nil {
		panic(err)
	}
	_ = store.Update(db, func(txn *store.Txn) error { return txn.Set([]byte("k/1"), []byte("one")) })

	key := bytes.Repeat([]byte{0x42}, 32) // from a key file in practice (store.LoadKey)
	var file bytes.Buffer
	m, err := store.Backup(context.Background(), db, &file, store.BackupOptions{Key: key})
	db.Close()
	if err != nil {
		panic(err)
	}
	fmt.Println("full backup:", m.Since == 0, "encrypted:", m.Cipher != "", "pairs:", m.Pairs)

	path := filepath.Join(dir, "full.vbk")
	_ = os.WriteFile(path, file.Bytes(), 0o600)
	ms, err := store.Restore(filepath.Join(dir, "restored"), []string{path}, store.RestoreOptions{Key: key})
	if err != nil {
		panic(err)
	}
	fmt.Println("restored up to the backup's version:", ms[0].Version == m.Version)
	// Output:
	// full backup: true encrypted: true pairs: 3
	// restored up to the backup's version: true
}
