package ledger

import (
	"bytes"
	"errors"
	"time"

	"vigie/store"

	"vigie"
)

// RecordExams is what the retention rule reads of a source record's exams.
type RecordExams struct {
	N    int       // exams stored
	Last time.Time // date of the latest
}

// LastExams returns, for every source record with exams in txn, how many
// it has and the date of its latest (the stored time for an exam without
// a date). It reads the records' lists of exams (l/k/), keys and dates
// only, except for the rare exam without a date.
func LastExams(txn *store.Txn) (map[vigie.SourceKey]RecordExams, error) {
	out := map[vigie.SourceKey]RecordExams{}
	it := txn.NewIterator(store.IteratorOptions{Prefix: prefixKey, PrefetchValues: true, PrefetchSize: 256})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		parts := bytes.SplitN(it.Item().Key()[len(prefixKey):], []byte{0}, 3)
		if len(parts) != 3 {
			continue
		}
		k := vigie.SourceKey{Authority: string(parts[0]), LocalID: string(parts[1])}
		date, err := it.Item().ValueCopy(nil)
		if err != nil {
			return nil, err
		}
		t, err := examDay(txn, string(date), string(parts[2]))
		if err != nil {
			return nil, err
		}
		r := out[k]
		r.N++
		if t.After(r.Last) {
			r.Last = t
		}
		out[k] = r
	}
	return out, nil
}

// LastExamIn returns the date of the latest exam of k in txn (zero when
// it has none).
func LastExamIn(txn *store.Txn, k vigie.SourceKey) (time.Time, error) {
	p := sourcePrefix(k)
	it := txn.NewIterator(store.IteratorOptions{Prefix: p, PrefetchValues: true})
	defer it.Close()
	var last time.Time
	for it.Rewind(); it.Valid(); it.Next() {
		date, err := it.Item().ValueCopy(nil)
		if err != nil {
			return time.Time{}, err
		}
		t, err := examDay(txn, string(date), string(it.Item().Key()[len(p):]))
		if err != nil {
			return time.Time{}, err
		}
		if t.After(last) {
			last = t
		}
	}
	return last, nil
}

// examDay is an exam's date, or when it has none (or an unreadable one)
// the time it was stored.
func examDay(txn *store.Txn, date, row string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", date); err == nil {
		return t, nil
	}
	e, err := getEntry(txn, row)
	if errors.Is(err, store.ErrNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return e.StoredAt, nil
}

// PurgeRecordIn removes every exam of source record k from the ledger in
// txn, with its indexes: the row, where it is (l/x/), the record's list
// (l/k/), the irradiation events counted for it (l/f/), the record's
// supersession index (l/t/), its studies still to evaluate for alerts
// (l/q/) and its place among the records of its studies (l/u/). It is the end of the legal retention of the
// patient's data (package retention), the only removal the ledger knows:
// an exam of another record is untouched (supersession never crosses
// records, see the package doc). It returns the number of exams removed.
func PurgeRecordIn(txn *store.Txn, k vigie.SourceKey) (int, error) {
	p := sourcePrefix(k)
	var rows []string
	it := txn.NewIterator(store.IteratorOptions{Prefix: p})
	for it.Rewind(); it.Valid(); it.Next() {
		rows = append(rows, string(it.Item().Key()[len(p):]))
	}
	it.Close()
	studies := map[string]bool{}
	for _, row := range rows {
		e, err := getEntry(txn, row)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return 0, err
		}
		if e != nil {
			x := &e.Exam
			if x.StudyUID != "" {
				studies[x.StudyUID] = true
			}
			if err := txn.Delete(rowKey(x.Key.Authority, x.Date, row)); err != nil {
				return 0, err
			}
		}
		if err := txn.Delete(examKey(row)); err != nil {
			return 0, err
		}
		if err := txn.Delete(append(bytes.Clone(p), row...)); err != nil {
			return 0, err
		}
	}
	for study := range studies {
		if err := txn.Delete(sharedKey(study, k)); err != nil {
			return 0, err
		}
	}
	// The record's own indexes, each keyed by the record first: its
	// supersession index (l/t/), the irradiation events counted for it
	// (l/f/), its studies still to evaluate for alerts (l/q/) and to report
	// (l/r/).
	var keys [][]byte
	for _, prefix := range [][]byte{prefixStudy, prefixEvent, prefixPending, prefixReport} {
		it = txn.NewIterator(store.IteratorOptions{Prefix: recordPrefix(prefix, k)})
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		it.Close()
	}
	for _, key := range keys {
		if err := txn.Delete(key); err != nil {
			return 0, err
		}
	}
	return len(rows), nil
}
