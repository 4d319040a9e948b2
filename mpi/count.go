package mpi

import "vigie/store"

// CountIn returns the number of source records and of identities (live
// and retired) in txn, reading keys only: the figures a backup's manifest
// records and a restore checks.
func CountIn(txn *store.Txn) (records, identities int64) {
	return countKeys(txn, pRecord), countKeys(txn, pIdentity)
}

func countKeys(txn *store.Txn, prefix string) int64 {
	it := txn.NewIterator(store.IteratorOptions{Prefix: []byte(prefix)})
	defer it.Close()
	n := int64(0)
	for it.Rewind(); it.Valid(); it.Next() {
		n++
	}
	return n
}
