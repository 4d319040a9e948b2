package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"syscall"

	"vigie/mpi"
	"vigie/store"
)

// defaultData is the store folder of every verb when --data is not given:
// the one `vigie serve` uses, so that the verbs run beside a server's
// store need no flag, and --data means the same folder everywhere.
const defaultData = "./vigie-data"

// dataFlag registers --data, the folder of the Vigie store, as every verb
// that works on the store has it (see dataUsage).
func dataFlag(fs *flag.FlagSet, note string) *string {
	return fs.String("data", defaultData, dataUsage(note))
}

// dataUsage is the help of --data: the same words for every verb, and
// what is particular to the verb (note: "created if missing", "no server
// may hold it"; "": it must exist).
func dataUsage(note string) string {
	if note == "" {
		note = "must exist"
	}
	return "folder of the Vigie store, the same for every verb and vigie serve (" + note + ")"
}

// openIndex opens a data folder's store (durable writes) and its patient
// index with the store's current model (see mpi.Open), for the verbs that read or feed
// identities. Only a verb that stores (create) may start a new folder: a
// reader given a mistyped folder is told so instead of reading an empty
// store it just made. reserve is the store's disk reserve (0: its
// default; see store.DiskGuard). close closes both, the index first.
func openIndex(data string, create bool, reserve int64) (db *store.DB, ix *mpi.Index, close func(), err error) {
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
// --encryption-key-file flag set o.EncryptionKey from it), and a store
// another process holds is said in words (errStoreInUse) instead of
// Badger's message about its directory lock.
func openStore(data string, o store.Options) (*store.DB, error) {
	if o.EncryptionKey == nil && !o.InMemory {
		key, err := storeKey("", data)
		if err != nil {
			return nil, err
		}
		o.EncryptionKey = key
	}
	db, err := store.Open(data, o)
	if err != nil && !o.InMemory && lockedByOther(data) {
		return nil, storeInUseError{data}
	}
	return db, err
}

// storeInUseError is the error of a verb given a store another process
// holds: Badger lets one process open a store at a time.
type storeInUseError struct{ data string }

func (e storeInUseError) Error() string {
	return "the store in " + e.data + " is used by another vigie process (a running vigie serve, or another verb): stop it first"
}

// storeInUse reports whether err says the store is held by another process.
func storeInUse(err error) bool {
	var e storeInUseError
	return errors.As(err, &e)
}

// lockedByOther reports whether the directory lock Badger takes on the
// store's folder (an flock of the folder itself, held while a process has
// the store open) is held: by another process, or by another open of the
// store in this one. It is asked after an open failed, to tell that
// failure from the others.
func lockedByOther(data string) bool {
	f, err := os.Open(data)
	if err != nil {
		return false
	}
	defer f.Close() // closing the folder releases a lock taken here
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	return errors.Is(err, syscall.EWOULDBLOCK)
}

// openOffline opens the existing store in data for a maintenance verb that
// must hold it alone, the server stopped (verify, retention): --data is
// required and must exist (a mistyped folder must not become a new empty
// store), the key comes from keyFile or the environment as storeKey reads
// it, and a store locked by a running server says what to do.
func openOffline(data, keyFile string) (*store.DB, error) {
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
		if storeInUse(err) {
			return nil, err
		}
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
