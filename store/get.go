package store

import "errors"

// Reading one key.
//
// Txn.Get answers ErrNotFound for an absent key, and most readers take
// that for "absent", not for a failure. These helpers say it once: found
// is false, with a nil error, when the key is not there; any other error
// of the read is returned as it is.

// Get returns the value of key in txn, a copy the caller may keep, and
// whether key is there.
func Get(txn *Txn, key []byte) (value []byte, found bool, err error) {
	found, err = Read(txn, key, func(v []byte) error {
		value = append([]byte(nil), v...)
		return nil
	})
	return value, found, err
}

// Read calls fn with the value of key in txn and reports whether key is
// there (fn is not called when it is not). The value is valid only during
// fn: fn decodes it or copies what it keeps. fn's error is returned as it
// is.
func Read(txn *Txn, key []byte, fn func(value []byte) error) (found bool, err error) {
	item, err := txn.Get(key)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, item.Value(fn)
}

// Has reports whether key is in txn, without reading its value.
func Has(txn *Txn, key []byte) (bool, error) {
	_, err := txn.Get(key)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
