package store

import (
	"context"
	"errors"

	badger "github.com/dgraph-io/badger/v4"
)

// Transactions.
//
// Every write goes through this file: Update, UpdateTrail, Retry,
// NewWriteTxn and NewBatch ask the store's disk guard first (see
// DiskGuard), and Retry is the one loop that runs a transaction again
// when its commit conflicts with a concurrent one.

// Update runs fn in a read-write transaction of db, once db's guard allows
// a write (WriteData).
func Update(db *DB, fn func(txn *Txn) error) error {
	if err := Guard(db).Allow(WriteData); err != nil {
		return err
	}
	return db.b.Update(fn)
}

// UpdateTrail is Update for an audit trail's entries (WriteTrail): they
// may use the reserve down to its floor.
func UpdateTrail(db *DB, fn func(txn *Txn) error) error {
	if err := Guard(db).Allow(WriteTrail); err != nil {
		return err
	}
	return db.b.Update(fn)
}

// UpdateRetry is Update run again, in a new transaction, while its commit
// conflicts with a concurrent transaction's (see Retry): for a
// read-modify-write, which then reads what the other committed. fn must
// start from what it reads in txn, not from what an earlier attempt left.
func UpdateRetry(ctx context.Context, db *DB, fn func(txn *Txn) error) error {
	return Retry(ctx, MaxAttempts, func() error { return Update(db, fn) })
}

// MaxAttempts is how many times UpdateRetry tries a transaction whose
// commits keep conflicting.
const MaxAttempts = 20

// Retry calls attempt, which runs and commits one transaction, again while
// it fails with badger.ErrConflict or one of also (a caller's own "read
// something stale" error), at most attempts times in all. It stops early
// when ctx ends, with ctx's error. The last attempt's error is returned.
func Retry(ctx context.Context, attempts int, attempt func() error, also ...error) error {
	var err error
	for range max(attempts, 1) {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if err = attempt(); !retryable(err, also) {
			return err
		}
	}
	return err
}

func retryable(err error, also []error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, badger.ErrConflict) {
		return true
	}
	for _, a := range also {
		if errors.Is(err, a) {
			return true
		}
	}
	return false
}

// NewWriteTxn returns a read-write transaction of db once db's guard
// allows a write (WriteData): for the writers that commit themselves.
func NewWriteTxn(db *DB) (*Txn, error) {
	if err := Guard(db).Allow(WriteData); err != nil {
		return nil, err
	}
	return db.b.NewTransaction(true), nil
}

// NewBatch returns a Badger write batch of db once db's guard allows
// a write of class: for derived keys written in bulk, outside any caller's
// transaction (Badger splits the batch into transactions as they fill and
// commits them in order; Flush waits for them). Cancel it when done.
func NewBatch(db *DB, class WriteClass) (*badger.WriteBatch, error) {
	if err := Guard(db).Allow(class); err != nil {
		return nil, err
	}
	return db.b.NewWriteBatch(), nil
}
