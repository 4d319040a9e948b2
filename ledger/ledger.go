// Package ledger keeps the regional radiation-dose ledger: every imaging
// exam's dose figures, attached to the source record (site authority + local
// patient id) that the producing site sent, and counted exactly once.
//
// Exams are keyed by source record, never by regional identity: the patient
// index (package mpi) says which source records make up an identity, and a
// history is read through those links (History, Exams). A merge or an
// unmerge therefore changes a history without rewriting any dose entry, and
// this package never imports mpi.
//
// Exactly once. Put de-duplicates on three levels, inside one transaction:
//   - the SOP Instance UID: the same object sent twice is a no-op;
//   - the irradiation event UID (and the radiopharmaceutical administration
//     UID): a cumulative or "continued" RDSR that repeats events already
//     stored has their figures taken out of what it counts;
//   - the study: for a study and domain (CT, projection, mammography, NM)
//     covered by a dose SR, image-header figures are not counted. A header
//     exam stored before its SR arrives is kept for trace, marked superseded
//     and left out of the totals.
//
// Each stored Entry keeps the exam as reported (raw values and units) beside
// the figures it counts (Counted).
//
// Key layout (namespace l/ of the store, see package store). Keys are bytes;
// NUL separates variable parts, which Exam.Validate forbids inside them.
//
//	l/x/<sop instance uid>                              → Entry (JSON)
//	l/k/<authority> NUL <local id> NUL <sop uid>         → empty (exams of a source record)
//	l/e/<event or administration uid>                    → sop uid that first counted it
//	l/s/<study uid> NUL <domain> NUL <source> NUL <sop>   → empty (supersession of headers)
//
// Writes go through the store's durable transactions (SyncWrites): Put
// returns only once the entry, its indexes and its event markers are on disk
// together, or none of them is.
package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"vigie"
)

// Ledger is the dose ledger over a store opened with store.Open. It is safe
// for concurrent use.
type Ledger struct {
	db  *badger.DB
	now func() time.Time
}

// Open returns the ledger kept in db. It writes nothing until the first Put.
func Open(db *badger.DB) *Ledger {
	return &Ledger{db: db, now: time.Now}
}

// Entry is one stored exam: the exam as reported, the figures it counts
// after de-duplication, and its trace.
type Entry struct {
	Exam           Exam      `json:"exam"`
	Reported       Totals    `json:"reported"`
	Counted        Totals    `json:"counted"`
	NewEvents      int       `json:"new_events,omitempty"`
	RepeatedEvents int       `json:"repeated_events,omitempty"`
	StoredAt       time.Time `json:"stored_at"`
	// SupersededBy is the SOP instance of the dose SR that covers this
	// header exam's study: the entry is kept but counts nothing.
	SupersededBy string `json:"superseded_by,omitempty"`
}

// Excluded reports whether the entry is left out of the totals.
func (e *Entry) Excluded() bool { return e.SupersededBy != "" }

// Effective returns the figures the entry contributes to a history.
func (e *Entry) Effective() Totals {
	if e.Excluded() {
		return Totals{}
	}
	return e.Counted
}

// Result is what Put did with an exam.
type Result string

// Put results.
const (
	Stored    Result = "stored"    // stored and counted (possibly minus repeated events)
	Duplicate Result = "duplicate" // this SOP instance was already stored: nothing written
	Excluded  Result = "excluded"  // a header exam for a study already covered by a dose SR: stored for trace, not counted
)

// Outcome reports what Put did.
type Outcome struct {
	Result         Result    `json:"result"`
	SOPInstanceUID string    `json:"sop_instance_uid"`
	Key            SourceKey `json:"key"`
	NewEvents      int       `json:"new_events,omitempty"`
	RepeatedEvents int       `json:"repeated_events,omitempty"`
	// Superseded counts header exams of the same study that this SR made
	// redundant.
	Superseded int    `json:"superseded,omitempty"`
	Counted    Totals `json:"counted"`
}

var (
	prefixExam   = []byte("l/x/")
	prefixKey    = []byte("l/k/")
	prefixEvent  = []byte("l/e/")
	prefixStudy  = []byte("l/s/")
	errDuplicate = errors.New("duplicate")
)

func examKey(sop string) []byte  { return append(bytes.Clone(prefixExam), sop...) }
func eventKey(uid string) []byte { return append(bytes.Clone(prefixEvent), uid...) }

func sourcePrefix(k SourceKey) []byte {
	b := bytes.Clone(prefixKey)
	b = append(b, k.Authority...)
	b = append(b, 0)
	b = append(b, k.LocalID...)
	return append(b, 0)
}

func studyPrefix(study string, d Domain) []byte {
	b := bytes.Clone(prefixStudy)
	b = append(b, study...)
	b = append(b, 0)
	b = append(b, d...)
	return append(b, 0)
}

// Put stores an exam exactly once (see the package doc) and says what it
// did. An invalid exam is refused with a *vigie.Error and nothing is
// written; concurrent Puts touching the same events are serialised by
// retrying the transaction.
func (l *Ledger) Put(ctx context.Context, ex *Exam) (Outcome, error) {
	if err := ex.Validate(); err != nil {
		return Outcome{}, fmt.Errorf("ledger: put: %w", err)
	}
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return Outcome{}, fmt.Errorf("ledger: put %s: %w", ex.SOPInstanceUID, err)
		}
		var out Outcome
		err := l.db.Update(func(txn *badger.Txn) error {
			var err error
			out, err = l.put(txn, ex)
			return err
		})
		switch {
		case errors.Is(err, errDuplicate):
			return out, nil
		case errors.Is(err, badger.ErrConflict) && attempt < 20:
			continue
		case err != nil:
			return Outcome{}, fmt.Errorf("ledger: put %s: %w", ex.SOPInstanceUID, err)
		}
		return out, nil
	}
}

func (l *Ledger) put(txn *badger.Txn, ex *Exam) (Outcome, error) {
	out := Outcome{SOPInstanceUID: ex.SOPInstanceUID, Key: ex.Key}
	if old, err := getEntry(txn, ex.SOPInstanceUID); err == nil {
		out.Result = Duplicate
		out.Key = old.Exam.Key
		return out, errDuplicate
	} else if !errors.Is(err, badger.ErrKeyNotFound) {
		return out, err
	}

	e := Entry{Exam: *ex, Reported: ex.Totals(), StoredAt: l.now().UTC()}
	e.Counted = e.Reported
	figs := ex.eventFigures()
	uids := make([]string, 0, len(figs))
	for uid := range figs {
		uids = append(uids, uid)
	}
	sort.Strings(uids)
	for _, uid := range uids {
		_, err := txn.Get(eventKey(uid))
		switch {
		case err == nil:
			e.RepeatedEvents++
			e.Counted.sub(figs[uid])
		case errors.Is(err, badger.ErrKeyNotFound):
			e.NewEvents++
			if err := txn.Set(eventKey(uid), []byte(ex.SOPInstanceUID)); err != nil {
				return out, err
			}
		default:
			return out, err
		}
	}
	if len(figs) > 0 && e.NewEvents == 0 {
		// Every event was counted before: this report adds nothing, not
		// even time (which events do not always carry).
		e.Counted = Totals{}
	}

	if ex.StudyUID != "" {
		sp := studyPrefix(ex.StudyUID, ex.Domain)
		if ex.Source == SourceHeader {
			sr, err := firstSR(txn, sp)
			if err != nil {
				return out, err
			}
			e.SupersededBy = sr
		} else {
			n, err := supersedeHeaders(txn, sp, ex.SOPInstanceUID)
			if err != nil {
				return out, err
			}
			out.Superseded = n
		}
		k := append(append(sp, ex.Source...), 0)
		if err := txn.Set(append(k, ex.SOPInstanceUID...), nil); err != nil {
			return out, err
		}
	}

	v, err := json.Marshal(&e)
	if err != nil {
		return out, err
	}
	if err := txn.Set(examKey(ex.SOPInstanceUID), v); err != nil {
		return out, err
	}
	if err := txn.Set(append(sourcePrefix(ex.Key), ex.SOPInstanceUID...), nil); err != nil {
		return out, err
	}
	out.Result = Stored
	if e.Excluded() {
		out.Result = Excluded
	}
	out.NewEvents, out.RepeatedEvents, out.Counted = e.NewEvents, e.RepeatedEvents, e.Effective()
	return out, nil
}

// firstSR returns the SOP instance of a dose SR stored for the study and
// domain under sp, or "".
func firstSR(txn *badger.Txn, sp []byte) (string, error) {
	for _, src := range []SourceKind{SourceRDSR, SourceESR} {
		p := append(append(bytes.Clone(sp), src...), 0)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
		it.Rewind()
		if it.Valid() {
			sop := string(it.Item().Key()[len(p):])
			it.Close()
			return sop, nil
		}
		it.Close()
	}
	return "", nil
}

// supersedeHeaders marks the header exams under sp as superseded by sop.
func supersedeHeaders(txn *badger.Txn, sp []byte, sop string) (int, error) {
	p := append(append(bytes.Clone(sp), SourceHeader...), 0)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
	var sops []string
	for it.Rewind(); it.Valid(); it.Next() {
		sops = append(sops, string(it.Item().Key()[len(p):]))
	}
	it.Close()
	n := 0
	for _, h := range sops {
		e, err := getEntry(txn, h)
		if err != nil {
			return n, fmt.Errorf("header exam %s: %w", h, err)
		}
		if e.Excluded() {
			continue
		}
		e.SupersededBy = sop
		v, err := json.Marshal(e)
		if err != nil {
			return n, err
		}
		if err := txn.Set(examKey(h), v); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func getEntry(txn *badger.Txn, sop string) (*Entry, error) {
	item, err := txn.Get(examKey(sop))
	if err != nil {
		return nil, err
	}
	var e Entry
	err = item.Value(func(v []byte) error { return json.Unmarshal(v, &e) })
	if err != nil {
		return nil, fmt.Errorf("decode exam %s: %w", sop, err)
	}
	return &e, nil
}

// Get returns the stored entry of one SOP instance, or an ENOTFOUND error.
func (l *Ledger) Get(ctx context.Context, sop string) (*Entry, error) {
	var e *Entry
	err := l.db.View(func(txn *badger.Txn) error {
		var err error
		e, err = getEntry(txn, sop)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, vigie.Errorf(vigie.ENOTFOUND, "ledger: exam %s is not in the ledger", sop)
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: get %s: %w", sop, err)
	}
	return e, nil
}

// Exams returns the stored exams of a set of source records (the member
// records of an identity, as the patient index gives them), oldest first.
func (l *Ledger) Exams(ctx context.Context, keys []SourceKey) ([]Entry, error) {
	var out []Entry
	seen := map[string]bool{}
	err := l.db.View(func(txn *badger.Txn) error {
		for _, k := range keys {
			if err := ctx.Err(); err != nil {
				return err
			}
			p := sourcePrefix(k)
			it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
			var sops []string
			for it.Rewind(); it.Valid(); it.Next() {
				sops = append(sops, string(it.Item().Key()[len(p):]))
			}
			it.Close()
			for _, sop := range sops {
				if seen[sop] {
					continue
				}
				seen[sop] = true
				e, err := getEntry(txn, sop)
				if err != nil {
					return fmt.Errorf("exam %s of %s: %w", sop, k, err)
				}
				out = append(out, *e)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: exams: %w", err)
	}
	sortEntries(out)
	return out, nil
}

// Each calls fn for every stored exam in SOP instance order (the export
// reads the whole ledger this way). fn's error stops the walk.
func (l *Ledger) Each(ctx context.Context, fn func(*Entry) error) error {
	return l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixExam, PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			var e Entry
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &e) }); err != nil {
				return fmt.Errorf("ledger: decode %s: %w", it.Item().Key(), err)
			}
			if err := fn(&e); err != nil {
				return err
			}
		}
		return nil
	})
}

func sortEntries(es []Entry) {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i].Exam, es[j].Exam
		if a.Date+a.Time != b.Date+b.Time {
			return a.Date+a.Time < b.Date+b.Time
		}
		return a.SOPInstanceUID < b.SOPInstanceUID
	})
}
