package mpi

import (
	"encoding/binary"
	"fmt"
	"sync"

	"vigie/store"
)

// sequence hands out increasing numbers (identity ids, event sequences,
// review and order numbers), leasing them from the store seqLease at a
// time. It is badger.Sequence with the same stored form (the end of the
// current lease, 8 bytes big-endian), so that existing stores open as
// they were, and one difference: on a store whose commits are synced in
// groups (Options.Sync), a new lease is made durable before its first
// number is used. Otherwise a power loss could keep a record written
// with a number of the new lease but lose the lease itself, and the
// number would be handed out again.
type sequence struct {
	db   *store.DB
	key  []byte
	sync func() error // nil: every commit is durable on its own

	mu           sync.Mutex
	next, leased uint64
}

func newSequence(db *store.DB, key string, sync func() error) *sequence {
	return &sequence{db: db, key: []byte(key), sync: sync}
}

// Next returns the next number.
func (s *sequence) Next() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next >= s.leased {
		if err := s.lease(); err != nil {
			return 0, err
		}
	}
	n := s.next
	s.next++
	return n, nil
}

// lease records a new lease starting at the stored end of the last one.
func (s *sequence) lease() error {
	var start uint64
	err := store.Update(s.db, func(txn *store.Txn) error {
		var err error
		if start, err = s.stored(txn); err != nil {
			return err
		}
		return txn.Set(s.key, binary.BigEndian.AppendUint64(nil, start+seqLease))
	})
	if err == nil && s.sync != nil {
		err = s.sync()
	}
	if err != nil {
		return fmt.Errorf("mpi: lease numbers of %s: %w", s.key, err)
	}
	s.next, s.leased = start, start+seqLease
	return nil
}

// stored reads the end of the last lease (0 for a new sequence).
func (s *sequence) stored(txn *store.Txn) (uint64, error) {
	v, found, err := store.Get(txn, s.key)
	if err != nil || !found {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("stored lease of %d bytes, want 8", len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// Release gives back the unused rest of the lease, so that the next
// opening of the store starts where this one stopped. Under the store's
// disk reserve it is refused like any write: the next opening then skips
// the rest of the lease, which costs numbers, not data.
func (s *sequence) Release() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next >= s.leased {
		return nil
	}
	err := store.Update(s.db, func(txn *store.Txn) error {
		end, err := s.stored(txn)
		if err != nil || end != s.leased {
			return err
		}
		return txn.Set(s.key, binary.BigEndian.AppendUint64(nil, s.next))
	})
	if err != nil {
		return fmt.Errorf("mpi: release numbers of %s: %w", s.key, err)
	}
	s.leased = s.next
	return nil
}
