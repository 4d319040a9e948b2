package mpi

import (
	"context"
	"fmt"
	"slices"

	"vigie"
	"vigie/matcher"
	"vigie/store"
)

// pBlockingVersion holds the version of the blocking rules the stored
// records are filed under (matcher.BlockingVersion, one byte); a store
// without it was filed under version 1.
const pBlockingVersion = "m/bv"

// refileBlocks files every stored record again under the blocking keys of
// this build when the store's records were filed under other rules (see
// matcher.BlockingVersion): a key added to the rules would otherwise never
// find the records stored before it. Each record is prepared again from
// its stored traits; its membership and history are not touched. It runs
// at Open, in batches of 500 records, and marks the store once done, so
// that an interrupted pass starts again at the next Open.
func (x *Index) refileBlocks(ctx context.Context) (int, error) {
	var keys []vigie.SourceKey
	current := false
	err := x.view(func(txn *store.Txn) error {
		item, err := txn.Get([]byte(pBlockingVersion))
		switch {
		case err == nil:
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			if current = len(v) == 1 && int(v[0]) == matcher.BlockingVersion; current {
				return nil
			}
		case err != store.ErrNotFound:
			return err
		}
		it := txn.NewIterator(store.IteratorOptions{Prefix: []byte(pRecord)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, parseSkey(string(it.Item().Key()[len(pRecord):])))
		}
		return nil
	})
	if err != nil || current {
		return 0, err
	}
	refiled := 0
	for lo := 0; lo < len(keys); lo += 500 {
		part := keys[lo:min(lo+500, len(keys))]
		n := 0
		err := x.run(ctx, func(t *tx) error {
			n = 0
			for _, k := range part {
				st, err := t.record(k)
				if err != nil {
					return err
				}
				rec := st.Record
				p, err := matcher.Prepare(&rec)
				if err != nil {
					continue // stored before a rule refused it: keeps its keys
				}
				var blocks []string
				for _, b := range matcher.BlockingKeys(p) {
					blocks = append(blocks, blockString(b))
				}
				if slices.Equal(blocks, st.Blocks) {
					continue
				}
				t.setBlocks(k, st.Blocks, blocks)
				st.Blocks = blocks
				if err := t.put(recordKey(k), st); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return refiled, fmt.Errorf("mpi: file the records under blocking rules version %d: %w", matcher.BlockingVersion, err)
		}
		refiled += n
	}
	return refiled, x.file(ctx, func(t *tx) error { return t.Set([]byte(pBlockingVersion), []byte{matcher.BlockingVersion}) })
}
