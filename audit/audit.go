// Package audit keeps Vigie's audit trail: who read or changed which
// patient's data, when, in what role, for what purpose, and with what
// result. The regional platform must be able to answer "who looked at this
// patient" and "what did this user do", and to show that the trail was not
// altered afterwards.
//
// The trail is append-only and hash-chained: every entry carries the hash
// of the entry before it, and its own hash is SHA-256 over a canonical
// encoding of all its fields including that previous hash. Rewriting,
// inserting or deleting an entry in the middle breaks the chain, which
// Verify detects. Deleting entries at the end cannot be seen from the chain
// alone: an operator who records the head (sequence and hash, printed by
// `vigie audit verify`) elsewhere can detect it.
//
// The entries are kept in the store under a/log/<seq> (JSON, versioned;
// sequences are 16 lowercase hex digits so that keys sort in sequence
// order). Sequences are contiguous from 1, so that a deleted entry leaves a
// visible gap.
//
// The index that finds the entries of an identity, a source record or a
// principal is derived from the entries and kept in the store too, as
// ordered keys under a/ih/ written in batches beside the entries: see
// index. Verify checks it against the chain.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"vigie"
	"vigie/store"
)

// Record names a source record touched by an operation.
type Record struct {
	Authority string `json:"authority"`
	LocalID   string `json:"local_id"`
}

// Entry is one audited operation.
type Entry struct {
	Seq         uint64    // position in the chain, from 1, contiguous
	Time        time.Time // when it was recorded (UTC)
	Principal   string    // who: the principal's name (API key name or OIDC subject)
	Role        string    // in which role
	Authorities []string  // the principal's organisation: its assigning authorities
	Operation   string    // what: the procedure, e.g. /vigie.v1.IdentityService/GetIdentity
	Identities  []string  // identity ids read or changed (sorted, unique)
	Records     []Record  // source records read or changed (sorted, unique)
	Purpose     string    // why, as the caller stated it (X-Purpose header)
	Result      string    // "ok" or the error code returned (permission_denied, not_found…)
	Client      string    // the caller's network address
	Credential  string    // which credential: "api_key:<key id>" or "oidc:<jti>", never a secret
	// Basis is the ground on which patient data was read ("site", "code",
	// "break_glass: <reason>", "regional"); empty for calls that read no
	// single patient. Entries without one hash as before it existed.
	Basis    string
	PrevHash []byte // Hash of the previous entry (32 zero bytes for the first)
	Hash     []byte // SHA-256 of the canonical encoding of everything above
}

// Limits of one entry, so that a runaway response cannot write a huge entry.
const (
	MaxSubjects = 1000 // identities, and records, per entry
	maxText     = 1024 // bytes of one text field
)

// genesis is the previous hash of the first entry.
var genesis = make([]byte, sha256.Size)

// Log is the audit trail on a Badger store. Its methods are safe for
// concurrent use. Appends are serialised so that the chain stays single,
// and committed in groups: while one transaction is being committed or
// synced, the appends that arrive queue up and go to disk together in the
// next one, so that concurrent callers share the cost of a sync. The first
// append of a group commits it, then hands the queue to the first append
// of the next group: no caller waits for more than its own group's commit.
type Log struct {
	db  *store.DB
	now func() time.Time
	idx *index

	mu      sync.Mutex // guards everything below
	seq     uint64     // sequence of the last entry written
	head    []byte     // hash of the last entry written
	queue   []*pending // appends waiting for the next group
	writing bool       // an append is committing a group, or has been handed the queue
	// bad is set when the last entry could not be read at Open: appending
	// would chain onto an unknown hash, so Append refuses until repaired.
	bad error
	// sync makes the store's commits durable when they are synced in
	// groups (see SetSync); nil when each commit is.
	sync func() error
	// observe receives each append's wait (see SetObserver).
	observe func(time.Duration)
	// waiting counts the appends not yet answered (see Waiting).
	waiting atomic.Int64
}

// SetSync tells the trail that the store syncs its commits in groups
// (store.Options.Deferred), and how to wait for one: Append then returns
// once its entry, and every commit made before it, is durable. The caller
// sets it before the first Append.
func (l *Log) SetSync(sync func() error) { l.sync = sync }

// SetObserver gives the trail a function told, after each Append, how long
// the caller waited for its entry to be committed (and synced, see
// SetSync): under load, the share of a call's latency that its trace
// takes. The caller sets it before the first Append.
func (l *Log) SetObserver(observe func(wait time.Duration)) { l.observe = observe }

// Waiting returns the number of appends not yet answered: queued for the
// next group, being committed, or waiting for their group's sync.
func (l *Log) Waiting() int { return int(l.waiting.Load()) }

// Sync returns once every commit made before the call, in the trail or
// elsewhere in its store, is durable: what a call that answers before its
// entry is appended (a stream's messages) waits for.
func (l *Log) Sync() error {
	if l.sync == nil {
		return nil
	}
	if err := l.sync(); err != nil {
		return fmt.Errorf("audit: sync: %w", err)
	}
	return nil
}

// pending is one append waiting for its group's commit.
type pending struct {
	e    Entry
	err  error
	done chan struct{} // closed when the append is answered
	lead chan struct{} // closed when the append is to commit the next group
}

// Bounds of one group's transaction: Badger refuses a transaction of too
// many bytes (a few MB with the store's memtables), and an entry may name
// up to MaxSubjects identities and records.
const (
	maxGroup      = 256     // entries
	maxGroupBytes = 1 << 20 // estimated bytes of keys and values
)

// cost estimates the bytes an entry writes: its key and its JSON value.
func (e *Entry) cost() int {
	size := 256 + len(e.Principal) + len(e.Operation) + len(e.Purpose) + len(e.Client) + len(e.Credential)
	for _, a := range e.Authorities {
		size += len(a) + 4
	}
	for _, id := range e.Identities {
		size += len(id) + 4
	}
	for _, r := range e.Records {
		size += len(r.Authority) + len(r.LocalID) + 32
	}
	return size
}

// Open returns the audit trail kept in db, reading its current head and
// bringing its index up to date with the entries written since its
// postings were last written: all of them the first time, in a store
// written by a version that kept the index elsewhere (whose files are then
// removed). A trail whose last entry is unreadable still opens, for
// reading and Verify, but refuses appends. Close stops the index's
// writer.
func Open(db *store.DB) (*Log, error) {
	l := &Log{db: db, now: time.Now, head: genesis}
	err := db.View(func(txn *store.Txn) error {
		it := txn.NewIterator(store.IteratorOptions{Reverse: true, Prefix: []byte(logPrefix)})
		defer it.Close()
		it.Seek([]byte(logPrefix + "\xff"))
		if !it.Valid() {
			return nil
		}
		var e Entry
		if err := it.Item().Value(func(v []byte) error { return decode(v, &e) }); err != nil {
			// Reading and verifying stay possible; appending does not.
			l.bad = fmt.Errorf("audit: last entry %s is unreadable (%v): run vigie audit verify", it.Item().Key(), err)
			return nil
		}
		l.seq, l.head = e.Seq, e.Hash
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit: open: %w", err)
	}
	if err := dropLegacyIndex(db); err != nil {
		return nil, fmt.Errorf("audit: open: %w", err)
	}
	ix, _, err := openIndex(db)
	if err != nil {
		return nil, fmt.Errorf("audit: open index: %w", err)
	}
	l.idx = ix
	if err := l.indexFrom(ix.done + 1); err != nil {
		return nil, fmt.Errorf("audit: open index: %w", err)
	}
	if err := ix.flush(); err != nil {
		// The postings stay in memory; the writer tries again.
		ix.fail(err)
	} else if err := dropRunFiles(db); err != nil {
		return nil, fmt.Errorf("audit: open: %w", err)
	}
	ix.start()
	return l, nil
}

// indexFrom indexes the stored entries from seq on. An unreadable entry is
// left out: Verify reports it.
func (l *Log) indexFrom(seq uint64) error {
	return l.db.View(func(txn *store.Txn) error {
		it := txn.NewIterator(store.IteratorOptions{Prefix: []byte(logPrefix), PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Seek(logKey(seq)); it.Valid(); it.Next() {
			var e Entry
			if err := it.Item().Value(func(v []byte) error { return decode(v, &e) }); err != nil {
				continue
			}
			if k, ok := parseLogKey(it.Item().Key()); !ok || k != e.Seq {
				continue
			}
			l.idx.addEntry(&e)
		}
		return nil
	})
}

// Reindex rebuilds the index from the entries: the repair of an index
// that Verify finds damaged. Nothing may append meanwhile (the service
// stopped): the trail is used only to read it.
func (l *Log) Reindex() error {
	l.idx.close()
	if err := store.Guard(l.db).Allow(store.WriteTrail); err != nil {
		return fmt.Errorf("audit: reindex: %w", err)
	}
	if err := l.db.DropPrefix([]byte(indexPrefix), []byte(indexDoneKey)); err != nil {
		return fmt.Errorf("audit: reindex: %w", err)
	}
	ix, _, err := openIndex(l.db)
	if err != nil {
		return fmt.Errorf("audit: reindex: %w", err)
	}
	ix.report = l.idx.report
	l.idx = ix
	if err := l.indexFrom(1); err != nil {
		return fmt.Errorf("audit: reindex: %w", err)
	}
	err = ix.flush()
	ix.start()
	if err != nil {
		return fmt.Errorf("audit: reindex: %w", err)
	}
	return nil
}

// runDir is the directory, within the store's, where earlier versions
// kept the index in run files of their own.
const runDir = "audit-index"

// dropRunFiles removes the index's run files of an earlier version, once
// the index they held is in the store.
func dropRunFiles(db *store.DB) error {
	if dir := db.Dir(); dir != "" {
		if err := os.RemoveAll(filepath.Join(dir, runDir)); err != nil {
			return fmt.Errorf("remove the index files of an earlier version: %w", err)
		}
	}
	return nil
}

// dropLegacyIndex removes the index keys that earlier versions kept in the
// store (a/idn/, a/src/ and a/usr/, written with each entry; a/ix/ and
// a/ixdone, the subjects' names whole): the index is then rebuilt from
// the entries under a/ih/.
func dropLegacyIndex(db *store.DB) error {
	var found bool
	err := db.View(func(txn *store.Txn) error {
		for _, p := range legacyIndexPrefixes {
			it := txn.NewIterator(store.IteratorOptions{Prefix: []byte(p)})
			it.Rewind()
			found = found || it.Valid()
			it.Close()
		}
		return nil
	})
	if err != nil || !found {
		return err
	}
	// Dropping rewrites the tables that hold the keys: a write, refused
	// under the store's disk reserve until space is freed.
	if err := store.Guard(db).Allow(store.WriteData); err != nil {
		return fmt.Errorf("drop the index keys of an earlier version: %w", err)
	}
	var ps [][]byte
	for _, p := range legacyIndexPrefixes {
		ps = append(ps, []byte(p))
	}
	if err := db.DropPrefix(ps...); err != nil {
		return fmt.Errorf("drop the index keys of an earlier version: %w", err)
	}
	return nil
}

var legacyIndexPrefixes = []string{"a/idn/", "a/src/", "a/usr/", "a/ix/", "a/ixdone"}

// IndexStats describes the index of the trail's subjects.
type IndexStats struct {
	Buffered int   // postings in memory, not yet written in the store
	Err      error // the last failure to write postings; nil once some are written
}

// IndexStats returns the state of the index: while its postings cannot be
// written (a full or failing disk), they stay in memory and Buffered
// grows.
func (l *Log) IndexStats() IndexStats {
	buffered, err := l.idx.stats()
	return IndexStats{Buffered: buffered, Err: err}
}

// SetIndexErrors gives the trail a function told of each failure to write
// the index's postings (each is tried again a second later). The caller
// sets it before the first Append.
func (l *Log) SetIndexErrors(report func(error)) { l.idx.report = report }

// Close stops the index's writer. Postings not yet written are indexed
// again from the store at the next Open.
func (l *Log) Close() error {
	l.idx.close()
	return nil
}

// Head returns the sequence and hash of the last entry (0 and 32 zero bytes
// for an empty trail). Recording it outside the store lets a later check
// detect entries deleted from the end.
func (l *Log) Head() (uint64, []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seq, slices.Clone(l.head)
}

// Append records e: it assigns the sequence, time, previous hash and hash
// (whatever e held there is ignored) and returns the entry as stored. The
// entry is durable when Append returns, and so is every commit the caller
// made before calling it: a call's audit entry is appended after its
// changes, so that answering after Append acknowledges only durable
// writes. Principal and Operation are required.
func (l *Log) Append(e Entry) (Entry, error) {
	if e.Principal == "" {
		return Entry{}, vigie.Invalid("principal", "required")
	}
	if e.Operation == "" {
		return Entry{}, vigie.Invalid("operation", "required")
	}
	t0 := time.Now()
	normalise(&e)
	p := &pending{e: e, done: make(chan struct{}), lead: make(chan struct{})}
	l.mu.Lock()
	if l.bad != nil {
		l.mu.Unlock()
		return Entry{}, l.bad
	}
	l.queue = append(l.queue, p)
	l.waiting.Add(1)
	lead := !l.writing
	l.writing = true
	l.mu.Unlock()
	if !lead {
		select {
		case <-p.done:
		case <-p.lead:
			lead = true
		}
	}
	if lead {
		l.commitGroup()
	}
	<-p.done
	l.waiting.Add(-1)
	if l.observe != nil {
		l.observe(time.Since(t0))
	}
	return p.e, p.err
}

// commitGroup commits the group at the head of the queue, which holds the
// calling append, then hands the queue to the first append left in it, or
// marks the trail idle. One append at a time commits (l.writing), so the
// chain is extended by one writer; the sequence and head advance only after
// a group is committed, so a failed commit leaves no hole in the chain.
// No append commits the groups of others: under a steady load the queue
// seldom empties, and the one that did so would wait far longer than the
// rest.
func (l *Log) commitGroup() {
	l.mu.Lock()
	n, size := 0, 0
	for n < len(l.queue) && n < maxGroup {
		b := l.queue[n].e.cost()
		if n > 0 && size+b > maxGroupBytes {
			break
		}
		n, size = n+1, size+b
	}
	group := l.queue[:n:n]
	l.queue = l.queue[n:]
	seq, head := l.seq, l.head
	l.mu.Unlock()

	now := l.now().UTC().Round(0)
	err := store.UpdateTrail(l.db, func(txn *store.Txn) error {
		for _, p := range group {
			seq++
			p.e.Seq, p.e.Time, p.e.PrevHash = seq, now, head
			p.e.Hash = p.e.computeHash()
			head = p.e.Hash
			val, err := encode(&p.e)
			if err != nil {
				return fmt.Errorf("encode entry %d: %w", seq, err)
			}
			if err := txn.Set(logKey(seq), val); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		// Indexed in sequence order: the next group is handed over below.
		l.idx.add(group)
	}
	l.mu.Lock()
	if err == nil {
		l.seq, l.head = seq, head
	}
	// The next group's first append commits it; the sequence and head it
	// starts from are set above, under the same lock.
	if len(l.queue) > 0 {
		close(l.queue[0].lead)
	} else {
		l.writing = false
	}
	l.mu.Unlock()
	if err == nil && l.sync != nil {
		// One sync for the group: it starts after the group's commit,
		// which came after every member's own changes. It is waited for
		// beside the next group's commit (the store's syncer shares one
		// sync among the groups waiting at once).
		go func() { release(group, l.sync()) }()
		return
	}
	release(group, err)
}

// release answers the appends of a group: err, when not nil, is why their
// entries may not be durable.
func release(group []*pending, err error) {
	for _, p := range group {
		if err != nil {
			p.e, p.err = Entry{}, fmt.Errorf("audit: append: %w", err)
		}
		close(p.done)
	}
}

// normalise makes e canonical: valid UTF-8 text of bounded length (so that
// what is hashed is what JSON stores), sorted unique subjects, bounded
// counts.
func normalise(e *Entry) {
	clean := func(s string) string {
		s = strings.ToValidUTF8(s, "\uFFFD")
		if len(s) > maxText {
			s = strings.ToValidUTF8(s[:maxText], "")
		}
		return s
	}
	e.Principal, e.Role, e.Operation = clean(e.Principal), clean(e.Role), clean(e.Operation)
	e.Purpose, e.Result, e.Client, e.Credential = clean(e.Purpose), clean(e.Result), clean(e.Client), clean(e.Credential)
	e.Basis = clean(e.Basis)
	auth := make([]string, 0, len(e.Authorities))
	for _, a := range e.Authorities {
		auth = append(auth, clean(a))
	}
	e.Authorities = auth // order kept: it is the principal's own list
	ids := make([]string, 0, len(e.Identities))
	for _, id := range e.Identities {
		if id != "" {
			ids = append(ids, clean(id))
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	e.Identities = ids[:min(len(ids), MaxSubjects)]
	recs := make([]Record, 0, len(e.Records))
	for _, r := range e.Records {
		if r.LocalID != "" {
			recs = append(recs, Record{clean(r.Authority), clean(r.LocalID)})
		}
	}
	slices.SortFunc(recs, func(a, b Record) int {
		return cmpOr(strings.Compare(a.Authority, b.Authority), strings.Compare(a.LocalID, b.LocalID))
	})
	recs = slices.Compact(recs)
	e.Records = recs[:min(len(recs), MaxSubjects)]
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// computeHash is SHA-256 over the canonical encoding: a version tag, then
// every field in a fixed order, integers as 8-byte big-endian, strings and
// the previous hash length-prefixed, lists count-prefixed. Length prefixes
// make the encoding unambiguous ("ab"+"c" differs from "a"+"bc").
func (e *Entry) computeHash() []byte {
	// The encoding is built in one buffer and hashed once: writing each
	// field to the hash converted every string to bytes, an allocation
	// apiece, some thirty for a search's entry.
	b := make([]byte, 0, e.cost()+len(e.PrevHash))
	u64 := func(v uint64) { b = binary.BigEndian.AppendUint64(b, v) }
	str := func(s string) {
		u64(uint64(len(s)))
		b = append(b, s...)
	}
	if e.Basis != "" {
		str("vigie-audit-v2") // v1 plus the basis, last
	} else {
		str("vigie-audit-v1")
	}
	u64(e.Seq)
	u64(uint64(e.Time.UnixNano()))
	str(e.Principal)
	str(e.Role)
	u64(uint64(len(e.Authorities)))
	for _, a := range e.Authorities {
		str(a)
	}
	str(e.Operation)
	u64(uint64(len(e.Identities)))
	for _, id := range e.Identities {
		str(id)
	}
	u64(uint64(len(e.Records)))
	for _, r := range e.Records {
		str(r.Authority)
		str(r.LocalID)
	}
	str(e.Purpose)
	str(e.Result)
	str(e.Client)
	str(e.Credential)
	str(string(e.PrevHash))
	if e.Basis != "" {
		str(e.Basis)
	}
	sum := sha256.Sum256(b)
	return sum[:]
}

// stored is the JSON form of an entry in the store.
type stored struct {
	V           int      `json:"v"`
	Seq         uint64   `json:"seq"`
	Time        int64    `json:"time_ns"`
	Principal   string   `json:"principal"`
	Role        string   `json:"role"`
	Authorities []string `json:"authorities,omitempty"`
	Operation   string   `json:"operation"`
	Identities  []string `json:"identities,omitempty"`
	Records     []Record `json:"records,omitempty"`
	Purpose     string   `json:"purpose,omitempty"`
	Result      string   `json:"result"`
	Client      string   `json:"client,omitempty"`
	Credential  string   `json:"credential,omitempty"`
	Basis       string   `json:"basis,omitempty"`
	PrevHash    string   `json:"prev_hash"`
	Hash        string   `json:"hash"`
}

const storedVersion = 1

// encode writes the stored form of e: the JSON json.Marshal writes of
// stored, byte for byte (TestEncodeAsMarshal, FuzzEncode), appended by
// hand. Reflection took 4-5 µs of CPU a served search for this one
// value.
func encode(e *Entry) ([]byte, error) {
	b := make([]byte, 0, e.cost()+2*(len(e.PrevHash)+len(e.Hash)))
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, storedVersion, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, e.Seq, 10)
	b = append(b, `,"time_ns":`...)
	b = strconv.AppendInt(b, e.Time.UnixNano(), 10)
	b = appendField(b, "principal", e.Principal, false)
	b = appendField(b, "role", e.Role, false)
	b = appendList(b, "authorities", e.Authorities)
	b = appendField(b, "operation", e.Operation, false)
	b = appendList(b, "identities", e.Identities)
	if len(e.Records) > 0 {
		b = append(b, `,"records":[`...)
		for i, r := range e.Records {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"authority":`...)
			b = appendJSONString(b, r.Authority)
			b = append(b, `,"local_id":`...)
			b = appendJSONString(b, r.LocalID)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendField(b, "purpose", e.Purpose, true)
	b = appendField(b, "result", e.Result, false)
	b = appendField(b, "client", e.Client, true)
	b = appendField(b, "credential", e.Credential, true)
	b = appendField(b, "basis", e.Basis, true)
	b = append(b, `,"prev_hash":"`...)
	b = hex.AppendEncode(b, e.PrevHash)
	b = append(b, `","hash":"`...)
	b = hex.AppendEncode(b, e.Hash)
	return append(b, `"}`...), nil
}

// appendField appends ,"name":"value" (nothing when omitEmpty and the
// value is empty).
func appendField(b []byte, name, value string, omitEmpty bool) []byte {
	if omitEmpty && value == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendJSONString(b, value)
}

// appendList appends ,"name":["a","b"] (nothing for an empty list).
func appendList(b []byte, name string, values []string) []byte {
	if len(values) == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, `":[`...)
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, v)
	}
	return append(b, ']')
}

// appendJSONString appends s quoted as encoding/json quotes strings:
// control characters, <, > and & escaped, invalid UTF-8 as U+FFFD, the
// line and paragraph separators escaped.
func appendJSONString(b []byte, s string) []byte {
	const digits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', digits[c>>4], digits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', digits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func decode(v []byte, e *Entry) error {
	var s stored
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return fmt.Errorf("decode entry: %w", err)
	}
	if s.V != storedVersion {
		return fmt.Errorf("decode entry: unknown version %d", s.V)
	}
	prev, err := hex.DecodeString(s.PrevHash)
	if err != nil {
		return fmt.Errorf("decode entry: prev_hash: %w", err)
	}
	hash, err := hex.DecodeString(s.Hash)
	if err != nil {
		return fmt.Errorf("decode entry: hash: %w", err)
	}
	*e = Entry{
		Seq: s.Seq, Time: time.Unix(0, s.Time).UTC(), Principal: s.Principal, Role: s.Role,
		Authorities: s.Authorities, Operation: s.Operation, Identities: s.Identities, Records: s.Records,
		Purpose: s.Purpose, Result: s.Result, Client: s.Client, Credential: s.Credential, Basis: s.Basis, PrevHash: prev, Hash: hash,
	}
	return nil
}

const logPrefix = "a/log/"

func seqHex(seq uint64) string { return string(appendSeqHex(nil, seq)) }

// appendSeqHex appends seq as 16 lowercase hex digits.
func appendSeqHex(b []byte, seq uint64) []byte {
	const digits = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, digits[seq>>uint(shift)&0xf])
	}
	return b
}

func logKey(seq uint64) []byte {
	return appendSeqHex(append(make([]byte, 0, len(logPrefix)+16), logPrefix...), seq)
}

// parseLogKey returns the sequence of an entry's key.
func parseLogKey(key []byte) (uint64, bool) {
	s, ok := strings.CutPrefix(string(key), logPrefix)
	seq, err := strconv.ParseUint(s, 16, 64)
	// Only the form logKey writes: 16 lowercase hex digits.
	return seq, ok && err == nil && s == seqHex(seq)
}

// Get returns the entry with sequence seq (ENOTFOUND when there is none).
func (l *Log) Get(seq uint64) (Entry, error) {
	var e Entry
	err := l.db.View(func(txn *store.Txn) error {
		found, err := store.Read(txn, logKey(seq), func(v []byte) error { return decode(v, &e) })
		if err == nil && !found {
			return vigie.Errorf(vigie.ENOTFOUND, "audit entry %d not found", seq)
		}
		return err
	})
	if err != nil {
		return Entry{}, fmt.Errorf("audit: get %d: %w", seq, err)
	}
	return e, nil
}

// ByIdentity returns the entries that touched the identity, newest first, at
// most limit (all when limit <= 0): who looked at this patient.
func (l *Log) ByIdentity(id string, limit int) ([]Entry, error) {
	return l.Older(Subject{Identity: id}, 0, limit)
}

// ByRecord returns the entries that touched the source record, newest first.
func (l *Log) ByRecord(r Record, limit int) ([]Entry, error) {
	return l.Older(Subject{Record: r}, 0, limit)
}

// ByUser returns the entries of one principal, newest first.
func (l *Log) ByUser(name string, limit int) ([]Entry, error) {
	return l.Older(Subject{User: name}, 0, limit)
}

// Subject is what a query of the trail is about: exactly one of an
// identity, a source record or a user (a principal's name).
type Subject struct {
	Identity string
	Record   Record
	User     string
}

// Older returns the entries about s older than the entry before (all when
// before is 0), newest first, at most limit (all when limit <= 0). A
// query's next page is asked with the Seq of the last entry of the
// previous one, so that a reader walks back through a long history one
// page at a time.
func (l *Log) Older(s Subject, before uint64, limit int) ([]Entry, error) {
	given := 0
	for _, b := range []bool{s.Identity != "", s.Record != (Record{}), s.User != ""} {
		if b {
			given++
		}
	}
	switch {
	case given != 1:
		return nil, vigie.Invalid("subject", "give exactly one of an identity, a record or a user")
	case s.Identity != "":
		id := s.Identity
		return l.byIndex("identity "+id, identitySubject(id), before, limit, func(e *Entry) bool { return slices.Contains(e.Identities, id) })
	case s.User != "":
		name := s.User
		return l.byIndex("user "+name, userSubject(name), before, limit, func(e *Entry) bool { return e.Principal == name })
	case s.Record.Authority == "" || s.Record.LocalID == "":
		return nil, vigie.Invalid("record", "authority and local id are required")
	default:
		r := s.Record
		return l.byIndex("record "+r.Authority+"/"+r.LocalID, recordSubject(r), before, limit, func(e *Entry) bool { return slices.Contains(e.Records, r) })
	}
}

// byIndex reads the entries the index names for subject, older than before
// (when not 0), newest first. An entry that does not match (a posting of a
// damaged index) is skipped: the entry itself, which the chain protects,
// is the truth.
func (l *Log) byIndex(what, subject string, before uint64, limit int, match func(*Entry) bool) ([]Entry, error) {
	var out []Entry
	err := l.db.View(func(txn *store.Txn) error {
		return l.idx.find(subject, before, func(seq uint64) (bool, error) {
			var e Entry
			found, err := store.Read(txn, logKey(seq), func(v []byte) error {
				if err := decode(v, &e); err != nil {
					return fmt.Errorf("entry %d: %w", seq, err)
				}
				return nil
			})
			if err != nil {
				return false, err
			}
			if !found || e.Seq != seq || !match(&e) {
				return true, nil
			}
			out = append(out, e)
			return limit <= 0 || len(out) < limit, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("audit: query %s: %w", what, err)
	}
	return out, nil
}

// Report is the outcome of Verify.
type Report struct {
	Entries uint64 // entries checked
	Head    []byte // hash of the last good entry (genesis when none)
	// Broken is the first entry that fails, nil when the whole chain holds.
	Broken *Break
}

// Break says where and why the chain fails.
type Break struct {
	Seq    uint64 // the sequence expected at this point
	Reason string
}

func (b *Break) Error() string { return fmt.Sprintf("audit entry %d: %s", b.Seq, b.Reason) }

// Verify walks the whole chain in order and reports the first entry that
// is missing, undecodable, out of sequence, not linked to its predecessor,
// or whose hash does not match its content. When the chain holds, it
// checks the index against it, in the same snapshot: a missing posting
// would hide an entry from ByIdentity, ByRecord or ByUser, and is
// reported at the first entry of the span of entries it belongs to. The
// error is for a failure to read the store, not for a broken chain.
func (l *Log) Verify() (Report, error) {
	rep := Report{Head: genesis}
	err := l.db.View(func(txn *store.Txn) error {
		done, _, err := doneIn(txn)
		if err != nil {
			rep.Broken = &Break{1, "index: " + err.Error() + indexRepair}
			return nil
		}
		var want digests
		it := txn.NewIterator(store.IteratorOptions{Prefix: []byte(logPrefix), PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		seq := uint64(1)
		for it.Seek([]byte(logPrefix)); it.Valid(); it.Next() {
			item := it.Item()
			key := string(item.Key())
			if key != string(logKey(seq)) {
				rep.Broken = &Break{seq, fmt.Sprintf("missing: the next key is %s", key)}
				return nil
			}
			var e Entry
			if err := item.Value(func(v []byte) error { return decode(v, &e) }); err != nil {
				rep.Broken = &Break{seq, err.Error()}
				return nil
			}
			switch {
			case e.Seq != seq:
				rep.Broken = &Break{seq, fmt.Sprintf("holds sequence %d", e.Seq)}
			case !bytes.Equal(e.PrevHash, rep.Head):
				rep.Broken = &Break{seq, "previous hash does not match the previous entry"}
			case !bytes.Equal(e.Hash, e.computeHash()):
				rep.Broken = &Break{seq, "hash does not match the entry's content"}
			}
			if rep.Broken != nil {
				return nil
			}
			if seq <= done {
				for _, p := range appendPostings(nil, &e) {
					want.add(p)
				}
			}
			rep.Entries, rep.Head = seq, e.Hash
			seq++
		}
		rep.Broken = verifyIndex(txn, want, done, rep.Entries)
		return nil
	})
	if err != nil {
		return Report{}, fmt.Errorf("audit: verify: %w", err)
	}
	return rep, nil
}
