package store

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// vlogSize returns the bytes of the store's value-log files.
func vlogSize(t *testing.T, dir string) int64 {
	t.Helper()
	n, err := ValueLogBytes(dir)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestServiceStoreKeepsLargeValuesInTheValueLog(t *testing.T) {
	small, large := []byte("identity"), bytes.Repeat([]byte("r"), valueThreshold)
	// readBack checks that every value reads back, wherever it was kept.
	readBack := func(t *testing.T, db *DB) {
		t.Helper()
		err := db.View(func(txn *Txn) error {
			for i := 0; i < 200; i++ {
				for _, kv := range []struct {
					k string
					v []byte
				}{{fmt.Sprintf("s/%03d", i), small}, {fmt.Sprintf("l/%03d", i), large}} {
					it, err := txn.Get([]byte(kv.k))
					if err != nil {
						return fmt.Errorf("%s: %w", kv.k, err)
					}
					v, err := it.ValueCopy(nil)
					if err != nil {
						return err
					}
					if !bytes.Equal(v, kv.v) {
						return fmt.Errorf("%s: read %d bytes, wrote %d", kv.k, len(v), len(kv.v))
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name    string
		opts    Options
		inTable bool
	}{
		{"durable", Options{}, false},
		{"deferred", Options{Deferred: true}, false},
		{"bulk", Options{NoSync: true}, true},
		{"in memory", Options{InMemory: true}, true}, // Badger has no value log in memory
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := ""
			if !tc.opts.InMemory {
				dir = t.TempDir()
			}
			db, err := Open(dir, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			err = db.b.Update(func(txn *Txn) error {
				for i := 0; i < 200; i++ {
					if err := txn.Set(fmt.Appendf(nil, "s/%03d", i), small); err != nil {
						return err
					}
					if err := txn.Set(fmt.Appendf(nil, "l/%03d", i), large); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			readBack(t, db)
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			if tc.opts.InMemory {
				return
			}
			got := vlogSize(t, dir)
			if inLog := got >= int64(200*valueThreshold); inLog == tc.inTable {
				t.Fatalf("value log holds %d bytes after 200 values of %d bytes; want them in the tables: %v", got, valueThreshold, tc.inTable)
			}
			if db, err = Open(dir, Options{}); err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			readBack(t, db)
		})
	}
}

func TestCollectGarbageReclaimsSupersededValues(t *testing.T) {
	defer func(n int64) { valueLogFileSize = n }(valueLogFileSize)
	valueLogFileSize = 1 << 20
	dir := t.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Six rounds of the same 2,000 keys (2 MB a round), each closed so
	// that its memtable becomes a table of level 0: the first five are
	// superseded, in files the log has moved on from. Six tables of level
	// 0 are over Badger's bound of five: Flatten compacts them, dropping
	// the older versions and counting what it drops per value-log file.
	const rounds = 6
	for round := 0; round < rounds; round++ {
		val := bytes.Repeat([]byte{byte('a' + round)}, 1024)
		for i := 0; i < 2000; i += 100 {
			err := db.b.Update(func(txn *Txn) error {
				for j := i; j < i+100; j++ {
					if err := txn.Set(fmt.Appendf(nil, "k/%04d", j), val); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if db, err = Open(dir, Options{}); err != nil {
			t.Fatal(err)
		}
	}
	defer db.Close()
	if err := db.b.Flatten(1); err != nil {
		t.Fatal(err)
	}
	before := vlogSize(t, dir)
	n, err := CollectGarbage(db, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	after := vlogSize(t, dir)
	if n == 0 || after >= before {
		t.Fatalf("collected %d files, value log %d → %d bytes; want files rewritten and the log smaller", n, before, after)
	}
	want := bytes.Repeat([]byte{byte('a' + rounds - 1)}, 1024)
	err = db.View(func(txn *Txn) error {
		for i := 0; i < 2000; i++ {
			it, err := txn.Get(fmt.Appendf(nil, "k/%04d", i))
			if err != nil {
				return err
			}
			v, err := it.ValueCopy(nil)
			if err != nil {
				return err
			}
			if !bytes.Equal(v, want) {
				return fmt.Errorf("k/%04d lost its latest value", i)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCollectGarbageRefusesUnsyncedStores(t *testing.T) {
	for _, o := range []Options{{Deferred: true}, {NoSync: true}} {
		db, err := Open(t.TempDir(), o)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := CollectGarbage(db, 0.5); !errors.Is(err, ErrNotDurable) {
			t.Errorf("%+v: got %v, want ErrNotDurable", o, err)
		}
		db.Close()
	}
}
