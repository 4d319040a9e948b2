package hl7

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"vigie"
	"vigie/ledger"
	"vigie/store"
)

// The backfill of dose reports. A subscriber receives the report of every
// exam whose figures change after it subscribed (EnqueueDose); the exams
// already in the ledger when it subscribed reach it only through a
// backfill, asked when it subscribes or later by an administrator
// (RequestBackfill). The backfill walks the ledger's exam rows in key
// order (site, date, SOP instance), by batches, and queues in the
// subscriber's dose queue the report of each exam (a source record's
// study) it has not yet been sent. Each batch's reports, their exams'
// report versions and the walk's position are written in one
// transaction: a crash loses nothing and queues nothing twice, and the
// walk resumes after the last row of its last batch.
//
// Never twice: an exam whose report version already counts one for this
// subscription is passed over, and so is an exam whose report marker is
// still set in the ledger (ledger.ReportMarkedIn): EnqueueDose queues that
// one for every dose subscriber, this one included. Both run in the same
// goroutine of the server (Run), one after the other, so that a backfill's
// report of an exam always comes before any later correction of it in the
// queue: the reports of one exam stay in order.
//
// Key layout: h/dbf/<name> → Backfill (JSON), one per subscriber.

var dbfPrefix = []byte("h/dbf/")

func backfillKey(name string) []byte { return append(bytes.Clone(dbfPrefix), name...) }

// DefaultBackfillBatch is how many exam rows a backfill reads per
// transaction, and per pass of Run.
const DefaultBackfillBatch = 200

// Backfill is one subscriber's backfill of dose reports: what was asked
// and how far it went.
type Backfill struct {
	Subscriber string `json:"subscriber"`
	// Subscription is the subscription it was asked for (sentKey): a
	// subscriber removed and added again is another one, and the
	// backfill is dropped.
	Subscription string `json:"subscription"`
	// Site limits it to the exams of one site (an assigning authority
	// OID); From to the exams dated from that day (YYYY-MM-DD).
	Site      string    `json:"site,omitempty"`
	From      string    `json:"from,omitempty"`
	Requested time.Time `json:"requested"`
	By        string    `json:"by,omitempty"` // who asked: a principal, or "cli"
	// Cursor is the key of the last exam row read.
	Cursor []byte `json:"cursor,omitempty"`
	// Counts: exam rows read, reports queued, and the exams passed over
	// because the subscriber had their report already, because their
	// report waits for the live queue, because a hidden identity's report
	// goes to its own site only, because nothing in them is reportable;
	// rows dated before From.
	Rows        int       `json:"rows"`
	Queued      int       `json:"queued"`
	AlreadySent int       `json:"already_sent"`
	Waiting     int       `json:"waiting"`
	Withheld    int       `json:"withheld"`
	Empty       int       `json:"empty"`
	Before      int       `json:"before"`
	Updated     time.Time `json:"updated,omitzero"`
	Done        time.Time `json:"done,omitzero"`
}

// BackfillView is a backfill with what is left of it: the rows it has
// still to read, and the subscriber's dose reports not yet acknowledged.
type BackfillView struct {
	Backfill
	RowsLeft    int
	DosePending int
}

// RequestBackfill asks for the dose reports of the exams already in the
// ledger to be queued for the subscriber name (one that takes dose
// reports), those of site only when site is not empty, dated from from
// when from is not empty. A backfill already under way for the subscriber
// is refused (ECONFLICT); a finished one is replaced, and the new walk
// passes over what the subscriber was sent. by names who asked (audit).
func (o *Outbox) RequestBackfill(ctx context.Context, name, site, from, by string) (Backfill, error) {
	site, from = strings.TrimSpace(site), strings.TrimSpace(from)
	if site != "" && !validOID(site) {
		return Backfill{}, vigie.Invalid("site", "%q is not an OID (digits separated by dots)", clip(site))
	}
	if from != "" {
		if _, err := time.Parse(time.DateOnly, from); err != nil {
			return Backfill{}, vigie.Invalid("from", "%q is not a date YYYY-MM-DD", clip(from))
		}
	}
	if o.Ledger == nil {
		return Backfill{}, errors.New("hl7: backfill: no dose ledger")
	}
	b := Backfill{Subscriber: name, Site: site, From: from, Requested: o.now().UTC(), By: by}
	err := store.Update(o.DB, func(txn *store.Txn) error {
		var s Subscriber
		found, err := store.Read(txn, subKey(name), func(v []byte) error { return json.Unmarshal(v, &s) })
		if err != nil {
			return err
		}
		if !found {
			return vigie.Errorf(vigie.ENOTFOUND, "hl7: no subscriber %s", name)
		}
		if !s.Dose {
			return vigie.Invalid("name", "subscriber %s does not take dose reports (add it with --dose)", name)
		}
		var cur Backfill
		if found, err := store.Read(txn, backfillKey(name), func(v []byte) error { return json.Unmarshal(v, &cur) }); err != nil {
			return err
		} else if found && cur.Done.IsZero() && cur.Subscription == sentKey(s) {
			return vigie.Errorf(vigie.ECONFLICT, "hl7: a backfill of %s is under way (%d rows read, %d reports queued)", name, cur.Rows, cur.Queued)
		}
		b.Subscription = sentKey(s)
		v, err := json.Marshal(b)
		if err != nil {
			return err
		}
		return txn.Set(backfillKey(name), v)
	})
	if err != nil {
		return Backfill{}, fmt.Errorf("hl7: backfill of %s: %w", name, err)
	}
	if o.Log != nil {
		o.Log.Info("hl7 outbox: dose report backfill requested", "subscriber", name, "site", site, "from", from, "by", by)
	}
	return b, nil
}

// listBackfills reads the subscribers' backfills.
func (o *Outbox) listBackfills() ([]Backfill, error) {
	var bs []Backfill
	err := o.DB.View(func(txn *store.Txn) error {
		return eachBackfill(txn, func(b Backfill) { bs = append(bs, b) })
	})
	if err != nil {
		return nil, fmt.Errorf("hl7: backfills: %w", err)
	}
	return bs, nil
}

// eachBackfill calls fn with every subscriber's backfill, in subscriber
// order.
func eachBackfill(txn *store.Txn, fn func(Backfill)) error {
	it := txn.NewIterator(store.IteratorOptions{Prefix: dbfPrefix, PrefetchValues: true})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		var b Backfill
		if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &b) }); err != nil {
			return err
		}
		fn(b)
	}
	return nil
}

// Backfills returns the subscribers' backfills with what is left of each
// (the rows left are counted: a key-only walk of the rest of the ledger,
// for the operator's view, not for a probe).
func (o *Outbox) Backfills(ctx context.Context) ([]BackfillView, error) {
	bs, err := o.listBackfills()
	if err != nil {
		return nil, err
	}
	out := make([]BackfillView, len(bs))
	for i, b := range bs {
		out[i].Backfill = b
		if b.Done.IsZero() && o.Ledger != nil {
			if out[i].RowsLeft, err = o.Ledger.RowsAfter(ctx, b.Site, b.Cursor); err != nil {
				return nil, err
			}
		}
		err := o.DB.View(func(txn *store.Txn) error {
			var oldest time.Time
			return queueLag(txn, doseQueuePrefix(b.Subscriber), &out[i].DosePending, &oldest)
		})
		if err != nil {
			return nil, fmt.Errorf("hl7: backfill of %s: %w", b.Subscriber, err)
		}
	}
	return out, nil
}

// RunBackfills advances every backfill under way by one batch of exam
// rows (Run calls it once per pass, after EnqueueDose) and returns how
// many reports it queued. A backfill whose subscriber was removed, or
// removed and added again, is dropped.
func (o *Outbox) RunBackfills(ctx context.Context) (int, error) {
	if o.Ledger == nil {
		return 0, nil
	}
	bs, err := o.listBackfills()
	if err != nil {
		return 0, err
	}
	queued := 0
	for _, v := range bs {
		if !v.Done.IsZero() {
			continue
		}
		n, _, err := o.backfillBatch(ctx, v.Subscriber)
		queued += n
		if err != nil {
			return queued, fmt.Errorf("hl7: backfill of %s: %w", v.Subscriber, err)
		}
	}
	return queued, nil
}

// RunBackfill runs the subscriber's backfill to its end (the command line,
// server stopped) and returns it.
func (o *Outbox) RunBackfill(ctx context.Context, name string) (Backfill, error) {
	for {
		_, b, err := o.backfillBatch(ctx, name)
		if err != nil {
			return b, fmt.Errorf("hl7: backfill of %s: %w", name, err)
		}
		if !b.Done.IsZero() || b.Subscriber == "" {
			return b, nil
		}
	}
}

// backfillBatch reads the next batch of name's backfill and queues its
// reports; it returns how many, and the backfill as it stands (Subscriber
// empty: there is none, or it was dropped).
func (o *Outbox) backfillBatch(ctx context.Context, name string) (int, Backfill, error) {
	var b Backfill
	var s Subscriber
	var subs []Subscriber
	drop := false
	all, err := o.Subscribers(ctx)
	if err != nil {
		return 0, b, err
	}
	err = o.DB.View(func(txn *store.Txn) error {
		found, err := store.Read(txn, backfillKey(name), func(v []byte) error { return json.Unmarshal(v, &b) })
		if err != nil || !found {
			b = Backfill{}
			return err
		}
		for _, x := range all {
			if x.Dose {
				subs = append(subs, x)
			}
			if x.Name == name {
				s = x
			}
		}
		drop = s.Name == "" || !s.Dose || sentKey(s) != b.Subscription
		return nil
	})
	if err != nil || b.Subscriber == "" || !b.Done.IsZero() {
		return 0, b, err
	}
	if drop {
		err := store.Update(o.DB, func(txn *store.Txn) error { return txn.Delete(backfillKey(name)) })
		if o.Log != nil && err == nil {
			o.Log.Info("hl7 outbox: dose report backfill dropped: its subscription is gone", "subscriber", name)
		}
		return 0, Backfill{}, err
	}
	batch := o.BackfillBatch
	if batch <= 0 {
		batch = DefaultBackfillBatch
	}
	// The batch's exams, in the order of their first row.
	type exam struct {
		key   vigie.SourceKey
		study string
	}
	var exams []exam
	seen := map[exam]bool{}
	rows, before := 0, 0
	var last []byte
	err = o.Ledger.ExamRows(ctx, b.Site, b.Cursor, func(key []byte, e *ledger.Entry) (bool, error) {
		rows++
		last = append(last[:0], key...)
		switch {
		case e.Conflict != "":
		case b.From != "" && e.Exam.Date < b.From:
			before++
		default:
			x := exam{e.Exam.Key, ledger.StudyOf(&e.Exam)}
			if !seen[x] {
				seen[x] = true
				exams = append(exams, x)
			}
		}
		return rows < batch, nil
	})
	if err != nil {
		return 0, b, err
	}
	// The exams this subscription has had, or will have from the live
	// queue, are not summarised: a backfill asked again costs reads only.
	// Neither can change back before the write below (a count never
	// drops; a marker goes once its report is queued for every dose
	// subscriber), which checks again.
	prepared := make([]bool, len(exams))
	err = o.DB.View(func(txn *store.Txn) error {
		for i, x := range exams {
			done, err := reportedOrWaiting(txn, x.key, x.study, s, subs)
			if err != nil {
				return err
			}
			prepared[i] = !done
		}
		return nil
	})
	if err != nil {
		return 0, b, err
	}
	reports := make([]examReport, len(exams))
	for i, x := range exams {
		reports[i] = examReport{key: x.key, study: x.study}
		if !prepared[i] {
			continue
		}
		if reports[i], err = o.prepareReport(ctx, x.key, x.study); err != nil {
			return 0, b, err
		}
	}
	queued := 0
	now := o.now().UTC()
	cursor := b.Cursor
	err = store.Update(o.DB, func(txn *store.Txn) error {
		queued = 0
		var cur Backfill
		if found, err := store.Read(txn, backfillKey(name), func(v []byte) error { return json.Unmarshal(v, &cur) }); err != nil {
			return err
		} else if !found || !bytes.Equal(cur.Cursor, cursor) || cur.Subscription != b.Subscription {
			return vigie.Errorf(vigie.ECONFLICT, "the backfill of %s changed meanwhile", name)
		}
		b = cur
		b.Rows += rows
		b.Before += before
		for i := range reports {
			r := &reports[i]
			marked, err := ledger.ReportMarkedIn(txn, r.key, r.study)
			if err != nil {
				return err
			}
			v, err := readVersion(txn, r.key, r.study, subs)
			if err != nil {
				return err
			}
			switch {
			case v.Sent[sentKey(s)] > 0:
				b.AlreadySent++
				continue
			case marked:
				b.Waiting++
				continue
			case !prepared[i]:
				// Not expected (see above); read it now rather than pass
				// it over.
				if *r, err = o.prepareReport(ctx, r.key, r.study); err != nil {
					return err
				}
				prepared[i] = true
			}
			switch {
			case !r.ok:
				b.Empty++
				continue
			case r.withheld(s):
				b.Withheld++
				continue
			}
			if err := o.queueReport(txn, r, s, &v, now); err != nil {
				return err
			}
			if err := writeVersion(txn, r.key, r.study, v); err != nil {
				return err
			}
			queued++
		}
		b.Queued += queued
		b.Updated = now
		if rows < batch {
			b.Done = now
		} else {
			b.Cursor = bytes.Clone(last)
		}
		v, err := json.Marshal(b)
		if err != nil {
			return err
		}
		return txn.Set(backfillKey(name), v)
	})
	if err != nil {
		return 0, b, err
	}
	if o.Log != nil && (queued > 0 || !b.Done.IsZero()) {
		o.Log.Info("hl7 outbox: dose report backfill", "subscriber", name, "queued", queued, "rows", b.Rows, "done", !b.Done.IsZero())
	}
	return queued, b, nil
}

// reportedOrWaiting reports whether subscriber s has had the report of a
// record's study, or will have it from the live queue (its marker is set).
func reportedOrWaiting(txn *store.Txn, k vigie.SourceKey, study string, s Subscriber, subs []Subscriber) (bool, error) {
	if marked, err := ledger.ReportMarkedIn(txn, k, study); err != nil || marked {
		return marked, err
	}
	v, err := readVersion(txn, k, study, subs)
	return v.Sent[sentKey(s)] > 0, err
}
