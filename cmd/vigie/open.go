package main

import (
	"os"

	badger "github.com/dgraph-io/badger/v4"

	"vigie/matcher"
	"vigie/mpi"
	"vigie/store"
)

// openIndex opens a data folder's store (durable writes) and its patient
// index with the shipped model, for the verbs that read or feed
// identities. Only a verb that stores (create) may start a new folder: a
// reader given a mistyped folder is told so instead of reading an empty
// store it just made. close closes both, the index first.
func openIndex(data string, create bool) (db *badger.DB, ix *mpi.Index, close func(), err error) {
	if data == "" {
		return nil, nil, nil, usageErr("--data DIR is required")
	}
	if !create {
		if _, err := os.Stat(data); err != nil {
			return nil, nil, nil, usageErr("--data: %v", err)
		}
	}
	db, err = store.Open(data, store.Options{})
	if err != nil {
		return nil, nil, nil, err
	}
	ix, err = mpi.Open(db, matcher.DefaultModel(), mpi.Options{})
	if err != nil {
		db.Close()
		return nil, nil, nil, err
	}
	return db, ix, func() { ix.Close(); db.Close() }, nil
}
