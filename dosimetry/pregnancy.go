package dosimetry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"vigie"
	"vigie/store"
)

// Pregnancy is a pregnancy declared by a user (DoseService.
// DeclarePregnancy): the exams of its period get a foetal-dose estimate as
// if their DICOM Pregnancy Status said "pregnant".
type Pregnancy struct {
	Start  string    `json:"start"` // YYYY-MM-DD
	End    string    `json:"end"`   // YYYY-MM-DD
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

// PregnancyDays is how long a declaration without an end lasts: 42
// weeks, the end of a post-term pregnancy, so that no exam of the
// pregnancy is left out.
const PregnancyDays = 42 * 7

// Covers reports whether the pregnancy covers a date (YYYY-MM-DD).
func (p Pregnancy) Covers(date string) bool {
	return isISODate(date) && date >= p.Start && date <= p.End
}

// PregnancyStore keeps declared pregnancies per source record, in the x/
// namespace:
//
//	x/g/<authority> NUL <local id> NUL <start> → Pregnancy (JSON)
//
// A declaration on an identity is written for each of its source records
// at that time, so a later merge or unmerge in the patient index keeps it
// with the records it was made for.
type PregnancyStore struct {
	db  *store.DB
	now func() time.Time
}

// OpenPregnancies returns the pregnancy declarations kept in db.
func OpenPregnancies(db *store.DB) *PregnancyStore {
	return &PregnancyStore{db: db, now: time.Now}
}

var prefixPregnancy = []byte("x/g/")

func pregnancyPrefix(k vigie.SourceKey) []byte {
	b := append(bytes.Clone(prefixPregnancy), k.Authority...)
	b = append(b, 0)
	b = append(b, k.LocalID...)
	return append(b, 0)
}

// Declare records a pregnancy from start to end (YYYY-MM-DD; end empty:
// PregnancyDays after start) for the source records keys, by actor, for
// reason. A declaration with the same start replaces the earlier one.
func (s *PregnancyStore) Declare(ctx context.Context, keys []vigie.SourceKey, start, end, actor, reason string) (Pregnancy, error) {
	p := Pregnancy{Start: strings.TrimSpace(start), End: strings.TrimSpace(end), By: actor, Reason: strings.TrimSpace(reason), At: s.now().UTC()}
	st, err := time.Parse(time.DateOnly, p.Start)
	if err != nil {
		return p, vigie.Invalid("start_date", "%q is not a date YYYY-MM-DD", start)
	}
	if p.End == "" {
		p.End = st.AddDate(0, 0, PregnancyDays).Format(time.DateOnly)
	}
	en, err := time.Parse(time.DateOnly, p.End)
	switch {
	case err != nil:
		return p, vigie.Invalid("end_date", "%q is not a date YYYY-MM-DD", end)
	case en.Before(st):
		return p, vigie.Invalid("end_date", "%s is before the start %s", p.End, p.Start)
	case en.Sub(st) > 320*24*time.Hour:
		return p, vigie.Invalid("end_date", "%s is more than 320 days after the start %s", p.End, p.Start)
	case p.Reason == "":
		return p, vigie.Invalid("reason", "is required: say who declared the pregnancy")
	case len(keys) == 0:
		return p, vigie.Invalid("identity_id", "has no source record")
	}
	if err := ctx.Err(); err != nil {
		return p, err
	}
	v, err := json.Marshal(&p)
	if err != nil {
		return p, err
	}
	err = store.Update(s.db, func(txn *store.Txn) error {
		for _, k := range keys {
			if err := txn.Set(append(pregnancyPrefix(k), p.Start...), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return p, fmt.Errorf("dosimetry: declare pregnancy: %w", err)
	}
	return p, nil
}

// Of returns the pregnancies declared for the source records keys, by
// start date (one per start date).
func (s *PregnancyStore) Of(ctx context.Context, keys ...vigie.SourceKey) ([]Pregnancy, error) {
	byStart := map[string]Pregnancy{}
	err := s.db.View(func(txn *store.Txn) error {
		for _, k := range keys {
			it := txn.NewIterator(store.IteratorOptions{Prefix: pregnancyPrefix(k), PrefetchValues: true})
			for it.Rewind(); it.Valid(); it.Next() {
				if err := ctx.Err(); err != nil {
					it.Close()
					return err
				}
				var p Pregnancy
				if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &p) }); err != nil {
					it.Close()
					return fmt.Errorf("decode %q: %w", it.Item().Key(), err)
				}
				if old, ok := byStart[p.Start]; !ok || p.At.After(old.At) {
					byStart[p.Start] = p
				}
			}
			it.Close()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dosimetry: pregnancies: %w", err)
	}
	out := make([]Pregnancy, 0, len(byStart))
	for _, p := range byStart {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out, nil
}

// Pregnant returns a Scanner.Pregnant that reads the declarations, each
// record's once per evaluation. A read error is returned (the scan fails
// and is caught up later) rather than taken for no declaration.
func (s *PregnancyStore) Pregnant(ctx context.Context) func(k vigie.SourceKey, date string) (bool, error) {
	cache := map[vigie.SourceKey][]Pregnancy{}
	return func(k vigie.SourceKey, date string) (bool, error) {
		ps, ok := cache[k]
		if !ok {
			var err error
			if ps, err = s.Of(ctx, k); err != nil {
				return false, fmt.Errorf("pregnancy declarations of %s: %w", k, err)
			}
			cache[k] = ps
		}
		for _, p := range ps {
			if p.Covers(date) {
				return true, nil
			}
		}
		return false, nil
	}
}
