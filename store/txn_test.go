package store

import (
	"context"
	"errors"
	"fmt"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
)

func TestRetry(t *testing.T) {
	errStale := errors.New("stale")
	errOther := errors.New("other")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name     string
		ctx      context.Context
		attempts int
		fails    []error // what each attempt returns, then nil
		also     []error
		calls    int
		want     error
	}{
		{"first attempt commits", context.Background(), 5, nil, nil, 1, nil},
		{"conflicts then commits", context.Background(), 5, []error{badger.ErrConflict, fmt.Errorf("commit: %w", badger.ErrConflict)}, nil, 3, nil},
		{"conflicts until the last attempt", context.Background(), 3, []error{badger.ErrConflict, badger.ErrConflict, badger.ErrConflict, badger.ErrConflict}, nil, 3, badger.ErrConflict},
		{"a caller's own retryable error", context.Background(), 5, []error{errStale}, []error{errStale}, 2, nil},
		{"another error is returned at once", context.Background(), 5, []error{errOther}, []error{errStale}, 1, errOther},
		{"an ended context stops", canceled, 5, nil, nil, 0, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			err := Retry(tt.ctx, tt.attempts, func() error {
				calls++
				if calls <= len(tt.fails) {
					return tt.fails[calls-1]
				}
				return nil
			}, tt.also...)
			if calls != tt.calls || !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("Retry = %v after %d calls, want %v after %d", err, calls, tt.want, tt.calls)
			}
		})
	}
}

// TestUpdateRetryConflict: a read-modify-write whose commit conflicts with
// another's runs again and reads what the other committed, so that no
// increment is lost.
func TestUpdateRetryConflict(t *testing.T) {
	db, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key := []byte("t/counter")
	read := func(txn *Txn) int {
		item, err := txn.Get(key)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		v, _ := item.ValueCopy(nil)
		return int(v[0])
	}
	attempts := 0
	err = UpdateRetry(context.Background(), db, func(txn *Txn) error {
		attempts++
		n := read(txn)
		if attempts == 1 {
			// Another writer commits the same key meanwhile.
			if err := db.b.Update(func(other *Txn) error { return other.Set(key, []byte{byte(read(other) + 1)}) }); err != nil {
				return err
			}
		}
		return txn.Set(key, []byte{byte(n + 1)})
	})
	if err != nil {
		t.Fatal(err)
	}
	var got int
	db.View(func(txn *Txn) error { got = read(txn); return nil })
	if attempts != 2 || got != 2 {
		t.Errorf("attempts = %d, counter = %d; want 2 and 2", attempts, got)
	}
}
