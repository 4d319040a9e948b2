package store

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"vigie"
)

// Disk space.
//
// Badger writes its memtables' logs (*.mem), its value log (*.vlog) and its
// tables (*.sst) through files mapped in memory: a file is created at its
// full size (sparse) and its pages are allocated by the kernel when first
// written. When the filesystem is full, that allocation fails inside a
// plain memory store, and the process dies of SIGBUS, with no error to
// return and no line in its log. No acknowledged data is lost, but the
// service is down.
//
// So the store refuses to write before Badger can run out of space. Every
// package writes through Update, UpdateTrail or NewWriteTxn (a DB has no
// method that writes, and a test keeps this package's own code so),
// which ask the store's DiskGuard first. The guard compares the free space
// of the store's filesystem with two thresholds:
//
//   - the reserve (Options.DiskReserve, default DefaultDiskReserve, never
//     below MinDiskReserve): under it, writes are refused with EEXHAUSTED;
//   - the floor (DiskFloor, two thirds of the minimum reserve): what Badger may
//     still write with no new transaction admitted. Between the floor and
//     the reserve the audit trail still writes its entries (UpdateTrail),
//     so that reads, which must leave an entry, keep working; under the
//     floor the trail is refused too, and with it every audited call.
//
// An operator sees it coming: under twice the reserve the guard logs a
// warning once, and the metrics say so (DiskState.Low). When space
// returns, the next check lifts the refusal.

// DefaultDiskReserve is the reserve of a store opened without one: 1 GiB,
// about the minimum of the service's store (see MinDiskReserve); a store
// whose minimum is larger (a bulk load's, or one whose tables have grown)
// gets its minimum.
const DefaultDiskReserve = 1 << 30

// DefaultDiskRecheck is how old the last measure of free space may be when
// a write asks (Options.DiskRecheck): a statfs costs about a microsecond, a
// write transaction tens; at a few thousand writes a second the store grows
// by at most a few megabytes between two measures, well within the
// reserve's margin over the floor.
const DefaultDiskRecheck = 50 * time.Millisecond

// DiskFloor returns the space Badger may still write in a store with the
// given options and levels once no transaction is admitted any more:
//
//	memtable logs     NumMemtables × MemTableSize: the log of the memtable
//	                  being filled, mapped at twice its size, takes pages
//	                  until the memtable is full, from commits admitted
//	                  before the refusal; the others are written already
//	                  but counted, as an unclean stop replays them
//	flushes           NumMemtables × MemTableSize: each memtable becomes a
//	                  level-0 table of at most its size (also at Close)
//	level-0 compaction NumLevelZeroTablesStall × MemTableSize + BaseLevelSize:
//	                  a compaction writes its output before it removes its
//	                  input; level 0 holds at most the stall count of
//	                  tables (Badger stops flushing there), the base level
//	                  under it at most BaseLevelSize
//	other compactions (NumCompactors − 1) × (LevelSizeMultiplier + 2) × the
//	                  largest table of levels 1 and below: one table and the tables
//	                  of the next level it overlaps (about the multiplier,
//	                  and one at each edge)
//	commits in flight MemTableSize: a transaction is at most 15 % of a
//	                  memtable in the tables, its values in the log of the
//	                  same order (Vigie's values are a few kilobytes)
//	small files       8 MiB: manifest, discard statistics, key registry
//
// The service's store (memtables of 32 MiB, 15 level-0 tables at the
// stall, 2 MiB tables at the base level) needs 128 + 480 + 10 + 12 × the
// largest table (24 MiB on a new store, 96 MiB at about a million
// records) + 32 + 8 MiB: 682 to 754 MiB. A bulk load's (8 MiB memtables,
// 120 tables at the stall) needs about 1 GiB: its level 0 is allowed to
// grow large (see Open). The largest table grows with the store (each
// level's tables are twice the size of the level above's): levels are
// those of the store when it was opened.
func DiskFloor(o badger.Options, levels []badger.LevelInfo) int64 {
	if o.InMemory {
		return 0
	}
	largest := o.BaseTableSize
	for _, l := range levels {
		if l.Level > 0 { // level 0's tables are memtables, counted above
			largest = max(largest, l.TargetFileSize)
		}
	}
	mt := o.MemTableSize
	return int64(o.NumMemtables)*mt*2 +
		int64(o.NumLevelZeroTablesStall)*mt + o.BaseLevelSize +
		int64(max(o.NumCompactors-1, 0))*int64(o.LevelSizeMultiplier+2)*largest +
		mt + 8<<20
}

// MinDiskReserve is the smallest reserve a store with this floor accepts:
// the floor and half as much again. What lies above the floor is the audit
// trail's room once writes are refused (its entries of reads, about a
// kilobyte each with their index postings: at a thousand reads a second,
// several minutes for the operator to act, hours at an ordinary pace), and
// the margin for what the floor's count misses. The service's store needs
// 1,023 to 1,131 MiB, about DefaultDiskReserve; a bulk load's about 1.5 GiB.
func MinDiskReserve(floor int64) int64 { return floor + floor/2 }

// DiskLevel grades the free space against the reserve.
type DiskLevel int

// The levels, from the best to the worst.
const (
	DiskOK        DiskLevel = iota // twice the reserve or more
	DiskLow                        // under twice the reserve: writes accepted, the operator warned
	DiskRefusing                   // under the reserve: writes refused, the trail's entries accepted
	DiskExhausted                  // under the floor: the trail's entries refused too
)

func (l DiskLevel) String() string {
	switch l {
	case DiskOK:
		return "ok"
	case DiskLow:
		return "low"
	case DiskRefusing:
		return "writes refused"
	case DiskExhausted:
		return "exhausted"
	}
	return fmt.Sprintf("DiskLevel(%d)", int(l))
}

// DiskState is the guard's last measure.
type DiskState struct {
	Free    int64 // bytes an unprivileged process may still allocate on the store's filesystem
	Reserve int64 // writes are refused under it
	Floor   int64 // the audit trail's entries are refused under it
	Level   DiskLevel
	Err     error // why the free space could not be measured (the guard then refuses nothing)
	Checked time.Time
}

// Low reports whether the free space is under twice the reserve.
func (s DiskState) Low() bool { return s.Level >= DiskLow }

// WritesRefused reports whether writes are refused.
func (s DiskState) WritesRefused() bool { return s.Level >= DiskRefusing }

// String describes the state with its figures (no path, no data).
func (s DiskState) String() string {
	if s.Err != nil {
		return fmt.Sprintf("free space unknown (%v); reserve %s", s.Err, mib(s.Reserve))
	}
	return fmt.Sprintf("%s: %s free, reserve %s, floor %s", s.Level, mib(s.Free), mib(s.Reserve), mib(s.Floor))
}

// mib writes a size in MiB with its exact figure in bytes.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB (%d bytes)", float64(n)/(1<<20), n) }

// DiskGuard watches the free space of a store's filesystem and refuses
// writes under its reserve (see the comment on disk space above). Open
// attaches one to every store on disk (and to an in-memory one given
// Options.FreeSpace); Guard finds it. Its methods are safe for concurrent
// use.
type DiskGuard struct {
	dir     string
	reserve int64
	floor   int64
	free    func(dir string) (int64, error)
	log     *slog.Logger
	recheck time.Duration // see DefaultDiskRecheck

	checkedAt atomic.Int64 // unix nanoseconds of the last measure
	state     atomic.Pointer[DiskState]
	mu        sync.Mutex // one measure at a time, so that each crossing is logged once
}

// Guard returns the guard Open attached to db, or nil (an in-memory store
// without Options.FreeSpace): every write is then allowed.
func Guard(db *DB) *DiskGuard {
	if db == nil {
		return nil
	}
	return db.guard
}

// newDiskGuard returns the guard of the store in dir. reserve 0 is the
// larger of DefaultDiskReserve and MinDiskReserve(floor); a reserve asked
// for under the minimum is raised to it, and the log says so.
func newDiskGuard(dir string, reserve, floor int64, free func(string) (int64, error), log *slog.Logger) *DiskGuard {
	if reserve <= 0 {
		reserve = max(DefaultDiskReserve, MinDiskReserve(floor))
	}
	if m := MinDiskReserve(floor); reserve < m {
		if log != nil {
			log.Warn("disk reserve raised to the store's minimum", "asked_bytes", reserve, "reserve_bytes", m, "floor_bytes", floor)
		}
		reserve = m
	}
	if free == nil {
		free = freeSpace
	}
	return &DiskGuard{dir: dir, reserve: reserve, floor: floor, free: free, log: log, recheck: DefaultDiskRecheck}
}

// Reserve returns the reserve in force (after raising it to the minimum).
func (g *DiskGuard) Reserve() int64 { return g.reserve }

// Floor returns the floor (DiskFloor).
func (g *DiskGuard) Floor() int64 { return g.floor }

// Check measures the free space now, logs a crossing from one level to
// another (once per crossing), and returns the new state. A failed measure
// refuses nothing (the guard protects the store; it must not become the
// fault) and is logged once.
func (g *DiskGuard) Check() DiskState {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	free, err := g.free(g.dir)
	s := DiskState{Free: free, Reserve: g.reserve, Floor: g.floor, Err: err, Checked: now}
	prev := g.state.Load()
	if err == nil {
		s.Level = g.level(free, prev)
	}
	g.state.Store(&s)
	g.checkedAt.Store(now.UnixNano())
	g.logCrossing(prev, &s)
	return s
}

// level grades free. Leaving a worse level for a better one needs a
// margin of a thirty-second of the reserve above the threshold, so that
// free space hovering at a threshold (writes refused, a compaction freeing
// a table, writes accepted…) does not flap and log at every turn.
func (g *DiskGuard) level(free int64, prev *DiskState) DiskLevel {
	margin := g.reserve / 32
	thresholds := [...]struct {
		level DiskLevel
		under int64
	}{{DiskExhausted, g.floor}, {DiskRefusing, g.reserve}, {DiskLow, 2 * g.reserve}}
	for _, t := range thresholds {
		under := t.under
		if prev != nil && prev.Err == nil && prev.Level >= t.level {
			under += margin
		}
		if free < under {
			return t.level
		}
	}
	return DiskOK
}

func (g *DiskGuard) logCrossing(prev, s *DiskState) {
	if g.log == nil {
		return
	}
	if s.Err != nil {
		if prev == nil || prev.Err == nil {
			g.log.Warn("disk: the store's free space cannot be measured; writes are not guarded until it can", "error", s.Err.Error())
		}
		return
	}
	was := DiskOK
	if prev != nil && prev.Err == nil {
		was = prev.Level
	}
	if s.Level == was {
		return
	}
	attrs := []any{"free_bytes", s.Free, "reserve_bytes", s.Reserve, "floor_bytes", s.Floor}
	switch s.Level {
	case DiskOK:
		g.log.Info("disk: free space back above twice the reserve", attrs...)
	case DiskLow:
		if was > DiskLow {
			g.log.Warn("disk: free space back above the reserve: writes accepted again; still under twice the reserve", attrs...)
		} else {
			g.log.Warn("disk: free space under twice the reserve: writes will be refused under the reserve; free space or grow the filesystem", attrs...)
		}
	case DiskRefusing:
		if was > DiskRefusing {
			g.log.Error("disk: free space back above the floor: the audit trail is written again; writes still refused", attrs...)
		} else {
			g.log.Error("disk: free space under the reserve: writes refused until space is freed (reads still answered)", attrs...)
		}
	case DiskExhausted:
		g.log.Error("disk: free space under the floor: the audit trail is refused too, and every audited call with it", attrs...)
	}
}

// State returns the last measure, measuring now if there was none.
func (g *DiskGuard) State() DiskState {
	if s := g.state.Load(); s != nil {
		return *s
	}
	return g.Check()
}

// WriteClass says how far into the reserve a write may go.
type WriteClass int

const (
	// WriteData is every write of the patient index, the ledger, the
	// alerts and the keys: refused under the reserve.
	WriteData WriteClass = iota
	// WriteTrail is an audit trail's entry: refused under the floor only,
	// so that a read, which must leave an entry, is answered while writes
	// are refused.
	WriteTrail
)

// Allow returns nil when a write of class may go ahead, else an
// EEXHAUSTED error naming the free space and the threshold. It measures
// again when the last measure is older than the guard's recheck interval
// (DefaultDiskRecheck unless Options.DiskRecheck says otherwise).
func (g *DiskGuard) Allow(class WriteClass) error {
	if g == nil {
		return nil
	}
	s := g.state.Load()
	if s == nil || time.Now().UnixNano()-g.checkedAt.Load() >= int64(g.recheck) {
		c := g.Check()
		s = &c
	}
	if s.Err != nil {
		return nil
	}
	switch {
	case s.Level >= DiskExhausted:
		return vigie.Errorf(vigie.EEXHAUSTED, "store: %s free on the store's filesystem, under the floor of %s: the audit trail and writes are refused until space is freed",
			mib(s.Free), mib(s.Floor))
	case s.Level >= DiskRefusing && class == WriteData:
		return vigie.Errorf(vigie.EEXHAUSTED, "store: %s free on the store's filesystem, under the reserve of %s: writes are refused until space is freed",
			mib(s.Free), mib(s.Reserve))
	}
	return nil
}

// Watch measures the free space every interval until ctx ends: the
// warnings and the lifting of a refusal do not wait for a write.
func (g *DiskGuard) Watch(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		g.Check()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
