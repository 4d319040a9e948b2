package store

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// A Sync called while another runs must wait for the next one: the running
// sync may have started before the caller's commit.
func TestSyncWaitsForASyncStartedAfterTheCall(t *testing.T) {
	s := newSyncer(nil, "")
	// The cond's locker is unlocked only by cond.Wait (Sync takes and
	// leaves s.mu itself): its Unlock tells that a caller waits.
	waiting := make(chan struct{}, 4)
	s.cond.L = waitSignal{&s.mu, waiting}
	entered := make(chan int, 4)
	release := make(chan struct{})
	n := 0
	s.syncOnce = func() error {
		n++
		entered <- n
		<-release
		return nil
	}
	first := make(chan error, 1)
	go func() { first <- s.Sync() }()
	if got := <-entered; got != 1 {
		t.Fatalf("first sync numbered %d", got)
	}
	second := make(chan error, 1)
	go func() { second <- s.Sync() }()
	// Once the second caller waits for the running sync, finish it.
	<-waiting
	release <- struct{}{}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-second:
		t.Fatalf("the second Sync returned (%v) after a sync that started before it", err)
	case got := <-entered:
		if got != 2 {
			t.Fatalf("second sync numbered %d", got)
		}
	}
	release <- struct{}{}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
}

// waitSignal is a sync.Cond's locker that sends on ch, when it has room,
// each time the cond's Wait unlocks it.
type waitSignal struct {
	*sync.Mutex
	ch chan struct{}
}

func (w waitSignal) Unlock() {
	select {
	case w.ch <- struct{}{}:
	default:
	}
	w.Mutex.Unlock()
}

// Concurrent callers share syncs, and every one returns after one that
// started after its call.
func TestSyncSharedByConcurrentCallers(t *testing.T) {
	const callers = 64
	s := newSyncer(nil, "")
	// The first sync runs until every other caller waits for it.
	waiting := make(chan struct{}, 4*callers)
	s.cond.L = waitSignal{&s.mu, waiting}
	var mu sync.Mutex
	var syncs []time.Time // when each sync started
	s.syncOnce = func() error {
		mu.Lock()
		syncs = append(syncs, time.Now())
		first := len(syncs) == 1
		mu.Unlock()
		if first {
			for range callers - 1 {
				<-waiting
			}
		}
		return nil
	}
	var wg sync.WaitGroup
	late := make(chan string, callers)
	for range callers {
		wg.Go(func() {
			called := time.Now()
			if err := s.Sync(); err != nil {
				late <- err.Error()
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.ContainsFunc(syncs, func(t time.Time) bool { return !t.Before(called) }) {
				late <- "returned with no sync started after its call"
			}
		})
	}
	wg.Wait()
	close(late)
	for msg := range late {
		t.Fatal(msg)
	}
	// The callers that waited for the first sync share the second.
	if len(syncs) != 2 {
		t.Errorf("%d callers took %d syncs, want 2: the one they waited for, and one after their calls", callers, len(syncs))
	}
}

// After a failed sync every later Sync fails: the pages the kernel could
// not write may be gone, so a later success would prove nothing.
func TestSyncFailureSticks(t *testing.T) {
	s := newSyncer(nil, "")
	fail := errors.New("disk gone")
	calls := 0
	s.syncOnce = func() error {
		calls++
		if calls == 1 {
			return fail
		}
		return nil
	}
	for i := range 3 {
		if err := s.Sync(); !errors.Is(err, fail) {
			t.Fatalf("Sync %d: %v, want the first failure", i, err)
		}
	}
	if calls != 1 {
		t.Errorf("%d syncs after a failure, want none", calls-1)
	}
}

// The log files the store moved on from are synced once each; the newest
// is Badger's own to sync.
func TestSyncRotatedLogs(t *testing.T) {
	dir := t.TempDir()
	touch := func(name string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	touch("00001.mem")
	touch("00002.mem")
	touch("000003.vlog")
	touch("000004.vlog")
	s := newSyncer(nil, dir)
	sync := func() {
		t.Helper()
		for _, l := range []*logFiles{&s.memtables, &s.valueLogs} {
			if err := l.syncRotated(dir); err != nil {
				t.Fatal(err)
			}
		}
	}
	sync()
	if !maps.Equal(s.memtables.synced, map[int]bool{1: true}) || !maps.Equal(s.valueLogs.synced, map[int]bool{3: true}) {
		t.Fatalf("synced after the first sync: memtables %v, value logs %v; want {1} and {3}", s.memtables.synced, s.valueLogs.synced)
	}
	// Memtable 1 written to a table and removed; the store moved on to
	// memtable 3 and value log 5.
	if err := os.Remove(filepath.Join(dir, "00001.mem")); err != nil {
		t.Fatal(err)
	}
	touch("00003.mem")
	touch("000005.vlog")
	sync()
	if !maps.Equal(s.memtables.synced, map[int]bool{2: true}) || !maps.Equal(s.valueLogs.synced, map[int]bool{3: true, 4: true}) {
		t.Fatalf("synced after the second sync: memtables %v, value logs %v; want {2} and {3 4}", s.memtables.synced, s.valueLogs.synced)
	}
	if s.memtables.newest != 3 || s.valueLogs.newest != 5 {
		t.Fatalf("newest: memtable %d, value log %d; want 3 and 5", s.memtables.newest, s.valueLogs.newest)
	}
}

// A deferred store keeps what was committed and synced across a reopen,
// including over several memtables.
func TestDeferredStoreKeepsSyncedCommits(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{Deferred: true})
	if err != nil {
		t.Fatal(err)
	}
	s := NewSyncer(db)
	if s.dir != dir {
		t.Fatalf("the syncer follows %q, not the store's folder %q", s.dir, dir)
	}
	fill(t, db, 12000) // 48 MB: more than one memtable
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n := count(t, db); n != 12000 {
		t.Fatalf("%d keys after reopening, want 12000", n)
	}
	mem, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	if s := NewSyncer(mem); s.dir != "" || s.Sync() != nil {
		t.Errorf("an in-memory store's syncer follows %q", s.dir)
	}
}
