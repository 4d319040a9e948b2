package main

import (
	badger "github.com/dgraph-io/badger/v4"

	"vigie/matcher"
	"vigie/mpi"
	"vigie/store"
)

// openIndex opens a data folder's store and its patient index with the
// shipped model, for the verbs that read or feed identities. close closes
// both, the index first.
func openIndex(data string, opts store.Options) (db *badger.DB, ix *mpi.Index, close func(), err error) {
	if data == "" {
		return nil, nil, nil, usageErr("--data DIR is required")
	}
	db, err = store.Open(data, opts)
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
