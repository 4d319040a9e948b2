package ledger

import "vigie/store"

// CountIn returns the number of exams stored in txn (one l/x/ key each),
// reading keys only: the figure a backup's manifest records and a restore
// checks.
func CountIn(txn *store.Txn) int64 {
	it := txn.NewIterator(store.IteratorOptions{Prefix: prefixExam})
	defer it.Close()
	n := int64(0)
	for it.Rewind(); it.Valid(); it.Next() {
		n++
	}
	return n
}
