package audit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

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

func findAll(t *testing.T, l *Log, subject string) []uint64 {
	t.Helper()
	var got []uint64
	if err := l.idx.find(subject, 0, func(seq uint64) (bool, error) { got = append(got, seq); return true, nil }); err != nil {
		t.Fatal(err)
	}
	return got
}

func checkFind(t *testing.T, l *Log, n int) {
	t.Helper()
	for subject, want := range expected(n) {
		if got := findAll(t, l, subject); !slices.Equal(got, want) {
			t.Errorf("find(%q) = %v, want %v", subject, got, want)
		}
	}
}

// postingKeys returns the index's keys in db.
func postingKeys(t *testing.T, db *store.DB) []posting {
	t.Helper()
	var out []posting
	err := db.View(func(txn *store.Txn) error {
		it := txn.NewIterator(store.IteratorOptions{Prefix: []byte(indexPrefix)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			p, ok := parsePostingKey(it.Item().Key())
			if !ok {
				return fmt.Errorf("malformed key %q", it.Item().Key())
			}
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func doneOf(t *testing.T, db *store.DB) uint64 {
	t.Helper()
	var done uint64
	if err := db.View(func(txn *store.Txn) (err error) { done, _, err = doneIn(txn); return err }); err != nil {
		t.Fatal(err)
	}
	return done
}

func TestPostingKey(t *testing.T) {
	for _, p := range []posting{
		{identitySubject("I1"), 1},
		{identitySubject(""), 1 << 40},
		{recordSubject(Record{"1.2.250", "r/1"}), 7},
		{userSubject(strings.Repeat("é", 300)), 1<<64 - 1},
	} {
		got, ok := parsePostingKey(postingKey(p))
		if !ok || got != p {
			t.Errorf("parsePostingKey(postingKey(%+v)) = %+v, %v", p, got, ok)
		}
	}
	// No subject's key is the prefix of another's: a query of I1 scans
	// a prefix that I10's keys do not share.
	for _, pair := range [][2]string{
		{identitySubject("I1"), identitySubject("I10")},
		{recordSubject(Record{"1.2", "34"}), recordSubject(Record{"1.23", "4"})},
		{userSubject("a"), userSubject("ab")},
	} {
		if strings.HasPrefix(pair[1], pair[0]) || strings.HasPrefix(pair[0], pair[1]) {
			t.Errorf("subject %q is a prefix of %q", pair[0], pair[1])
		}
	}
	for _, k := range []string{"a/ih/", "a/ih/1234567", "a/ih/r123456781234567", "a/ix/r12345678" + "12345678", "a/log/0000000000000001"} {
		if _, ok := parsePostingKey([]byte(k)); ok {
			t.Errorf("parsePostingKey(%q) accepted", k)
		}
	}
}

// TestIndexWritten: the writer puts every posting in the store, one key
// each, with a/ixdone at the last entry; queries find the same before and
// after, and Verify holds.
func TestIndexWritten(t *testing.T) {
	db, l := openMem(t)
	fill(t, l, 40)
	checkFind(t, l, 40) // while postings are being written
	if err := l.idx.flush(); err != nil {
		t.Fatal(err)
	}
	if n := len(postingKeys(t, db)); n != 120 {
		t.Errorf("posting keys = %d, want 120 (3 an entry)", n)
	}
	if d := doneOf(t, db); d != 40 {
		t.Errorf("a/ixdone = %d, want 40", d)
	}
	if st := l.IndexStats(); st.Buffered != 0 || st.Err != nil {
		t.Errorf("IndexStats = %+v", st)
	}
	checkFind(t, l, 40)
	if rep, err := l.Verify(); err != nil || rep.Broken != nil || rep.Entries != 40 {
		t.Errorf("Verify = %+v, %v", rep, err)
	}
}

// TestIndexWritesInSteps: postings beyond maxWrite are written in several
// batches, each ending on an entry, a/ixdone recording each step.
func TestIndexWritesInSteps(t *testing.T) {
	db, l := openMem(t)
	l.idx.close()
	var ps []posting
	for seq := uint64(1); len(ps) <= maxWrite; seq++ {
		for j := range 7 {
			ps = append(ps, posting{userSubject(fmt.Sprint(seq%11, j)), seq})
		}
	}
	l.idx.mu.Lock()
	l.idx.ps, l.idx.to = slices.Clone(ps), ps[len(ps)-1].seq
	l.idx.mu.Unlock()
	if err := l.idx.writeSome(); err != nil {
		t.Fatal(err)
	}
	done := doneOf(t, db)
	if n := len(postingKeys(t, db)); n != int(done)*7 || n > maxWrite || n < maxWrite-7 {
		t.Errorf("first step: %d postings, a/ixdone %d", n, done)
	}
	if err := l.idx.flush(); err != nil {
		t.Fatal(err)
	}
	if n, d := len(postingKeys(t, db)), doneOf(t, db); n != len(ps) || d != ps[len(ps)-1].seq {
		t.Errorf("after flush: %d postings, a/ixdone %d; want %d, %d", n, d, len(ps), ps[len(ps)-1].seq)
	}
}

// TestIndexReopen: on a store on disk, the index is found again after a
// clean stop and after a crash that lost the last postings written (or
// never wrote them): the entries past a/ixdone are indexed again.
func TestIndexReopen(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(dir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	l, err := Open(db)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, l, 21)
	if err := l.idx.flush(); err != nil {
		t.Fatal(err)
	}
	l.Close()

	// A crash after entry 15's postings were written: those of 16-21
	// and a/ixdone past 15 are lost, one of 17's written.
	err = store.Update(db, func(txn *store.Txn) error {
		for _, p := range postingKeys(t, db) {
			if p.seq > 15 && p.seq != 17 {
				if err := txn.Delete(postingKey(p)); err != nil {
					return err
				}
			}
		}
		return txn.Set([]byte(indexDoneKey), binary.BigEndian.AppendUint64(nil, 15))
	})
	if err != nil {
		t.Fatal(err)
	}
	l, err = Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if d := doneOf(t, db); d != 21 {
		t.Errorf("a/ixdone after reopening = %d, want 21", d)
	}
	checkFind(t, l, 21)
	fillRange(t, l, 21, 24)
	if got, err := l.ByUser("u0", 0); err != nil || !slices.Equal(seqs(got), []uint64{22, 19, 16, 13, 10, 7, 4, 1}) {
		t.Errorf("ByUser(u0) = %v, %v", seqs(got), err)
	}
	if rep, err := l.Verify(); err != nil || rep.Broken != nil || rep.Entries != 24 {
		t.Errorf("Verify = %+v, %v", rep, err)
	}
}

// TestOpenUpgradesRunFiles: a store written by the version that kept the
// index in run files (the directory audit-index, no a/ix/ key) opens with
// its index rebuilt in the store from the entries, and the files removed.
func TestOpenUpgradesRunFiles(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(dir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	l, err := Open(db)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, l, 30)
	l.Close()
	// What that version left: entries, no index keys, run files.
	if err := db.DropPrefix([]byte(indexPrefix), []byte(indexDoneKey)); err != nil {
		t.Fatal(err)
	}
	runs := filepath.Join(dir, runDir)
	if err := os.MkdirAll(runs, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"0000000000000001-0000000000000010.run", "0000000000000011-000000000000001e.run"} {
		if err := os.WriteFile(filepath.Join(runs, name), []byte("VIGIEAIX..."), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(postingKeys(t, db)); n != 0 {
		t.Fatalf("%d posting keys left before the upgrade", n)
	}

	l, err = Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if n, d := len(postingKeys(t, db)), doneOf(t, db); n != 90 || d != 30 {
		t.Errorf("after the upgrade: %d posting keys, a/ixdone %d; want 90, 30", n, d)
	}
	if _, err := os.Stat(runs); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the run files' directory is still there: %v", err)
	}
	checkFind(t, l, 30)
	if got, err := l.ByIdentity("I1", 2); err != nil || !slices.Equal(seqs(got), []uint64{30, 26}) {
		t.Errorf("ByIdentity(I1, 2) = %v, %v", seqs(got), err)
	}
	if rep, err := l.Verify(); err != nil || rep.Broken != nil || rep.Entries != 30 {
		t.Errorf("Verify = %+v, %v", rep, err)
	}
}

// TestVerifyDetectsDamagedIndex: a posting removed or planted, a/ixdone
// past the last entry (entries deleted from the end) are reported; the
// repair, Reindex, makes the index whole again.
func TestVerifyDetectsDamagedIndex(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, db *store.DB)
		broken uint64
		reason string
	}{
		{"posting removed", func(t *testing.T, db *store.DB) {
			del(t, db, string(postingKey(posting{identitySubject("I2"), 1031})))
		}, 1025, "the entries 1025-1100 have 227 postings stored, and make 228"},
		{"posting planted", func(t *testing.T, db *store.DB) {
			set(t, db, string(postingKey(posting{identitySubject("I2"), 12})), nil)
		}, 1, "the entries 1-1024 have 3073 postings stored, and make 3072"},
		{"malformed key", func(t *testing.T, db *store.DB) {
			set(t, db, indexPrefix+"x", nil)
		}, 1, "malformed key"},
		{"entries deleted from the end", func(t *testing.T, db *store.DB) {
			del(t, db, string(logKey(1100)))
			del(t, db, string(logKey(1099)))
		}, 1099, "covers entries up to 1100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, l := openMem(t)
			fill(t, l, 1100)
			if err := l.idx.flush(); err != nil {
				t.Fatal(err)
			}
			if rep, err := l.Verify(); err != nil || rep.Broken != nil {
				t.Fatalf("Verify before the damage = %+v, %v", rep, err)
			}
			tt.damage(t, db)
			rep, err := l.Verify()
			if err != nil {
				t.Fatal(err)
			}
			if rep.Broken == nil || rep.Broken.Seq != tt.broken || !strings.Contains(rep.Broken.Reason, tt.reason) {
				t.Errorf("broken = %v, want entry %d: %s", rep.Broken, tt.broken, tt.reason)
			}
			if tt.broken == 1099 {
				return // the chain itself is short: no index repairs that
			}
			if err := l.Reindex(); err != nil {
				t.Fatal(err)
			}
			if rep, err := l.Verify(); err != nil || rep.Broken != nil || rep.Entries != 1100 {
				t.Errorf("Verify after Reindex = %+v, %v", rep, err)
			}
			checkFind(t, l, 1100)
		})
	}
}

func set(t *testing.T, db *store.DB, key string, v []byte) {
	t.Helper()
	if err := store.Update(db, func(txn *store.Txn) error { return txn.Set([]byte(key), v) }); err != nil {
		t.Fatal(err)
	}
}

func del(t *testing.T, db *store.DB, key string) {
	t.Helper()
	if err := store.Update(db, func(txn *store.Txn) error { return txn.Delete([]byte(key)) }); err != nil {
		t.Fatal(err)
	}
}

// TestIndexWriteFailure: while the postings cannot be written (the disk
// under its floor), they stay in memory and queries still find them; the
// failure is reported, and they are written once the disk is back.
func TestIndexWriteFailure(t *testing.T) {
	var full atomic.Bool
	db, err := store.Open(t.TempDir(), store.Options{NoSync: true, DiskRecheck: -1, FreeSpace: func(string) (int64, error) {
		if full.Load() {
			return 0, nil
		}
		return 1 << 50, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, err := Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var reported atomic.Int32
	l.SetIndexErrors(func(err error) {
		if strings.Contains(err.Error(), "under the floor") {
			reported.Add(1)
		}
	})
	// The writer runs only when the test says: the entries are appended
	// while the disk has room, and their postings are written once it is
	// full.
	l.idx.close()
	fill(t, l, 10)
	full.Store(true)
	if err := l.idx.flush(); err == nil {
		t.Fatal("the postings were written on a full disk")
	} else {
		l.idx.fail(err)
	}
	if st := l.IndexStats(); st.Err == nil || st.Buffered != 30 {
		t.Errorf("IndexStats while failing = %+v, want the error and 30 postings buffered", st)
	}
	if reported.Load() == 0 {
		t.Error("the failure was not reported")
	}
	checkFind(t, l, 10)
	full.Store(false)
	if err := l.idx.flush(); err != nil {
		t.Fatal(err)
	}
	if st := l.IndexStats(); st.Buffered != 0 || st.Err != nil {
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
	for _, k := range legacy {
		set(t, db, k, nil)
	}
	l, err := Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, k := range legacy {
		if err := db.View(func(txn *store.Txn) error { _, err := txn.Get([]byte(k)); return err }); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("legacy key %s: %v, want removed", k, err)
		}
	}
	checkFind(t, l, 6)
}

// TestOlderPages: a history read page by page with Older, each page asked
// with the last Seq of the previous one, gives the whole history once, in
// order, both while postings are in memory and once they are written; a
// query must name exactly one subject.
func TestOlderPages(t *testing.T) {
	_, l := openMem(t)
	fill(t, l, 50)
	want := expected(50)[identitySubject("I1")]
	for _, written := range []bool{false, true} {
		if written {
			if err := l.idx.flush(); err != nil {
				t.Fatal(err)
			}
		}
		var got []uint64
		before := uint64(0)
		for page := 0; page < 20; page++ {
			es, err := l.Older(Subject{Identity: "I1"}, before, 4)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				got = append(got, e.Seq)
			}
			if len(es) < 4 {
				break
			}
			before = es[len(es)-1].Seq
		}
		if !slices.Equal(got, want) {
			t.Errorf("written %v: pages gave %v, want %v", written, got, want)
		}
	}
	for _, s := range []Subject{{}, {Identity: "I1", User: "u1"}, {Record: Record{Authority: "1.2.3"}}} {
		if _, err := l.Older(s, 0, 4); err == nil {
			t.Errorf("Older(%+v) accepted", s)
		}
	}
}

// TestOpenUpgradesNamedIndex: a store written by the version that kept the
// subjects' names whole in its keys (a/ix/, a/ixdone) opens with those
// keys dropped and its index rebuilt under a/ih/ from the entries.
func TestOpenUpgradesNamedIndex(t *testing.T) {
	db, l := openMem(t)
	fill(t, l, 30)
	if err := l.idx.flush(); err != nil {
		t.Fatal(err)
	}
	l.Close()
	// What that version left: its keys, none of this one's.
	if err := db.DropPrefix([]byte(indexPrefix), []byte(indexDoneKey)); err != nil {
		t.Fatal(err)
	}
	old := func(subject string, seq int) string {
		return "a/ix/" + subject + string(binary.BigEndian.AppendUint64(nil, uint64(seq)))
	}
	for i := range 30 {
		set(t, db, old("u"+lengthPrefixed(fmt.Sprintf("u%d", i%3)), i+1), nil)
		set(t, db, old("i"+lengthPrefixed(fmt.Sprintf("I%d", i%4)), i+1), nil)
		set(t, db, old("r"+lengthPrefixed("1.2.3")+lengthPrefixed(fmt.Sprintf("r%d", i%5)), i+1), nil)
	}
	set(t, db, "a/ixdone", binary.BigEndian.AppendUint64(nil, 30))

	l, err := Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if n, d := len(postingKeys(t, db)), doneOf(t, db); n != 90 || d != 30 {
		t.Errorf("after the upgrade: %d posting keys, a/ihdone %d; want 90, 30", n, d)
	}
	left := 0
	if err := db.View(func(txn *store.Txn) error {
		it := txn.NewIterator(store.IteratorOptions{Prefix: []byte("a/ix")})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			left++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d keys of the earlier index left", left)
	}
	checkFind(t, l, 30)
	if got, err := l.ByRecord(Record{"1.2.3", "r4"}, 0); err != nil || !slices.Equal(seqs(got), []uint64{30, 25, 20, 15, 10, 5}) {
		t.Errorf("ByRecord(r4) = %v, %v", seqs(got), err)
	}
	if rep, err := l.Verify(); err != nil || rep.Broken != nil || rep.Entries != 30 {
		t.Errorf("Verify = %+v, %v", rep, err)
	}
}

// TestSharedHashAnswersRight: a posting of another subject under a
// subject's hash (as two names sharing a hash would make) is read and left
// out: the queries answer with the entries that name the subject.
func TestSharedHashAnswersRight(t *testing.T) {
	db, l := openMem(t)
	fill(t, l, 12)
	if err := l.idx.flush(); err != nil {
		t.Fatal(err)
	}
	// Entry 2 names I1; make it appear under I0's hash too, and user u0's
	// entry 2 (named by u1) under u0's.
	set(t, db, string(postingKey(posting{identitySubject("I0"), 2})), nil)
	set(t, db, string(postingKey(posting{userSubject("u0"), 2})), nil)
	if got, err := l.ByIdentity("I0", 0); err != nil || !slices.Equal(seqs(got), []uint64{9, 5, 1}) {
		t.Errorf("ByIdentity(I0) = %v, %v; want 9 5 1", seqs(got), err)
	}
	if got, err := l.ByUser("u0", 2); err != nil || !slices.Equal(seqs(got), []uint64{10, 7}) {
		t.Errorf("ByUser(u0, 2) = %v, %v; want 10 7", seqs(got), err)
	}
}

// lengthPrefixed is how the subjects' names were joined before hashing
// when subjectHash took one string: the hashes are stored, so they must
// not change.
func lengthPrefixed(s string) string {
	return string(binary.AppendUvarint(nil, uint64(len(s)))) + s
}

func TestSubjectHashStable(t *testing.T) {
	fnv := func(kind byte, name string) string {
		h := uint64(14695981039346656037)
		for i := 0; i < len(name); i++ {
			h ^= uint64(name[i])
			h *= 1099511628211
		}
		return string(binary.BigEndian.AppendUint64([]byte{kind}, h))
	}
	long := strings.Repeat("é", 200) // a length of two uvarint bytes
	tests := []struct{ got, want string }{
		{identitySubject("I1"), fnv('i', lengthPrefixed("I1"))},
		{identitySubject(""), fnv('i', lengthPrefixed(""))},
		{identitySubject(long), fnv('i', lengthPrefixed(long))},
		{userSubject("bench-serve-clinician"), fnv('u', lengthPrefixed("bench-serve-clinician"))},
		{recordSubject(Record{"1.2.250.1.213", "IPP 42"}), fnv('r', lengthPrefixed("1.2.250.1.213")+lengthPrefixed("IPP 42"))},
		{recordSubject(Record{long, "x"}), fnv('r', lengthPrefixed(long)+lengthPrefixed("x"))},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%d: %x, want %x", i, tt.got, tt.want)
		}
	}
	if recordSubject(Record{"ab", "c"}) == recordSubject(Record{"a", "bc"}) {
		t.Error("the names are not length-prefixed")
	}
}
