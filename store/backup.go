package store

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"
	"google.golang.org/protobuf/proto"

	"vigie"
)

// BackupOptions tune a backup.
type BackupOptions struct {
	// Since is 0 for a full backup, or the Version of an earlier backup
	// of the same store: the backup then holds only what changed after it
	// (values and deletions), restored on top of it.
	Since uint64
	// Key, when set, encrypts the file (see the format in backupfile.go).
	Key []byte
	// Summarize computes the manifest's Summary in the backup's snapshot
	// (nil: an empty summary). Package store does not know the other
	// packages' keys; the caller does.
	Summarize func(txn *Txn) (Summary, error)
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Rate bounds how fast the backup is written, in bytes per second
	// (0: as fast as the disk takes it). An online backup writes to the
	// disk the service syncs its commits to; unpaced, every answer waits
	// behind it (see DefaultBackupRate).
	Rate int64
}

// dataFrameBytes is the size of a data frame's KV lists.
const dataFrameBytes = 1 << 20

// Backup writes a backup of db to w: a consistent snapshot, read in one
// read-only transaction while the store keeps serving (no lock, no pause
// of writes: Badger's snapshots are versions). It reads with one
// goroutine, so that it takes at most one core from the service. A full
// backup (Since 0) holds the latest value of every key; an incremental
// holds, for every key changed after Since, its latest value or its
// deletion. The manifest is returned and written in the file's trailer.
//
// The caller owns w: on an error part of a file may have been written,
// which ReadBackup refuses (no trailer); write to a temporary file and
// rename it once Backup returns (see the vigie backup verb).
func Backup(ctx context.Context, db *DB, w io.Writer, o BackupOptions) (Manifest, error) {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	txn := db.NewReadTxn()
	defer txn.Discard()
	version := txn.ReadTs()
	if o.Since > version {
		return Manifest{}, vigie.Invalid("since", "version %d is past the store's version %d: not a backup of this store", o.Since, version)
	}
	var m Manifest
	layout, id, err := layoutIn(txn)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: %w", err)
	}
	fw, err := newFrameWriter(newPacedWriter(ctx, w, o.Rate), BackupHeader{Format: BackupFormat, Layout: layout, StoreID: id,
		Since: o.Since, Version: version, Created: now().UTC().Truncate(time.Second)}, o.Key)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: %w", err)
	}
	m.BackupHeader = fw.hdr
	list := &pb.KVList{}
	size := 0
	flush := func() error {
		if len(list.Kv) == 0 {
			return nil
		}
		b, err := marshalList(list)
		if err != nil {
			return err
		}
		list.Kv, size = list.Kv[:0], 0
		return fw.frame(frameData, b)
	}
	it := txn.NewIterator(badger.IteratorOptions{AllVersions: true, SinceTs: o.Since, PrefetchValues: true, PrefetchSize: 64})
	defer it.Close()
	var last []byte
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		// Versions come newest first: the first is the one to keep.
		if last != nil && string(item.Key()) == string(last) {
			continue
		}
		last = item.KeyCopy(last[:0])
		if m.Pairs%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return Manifest{}, err
			}
		}
		kv := &pb.KV{Key: item.KeyCopy(nil), Version: item.Version(), UserMeta: []byte{item.UserMeta()}, ExpiresAt: item.ExpiresAt()}
		if item.IsDeletedOrExpired() {
			if o.Since == 0 {
				continue // nothing to delete in the empty store a full backup is restored into
			}
			kv.Meta = []byte{bitDelete}
		} else {
			if kv.Value, err = item.ValueCopy(nil); err != nil {
				return Manifest{}, fmt.Errorf("backup: read a value: %w", err)
			}
			kv.Meta = []byte{0}
		}
		list.Kv = append(list.Kv, kv)
		m.Pairs++
		size += len(kv.Key) + len(kv.Value) + 32
		if size >= dataFrameBytes {
			if err := flush(); err != nil {
				return Manifest{}, fmt.Errorf("backup: write: %w", err)
			}
		}
	}
	it.Close()
	if err := flush(); err != nil {
		return Manifest{}, fmt.Errorf("backup: write: %w", err)
	}
	if o.Summarize != nil {
		if m.Summary, err = o.Summarize(txn); err != nil {
			return Manifest{}, fmt.Errorf("backup: summary: %w", err)
		}
	}
	if m.SHA256, err = fw.finish(m); err != nil {
		return Manifest{}, fmt.Errorf("backup: write: %w", err)
	}
	return m, nil
}

// bitDelete is Badger's mark of a deletion in a KV's meta (value.go in
// Badger): a loaded KV carrying it deletes its key at its version.
const bitDelete = 1 << 0

// marshalList encodes a KV list as Badger's backup stream does: its size
// as a uint64 little-endian, then the protobuf.
func marshalList(list *pb.KVList) ([]byte, error) {
	b, err := proto.Marshal(list)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 8, 8+len(b))
	for i := range 8 {
		out[i] = byte(uint64(len(b)) >> (8 * i))
	}
	return append(out, b...), nil
}

// layoutIn reads the layout version and identity in txn ("" when it has
// none).
func layoutIn(txn *Txn) (int, string, error) {
	layout, _, err := layoutOf(txn)
	if err != nil {
		return 0, "", fmt.Errorf("read the layout version: %w", err)
	}
	id, err := idOf(txn)
	if err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
		return 0, "", err
	}
	return layout, hex.EncodeToString(id), nil
}

// RestoreOptions tune a restore.
type RestoreOptions struct {
	// Key is the backups' key (nil: backups in clear).
	Key []byte
	// Store opens the restored store: its encryption key (a store is
	// encrypted, or re-keyed, by restoring it with a key), disk reserve.
	Store Options
	// Summarize, when set, computes the restored store's summary, which
	// must equal the last backup's manifest.
	Summarize func(txn *Txn) (Summary, error)
	// Check, when set, checks the restored store once loaded (vigie
	// verify's invariants); an error refuses the restore.
	Check func(db *DB) error
	// Loaded, when set, is called after each file is loaded (tests: a
	// crash between two files).
	Loaded func(i int)
}

// CheckBackups reads every file in order (a full backup, then its
// incrementals) and returns their manifests, or the reason they cannot be
// restored: a damaged, truncated or encrypted-without-key file, a first
// file that is an incremental (its base missing), a file of another store,
// one whose Since is not the Version of the one before (wrong order, or a
// missing incremental), a layout newer than this build's.
func CheckBackups(files []string, key []byte) ([]Manifest, error) {
	if len(files) == 0 {
		return nil, vigie.Invalid("in", "no backup file given")
	}
	var ms []Manifest
	for i, name := range files {
		m, err := readBackupFile(name, key, nil)
		if err != nil {
			return nil, err
		}
		switch {
		case m.Layout > LayoutVersion:
			return nil, damaged("%s: the store had layout %d, newer than this build's %d: restore it with that vigie", name, m.Layout, LayoutVersion)
		case i == 0 && m.Since != 0:
			return nil, damaged("%s is an incremental backup since version %d: its base is missing (give the full backup first, then the incrementals in order)", name, m.Since)
		case i > 0 && m.Since == 0:
			return nil, damaged("%s is a full backup: it can only come first", name)
		case i > 0 && m.StoreID != ms[i-1].StoreID:
			return nil, damaged("%s is a backup of another store (%s) than %s (%s)", name, m.StoreID, files[i-1], ms[i-1].StoreID)
		case i > 0 && m.Since != ms[i-1].Version:
			return nil, damaged("%s continues from version %d, but %s reaches version %d: wrong order, or an incremental is missing", name, m.Since, files[i-1], ms[i-1].Version)
		}
		ms = append(ms, m)
	}
	return ms, nil
}

func readBackupFile(name string, key []byte, data func([]byte) error) (Manifest, error) {
	f, err := os.Open(name)
	if err != nil {
		return Manifest{}, vigie.Invalid("in", "%v", err)
	}
	defer f.Close()
	m, err := ReadBackup(f, key, data)
	if err != nil {
		var ve *vigie.Error
		if errors.As(err, &ve) && ve.Field == "in" {
			return Manifest{}, &vigie.Error{Code: ve.Code, Field: ve.Field, Message: name + ": " + ve.Message}
		}
		return Manifest{}, fmt.Errorf("%s: %w", name, err)
	}
	return m, nil
}

// Restore restores the backups in files (a full backup, then its
// incrementals in order) into dir, which must be absent or an empty
// folder. Every file is checked whole before anything is written (see
// CheckBackups). The store is built in a temporary folder beside dir,
// checked (the summary of the last manifest, then o.Check), made durable
// and renamed to dir: an interrupted or refused restore leaves dir as it
// was, and at most a temporary folder named .<dir>.restore-* to remove.
func Restore(dir string, files []string, o RestoreOptions) ([]Manifest, error) {
	if err := emptyTarget(dir); err != nil {
		return nil, err
	}
	ms, err := CheckBackups(files, o.Key)
	if err != nil {
		return nil, err
	}
	parent, base := filepath.Split(filepath.Clean(dir))
	if parent == "" {
		parent = "."
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".restore-")
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	so := o.Store
	so.InMemory, so.NoSync, so.Deferred = false, false, true // synced once, at the end
	db, err := openRaw(tmp, so)
	if err != nil {
		return nil, err
	}
	closed := false
	defer func() {
		if !closed {
			db.Close()
		}
	}()
	if err := Guard(db).Allow(WriteData); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	for i, name := range files {
		if err := loadFile(db, name, o.Key, ms[i]); err != nil {
			return nil, err
		}
		if o.Loaded != nil {
			o.Loaded(i)
		}
	}
	last := ms[len(ms)-1]
	if o.Summarize != nil {
		var got Summary
		err := db.View(func(txn *Txn) error {
			var err error
			got, err = o.Summarize(txn)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("restore: summary: %w", err)
		}
		if err := sameSummary(got, last.Summary); err != nil {
			return nil, fmt.Errorf("restore: the restored store differs from the manifest of %s: %w", files[len(files)-1], err)
		}
	}
	closed = true
	if err := db.Close(); err != nil {
		return nil, fmt.Errorf("restore: close: %w", err)
	}
	// Reopened as any verb opens it: an earlier layout is upgraded here.
	db, err = Open(tmp, so)
	if err != nil {
		return nil, fmt.Errorf("restore: reopen: %w", err)
	}
	if o.Check != nil {
		if err := o.Check(db); err != nil {
			db.Close()
			return nil, fmt.Errorf("restore: the restored store fails its check, not installed: %w", err)
		}
	}
	if err := db.Close(); err != nil {
		return nil, fmt.Errorf("restore: close: %w", err)
	}
	if err := syncTree(tmp); err != nil {
		return nil, fmt.Errorf("restore: sync: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, fmt.Errorf("restore: install: %w", err)
	}
	done = true
	if err := syncDir(parent); err != nil {
		return nil, fmt.Errorf("restore: sync: %w", err)
	}
	return ms, nil
}

// loadFile loads one checked backup file into db.
func loadFile(db *DB, name string, key []byte, want Manifest) error {
	pr, pw := io.Pipe()
	loaded := make(chan error, 1)
	go func() {
		err := db.b.Load(pr, 64)
		pr.CloseWithError(err) // unblocks the writer if Load stopped early
		loaded <- err
	}()
	m, err := readBackupFile(name, key, func(p []byte) error {
		_, err := pw.Write(p)
		return err
	})
	pw.CloseWithError(err)
	lerr := <-loaded
	if err != nil {
		return err
	}
	if lerr != nil {
		return fmt.Errorf("restore: load %s: %w", name, lerr)
	}
	if m.SHA256 != want.SHA256 {
		return damaged("%s changed while it was restored", name)
	}
	return nil
}

func sameSummary(got, want Summary) error {
	for k, n := range want.Counts {
		if got.Counts[k] != n {
			return fmt.Errorf("%s: %d restored, %d in the backup", k, got.Counts[k], n)
		}
	}
	if got.AuditSeq != want.AuditSeq || got.AuditHash != want.AuditHash {
		return fmt.Errorf("audit head: %d:%s restored, %d:%s in the backup", got.AuditSeq, got.AuditHash, want.AuditSeq, want.AuditHash)
	}
	return nil
}

// emptyTarget refuses a restore target that exists and is not an empty
// folder.
func emptyTarget(dir string) error {
	if dir == "" {
		return vigie.Invalid("data", "required")
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return vigie.Invalid("data", "%v", err)
	case len(entries) > 0:
		return vigie.Invalid("data", "%s is not empty: a restore writes only into a new or empty folder", dir)
	}
	return nil
}

// syncTree fsyncs every file and folder under dir.
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return syncDir(path)
		}
		return syncFile(path)
	})
}
