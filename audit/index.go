package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"vigie/store"
)

// index finds the entries of a subject (an identity, a source record, a
// principal). It is derived from the entries, like the search index from
// the patient index: the chain is the truth, and the index can always be
// rebuilt from it (Reindex).
//
// A posting (a subject named by an entry) is one store key with no value,
// a/ih/<subject><seq>: the subject's kind and a 64-bit hash of its name,
// then the sequence as 8 big-endian bytes, so that the postings of a
// subject are adjacent and in sequence order, and a query is a reverse
// prefix scan that stops at its limit. a/ihdone holds the last sequence
// whose postings are all written.
//
// The subject is hashed so that every posting key has the same short
// length (22 bytes) whatever the name: a source record's authority OID
// and local id made keys of some 46 bytes, and every byte of a key is
// held in Badger's memtable and write-ahead log, whose filling makes
// writes wait for room (see docs/benchmarks.md). Two subjects may share a
// hash (about one chance in ten million for two million subjects): the
// queries read each entry the index names and keep only those that name
// the subject (Log.byIndex), so a shared hash costs a read, never a wrong
// answer. Earlier versions kept the names whole under a/ix/ (and a/ixdone):
// Open drops those keys and indexes the entries again.
//
// The postings are not written in the transaction of their entry: a
// search's entry names some thirty patients, and writing their keys in the
// call's commit made it wait for thirty insertions. They gather in memory
// and a background writer writes them in batches (a Badger WriteBatch,
// every writeAt postings or writeEvery), with a/ixdone last, while the
// next batch gathers; queries read memory and the store. After a crash,
// the entries past a/ixdone are indexed again at Open.
type index struct {
	db *store.DB

	// wmu is held by the one writing postings (Open, the writer, a
	// test's flush), so that each batch starts where the last ended.
	wmu sync.Mutex

	mu    sync.Mutex // guards everything below
	ps    []posting  // postings of entries past done, in sequence order
	to    uint64     // last entry whose postings are in ps or written
	done  uint64     // last entry whose postings are written (a/ixdone)
	err   error      // the last failure to write postings
	fails int        // failures so far

	closeOnce sync.Once
	started   atomic.Bool // the writer runs (start)

	// report, when set, is told of each failure (see Log.SetIndexErrors).
	report func(error)

	kick chan struct{}
	quit chan struct{}
	stop chan struct{} // closed when the writer has stopped
}

// Keys of the index (registered in package store).
const (
	indexPrefix  = "a/ih/"
	indexDoneKey = "a/ihdone"
)

// maxWrite bounds the postings of one batch: a rebuild writes in steps,
// each recording how far it went.
const maxWrite = 1 << 18

// A posting says that the entry seq concerns a subject: an identity, a
// source record or a principal (see subjectKey).
type posting struct {
	subject string
	seq     uint64
}

// Subjects: a kind byte, then the hash of the name (subjectHash), which
// is length-prefixed so that no authority and local id hash as another
// record's; being of one length, no subject is the prefix of another's
// ("I1" and "I10").
func identitySubject(id string) string { return subjectHash('i', id) }

func userSubject(name string) string { return subjectHash('u', name) }

func recordSubject(r Record) string { return subjectHash('r', r.Authority, r.LocalID) }

// subjectLen is the length of a subject in a posting key.
const subjectLen = 1 + 8

// subjectHash is kind followed by the 64-bit FNV-1a hash of the names,
// each length-prefixed (a uvarint), 8 bytes big-endian: stable across
// processes and builds (it is stored), and cheap (some twenty postings a
// search): the bytes are hashed as they come, never copied.
func subjectHash(kind byte, names ...string) string {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	var n [binary.MaxVarintLen64]byte
	for _, name := range names {
		for _, c := range n[:binary.PutUvarint(n[:], uint64(len(name)))] {
			h ^= uint64(c)
			h *= prime
		}
		for i := 0; i < len(name); i++ {
			h ^= uint64(name[i])
			h *= prime
		}
	}
	var b [subjectLen]byte
	b[0] = kind
	binary.BigEndian.PutUint64(b[1:], h)
	return string(b[:])
}

// postingKeyLen is the length of a posting's key.
const postingKeyLen = len(indexPrefix) + subjectLen + 8

// postingKey is the store key of a posting.
func postingKey(p posting) []byte { return appendPostingKey(make([]byte, 0, postingKeyLen), p) }

// appendPostingKey appends the store key of a posting to b.
func appendPostingKey(b []byte, p posting) []byte {
	b = append(b, indexPrefix...)
	b = append(b, p.subject...)
	return binary.BigEndian.AppendUint64(b, p.seq)
}

// parsePostingKey is postingKey's inverse.
func parsePostingKey(k []byte) (posting, bool) {
	if !bytes.HasPrefix(k, []byte(indexPrefix)) || len(k) != len(indexPrefix)+subjectLen+8 {
		return posting{}, false
	}
	n := len(k) - 8
	return posting{string(k[len(indexPrefix):n]), binary.BigEndian.Uint64(k[n:])}, true
}

// appendPostings appends the postings of an entry to ps: its principal,
// identities and records.
func appendPostings(ps []posting, e *Entry) []posting {
	ps = append(ps, posting{userSubject(e.Principal), e.Seq})
	for _, id := range e.Identities {
		ps = append(ps, posting{identitySubject(id), e.Seq})
	}
	for _, r := range e.Records {
		ps = append(ps, posting{recordSubject(r), e.Seq})
	}
	return ps
}

// openIndex returns the index of db with the sequence up to which its
// postings are written: the caller adds the entries after it.
func openIndex(db *store.DB) (*index, bool, error) {
	ix := &index{db: db, kick: make(chan struct{}, 1), quit: make(chan struct{}), stop: make(chan struct{})}
	var found bool
	err := db.View(func(txn *store.Txn) error {
		var err error
		ix.done, found, err = doneIn(txn)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	ix.to = ix.done
	return ix, found, nil
}

// doneIn reads a/ixdone in txn, and whether it is there.
func doneIn(txn *store.Txn) (uint64, bool, error) {
	v, found, err := store.Get(txn, []byte(indexDoneKey))
	if err != nil || !found {
		return 0, false, err
	}
	if len(v) != 8 {
		return 0, false, fmt.Errorf("%s holds %d bytes, not 8", indexDoneKey, len(v))
	}
	return binary.BigEndian.Uint64(v), true, nil
}

// start starts the background writer.
func (ix *index) start() {
	ix.started.Store(true)
	go ix.loop()
}

// add indexes the entries of a committed group, in sequence order.
func (ix *index) add(es []*pending) {
	ix.mu.Lock()
	for _, p := range es {
		ix.ps = appendPostings(ix.ps, &p.e)
		ix.to = p.e.Seq
	}
	full := len(ix.ps) >= writeAt
	ix.mu.Unlock()
	if full {
		select {
		case ix.kick <- struct{}{}:
		default:
		}
	}
}

// The writer writes once writeAt postings have gathered (some 200
// searches), or every writeEvery whatever has: a batch costs a Badger
// transaction or more, which a few postings would not amortise.
const (
	writeAt    = 4096
	writeEvery = time.Second
)

// addEntry indexes an entry read back from the store at Open, writing the
// postings in batches of maxWrite as they gather (the writer is not
// started yet). A failed write leaves them in memory for the writer.
func (ix *index) addEntry(e *Entry) {
	ix.mu.Lock()
	ix.ps = appendPostings(ix.ps, e)
	ix.to = e.Seq
	n, fails := len(ix.ps), ix.fails
	ix.mu.Unlock()
	if n >= maxWrite && fails == 0 {
		if err := ix.writeSome(); err != nil {
			ix.fail(err)
		}
	}
}

// loop writes the postings gathered, until quit.
func (ix *index) loop() {
	defer close(ix.stop)
	tick := time.NewTicker(writeEvery)
	defer tick.Stop()
	var retry <-chan time.Time // set after a failure
	for {
		select {
		case <-ix.quit:
			return
		case <-ix.kick:
			if retry != nil {
				continue // after a failure, wait for the retry
			}
		case <-tick.C:
			if retry != nil {
				continue
			}
		case <-retry:
		}
		retry = nil
		for {
			ix.mu.Lock()
			empty := len(ix.ps) == 0
			ix.mu.Unlock()
			if empty {
				break
			}
			if err := ix.writeSome(); err != nil {
				ix.fail(err)
				retry = time.After(retryAfter) // the postings stay in memory, and in queries
				break
			}
			select {
			case <-ix.quit:
				return
			default:
			}
		}
	}
}

// retryAfter is the pause before a failed write is tried again.
const retryAfter = time.Second

func (ix *index) fail(err error) {
	ix.mu.Lock()
	ix.err = err
	ix.fails++
	ix.mu.Unlock()
	if ix.report != nil {
		ix.report(err)
	}
}

// writeSome writes up to maxWrite of the gathered postings, ending on an
// entry's boundary, with a/ixdone last, then drops them from memory.
func (ix *index) writeSome() error {
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	ix.mu.Lock()
	n, done := len(ix.ps), ix.to
	if n > maxWrite {
		n = maxWrite
		// Every entry has a posting (its principal): the entries before
		// the one of ps[n] are complete.
		for n > 0 && ix.ps[n-1].seq == ix.ps[n].seq {
			n--
		}
		done = ix.ps[n].seq - 1
	}
	batch := ix.ps[:n:n] // not changed by add, which appends after len
	unchanged := n == 0 && done == ix.done
	ix.mu.Unlock()
	if unchanged {
		return nil
	}
	for len(batch) > commitAt {
		if err := ix.commit(batch[:commitAt], nil); err != nil {
			return err
		}
		batch = batch[commitAt:]
	}
	if err := ix.commit(batch, binary.BigEndian.AppendUint64(nil, done)); err != nil {
		return err
	}
	ix.mu.Lock()
	ix.ps = append([]posting(nil), ix.ps[n:]...)
	ix.done, ix.err = done, nil
	ix.mu.Unlock()
	return nil
}

// commitAt bounds the postings of one commit. Badger inserts a commit's
// keys into its memtable on its one writing goroutine, a couple of
// microseconds a key: the trail's entries, committed meanwhile, wait
// behind at most a millisecond or two of postings.
const commitAt = 512

// commit writes ps, then a/ixdone = done when done is not nil, and waits
// for them.
func (ix *index) commit(ps []posting, done []byte) error {
	wb, err := store.NewBatch(ix.db, store.WriteTrail)
	if err != nil {
		return fmt.Errorf("audit: write the index: %w", err)
	}
	defer wb.Cancel()
	// The keys of the commit in one allocation: Badger keeps each key's
	// slice until the commit is written.
	keys := make([]byte, 0, len(ps)*postingKeyLen)
	for _, p := range ps {
		keys = appendPostingKey(keys, p)
		if err := wb.Set(keys[len(keys)-postingKeyLen:len(keys):len(keys)], nil); err != nil {
			return fmt.Errorf("audit: write the index: %w", err)
		}
	}
	if done != nil {
		if err := wb.Set([]byte(indexDoneKey), done); err != nil {
			return fmt.Errorf("audit: write the index: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("audit: write the index: %w", err)
	}
	return nil
}

// find calls fn with the sequences of the subject's entries older than
// before (all when before is 0), newest first, until fn returns false.
// The postings in memory are read before the store's snapshot is taken,
// so that none written meanwhile is missed; those read twice are given
// once.
func (ix *index) find(subject string, before uint64, fn func(seq uint64) (bool, error)) error {
	var mem []uint64 // newest first
	ix.mu.Lock()
	for i := len(ix.ps) - 1; i >= 0; i-- {
		if ix.ps[i].subject == subject && (before == 0 || ix.ps[i].seq < before) {
			mem = append(mem, ix.ps[i].seq)
		}
	}
	ix.mu.Unlock()
	prefix := append([]byte(indexPrefix), subject...)
	return ix.db.View(func(txn *store.Txn) error {
		it := txn.NewIterator(store.IteratorOptions{Reverse: true, Prefix: prefix})
		defer it.Close()
		if before == 0 {
			it.Seek(append(slices.Clone(prefix), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))
		} else {
			// A reverse iterator seeks to the greatest key at or below.
			it.Seek(binary.BigEndian.AppendUint64(slices.Clone(prefix), before-1))
		}
		last := uint64(0) // the last sequence given, 0 before the first
		give := func(seq uint64) (bool, error) {
			if last != 0 && seq >= last {
				return true, nil // given already
			}
			last = seq
			return fn(seq)
		}
		for {
			var stored uint64
			ok := false
			for ; it.Valid(); it.Next() {
				k := it.Item().Key()
				if len(k) == len(prefix)+8 {
					stored, ok = binary.BigEndian.Uint64(k[len(prefix):]), true
					break
				}
			}
			var seq uint64
			switch {
			case ok && (len(mem) == 0 || stored >= mem[0]):
				seq = stored
				it.Next()
			case len(mem) > 0:
				seq, mem = mem[0], mem[1:]
			default:
				return nil
			}
			if more, err := give(seq); err != nil || !more {
				return err
			}
		}
	})
}

// flush writes every posting gathered so far; for tests and benchmarks.
// It fails if a write fails meanwhile.
func (ix *index) flush() error {
	for {
		ix.mu.Lock()
		empty := len(ix.ps) == 0
		ix.mu.Unlock()
		if empty {
			return nil
		}
		if err := ix.writeSome(); err != nil {
			return err
		}
	}
}

// close stops the writer. Postings not yet written are indexed again from
// the store at the next open.
func (ix *index) close() {
	ix.closeOnce.Do(func() {
		close(ix.quit)
		if ix.started.Load() {
			<-ix.stop
		}
	})
}

// stats returns the number of postings held in memory and the last
// failure to write them.
func (ix *index) stats() (buffered int, err error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return len(ix.ps), ix.err
}

// digest is an order-independent checksum of a set of postings: the sums,
// modulo 2^64, of the two halves of each posting's SHA-256. Verify compares
// the digest of the stored postings with that of the postings the entries
// imply, without holding either set in memory.
type digest struct {
	count uint64
	a, b  uint64
}

func (d *digest) add(p posting) {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], p.seq)
	h.Write(n[:])
	h.Write([]byte(p.subject))
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	d.count++
	d.a += binary.BigEndian.Uint64(sum[0:8])
	d.b += binary.BigEndian.Uint64(sum[8:16])
}

// verifySpan is the number of entries whose postings Verify checks
// together: a damaged index is reported at the first entry of the span.
const verifySpan = 1024

// digests holds one digest per span of entries.
type digests []digest

func (ds *digests) add(p posting) {
	i := int((p.seq - 1) / verifySpan)
	if i >= len(*ds) {
		*ds = append(*ds, make([]digest, i+1-len(*ds))...)
	}
	(*ds)[i].add(p)
}

// indexRepair says how to rebuild a damaged index.
const indexRepair = " (rebuild the index from the entries with `vigie audit verify --reindex`, the service stopped)"

// verifyIndex checks, in txn, the stored postings of the entries up to
// done (a/ixdone as txn sees it) against want, the digests of the
// postings those entries make; head is the last good entry.
func verifyIndex(txn *store.Txn, want digests, done, head uint64) *Break {
	if done > head {
		return &Break{head + 1, fmt.Sprintf("missing: the index covers entries up to %d", done)}
	}
	var got digests
	it := txn.NewIterator(store.IteratorOptions{Prefix: []byte(indexPrefix)})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		p, ok := parsePostingKey(it.Item().Key())
		if !ok || p.seq == 0 {
			return &Break{1, fmt.Sprintf("index: malformed key %q%s", it.Item().Key(), indexRepair)}
		}
		if p.seq <= done { // those past it are being written
			got.add(p)
		}
	}
	for i := 0; i < max(len(got), len(want)); i++ {
		from := uint64(i)*verifySpan + 1
		if from > done {
			break
		}
		var g, w digest
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			return &Break{from, fmt.Sprintf("index: the entries %d-%d have %d postings stored, and make %d, or others%s",
				from, min(from+verifySpan-1, done), g.count, w.count, indexRepair)}
		}
	}
	return nil
}
