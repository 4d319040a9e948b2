package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	badger "github.com/dgraph-io/badger/v4"
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
	db  *badger.DB
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
	// rotated holds the memtable log files already synced after the
	// store moved on to a newer one (they receive no more writes), and
	// newest the newest seen: the leader of a sync reads them alone.
	rotated map[int]bool
	newest  int
}

// NewSyncer returns the syncer of db, a store opened from dir with
// Options.Deferred (dir "" for an in-memory store).
func NewSyncer(db *badger.DB, dir string) *Syncer {
	s := &Syncer{db: db, dir: dir, rotated: map[int]bool{}, newest: -1}
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

// syncStore syncs the current memtable's log and the value log (Badger's
// DB.Sync), then the log files of memtables the store has moved on from
// and not yet written to a table: DB.Sync syncs only the current one, and
// a commit made just before the switch lives in the previous one.
func (s *Syncer) syncStore() error {
	if s.dir == "" {
		return nil
	}
	if err := s.db.Sync(); err != nil {
		return err
	}
	return s.syncRotated()
}

// syncRotated syncs the memtable log files other than the newest that
// were not synced since the store moved on from them. Only the leader of
// a sync calls it, so its fields need no lock. Listing the folder at
// every sync cost as much as the sync: it is listed only when the file
// after the newest seen exists (Badger numbers them in order).
func (s *Syncer) syncRotated() error {
	if s.newest >= 0 {
		if _, err := os.Stat(memtablePath(s.dir, s.newest+1)); os.IsNotExist(err) {
			return nil
		}
	}
	fids, err := memtableFiles(s.dir)
	if err != nil {
		return err
	}
	newest := -1
	for _, f := range fids {
		newest = max(newest, f)
	}
	s.newest = newest
	present := make(map[int]bool, len(fids))
	for _, f := range fids {
		present[f] = true
		if f == newest || s.rotated[f] {
			continue
		}
		if err := syncFile(memtablePath(s.dir, f)); err != nil {
			return err
		}
		s.rotated[f] = true
	}
	for f := range s.rotated {
		if !present[f] {
			delete(s.rotated, f) // written to a table and removed
		}
	}
	return nil
}

// memtablePath is the path of memtable log file number fid, as Badger
// names it.
func memtablePath(dir string, fid int) string {
	return filepath.Join(dir, fmt.Sprintf("%05d.mem", fid))
}

// memtableFiles lists the numbers of dir's memtable log files (NNNNN.mem).
func memtableFiles(dir string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var fids []int
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".mem")
		if !ok {
			continue
		}
		if f, err := strconv.Atoi(name); err == nil {
			fids = append(fids, f)
		}
	}
	return fids, nil
}

// syncFile fsyncs the file at path; one removed meanwhile (its memtable
// was written to a synced table) needs nothing.
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
