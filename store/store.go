// Package store opens the one Badger database a Vigie process keeps, and
// documents how its key space is shared between the packages that write to
// it. Badger is the source of truth: every derived index (bleve search,
// in-memory caches) can be rebuilt from it.
//
// Key space: every key starts with a one-byte namespace and a '/'. A package
// owns its namespaces and documents the layout below them in its own package
// doc; nobody else writes there. Every prefix in use is registered, with
// its owner, in Prefixes (keys.go): a test fails on a key prefix written in
// the code and not registered, and Unregistered finds a store's keys that
// no registered prefix covers.
//
//	m/…  patient index (package mpi): source records, identities, links,
//	     events, reviews, distinct pairs, retention tombstones
//	l/…  dose ledger (package ledger): exams, dose figures, exactly-once markers
//	a/…  API keys (a/tok/), access codes and break-the-glass accesses
//	     (a/acc/, a/bg/), package auth; the hash-chained audit trail
//	     (a/log/) and its index (a/ih/, a/ihdone), package audit
//	x/…  dose alerts (package dosimetry): raised alerts, their attachments,
//	     declared pregnancies
//	e/…  member establishments (package sites): e/site/<authority OID> → name,
//	     AE titles, HL7 sender ids; the count of the registry's changes
//	     (e/sitegen)
//	w/…  matching models (package mpi): every model version the index has
//	     scored with, how each was obtained (w/model/), the current one
//	     (w/current) and the trace of changes (w/applied/)
//	h/…  HL7 v2 feeds (package hl7): each message received, verbatim, with
//	     the acknowledgement it got, by sender and control id (h/msg/); the
//	     outbox of notifications: subscribers (h/sub/), their cursors in
//	     the patient index's events (h/cur/) and queues (h/out/)
//	s/…  schema metadata (this package): the store's layout version
//	     (s/layout) and identity (s/id, see ID)
//
// A reader of one key takes an absent key for "not found", not a failure,
// through Get, Read and Has (get.go).
//
// Every write goes through the helpers of txn.go (Update, UpdateTrail,
// UpdateRetry, NewWriteTxn, NewBatch), which refuse it when the
// store's filesystem is under its reserve of free space (see DiskGuard):
// Badger's files are mapped in memory, and a full filesystem would kill
// the process instead of failing a write. Retry is the one loop that runs
// a transaction again when its commit conflicts with a concurrent one.
//
// This package is the one door to Badger: the others name the store, its
// transactions and their errors through db.go (store.DB, store.Txn,
// store.ErrNotFound, …) and never import Badger themselves
// (TestOneDoorToStorage in architecture_test.go checks it).
package store

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"vigie"
)

// Namespaces of the key space (see the package doc).
const (
	NamespaceMPI    = 'm'
	NamespaceLedger = 'l'
	NamespaceAudit  = 'a'
	NamespaceAlerts = 'x'
	NamespaceSchema = 's'
	NamespaceModels = 'w'
	NamespaceSites  = 'e'
	NamespaceHL7    = 'h'
)

// LayoutVersion is the version of the key layout this build writes. A store
// written by a later layout is refused rather than misread (a downgrade);
// one written by an earlier layout is upgraded when opened (see
// checkLayout). The layouts:
//
//	0  no s/layout key: the stores written before it was recorded (the
//	   keys are those of layout 1)
//	1  s/layout records the version
//	2  s/id holds the store's identity, 16 random bytes, which backups
//	   carry so that an incremental backup is restored only onto a base
//	   of the same store
//
// The packages version their own namespaces besides (the ledger's l/v,
// see package ledger): this one is the store's.
const LayoutVersion = 2

var (
	layoutKey = []byte("s/layout")
	idKey     = []byte("s/id")
)

// Options tune the store; the zero value is the durable default.
type Options struct {
	// InMemory keeps everything in memory (tests only: nothing survives).
	InMemory bool
	// NoSync turns off the fsync of every commit. Only bulk loads that can
	// be re-run from their source may use it; a service must not. It also
	// shapes Badger for a bulk load's memory (see Open).
	NoSync bool
	// Deferred leaves commits unsynced: a commit returns once it is in
	// the write-ahead log in memory, and the process makes what it must
	// acknowledge durable with a Syncer (see NewSyncer). For a service
	// under concurrent load.
	Deferred bool
	// CacheMB bounds Badger's block cache (default 64 MB; 8 MB for a bulk
	// load, see Open).
	CacheMB int64
	// IndexCacheMB bounds Badger's cache of table indexes and Bloom
	// filters (default 32 MB). Beyond it they are read from the mapped
	// tables again; without a bound they would stay in memory for every
	// table, growing with the store.
	IndexCacheMB int64
	// DiskReserve is the free space, in bytes, of the store's filesystem
	// under which writes are refused (see DiskGuard): 0 is the larger of
	// DefaultDiskReserve and the store's minimum (MinDiskReserve), and a
	// reserve under the minimum is raised to it.
	DiskReserve int64
	// FreeSpace, when set, measures the free space instead of the
	// filesystem (tests: a disk that fills on demand). An in-memory store
	// gets a guard only with it.
	FreeSpace func(dir string) (int64, error)
	// DiskRecheck is how old the guard's last measure of free space may be
	// when a write asks (0: DefaultDiskRecheck; negative: a measure at
	// every write, for tests).
	DiskRecheck time.Duration
	// Log receives the disk guard's warnings (nil: none). No patient data
	// reaches it: sizes only.
	Log *slog.Logger
	// MemTableKB, when set, is the size of the memtables in KiB instead
	// of the default (tests: Badger refuses a transaction larger than
	// 15 % of a memtable, and a small one makes ErrTxnTooBig come soon).
	// Values then stay in the tables up to a sixteenth of it.
	MemTableKB int64
	// EncryptionKey, when set, is the master key the store is encrypted
	// with (16, 24 or 32 bytes: AES-128, -192, -256; see LoadKey and the
	// comment on encryption at rest in encryption.go). A store encrypted with a
	// key opens only with it, and one not encrypted only without one.
	EncryptionKey []byte
}

// Open opens (creating if needed) the store in dir with durable writes: a
// commit that returned has reached the disk (with Deferred, once a Sync
// that started after it has returned). Memory is bounded deliberately
// (two memtables, a small block and index cache) because the process also
// holds the matcher's tables and the search index.
//
// A bulk load (NoSync) also gets smaller memtables and tables. In this
// build Badger's table builders allocate on the Go heap, each holding its
// whole table (uncompressed and compressed), and Badger pools them at the
// largest size they reached: a memtable flush builds one table of the whole
// memtable, and compactions run a dozen builders at once. During the import
// of a million records these were the largest part of the live heap after
// the patient index's mirror; smaller memtables and tables shrink them, and
// the memtable files mapped in memory with them. Level 0 is compacted at 60
// tables (480 MB), writes stall at 120: each compaction of level 0 rewrites
// the whole level below (records are spread over the key space), so the
// fewer of them the less a load rewrites and compresses. At a million
// records, 20 tables took 3 min 30 s of CPU and 60 took 2 min 46 s, at the
// same peak memory; reads right after the load look in more tables (an
// online resolve's median went from 0.18 to 0.25-0.38 ms) until the store's next
// ordinary opening compacts them. Table and memtable sizes
// are not recorded in the store: a store written either way opens with
// either, except that a memtable left by an unclean stop must be replayed
// into a memtable at least as large as the one that wrote it, so its
// presence keeps the usual size.
//
// A bulk load also gets a small block cache (unless CacheMB asks for
// more; Badger needs one for compressed tables): its reads are the
// normalised forms of candidates scattered over the whole store, which
// 64 MB rarely held, and under the load's soft limit of the Go heap
// every megabyte the cache holds is one less between two collections.
func Open(dir string, o Options) (*DB, error) {
	db, err := openRaw(dir, o)
	if err != nil {
		return nil, err
	}
	if err := checkLayout(db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// openRaw opens the store as Open does, without reading or writing its
// layout version (a restore loads a backup into it first).
func openRaw(dir string, o Options) (*DB, error) {
	opts := badger.DefaultOptions(dir)
	if o.InMemory {
		opts = badger.DefaultOptions("").WithInMemory(true)
	}
	cache := o.CacheMB
	// Badger's defaults for level 0: compacted at 5 tables, writes stall at 15.
	memTable, baseTable, l0Tables, l0Stall := int64(memTableSize), int64(baseTableSize), 5, 15
	if o.NoSync && !o.InMemory {
		pending, err := hasPendingMemtable(dir)
		if err != nil {
			return nil, fmt.Errorf("store: open %s: %w", dir, err)
		}
		if !pending {
			memTable, baseTable, l0Tables, l0Stall = bulkMemTableSize, bulkBaseTableSize, 60, 120
			if cache <= 0 {
				cache = bulkCacheMB
			}
		}
	}
	if cache <= 0 {
		cache = 64
	}
	// Badger keeps every value in its tables unless told otherwise (a
	// threshold of 1 MB); a bulk load keeps that default (see below), and
	// so does a store in memory, which has no value log.
	threshold := int64(1 << 20)
	if !o.NoSync && !o.InMemory {
		threshold = valueThreshold
	}
	if o.MemTableKB > 0 {
		memTable = o.MemTableKB << 10
		threshold = min(threshold, memTable/16)
	}
	opts = opts.
		WithSyncWrites(!o.NoSync && !o.Deferred && !o.InMemory).
		WithNumMemtables(2).
		WithMemTableSize(memTable).
		WithBaseTableSize(baseTable).
		WithNumLevelZeroTables(l0Tables).
		WithNumLevelZeroTablesStall(l0Stall).
		WithBlockCacheSize(cache << 20).
		WithIndexCacheSize(cmp.Or(max(o.IndexCacheMB, 0), defaultIndexCacheMB) << 20).
		WithNumCompactors(2).
		WithValueThreshold(threshold).
		WithValueLogFileSize(valueLogFileSize).
		WithEncryptionKey(o.EncryptionKey).
		WithEncryptionKeyRotationDuration(DataKeyRotation).
		WithLogger(nil)
	if testTuning != nil {
		testTuning(&opts)
	}
	if len(o.EncryptionKey) > 0 && !validKeyLen(len(o.EncryptionKey)) {
		return nil, vigie.Invalid("encryption-key-file", "a key has 16, 24 or 32 bytes, got %d", len(o.EncryptionKey))
	}
	b, err := badger.Open(opts)
	if err != nil {
		return nil, keyError(dir, len(o.EncryptionKey) > 0, fmt.Errorf("store: open %s: %w", dir, err))
	}
	db := &DB{b: b}
	if !o.InMemory || o.FreeSpace != nil {
		g := newDiskGuard(dir, o.DiskReserve, DiskFloor(b.Opts(), b.Levels()), o.FreeSpace, o.Log)
		if o.DiskRecheck != 0 {
			g.recheck = max(o.DiskRecheck, 0)
		}
		db.guard = g
		g.Check()
	}
	return db, nil
}

// testTuning, when set, adjusts Badger's options before the store opens:
// tests shrink the memtables and tables to fill a small filesystem.
var testTuning func(*badger.Options)

// valueThreshold is the size from which a service's store keeps a value in
// its value log, the tables holding only a pointer to it. Records, their
// versions and prepared forms, events, reviews and audit entries (250 bytes
// to a few kB, written once and rarely rewritten) go there; identities,
// index keys and counters, small and rewritten often, stay in the tables.
// Every write is compacted from level to level several times over: with the
// values out of the tables, compactions move keys and pointers only. On a
// store of 1.7 million records loaded with values in its tables, 120 s of
// ResolveRecord at 50 clients went from 1,780 to 2,046 resolves/s, and from
// 1.04 to 0.84 ms of CPU per call. A bulk load (NoSync) keeps every value
// in its tables: the value log is a file mapped in memory, and the pages
// it writes would count against the load's memory bound; values move only
// when written again. A value superseded in the log stays there until
// Badger's value-log garbage collection rewrites the file (see
// CollectGarbage); the service never runs it, as it would rewrite values
// with unsynced commits and delete the file they came from.
const valueThreshold = 256

// valueLogFileSize is the size at which the value log moves to a new file
// (Badger's default); tests make it small to have several.
var valueLogFileSize int64 = 1<<30 - 1

// Memtable and base table sizes: the usual ones (Badger's default base
// table, half its default memtable), and those of a bulk load (see Open).
// Badger refuses a transaction larger than 15 % of the memtable: 1.2 MB
// for a bulk load, some hundreds of resolved records.
const (
	memTableSize      = 32 << 20
	baseTableSize     = 2 << 20
	bulkMemTableSize  = 8 << 20
	bulkBaseTableSize = 512 << 10
	bulkCacheMB       = 8
)

// defaultIndexCacheMB is Options.IndexCacheMB's default.
const defaultIndexCacheMB = 32

// hasPendingMemtable reports whether dir holds a memtable file (*.mem),
// which Badger removes on a clean close: one left by an unclean stop is
// replayed on open and must fit the memtable it is replayed into.
func hasPendingMemtable(dir string) (bool, error) {
	mems, err := filepath.Glob(filepath.Join(dir, "*.mem"))
	if err != nil {
		return false, err
	}
	for _, m := range mems {
		if st, err := os.Stat(m); err == nil && st.Size() > 0 {
			return true, nil
		}
	}
	return false, nil
}

// checkLayout records the layout version and identity in a new store,
// upgrades a store of an earlier layout, and refuses one of a later layout
// (a downgrade). A new store has nothing to lose: its first keys are
// written without asking the disk guard, so that a store under its
// reserve still opens for reading. An upgrade asks the guard (it writes
// into a store holding data); every step is a few bytes written in one
// transaction with the new version, so that a crash leaves the old layout
// or the new one.
func checkLayout(db *DB) error {
	v, empty, err := readLayout(db)
	if err != nil {
		return err
	}
	switch {
	case empty:
		return db.b.Update(func(txn *Txn) error { return writeLayout(txn, 0) })
	case v > LayoutVersion:
		return &vigie.Error{Code: vigie.ECONFLICT, Message: fmt.Sprintf(
			"store: the store has layout version %d, newer than this build's %d: it was written by a later vigie; "+
				"run that version (a downgrade is refused: this build would misread it), or restore a backup taken by this version", v, LayoutVersion)}
	case v == LayoutVersion:
		return nil
	}
	if err := Guard(db).Allow(WriteData); err != nil {
		return fmt.Errorf("store: upgrade the layout from version %d to %d (a few bytes) before use: %w; free disk space and open it again", v, LayoutVersion, err)
	}
	if err := db.b.Update(func(txn *Txn) error { return writeLayout(txn, v) }); err != nil {
		return fmt.Errorf("store: upgrade the layout from version %d to %d: %w", v, LayoutVersion, err)
	}
	return nil
}

// readLayout returns the stored layout version (0 when none is recorded)
// and whether the store holds no key at all.
func readLayout(db *DB) (version int, empty bool, err error) {
	err = db.View(func(txn *Txn) error {
		var found bool
		if version, found, err = layoutOf(txn); err != nil || found {
			return err
		}
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		it.Rewind()
		empty = !it.Valid()
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("store: read layout version: %w", err)
	}
	return version, empty, nil
}

// layoutOf reads the layout version recorded in txn (0 when none is) and
// whether one is.
func layoutOf(txn *Txn) (version int, found bool, err error) {
	item, err := txn.Get(layoutKey)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return 0, false, err
	}
	if len(v) != 1 {
		return 0, false, fmt.Errorf("the layout version is %d bytes long", len(v))
	}
	return int(v[0]), true, nil
}

// idOf reads the store's identity in txn (badger.ErrKeyNotFound when it
// has none).
func idOf(txn *Txn) ([]byte, error) {
	item, err := txn.Get(idKey)
	if err != nil {
		return nil, err
	}
	return item.ValueCopy(nil)
}

// writeLayout writes what the layouts after from add, and the version.
func writeLayout(txn *Txn, from int) error {
	if from < 2 {
		if _, err := txn.Get(idKey); errors.Is(err, badger.ErrKeyNotFound) {
			if err := txn.Set(idKey, randomID()); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
	}
	return txn.Set(layoutKey, []byte{LayoutVersion})
}

// randomID returns 16 random bytes.
func randomID() []byte {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return b
}

// Layout returns the layout version recorded in db.
func Layout(db *DB) (int, error) {
	v, _, err := readLayout(db)
	return v, err
}

// ID returns the store's identity (32 hex digits; see LayoutVersion).
// It is copied by a backup, so a restored store keeps it.
func ID(db *DB) (string, error) {
	var id []byte
	err := db.View(func(txn *Txn) (err error) {
		id, err = idOf(txn)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("store: read the store's identity: %w", err)
	}
	return hex.EncodeToString(id), nil
}
