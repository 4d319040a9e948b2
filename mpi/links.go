package mpi

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"

	"vigie"
)

// The links (which identity each source record belongs to) read straight
// from the store, for the bulk exports: without an open Index, whose
// opening rebuilds the in-memory mirror of every record (most of an
// export's time at a million records, and memory that grows with the
// store), and decoding of each record's state only its identity (a full
// decode allocates every trait). Both hold one record at a time, whatever
// the store's size.

// EachLink calls fn for every source record of the patient index kept in
// db with the identity it belongs to, in key order, from one consistent
// read of the store.
func EachLink(ctx context.Context, db *badger.DB, fn func(k vigie.SourceKey, id vigie.IdentityID) error) error {
	err := db.View(func(txn *badger.Txn) error { return eachLink(ctx, txn, fn) })
	if err != nil {
		return fmt.Errorf("mpi: links: %w", err)
	}
	return nil
}

// eachLink is EachLink within txn.
func eachLink(ctx context.Context, txn *badger.Txn, fn func(k vigie.SourceKey, id vigie.IdentityID) error) error {
	// Values are read in place: a bulk load leaves them in the tables,
	// where prefetching would only copy them; a service's store keeps them
	// in its value log, read through the mapped file.
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(pRecord)})
	defer it.Close()
	n := 0
	for it.Rewind(); it.Valid(); it.Next() {
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		item := it.Item()
		var id vigie.IdentityID
		if err := item.Value(func(v []byte) (err error) { id, err = recordIdentity(v); return err }); err != nil {
			return fmt.Errorf("record %q: %w", item.Key()[len(pRecord):], err)
		}
		if err := fn(parseSkey(string(item.Key()[len(pRecord):])), id); err != nil {
			return err
		}
	}
	return nil
}

// recordIdentity returns the identity of a stored record state (m/r/)
// without decoding the rest: in the compact encoding it follows the
// version, both varints (see encodeRecordState).
func recordIdentity(v []byte) (vigie.IdentityID, error) {
	if len(v) == 0 || v[0] != schemaBinary {
		var st recordState
		if err := decode(v, &st); err != nil {
			return 0, err
		}
		return st.Identity, nil
	}
	b := v[1:]
	if _, n := binary.Uvarint(b); n > 0 {
		if id, m := binary.Uvarint(b[n:]); m > 0 {
			return vigie.IdentityID(id), nil
		}
	}
	return 0, fmt.Errorf("mpi: decode record state: %w", errBinary)
}

// LinkReader looks records' identities up, one read of the store each,
// in one consistent view of it: what an export of other data (the dose
// ledger's exams) adds to its rows without holding every link in memory.
// It must be closed.
type LinkReader struct{ txn *badger.Txn }

// NewLinkReader opens a view of the links kept in db as they are now.
func NewLinkReader(db *badger.DB) *LinkReader { return &LinkReader{txn: db.NewTransaction(false)} }

// Identity returns the identity record k belongs to; found is false when
// the index has no such record.
func (r *LinkReader) Identity(k vigie.SourceKey) (id vigie.IdentityID, found bool, err error) {
	item, err := r.txn.Get(recordKey(k))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, false, nil
	}
	if err == nil {
		err = item.Value(func(v []byte) (err error) { id, err = recordIdentity(v); return err })
	}
	if err != nil {
		return 0, false, fmt.Errorf("mpi: identity of %s: %w", k, err)
	}
	return id, true, nil
}

// Close ends the view.
func (r *LinkReader) Close() { r.txn.Discard() }
