package store

import (
	badger "github.com/dgraph-io/badger/v4"
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
	// DB is the store a process keeps open (see Open).
	DB = badger.DB
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
