package store

import (
	"bytes"
	"errors"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
)

// TestGetReadHas: a present key is found with its value (an empty value
// too), an absent one is not found with no error, and any other failure
// of the read, or fn's own error, is returned.
func TestGetReadHas(t *testing.T) {
	db, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := Update(db, func(txn *Txn) error {
		if err := txn.Set([]byte("t/full"), []byte("value")); err != nil {
			return err
		}
		return txn.Set([]byte("t/empty"), nil)
	}); err != nil {
		t.Fatal(err)
	}
	errFn := errors.New("fn failed")
	tests := []struct {
		name      string
		key       string
		discarded bool  // read in a discarded transaction
		fnErr     error // what Read's fn returns
		found     bool
		value     string
		err       error
	}{
		{"present", "t/full", false, nil, true, "value", nil},
		{"present, empty value", "t/empty", false, nil, true, "", nil},
		{"absent", "t/none", false, nil, false, "", nil},
		{"a failed read is an error, not absent", "t/full", true, nil, false, "", badger.ErrDiscardedTxn},
		{"fn's error", "t/full", false, errFn, true, "", errFn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			txn := db.NewReadTxn()
			defer txn.Discard()
			if tt.discarded {
				txn.Discard()
			}
			if tt.fnErr == nil {
				v, found, err := Get(txn, []byte(tt.key))
				if found != tt.found || string(v) != tt.value || !errors.Is(err, tt.err) {
					t.Errorf("Get = %q, %v, %v; want %q, %v, %v", v, found, err, tt.value, tt.found, tt.err)
				}
				has, err := Has(txn, []byte(tt.key))
				if has != tt.found || !errors.Is(err, tt.err) {
					t.Errorf("Has = %v, %v; want %v, %v", has, err, tt.found, tt.err)
				}
			}
			called := false
			found, err := Read(txn, []byte(tt.key), func(v []byte) error {
				called = true
				if string(v) != tt.value && tt.fnErr == nil {
					t.Errorf("Read's fn got %q, want %q", v, tt.value)
				}
				return tt.fnErr
			})
			if found != tt.found || called != tt.found || !errors.Is(err, tt.err) {
				t.Errorf("Read = %v, %v (fn called: %v); want %v, %v", found, err, called, tt.found, tt.err)
			}
		})
	}
}

// TestGetCopies: Get's value stays what it was after its transaction
// ends (it is a copy, not Badger's buffer).
func TestGetCopies(t *testing.T) {
	db, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := bytes.Repeat([]byte("v"), 100)
	if err := Update(db, func(txn *Txn) error { return txn.Set([]byte("t/k"), want) }); err != nil {
		t.Fatal(err)
	}
	var got []byte
	if err := db.View(func(txn *Txn) (err error) { got, _, err = Get(txn, []byte("t/k")); return err }); err != nil {
		t.Fatal(err)
	}
	if err := Update(db, func(txn *Txn) error { return txn.Set([]byte("t/k"), bytes.Repeat([]byte("w"), 100)) }); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Get's value changed after its transaction: %q", got)
	}
}
