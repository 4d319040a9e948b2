package store

import (
	"bytes"
	"slices"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/y"
)

// The vocabulary of the one door to storage.
//
// Only this package imports Badger (architecture_test.go checks it): the
// other packages name the store, its transactions, their items and
// iterators, and the errors a transaction returns, through the names
// below. A transaction's API is Badger's own (Get, Set, Delete,
// NewIterator, …): these are aliases, not copies, so nothing changes in
// what a transaction does or costs.
type (
	// Txn is a transaction of a DB: View and Update hand one to their
	// function, NewWriteTxn returns one to commit or discard.
	Txn = badger.Txn
	// Item is a key and its value as a transaction or an iterator reads it.
	Item = badger.Item
	// Iterator walks a transaction's keys in order (Txn.NewIterator).
	Iterator = badger.Iterator
	// IteratorOptions tell an Iterator which keys it walks (Prefix),
	// in which direction (Reverse) and whether it fetches their values.
	IteratorOptions = badger.IteratorOptions
	// WriteBatch writes many keys outside any transaction (see NewBatch).
	WriteBatch = badger.WriteBatch
)

// DB is the store a process keeps open (see Open): Badger, with the disk
// guard Open attached to it. It reads (View, NewReadTxn); it writes only
// through the helpers of txn.go (Update, UpdateTrail, UpdateRetry,
// NewWriteTxn, NewBatch), which ask the guard first, so that no package can
// write past the disk reserve by forgetting to (see DiskGuard).
type DB struct {
	b     *badger.DB
	guard *DiskGuard // nil: every write allowed (see Guard)
}

// View runs fn in a read-only transaction of db.
func (db *DB) View(fn func(txn *Txn) error) error { return db.b.View(fn) }

// NewReadTxn returns a read-only transaction of db, for a reader that
// keeps one open across calls; Discard it when done.
func (db *DB) NewReadTxn() *Txn { return db.b.NewTransaction(false) }

// DropPrefix deletes every key under the prefixes, rewriting the tables
// that hold them: ask the guard first (Guard(db).Allow), as this package's
// TestWritesGoThroughTheGuard checks.
func (db *DB) DropPrefix(prefixes ...[]byte) error { return db.b.DropPrefix(prefixes...) }

// Flatten compacts db's tables into one level with workers at once,
// rewriting them: ask the guard first, as for DropPrefix.
func (db *DB) Flatten(workers int) error { return db.b.Flatten(workers) }

// Sync makes every commit so far durable (a store opened Deferred or
// NoSync); a service shares syncs through a Syncer.
func (db *DB) Sync() error { return db.b.Sync() }

// Dir is the folder db was opened in ("" for a store in memory).
func (db *DB) Dir() string {
	if db.InMemory() {
		return ""
	}
	return db.b.Opts().Dir
}

// InMemory reports whether db keeps everything in memory (Options.InMemory).
func (db *DB) InMemory() bool { return db.b.Opts().InMemory }

// Encrypted reports whether db is encrypted at rest
// (Options.EncryptionKey).
func (db *DB) Encrypted() bool { return len(db.b.Opts().EncryptionKey) > 0 }

// ReadOnly reports whether db refuses every write (opened read-only).
func (db *DB) ReadOnly() bool { return db.b.Opts().ReadOnly }

// MemTableSize is the size of db's memtables: Badger refuses a transaction
// larger than 15 % of it (ErrTxnTooBig).
func (db *DB) MemTableSize() int64 { return db.b.Opts().MemTableSize }

// TableSplits returns keys that cut the key space under prefix into parts
// of about one table each, in increasing order and without repeats: the
// last keys of the store's tables that fall under prefix. A bulk reader
// hands the parts to several workers (see mpi.WriteLinks).
func (db *DB) TableSplits(prefix []byte) [][]byte {
	var splits [][]byte
	for _, t := range db.b.Tables() {
		if k := y.ParseKey(t.Right); bytes.HasPrefix(k, prefix) {
			splits = append(splits, k)
		}
	}
	slices.SortFunc(splits, bytes.Compare)
	return slices.CompactFunc(splits, bytes.Equal)
}

// Close closes db: every transaction must be done.
func (db *DB) Close() error { return db.b.Close() }

// Errors a transaction returns, compared with errors.Is.
var (
	// ErrNotFound is Txn.Get's answer for a key that is not there.
	ErrNotFound = badger.ErrKeyNotFound
	// ErrConflict is a commit's answer when a concurrent transaction
	// changed what this one read (Retry runs it again).
	ErrConflict = badger.ErrConflict
	// ErrTxnTooBig is a write's answer when the transaction holds as much
	// as one can: commit it and go on in a new one.
	ErrTxnTooBig = badger.ErrTxnTooBig
)

// DefaultIteratorOptions walk every key forward, fetching values ahead.
var DefaultIteratorOptions = badger.DefaultIteratorOptions
