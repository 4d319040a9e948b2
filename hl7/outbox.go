package hl7

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"vigie"
	"vigie/audit"
	"vigie/dosimetry"
	"vigie/ledger"
	"vigie/mpi"
	"vigie/store"
)

// Outbox notifies subscribed systems (a RIS, a HIS, a regional portal) of
// the changes of regional identities, in HL7 v2 over MLLP: ADT^A28 for a
// new identity, ADT^A31 for a link, an unlink, an unmerge, a new version
// of a member record or a change of attributes, ADT^A40 for a merge (see
// Build for the segments). A subscriber that takes dose reports also
// receives one ORU^R01 per exam whose dose figures changed, from a second
// queue fed by the dose ledger (see EnqueueDose and dose.go).
//
// It follows the patient index's event log as the search index does: each
// subscriber has a cursor, the sequence of the last event turned into
// messages, and a queue of messages not yet acknowledged. Enqueue reads
// the events after the cursor, builds their messages from the identities
// as they are when read, and stores them with the new cursor in one
// transaction. Each message keeps its control id (MSH-10) from then on, so
// that a receiver can tell a retransmission.
//
// Delivery is at least once, in order per identity: a subscriber's queue
// is sent in the order of the events, one message at a time, each waiting
// for its acknowledgement. AA (or CA) removes the message and writes an
// audit entry (ids only); AE or AR keeps it, with the attempt and the
// reason, and holds back the later messages of the same identities while
// others go on; a lost connection stops the pass. Failed passes are tried
// again with a growing delay (see Run). A message is sent twice only when
// its acknowledgement was lost (the connection, or the process, died
// before it was read): it then carries the same MSH-10.
//
// Key layout (namespace h/ of the store, see package store):
//
//	h/sub/<name>                              → Subscriber (JSON)
//	h/cur/<name>                              → last event enqueued (8 bytes, big endian)
//	h/out/<name> 0x00 <event seq> <n>         → Pending (JSON): a message not yet acknowledged
//	h/dose/<name> 0x00 <rank>                 → Pending (JSON): a dose report not yet acknowledged (see EnqueueDose)
//	h/dseq/<name>                             → rank of the subscriber's last dose report queued (8 bytes)
//	h/dver/<hash of authority, local id, study>
//	                                          → the exam's last report queued (JSON: its ledger mark and version)
//	h/dbf/<name>                              → Backfill (JSON): the subscriber's backfill of dose reports (see RequestBackfill)
type Outbox struct {
	Index *mpi.Index
	DB    *store.DB
	Trail *audit.Log   // nil: no audit entry
	Log   *slog.Logger // nil: no log
	Now   func() time.Time
	// Dial opens a connection to a subscriber (nil: TCP, or TLS with the
	// system's roots when the subscriber asks for it).
	Dial func(ctx context.Context, s Subscriber) (net.Conn, error)
	// AckTimeout bounds the wait for an acknowledgement (default 30 s).
	AckTimeout time.Duration
	// Poll is how often Run reads new events (default 1 s).
	Poll time.Duration
	// MaxBackoff bounds the delay between two attempts of a failing
	// subscriber (default 1 min; the first retry comes after 1 s).
	MaxBackoff time.Duration

	// Ledger is the dose ledger whose report markers EnqueueDose follows
	// (nil: no dose report is sent). Coefficients and ExamTypes make the
	// effective-dose estimate of the reports (Coefficients nil: none).
	Ledger       *ledger.Ledger
	Coefficients *dosimetry.Coefficients
	ExamTypes    *dosimetry.Table
	// Pregnancies are the pregnancies declared outside DICOM, which ask
	// for the dose to the uterus / foetus in the reports (nil: the DICOM
	// Pregnancy Status alone).
	Pregnancies *dosimetry.PregnancyStore
	// Settle is how long a study's last exam must be stored before its
	// report is queued: the images of a CT series arrive in a burst, and
	// one report then carries them all rather than one per image (0:
	// at once).
	Settle time.Duration
	// BackfillBatch is how many exam rows a backfill of dose reports
	// reads per transaction and per pass (default DefaultBackfillBatch).
	BackfillBatch int

	mu    sync.Mutex
	conns map[string]*outConn
}

// Subscriber is a system that receives the notifications.
type Subscriber struct {
	// Name names it in the outbox and in MSH-5 and MSH-6 of its messages:
	// letters, digits, '_', '-', '.', at most 64.
	Name string `json:"name"`
	// Addr is its MLLP listener, host:port.
	Addr string `json:"addr"`
	// TLS connects in TLS (the server's certificate checked against the
	// system's roots).
	TLS bool `json:"tls,omitempty"`
	// RegionalOID is the assigning authority of the regional identifiers
	// its messages carry (PID-3, MRG-1).
	RegionalOID string    `json:"regional_oid"`
	Added       time.Time `json:"added"`
	// Dose subscribes it to the dose reports too (ORU^R01, see
	// EnqueueDose): one per exam whose dose figures changed.
	Dose bool `json:"dose,omitempty"`
	// Authority is the assigning authority (OID) of the establishment
	// whose patient identifiers (IPP) it knows: in a dose report, the
	// patient's IPP of that establishment comes first in PID-3.
	Authority string `json:"authority,omitempty"`
}

// Pending is a message in a subscriber's queue.
type Pending struct {
	Event      uint64             `json:"event"` // the patient index's event it comes from
	N          int                `json:"n"`     // its rank among that event's messages
	Kind       string             `json:"kind"`  // NotifyCreate, NotifyUpdate, NotifyMerge
	ControlID  string             `json:"control"`
	Identities []vigie.IdentityID `json:"identities"`
	Records    []vigie.SourceKey  `json:"records,omitempty"`
	Message    []byte             `json:"message"`
	// Queue is QueueDose for a dose report (Event is then its rank in
	// the subscriber's dose queue), "" for an identity notification.
	Queue string `json:"queue,omitempty"`
	// Study names the exam a dose report is about (its source record and
	// study): a refused report holds back the later ones of the same exam.
	Study string `json:"study,omitempty"`
	// Version is a dose report's version for its exam at its subscriber:
	// 1 is the first the subscriber gets, the final result (OBR-25 F); a
	// later one corrects it (C).
	Version   int       `json:"version,omitempty"`
	Queued    time.Time `json:"queued"`
	Attempts  int       `json:"attempts,omitempty"`
	LastTry   time.Time `json:"last_try,omitzero"`
	LastError string    `json:"last_error,omitempty"`
}

// Status is what a subscriber's queue holds.
type Status struct {
	Subscriber
	Cursor    uint64    // last event enqueued
	Pending   int       // messages not yet acknowledged
	Dose      int       // of which dose reports
	Oldest    time.Time // queued time of the oldest (zero: none)
	Failing   int       // pending messages whose last attempt failed
	LastError string    // the most recent failure's reason
	LastTry   time.Time // and when
}

var (
	subPrefix = []byte("h/sub/")
	curPrefix = []byte("h/cur/")
	outPrefix = []byte("h/out/")
)

func subKey(name string) []byte { return append(bytes.Clone(subPrefix), name...) }
func curKey(name string) []byte { return append(bytes.Clone(curPrefix), name...) }
func queuePrefix(name string) []byte {
	return append(append(bytes.Clone(outPrefix), name...), 0)
}
func queueKey(name string, event uint64, n int) []byte {
	k := binary.BigEndian.AppendUint64(queuePrefix(name), event)
	return binary.BigEndian.AppendUint16(k, uint16(n))
}

// key is where a pending message is stored in name's queues.
func (p *Pending) key(name string) []byte {
	if p.Queue == QueueDose {
		return doseKey(name, p.Event)
	}
	return queueKey(name, p.Event, p.N)
}

// next is the key just after p's in its queue.
func (p *Pending) next(name string) []byte {
	if p.Queue == QueueDose {
		return doseKey(name, p.Event+1)
	}
	return queueKey(name, p.Event, p.N+1)
}

// queues are the prefixes of a subscriber's queues, in the order a pass
// sends them: the identity notifications, then the dose reports.
func queues(name string) [][]byte { return [][]byte{queuePrefix(name), doseQueuePrefix(name)} }

// ControlID is the MSH-10 of the n-th message of an event: the same for
// every attempt and every subscriber.
func ControlID(event uint64, n int) string { return fmt.Sprintf("VG%d.%d", event, n) }

func (o *Outbox) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func validOID(s string) bool {
	if s == "" || len(s) > 64 || !strings.Contains(s, ".") {
		return false
	}
	for arc := range strings.SplitSeq(s, ".") {
		if arc == "" || strings.Trim(arc, "0123456789") != "" || (len(arc) > 1 && arc[0] == '0') {
			return false
		}
	}
	return true
}

// AddSubscriber registers a subscriber. Its cursor starts at the newest
// event: it receives the changes made from now on, not the past ones.
func (o *Outbox) AddSubscriber(ctx context.Context, s Subscriber) (Subscriber, error) {
	s.Name, s.Addr, s.RegionalOID = strings.TrimSpace(s.Name), strings.TrimSpace(s.Addr), strings.TrimSpace(s.RegionalOID)
	s.Authority = strings.TrimSpace(s.Authority)
	if s.Authority != "" && !validOID(s.Authority) {
		return Subscriber{}, vigie.Invalid("authority", "%q is not an OID (digits separated by dots)", clip(s.Authority))
	}
	if !validName(s.Name) {
		return Subscriber{}, vigie.Invalid("name", "%q: 1 to 64 letters, digits, '_', '-' or '.'", clip(s.Name))
	}
	if host, port, err := net.SplitHostPort(s.Addr); err != nil || host == "" || port == "" {
		return Subscriber{}, vigie.Invalid("addr", "%q is not host:port", clip(s.Addr))
	}
	if !validOID(s.RegionalOID) {
		return Subscriber{}, vigie.Invalid("regional-oid", "%q is not an OID (digits separated by dots)", clip(s.RegionalOID))
	}
	s.Added = o.now().UTC()
	last, err := o.Index.LastEvent(ctx)
	if err != nil {
		return Subscriber{}, err
	}
	err = store.Update(o.DB, func(txn *store.Txn) error {
		if found, err := store.Has(txn, subKey(s.Name)); err != nil {
			return err
		} else if found {
			return vigie.Errorf(vigie.ECONFLICT, "hl7: subscriber %s already exists: remove it first", s.Name)
		}
		b, err := json.Marshal(s)
		if err != nil {
			return err
		}
		if err := txn.Set(subKey(s.Name), b); err != nil {
			return err
		}
		return txn.Set(curKey(s.Name), binary.BigEndian.AppendUint64(nil, last))
	})
	if err != nil {
		return Subscriber{}, fmt.Errorf("hl7: add subscriber %s: %w", s.Name, err)
	}
	return s, nil
}

// RemoveSubscriber removes a subscriber, its cursor and its queue (the
// messages it did not acknowledge are dropped). It returns how many were.
// The queue goes first, in batches, and the subscriber last: a removal cut
// short leaves the subscriber with the rest of its queue, in order, and is
// run again.
func (o *Outbox) RemoveSubscriber(ctx context.Context, name string) (int, error) {
	if err := o.exists(name); err != nil {
		return 0, err
	}
	dropped := 0
	for _, q := range queues(name) {
		for {
			n, err := o.rewriteQueue(q, func(txn *store.Txn, p *Pending) error {
				return txn.Delete(p.key(name))
			})
			dropped += n
			if err != nil {
				return dropped, fmt.Errorf("hl7: remove subscriber %s: %w", name, err)
			}
			if n < rewriteBatch {
				break
			}
		}
	}
	err := store.Update(o.DB, func(txn *store.Txn) error {
		if err := txn.Delete(subKey(name)); err != nil {
			return err
		}
		if err := txn.Delete(doseSeqKey(name)); err != nil {
			return err
		}
		if err := txn.Delete(backfillKey(name)); err != nil {
			return err
		}
		return txn.Delete(curKey(name))
	})
	if err != nil {
		return dropped, fmt.Errorf("hl7: remove subscriber %s: %w", name, err)
	}
	return dropped, nil
}

// rewriteBatch bounds the queued messages one transaction rewrites.
const rewriteBatch = 1000

// rewriteQueue calls fn in one transaction for up to rewriteBatch of the
// messages of one queue (its prefix q), from the first, and returns how
// many.
func (o *Outbox) rewriteQueue(q []byte, fn func(txn *store.Txn, p *Pending) error) (int, error) {
	n := 0
	err := store.Update(o.DB, func(txn *store.Txn) error {
		n = 0
		var ps []Pending
		if err := eachQueued(txn, q, nil, func(p *Pending) (bool, error) {
			ps = append(ps, *p)
			return len(ps) < rewriteBatch, nil
		}); err != nil {
			return err
		}
		for i := range ps {
			if err := fn(txn, &ps[i]); err != nil {
				return err
			}
		}
		n = len(ps)
		return nil
	})
	return n, err
}

func (o *Outbox) exists(name string) error {
	return o.DB.View(func(txn *store.Txn) error {
		if found, err := store.Has(txn, subKey(name)); err != nil || found {
			return err
		}
		return vigie.Errorf(vigie.ENOTFOUND, "hl7: no subscriber %s", name)
	})
}

// Subscribers lists the subscribers by name.
func (o *Outbox) Subscribers(ctx context.Context) ([]Subscriber, error) {
	var out []Subscriber
	err := o.DB.View(func(txn *store.Txn) error {
		it := txn.NewIterator(store.IteratorOptions{Prefix: subPrefix, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var s Subscriber
			if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &s) }); err != nil {
				return err
			}
			out = append(out, s)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hl7: subscribers: %w", err)
	}
	return out, nil
}

func readCursor(txn *store.Txn, name string) (uint64, error) {
	item, err := txn.Get(curKey(name))
	if err != nil {
		return 0, err
	}
	var c uint64
	err = item.Value(func(b []byte) error {
		if len(b) != 8 {
			return fmt.Errorf("cursor of %s: %d bytes", name, len(b))
		}
		c = binary.BigEndian.Uint64(b)
		return nil
	})
	return c, err
}

// enqueueBatch bounds the events whose messages are stored in one
// transaction.
const enqueueBatch = 256

// Enqueue turns the events after each subscriber's cursor into messages
// in its queue, and returns how many messages it queued.
func (o *Outbox) Enqueue(ctx context.Context) (int, error) {
	subs, err := o.Subscribers(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, s := range subs {
		n, err := o.enqueue(ctx, s)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (o *Outbox) enqueue(ctx context.Context, s Subscriber) (int, error) {
	var cursor uint64
	err := o.DB.View(func(txn *store.Txn) (err error) {
		cursor, err = readCursor(txn, s.Name)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("hl7: outbox of %s: %w", s.Name, err)
	}
	queued := 0
	var batch []Pending
	last := cursor
	flush := func() error {
		if len(batch) == 0 && last == cursor {
			return nil
		}
		err := store.Update(o.DB, func(txn *store.Txn) error {
			// The cursor must be where it was read: a subscriber removed
			// (and added again) meanwhile starts afresh.
			if c, err := readCursor(txn, s.Name); err != nil || c != cursor {
				if err == nil || errors.Is(err, store.ErrNotFound) {
					return errMoved
				}
				return err
			}
			for _, p := range batch {
				b, err := json.Marshal(p)
				if err != nil {
					return err
				}
				if err := txn.Set(queueKey(s.Name, p.Event, p.N), b); err != nil {
					return err
				}
			}
			return txn.Set(curKey(s.Name), binary.BigEndian.AppendUint64(nil, last))
		})
		if err != nil {
			return err
		}
		queued += len(batch)
		batch, cursor = batch[:0], last
		return nil
	}
	events := 0
	err = o.Index.EventsAfter(ctx, cursor, func(e mpi.Event) error {
		if e.Kind == mpi.EventPurge {
			// The identity's data is gone from the index: what waits
			// about it goes too, before the cursor passes the event.
			if err := flush(); err != nil {
				return err
			}
			if err := o.dropIdentity(s.Name, e.Identity); err != nil {
				return err
			}
		}
		ps, err := o.messages(ctx, s, e)
		if err != nil {
			return err
		}
		batch = append(batch, ps...)
		last = e.Seq
		if events++; events%enqueueBatch == 0 {
			return flush()
		}
		return nil
	})
	if err == nil && last != cursor {
		err = flush()
	}
	if errors.Is(err, errMoved) {
		return queued, nil
	}
	if err != nil {
		return queued, fmt.Errorf("hl7: outbox of %s after event %d: %w", s.Name, cursor, err)
	}
	return queued, nil
}

var errMoved = errors.New("the subscriber's cursor moved")

// dropIdentity removes from a subscriber's queue the messages naming an
// identity purged at the end of its retention.
func (o *Outbox) dropIdentity(name string, id vigie.IdentityID) error {
	var keys [][]byte
	err := o.DB.View(func(txn *store.Txn) error {
		for _, q := range queues(name) {
			err := eachQueued(txn, q, nil, func(p *Pending) (bool, error) {
				if slices.Contains(p.Identities, id) {
					keys = append(keys, p.key(name))
				}
				return true, nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || len(keys) == 0 {
		return err
	}
	if err := store.Update(o.DB, func(txn *store.Txn) error {
		for _, k := range keys {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if o.Log != nil {
		o.Log.Info("hl7 outbox: messages about a purged identity dropped", "subscriber", name, "identity", id.String(), "messages", len(keys))
	}
	return nil
}

// messages builds the messages an event gives a subscriber: none for the
// events that change no identity (reviews, decisions, pairs marked
// distinct: their effect has its own event), an A40 for a merge (and for
// a link that moved an identity's last record, which retires it), an A28
// for a new identity, an A31 for each other identity the event changed
// that is still live. An identity since merged away or purged gets no
// message here: the merge's own A40 follows. A hidden identity (CACH, or
// OPPO: the patient objects to the sharing of their data) gets none:
// its traits, gathered from every site, leave Vigie through no feed.
func (o *Outbox) messages(ctx context.Context, s Subscriber, e mpi.Event) ([]Pending, error) {
	switch e.Kind {
	case mpi.EventCreate, mpi.EventUpdate, mpi.EventLink, mpi.EventUnlink, mpi.EventMerge, mpi.EventUnmerge, mpi.EventAttributes:
	default:
		return nil, nil
	}
	snd := Sender{RegionalOID: s.RegionalOID, ReceivingApp: s.Name, ReceivingFacility: s.Name}
	var out []Pending
	add := func(n Notification) {
		p := Pending{Event: e.Seq, N: len(out), Kind: n.Event, ControlID: ControlID(e.Seq, len(out)),
			Identities: []vigie.IdentityID{n.Identity.ID}, Records: slices.Clone(n.Identity.Members), Queued: o.now().UTC()}
		if n.Retired != 0 {
			p.Identities = append(p.Identities, n.Retired)
		}
		p.Message = Build(n, snd, p.ControlID, e.Time)
		out = append(out, p)
	}
	snap := func(id vigie.IdentityID) (mpi.Snapshot, bool, error) { return o.Index.Snapshot(ctx, id) }
	merged := e.Kind == mpi.EventMerge
	if e.Kind == mpi.EventLink && e.Retired != nil && e.Other != 0 && e.Other != e.Identity {
		// A link that moved an identity's last record retired it into
		// the event's identity: a merge for the subscriber.
		_, live, err := snap(e.Other)
		if err != nil {
			return nil, err
		}
		merged = !live
	}
	if merged {
		sv, ok, err := snap(e.Identity)
		if err != nil || !ok || vigie.Hidden(sv.Attributes) {
			return nil, err
		}
		add(Notification{Event: NotifyMerge, Identity: sv, Retired: e.Other})
		return out, nil
	}
	for _, id := range e.Touched() {
		sn, ok, err := snap(id)
		if err != nil {
			return nil, err
		}
		if !ok || vigie.Hidden(sn.Attributes) {
			continue
		}
		kind := NotifyUpdate
		if e.Kind == mpi.EventCreate {
			kind = NotifyCreate
		}
		add(Notification{Event: kind, Identity: sn})
	}
	return out, nil
}

// Status returns each subscriber's queue.
func (o *Outbox) Status(ctx context.Context) ([]Status, error) {
	subs, err := o.Subscribers(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Status, 0, len(subs))
	for _, s := range subs {
		st := Status{Subscriber: s}
		err := o.DB.View(func(txn *store.Txn) error {
			c, err := readCursor(txn, s.Name)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			st.Cursor = c
			return eachInQueues(txn, s.Name, func(p *Pending) (bool, error) {
				st.Pending++
				if p.Queue == QueueDose {
					st.Dose++
				}
				if st.Oldest.IsZero() || p.Queued.Before(st.Oldest) {
					st.Oldest = p.Queued
				}
				if p.LastError != "" {
					st.Failing++
					if p.LastTry.After(st.LastTry) {
						st.LastTry, st.LastError = p.LastTry, p.LastError
					}
				}
				return true, nil
			})
		})
		if err != nil {
			return nil, fmt.Errorf("hl7: outbox of %s: %w", s.Name, err)
		}
		out = append(out, st)
	}
	return out, nil
}

// Lag is the outbox's backlog for the probes that read it every few
// seconds (/healthz, the metrics): the subscribers, the messages pending
// in all, and when the oldest was queued (zero: none). It reads the
// queues' keys and each queue's first message only; Status, which reads
// every message, is for the operator's command.
func (o *Outbox) Lag(ctx context.Context) (subscribers, pending int, oldest time.Time, err error) {
	subs, err := o.Subscribers(ctx)
	if err != nil {
		return 0, 0, time.Time{}, err
	}
	err = o.DB.View(func(txn *store.Txn) error {
		for _, s := range subs {
			for _, q := range queues(s.Name) {
				if err := queueLag(txn, q, &pending, &oldest); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return len(subs), pending, oldest, err
}

// queueLag adds a queue's messages to pending and its first's queued time
// to oldest.
func queueLag(txn *store.Txn, q []byte, pending *int, oldest *time.Time) error {
	it := txn.NewIterator(store.IteratorOptions{Prefix: q})
	defer it.Close()
	first := true
	for it.Rewind(); it.Valid(); it.Next() {
		*pending++
		if !first {
			continue
		}
		// The queue is in the order messages were queued: its first
		// message waits longest.
		first = false
		var p Pending
		if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &p) }); err != nil {
			return err
		}
		if oldest.IsZero() || p.Queued.Before(*oldest) {
			*oldest = p.Queued
		}
	}
	return nil
}

// PendingOf returns up to limit messages of a subscriber's queue, in the
// order they are sent, identity notifications first, then dose reports
// (limit <= 0: all).
func (o *Outbox) PendingOf(ctx context.Context, name string, limit int) ([]Pending, error) {
	var out []Pending
	err := o.DB.View(func(txn *store.Txn) error {
		return eachInQueues(txn, name, func(p *Pending) (bool, error) {
			out = append(out, *p)
			return limit <= 0 || len(out) < limit, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("hl7: outbox of %s: %w", name, err)
	}
	return out, nil
}

// eachInQueues calls fn for the messages of both queues of a subscriber,
// in the order a pass sends them, until fn returns false.
func eachInQueues(txn *store.Txn, name string, fn func(p *Pending) (bool, error)) error {
	stop := false
	for _, q := range queues(name) {
		err := eachQueued(txn, q, nil, func(p *Pending) (bool, error) {
			more, err := fn(p)
			stop = !more
			return more, err
		})
		if err != nil || stop {
			return err
		}
	}
	return nil
}

// eachQueued calls fn for the messages of the queue whose prefix is
// prefix, from key from (nil: the first), in order, until fn returns false.
func eachQueued(txn *store.Txn, prefix, from []byte, fn func(p *Pending) (bool, error)) error {
	it := txn.NewIterator(store.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 64})
	defer it.Close()
	if from == nil {
		from = prefix
	}
	for it.Seek(from); it.Valid(); it.Next() {
		var p Pending
		if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &p) }); err != nil {
			return err
		}
		more, err := fn(&p)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// Replay clears the failures of a subscriber's pending messages (their
// attempts and last error), so that the next pass sends them at once, in
// order; it returns how many were pending.
func (o *Outbox) Replay(ctx context.Context, name string) (int, error) {
	if err := o.exists(name); err != nil {
		return 0, err
	}
	n := 0
	for _, q := range queues(name) {
		m, err := o.replay(name, q)
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// replay is Replay for one of name's queues (its prefix q).
func (o *Outbox) replay(name string, q []byte) (int, error) {
	n := 0
	var from []byte
	for {
		var ps []Pending
		err := o.DB.View(func(txn *store.Txn) error {
			return eachQueued(txn, q, from, func(p *Pending) (bool, error) {
				ps = append(ps, *p)
				return len(ps) < rewriteBatch, nil
			})
		})
		if err != nil || len(ps) == 0 {
			return n, err
		}
		err = store.Update(o.DB, func(txn *store.Txn) error {
			for _, p := range ps {
				if p.Attempts == 0 && p.LastError == "" {
					continue
				}
				k := p.key(name)
				if found, err := store.Has(txn, k); err != nil {
					return err
				} else if !found {
					continue // delivered meanwhile
				}
				p.Attempts, p.LastError, p.LastTry = 0, "", time.Time{}
				b, err := json.Marshal(p)
				if err != nil {
					return err
				}
				if err := txn.Set(k, b); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("hl7: replay %s: %w", name, err)
		}
		n += len(ps)
		from = ps[len(ps)-1].next(name)
	}
}
