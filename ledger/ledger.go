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
//     UID), within one source record: a cumulative or "continued" RDSR that
//     repeats events already stored for the same record has their figures
//     taken out of what it counts. An event UID met under another record
//     takes nothing out of this one's figures (a UID re-used by a device,
//     or a report mis-keyed to another patient, must not erase a dose);
//   - the study, within one source record: for a study and domain (CT,
//     projection, mammography, NM) of a source record covered by a dose SR
//     of that same record, image-header figures are not counted. A header
//     exam stored before its SR arrives is kept for trace, marked superseded
//     and left out of the totals. A study UID never overrides the patient:
//     a dose SR of another source record under the same study supersedes
//     nothing, and Put reports the records sharing the study (SharedStudy)
//     for an identity-vigilance alert. Two records of one person at two
//     sites are one patient only through the patient index, whose links
//     can be undone: the ledger does not supersede across them either (the
//     shared study is reported the same way, for a person to reconcile).
//
// The same SOP Instance UID arriving again under another study or source
// record is a conflict, not a duplicate: the first stays as it is, the
// second is stored for trace (Entry.Conflict, under a row of its own) and
// counts nothing.
//
// Each stored Entry keeps the exam as reported (raw values and units) beside
// the figures it counts (Counted).
//
// Key layout (namespace l/ of the store, see package store). Keys are bytes;
// NUL separates variable parts, which Exam.Validate forbids inside them.
//
//	l/d/<authority> NUL <date> NUL <sop uid>             → Entry (binary, see codec.go)
//	l/x/<sop instance uid>                              → 0x02 <authority> NUL <date>: where its row is
//	l/k/<authority> NUL <local id> NUL <sop uid>         → <date> (exams of a source record)
//	l/f/<authority> NUL <local id> NUL <event or administration uid>
//	                                                    → sop uid that first counted it for that record
//	l/t/<authority> NUL <local id> NUL <study uid> NUL <domain> NUL <source> NUL <sop>
//	                                                    → empty (supersession of headers, per source record)
//	l/u/<study uid> NUL <authority> NUL <local id>       → empty (the source records of a study)
//	l/v                                                 → layout version (one byte, 4)
//	l/q/<authority> NUL <local id> NUL <study uid or "sop:" sop uid>
//	                                                    → commit time: exams still to evaluate for alerts (see Pending)
//	l/r/<authority> NUL <local id> NUL <study uid or "sop:" sop uid>
//	                                                    → commit time: dose reports still to send (see ReportsPending)
//
// A conflict's row is keyed by its row id, the SOP instance followed by
// "#conflict-" and a hash of its record and study (see Entry.RowID).
//
// The exam rows (l/d/) are clustered by site and date: a site's period is
// one contiguous range of small values (EachSite), which is what keeps an
// NRD evaluation or an alert scan of a site-year under a second in a
// regional ledger of millions of exams. l/x/ says whether a SOP instance is
// stored (exactly once) and where; l/k/ lists a source record's exams for
// its history.
//
// Layout 1 kept the Entry as JSON under l/x/ and no l/d/ rows. Open
// converts such a store once, in batches (see upgrade), and says so in the
// log; a conversion cut short resumes at the next Open. Reading still
// understands a layout-1 value wherever one is met. Layout 2 kept the
// supersession index by study alone (l/s/, no longer read): Open builds
// l/t/ and l/u/ from the rows and gives back their figures to header exams
// that a dose SR of another source record had superseded. Layout 3 kept the
// event markers by UID alone (l/e/, no longer read): Open builds l/f/ per
// source record and gives back to each exam the figures that an event of
// another record had taken out of it.
//
// Writes are the store's transactions: the entry, its indexes and its
// event markers are stored together, or none of them is. They are on disk
// when Put returns on a store that syncs each commit; on one synced in
// groups (store.Options.Deferred), after its next sync, which the server
// waits for before it answers.
package ledger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"vigie"
	"vigie/store"
)

// Ledger is the dose ledger over a store opened with store.Open. It is safe
// for concurrent use.
type Ledger struct {
	db  *store.DB
	now func() time.Time
	// err is why the store cannot be used by this build (a layout it
	// cannot read or convert): every method returns it.
	err error
	// versioned is set once the layout version is stored (a new store
	// gets it with its first exam).
	versioned atomic.Bool
	// stored is called after each commit that stored an exam (see
	// OnStored).
	stored atomic.Pointer[func(Outcome, *Exam)]
	// lastMark is the last marker value written (see mark).
	lastMark atomic.Int64
}

// OnStored sets fn to be called after every Put that stored an exam
// (stored, excluded or conflict; never a duplicate), once its transaction
// is committed: the server's alert evaluation hangs on it, whichever door
// the exam came through. fn must return quickly (queue the work); nil
// removes it.
func (l *Ledger) OnStored(fn func(Outcome, *Exam)) {
	if fn == nil {
		l.stored.Store(nil)
		return
	}
	l.stored.Store(&fn)
}

// Open returns the ledger kept in db. It converts a store of layout 1 (see
// the package doc) before returning, and otherwise writes nothing until the
// first Put; a store it cannot use makes every method fail with the
// reason.
func Open(db *store.DB) *Ledger {
	l := &Ledger{db: db, now: time.Now}
	if err := l.upgrade(); err != nil {
		l.err = fmt.Errorf("ledger: %w", err)
	}
	return l
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
	// Conflict is set on a report whose SOP instance was stored first
	// under another study or source record: what differed ("patient",
	// "study" or "patient, study"). It is kept for trace and counts
	// nothing; the first stays as it was.
	Conflict string `json:"conflict,omitempty"`
}

// Excluded reports whether the entry is left out of the totals.
func (e *Entry) Excluded() bool { return e.SupersededBy != "" || e.Conflict != "" }

// RowID is the id of the entry's row: its SOP instance, or for a conflict
// the SOP instance with a suffix of its own (the SOP instance's id is the
// first report's).
func (e *Entry) RowID() string {
	if e.Conflict == "" {
		return e.Exam.SOPInstanceUID
	}
	return conflictID(&e.Exam)
}

func conflictID(x *Exam) string {
	h := sha256.Sum256([]byte(x.Key.Authority + "\x00" + x.Key.LocalID + "\x00" + x.StudyUID))
	return x.SOPInstanceUID + "#conflict-" + hex.EncodeToString(h[:6])
}

// Counting says whether an entry counts in totals, and if not why:
// "superseded", "conflict" or "" when it counts. A report whose every
// event was counted by an earlier one counts nothing either:
// "repeated".
func (e *Entry) Counting() (bool, string) {
	switch {
	case e.Conflict != "":
		return false, "conflict"
	case e.SupersededBy != "":
		return false, "superseded"
	case e.NewEvents == 0 && e.RepeatedEvents > 0:
		return false, "repeated"
	}
	return true, ""
}

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
	Conflict  Result = "conflict"  // this SOP instance was stored under another study or patient: stored for trace, not counted
)

// Outcome reports what Put did.
type Outcome struct {
	Result         Result          `json:"result"`
	SOPInstanceUID string          `json:"sop_instance_uid"`
	Key            vigie.SourceKey `json:"key"`
	NewEvents      int             `json:"new_events,omitempty"`
	RepeatedEvents int             `json:"repeated_events,omitempty"`
	// Superseded counts header exams of the same study that this SR made
	// redundant.
	Superseded int    `json:"superseded,omitempty"`
	Counted    Totals `json:"counted"`
	// SharedStudy lists the other source records that have exams under
	// this exam's study UID: an identity-vigilance matter (each keeps its
	// own exams).
	SharedStudy []vigie.SourceKey `json:"shared_study,omitempty"`
	// Conflict is what differed from the first report of the SOP
	// instance (Result Conflict), and First that report's record.
	Conflict string          `json:"conflict,omitempty"`
	First    vigie.SourceKey `json:"first,omitzero"`
}

var (
	prefixExam   = []byte("l/x/")
	prefixRow    = []byte("l/d/")
	prefixKey    = []byte("l/k/")
	prefixEvent  = []byte("l/f/")
	prefixStudy  = []byte("l/t/")
	prefixShared = []byte("l/u/")
	errDuplicate = errors.New("duplicate")
)

// formatPointer starts an l/x/ value of layout 2: where the exam's row is.
const formatPointer = 0x02

func examKey(sop string) []byte { return append(bytes.Clone(prefixExam), sop...) }

// eventKey is the marker of an irradiation event (or administration)
// counted for a source record.
func eventKey(k vigie.SourceKey, uid string) []byte {
	return append(recordPrefix(prefixEvent, k), uid...)
}

// recordPrefix is the start of a key of a per-record index (l/k/, l/f/,
// l/t/, l/q/): the index's prefix, then the record's authority and local
// id, each followed by a 0 byte.
func recordPrefix(prefix []byte, k vigie.SourceKey) []byte {
	b := make([]byte, 0, len(prefix)+len(k.Authority)+len(k.LocalID)+2)
	b = append(b, prefix...)
	b = append(b, k.Authority...)
	b = append(b, 0)
	b = append(b, k.LocalID...)
	return append(b, 0)
}

// sitePrefix is the prefix of a site's exam rows.
func sitePrefix(authority string) []byte {
	b := make([]byte, 0, len(prefixRow)+len(authority)+1)
	b = append(b, prefixRow...)
	b = append(b, authority...)
	return append(b, 0)
}

// rowKey is the key of an exam's row: site, date, SOP instance.
func rowKey(authority, date, sop string) []byte {
	b := make([]byte, 0, len(prefixRow)+len(authority)+len(date)+len(sop)+2)
	b = append(b, prefixRow...)
	b = append(b, authority...)
	b = append(b, 0)
	b = append(b, date...)
	b = append(b, 0)
	return append(b, sop...)
}

func sourcePrefix(k vigie.SourceKey) []byte { return recordPrefix(prefixKey, k) }

// studyPrefix is the prefix of a source record's exams of one study and
// domain in the supersession index.
func studyPrefix(k vigie.SourceKey, study string, d Domain) []byte {
	b := recordPrefix(prefixStudy, k)
	b = append(b, study...)
	b = append(b, 0)
	b = append(b, d...)
	return append(b, 0)
}

// kindPrefix is the prefix, under a study prefix sp (studyPrefix), of the
// exams of one source kind; an exam's key in the supersession index is it
// followed by the SOP instance UID.
func kindPrefix(sp []byte, src SourceKind) []byte {
	return append(append(bytes.Clone(sp), src...), 0)
}

// sharedPrefix is the prefix of the source records of a study.
func sharedPrefix(study string) []byte {
	b := bytes.Clone(prefixShared)
	b = append(b, study...)
	return append(b, 0)
}

func sharedKey(study string, k vigie.SourceKey) []byte {
	b := sharedPrefix(study)
	b = append(b, k.Authority...)
	b = append(b, 0)
	return append(b, k.LocalID...)
}

// studyRecords returns the source records with exams under a study.
func studyRecords(txn *store.Txn, study string) ([]vigie.SourceKey, error) {
	p := sharedPrefix(study)
	it := txn.NewIterator(store.IteratorOptions{Prefix: p})
	defer it.Close()
	var out []vigie.SourceKey
	for it.Rewind(); it.Valid(); it.Next() {
		auth, local, ok := bytes.Cut(it.Item().Key()[len(p):], []byte{0})
		if !ok {
			return nil, fmt.Errorf("corrupt study record key %q", it.Item().Key())
		}
		out = append(out, vigie.SourceKey{Authority: string(auth), LocalID: string(local)})
	}
	return out, nil
}

// StudyRecords returns the source records that have exams under a study
// UID, in key order. More than one is an identity-vigilance matter.
func (l *Ledger) StudyRecords(ctx context.Context, study string) ([]vigie.SourceKey, error) {
	if l.err != nil {
		return nil, l.err
	}
	var out []vigie.SourceKey
	err := l.db.View(func(txn *store.Txn) error {
		var err error
		out, err = studyRecords(txn, study)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: records of study %s: %w", study, err)
	}
	return out, nil
}

// Put stores an exam exactly once (see the package doc) and says what it
// did. An invalid exam is refused with a *vigie.Error and nothing is
// written; concurrent Puts touching the same events are serialised by
// retrying the transaction.
func (l *Ledger) Put(ctx context.Context, ex *Exam) (Outcome, error) {
	if l.err != nil {
		return Outcome{}, l.err
	}
	if err := ex.Validate(); err != nil {
		return Outcome{}, fmt.Errorf("ledger: put: %w", err)
	}
	var out Outcome
	err := store.UpdateRetry(ctx, l.db, func(txn *store.Txn) error {
		var err error
		if out, err = l.put(txn, ex); err != nil {
			return err
		}
		if err := l.markReport(txn, ex, out); err != nil {
			return err
		}
		return l.markPending(txn, ex)
	})
	switch {
	case errors.Is(err, errDuplicate):
		return out, nil
	case err != nil:
		return Outcome{}, fmt.Errorf("ledger: put %s: %w", ex.SOPInstanceUID, err)
	}
	l.versioned.Store(true)
	if fn := l.stored.Load(); fn != nil {
		(*fn)(out, ex)
	}
	return out, nil
}

func (l *Ledger) put(txn *store.Txn, ex *Exam) (Outcome, error) {
	out := Outcome{SOPInstanceUID: ex.SOPInstanceUID, Key: ex.Key}
	if old, err := getEntry(txn, ex.SOPInstanceUID); err == nil {
		if why := conflictOf(&old.Exam, ex); why != "" {
			return l.putConflict(txn, ex, old, why)
		}
		out.Result = Duplicate
		out.Key = old.Exam.Key
		return out, errDuplicate
	} else if !errors.Is(err, store.ErrNotFound) {
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
		found, err := store.Has(txn, eventKey(ex.Key, uid))
		switch {
		case err != nil:
			return out, err
		case found:
			e.RepeatedEvents++
			e.Counted.sub(figs[uid])
		default:
			e.NewEvents++
			if err := txn.Set(eventKey(ex.Key, uid), []byte(ex.SOPInstanceUID)); err != nil {
				return out, err
			}
		}
	}
	if len(figs) > 0 && e.NewEvents == 0 {
		// Every event was counted before: this report adds nothing, not
		// even time (which events do not always carry).
		e.Counted = Totals{}
	}

	if ex.StudyUID != "" {
		recs, err := studyRecords(txn, ex.StudyUID)
		if err != nil {
			return out, err
		}
		for _, k := range recs {
			if k != ex.Key {
				out.SharedStudy = append(out.SharedStudy, k)
			}
		}
		if len(out.SharedStudy) == len(recs) {
			if err := txn.Set(sharedKey(ex.StudyUID, ex.Key), nil); err != nil {
				return out, err
			}
		}
		sp := studyPrefix(ex.Key, ex.StudyUID, ex.Domain)
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
		if err := txn.Set(append(kindPrefix(sp, ex.Source), ex.SOPInstanceUID...), nil); err != nil {
			return out, err
		}
	}

	if err := writeEntry(txn, &e); err != nil {
		return out, err
	}
	if !l.versioned.Load() {
		if err := txn.Set(layoutKey, []byte{layoutVersion}); err != nil {
			return out, err
		}
	}
	out.Result = Stored
	if e.Excluded() {
		out.Result = Excluded
	}
	out.NewEvents, out.RepeatedEvents, out.Counted = e.NewEvents, e.RepeatedEvents, e.Effective()
	return out, nil
}

// conflictOf says what differs between the first report of a SOP
// instance and a new one ("" when they agree: a plain duplicate).
func conflictOf(first, x *Exam) string {
	var why []string
	if first.Key != x.Key {
		why = append(why, "patient")
	}
	if first.StudyUID != x.StudyUID {
		why = append(why, "study")
	}
	return strings.Join(why, ", ")
}

// putConflict stores a report whose SOP instance was stored first under
// another study or record, for trace: it counts nothing, marks no event
// and enters no study index. Sent again, it is a duplicate of itself.
func (l *Ledger) putConflict(txn *store.Txn, ex *Exam, first *Entry, why string) (Outcome, error) {
	out := Outcome{SOPInstanceUID: ex.SOPInstanceUID, Key: ex.Key, Conflict: why, First: first.Exam.Key}
	id := conflictID(ex)
	if found, err := store.Has(txn, examKey(id)); err != nil {
		return out, err
	} else if found {
		out.Result = Duplicate
		return out, errDuplicate
	}
	e := Entry{Exam: *ex, Reported: ex.Totals(), StoredAt: l.now().UTC(), Conflict: why}
	if err := writeEntry(txn, &e); err != nil {
		return out, err
	}
	if !l.versioned.Load() {
		if err := txn.Set(layoutKey, []byte{layoutVersion}); err != nil {
			return out, err
		}
	}
	out.Result = Conflict
	return out, nil
}

// firstSR returns the SOP instance of a dose SR stored for the study and
// domain under sp, or "".
func firstSR(txn *store.Txn, sp []byte) (string, error) {
	for _, src := range []SourceKind{SourceRDSR, SourceESR} {
		p := kindPrefix(sp, src)
		it := txn.NewIterator(store.IteratorOptions{Prefix: p})
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
func supersedeHeaders(txn *store.Txn, sp []byte, sop string) (int, error) {
	p := kindPrefix(sp, SourceHeader)
	it := txn.NewIterator(store.IteratorOptions{Prefix: p})
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
		if err := writeEntry(txn, e); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// writeEntry writes an exam's row, where it is (l/x/) and its place in its
// source record's list (l/k/), replacing a layout-1 value if there was one.
// The row key depends only on the site, the date and the SOP instance,
// which never change: rewriting an entry (supersession) rewrites the same
// row.
func writeEntry(txn *store.Txn, e *Entry) error {
	x := &e.Exam
	id := e.RowID()
	if err := txn.Set(rowKey(x.Key.Authority, x.Date, id), encodeEntry(e)); err != nil {
		return err
	}
	ptr := make([]byte, 0, 2+len(x.Key.Authority)+len(x.Date))
	ptr = append(ptr, formatPointer)
	ptr = append(ptr, x.Key.Authority...)
	ptr = append(ptr, 0)
	ptr = append(ptr, x.Date...)
	if err := txn.Set(examKey(id), ptr); err != nil {
		return err
	}
	return txn.Set(append(sourcePrefix(x.Key), id...), []byte(x.Date))
}

// getEntry reads the stored entry of a SOP instance through its l/x/ value.
func getEntry(txn *store.Txn, sop string) (*Entry, error) {
	item, err := txn.Get(examKey(sop))
	if err != nil {
		return nil, err
	}
	var e *Entry
	var row []byte
	err = item.Value(func(v []byte) error {
		if len(v) > 0 && v[0] == formatPointer {
			auth, date, ok := bytes.Cut(v[1:], []byte{0})
			if !ok {
				return fmt.Errorf("corrupt location %q", v)
			}
			row = rowKey(string(auth), string(date), sop)
			return nil
		}
		var err error
		e, err = decodeEntry(v)
		return err
	})
	if err == nil && row != nil {
		e, err = getRow(txn, row)
	}
	if err != nil {
		return nil, fmt.Errorf("decode exam %s: %w", sop, err)
	}
	return e, nil
}

// getRow reads and decodes one exam row.
func getRow(txn *store.Txn, key []byte) (*Entry, error) {
	item, err := txn.Get(key)
	if err != nil {
		return nil, fmt.Errorf("row %q: %w", key, err)
	}
	var e *Entry
	err = item.Value(func(v []byte) error {
		var err error
		e, err = decodeEntry(v)
		return err
	})
	return e, err
}

// Get returns the stored entry of one SOP instance, or an ENOTFOUND error.
func (l *Ledger) Get(ctx context.Context, sop string) (*Entry, error) {
	if l.err != nil {
		return nil, l.err
	}
	var e *Entry
	err := l.db.View(func(txn *store.Txn) error {
		var err error
		e, err = getEntry(txn, sop)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, vigie.Errorf(vigie.ENOTFOUND, "ledger: exam %s is not in the ledger", sop)
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: get %s: %w", sop, err)
	}
	return e, nil
}

// Exams returns the stored exams of a set of source records (the member
// records of an identity, as the patient index gives them), oldest first.
func (l *Ledger) Exams(ctx context.Context, keys []vigie.SourceKey) ([]Entry, error) {
	var out []Entry
	err := l.Histories(ctx, [][]vigie.SourceKey{keys}, nil, func(_ int, es []*Entry) error {
		out = make([]Entry, len(es))
		for i, e := range es {
			out[i] = *e
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Histories reads the exams of several patients, each a set of source
// records, in one read transaction, and calls fn with each patient's
// exams, oldest first (patient i of patients). have, when not nil, returns
// an entry the caller already holds by its SOP instance, or nil: such an
// exam is not read again. An alert scan of a site-year gives the exams it
// has just read that way, so that only the patients' exams outside the
// period or the site cost a read. fn's error stops the walk; fn may keep
// the entries.
func (l *Ledger) Histories(ctx context.Context, patients [][]vigie.SourceKey, have func(sop string) *Entry, fn func(i int, es []*Entry) error) error {
	if l.err != nil {
		return l.err
	}
	err := l.db.View(func(txn *store.Txn) error {
		it := txn.NewIterator(store.IteratorOptions{Prefix: prefixKey})
		defer it.Close()
		type ref struct{ sop, date string }
		var refs []ref
		seen := map[string]bool{}
		for i, keys := range patients {
			clear(seen)
			var es []*Entry
			for _, k := range keys {
				if err := ctx.Err(); err != nil {
					return err
				}
				p := sourcePrefix(k)
				refs = refs[:0]
				for it.Seek(p); it.ValidForPrefix(p); it.Next() {
					item := it.Item()
					r := ref{sop: string(item.Key()[len(p):])}
					if err := item.Value(func(v []byte) error { r.date = string(v); return nil }); err != nil {
						return err
					}
					refs = append(refs, r)
				}
				for _, r := range refs {
					if seen[r.sop] {
						continue
					}
					seen[r.sop] = true
					var e *Entry
					if have != nil {
						e = have(r.sop)
					}
					var err error
					switch {
					case e != nil:
					case r.date != "":
						e, err = getRow(txn, rowKey(k.Authority, r.date, r.sop))
					default:
						// A layout-1 list entry, or an exam without a
						// date: l/x/ says where the row is.
						e, err = getEntry(txn, r.sop)
					}
					if err != nil {
						return fmt.Errorf("exam %s of %s: %w", r.sop, k, err)
					}
					es = append(es, e)
				}
			}
			sortEntries(es)
			if err := fn(i, es); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("ledger: exams: %w", err)
	}
	return nil
}

// Each calls fn for every stored exam, site by site (assigning authority
// order), each site's in date order (the export reads the whole ledger
// this way). fn's error stops the walk; fn may keep the entry.
func (l *Ledger) Each(ctx context.Context, fn func(*Entry) error) error {
	if l.err != nil {
		return l.err
	}
	return l.db.View(func(txn *store.Txn) error {
		return eachRow(ctx, txn, prefixRow, nil, nil, fn)
	})
}

// eachRow decodes the exam rows with prefix p from the first key at or
// after start (nil: the first) to the last before end (nil: the last).
func eachRow(ctx context.Context, txn *store.Txn, p, start, end []byte, fn func(*Entry) error) error {
	it := txn.NewIterator(store.IteratorOptions{Prefix: p})
	defer it.Close()
	if start == nil {
		start = p
	}
	for it.Seek(start); it.Valid(); it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		item := it.Item()
		if end != nil && bytes.Compare(item.Key(), end) >= 0 {
			return nil
		}
		var e *Entry
		err := item.Value(func(v []byte) error {
			var err error
			e, err = decodeEntry(v)
			return err
		})
		if err != nil {
			return fmt.Errorf("ledger: decode %q: %w", item.Key(), err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func sortEntries(es []*Entry) {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := &es[i].Exam, &es[j].Exam
		if a.Date+a.Time != b.Date+b.Time {
			return a.Date+a.Time < b.Date+b.Time
		}
		return a.SOPInstanceUID < b.SOPInstanceUID
	})
}
