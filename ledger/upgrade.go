package ledger

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"vigie"

	"vigie/store"
)

// layoutVersion is the ledger layout this build writes (see the package
// doc). layoutKey holds it.
const layoutVersion = 4

var layoutKey = []byte("l/v")

// upgradeBatch is how many exams one conversion transaction rewrites:
// small enough for Badger's transaction limits, large enough to amortise
// the commits.
const upgradeBatch = 500

// upgrade checks the ledger's layout version, converts a layout-1 store
// (exams as JSON under l/x/, no rows by site and date) and records the
// version. It is idempotent and resumable: a conversion cut short leaves
// every exam either converted or untouched, never half-written, and the
// version is recorded only once nothing is left to convert.
func (l *Ledger) upgrade() error {
	var version []byte
	err := l.db.View(func(txn *store.Txn) (err error) {
		version, _, err = store.Get(txn, layoutKey)
		return err
	})
	if err != nil {
		return fmt.Errorf("read the layout version: %w", err)
	}
	switch {
	case version == nil:
	case len(version) != 1 || version[0] > layoutVersion:
		return fmt.Errorf("the stored ledger has layout %v, newer than this build's %d: upgrade vigie", version, layoutVersion)
	case version[0] == layoutVersion:
		l.versioned.Store(true)
		return nil
	}
	if version == nil {
		n, seen, err := l.convert()
		if err != nil {
			return fmt.Errorf("convert the stored exams to layout 2 (%d converted so far; the next start resumes): %w", n, err)
		}
		if !seen {
			// An empty ledger: the first Put records the version.
			return nil
		}
	}
	if version == nil || version[0] < 3 {
		if err := l.reindex(); err != nil {
			return fmt.Errorf("index the stored exams by source record (layout 3; the next start resumes): %w", err)
		}
	}
	if err := l.rescopeEvents(); err != nil {
		return fmt.Errorf("scope the event markers per source record (layout 4; the next start resumes): %w", err)
	}
	if err := store.Update(l.db, func(txn *store.Txn) error { return txn.Set(layoutKey, []byte{layoutVersion}) }); err != nil {
		return fmt.Errorf("record the layout version: %w", err)
	}
	l.versioned.Store(true)
	return nil
}

// convert rewrites every layout-1 exam (a JSON value under l/x/) as a row
// by site and date with its location, in batches of one transaction each.
// It returns how many it converted and whether the ledger holds any exam.
func (l *Ledger) convert() (n int, seen bool, err error) {
	var start time.Time
	after := prefixExam
	for {
		type old struct {
			sop string
			e   *Entry
		}
		var batch []old
		var last []byte
		err = l.db.View(func(txn *store.Txn) error {
			it := txn.NewIterator(store.IteratorOptions{Prefix: prefixExam})
			defer it.Close()
			for it.Seek(after); it.Valid() && len(batch) < upgradeBatch; it.Next() {
				item := it.Item()
				if bytes.Equal(item.Key(), after) {
					continue
				}
				last = item.KeyCopy(last[:0])
				sop := string(item.Key()[len(prefixExam):])
				err := item.Value(func(v []byte) error {
					if len(v) > 0 && v[0] == formatPointer {
						return nil
					}
					e, err := decodeEntry(v)
					if err != nil {
						return err
					}
					if e.Exam.SOPInstanceUID != sop {
						return fmt.Errorf("holds SOP instance %q", e.Exam.SOPInstanceUID)
					}
					batch = append(batch, old{sop, e})
					return nil
				})
				if err != nil {
					return fmt.Errorf("exam %s: %w", sop, err)
				}
			}
			return nil
		})
		if err != nil {
			return n, seen, err
		}
		seen = seen || last != nil
		if len(batch) > 0 {
			if n == 0 {
				start = time.Now()
				slog.Info("ledger: converting the stored exams to layout 2 (rows by site and date); once, about a minute per million exams")
			}
			err := store.Update(l.db, func(txn *store.Txn) error {
				for _, o := range batch {
					if err := writeEntry(txn, o.e); err != nil {
						return fmt.Errorf("exam %s: %w", o.sop, err)
					}
				}
				return nil
			})
			if err != nil {
				return n, seen, err
			}
			n += len(batch)
		}
		if last == nil {
			break
		}
		after = last
	}
	if n > 0 {
		slog.Info("ledger: stored exams converted to layout 2", "exams", n, "seconds", time.Since(start).Round(time.Millisecond).Seconds())
	}
	return n, seen, nil
}

// reindex builds the layout-3 study indexes (supersession per source
// record, l/t/, and the records of a study, l/u/) from the exam rows, and
// gives back its figures to every header exam that only a dose SR of
// another source record superseded (layout 2 superseded by study alone).
// Both passes are idempotent: a conversion cut short is run again whole.
func (l *Ledger) reindex() error {
	start := time.Now()
	var (
		batch    []*Entry
		restored int
		indexed  int
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := store.Update(l.db, func(txn *store.Txn) error {
			for _, e := range batch {
				x := &e.Exam
				if err := txn.Set(sharedKey(x.StudyUID, x.Key), nil); err != nil {
					return err
				}
				if err := txn.Set(append(kindPrefix(studyPrefix(x.Key, x.StudyUID, x.Domain), x.Source), x.SOPInstanceUID...), nil); err != nil {
					return err
				}
			}
			return nil
		})
		indexed += len(batch)
		batch = batch[:0]
		return err
	}
	var superseded []*Entry
	err := l.db.View(func(txn *store.Txn) error {
		return eachRow(context.Background(), txn, prefixRow, nil, nil, func(e *Entry) error {
			if e.Conflict != "" || e.Exam.StudyUID == "" {
				return nil
			}
			batch = append(batch, e)
			if e.SupersededBy != "" {
				superseded = append(superseded, e)
			}
			if len(batch) >= upgradeBatch {
				return flush()
			}
			return nil
		})
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return err
	}
	for _, h := range superseded {
		err := store.Update(l.db, func(txn *store.Txn) error {
			x := &h.Exam
			sr, err := firstSR(txn, studyPrefix(x.Key, x.StudyUID, x.Domain))
			if err != nil || sr != "" {
				return err
			}
			cur, err := getEntry(txn, x.SOPInstanceUID)
			if err != nil {
				return err
			}
			cur.SupersededBy = ""
			restored++
			return writeEntry(txn, cur)
		})
		if err != nil {
			return fmt.Errorf("header exam %s: %w", h.Exam.SOPInstanceUID, err)
		}
	}
	if indexed > 0 {
		slog.Info("ledger: stored exams indexed by source record (layout 3)", "exams", indexed,
			"headers_restored", restored, "seconds", time.Since(start).Round(time.Millisecond).Seconds())
	}
	return nil
}

// rescopeEvents builds the layout-4 event markers (l/f/, per source
// record) from the exam rows and recounts each record's exams in the order
// they were stored, as Put counts them: an exam whose figures an event of
// another record had taken out (layout 3 marked events by UID alone) gets
// them back. It reads one source record at a time through l/k/ and is
// idempotent: a conversion cut short is run again whole.
func (l *Ledger) rescopeEvents() error {
	start := time.Now()
	var records, restored int
	after := prefixKey
	for {
		type record struct {
			key vigie.SourceKey
			es  []*Entry
		}
		var batch []record
		var last []byte
		n := 0
		err := l.db.View(func(txn *store.Txn) error {
			it := txn.NewIterator(store.IteratorOptions{Prefix: prefixKey})
			defer it.Close()
			for it.Seek(after); it.Valid(); it.Next() {
				item := it.Item()
				if bytes.Equal(item.Key(), after) {
					continue
				}
				rest := item.Key()[len(prefixKey):]
				auth, rest, ok1 := bytes.Cut(rest, []byte{0})
				local, sop, ok2 := bytes.Cut(rest, []byte{0})
				if !ok1 || !ok2 {
					return fmt.Errorf("corrupt record key %q", item.Key())
				}
				k := vigie.SourceKey{Authority: string(auth), LocalID: string(local)}
				if len(batch) == 0 || batch[len(batch)-1].key != k {
					if n >= upgradeBatch {
						return nil // the batch ends at a record's boundary
					}
					batch = append(batch, record{key: k})
				}
				last = item.KeyCopy(last[:0])
				e, err := getEntry(txn, string(sop))
				if err != nil {
					return fmt.Errorf("exam %s of %s: %w", sop, k, err)
				}
				r := &batch[len(batch)-1]
				r.es = append(r.es, e)
				n++
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			break
		}
		err = store.Update(l.db, func(txn *store.Txn) error {
			for _, r := range batch {
				sort.SliceStable(r.es, func(i, j int) bool {
					a, b := r.es[i], r.es[j]
					if !a.StoredAt.Equal(b.StoredAt) {
						return a.StoredAt.Before(b.StoredAt)
					}
					return a.Exam.SOPInstanceUID < b.Exam.SOPInstanceUID
				})
				seen := map[string]bool{}
				for _, e := range r.es {
					if e.Conflict != "" {
						continue
					}
					c := *e
					for _, uid := range recount(&c, seen) {
						if err := txn.Set(eventKey(r.key, uid), []byte(e.Exam.SOPInstanceUID)); err != nil {
							return err
						}
					}
					if c.NewEvents != e.NewEvents || c.RepeatedEvents != e.RepeatedEvents || c.Counted != e.Counted {
						restored++
						if err := writeEntry(txn, &c); err != nil {
							return err
						}
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		records += len(batch)
		after = bytes.Clone(last)
	}
	if records > 0 {
		slog.Info("ledger: event markers scoped per source record (layout 4)", "records", records,
			"exams_recounted", restored, "seconds", time.Since(start).Round(time.Millisecond).Seconds())
	}
	return nil
}

// recount sets e's counted figures as Put counts them, seen holding the
// events already counted for the record (updated), and returns the events
// e counts first.
func recount(e *Entry, seen map[string]bool) []string {
	e.Counted, e.NewEvents, e.RepeatedEvents = e.Reported, 0, 0
	figs := e.Exam.eventFigures()
	uids := make([]string, 0, len(figs))
	for uid := range figs {
		uids = append(uids, uid)
	}
	sort.Strings(uids)
	var first []string
	for _, uid := range uids {
		if seen[uid] {
			e.RepeatedEvents++
			e.Counted.sub(figs[uid])
			continue
		}
		seen[uid] = true
		e.NewEvents++
		first = append(first, uid)
	}
	if len(figs) > 0 && e.NewEvents == 0 {
		e.Counted = Totals{}
	}
	return first
}
