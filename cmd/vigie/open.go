package main

import (
	"fmt"
	"io"
	"os"

	badger "github.com/dgraph-io/badger/v4"

	"vigie/mpi"
	"vigie/store"
)

// openIndex opens a data folder's store (durable writes) and its patient
// index with the store's current model (see mpi.Open), for the verbs that read or feed
// identities. Only a verb that stores (create) may start a new folder: a
// reader given a mistyped folder is told so instead of reading an empty
// store it just made. reserve is the store's disk reserve (0: its
// default; see store.DiskGuard). close closes both, the index first.
func openIndex(data string, create bool, reserve int64) (db *badger.DB, ix *mpi.Index, close func(), err error) {
	if data == "" {
		return nil, nil, nil, usageErr("--data DIR is required")
	}
	if !create {
		if _, err := os.Stat(data); err != nil {
			return nil, nil, nil, usageErr("--data: %v", err)
		}
	}
	db, err = store.Open(data, store.Options{DiskReserve: reserve})
	if err != nil {
		return nil, nil, nil, err
	}
	ix, err = mpi.Open(db, nil, mpi.Options{})
	if err != nil {
		db.Close()
		return nil, nil, nil, err
	}
	return db, ix, func() { ix.Close(); db.Close() }, nil
}

// loadFlagFile reads the file a flag names with load, or returns def() when
// the flag is empty: the site's own table or configuration over the shipped
// one. A file that cannot be opened is a usage error naming the flag; one
// that load refuses is named with load's reason.
func loadFlagFile[T any](flagName, path string, def func() T, load func(io.Reader) (T, error)) (T, error) {
	if path == "" {
		return def(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		var zero T
		return zero, usageErr("--%s: %v", flagName, err)
	}
	defer f.Close()
	v, err := load(f)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}
