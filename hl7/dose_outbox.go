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

// enqueueReport queues one study's report for the dose subscribers and
// clears its marker.
func (o *Outbox) enqueueReport(ctx context.Context, m ledger.PendingStudy, subs []Subscriber) (int, error) {
	es, err := o.Ledger.Study(ctx, m.Key, m.Study)
	if err != nil {
		return 0, err
	}
	opts := dosimetry.SummaryOptions{Coefficients: o.Coefficients, Types: o.ExamTypes}
	if o.Pregnancies != nil {
		opts.Pregnant = o.Pregnancies.Pregnant(ctx)
	}
	sum, ok, err := dosimetry.SummarizeWith(es, opts)
	if err != nil {
		return 0, err
	}
	var snap *mpi.Snapshot
	hidden := false
	if ok && o.Index != nil {
		id, err := o.Index.IdentityOf(ctx, m.Key.Authority, m.Key.LocalID)
		switch {
		case err == nil:
			sn, live, err := o.Index.Snapshot(ctx, id)
			if err != nil {
				return 0, err
			}
			if live {
				snap = &sn
				hidden = vigie.Hidden(sn.Attributes)
			}
		case vigie.ErrorCode(err) == vigie.ENOTFOUND:
		default:
			return 0, err
		}
	}
	queued := 0
	now := o.now().UTC()
	err = store.Update(o.DB, func(txn *store.Txn) error {
		queued = 0
		vk := doseVersionKey(m.Key, m.Study)
		var v reportVersion
		if _, err := store.Read(txn, vk, func(b []byte) error { return json.Unmarshal(b, &v) }); err != nil {
			return err
		}
		if bytes.Equal(v.Mark, m.Mark()) {
			return nil // queued before a crash: only the marker is left to clear
		}
		v.Mark = m.Mark()
		if v.Sent == nil {
			v.Sent = map[string]int{}
			if v.Version > 0 {
				// Written before the per-subscriber counts.
				for _, s := range subs {
					v.Sent[sentKey(s)] = v.Version
				}
			}
		}
		if ok {
			v.Version++
			for _, s := range subs {
				// A hidden identity's report goes back to the exam's own
				// site only, with its identifiers and no traits.
				if hidden && s.Authority != m.Key.Authority {
					continue
				}
				rank, err := nextDoseRank(txn, s.Name)
				if err != nil {
					return err
				}
				v.Sent[sentKey(s)]++
				version := v.Sent[sentKey(s)]
				p := Pending{Event: rank, Kind: KindDoseReport, ControlID: DoseControlID(rank), Queue: QueueDose,
					Study: studyName(m.Key, m.Study), Version: version, Records: []vigie.SourceKey{m.Key}, Queued: now}
				if snap != nil {
					p.Identities = []vigie.IdentityID{snap.ID}
				}
				p.Message = BuildDoseReport(DoseReport{Summary: sum, Identity: snap, TraitsHidden: hidden, Corrected: version > 1}, s, p.ControlID, now)
				b, err := json.Marshal(p)
				if err != nil {
					return err
				}
				if err := txn.Set(doseKey(s.Name, rank), b); err != nil {
					return err
				}
				queued++
			}
		}
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		return txn.Set(vk, b)
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
}

// DoseLag reads the dose queues' keys, each queue's first message and the
// ledger's report markers: cheap enough for /healthz and the metrics.
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
		return nil
	})
	if err != nil || o.Ledger == nil {
		return l, err
	}
	ms, err := o.Ledger.ReportsPending(ctx)
	l.ToQueue = len(ms)
	return l, err
}
