package audit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"vigie/store"
)

// expected returns, for the entries 1..n written by fill, the sequences of
// each subject, newest first.
func expected(n int) map[string][]uint64 {
	want := map[string][]uint64{}
	for i := n - 1; i >= 0; i-- {
		seq := uint64(i + 1)
		for _, s := range []string{
			userSubject(fmt.Sprintf("u%d", i%3)),
			identitySubject(fmt.Sprintf("I%d", i%4)),
			recordSubject(Record{"1.2.3", fmt.Sprintf("r%d", i%5)}),
		} {
			want[s] = append(want[s], seq)
		}
	}
	return want
}

func checkFind(t *testing.T, l *Log, n int) {
	t.Helper()
	for subject, want := range expected(n) {
		got, err := l.idx.find(subject)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("find(%q) = %v, want %v", subject, got, want)
		}
	}
}

// TestIndexRunsAndMerges: the postings of 40 entries, written as 20 runs
// of 2 entries merged 2 by 2, end in runs of the levels of 20's binary
// digits (16 + 4 entries), tiling the sequences, and every query finds
// what it did in memory.
func TestIndexRunsAndMerges(t *testing.T) {
	_, l := openMemIndex(t, 5, 2)
	fill(t, l, 40)
	checkFind(t, l, 40) // while runs are being written and merged
	if err := l.idx.flush(); err != nil {
		t.Fatal(err)
	}
	runs, to := l.idx.snapshot()
	defer func() {
		for _, rn := range runs {
			rn.release()
		}
	}()
	var got []string
	next := uint64(1)
	for _, rn := range runs {
		got = append(got, fmt.Sprintf("L%d:%d-%d", rn.level, rn.from, rn.to))
		if rn.from != next {
			t.Errorf("run %s starts at %d, want %d", rn.name, rn.from, next)
		}
		next = rn.to + 1
	}
	if want := []string{"L4:1-32", "L2:33-40"}; !slices.Equal(got, want) || to != 40 {
		t.Errorf("runs = %v (to %d), want %v", got, to, want)
	}
	n, buffered, err := l.idx.stats()
	if n != 2 || buffered != 0 || err != nil {
		t.Errorf("stats = %d runs, %d buffered, %v", n, buffered, err)
	}
	files, _ := l.idx.fs.list()
	if len(files) != 2 {
		t.Errorf("files = %v, want the two runs only (merged runs removed)", files)
	}
	checkFind(t, l, 40)
	if rep, err := l.Verify(); err != nil || rep.Broken != nil || rep.Entries != 40 {
		t.Errorf("Verify = %+v, %v", rep, err)
	}
}

// TestIndexReopen: on a store on disk, the index is found again after a
// clean stop and after a crash, whatever the crash left in its directory:
// an unfinished file, runs a merge had replaced, a damaged run, a run past
// the store's last entry (its commit lost) and a foreign file.
func TestIndexReopen(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(dir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	l, err := open(db, 5, 2)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, l, 21)
	if err := l.idx.flush(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	idxDir := filepath.Join(dir, indexDir)
	fs := dirFS(idxDir)
	names, err := fs.list()
	if err != nil || len(names) != 3 { // 1-16, 17-20, 21
		t.Fatalf("runs after a clean stop = %v, %v", names, err)
	}

	// What a crash may leave.
	write := func(level int, from, to uint64, ps ...posting) {
		t.Helper()
		f, err := fs.create(runName(from, to))
		if err != nil {
			t.Fatal(err)
		}
		writeRunTo(t, f, level, from, to, ps)
	}
	write(0, 1, 2, posting{userSubject("u0"), 1})    // replaced by 1-16
	write(0, 21, 23, posting{userSubject("u0"), 22}) // past the store's last entry
	if err := os.WriteFile(filepath.Join(idxDir, runName(24, 25)+".tmp"), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(idxDir, "notes.txt"), []byte("kept"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Damage the last run: it is rebuilt from the entries.
	last := filepath.Join(idxDir, runName(21, 21))
	b, err := os.ReadFile(last)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(last, b[:len(b)-3], 0o600); err != nil {
		t.Fatal(err)
	}

	l, err = open(db, 5, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	names, _ = fs.list()
	if want := []string{runName(1, 16), runName(17, 20)}; !slices.Equal(names, want) {
		t.Errorf("runs after reopening = %v, want %v", names, want)
	}
	if _, err := os.Stat(filepath.Join(idxDir, "notes.txt")); err != nil {
		t.Errorf("a file not of the index was removed: %v", err)
	}
	if _, buffered, _ := l.idx.stats(); buffered != 3 {
		t.Errorf("postings indexed again from the store = %d, want 3 (entry 21)", buffered)
	}
	checkFind(t, l, 21)
	fill(t, l, 3)
	if got, err := l.ByUser("u0", 0); err != nil || !slices.Equal(seqs(got), []uint64{22, 19, 16, 13, 10, 7, 4, 1}) {
		t.Errorf("ByUser(u0) = %v, %v", seqs(got), err)
	}
	if rep, err := l.Verify(); err != nil || rep.Broken != nil || rep.Entries != 24 {
		t.Errorf("Verify = %+v, %v", rep, err)
	}
}

// replaceRun puts the run held in b in place of the index's run i, as if
// its file had been altered.
func replaceRun(t *testing.T, l *Log, i int, b []byte) {
	t.Helper()
	rn, err := parseRun(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	l.idx.mu.Lock()
	defer l.idx.mu.Unlock()
	rn.name, rn.fs = l.idx.runs[i].name, l.idx.fs
	rn.refs.Store(1)
	l.idx.runs[i] = rn
}

func runBytes(t *testing.T, l *Log, i int) []byte {
	t.Helper()
	r, _, size, err := l.idx.fs.open(l.idx.runs[i].name)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return b
}

// TestVerifyDetectsDamagedIndex: a run that lost a posting, whose block was
// altered, or that covers entries deleted from the end of the chain is
// reported.
func TestVerifyDetectsDamagedIndex(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, db *badger.DB, l *Log)
		broken uint64
		reason string
	}{
		{"posting removed", func(t *testing.T, db *badger.DB, l *Log) {
			rn := l.idx.runs[1]
			var buf bufFile
			w, err := newRunWriter(&buf, rn.level, rn.from, rn.to)
			if err != nil {
				t.Fatal(err)
			}
			if err := rn.each(func(p posting) error {
				if p == (posting{identitySubject("I2"), 11}) {
					return nil
				}
				return w.add(p)
			}); err != nil {
				t.Fatal(err)
			}
			if err := w.finish(); err != nil {
				t.Fatal(err)
			}
			replaceRun(t, l, 1, buf.Bytes())
		}, 9, "holds 23 postings, and the entries it covers make 24"},
		{"block altered", func(t *testing.T, db *badger.DB, l *Log) {
			b := runBytes(t, l, 0)
			b[runHeaderSize+3] ^= 1
			replaceRun(t, l, 0, b)
		}, 1, "block checksum mismatch"},
		{"entries deleted from the end", func(t *testing.T, db *badger.DB, l *Log) {
			for _, seq := range []uint64{20, 19} {
				rewrite(t, db, string(logKey(seq)), func([]byte) []byte { return nil })
			}
		}, 19, "covers entries up to 20"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, l := openMemIndex(t, 24, 4) // runs of 8 entries: 1-8, 9-16, then 17-20 flushed
			fill(t, l, 20)
			if err := l.idx.flush(); err != nil {
				t.Fatal(err)
			}
			if rep, err := l.Verify(); err != nil || rep.Broken != nil {
				t.Fatalf("Verify before the damage = %+v, %v", rep, err)
			}
			tt.damage(t, db, l)
			rep, err := l.Verify()
			if err != nil {
				t.Fatal(err)
			}
			if rep.Broken == nil || rep.Broken.Seq != tt.broken || !strings.Contains(rep.Broken.Reason, tt.reason) {
				t.Errorf("broken = %v, want entry %d: %s", rep.Broken, tt.broken, tt.reason)
			}
		})
	}
}

// failingFS fails to create files while fail is set.
type failingFS struct {
	runFS
	fail atomic.Bool
}

func (f *failingFS) create(name string) (runFile, error) {
	if f.fail.Load() {
		return nil, errors.New("disk full")
	}
	return f.runFS.create(name)
}

// TestIndexWriteFailure: while runs cannot be written, the postings stay
// in memory and queries still find them; the failure is reported, and the
// runs are written once the disk is back.
func TestIndexWriteFailure(t *testing.T) {
	_, l := openMemIndex(t, 5, 2)
	ffs := &failingFS{runFS: l.idx.fs}
	ffs.fail.Store(true)
	l.idx.fs = ffs
	var reported atomic.Int32
	l.SetIndexErrors(func(err error) {
		if strings.Contains(err.Error(), "disk full") {
			reported.Add(1)
		}
	})
	fill(t, l, 10)
	waitFor(t, func() bool { return l.IndexStats().Err != nil })
	if st := l.IndexStats(); !strings.Contains(st.Err.Error(), "disk full") || st.Buffered != 30 || st.Runs != 0 {
		t.Errorf("IndexStats while failing = %+v, want the error and 30 postings buffered", st)
	}
	if reported.Load() == 0 {
		t.Error("the failure was not reported")
	}
	checkFind(t, l, 10)
	ffs.fail.Store(false)
	// A retry that began before the disk came back may still fail once.
	waitFor(t, func() bool { return l.idx.flush() == nil })
	if st := l.IndexStats(); st.Runs == 0 || st.Buffered != 0 || st.Err != nil {
		t.Errorf("IndexStats after recovery = %+v", st)
	}
	checkFind(t, l, 10)
	if rep, err := l.Verify(); err != nil || rep.Broken != nil || rep.Entries != 10 {
		t.Errorf("Verify = %+v, %v", rep, err)
	}
}

// TestOpenDropsLegacyIndex: the index keys an earlier version kept in the
// store are removed, and the index is built from the entries.
func TestOpenDropsLegacyIndex(t *testing.T) {
	db, l := openMem(t)
	fill(t, l, 6)
	l.Close()
	legacy := []string{"a/idn/I1/0000000000000002", "a/src/1.2.3/r1/0000000000000002", "a/usr/u1/0000000000000002"}
	if err := db.Update(func(txn *badger.Txn) error {
		for _, k := range legacy {
			if err := txn.Set([]byte(k), nil); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	l, err := Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, k := range legacy {
		if err := db.View(func(txn *badger.Txn) error { _, err := txn.Get([]byte(k)); return err }); !errors.Is(err, badger.ErrKeyNotFound) {
			t.Errorf("legacy key %s: %v, want removed", k, err)
		}
	}
	checkFind(t, l, 6)
}

// TestPacerStopsOnClose: a paced writer that has worked for an hour would
// sleep for two; closing the index ends the pause at once, so that a
// service's shutdown does not wait for a merge.
func TestPacerStopsOnClose(t *testing.T) {
	quit := make(chan struct{})
	p := &pacer{on: true, quit: quit, mark: time.Now().Add(-time.Hour)}
	done := make(chan error, 1)
	go func() { done <- p.pause() }()
	close(quit)
	select {
	case err := <-done:
		if !errors.Is(err, errClosing) {
			t.Errorf("pause = %v, want errClosing", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("pause did not end when the index closed")
	}
	// Unpaced (while Open rebuilds the index), it does not sleep.
	p = &pacer{quit: make(chan struct{}), mark: time.Now().Add(-time.Hour)}
	if err := p.pause(); err != nil {
		t.Errorf("unpaced pause = %v", err)
	}
}
