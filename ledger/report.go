package ledger

import (
	"bytes"
	"context"
	"fmt"

	"vigie/store"

	"vigie"
)

// Dose reports still to send. Put writes, in the exam's own transaction,
// a second marker beside the alert one (l/r/, same key and value, see the
// package doc): the study of this source record has a new or changed dose
// summary that the subscribed systems (a RIS, a HIS) must receive. The
// HL7 outbox (package hl7) turns each marker into its messages and then
// clears it (Reported), so that an exam stored just before a crash, or
// while no sender runs (vigie ingest), is reported at the next start. As
// for alerts, the value is the commit time: a report built before a newer
// exam of the study was committed leaves that exam's marker in place.
//
// Only an exam that counts marks its study: a duplicate writes nothing, a
// header exam already covered by a dose SR (Excluded) and a conflict
// change no figure of the study's summary.

var prefixReport = []byte("l/r/")

func reportKey(k vigie.SourceKey, study string) []byte {
	return append(recordPrefix(prefixReport, k), study...)
}

func (l *Ledger) markReport(txn *store.Txn, x *Exam, out Outcome) error {
	if out.Result != Stored {
		return nil
	}
	v := l.mark()
	return txn.Set(reportKey(x.Key, StudyOf(x)), v)
}

// ReportsPending returns the studies whose dose summary changed and is not
// yet queued for the subscribed systems, in key order (source record, then
// study).
func (l *Ledger) ReportsPending(ctx context.Context) ([]PendingStudy, error) {
	out, err := l.marked(ctx, prefixReport)
	if err != nil {
		return nil, fmt.Errorf("ledger: dose reports to send: %w", err)
	}
	return out, nil
}

// Reported clears the marker p was read from, unless an exam of the same
// record and study was committed since (its marker then stays: the next
// report carries it).
func (l *Ledger) Reported(ctx context.Context, p PendingStudy) error {
	if err := l.unmark(ctx, reportKey(p.Key, p.Study), p.mark); err != nil {
		return fmt.Errorf("ledger: clear the dose report marker of %s: %w", p.Key, err)
	}
	return nil
}

// Study returns the stored exams of one source record's study (the study
// as StudyOf names it), oldest first, conflicts left out: the exams a dose
// summary is made of. Superseded header exams are returned too (for
// trace); Entry.Excluded says which.
func (l *Ledger) Study(ctx context.Context, k vigie.SourceKey, study string) ([]Entry, error) {
	es, err := l.Exams(ctx, []vigie.SourceKey{k})
	if err != nil {
		return nil, err
	}
	out := es[:0]
	for _, e := range es {
		if e.Conflict == "" && StudyOf(&e.Exam) == study {
			out = append(out, e)
		}
	}
	return out, nil
}

// ReportMarkedIn reports whether the study of record k still has a dose
// report marker in txn: its report waits for the next pass of the outbox,
// which sends it to every subscriber taking dose reports. A backfill
// leaves such a study to that pass, so that no subscriber gets it twice.
func ReportMarkedIn(txn *store.Txn, k vigie.SourceKey, study string) (bool, error) {
	return store.Has(txn, reportKey(k, study))
}

// ExamRows calls fn for the stored exam rows after the row key after (nil:
// from the first), of one site when site is not empty, in key order (site,
// date, SOP instance), until fn returns false. fn receives each row's key:
// a walk cut short resumes after the last key it was given (a backfill of
// dose reports keeps it). fn may keep the entry, not the key.
func (l *Ledger) ExamRows(ctx context.Context, site string, after []byte, fn func(key []byte, e *Entry) (bool, error)) error {
	if l.err != nil {
		return l.err
	}
	p := prefixRow
	if site != "" {
		p = sitePrefix(site)
	}
	err := l.db.View(func(txn *store.Txn) error {
		it := txn.NewIterator(store.IteratorOptions{Prefix: p})
		defer it.Close()
		start := p
		if len(after) > 0 {
			if !bytes.HasPrefix(after, p) {
				return fmt.Errorf("resume key %q is not an exam row of this walk", after)
			}
			start = after
		}
		for it.Seek(start); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			item := it.Item()
			if len(after) > 0 && bytes.Equal(item.Key(), after) {
				continue
			}
			var e *Entry
			if err := item.Value(func(v []byte) error {
				var err error
				e, err = decodeEntry(v)
				return err
			}); err != nil {
				return fmt.Errorf("decode %q: %w", item.Key(), err)
			}
			more, err := fn(item.Key(), e)
			if err != nil || !more {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("ledger: exam rows: %w", err)
	}
	return nil
}

// RowsAfter counts the exam rows after the row key after (nil: all), of
// one site when site is not empty: what a walk resumed there has left. It
// reads keys only.
func (l *Ledger) RowsAfter(ctx context.Context, site string, after []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	p := prefixRow
	if site != "" {
		p = sitePrefix(site)
	}
	n := 0
	err := l.db.View(func(txn *store.Txn) error {
		it := txn.NewIterator(store.IteratorOptions{Prefix: p})
		defer it.Close()
		start := p
		if len(after) > 0 && bytes.HasPrefix(after, p) {
			start = after
		}
		for it.Seek(start); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			if len(after) > 0 && bytes.Equal(it.Item().Key(), after) {
				continue
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("ledger: exam rows: %w", err)
	}
	return n, nil
}
