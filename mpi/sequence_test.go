package mpi

import (
	"encoding/binary"
	"errors"
	"testing"

	badger "github.com/dgraph-io/badger/v4"

	"vigie/store"
)

func takeNumbers(t *testing.T, s interface{ Next() (uint64, error) }, n int) []uint64 {
	t.Helper()
	out := make([]uint64, n)
	for i := range out {
		v, err := s.Next()
		if err != nil {
			t.Fatal(err)
		}
		out[i] = v
	}
	return out
}

// The sequence reads and writes what badger.Sequence did, so that a store
// numbered by an earlier build goes on where it stopped, and a released
// sequence is continued without a gap, an unreleased one after its lease.
func TestSequenceContinuesBadgerSequences(t *testing.T) {
	// A Badger store of an earlier build, numbered by badger.Sequence; its
	// key is copied, as stored, into the store of this build.
	bdb, err := badger.Open(badger.DefaultOptions("").WithInMemory(true).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	old, err := bdb.GetSequence([]byte("m/s/test"), seqLease)
	if err != nil {
		t.Fatal(err)
	}
	takeNumbers(t, old, 10)
	if err := old.Release(); err != nil {
		t.Fatal(err)
	}
	var stored []byte
	if err := bdb.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte("m/s/test"))
		if err != nil {
			return err
		}
		stored, err = item.ValueCopy(nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	db := memStore(t)
	if err := store.Update(db, func(txn *store.Txn) error { return txn.Set([]byte("m/s/test"), stored) }); err != nil {
		t.Fatal(err)
	}
	s := newSequence(db, "m/s/test", nil)
	if got := takeNumbers(t, s, 3); got[0] != 10 || got[2] != 12 {
		t.Fatalf("after a released badger.Sequence at 10: %v", got)
	}
	if err := s.Release(); err != nil {
		t.Fatal(err)
	}
	again := newSequence(db, "m/s/test", nil)
	if got := takeNumbers(t, again, 1); got[0] != 13 {
		t.Fatalf("after a release at 13: %d", got[0])
	}
	// Not released (a crash): the next one starts after the lease.
	crashed := newSequence(db, "m/s/test", nil)
	if got := takeNumbers(t, crashed, 1); got[0] != 13+seqLease {
		t.Fatalf("after an unreleased lease ending at %d: %d", 13+seqLease, got[0])
	}
	// Numbers cross lease boundaries without repeating.
	seen := map[uint64]bool{}
	for _, v := range takeNumbers(t, crashed, 2*seqLease) {
		if seen[v] {
			t.Fatalf("number %d handed out twice", v)
		}
		seen[v] = true
	}
}

// With group syncs, each new lease is synced after it is committed and
// before its first number is used; a lease whose sync failed is not used.
func TestSequenceSyncsEachLease(t *testing.T) {
	db := memStore(t)
	var syncs []uint64 // the stored lease end at each sync
	fail := errors.New("sync failed")
	failNext := false
	s := newSequence(db, "m/s/test", func() error {
		err := db.View(func(txn *store.Txn) error {
			item, err := txn.Get([]byte("m/s/test"))
			if err != nil {
				return err
			}
			return item.Value(func(v []byte) error {
				syncs = append(syncs, binary.BigEndian.Uint64(v))
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		if failNext {
			failNext = false
			return fail
		}
		return nil
	})
	takeNumbers(t, s, seqLease+1)
	if len(syncs) != 2 || syncs[0] != seqLease || syncs[1] != 2*seqLease {
		t.Fatalf("syncs saw leases %v, want [%d %d]", syncs, seqLease, 2*seqLease)
	}
	takeNumbers(t, s, seqLease-1) // the rest of the second lease
	failNext = true
	if _, err := s.Next(); !errors.Is(err, fail) {
		t.Fatalf("Next with a failed lease sync: %v", err)
	}
	v, err := s.Next()
	if err != nil {
		t.Fatal(err)
	}
	if v != 3*seqLease {
		t.Fatalf("after a lease whose sync failed: %d, want %d (the unsynced lease skipped)", v, 3*seqLease)
	}
}
