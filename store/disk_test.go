package store

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
	"golang.org/x/sys/unix"

	"vigie"
)

// fakeDisk is the seam of the disk guard: a free space the test sets.
type fakeDisk struct{ free atomic.Int64 }

func (d *fakeDisk) measure(string) (int64, error) { return d.free.Load(), nil }

// TestDiskGuardLevels: each free space grades to its level, and the writes
// of each class are allowed or refused with EEXHAUSTED accordingly, a
// level being left only with a margin above its threshold.
func TestDiskGuardLevels(t *testing.T) {
	const reserve, floor = 3200 << 20, 1000 << 20
	const margin = reserve / 32
	tests := []struct {
		name       string
		free       []int64 // measures in order; the last is graded
		want       DiskLevel
		data, tray bool // WriteData, WriteTrail allowed
	}{
		{"plenty", []int64{10 * reserve}, DiskOK, true, true},
		{"at twice the reserve", []int64{2 * reserve}, DiskOK, true, true},
		{"under twice the reserve", []int64{2*reserve - 1}, DiskLow, true, true},
		{"at the reserve", []int64{reserve}, DiskLow, true, true},
		{"under the reserve", []int64{reserve - 1}, DiskRefusing, false, true},
		{"at the floor", []int64{floor}, DiskRefusing, false, true},
		{"under the floor", []int64{floor - 1}, DiskExhausted, false, false},
		{"nothing", []int64{0}, DiskExhausted, false, false},
		{"back at the reserve: within the margin", []int64{reserve - 1, reserve}, DiskRefusing, false, true},
		{"back over the reserve's margin", []int64{reserve - 1, reserve + margin}, DiskLow, true, true},
		{"back over the floor's margin", []int64{0, floor + margin}, DiskRefusing, false, true},
		{"freed at once", []int64{0, 10 * reserve}, DiskOK, true, true},
		{"low, then within the margin of twice", []int64{2*reserve - 1, 2 * reserve}, DiskLow, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d fakeDisk
			g := newDiskGuard("", reserve, floor, d.measure, nil)
			g.recheck = 0
			var s DiskState
			for _, f := range tc.free {
				d.free.Store(f)
				s = g.Check()
			}
			if s.Level != tc.want {
				t.Errorf("level %v, want %v (%s)", s.Level, tc.want, s)
			}
			for _, c := range []struct {
				class WriteClass
				ok    bool
			}{{WriteData, tc.data}, {WriteTrail, tc.tray}} {
				err := g.Allow(c.class)
				if c.ok && err != nil {
					t.Errorf("class %d refused: %v", c.class, err)
				}
				if !c.ok && vigie.ErrorCode(err) != vigie.EEXHAUSTED {
					t.Errorf("class %d: %v, want an %s error", c.class, err, vigie.EEXHAUSTED)
				}
			}
		})
	}
}

// TestDiskGuardReserve: the reserve defaults to the larger of 1 GiB and the
// store's minimum, and one asked for under the minimum is raised to it.
func TestDiskGuardReserve(t *testing.T) {
	tests := []struct {
		asked, floor, want int64
	}{
		{0, 100 << 20, DefaultDiskReserve},
		{0, 1 << 30, 3 << 29},
		{10 << 30, 1 << 30, 10 << 30},
		{1 << 20, 100 << 20, 150 << 20},
	}
	for _, tc := range tests {
		if got := newDiskGuard("", tc.asked, tc.floor, nil, nil).Reserve(); got != tc.want {
			t.Errorf("asked %d with floor %d: reserve %d, want %d", tc.asked, tc.floor, got, tc.want)
		}
	}
}

// TestDiskFloorOfTheStores: the floor of the service's store and of a bulk
// load's, from their options, are the figures the doc comments give.
func TestDiskFloorOfTheStores(t *testing.T) {
	for _, tc := range []struct {
		name     string
		o        Options
		min, max int64 // MiB
	}{
		{"service", Options{Deferred: true}, 682, 754},
		{"bulk load", Options{NoSync: true}, 1024, 1070},
	} {
		db, err := Open(t.TempDir(), tc.o)
		if err != nil {
			t.Fatal(err)
		}
		floor := Guard(db).Floor() >> 20
		if floor < tc.min || floor > tc.max {
			t.Errorf("%s: floor %d MiB, want %d to %d", tc.name, floor, tc.min, tc.max)
		}
		db.Close()
	}
}

// TestDiskGuardLogsOncePerCrossing: a warning when free space falls under
// twice the reserve, an error under the reserve, once each however many
// measures and writes follow, a line when it comes back, and sizes only.
func TestDiskGuardLogsOncePerCrossing(t *testing.T) {
	var buf bytes.Buffer
	var d fakeDisk
	const reserve = 1 << 30
	g := newDiskGuard("", reserve, 100<<20, d.measure, slog.New(slog.NewTextHandler(&buf, nil)))
	g.recheck = 0
	for _, f := range []int64{3 * reserve, 2*reserve - 1, 2*reserve - 2, reserve - 1, reserve - 2, reserve - 3, 3 * reserve, 3 * reserve} {
		d.free.Store(f)
		g.Check()
		_ = g.Allow(WriteData)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{"under twice the reserve", "under the reserve", "back above twice the reserve"}
	if len(lines) != len(want) {
		t.Fatalf("%d lines logged, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) || !strings.Contains(lines[i], "free_bytes=") || !strings.Contains(lines[i], fmt.Sprintf("reserve_bytes=%d", reserve)) {
			t.Errorf("line %d: %s, want %q with the figures", i, lines[i], w)
		}
	}
}

// TestDiskGuardOnAStore (the seam, everywhere): with the free space under
// the reserve, Update and NewWriteTxn are refused with EEXHAUSTED naming
// the free space and the reserve, reads and the trail's writes go on; once
// space returns, writes are accepted again; and every acknowledged write
// is there when the store is opened again.
func TestDiskGuardOnAStore(t *testing.T) {
	dir := t.TempDir()
	var d fakeDisk
	d.free.Store(100 << 30)
	db, err := Open(dir, Options{FreeSpace: d.measure, DiskRecheck: -1})
	if err != nil {
		t.Fatal(err)
	}
	g := Guard(db)
	put := func(i int) error {
		return Update(db, func(txn *Txn) error { return txn.Set(testKey(i), []byte("v")) })
	}
	acked := 0
	for ; acked < 10; acked++ {
		if err := put(acked); err != nil {
			t.Fatal(err)
		}
	}
	d.free.Store(g.Reserve() - 1)
	err = put(acked)
	if vigie.ErrorCode(err) != vigie.EEXHAUSTED {
		t.Fatalf("write under the reserve: %v, want %s", err, vigie.EEXHAUSTED)
	}
	if msg := err.Error(); !strings.Contains(msg, fmt.Sprintf("(%d bytes) free", g.Reserve()-1)) || !strings.Contains(msg, fmt.Sprintf("reserve of %.1f MiB (%d bytes)", float64(g.Reserve())/(1<<20), g.Reserve())) {
		t.Errorf("the refusal does not name the free space and the reserve: %s", msg)
	}
	if _, err := NewWriteTxn(db); vigie.ErrorCode(err) != vigie.EEXHAUSTED {
		t.Errorf("NewWriteTxn under the reserve: %v", err)
	}
	if err := db.View(func(txn *Txn) error { _, err := txn.Get(testKey(0)); return err }); err != nil {
		t.Errorf("a read under the reserve: %v", err)
	}
	if err := UpdateTrail(db, func(txn *Txn) error { return txn.Set([]byte("a/log/1"), []byte("e")) }); err != nil {
		t.Errorf("the trail under the reserve, over the floor: %v", err)
	}
	d.free.Store(g.Floor() - 1)
	if err := UpdateTrail(db, func(txn *Txn) error { return txn.Set([]byte("a/log/2"), []byte("e")) }); vigie.ErrorCode(err) != vigie.EEXHAUSTED {
		t.Errorf("the trail under the floor: %v", err)
	}
	d.free.Store(100 << 30)
	if err := put(acked); err != nil {
		t.Fatalf("write once space returned: %v", err)
	}
	acked++
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if n := countTestKeys(t, dir); n != acked {
		t.Errorf("%d writes found after reopening, %d acknowledged", n, acked)
	}
}

func testKey(i int) []byte { return fmt.Appendf(nil, "t/%08d", i) }

// countTestKeys opens the store in dir again and counts testKey's keys.
func countTestKeys(t *testing.T, dir string) int {
	t.Helper()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	return countPrefix(t, db, "t/")
}

// TestFullDiskOnTmpfs fills a real filesystem of 64 MiB (a tmpfs, mounted
// when the test runs as root on Linux) with a store whose memtables and
// tables are small: writes are refused with EEXHAUSTED before Badger's
// mapped files can fault (the process would die of SIGBUS), reads and the
// trail go on, freeing space lets writes in again, and every acknowledged
// write is there after the store is closed and opened again. Set
// VIGIE_REQUIRE_TMPFS=1 (CI) to fail instead of skipping where it cannot
// mount.
func TestFullDiskOnTmpfs(t *testing.T) {
	mnt := mountTmpfs(t, 64<<20)
	defer func(v int64, f func(*badger.Options)) {
		valueLogFileSize, testTuning = v, f
	}(valueLogFileSize, testTuning)
	valueLogFileSize = 1 << 20
	testTuning = func(o *badger.Options) {
		o.MemTableSize = 1 << 20
		o.BaseTableSize = 256 << 10
		o.BaseLevelSize = 1 << 20
		o.NumLevelZeroTables = 2
		o.NumLevelZeroTablesStall = 4
		o.BlockCacheSize = 1 << 20
		o.IndexCacheSize = 1 << 20
	}
	dir := filepath.Join(mnt, "store")
	ballast := filepath.Join(mnt, "ballast")
	writeBallast(t, ballast, 8<<20)
	db, err := Open(dir, Options{DiskReserve: 1, DiskRecheck: -1}) // the reserve raised to the minimum
	if err != nil {
		t.Fatal(err)
	}
	// Closed before the tmpfs is unmounted, should the test stop early.
	closeDB := sync.OnceValue(db.Close)
	t.Cleanup(func() { closeDB() })
	g := Guard(db)
	t.Logf("floor %s; reserve %s; free %s", mib(g.Floor()), mib(g.Reserve()), mib(g.State().Free))
	if g.Reserve() > 48<<20 {
		t.Fatalf("reserve %s: too large for the test's filesystem", mib(g.Reserve()))
	}
	acked := 0
	// fill writes values of 1 KiB (into the value log) until the guard
	// refuses one, and returns the refusal.
	fill := func() error {
		val := make([]byte, 1024)
		for range 1 << 20 { // the filesystem holds 64 Ki such values
			rand.Read(val) // incompressible
			err := Update(db, func(txn *Txn) error { return txn.Set(testKey(acked), val) })
			if err != nil {
				return err
			}
			acked++
		}
		return errors.New("the filesystem never filled")
	}
	if err := fill(); vigie.ErrorCode(err) != vigie.EEXHAUSTED {
		t.Fatalf("filling the disk ended with %v, want an %s error", err, vigie.EEXHAUSTED)
	}
	s := g.State()
	t.Logf("refused after %d writes: %s", acked, s)
	if !s.WritesRefused() {
		t.Errorf("state %s after a refusal", s)
	}
	if err := db.View(func(txn *Txn) error {
		item, err := txn.Get(testKey(acked - 1))
		if err != nil {
			return err
		}
		return item.Value(func([]byte) error { return nil })
	}); err != nil {
		t.Errorf("a read under the reserve: %v", err)
	}
	for i := range 100 {
		if err := UpdateTrail(db, func(txn *Txn) error {
			return txn.Set(binary.BigEndian.AppendUint64([]byte("a/log/"), uint64(i)), make([]byte, 512))
		}); err != nil {
			t.Fatalf("the trail's entry %d under the reserve: %v", i, err)
		}
	}
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	if s := g.Check(); s.WritesRefused() {
		t.Fatalf("8 MiB freed, still %s", s)
	}
	before := acked
	if err := fill(); vigie.ErrorCode(err) != vigie.EEXHAUSTED {
		t.Fatalf("filling the disk again ended with %v", err)
	}
	if acked == before {
		t.Errorf("no write accepted once space was freed")
	}
	if err := closeDB(); err != nil {
		t.Fatalf("close on a full disk: %v", err)
	}
	if n := countTestKeys(t, dir); n != acked {
		t.Errorf("%d writes found after reopening, %d acknowledged", n, acked)
	}
}

// mountTmpfs mounts a tmpfs of size bytes in a temporary folder, unmounted
// at the test's end (after the store's own cleanups), or skips the test
// saying why it cannot: not Linux, not root, or root without the right to
// mount (a container without CAP_SYS_ADMIN); with VIGIE_REQUIRE_TMPFS=1 it
// fails instead. Any other failure to mount fails the test.
func mountTmpfs(t *testing.T, size int64) string {
	t.Helper()
	cannot := func(why string) {
		if os.Getenv("VIGIE_REQUIRE_TMPFS") == "1" {
			t.Fatalf("a tmpfs is required (VIGIE_REQUIRE_TMPFS=1) but %s", why)
		}
		t.Skipf("no small filesystem to fill: %s (TestDiskGuardOnAStore tests the guard through its seam)", why)
	}
	if runtime.GOOS != "linux" {
		cannot("mounting a tmpfs needs Linux")
	}
	if os.Geteuid() != 0 {
		cannot("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		if errors.Is(err, unix.EPERM) {
			cannot("root may not mount here (" + err.Error() + ")")
		}
		t.Fatalf("mount a tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount the tmpfs at %s: %v", dir, err)
		}
	})
	return dir
}

// writeBallast writes a file of n bytes (space to free later).
func writeBallast(t *testing.T, path string, n int) {
	t.Helper()
	if err := os.WriteFile(path, make([]byte, n), 0o600); err != nil {
		t.Fatal(err)
	}
}
