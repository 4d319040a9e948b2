package audit

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vigie"
	"vigie/store"
)

// openMem opens a trail in a store in memory.
func openMem(t testing.TB) (*store.DB, *Log) {
	t.Helper()
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	l, err := Open(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return db, l
}

// fill appends n entries: principal u<i%3>, identity I<i%4>, record r<i%5>.
func fill(t testing.TB, l *Log, n int) {
	t.Helper()
	fillRange(t, l, 0, n)
}

// fillRange appends the entries from..to-1 of fill's sequence.
func fillRange(t testing.TB, l *Log, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		_, err := l.Append(Entry{
			Principal: fmt.Sprintf("u%d", i%3), Role: "clinician", Authorities: []string{"1.2.3"},
			Operation:  "/vigie.v1.IdentityService/GetIdentity",
			Identities: []string{fmt.Sprintf("I%d", i%4)},
			Records:    []Record{{"1.2.3", fmt.Sprintf("r%d", i%5)}},
			Purpose:    "care", Result: "ok", Client: "127.0.0.1:5000",
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func seqs(es []Entry) []uint64 {
	var out []uint64
	for _, e := range es {
		out = append(out, e.Seq)
	}
	return out
}

func TestAppendAndQuery(t *testing.T) {
	for _, written := range []int{0, 5, 12} {
		t.Run(fmt.Sprintf("%d entries' postings written", written), func(t *testing.T) { testAppendAndQuery(t, written) })
	}
}

// testAppendAndQuery queries 12 entries, the postings of the first written
// ones in the store and those of the others in memory.
func testAppendAndQuery(t *testing.T, written int) {
	_, l := openMem(t)
	l.idx.close() // no writer: the test writes
	fill(t, l, written)
	if err := l.idx.flush(); err != nil {
		t.Fatal(err)
	}
	fillRange(t, l, written, 12)
	tests := []struct {
		name  string
		query func() ([]Entry, error)
		want  []uint64
	}{
		{"identity I1", func() ([]Entry, error) { return l.ByIdentity("I1", 0) }, []uint64{10, 6, 2}},
		{"identity I1 limit 2", func() ([]Entry, error) { return l.ByIdentity("I1", 2) }, []uint64{10, 6}},
		{"identity unknown", func() ([]Entry, error) { return l.ByIdentity("I9", 0) }, nil},
		{"identity prefix is not a match", func() ([]Entry, error) { return l.ByIdentity("I", 0) }, nil},
		{"user u0", func() ([]Entry, error) { return l.ByUser("u0", 0) }, []uint64{10, 7, 4, 1}},
		{"record r2", func() ([]Entry, error) { return l.ByRecord(Record{"1.2.3", "r2"}, 0) }, []uint64{8, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.query()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(seqs(got), tt.want) {
				t.Errorf("seqs = %v, want %v", seqs(got), tt.want)
			}
		})
	}
	e, err := l.Get(6)
	if err != nil {
		t.Fatal(err)
	}
	if e.Principal != "u2" || e.Purpose != "care" || !slices.Equal(e.Identities, []string{"I1"}) || e.Time.IsZero() {
		t.Errorf("Get(6) = %+v", e)
	}
	if _, err := l.Get(99); vigie.ErrorCode(err) != vigie.ENOTFOUND {
		t.Errorf("Get(99) error = %v, want not found", err)
	}
	rep, err := l.Verify()
	if err != nil || rep.Broken != nil || rep.Entries != 12 {
		t.Fatalf("Verify = %+v, %v", rep, err)
	}
	seq, head := l.Head()
	if seq != 12 || !bytes.Equal(head, rep.Head) {
		t.Errorf("Head = %d %x, Verify head %x", seq, head, rep.Head)
	}
}

func TestAppendInvalid(t *testing.T) {
	_, l := openMem(t)
	tests := []struct {
		e     Entry
		field string
	}{
		{Entry{Operation: "/x"}, "principal"},
		{Entry{Principal: "u"}, "operation"},
	}
	for _, tt := range tests {
		_, err := l.Append(tt.e)
		if vigie.ErrorCode(err) != vigie.EINVALID || vigie.ErrorField(err) != tt.field {
			t.Errorf("Append(%+v) = %v, want invalid %s", tt.e, err, tt.field)
		}
	}
	for _, q := range []func() ([]Entry, error){
		func() ([]Entry, error) { return l.ByIdentity("", 0) },
		func() ([]Entry, error) { return l.ByUser("", 0) },
		func() ([]Entry, error) { return l.ByRecord(Record{Authority: "1.2"}, 0) },
	} {
		if _, err := q(); vigie.ErrorCode(err) != vigie.EINVALID {
			t.Errorf("empty query error = %v, want invalid", err)
		}
	}
}

// TestNormalise: what is hashed is what is stored, whatever the input.
func TestNormalise(t *testing.T) {
	_, l := openMem(t)
	e, err := l.Append(Entry{
		Principal: "bad\xffutf8", Operation: strings.Repeat("x", 5000),
		Identities: []string{"I2", "I1", "I2", ""},
		Records:    []Record{{"b", "1"}, {"a", "2"}, {"b", "1"}, {"a", ""}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(e.Identities, []string{"I1", "I2"}) {
		t.Errorf("identities = %v", e.Identities)
	}
	if !slices.Equal(e.Records, []Record{{"a", "2"}, {"b", "1"}}) {
		t.Errorf("records = %v", e.Records)
	}
	if len(e.Operation) != maxText || e.Principal != "bad\uFFFDutf8" {
		t.Errorf("operation length %d, principal %q", len(e.Operation), e.Principal)
	}
	if rep, err := l.Verify(); err != nil || rep.Broken != nil {
		t.Fatalf("Verify = %+v, %v", rep.Broken, err)
	}
}

// TestHashCanonical: entries that differ only in how text is split between
// fields hash differently.
func TestHashCanonical(t *testing.T) {
	base := Entry{Seq: 1, Time: time.Unix(1, 0), Principal: "ab", Role: "c", PrevHash: genesis}
	moved := base
	moved.Principal, moved.Role = "a", "bc"
	list := base
	list.Identities = []string{"x", "y"}
	list2 := base
	list2.Identities = []string{"xy"}
	if bytes.Equal(base.computeHash(), moved.computeHash()) || bytes.Equal(list.computeHash(), list2.computeHash()) {
		t.Error("canonical encoding is ambiguous")
	}
}

// rewrite changes the stored bytes of one key directly in Badger, as an
// attacker with access to the files would.
func rewrite(t *testing.T, db *store.DB, key string, f func(v []byte) []byte) {
	t.Helper()
	err := store.Update(db, func(txn *store.Txn) error {
		item, err := txn.Get([]byte(key))
		if err != nil {
			return err
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if v = f(v); v == nil {
			return txn.Delete([]byte(key))
		}
		return txn.Set([]byte(key), v)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// jsonEdit returns a rewrite that changes one JSON field of an entry.
func jsonEdit(field string, value any) func([]byte) []byte {
	return func(v []byte) []byte {
		var m map[string]any
		if err := json.Unmarshal(v, &m); err != nil {
			panic(err)
		}
		m[field] = value
		out, _ := json.Marshal(m)
		return out
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	entry := func(seq uint64) string { return string(logKey(seq)) }
	tests := []struct {
		name   string
		tamper func(t *testing.T, db *store.DB)
		broken uint64
		reason string
	}{
		{"principal rewritten", func(t *testing.T, db *store.DB) {
			rewrite(t, db, entry(5), jsonEdit("principal", "someone-else"))
		}, 5, "hash does not match"},
		{"identity removed", func(t *testing.T, db *store.DB) {
			rewrite(t, db, entry(3), jsonEdit("identities", []string{}))
		}, 3, "hash does not match"},
		{"result changed", func(t *testing.T, db *store.DB) {
			rewrite(t, db, entry(8), jsonEdit("result", "permission_denied"))
		}, 8, "hash does not match"},
		{"time changed", func(t *testing.T, db *store.DB) {
			rewrite(t, db, entry(1), jsonEdit("time_ns", 1))
		}, 1, "hash does not match"},
		{"one byte flipped", func(t *testing.T, db *store.DB) {
			rewrite(t, db, entry(4), func(v []byte) []byte {
				i := bytes.Index(v, []byte(`"operation":"/`)) + len(`"operation":"/`)
				v[i] ^= 0x01
				return v
			})
		}, 4, "hash does not match"},
		{"hash recomputed after rewrite", func(t *testing.T, db *store.DB) {
			// The attacker rewrites entry 6 and its own hash consistently: the
			// next entry's previous hash no longer matches.
			rewrite(t, db, entry(6), func(v []byte) []byte {
				var e Entry
				if err := decode(v, &e); err != nil {
					panic(err)
				}
				e.Purpose = "research"
				e.Hash = e.computeHash()
				out, _ := encode(&e)
				return out
			})
		}, 7, "previous hash"},
		{"entry deleted", func(t *testing.T, db *store.DB) {
			rewrite(t, db, entry(9), func([]byte) []byte { return nil })
		}, 9, "missing"},
		{"entries swapped", func(t *testing.T, db *store.DB) {
			var v2, v3 []byte
			rewrite(t, db, entry(2), func(v []byte) []byte { v2 = slices.Clone(v); return v })
			rewrite(t, db, entry(3), func(v []byte) []byte { v3 = slices.Clone(v); return v2 })
			rewrite(t, db, entry(2), func([]byte) []byte { return v3 })
		}, 2, "holds sequence 3"},
		{"garbage", func(t *testing.T, db *store.DB) {
			rewrite(t, db, entry(10), func([]byte) []byte { return []byte("not json") })
		}, 10, "decode"},
		{"unknown version", func(t *testing.T, db *store.DB) {
			rewrite(t, db, entry(2), jsonEdit("v", 2))
		}, 2, "unknown version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, l := openMem(t)
			fill(t, l, 10)
			tt.tamper(t, db)
			rep, err := l.Verify()
			if err != nil {
				t.Fatal(err)
			}
			if rep.Broken == nil {
				t.Fatalf("tampering not detected (%d entries verified)", rep.Entries)
			}
			if rep.Broken.Seq != tt.broken || !strings.Contains(rep.Broken.Reason, tt.reason) {
				t.Errorf("broken = %v, want entry %d: %s", rep.Broken, tt.broken, tt.reason)
			}
			if rep.Entries != tt.broken-1 {
				t.Errorf("entries verified = %d, want %d", rep.Entries, tt.broken-1)
			}
		})
	}
}

// TestIndexPlantedPostingIgnored: a posting naming an entry that does not
// concern the identity does not make the entry show up.
func TestIndexPlantedPostingIgnored(t *testing.T) {
	_, l := openMem(t)
	fill(t, l, 3)
	l.idx.mu.Lock()
	l.idx.ps = append(l.idx.ps, posting{identitySubject("I0"), 2})
	l.idx.mu.Unlock()
	got, err := l.ByIdentity("I0", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seqs(got), []uint64{1}) {
		t.Errorf("ByIdentity(I0) = %v, want [1]", seqs(got))
	}
}

func TestReopenContinuesChain(t *testing.T) {
	dir := t.TempDir()
	for round := range 3 {
		db, err := store.Open(dir, store.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		l, err := Open(db)
		if err != nil {
			t.Fatal(err)
		}
		if seq, _ := l.Head(); seq != uint64(round*4) {
			t.Errorf("round %d: head at %d, want %d", round, seq, round*4)
		}
		fill(t, l, 4)
		rep, err := l.Verify()
		if err != nil || rep.Broken != nil || rep.Entries != uint64(round*4+4) {
			t.Errorf("round %d: Verify = %+v, %v", round, rep, err)
		}
		if got, err := l.ByIdentity("I1", 0); err != nil || len(got) != round+1 {
			t.Errorf("round %d: ByIdentity(I1) = %v, %v", round, seqs(got), err)
		}
		l.Close()
		db.Close()
	}
}

func TestUnreadableHeadRefusesAppend(t *testing.T) {
	db, l := openMem(t)
	fill(t, l, 2)
	rewrite(t, db, string(logKey(2)), func([]byte) []byte { return []byte("{") })
	l2, err := Open(db)
	if err != nil {
		t.Fatalf("Open must succeed so that the trail can be verified: %v", err)
	}
	defer l2.Close()
	if _, err := l2.Append(Entry{Principal: "u", Operation: "/x"}); err == nil || !strings.Contains(err.Error(), "unreadable") {
		t.Errorf("Append on a broken head = %v", err)
	}
	if rep, _ := l2.Verify(); rep.Broken == nil || rep.Broken.Seq != 2 {
		t.Errorf("Verify = %+v", rep.Broken)
	}
}

// TestConcurrentAppends: appends from many goroutines keep one contiguous,
// valid chain and every entry is indexed (run with -race).
func TestConcurrentAppends(t *testing.T) {
	_, l := openMem(t)
	const workers, each = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := l.Append(Entry{Principal: fmt.Sprintf("w%d", w), Operation: "/op", Identities: []string{fmt.Sprint(i)}, Result: "ok"}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rep, err := l.Verify()
	if err != nil || rep.Broken != nil || rep.Entries != workers*each {
		t.Fatalf("Verify = %+v (broken %v), %v", rep.Entries, rep.Broken, err)
	}
	for w := range workers {
		got, err := l.ByUser(fmt.Sprintf("w%d", w), 0)
		if err != nil || len(got) != each {
			t.Errorf("ByUser(w%d) = %d entries, %v", w, len(got), err)
		}
	}
}

// TestConcurrentLargeAppends: large entries appended concurrently never
// make a group too large for one Badger transaction (without the group
// budget, the 23 entries queued behind the first go in one transaction of
// about 10 MB and Badger refuses it).
func TestConcurrentLargeAppends(t *testing.T) {
	_, l := openMem(t)
	ids := make([]string, 200)
	for i := range ids {
		ids[i] = fmt.Sprintf("%01000d", i)
	}
	var recs []Record
	// Hold the first group's commit until every other append has queued.
	release := make(chan struct{})
	var first sync.Once
	l.now = func() time.Time {
		first.Do(func() { <-release })
		return time.Now()
	}
	const workers, each = 24, 1
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if _, err := l.Append(Entry{Principal: fmt.Sprint("w", w), Operation: "/vigie.v1.IdentityService/SearchIdentities", Identities: ids, Records: recs}); err != nil {
					errs <- err
				}
			}
		}()
	}
	// Every append is queued or in the held group (the group may have
	// taken two, if a second queued before the first group was formed).
	waitFor(t, func() bool { return l.Waiting() == workers*each })
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rep, err := l.Verify()
	if err != nil || rep.Broken != nil || rep.Entries != workers*each {
		t.Fatalf("Verify = %d entries, broken %v, %v", rep.Entries, rep.Broken, err)
	}
}

func BenchmarkAppend(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts store.Options
	}{{"memory", store.Options{InMemory: true}}, {"disk-synced", store.Options{}}} {
		b.Run(tc.name, func(b *testing.B) {
			dir := ""
			if !tc.opts.InMemory {
				dir = b.TempDir()
			}
			db, err := store.Open(dir, tc.opts)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			l, err := Open(db)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			e := Entry{Principal: "bench", Role: "clinician", Operation: "/vigie.v1.IdentityService/GetIdentity", Identities: []string{"I1"}, Result: "ok"}
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := l.Append(e); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// On a store synced in groups, Append returns once a sync that started
// after its entry was committed has finished, and fails when it fails.
func TestAppendWaitsForSync(t *testing.T) {
	_, l := openMem(t)
	var stored []uint64 // the trail's head at each sync
	l.SetSync(func() error {
		seq, _ := l.Head()
		stored = append(stored, seq)
		return nil
	})
	fill(t, l, 3)
	if !slices.Equal(stored, []uint64{1, 2, 3}) {
		t.Fatalf("heads at the syncs: %v, want each entry committed before its sync", stored)
	}
	if err := l.Sync(); err != nil || len(stored) != 4 {
		t.Fatalf("Sync: %v after %d syncs", err, len(stored))
	}
	l.SetSync(func() error { return errors.New("disk gone") })
	if _, err := l.Append(Entry{Principal: "u", Operation: "op"}); err == nil || !strings.Contains(err.Error(), "disk gone") {
		t.Fatalf("Append on a store that cannot sync: %v", err)
	}
}

// TestAppendCommitsWhileAGroupWaitsForItsSync checks that a group waiting
// for its sync does not hold back the next group's commit, and that no
// append returns before a sync that started after its commit.
func TestAppendCommitsWhileAGroupWaitsForItsSync(t *testing.T) {
	_, l := openMem(t)
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock() // a failed check must not leave the syncs blocked
	var mu sync.Mutex
	var heads []uint64 // the trail's head at each sync's start
	l.SetSync(func() error {
		seq, _ := l.Head()
		mu.Lock()
		heads = append(heads, seq)
		mu.Unlock()
		<-release
		return nil
	})
	first := make(chan error, 1)
	go func() {
		_, err := l.Append(Entry{Principal: "u", Operation: "first"})
		first <- err
	}()
	// The first entry is committed, its sync blocked: a second append is
	// committed all the same.
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(heads) == 1 })
	second := make(chan error, 1)
	go func() {
		_, err := l.Append(Entry{Principal: "u", Operation: "second"})
		second <- err
	}()
	waitFor(t, func() bool { seq, _ := l.Head(); return seq == 2 })
	select {
	case err := <-first:
		t.Fatalf("the first append returned (%v) before its sync", err)
	case err := <-second:
		t.Fatalf("the second append returned (%v) before its sync", err)
	default:
	}
	unblock()
	for _, c := range []chan error{first, second} {
		if err := <-c; err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(heads, []uint64{1, 2}) {
		t.Fatalf("heads at the syncs' start: %v, want one sync after each entry's commit", heads)
	}
}

// TestAppendCommitsOnlyItsOwnGroup checks that the append committing a
// group hands the queue on to the next group's first append: its caller is
// answered while the group that queued behind it is still being committed.
func TestAppendCommitsOnlyItsOwnGroup(t *testing.T) {
	_, l := openMem(t)
	l.SetSync(func() error { return nil })
	// Each group's commit reads the clock first: hold each there until told.
	// reached[i] is closed when group i's commit reaches the clock.
	gates := []chan struct{}{make(chan struct{}), make(chan struct{})}
	reached := []chan struct{}{make(chan struct{}), make(chan struct{})}
	var calls atomic.Int32
	l.now = func() time.Time {
		if i := int(calls.Add(1)) - 1; i < len(gates) {
			close(reached[i])
			<-gates[i]
		}
		return time.Now()
	}
	var once [2]sync.Once
	open := func(i int) { once[i].Do(func() { close(gates[i]) }) }
	defer open(0)
	defer open(1)
	appended := func(op string) chan error {
		c := make(chan error, 1)
		go func() {
			_, err := l.Append(Entry{Principal: "u", Operation: op})
			c <- err
		}()
		return c
	}
	first := appended("first")
	<-reached[0]
	second := appended("second") // queued while the first group commits
	waitFor(t, func() bool { return l.Waiting() == 2 })
	open(0)
	// The first caller is answered although the second group's commit is
	// held at its clock: the second append commits it, not the first.
	select {
	case err := <-first:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the first append is still committing the group queued behind it")
	}
	<-reached[1]
	if seq, _ := l.Head(); seq != 1 {
		t.Fatalf("head %d while the second group is held, want 1", seq)
	}
	open(1)
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if seq, _ := l.Head(); seq != 2 || l.Waiting() != 0 {
		t.Fatalf("head %d, %d waiting after both appends, want 2 and 0", seq, l.Waiting())
	}
	if r, err := l.Verify(); err != nil || r.Broken != nil || r.Entries != 2 {
		t.Fatalf("chain after a hand-over: %+v, %v", r, err)
	}
}

// TestAppendReportsItsWait checks that an append waiting for its sync is
// counted by Waiting, and that the observer is told, once the append
// returns, a wait that includes the sync's.
func TestAppendReportsItsWait(t *testing.T) {
	_, l := openMem(t)
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock()
	// The sync says when it starts, and measures how long it is held.
	var mu sync.Mutex
	var waits []time.Duration
	var held time.Duration
	syncing := make(chan struct{})
	l.SetSync(func() error {
		start := time.Now()
		close(syncing)
		<-release
		mu.Lock()
		held = time.Since(start)
		mu.Unlock()
		return nil
	})
	l.SetObserver(func(d time.Duration) { mu.Lock(); waits = append(waits, d); mu.Unlock() })
	done := make(chan error, 1)
	go func() {
		_, err := l.Append(Entry{Principal: "u", Operation: "op"})
		done <- err
	}()
	<-syncing
	waitFor(t, func() bool { seq, _ := l.Head(); return seq == 1 })
	if n := l.Waiting(); n != 1 {
		t.Fatalf("Waiting with an append blocked on its sync: %d, want 1", n)
	}
	mu.Lock()
	early := len(waits)
	mu.Unlock()
	if early != 0 {
		t.Fatalf("the observer was told %d waits before the append returned", early)
	}
	unblock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := l.Waiting(); n != 0 {
		t.Errorf("Waiting after the append returned: %d, want 0", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(waits) != 1 || waits[0] < held {
		t.Errorf("waits observed: %v, want one of at least %s (the sync was held that long)", waits, held)
	}
}

// waitFor waits up to 10 s for cond.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestParseLogKey(t *testing.T) {
	tests := []struct {
		key string
		seq uint64
		ok  bool
	}{
		{string(logKey(1)), 1, true},
		{string(logKey(0xabcdef0123)), 0xabcdef0123, true},
		{"a/log/000000000000000A", 0, false}, // not the form logKey writes
		{"a/log/1", 0, false},
		{"a/log/00000000000000zz", 0, false},
		{"a/tok/0000000000000001", 0, false},
	}
	for _, tt := range tests {
		seq, ok := parseLogKey([]byte(tt.key))
		if ok != tt.ok || (ok && seq != tt.seq) {
			t.Errorf("parseLogKey(%q) = %d, %v; want %d, %v", tt.key, seq, ok, tt.seq, tt.ok)
		}
	}
}

// TestBasisHashed: the basis of an entry is part of its hash (changing it
// breaks the chain), and an entry without one hashes as before the field
// existed.
func TestBasisHashed(t *testing.T) {
	e := Entry{Seq: 1, Principal: "dr-x", Operation: "/op", Result: "ok", PrevHash: genesis}
	without := e.computeHash()
	e.Basis = "site"
	site := e.computeHash()
	e.Basis = "code"
	if bytes.Equal(site, e.computeHash()) || bytes.Equal(site, without) {
		t.Fatal("the basis does not change the hash")
	}
	// Without a basis, the hash is the same as before the field existed.
	e.Basis = ""
	if !bytes.Equal(without, e.computeHash()) {
		t.Fatal("hash not deterministic")
	}
	var enc Entry
	v, err := encode(&Entry{Seq: 2, Principal: "p", Operation: "o", Basis: "break_glass: urgence vitale", PrevHash: genesis, Hash: genesis})
	if err != nil {
		t.Fatal(err)
	}
	if err := decode(v, &enc); err != nil || enc.Basis != "break_glass: urgence vitale" {
		t.Fatalf("round trip: %q, %v", enc.Basis, err)
	}
}

// rechain rewrites the trail as an attacker who knows the hash scheme
// would: the entries given, renumbered from 1 and chained again, the keys
// beyond them deleted. Verify then finds the chain intact; only the
// anchors can tell.
func rechain(t *testing.T, db *store.DB, entries []Entry, oldHead uint64) {
	t.Helper()
	err := store.Update(db, func(txn *store.Txn) error {
		prev := genesis
		for i := range entries {
			e := &entries[i]
			e.Seq, e.PrevHash = uint64(i+1), prev
			e.Hash = e.computeHash()
			prev = e.Hash
			v, err := encode(e)
			if err != nil {
				return err
			}
			if err := txn.Set(logKey(e.Seq), v); err != nil {
				return err
			}
		}
		for seq := uint64(len(entries)) + 1; seq <= oldHead; seq++ {
			if err := txn.Delete(logKey(seq)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestVerifyAnchors (issue 30): the heads anchored outside the store
// reveal what the chain alone cannot: a truncated tail, and an entry
// modified or removed by someone who chained the rest again; an
// untouched trail holds every anchor.
func TestVerifyAnchors(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(entries []Entry) []Entry // nil: untouched
		says   string                        // in the break; "" for none
	}{
		{"untouched", nil, ""},
		{"truncated tail", func(es []Entry) []Entry { return es[:3] }, "truncated"},
		{"modified entry, chain recomputed", func(es []Entry) []Entry {
			es[1].Principal = "someone-else"
			return es
		}, "rewritten"},
		{"removed entry, chain recomputed", func(es []Entry) []Entry { return append(es[:1], es[2:]...) }, "rewritten"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, l := openMem(t)
			fill(t, l, 3)
			var anchors []Anchor
			anchor := func() {
				seq, hash := l.Head()
				anchors = append(anchors, Anchor{Seq: seq, Hash: hash, Time: time.Now()})
			}
			anchor()
			fill(t, l, 2)
			anchor()
			if tt.tamper != nil {
				var entries []Entry
				for seq := uint64(1); seq <= 5; seq++ {
					e, err := l.Get(seq)
					if err != nil {
						t.Fatal(err)
					}
					entries = append(entries, e)
				}
				rechain(t, db, tt.tamper(entries), 5)
				var err error
				if l, err = Open(db); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { l.Close() })
				// The attacker rebuilds the index too.
				if err := l.Reindex(); err != nil {
					t.Fatal(err)
				}
			}
			if rep, err := l.Verify(); err != nil || rep.Broken != nil {
				t.Fatalf("Verify = %+v, %v: the attacker's chain should hold", rep, err)
			}
			brk, err := l.VerifyAnchors(anchors)
			switch {
			case err != nil:
				t.Fatal(err)
			case tt.says == "" && brk != nil:
				t.Errorf("untouched trail: %v", brk)
			case tt.says != "" && (brk == nil || !strings.Contains(brk.Error(), tt.says)):
				t.Errorf("break = %v, want one saying %q", brk, tt.says)
			}
		})
	}
}

// TestAnchorFile: anchors written to a file read back as written, and a
// malformed line is refused with its number.
func TestAnchorFile(t *testing.T) {
	path := t.TempDir() + "/anchors"
	want := []Anchor{{Seq: 0, Hash: genesis, Time: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)},
		{Seq: 42, Hash: bytes.Repeat([]byte{0xab}, 32), Time: time.Date(2026, 12, 1, 8, 1, 0, 0, time.UTC)}}
	for _, a := range want {
		if err := AppendAnchor(path, a); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadAnchors(f)
	f.Close()
	if err != nil || len(got) != 2 || got[1].Seq != 42 || !bytes.Equal(got[1].Hash, want[1].Hash) || !got[1].Time.Equal(want[1].Time) {
		t.Fatalf("ReadAnchors = %+v, %v", got, err)
	}
	for _, bad := range []string{"1 abc 2026-12-01T08:00:00Z", "x " + strings.Repeat("0", 64) + " 2026-12-01T08:00:00Z", "1 " + strings.Repeat("0", 64)} {
		if _, err := ReadAnchors(strings.NewReader("\n" + bad + "\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%q: err = %v, want line 2 refused", bad, err)
		}
	}
}

// TestFHIRAuditEvent: every entry exports with the elements a FHIR R4
// AuditEvent requires (type, recorded, agent with who and requestor,
// source with observer) and the patients as entities; break the glass is
// the BTG purpose of use.
func TestFHIRAuditEvent(t *testing.T) {
	_, l := openMem(t)
	for _, e := range []Entry{
		{Principal: "810000000003", Role: "clinician", Authorities: []string{"1.2.3"}, Operation: "/vigie.v1.IdentityService/GetIdentity",
			Identities: []string{"I7"}, Records: []Record{{"1.2.3", "IPP9"}}, Result: "ok", Client: "10.0.0.5:5100", Credential: "oidc:j1",
			Basis: "break_glass: patient inconscient aux urgences"},
		{Principal: "cli:alice", Role: "operator", Operation: "cli: vigie export links", Purpose: "every source record", Result: "ok", Basis: "operator"},
		{Principal: "dr-a", Role: "clinician", Operation: "/vigie.v1.AccessService/CreateAccessCode", Identities: []string{"I8"}, Result: "internal"},
	} {
		if _, err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	var events []map[string]any
	if err := l.Since(time.Now().Add(-time.Hour), func(e Entry) error {
		b, err := json.Marshal(e.FHIR())
		if err != nil {
			return err
		}
		var m map[string]any
		events = append(events, m)
		return json.Unmarshal(b, &events[len(events)-1])
	}); err != nil {
		t.Fatal(err)
	}
	if len(events) != 3 {
		t.Fatalf("%d events, want 3", len(events))
	}
	get := func(m any, path ...any) any {
		for _, p := range path {
			switch k := p.(type) {
			case string:
				mm, _ := m.(map[string]any)
				m = mm[k]
			case int:
				s, _ := m.([]any)
				if k >= len(s) {
					return nil
				}
				m = s[k]
			}
		}
		return m
	}
	tests := []struct {
		event int
		path  []any
		want  any
	}{
		{0, []any{"resourceType"}, "AuditEvent"},
		{0, []any{"type", "code"}, "110110"},
		{0, []any{"action"}, "R"},
		{0, []any{"outcome"}, "0"},
		{0, []any{"agent", 0, "who", "identifier", "value"}, "810000000003"},
		{0, []any{"agent", 0, "requestor"}, true},
		{0, []any{"agent", 0, "network", "address"}, "10.0.0.5:5100"},
		{0, []any{"agent", 0, "purposeOfUse", 0, "coding", 1, "code"}, "BTG"},
		{0, []any{"source", "observer", "display"}, "Vigie, regional patient index and dose ledger"},
		{0, []any{"entity", 0, "what", "identifier", "value"}, "I7"},
		{0, []any{"entity", 0, "role", "code"}, "1"},
		{0, []any{"entity", 1, "what", "identifier", "system"}, "urn:oid:1.2.3"},
		{0, []any{"entity", 2, "detail", 0, "type"}, "hash"},
		{1, []any{"type", "code"}, "rest"},
		{1, []any{"agent", 0, "purposeOfUse", 0, "coding", 0, "code"}, "operator"},
		{1, []any{"purposeOfEvent", 0, "text"}, "every source record"},
		{1, []any{"action"}, "R"},
		{2, []any{"outcome"}, "8"},
		{2, []any{"action"}, "E"},
	}
	for _, tt := range tests {
		if got := get(events[tt.event], tt.path...); got != tt.want {
			t.Errorf("event %d %v = %v, want %v", tt.event, tt.path, got, tt.want)
		}
	}
	for i, ev := range events {
		recorded, _ := ev["recorded"].(string)
		if _, err := time.Parse(time.RFC3339Nano, recorded); err != nil {
			t.Errorf("event %d recorded %q: %v", i, recorded, err)
		}
		for _, required := range []string{"type", "recorded", "agent", "source", "entity"} {
			if ev[required] == nil {
				t.Errorf("event %d lacks %s", i, required)
			}
		}
	}
	// Since starts at the first entry at or after the time.
	n := 0
	if err := l.Since(time.Now().Add(time.Hour), func(Entry) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("Since an hour ahead: %d entries, %v", n, err)
	}
}

// TestHashGolden pins the hashes of a few entries as the first versions
// computed them: the chain is stored, and a change in how the canonical
// encoding is built (not what it is) must leave every hash as it was.
func TestHashGolden(t *testing.T) {
	e := Entry{Seq: 42, Time: time.Unix(1700000000, 123456789).UTC(), Principal: "dr-martin", Role: "clinician",
		Authorities: []string{"1.2.250.1.1", "1.2.250.1.2"}, Operation: "/vigie.v1.IdentityService/SearchIdentities",
		Identities: []string{"I1", "I22"}, Records: []Record{{"1.2.250.1.1", "IPP1"}, {"1.2.250.1.2", "é"}},
		Purpose: "soins", Result: "ok", Client: "127.0.0.1:5000", Credential: "api_key:k1", PrevHash: genesis}
	withBasis := e
	withBasis.Basis = "site"
	tests := []struct {
		e    Entry
		want string
	}{
		{e, "c46959074ce87f7cb9cf6e142d0a005b09cfa3b0bf138f5c6579477e4e67fdf6"},
		{withBasis, "316f7328f6b5e2e472cd0c69fd68120a69afb8d047475c593765580bd8032122"},
		{Entry{Seq: 1, Principal: "p", Operation: "o", PrevHash: genesis, Time: time.Unix(0, 0)}, "816c7c294390288bf019346a7b056805ec6645731dc5d935d2591527843f73ad"},
	}
	for i, tt := range tests {
		if got := hex.EncodeToString(tt.e.computeHash()); got != tt.want {
			t.Errorf("%d: hash %s, want %s", i, got, tt.want)
		}
	}
}
