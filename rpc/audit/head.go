package audit

import (
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// HeadIn returns the sequence and hash of the trail's last entry as txn
// sees it (0 and the genesis hash for an empty trail), read-only: the head
// a backup's manifest records, in the backup's snapshot.
func HeadIn(txn *badger.Txn) (uint64, []byte, error) {
	it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: []byte(logPrefix)})
	defer it.Close()
	it.Seek([]byte(logPrefix + "\xff"))
	if !it.Valid() {
		return 0, genesis, nil
	}
	var e Entry
	if err := it.Item().Value(func(v []byte) error { return decode(v, &e) }); err != nil {
		return 0, nil, fmt.Errorf("audit: read the head %s: %w", it.Item().Key(), err)
	}
	return e.Seq, e.Hash, nil
}
