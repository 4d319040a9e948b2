package mpi

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"vigie"
	"vigie/matcher"
	"vigie/store"
)

// Options tune an Index; the zero value gives the defaults.
type Options struct {
	// MarginBits is how far (in bits of match weight) the best candidate
	// identity must be ahead of the second best for an automatic link
	// (default 6: 64 times likelier). A second candidate below the review
	// threshold never blocks a link.
	MarginBits float64
	// MaxBlock skips a blocking key shared by more records than this when
	// gathering candidates (default 500): such a key says little and would
	// dominate the cost. The INS key is never skipped.
	MaxBlock int
	// MinShared is how many blocking rules a record must share a key of
	// with the record being resolved to be scored (default 2; two keys of
	// one rule count once; a shared INS always suffices, and a record with
	// keys of fewer rules needs them all): at a million
	// records, the records sharing only a birth date or only a first name
	// and year are many, and almost never the same person.
	MinShared int
	// RareBlock is the size up to which a single shared key suffices to
	// score a record (default 3): a family name and birth year, a first
	// name and year, a name and initial, or an address held by so few
	// records is strong evidence on its own (a one-key pair is otherwise
	// left out). The birth date alone never suffices: its blocks grow with
	// the index, and a small one only says the index is small. The model
	// raises it where persons have many records each (matcher.RareBlock).
	RareBlock int
	// MinPopulation is the smallest population the model's prior refers to
	// (default 10,000): in a nearly empty index the prior odds of a match
	// are high, and a few records must not link on weak evidence.
	MinPopulation int
	// MaxMembers bounds how many members of one candidate identity are
	// scored (default 200).
	MaxMembers int
	// CacheRecords sizes the cache of normalised forms (default 150,000
	// records; kept encoded, about 320 bytes each). A miss reads the stored
	// normalised form.
	CacheRecords int
	// Now returns the time stamped on records and events (default time.Now).
	Now func() time.Time
	// Sync makes every commit so far durable, for a store whose commits
	// are synced in groups (store.Options.Deferred and store.Syncer);
	// nil when each commit is durable on its own. The index calls it
	// before using a new lease of numbers (see sequence), and Sync
	// passes it on.
	Sync func() error
}

// seqLease is how many numbers a sequence leases at once. Each lease is a
// durable write during which every caller of that sequence waits: at a
// thousand resolves a second, a small lease makes them queue several times
// a second. A crash loses at most the unused rest of a lease (identifiers
// and sequence numbers are opaque; gaps are allowed).
const seqLease = 4096

// The defaults of the options FitOptions shares with Options: a model is
// fitted and calibrated on the pairs the index will score, at the
// population it will score with, so both must default alike.
const (
	defaultMaxBlock      = 500
	defaultMinShared     = 2
	defaultMinPopulation = 10000
)

// orDefault sets *v to def when it is zero or negative: an option left
// unset, or one that makes no sense, takes its default.
func orDefault[T int | float64 | uint64](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

func (o *Options) defaults() {
	orDefault(&o.MarginBits, 6)
	orDefault(&o.MaxBlock, defaultMaxBlock)
	orDefault(&o.MinShared, defaultMinShared)
	orDefault(&o.RareBlock, 3)
	orDefault(&o.MinPopulation, defaultMinPopulation)
	orDefault(&o.MaxMembers, 200)
	orDefault(&o.CacheRecords, 150000)
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Index is the patient index over one Badger store. It is safe for
// concurrent use; while a bulk load (Import) runs, changes are refused.
type Index struct {
	db      *store.DB
	scoring atomic.Pointer[scoring] // the model and its stored version
	opts    Options

	freq    *matcher.FrequencyTable
	records atomic.Int64 // number of source records (the model's population)

	seqIdentity, seqEvent, seqReview, seqOrder *sequence

	// locks are the stripes a resolve holds, by source key and blocking
	// key, until its commit: 65,536 of them, so that fifty
	// concurrent resolves of different persons (about ten stripes each)
	// seldom wait on each other.
	locks [1 << 16]sync.Mutex
	seed  maphash.Seed

	// excl is held for reading by every change (update), and for writing
	// by a bulk load (Import), which bypasses the stripe locks and Badger's
	// conflict checks. broken is set, under excl held for writing, when a
	// bulk load failed after deciding rows it could not commit: the
	// in-memory state is then ahead of the store, and the index refuses
	// every change until it is opened again.
	excl   sync.RWMutex
	broken error

	cache *normalCache

	// The memberships, mirrored in memory so that scoring candidates needs
	// no read of the store: updated after each commit (see tx.setRecord and
	// tx.setIdentity), rebuilt by Open. Records are known by ordinal (see
	// keyTable); recIdent and recVersion are indexed by it (0: a record
	// whose commit has not mirrored itself yet). members maps each live
	// identity to its members (ordinals, in the stored order: sorted by
	// source key); attrs holds the attributes of the few identities that
	// have some.
	memMu      sync.RWMutex
	keys       keyTable
	recIdent   []vigie.IdentityID
	recVersion []uint32
	members    postings
	attrs      map[vigie.IdentityID][]string
	// The blocking index: a hash of each blocking key (see blockString)
	// to the ordinals of the records filed under it.
	blocks   postings
	counters counters
}

// ordLocked returns the ordinal of k, numbering it if it is new. memMu
// must be held for writing.
func (x *Index) ordLocked(k vigie.SourceKey) uint32 {
	if o, ok := x.keys.find(k); ok {
		return o
	}
	o := x.keys.add(k)
	x.recIdent = append(x.recIdent, 0)
	x.recVersion = append(x.recVersion, 0)
	return o
}

// setIdentLocked mirrors an identity: its members and attributes when it
// is live, nothing when it is retired. memMu must be held for writing.
func (x *Index) setIdentLocked(id vigie.IdentityID, live bool, members []vigie.SourceKey, attrs []string) {
	if !live {
		members, attrs = nil, nil
	}
	ords := make([]uint32, len(members))
	for i, k := range members {
		ords[i] = x.ordLocked(k)
	}
	x.members.set(uint64(id), ords)
	if len(attrs) > 0 {
		x.attrs[id] = slices.Clone(attrs)
	} else {
		delete(x.attrs, id)
	}
}

// liveLocked reports whether the mirror holds id as a live identity (one
// with members). memMu must be held.
func (x *Index) liveLocked(id vigie.IdentityID) bool { return id != 0 && x.members.has(uint64(id)) }

// Open opens the index kept in db (opened with store.Open). It scores with
// model when one is given (tests, benchmarks: it is not stored), else with
// the store's current model version; a store without one (written before
// models were stored) scores with the shipped model, recorded as its first
// version (see openModel). It rebuilds the in-memory term-frequency table
// and record count from the store.
func Open(db *store.DB, model *matcher.Model, opts Options) (*Index, error) {
	opts.defaults()
	sc, err := openModel(db, model, opts.Now())
	if err != nil {
		return nil, fmt.Errorf("mpi: open: %w", err)
	}
	seed := maphash.MakeSeed()
	x := &Index{db: db, opts: opts, freq: matcher.NewFrequencyTable(), seed: seed, cache: newNormalCache(opts.CacheRecords * 320),
		keys: newKeyTable(seed), members: newPostings(), attrs: map[vigie.IdentityID][]string{}, blocks: newPostings()}
	x.seqIdentity = newSequence(db, pSeq+"identity", opts.Sync)
	x.seqEvent = newSequence(db, pSeq+"event", opts.Sync)
	x.seqReview = newSequence(db, pSeq+"review", opts.Sync)
	x.seqOrder = newSequence(db, pSeq+"order", opts.Sync)
	x.scoring.Store(sc)
	err = db.View(func(txn *store.Txn) error {
		it := txn.NewIterator(store.IteratorOptions{Prefix: []byte(pRecord), PrefetchValues: true, PrefetchSize: 256})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var st recordState
			if err := it.Item().Value(func(b []byte) error { return decode(b, &st) }); err != nil {
				return err
			}
			x.freq.Add(freqForm(st.Family, st.First))
			x.records.Add(1)
			k := parseSkey(string(it.Item().Key()[len(pRecord):]))
			ord := x.ordLocked(k)
			x.recIdent[ord], x.recVersion[ord] = st.Identity, uint32(st.Version)
			for _, b := range st.Blocks {
				x.blocks.add(x.blockHash(b), ord)
			}
		}
		return scan(txn, pIdentity, func(_, v []byte) error {
			var id identity
			if err := decode(v, &id); err != nil {
				return err
			}
			if id.Retired == 0 {
				x.setIdentLocked(id.ID, true, id.Members, id.Attributes)
			}
			return nil
		})
	})
	if err == nil && !db.ReadOnly() {
		err = x.indexPendingReviews(context.Background())
	}
	if err == nil && !db.ReadOnly() {
		_, err = x.refileBlocks(context.Background())
	}
	if err != nil {
		x.Close()
		return nil, fmt.Errorf("mpi: open: %w", err)
	}
	return x, nil
}

// Close releases the index's sequences (their unused numbers are lost). It
// does not close the store.
func (x *Index) Close() error {
	var errs []error
	for _, s := range []*sequence{x.seqIdentity, x.seqEvent, x.seqReview, x.seqOrder} {
		if s != nil {
			errs = append(errs, s.Release())
		}
	}
	return errors.Join(errs...)
}

// Sync returns once every change committed before the call is durable.
// On a store that syncs each commit (Options.Sync nil) it returns at once.
// What is derived from the index outside its store (the search index)
// calls it before recording how far it has read.
func (x *Index) Sync() error {
	if x.opts.Sync == nil {
		return nil
	}
	return x.opts.Sync()
}

// Model returns the model the index scores with.
func (x *Index) Model() *matcher.Model { return x.scoring.Load().model }

// Count returns the number of source records in the index.
func (x *Index) Count() int { return int(x.records.Load()) }

// scoringModel is the model with its prior set to the index's population.
func (x *Index) scoringModel() *matcher.Model {
	m := x.Model()
	return m.WithPopulation(max(int(x.records.Load()), m.PopulationFloor(x.opts.MinPopulation)))
}

// freqForm builds the minimal prepared record the frequency table counts.
func freqForm(family, first string) *matcher.Prepared {
	return &matcher.Prepared{Birth: matcher.Name{Glued: family, CoreGlued: family}, First: matcher.Name{Glued: first}}
}

// freqValues returns what the frequency table counts of a prepared record.
func freqValues(p *matcher.Prepared) (family, first string) {
	f := &p.Birth
	if f.Empty() {
		f = &p.Used
	}
	if !f.Empty() {
		family = f.CoreGlued
	}
	if !p.First.Empty() {
		first = p.First.Glued
	}
	return
}

// tx is one attempt of a read-write transaction, with what to do once it has
// committed (in-memory state follows the store, never the other way).
type tx struct {
	*store.Txn
	x *Index
	// mirror are the changes to the in-memory mirror that follow the
	// commit, run together under memMu held for writing: one write lock
	// per transaction, not one per change, since each waits for the
	// resolutions reading the mirror meanwhile. after runs next.
	mirror []func()
	after  []func()
	now    time.Time
	// bulk, when set, is the bulk load this transaction is one row of (see
	// Import): Txn is nil, writes go to the load's current batch and reads
	// see the rows decided but not yet committed. Only the paths a new
	// record takes go through it; everything else is resolved online.
	bulk *loader
}

// set writes one key: into the transaction, or into the bulk load's batch.
func (t *tx) set(key, value []byte) error {
	if t.bulk != nil {
		t.bulk.set(key, value)
		return nil
	}
	return t.Set(key, value)
}

// put encodes and writes one value (see set).
func (t *tx) put(key []byte, v any) error {
	if t.bulk == nil {
		return put(t.Txn, key, v)
	}
	if !readable(key) { // events, reviews: encoded by the load's committer
		t.bulk.setLater(key, v)
		return nil
	}
	b, err := encode(v)
	if err != nil {
		return err
	}
	return t.set(key, b)
}

// read calls fn with the value of key (valid only during the call); found
// is false when the key is absent. A bulk load reads its pending rows
// first, then the store.
func (t *tx) read(key []byte, fn func([]byte) error) (found bool, err error) {
	if t.bulk != nil {
		if v, ok := t.bulk.pending(key); ok {
			return true, fn(v)
		}
		return store.Read(t.bulk.view, key, fn)
	}
	return store.Read(t.Txn, key, fn)
}

// get reads and decodes one key (see read).
func (t *tx) get(key []byte, v any) (found bool, err error) {
	if t.bulk == nil {
		return get(t.Txn, key, v)
	}
	found, err = t.read(key, func(b []byte) error { return decode(b, v) })
	return found && err == nil, err
}

// update runs fn in a read-write transaction, retrying on a Badger
// conflict. It is refused while a bulk load holds the index (see Import),
// and after one failed, leaving the in-memory state ahead of the store.
func (x *Index) update(ctx context.Context, fn func(t *tx) error) error {
	if !x.excl.TryRLock() {
		return vigie.Errorf(vigie.ECONFLICT, "mpi: a bulk load holds the patient index; try again once it is done")
	}
	defer x.excl.RUnlock()
	return x.run(ctx, fn)
}

// run is update without the exclusion (a bulk load holds it).
func (x *Index) run(ctx context.Context, fn func(t *tx) error) error {
	if err := x.broken; err != nil {
		return err
	}
	var t *tx
	err := store.Retry(ctx, maxAttempts, func() error {
		txn, err := store.NewWriteTxn(x.db) // refused under the disk reserve
		if err != nil {
			return err
		}
		t = &tx{Txn: txn, x: x, now: x.opts.Now().UTC()}
		err = fn(t)
		if err == nil {
			err = t.Commit()
		}
		t.Discard()
		return err
	}, errStale)
	if err != nil {
		return err
	}
	t.applied()
	return nil
}

// maxAttempts bounds the transactions run tries while they conflict with
// concurrent ones or read a stale mirror: the resolves of one household
// under load contend for the same identities.
const maxAttempts = 101

// applied runs what follows a committed transaction: the mirror's changes
// under one write lock, then the rest.
func (t *tx) applied() {
	if len(t.mirror) > 0 {
		t.x.memMu.Lock()
		for _, f := range t.mirror {
			f()
		}
		t.x.memMu.Unlock()
	}
	for _, f := range t.after {
		f()
	}
}

func (x *Index) view(fn func(txn *store.Txn) error) error { return x.db.View(fn) }

// lock takes the stripes of the given strings in a fixed order and returns
// the function that releases them.
func (x *Index) lock(keys []string) func() {
	idx := make([]int, 0, len(keys))
	for _, k := range keys {
		idx = append(idx, int(maphash.String(x.seed, k)%uint64(len(x.locks))))
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	for _, i := range idx {
		x.locks[i].Lock()
	}
	return func() {
		for _, i := range slices.Backward(idx) {
			x.locks[i].Unlock()
		}
	}
}

// prepared returns the prepared form of a version of a record (ordinal
// ord), from the cache when it is there, else from its stored normalised
// form, else by preparing the version again.
func (t *tx) prepared(k vigie.SourceKey, ord uint32, version int) (*matcher.Prepared, error) {
	x := t.x
	var p *matcher.Prepared
	decode := func(b []byte) error {
		var err error
		p, err = decodeNormal(b, &vigie.Record{Authority: k.Authority, LocalID: k.LocalID})
		return err
	}
	if hit, err := x.cache.get(ord, version, decode); hit && err == nil {
		return p, nil
	}
	found, err := t.read(normalKey(k, version), func(b []byte) error {
		if err := decode(b); err != nil {
			return err
		}
		x.cache.put(ord, version, b)
		return nil
	})
	if found && err == nil {
		return p, nil
	}
	if !found && err != nil {
		return nil, err
	}
	var v Version
	found, err = t.get(historyKey(k, version), &v)
	if err != nil {
		return nil, err
	}
	if !found { // the mirror may name a version committed after this snapshot (see tx.mirrored)
		return nil, vigie.Errorf(vigie.ENOTFOUND, "record %s: version %d is missing", k, version)
	}
	p, err = matcher.Prepare(&v.Record)
	if err != nil {
		return nil, fmt.Errorf("mpi: stored record %s no longer prepares: %w", k, err)
	}
	x.cache.put(ord, version, encodeNormal(p))
	return p, nil
}

// event appends an event and indexes it under every identity it touches.
func (t *tx) event(e *Event) error {
	seq, err := t.x.seqEvent.Next()
	if err != nil {
		return err
	}
	e.Seq = seq + 1
	e.Time = t.now
	if err := t.put(eventKey(e.Seq), e); err != nil {
		return err
	}
	ids := []vigie.IdentityID{e.Identity, e.Other}
	for _, m := range e.Moves {
		ids = append(ids, m.From, m.To)
	}
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		if id != 0 {
			if err := t.set(byIdentKey(id, e.Seq), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *tx) newID() (vigie.IdentityID, error) {
	n, err := t.x.seqIdentity.Next()
	return vigie.IdentityID(n + 1), err
}

// record reads a record's state; ENOTFOUND when it is unknown.
func (t *tx) record(k vigie.SourceKey) (*recordState, error) {
	if t.bulk == nil {
		return readRecord(t.Txn, k)
	}
	var st recordState
	found, err := t.get(recordKey(k), &st)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, vigie.Errorf(vigie.ENOTFOUND, "record %s is not in the index", k)
	}
	return &st, nil
}

// identity reads an identity as stored (see readIdentity).
func (t *tx) identity(id vigie.IdentityID) (*identity, error) {
	if t.bulk == nil {
		return readIdentity(t.Txn, id)
	}
	if x, ok := t.bulk.identity(id); ok {
		return x, nil
	}
	var x identity
	found, err := t.get(identityKey(id), &x)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, vigie.Errorf(vigie.ENOTFOUND, "identity %s does not exist", id)
	}
	return &x, nil
}

// readRecord reads a record's state, ENOTFOUND when the index lacks it.
func readRecord(txn *store.Txn, k vigie.SourceKey) (*recordState, error) {
	var st recordState
	found, err := get(txn, recordKey(k), &st)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, vigie.Errorf(vigie.ENOTFOUND, "record %s is not in the index", k)
	}
	return &st, nil
}

// identity reads an identity as stored (a retired one included).
func readIdentity(txn *store.Txn, id vigie.IdentityID) (*identity, error) {
	var x identity
	found, err := get(txn, identityKey(id), &x)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, vigie.Errorf(vigie.ENOTFOUND, "identity %s does not exist", id)
	}
	return &x, nil
}

// live follows redirects from id to the identity that now stands for it,
// returning it and the retired ids passed through.
func live(txn *store.Txn, id vigie.IdentityID) (*identity, []vigie.IdentityID, error) {
	var via []vigie.IdentityID
	for range 1000 {
		x, err := readIdentity(txn, id)
		if err != nil {
			return nil, nil, err
		}
		if x.Retired == 0 {
			return x, via, nil
		}
		via = append(via, id)
		id = x.Retired
	}
	return nil, nil, vigie.Errorf(vigie.EINTERNAL, "identity %s: redirect loop", id)
}

// setRecord writes a record's state, and mirrors its membership in memory
// once committed.
func (t *tx) setRecord(k vigie.SourceKey, st *recordState) error {
	id, version := st.Identity, st.Version
	t.mirror = append(t.mirror, func() {
		x := t.x
		o := x.ordLocked(k)
		x.recIdent[o], x.recVersion[o] = id, uint32(version)
	})
	return t.put(recordKey(k), st)
}

// blockString is how a blocking key is stored with its record.
func blockString(b matcher.BlockingKey) string { return b.Rule + "\x00" + b.Value }

func (x *Index) blockHash(s string) uint64 { return maphash.String(x.seed, s) }

// setBlocks refiles a record in the in-memory blocking index once the
// transaction has committed (after its setRecord).
func (t *tx) setBlocks(k vigie.SourceKey, old, cur []string) {
	t.mirror = append(t.mirror, func() {
		x := t.x
		ord := x.ordLocked(k)
		for _, b := range old {
			if !slices.Contains(cur, b) {
				x.blocks.remove(x.blockHash(b), ord)
			}
		}
		for _, b := range cur {
			if !slices.Contains(old, b) {
				x.blocks.add(x.blockHash(b), ord)
			}
		}
	})
}

// setIdentity writes an identity, and mirrors it in memory once committed.
func (t *tx) setIdentity(x *identity) error {
	x.Updated = t.now
	slices.SortFunc(x.Members, compareKeys)
	id, members, attrs := x.ID, slices.Clone(x.Members), slices.Clone(x.Attributes)
	retired := x.Retired != 0
	t.mirror = append(t.mirror, func() {
		t.x.setIdentLocked(id, !retired, members, attrs)
	})
	if err := t.refilePending(x); err != nil {
		return err
	}
	return t.put(identityKey(x.ID), x)
}

func compareKeys(a, b vigie.SourceKey) int {
	if a.Authority != b.Authority {
		if a.Authority < b.Authority {
			return -1
		}
		return 1
	}
	switch {
	case a.LocalID < b.LocalID:
		return -1
	case a.LocalID > b.LocalID:
		return 1
	}
	return 0
}

// distinct reports whether two records were marked as different persons.
func distinct(txn *store.Txn, a, b vigie.SourceKey) (bool, error) {
	return store.Has(txn, distinctKey(a, b))
}

// markDistinct records a and b as different persons (both orders).
func (t *tx) markDistinct(a, b vigie.SourceKey, m *distinctMark) error {
	if a == b {
		return nil
	}
	if err := put(t.Txn, distinctKey(a, b), m); err != nil {
		return err
	}
	return put(t.Txn, distinctKey(b, a), m)
}

func checkActor(actor Actor, reason string) error {
	if actor == "" {
		return vigie.Invalid("actor", "who makes the change is required")
	}
	if actor != System && reason == "" {
		return vigie.Invalid("reason", "a reason is required for a manual change")
	}
	return nil
}
