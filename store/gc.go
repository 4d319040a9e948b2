package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	badger "github.com/dgraph-io/badger/v4"
)

// ErrNotDurable is returned by CollectGarbage for a store whose commits are
// not synced as they are made.
var ErrNotDurable = errors.New("store: value-log garbage collection needs a store opened with durable writes")

// CollectGarbage reclaims the space of superseded values in the store's
// value log (see valueThreshold): every log file of which at least ratio
// (0 < ratio < 1) is superseded, as compactions have counted, has its live
// values written again and is removed. It returns the number of files
// rewritten.
//
// Badger moves the live values with ordinary commits, then deletes the file
// they came from: the commits must be on disk first, so a store opened
// Deferred or NoSync is refused (ErrNotDurable). The service opens its store
// Deferred; this is the work of a maintenance window (vigie gc) with the
// service stopped. Each rewrite writes first: under the store's disk
// reserve (DiskGuard) it is refused with EEXHAUSTED.
func CollectGarbage(db *DB, ratio float64) (int, error) {
	o := db.b.Opts()
	if o.InMemory {
		return 0, nil
	}
	if !o.SyncWrites {
		return 0, ErrNotDurable
	}
	if ratio <= 0 || ratio >= 1 {
		return 0, fmt.Errorf("store: collect garbage: ratio %v is outside (0, 1)", ratio)
	}
	n := 0
	for {
		// A rewrite commits the live values again before it removes
		// their file: a write, refused under the disk reserve.
		if err := Guard(db).Allow(WriteData); err != nil {
			return n, fmt.Errorf("store: collect garbage: %w", err)
		}
		err := db.b.RunValueLogGC(ratio)
		switch {
		case err == nil:
			n++
		case errors.Is(err, badger.ErrNoRewrite):
			return n, nil
		default:
			return n, fmt.Errorf("store: collect garbage: %w", err)
		}
	}
}

// ValueLogBytes returns the size of the value-log files of the store in
// dir, the space CollectGarbage reclaims.
func ValueLogBytes(dir string) (int64, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.vlog"))
	if err != nil {
		return 0, err
	}
	var n int64
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return 0, err
		}
		n += st.Size()
	}
	return n, nil
}
