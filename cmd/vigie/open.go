package main

import (
	"flag"
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
	db, err = openStore(data, store.Options{DiskReserve: reserve})
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

// encryptionKeyFlag registers --encryption-key-file: the store's master
// key (see store.LoadKey), else the file named by $VIGIE_ENCRYPTION_KEY_FILE.
func encryptionKeyFlag(fs *flag.FlagSet) *string {
	return fs.String("encryption-key-file", "", "file holding the store's encryption key (16, 24 or 32 bytes, raw, hex or base64; outside the data folder); default: $"+store.KeyEnv)
}

// storeKey returns the master key of the store in data: from the file
// named by the flag's value, else by $VIGIE_ENCRYPTION_KEY_FILE, else nil
// (a store in clear).
func storeKey(flagValue, data string) ([]byte, error) {
	path := flagValue
	if path == "" {
		path = os.Getenv(store.KeyEnv)
	}
	if path == "" {
		return nil, nil
	}
	return store.LoadKey("encryption-key-file", path, data)
}

// openStore opens the store in data as store.Open does; every verb opens
// its store through it, so that an encrypted store opens with the key of
// $VIGIE_ENCRYPTION_KEY_FILE when o carries none (the verbs with an
// --encryption-key-file flag set o.EncryptionKey from it).
func openStore(data string, o store.Options) (*badger.DB, error) {
	if o.EncryptionKey == nil && !o.InMemory {
		key, err := storeKey("", data)
		if err != nil {
			return nil, err
		}
		o.EncryptionKey = key
	}
	return store.Open(data, o)
}

// openOffline opens the existing store in data for a maintenance verb that
// must hold it alone, the server stopped (verify, retention): --data is
// required and must exist (a mistyped folder must not become a new empty
// store), the key comes from keyFile or the environment as storeKey reads
// it, and a store locked by a running server says what to do.
func openOffline(data, keyFile string) (*badger.DB, error) {
	if data == "" {
		return nil, usageErr("--data DIR is required")
	}
	if _, err := os.Stat(data); err != nil {
		return nil, usageErr("--data: %v", err)
	}
	key, err := storeKey(keyFile, data)
	if err != nil {
		return nil, err
	}
	db, err := openStore(data, store.Options{EncryptionKey: key})
	if err != nil {
		return nil, fmt.Errorf("%w (is vigie serve running on this store? stop it first)", err)
	}
	return db, nil
}

// createOutput is where a verb with an --out flag writes: the file at
// path, created (or truncated), or stdout when path is "". closeOut closes
// the file (nil for stdout); the verb defers it for its error paths and
// calls it once more at the end, so that a failed final write (a full
// disk) is reported instead of lost in the deferred close.
func createOutput(path string, stdout io.Writer) (w io.Writer, closeOut func() error, err error) {
	if path == "" {
		return stdout, func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	return f, f.Close, nil
}
