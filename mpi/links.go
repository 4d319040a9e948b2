package mpi

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"sync"

	"vigie/store"

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
func EachLink(ctx context.Context, db *store.DB, fn func(k vigie.SourceKey, id vigie.IdentityID) error) error {
	err := db.View(func(txn *store.Txn) error { return eachLink(ctx, txn, fn) })
	if err != nil {
		return fmt.Errorf("mpi: links: %w", err)
	}
	return nil
}

// eachLink is EachLink within txn. Values are read in place: a bulk load
// leaves them in the tables, where prefetching would only copy them; a
// service's store keeps them in its value log, read through the mapped
// file.
func eachLink(ctx context.Context, txn *store.Txn, fn func(k vigie.SourceKey, id vigie.IdentityID) error) error {
	return eachLinkIn(ctx, txn, nil, nil, fn)
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
type LinkReader struct{ txn *store.Txn }

// NewLinkReader opens a view of the links kept in db as they are now.
func NewLinkReader(db *store.DB) *LinkReader { return &LinkReader{txn: db.NewReadTxn()} }

// Identity returns the identity record k belongs to; found is false when
// the index has no such record.
func (r *LinkReader) Identity(k vigie.SourceKey) (id vigie.IdentityID, found bool, err error) {
	found, err = store.Read(r.txn, recordKey(k), func(v []byte) (err error) { id, err = recordIdentity(v); return err })
	if err != nil {
		return 0, false, fmt.Errorf("mpi: identity of %s: %w", k, err)
	}
	return id, found, nil
}

// Close ends the view.
func (r *LinkReader) Close() { r.txn.Discard() }

// WriteLinks writes a row for every source record of the patient index
// kept in db, formatted by row (which appends it to a buffer), to w in key
// order, from one consistent read of the store. The key space is cut at
// the boundaries of the store's tables and the parts are read and
// formatted by workers goroutines at once (reading and decompressing the
// tables is most of an export's work), while w receives them in order: at
// most 2 × workers parts are held at a time, a few hundred kilobytes
// each, whatever the store's size.
func WriteLinks(ctx context.Context, db *store.DB, workers int, row func(b []byte, k vigie.SourceKey, id vigie.IdentityID) []byte, w io.Writer) error {
	txn := db.NewReadTxn()
	defer txn.Discard()
	if err := writeLinkParts(ctx, txn, linkSplits(db), workers, row, w); err != nil {
		return fmt.Errorf("mpi: links: %w", err)
	}
	return nil
}

// writeLinkParts is WriteLinks within txn, its key space cut at splits.
func writeLinkParts(ctx context.Context, txn *store.Txn, splits [][]byte, workers int, row func(b []byte, k vigie.SourceKey, id vigie.IdentityID) []byte, w io.Writer) error {
	if workers < 2 || len(splits) == 0 {
		var b []byte
		err := eachLinkIn(ctx, txn, nil, nil, func(k vigie.SourceKey, id vigie.IdentityID) error {
			if b = row(b, k, id); len(b) >= 1<<16 {
				if _, err := w.Write(b); err != nil {
					return err
				}
				b = b[:0]
			}
			return nil
		})
		if err == nil {
			_, err = w.Write(b)
		}
		return err
	}
	// Part i runs from splits[i-1] (the prefix's start for the first) to
	// splits[i] (its end for the last).
	parts := len(splits) + 1
	type part struct {
		b   []byte
		err error
	}
	results := make([]chan part, parts)
	for i := range results {
		results[i] = make(chan part, 1)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ahead := make(chan struct{}, 2*workers) // parts read and not yet written
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				var start, end []byte
				if i > 0 {
					start = splits[i-1]
				}
				if i < len(splits) {
					end = splits[i]
				}
				var b []byte
				err := eachLinkIn(ctx, txn, start, end, func(k vigie.SourceKey, id vigie.IdentityID) error {
					b = row(b, k, id)
					return nil
				})
				results[i] <- part{b, err}
			}
		}()
	}
	go func() {
		defer close(next)
		for i := range parts {
			select {
			case ahead <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var err error
	for i := range parts {
		var p part
		select {
		case p = <-results[i]:
		case <-ctx.Done():
			p.err = ctx.Err()
		}
		if err = p.err; err == nil {
			_, err = w.Write(p.b)
		}
		if err != nil {
			break
		}
		<-ahead
	}
	cancel()
	wg.Wait()
	return err
}

// linkSplits returns keys that cut the records' key space (m/r/) into
// parts of about one table each, in increasing order.
func linkSplits(db *store.DB) [][]byte { return db.TableSplits([]byte(pRecord)) }

// eachLinkIn is eachLink over the keys from start (nil: the first) to
// before end (nil: to the last).
func eachLinkIn(ctx context.Context, txn *store.Txn, start, end []byte, fn func(k vigie.SourceKey, id vigie.IdentityID) error) error {
	it := txn.NewIterator(store.IteratorOptions{Prefix: []byte(pRecord)})
	defer it.Close()
	if start == nil {
		start = []byte(pRecord)
	}
	n := 0
	for it.Seek(start); it.Valid(); it.Next() {
		item := it.Item()
		if end != nil && bytes.Compare(item.Key(), end) >= 0 {
			return nil
		}
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
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
