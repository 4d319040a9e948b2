package ledger

import (
	"bytes"
	"context"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// EachSite calls fn for every stored exam of one site (assigning
// authority), through the l/k/ index of source records: a site's
// evaluation reads its own exams only, not the whole regional ledger. fn's
// error stops the walk.
func (l *Ledger) EachSite(ctx context.Context, authority string, fn func(*Entry) error) error {
	p := bytes.Clone(prefixKey)
	p = append(p, authority...)
	p = append(p, 0)
	err := l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			k := it.Item().Key()[len(p):]
			i := bytes.IndexByte(k, 0)
			if i < 0 {
				continue
			}
			e, err := getEntry(txn, string(k[i+1:]))
			if err != nil {
				return err
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("ledger: exams of site %s: %w", authority, err)
	}
	return nil
}
