package mpi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"vigie"

	"vigie/matcher"
	"vigie/store"
)

func TestWarm(t *testing.T) {
	db := memStore(t)
	ix, err := Open(db, matcher.DefaultModel(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 600 // more than the smallest cache (64 kB) holds
	for i := range n {
		r := person("1.2.250.1.1", fmt.Sprintf("P%03d", i))
		r.BirthName = fmt.Sprintf("NOM%03d", i)
		if _, err := ix.Resolve(ctx, r, System); err != nil {
			t.Fatal(err)
		}
	}
	// Updated records: only their current version may be cached.
	updated := person("1.2.250.1.1", "P001")
	updated.BirthName, updated.City = "NOM001", "MERIGNAC"
	if _, err := ix.Resolve(ctx, updated, System); err != nil {
		t.Fatal(err)
	}
	ix.Close()

	// cached returns how many records' current forms the cache holds, and
	// fails when one differs from the stored form.
	cached := func(ix *Index) int {
		t.Helper()
		hits := 0
		err := db.View(func(txn *store.Txn) error {
			for i := range n {
				k := vigie.SourceKey{Authority: "1.2.250.1.1", LocalID: fmt.Sprintf("P%03d", i)}
				ord, ok := ix.keys.find(k)
				if !ok {
					return fmt.Errorf("%s unknown to the mirror", k)
				}
				version := int(ix.recVersion[ord])
				item, err := txn.Get(normalKey(k, version))
				if err != nil {
					return fmt.Errorf("%s version %d: %w", k, version, err)
				}
				stored, err := item.ValueCopy(nil)
				if err != nil {
					return err
				}
				var got []byte
				hit, err := ix.cache.get(ord, version, func(b []byte) error { got = bytes.Clone(b); return nil })
				if err != nil {
					return err
				}
				if hit {
					hits++
					if !bytes.Equal(got, stored) {
						return fmt.Errorf("%s: the cached form differs from the stored one", k)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return hits
	}

	for _, tc := range []struct {
		name    string
		records int // cache size in records (Options.CacheRecords)
		want    func(warmed int) bool
	}{
		{"a large cache takes every current form", 100_000, func(w int) bool { return w == n }},
		{"a small cache fills and stops", 1, func(w int) bool { return w > 0 && w < n }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix, err := Open(db, matcher.DefaultModel(), Options{CacheRecords: tc.records})
			if err != nil {
				t.Fatal(err)
			}
			defer ix.Close()
			if got := cached(ix); got != 0 {
				t.Fatalf("a freshly opened index caches %d forms, want 0", got)
			}
			warmed, err := ix.Warm(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.want(warmed) {
				t.Errorf("Warm cached %d forms of %d records", warmed, n)
			}
			if got := cached(ix); got != warmed {
				t.Errorf("the cache holds %d current forms, Warm reported %d", got, warmed)
			}
			// Resolving again gives what the stored forms give.
			res, err := ix.Resolve(ctx, updated, System)
			if err != nil {
				t.Fatal(err)
			}
			if res.Decision != DecisionUnchanged {
				t.Errorf("re-sent record: decision %s, want %s", res.Decision, DecisionUnchanged)
			}
		})
	}
}

func TestWarmCancelled(t *testing.T) {
	ix := openIndex(t, nil)
	resolve(t, ix, person("1.2.250.1.1", "P1"))
	c, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ix.Warm(c); !errors.Is(err, context.Canceled) {
		t.Errorf("Warm with a cancelled context: %v, want context.Canceled", err)
	}
}
