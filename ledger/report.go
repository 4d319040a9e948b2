package ledger

import (
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
