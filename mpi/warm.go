package mpi

import (
	"context"
	"encoding/binary"
	"fmt"
	"vigie/store"
)

// Warm fills the cache of normalised forms with the current versions of the
// stored records, until the cache is full, and returns how many it cached.
// A resolve scores the members of a few dozen candidate identities; each
// form the cache lacks is a read of the store, most of a served resolve's
// cost until the cache has filled by itself, which at a million records
// takes hours of traffic. A server calls it once after opening, while it
// already answers: a form a resolve caches meanwhile is only ever replaced
// by the same or a stale version, which the cache tells apart (a miss).
func (x *Index) Warm(ctx context.Context) (int, error) {
	n := 0
	err := x.view(func(txn *store.Txn) error {
		it := txn.NewIterator(store.IteratorOptions{Prefix: []byte(pNormal), PrefetchValues: true, PrefetchSize: 256})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			item := it.Item()
			key := item.Key()[len(pNormal):]
			if len(key) < 5 || key[len(key)-5] != 0 {
				continue // not a normalised form's key
			}
			version := binary.BigEndian.Uint32(key[len(key)-4:])
			x.memMu.RLock()
			ord, ok := x.keys.find(parseSkey(string(key[:len(key)-5])))
			current := ok && x.recVersion[ord] == version
			x.memMu.RUnlock()
			if !current {
				continue // an older version, or a record the mirror does not know yet
			}
			full := false
			err := item.Value(func(form []byte) error {
				full = !x.cache.fill(ord, int(version), form)
				return nil
			})
			if err != nil {
				return err
			}
			if full {
				return nil
			}
			n++
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("mpi: warm the cache of normalised forms: %w", err)
	}
	return n, nil
}
