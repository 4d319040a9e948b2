package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Syncer makes the commits of a store opened with Options.Deferred durable,
// many at a time.
//
// A store that syncs every commit (the default) makes each transaction wait
// for its own sync, and Badger makes every transaction that starts meanwhile
// wait too: a new transaction's read timestamp waits until the commits in
// flight are applied, and with synced writes they are applied only after
// their sync. Under a server's load the processor then idled while fifty
// calls waited on one disk flush. With deferred syncs a commit returns once
// it is in the write-ahead log in memory; what must be durable before it is
// acknowledged (an API response, a sequence lease, a search-index batch)
// calls Sync, which returns once a sync that started after the call has
// finished. Concurrent callers share one sync.
//
// A process crash loses nothing either way (the log is a mapped file the
// kernel keeps); a power loss may lose what was committed but not yet
// synced, that is, nothing that was acknowledged.
type Syncer struct {
	db  *DB
	dir string // "" for an in-memory store: nothing to sync

	mu      sync.Mutex
	cond    sync.Cond
	started uint64 // syncs started
	done    uint64 // syncs finished (see Count)
	running bool
	// err is the first failed sync's error. After a failed fsync the
	// kernel may have dropped the pages it could not write, so a later
	// sync that succeeds proves nothing: every later Sync fails too.
	err error
	// syncOnce is the sync itself (a test replaces it).
	syncOnce func() error
	// The memtable and value log files, followed to sync the ones the
	// store moved on from.
	memtables, valueLogs logFiles
}

// NewSyncer returns the syncer of db, a store opened with
// Options.Deferred. The folder whose log files it syncs is the store's
// own, so that it cannot be given another.
func NewSyncer(db *DB) *Syncer {
	return newSyncer(db, db.Dir())
}

// newSyncer is NewSyncer for the store in dir ("" for an in-memory store:
// nothing to sync).
func newSyncer(db *DB, dir string) *Syncer {
	s := &Syncer{db: db, dir: dir,
		memtables: logFiles{ext: ".mem", width: 5, newest: -1, synced: map[int]bool{}},
		valueLogs: logFiles{ext: ".vlog", width: 6, newest: -1, synced: map[int]bool{}}}
	s.cond.L = &s.mu
	s.syncOnce = s.syncStore
	return s
}

// Sync returns once every transaction committed before the call is
// durable, or the error that prevented it.
func (s *Syncer) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// A sync running now may have started before the caller's commits:
	// wait for the next one to start and finish.
	need := s.started + 1
	for s.done < need && s.err == nil {
		if s.running {
			s.cond.Wait()
			continue
		}
		s.running = true
		s.started++
		s.mu.Unlock()
		err := s.syncOnce()
		s.mu.Lock()
		s.running = false
		s.done++
		if err != nil && s.err == nil {
			s.err = fmt.Errorf("store: sync: %w", err)
		}
		s.cond.Broadcast()
	}
	return s.err
}

// Count returns the number of syncs done so far: with the number of
// calls answered, how many shared each.
func (s *Syncer) Count() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

// syncStore syncs the current memtable's log and value log file
// (Badger's DB.Sync), then the log files the store has moved on from:
// DB.Sync syncs only the current ones, and a commit made just before the
// switch lives in the previous one. A memtable's log is removed once the
// memtable is written to a (synced) table; value log files stay.
func (s *Syncer) syncStore() error {
	if s.dir == "" {
		return nil
	}
	if err := s.db.b.Sync(); err != nil {
		return err
	}
	for _, l := range []*logFiles{&s.memtables, &s.valueLogs} {
		if err := l.syncRotated(s.dir); err != nil {
			return err
		}
	}
	return nil
}

// logFiles follows one kind of Badger log file, numbered in order: the
// newest seen, and the older ones already synced since the store moved on
// from them (they receive no more writes). Only the leader of a sync uses
// it, so it needs no lock.
type logFiles struct {
	ext    string // ".mem" or ".vlog"
	width  int    // digits of the number in the name
	newest int    // -1 before the first listing
	synced map[int]bool
}

func (l *logFiles) path(dir string, n int) string {
	return filepath.Join(dir, fmt.Sprintf("%0*d%s", l.width, n, l.ext))
}

// syncRotated syncs the files other than the newest that were not synced
// since the store moved on from them. Listing the folder at every sync
// cost as much as the sync: it is listed only when the file after the
// newest seen exists.
func (l *logFiles) syncRotated(dir string) error {
	if l.newest >= 0 {
		if _, err := os.Stat(l.path(dir, l.newest+1)); os.IsNotExist(err) {
			return nil
		}
	}
	ns, err := l.list(dir)
	if err != nil {
		return err
	}
	l.newest = -1
	for _, n := range ns {
		l.newest = max(l.newest, n)
	}
	present := make(map[int]bool, len(ns))
	for _, n := range ns {
		present[n] = true
		if n == l.newest || l.synced[n] {
			continue
		}
		if err := syncFile(l.path(dir, n)); err != nil {
			return err
		}
		l.synced[n] = true
	}
	for n := range l.synced {
		if !present[n] {
			delete(l.synced, n) // removed by the store
		}
	}
	return nil
}

// list returns the numbers of dir's files of this kind.
func (l *logFiles) list(dir string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ns []int
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), l.ext)
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(name); err == nil {
			ns = append(ns, n)
		}
	}
	return ns, nil
}

// syncFile fsyncs the file at path; one removed meanwhile (a memtable
// written to a synced table) needs nothing.
func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
