package ledger

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"vigie"

	"vigie/store"
)

// Exams still to evaluate for alerts. Put writes, in the exam's own
// transaction, a marker naming the exam's source record and study
// (l/q/, see the package doc); the alert evaluation clears it once the
// study's alerts are stored (Evaluated). An exam acknowledged just
// before the server stopped is therefore never forgotten: the next start
// evaluates the markers left (Pending). The marker's value is the commit
// time, so that an evaluation that started before a newer exam of the
// same study was committed does not clear that exam's marker.

var prefixPending = []byte("l/q/")

// PendingStudy is one source record's study whose exams are still to be
// evaluated. Study is the study UID, or "sop:" and the SOP instance for an
// exam without one.
type PendingStudy struct {
	Key   vigie.SourceKey
	Study string
	mark  []byte
}

// Marked is when the marker was last written (the commit of the study's
// latest exam), and false when unreadable.
func (p PendingStudy) Marked() (time.Time, bool) {
	if len(p.mark) != 8 {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(p.mark))), true
}

// Mark is the marker's value: it changes with every exam of the study
// committed, and tells one version of the study's report from the next.
func (p PendingStudy) Mark() []byte { return bytes.Clone(p.mark) }

// StudyOf is the study an exam is evaluated under: its study UID, or
// "sop:" and its SOP instance when it has none.
func StudyOf(x *Exam) string {
	if x.StudyUID != "" {
		return x.StudyUID
	}
	return "sop:" + x.SOPInstanceUID
}

func pendingKey(k vigie.SourceKey, study string) []byte {
	return append(recordPrefix(prefixPending, k), study...)
}

func (l *Ledger) markPending(txn *store.Txn, x *Exam) error {
	return txn.Set(pendingKey(x.Key, StudyOf(x)), l.mark())
}

// mark is the value of a marker written now: the time in nanoseconds,
// never equal to an earlier one of this process, so that two exams of a
// study committed within the same clock tick leave different marks.
func (l *Ledger) mark() []byte {
	t := l.now().UnixNano()
	for {
		last := l.lastMark.Load()
		if t <= last {
			t = last + 1
		}
		if l.lastMark.CompareAndSwap(last, t) {
			return binary.BigEndian.AppendUint64(nil, uint64(t))
		}
	}
}

// Pending returns the studies whose exams were stored and not yet
// evaluated, in key order.
func (l *Ledger) Pending(ctx context.Context) ([]PendingStudy, error) {
	out, err := l.marked(ctx, prefixPending)
	if err != nil {
		return nil, fmt.Errorf("ledger: exams to evaluate: %w", err)
	}
	return out, nil
}

// marked returns the markers under prefix (l/q/ or l/r/), in key order.
func (l *Ledger) marked(ctx context.Context, prefix []byte) ([]PendingStudy, error) {
	if l.err != nil {
		return nil, l.err
	}
	prefixPending := prefix
	var out []PendingStudy
	err := l.db.View(func(txn *store.Txn) error {
		it := txn.NewIterator(store.IteratorOptions{Prefix: prefixPending})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			rest := it.Item().Key()[len(prefixPending):]
			auth, rest, ok1 := bytes.Cut(rest, []byte{0})
			local, study, ok2 := bytes.Cut(rest, []byte{0})
			if !ok1 || !ok2 {
				return fmt.Errorf("corrupt marker %q", it.Item().Key())
			}
			mark, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out = append(out, PendingStudy{Key: vigie.SourceKey{Authority: string(auth), LocalID: string(local)}, Study: string(study), mark: mark})
		}
		return nil
	})
	return out, err
}

// PendingOf returns the marker of one record's study, and false when
// nothing is left to evaluate there.
func (l *Ledger) PendingOf(ctx context.Context, k vigie.SourceKey, study string) (PendingStudy, bool, error) {
	if l.err != nil {
		return PendingStudy{}, false, l.err
	}
	p := PendingStudy{Key: k, Study: study}
	var found bool
	err := l.db.View(func(txn *store.Txn) (err error) {
		p.mark, found, err = store.Get(txn, pendingKey(k, study))
		return err
	})
	if err != nil {
		return p, false, fmt.Errorf("ledger: exams to evaluate of %s: %w", k, err)
	}
	return p, found, nil
}

// Evaluated clears the marker p was read from, unless an exam of the same
// record and study was committed since (its marker then stays, for its
// own evaluation).
func (l *Ledger) Evaluated(ctx context.Context, p PendingStudy) error {
	if err := l.unmark(ctx, pendingKey(p.Key, p.Study), p.mark); err != nil {
		return fmt.Errorf("ledger: clear the evaluation marker of %s: %w", p.Key, err)
	}
	return nil
}

// unmark deletes the marker at k if it still holds mark.
func (l *Ledger) unmark(ctx context.Context, k, mark []byte) error {
	if l.err != nil {
		return l.err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	clear := func(txn *store.Txn) error {
		cur, found, err := store.Get(txn, k)
		if err != nil || !found || !bytes.Equal(cur, mark) {
			return err
		}
		return txn.Delete(k)
	}
	// A Put of the same study may commit meanwhile: the marker is read again.
	return store.UpdateRetry(ctx, l.db, clear)
}
