package hl7

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"vigie"
	"vigie/dosimetry"
	"vigie/ledger"
	"vigie/mpi"
	"vigie/store"
)

// The dose queue. The ledger marks, in each exam's own transaction, the
// study whose figures changed (ledger.Ledger.ReportsPending). EnqueueDose
// turns each marker into one ORU^R01 per subscriber that takes dose
// reports, stored in the subscriber's dose queue with the exam's report
// version in one transaction, and then clears the marker. A crash between
// the two leaves the marker: the next pass finds the version already
// queued for that very mark (h/dver/) and only clears it, so that no
// report is queued twice. The dose queue is sent after the identity
// notifications of each pass, in the order it was queued: the reports of
// one exam go in order, a refused one holding back the exam's later ones.

var (
	dosePrefix = []byte("h/dose/")
	dseqPrefix = []byte("h/dseq/")
	dverPrefix = []byte("h/dver/")
)

func doseQueuePrefix(name string) []byte {
	return append(append(bytes.Clone(dosePrefix), name...), 0)
}
func doseKey(name string, rank uint64) []byte {
	return binary.BigEndian.AppendUint64(doseQueuePrefix(name), rank)
}
func doseSeqKey(name string) []byte { return append(bytes.Clone(dseqPrefix), name...) }

// studyName names an exam in Pending.Study and the version keys.
func studyName(k vigie.SourceKey, study string) string {
	return k.Authority + "\x00" + k.LocalID + "\x00" + study
}

// doseVersionKey is where an exam's last report version is kept: under a
// hash of its record and study, so that no patient identifier outlives
// the record's retention purge in this key.
func doseVersionKey(k vigie.SourceKey, study string) []byte {
	h := sha256.Sum256([]byte(studyName(k, study)))
	return append(bytes.Clone(dverPrefix), h[:16]...)
}

// reportVersion is an exam's last report queued: the marker it answered,
// and how many reports of the exam each subscription was queued (by
// sentKey). Each subscriber's first report of an exam is final (F), its
// next ones correct it (C), whenever it subscribed; a subscriber removed
// and added again is a new subscription. Version counted the reports of
// every subscriber together before Sent existed: such an exam's count
// stands for each subscriber of that time that takes dose reports.
type reportVersion struct {
	Mark    []byte         `json:"mark"`
	Version int            `json:"version"`
	Sent    map[string]int `json:"sent,omitempty"`
}

// sentKey names a subscription in reportVersion.Sent: the subscriber's
// name and when it was added.
func sentKey(s Subscriber) string {
	return s.Name + " " + s.Added.UTC().Format(time.RFC3339Nano)
}

// DoseControlID is the MSH-10 of the dose report of rank n in a
// subscriber's dose queue: the same at every attempt.
func DoseControlID(n uint64) string { return fmt.Sprintf("VD%d", n) }

// EnqueueDose queues the dose reports of the studies the ledger marked
// (see the dose queue above) and returns how many messages it queued. A
// study whose last exam was stored less than Settle ago waits for the
// next pass. A subscriber's first report of an exam is final (F), its
// next ones correct it (C): a dose SR arriving after the image headers of
// the same study, a continued report adding events. A subscriber added
// after an exam was reported to others gets F for its first report of it.
func (o *Outbox) EnqueueDose(ctx context.Context) (int, error) {
	if o.Ledger == nil {
		return 0, nil
	}
	marks, err := o.Ledger.ReportsPending(ctx)
	if err != nil || len(marks) == 0 {
		return 0, err
	}
	subs, err := o.Subscribers(ctx)
	if err != nil {
		return 0, err
	}
	var dose []Subscriber
	for _, s := range subs {
		if s.Dose {
			dose = append(dose, s)
		}
	}
	if len(dose) == 0 {
		// Nobody takes dose reports: the markers go (a subscriber added
		// later receives the exams changed from then on).
		for _, m := range marks {
			if err := o.Ledger.Reported(ctx, m); err != nil {
				return 0, err
			}
		}
		return 0, nil
	}
	queued := 0
	now := o.now()
	for _, m := range marks {
		if err := ctx.Err(); err != nil {
			return queued, err
		}
		if t, ok := m.Marked(); ok && o.Settle > 0 && now.Sub(t) < o.Settle {
			continue
		}
		n, err := o.enqueueReport(ctx, m, dose)
		queued += n
		if err != nil {
			return queued, fmt.Errorf("hl7: dose report of %s: %w", m.Key, err)
		}
	}
	return queued, nil
}

// examReport is what one exam's report is built from: its dose summary
// (ok false: nothing to report) and its patient as the index has it.
type examReport struct {
	key    vigie.SourceKey
	study  string
	sum    *dosimetry.Summary
	ok     bool
	snap   *mpi.Snapshot
	hidden bool
}

// prepareReport reads one exam (a source record's study) and its patient.
func (o *Outbox) prepareReport(ctx context.Context, k vigie.SourceKey, study string) (examReport, error) {
	r := examReport{key: k, study: study}
	es, err := o.Ledger.Study(ctx, k, study)
	if err != nil {
		return r, err
	}
	opts := dosimetry.SummaryOptions{Coefficients: o.Coefficients, Types: o.ExamTypes}
	if o.Pregnancies != nil {
		opts.Pregnant = o.Pregnancies.Pregnant(ctx)
	}
	if r.sum, r.ok, err = dosimetry.SummarizeWith(es, opts); err != nil || !r.ok || o.Index == nil {
		return r, err
	}
	id, err := o.Index.IdentityOf(ctx, k.Authority, k.LocalID)
	switch {
	case err == nil:
		sn, live, err := o.Index.Snapshot(ctx, id)
		if err != nil {
			return r, err
		}
		if live {
			r.snap = &sn
			r.hidden = vigie.Hidden(sn.Attributes)
		}
	case vigie.ErrorCode(err) == vigie.ENOTFOUND:
	default:
		return r, err
	}
	return r, nil
}

// withheld reports whether s must not receive r: a hidden identity's
// report goes back to the exam's own site only, with its identifiers and
// no traits.
func (r *examReport) withheld(s Subscriber) bool {
	return r.hidden && s.Authority != r.key.Authority
}

// queueReport stores r's report in s's dose queue within txn, counting it
// in v, the exam's report version.
func (o *Outbox) queueReport(txn *store.Txn, r *examReport, s Subscriber, v *reportVersion, now time.Time) error {
	rank, err := nextDoseRank(txn, s.Name)
	if err != nil {
		return err
	}
	v.Sent[sentKey(s)]++
	version := v.Sent[sentKey(s)]
	p := Pending{Event: rank, Kind: KindDoseReport, ControlID: DoseControlID(rank), Queue: QueueDose,
		Study: studyName(r.key, r.study), Version: version, Records: []vigie.SourceKey{r.key}, Queued: now}
	if r.snap != nil {
		p.Identities = []vigie.IdentityID{r.snap.ID}
	}
	p.Message = BuildDoseReport(DoseReport{Summary: r.sum, Identity: r.snap, TraitsHidden: r.hidden, Corrected: version > 1}, s, p.ControlID, now)
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return txn.Set(doseKey(s.Name, rank), b)
}

// readVersion reads an exam's report version in txn. A version written
// before the per-subscriber counts stands for each of subs.
func readVersion(txn *store.Txn, k vigie.SourceKey, study string, subs []Subscriber) (reportVersion, error) {
	var v reportVersion
	if _, err := store.Read(txn, doseVersionKey(k, study), func(b []byte) error { return json.Unmarshal(b, &v) }); err != nil {
		return v, err
	}
	if v.Sent == nil {
		v.Sent = map[string]int{}
		if v.Version > 0 {
			for _, s := range subs {
				v.Sent[sentKey(s)] = v.Version
			}
		}
	}
	return v, nil
}

func writeVersion(txn *store.Txn, k vigie.SourceKey, study string, v reportVersion) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return txn.Set(doseVersionKey(k, study), b)
}

// enqueueReport queues one study's report for the dose subscribers and
// clears its marker.
func (o *Outbox) enqueueReport(ctx context.Context, m ledger.PendingStudy, subs []Subscriber) (int, error) {
	r, err := o.prepareReport(ctx, m.Key, m.Study)
	if err != nil {
		return 0, err
	}
	queued := 0
	now := o.now().UTC()
	err = store.Update(o.DB, func(txn *store.Txn) error {
		queued = 0
		v, err := readVersion(txn, m.Key, m.Study, subs)
		if err != nil {
			return err
		}
		if bytes.Equal(v.Mark, m.Mark()) {
			return nil // queued before a crash: only the marker is left to clear
		}
		v.Mark = m.Mark()
		if r.ok {
			v.Version++
			for _, s := range subs {
				if r.withheld(s) {
					continue
				}
				if err := o.queueReport(txn, &r, s, &v, now); err != nil {
					return err
				}
				queued++
			}
		}
		return writeVersion(txn, m.Key, m.Study, v)
	})
	if err != nil {
		return 0, err
	}
	if err := o.Ledger.Reported(ctx, m); err != nil {
		return queued, err
	}
	if o.Log != nil && queued > 0 {
		o.Log.Info("hl7 outbox: dose report queued", "authority", m.Key.Authority, "subscribers", queued)
	}
	return queued, nil
}

// nextDoseRank takes the next rank of a subscriber's dose queue.
func nextDoseRank(txn *store.Txn, name string) (uint64, error) {
	k := doseSeqKey(name)
	var n uint64
	if _, err := store.Read(txn, k, func(b []byte) error {
		if len(b) != 8 {
			return fmt.Errorf("dose rank of %s: %d bytes", name, len(b))
		}
		n = binary.BigEndian.Uint64(b)
		return nil
	}); err != nil {
		return 0, err
	}
	n++
	return n, txn.Set(k, binary.BigEndian.AppendUint64(nil, n))
}

// DoseLag is the backlog of the dose reports, for the probes.
type DoseLag struct {
	Subscribers int       // subscribers taking dose reports
	Pending     int       // reports queued, not yet acknowledged
	Oldest      time.Time // queued time of the oldest (zero: none)
	ToQueue     int       // studies the ledger marked, not yet queued
	Backfilling int       // backfills of dose reports under way (see RequestBackfill)
}

// DoseLag reads the dose queues' keys, each queue's first message, the
// backfills (one small value per subscriber) and the ledger's report
// markers: cheap enough for /healthz and the metrics.
func (o *Outbox) DoseLag(ctx context.Context) (DoseLag, error) {
	var l DoseLag
	subs, err := o.Subscribers(ctx)
	if err != nil {
		return l, err
	}
	err = o.DB.View(func(txn *store.Txn) error {
		for _, s := range subs {
			if s.Dose {
				l.Subscribers++
			}
			if err := queueLag(txn, doseQueuePrefix(s.Name), &l.Pending, &l.Oldest); err != nil {
				return err
			}
		}
		return eachBackfill(txn, func(b Backfill) {
			if b.Done.IsZero() {
				l.Backfilling++
			}
		})
	})
	if err != nil || o.Ledger == nil {
		return l, err
	}
	ms, err := o.Ledger.ReportsPending(ctx)
	l.ToQueue = len(ms)
	return l, err
}
