package dosimetry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"vigie"
	"vigie/store"
)

// AlertStore keeps raised alerts in the store's x/ namespace (see the
// package doc for the key layout). Alerts are never deleted: an
// acknowledgement is appended to the alert.
type AlertStore struct {
	db  *store.DB
	now func() time.Time
}

// OpenAlerts returns the alert store kept in db (opened with store.Open).
func OpenAlerts(db *store.DB) *AlertStore {
	return &AlertStore{db: db, now: time.Now}
}

var prefixAlert = []byte("x/a/")

// Pregnancies returns the pregnancy declarations kept in the same store
// as the alerts, which the foetal-dose rule reads.
func (s *AlertStore) Pregnancies() *PregnancyStore { return &PregnancyStore{db: s.db, now: s.now} }

func alertKey(id string) []byte { return append(bytes.Clone(prefixAlert), id...) }

// prefixAttachment holds what an alert carries besides its text (the skin
// map of a peak skin dose alert), stored with the alert, under its ID.
var prefixAttachment = []byte("x/m/")

func attachmentKey(id string) []byte { return append(bytes.Clone(prefixAttachment), id...) }

// Attachment returns what is attached to an alert (its Attachment names
// it), or an ENOTFOUND error.
func (s *AlertStore) Attachment(ctx context.Context, id string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []byte
	var found bool
	err := s.db.View(func(txn *store.Txn) (err error) {
		out, found, err = store.Get(txn, attachmentKey(id))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dosimetry: alert attachment: %w", err)
	}
	if !found {
		return nil, vigie.Errorf(vigie.ENOTFOUND, "dosimetry: alert %s has no attachment", id)
	}
	return out, nil
}

// raiseBatch bounds the alerts written in one transaction.
const raiseBatch = 256

// RaiseAll stores the alerts not stored yet (by ID) and returns how many it
// stored. Alerts already stored, acknowledged or not, are left as they are.
func (s *AlertStore) RaiseAll(ctx context.Context, alerts []Alert) (int, error) {
	n := 0
	for start := 0; start < len(alerts); start += raiseBatch {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		batch := alerts[start:min(start+raiseBatch, len(alerts))]
		added := 0
		err := store.UpdateRetry(ctx, s.db, func(txn *store.Txn) error {
			added = 0
			now := s.now().UTC()
			inBatch := map[string]bool{}
			for i := range batch {
				a := batch[i]
				if a.ID == "" {
					return vigie.Invalid("id", "alert of kind %s on %s has no ID", a.Kind, a.SOP)
				}
				if inBatch[a.ID] {
					continue
				}
				inBatch[a.ID] = true
				if found, err := store.Has(txn, alertKey(a.ID)); err != nil {
					return err
				} else if found {
					continue
				}
				a.RaisedAt, a.Acks = now, nil
				v, err := json.Marshal(&a)
				if err != nil {
					return err
				}
				if err := txn.Set(alertKey(a.ID), v); err != nil {
					return err
				}
				if a.Attachment != "" && len(a.attachment) > 0 {
					if err := txn.Set(attachmentKey(a.ID), a.attachment); err != nil {
						return err
					}
				}
				added++
			}
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("dosimetry: raise alerts: %w", err)
		}
		n += added
	}
	return n, nil
}

// Get returns one alert, or an ENOTFOUND error.
func (s *AlertStore) Get(ctx context.Context, id string) (*Alert, error) {
	var a Alert
	var found bool
	err := s.db.View(func(txn *store.Txn) (err error) {
		found, err = store.Read(txn, alertKey(id), func(v []byte) error { return json.Unmarshal(v, &a) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dosimetry: alert %s: %w", id, err)
	}
	if !found {
		return nil, vigie.Errorf(vigie.ENOTFOUND, "dosimetry: alert %s does not exist", id)
	}
	return &a, nil
}

// AlertFilter selects alerts to list (empty fields select all).
type AlertFilter struct {
	Site string `json:"site,omitempty"`
	Kind string `json:"kind,omitempty"`
	// Open lists only the alerts nobody acknowledged.
	Open bool   `json:"open,omitempty"`
	From string `json:"from,omitempty"` // exam date, inclusive
	To   string `json:"to,omitempty"`
	// Identity and Key select one patient's alerts: those of a regional
	// identity (per-patient rules) or of one source record.
	Identity string          `json:"identity,omitempty"`
	Key      vigie.SourceKey `json:"key,omitempty"`
}

// List returns the alerts the filter selects, most recent exam first.
func (s *AlertStore) List(ctx context.Context, f AlertFilter) ([]Alert, error) {
	var out []Alert
	err := s.db.View(func(txn *store.Txn) error {
		it := txn.NewIterator(store.IteratorOptions{Prefix: prefixAlert, PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			var a Alert
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &a) }); err != nil {
				return fmt.Errorf("decode %s: %w", it.Item().Key(), err)
			}
			if (f.Site != "" && a.Site != f.Site) || (f.Kind != "" && a.Kind != f.Kind) || (f.Open && a.Acknowledged()) ||
				(f.From != "" && a.Date < f.From) || (f.To != "" && a.Date > f.To) ||
				(f.Identity != "" && a.Identity != f.Identity) || (f.Key != (vigie.SourceKey{}) && a.Key != f.Key) {
				continue
			}
			out = append(out, a)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dosimetry: list alerts: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Date != out[j].Date {
			return out[i].Date > out[j].Date
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Ack appends an acknowledgement (who, and what they did or decided) to an
// alert and returns it. Both actor and comment are required: an
// acknowledgement is a trace of the follow-up.
func (s *AlertStore) Ack(ctx context.Context, id, actor, comment string) (*Alert, error) {
	actor, comment = strings.TrimSpace(actor), strings.TrimSpace(comment)
	if actor == "" {
		return nil, vigie.Invalid("actor", "is required: say who acknowledges the alert")
	}
	if comment == "" {
		return nil, vigie.Invalid("comment", "is required: say what was done or decided")
	}
	if len(comment) > 4000 {
		return nil, vigie.Invalid("comment", "is %d bytes, at most 4000", len(comment))
	}
	var a Alert
	err := store.UpdateRetry(ctx, s.db, func(txn *store.Txn) error {
		item, err := txn.Get(alertKey(id))
		if err != nil {
			return err
		}
		if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &a) }); err != nil {
			return err
		}
		a.Acks = append(a.Acks, Ack{At: s.now().UTC(), Actor: actor, Comment: comment})
		v, err := json.Marshal(&a)
		if err != nil {
			return err
		}
		return txn.Set(alertKey(id), v)
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, vigie.Errorf(vigie.ENOTFOUND, "dosimetry: alert %s does not exist", id)
	case err != nil:
		return nil, fmt.Errorf("dosimetry: ack %s: %w", id, err)
	}
	return &a, nil
}
