package mpi

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"vigie"
	"vigie/store"
)

// A bulk load (Import) resolves a feed with exactly the decisions, reviews
// and events that calling Resolve on each row in turn would give, at a
// fraction of the cost: rows are prepared on worker goroutines, decided in
// file order by one goroutine against the in-memory state (which already
// holds the rows decided but not yet committed), and written many rows per
// Badger transaction, each batch committed in the background while the
// next is decided.

// Row is one row of a feed given to Import.
type Row struct {
	Line   int // where the row was read, given back in Imported
	Record vigie.Record
	// Err, when set, is why reading the row failed: the row is rejected
	// with it (it should be an EINVALID error naming the field).
	Err error
}

// Imported is what Import did with one row.
type Imported struct {
	Line   int
	Result Result
	// Err is set when the row was rejected (an EINVALID error naming the
	// field): nothing was written for it.
	Err error
	// Decide is the time spent deciding the row (not reading, preparing or
	// committing it).
	Decide time.Duration
}

// ImportOptions tune Import; the zero value gives the defaults.
type ImportOptions struct {
	// Actor is who sends the records (default System).
	Actor Actor
	// BatchRows bounds the rows written per transaction (default 1000); a
	// batch also ends before it nears Badger's size limit of a transaction.
	BatchRows int
	// Workers is how many goroutines prepare rows (default GOMAXPROCS).
	Workers int
	// Done is called for every row, in the order read, once what it wrote
	// has committed (or it was rejected): on the goroutine that called
	// Import. An error stops the load.
	Done func(Imported) error
}

// Import resolves every row read emits, exactly as calling Resolve on each
// row in the order read would: same identities, decisions, reviews and
// events (numbered in the same order). read runs on a goroutine of its
// own; it gives each row to emit, and stops when emit returns an error.
//
// A row whose source key the index already knows (stored, or earlier in
// the feed) with the traits it has is reported unchanged, as Resolve
// would, and writes nothing. With other traits it is an update: the load
// waits until every row before it has committed and resolves it online
// (Resolve's own path). A new record is
// decided against the in-memory state and written with the rows around it,
// up to BatchRows per transaction: a batch is committed whole or not at
// all, and a row is reported to Done only once its batch has committed.
//
// The load holds the index exclusively: it waits for the changes under way
// to finish, and every change asked meanwhile (Resolve, Merge, Decide...)
// fails with ECONFLICT. Reads run, and may see rows decided but not yet
// committed. If the load fails after deciding rows it could not commit,
// the in-memory state is ahead of the store and the index refuses every
// change: close it and open it again (rows already reported to Done are
// stored; running the load again resolves the rest).
func (x *Index) Import(ctx context.Context, read func(emit func(Row) error) error, o ImportOptions) error {
	if o.Actor == "" {
		o.Actor = System
	}
	if o.BatchRows <= 0 {
		o.BatchRows = 1000
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Done == nil {
		o.Done = func(Imported) error { return nil }
	}
	x.excl.Lock()
	defer x.excl.Unlock()
	if x.broken != nil {
		return x.broken
	}
	// Until its reviews are filed by site, the store is marked as
	// needing it: a load that breaks, or a process that dies, leaves the
	// filing to the next Open.
	if err := x.unmarkPendingSites(ctx); err != nil {
		return err
	}
	l := newLoader(x, o)
	err := l.run(ctx, read)
	if l.decided > l.acked { // the mirror holds rows the store lacks
		x.broken = fmt.Errorf("mpi: the patient index must be opened again after a failed bulk load: %w", err)
	}
	if x.broken == nil {
		// The committed rows' reviews are filed even when the load
		// stopped early: what was acknowledged stays consistent.
		if ferr := x.refileAfterLoad(context.WithoutCancel(ctx), l.reviewsOpened, l.identsWritten, l.online); err == nil {
			err = ferr
		}
	}
	return err
}

// chunk is a run of consecutive rows, prepared together by one worker.
type chunk struct {
	rows  []Row
	prep  []*row  // prepared rows (nil where rejected)
	errs  []error // why a row was rejected
	ready chan struct{}
}

const chunkRows = 64

// entry is one key written by a bulk row: its value, or the value to
// encode (by the committer, off the deciding goroutine) when no decision
// reads the key back.
type entry struct {
	key, value []byte
	lazy       any
}

// batch is the rows written in one transaction, and what to report for
// them (rejected rows between them included, to keep the order).
type batch struct {
	seq     uint64
	entries []entry
	rowEnds []int // end of each row's entries in entries
	out     []Imported
	size    int
	err     error
}

// pendingValue is the latest value a pending batch wrote under a key.
type pendingValue struct {
	value []byte
	batch uint64
}

// loader is one bulk load (see Import). Everything but the committer runs
// on the goroutine that called Import.
type loader struct {
	x        *Index
	o        ImportOptions
	maxBytes int
	cur      *batch
	seq      uint64
	// pend holds what the batches not yet committed wrote under the keys
	// a decision may read (records, versions, normalised forms,
	// identities), so that a pending row's form stays reachable whatever
	// the cache evicted; view reads everything committed before.
	pend      map[string]pendingValue
	view      *store.Txn
	commits   chan *batch // to the committer, in order
	committed chan *batch // back from it, in order
	inflight  int
	decided   int  // bulk rows decided
	online    bool // a row was resolved online (an update)
	acked     int  // bulk rows committed
	stopped   bool // Done failed: call it no more
	// lastEntries sizes the next batch's entries.
	lastEntries int
	// created holds when each identity this load created was created
	// (Unix nanoseconds; 0: not created here), indexed from firstID.
	created []int64
	firstID vigie.IdentityID
	// reviewsOpened and identsWritten are what the per-site review
	// queue files once the load has committed (refileAfterLoad).
	reviewsOpened []uint64
	identsWritten []vigie.IdentityID
}

// born notes when the load created identity id (see identity).
func (l *loader) born(id vigie.IdentityID, at time.Time) {
	if l.firstID == 0 || id < l.firstID {
		l.created, l.firstID = nil, id
	}
	i := int(id - l.firstID)
	if i >= len(l.created) {
		l.created = slices.Grow(l.created, i+1-len(l.created))[:i+1]
	}
	l.created[i] = at.UnixNano()
}

// identity rebuilds an identity this load created from the mirror, as
// reading it from the store (or the pending batches) would give it: while
// the load holds the index, the mirror's members and attributes of a live
// identity are exactly those stored (setIdentity mirrors every write, in
// the stored order), and its creation time never changes. This saves a
// read of the store for most automatic links. ok is false when the load
// did not create id or it is no longer live: read it then.
func (l *loader) identity(id vigie.IdentityID) (*identity, bool) {
	if id < l.firstID || l.firstID == 0 || int(id-l.firstID) >= len(l.created) || l.created[id-l.firstID] == 0 {
		return nil, false
	}
	x := l.x
	var one [1]uint32
	x.memMu.RLock()
	defer x.memMu.RUnlock()
	ords := x.members.list(uint64(id), &one)
	if len(ords) == 0 {
		return nil, false
	}
	ident := &identity{ID: id, Members: make([]vigie.SourceKey, len(ords)), Attributes: slices.Clone(x.attrs[id]),
		Created: time.Unix(0, l.created[id-l.firstID]).UTC()}
	for i, o := range ords {
		ident.Members[i] = x.keys.key(o)
	}
	return ident, true
}

// maxInflight bounds the batches given to the committer and not yet
// reported: one committing, one waiting, while the next is decided.
const maxInflight = 2

func newLoader(x *Index, o ImportOptions) *loader {
	// Badger refuses a transaction larger than 15 % of a memtable; stay
	// well below (the estimate here ignores Badger's per-entry overhead).
	maxBytes := max(int(x.db.MemTableSize()/20), 64<<10)
	return &loader{x: x, o: o, maxBytes: maxBytes, pend: map[string]pendingValue{},
		commits: make(chan *batch, maxInflight), committed: make(chan *batch, maxInflight+1)}
}

// run reads, prepares, decides and commits the feed.
func (l *loader) run(ctx context.Context, read func(emit func(Row) error) error) (err error) {
	x := l.x
	stop := make(chan struct{})
	order := make(chan *chunk, 64)
	work := make(chan *chunk, 64)
	readErr := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Go(func() { // the reader
		defer close(work)
		defer close(order)
		newChunk := func() *chunk { return &chunk{rows: make([]Row, 0, chunkRows), ready: make(chan struct{})} }
		c := newChunk()
		send := func() error {
			select {
			case order <- c:
			case <-stop:
				return errStopped
			}
			work <- c // never blocks for long: workers drain work until it closes
			c = newChunk()
			return nil
		}
		err := read(func(r Row) error {
			c.rows = append(c.rows, r)
			if len(c.rows) < chunkRows {
				return nil
			}
			return send()
		})
		if len(c.rows) > 0 { // the rows read before a failure are loaded
			if serr := send(); err == nil {
				err = serr
			}
		}
		readErr <- err
	})
	for range l.o.Workers {
		wg.Go(func() {
			for c := range work {
				c.prep, c.errs = make([]*row, len(c.rows)), make([]error, len(c.rows))
				for i, r := range c.rows {
					if r.Err != nil {
						c.errs[i] = r.Err
						continue
					}
					c.prep[i], c.errs[i] = prepareRow(r.Record, l.o.Actor)
				}
				close(c.ready)
			}
		})
	}
	var cwg sync.WaitGroup
	cwg.Go(l.commitLoop)
	l.view = x.db.NewReadTxn()
	defer func() {
		close(stop)
		for c := range order { // let the reader finish
			<-c.ready
		}
		wg.Wait()
		if err == nil { // every row read was decided: commit them
			err = l.flush()
			if rerr := <-readErr; rerr != nil {
				err = fmt.Errorf("mpi: import: read the feed: %w", rerr)
			}
		}
		close(l.commits)
		for l.inflight > 0 { // report what committed, even after an error
			if derr := l.deliver(<-l.committed); err == nil {
				err = derr
			}
		}
		cwg.Wait()
		l.view.Discard()
	}()
	for c := range order {
		if err := ctx.Err(); err != nil {
			return err
		}
		<-c.ready
		for i, r := range c.rows {
			if err := l.row(ctx, r.Line, c.prep[i], c.errs[i]); err != nil {
				return err
			}
		}
		c.rows, c.prep, c.errs = nil, nil, nil
		if err := l.poll(); err != nil {
			return err
		}
	}
	return nil
}

var errStopped = errors.New("mpi: bulk load stopped")

// row decides one row: rejected, an update resolved online, or a new
// record decided here and added to the current batch.
func (l *loader) row(ctx context.Context, line int, r *row, rerr error) error {
	x := l.x
	if rerr != nil {
		if vigie.ErrorCode(rerr) != vigie.EINVALID {
			return fmt.Errorf("mpi: import line %d: %w", line, rerr)
		}
		return l.report(Imported{Line: line, Err: rerr})
	}
	x.memMu.RLock()
	_, known := x.keys.find(r.k)
	x.memMu.RUnlock()
	t0 := time.Now()
	if known {
		// The same traits again write nothing: Resolve's answer needs only
		// the stored state, which the pending batches and the store give.
		old, err := (&tx{x: x, bulk: l}).record(r.k)
		if err != nil && vigie.ErrorCode(err) != vigie.ENOTFOUND {
			return fmt.Errorf("mpi: import line %d: %w", line, err)
		}
		if old != nil && sameRecord(&old.Record, &r.rec) {
			x.opts.Now() // read the clock as Resolve does, so that both stamp the same times under a test's clock
			return l.report(Imported{Line: line, Decide: time.Since(t0),
				Result: Result{Key: r.k, Identity: old.Identity, Decision: DecisionUnchanged, Version: old.Version, Warnings: r.p.Warnings()}})
		}
		// An update: online, once everything before it has committed.
		l.online = true
		if err := l.drain(); err != nil {
			return err
		}
		res, err := x.resolveRow(ctx, r, l.o.Actor, true)
		d := time.Since(t0)
		l.refresh()
		switch {
		case vigie.ErrorCode(err) == vigie.EINVALID:
			return l.o.Done(Imported{Line: line, Err: err, Decide: d})
		case err != nil:
			return fmt.Errorf("mpi: import line %d: %w", line, err)
		}
		return l.o.Done(Imported{Line: line, Result: res, Decide: d})
	}
	b := l.batch()
	t := &tx{x: x, now: x.opts.Now().UTC(), bulk: l}
	res, err := t.resolve(r, l.o.Actor)
	if err != nil { // the batch holds part of the row: it must not commit
		l.cur = nil
		return fmt.Errorf("mpi: import line %d: resolve %s: %w", line, r.k, err)
	}
	t.applied()
	l.decided++
	b.rowEnds = append(b.rowEnds, len(b.entries))
	return l.report(Imported{Line: line, Result: res, Decide: time.Since(t0)})
}

// report adds a row's outcome to the current batch, to be given to Done
// once the batch has committed, and hands the batch to the committer when
// it is full (rows that write nothing count too, so that their reports
// are not held back for long).
func (l *loader) report(o Imported) error {
	b := l.batch()
	b.out = append(b.out, o)
	if len(b.out) >= l.o.BatchRows || b.size >= l.maxBytes {
		return l.flush()
	}
	return nil
}

// batch returns the batch being filled.
func (l *loader) batch() *batch {
	if l.cur == nil {
		l.seq++
		// Sized like the batch before, to spare the growing of slices.
		l.cur = &batch{seq: l.seq, entries: make([]entry, 0, l.lastEntries), out: make([]Imported, 0, l.o.BatchRows)}
	}
	return l.cur
}

// set adds one key of the row being decided to the current batch.
func (l *loader) set(key, value []byte) {
	b := l.batch()
	b.entries = append(b.entries, entry{key: key, value: value})
	b.size += len(key) + len(value) + 16
	if readable(key) {
		l.pend[string(key)] = pendingValue{value, b.seq}
	}
}

// setLater adds one key of the row being decided to the current batch,
// its value to be encoded by the committer. No decision may read key.
func (l *loader) setLater(key []byte, v any) {
	b := l.batch()
	b.entries = append(b.entries, entry{key: key, lazy: v})
	b.size += len(key) + 512 // a guess: the batch size only has to stay well below Badger's limit
}

// readable reports whether a decision may read key back (see tx.read):
// only those keys are kept in loader.pend.
func readable(key []byte) bool {
	k := string(key[:min(len(key), len(pRecord))])
	return k == pRecord || k == pHistory || k == pNormal || k == pIdentity
}

// pending returns what a batch not yet committed wrote under key.
func (l *loader) pending(key []byte) ([]byte, bool) {
	p, ok := l.pend[string(key)]
	return p.value, ok
}

// flush hands the current batch to the committer.
func (l *loader) flush() error {
	b := l.cur
	if b == nil {
		return nil
	}
	l.cur = nil
	l.lastEntries = len(b.entries) + len(b.entries)/8
	for l.inflight >= maxInflight {
		if err := l.deliver(<-l.committed); err != nil {
			return err
		}
	}
	l.commits <- b
	l.inflight++
	return nil
}

// poll reports the batches committed since, without waiting.
func (l *loader) poll() error {
	for {
		select {
		case b := <-l.committed:
			if err := l.deliver(b); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

// drain commits everything decided and reports it.
func (l *loader) drain() error {
	if err := l.flush(); err != nil {
		return err
	}
	for l.inflight > 0 {
		if err := l.deliver(<-l.committed); err != nil {
			return err
		}
	}
	return nil
}

// deliver reports a batch back from the committer: its rows to Done once
// it committed, and forgets what it wrote (the store has it now).
func (l *loader) deliver(b *batch) error {
	l.inflight--
	if b.err != nil {
		return b.err
	}
	l.acked += len(b.rowEnds)
	for _, e := range b.entries {
		if readable(e.key) {
			if p, ok := l.pend[string(e.key)]; ok && p.batch == b.seq {
				delete(l.pend, string(e.key))
			}
		}
	}
	l.refresh()
	if l.stopped {
		return nil
	}
	for _, o := range b.out {
		if err := l.o.Done(o); err != nil {
			l.stopped = true
			return err
		}
	}
	return nil
}

// refresh starts a new read view, which sees every commit so far.
func (l *loader) refresh() {
	l.view.Discard()
	l.view = l.x.db.NewReadTxn()
}

// commitLoop commits the batches in order, on a goroutine of its own.
// After a failure it commits nothing more: a later batch may depend on it.
func (l *loader) commitLoop() {
	var failed error
	for b := range l.commits {
		if failed == nil {
			failed = l.commit(b)
		}
		b.err = failed
		l.committed <- b
	}
}

// commit writes a batch in one transaction; when Badger finds it too
// large, in as few transactions as fit, each ending at a row boundary (a
// row is never split).
func (l *loader) commit(b *batch) error {
	db := l.x.db
	for i := range b.entries {
		if e := &b.entries[i]; e.lazy != nil {
			v, err := encode(e.lazy)
			if err != nil {
				return fmt.Errorf("mpi: import: %w", err)
			}
			e.value, e.lazy = v, nil
		}
	}
	start := 0 // first row not committed
	for start < len(b.rowEnds) || start == 0 && len(b.rowEnds) == 0 {
		// Under the disk reserve the load stops here: the rows of the
		// batches committed before stay acknowledged.
		txn, err := store.NewWriteTxn(db)
		if err != nil {
			return fmt.Errorf("mpi: import: %w", err)
		}
		from := 0
		if start > 0 {
			from = b.rowEnds[start-1]
		}
		end, pos := start, from
		for ; end < len(b.rowEnds); end++ {
			var err error
			for ; pos < b.rowEnds[end] && err == nil; pos++ {
				err = txn.Set(b.entries[pos].key, b.entries[pos].value)
			}
			if errors.Is(err, store.ErrTxnTooBig) && end > start {
				break
			}
			if err != nil {
				txn.Discard()
				return fmt.Errorf("mpi: import: write a batch: %w", err)
			}
		}
		if end < len(b.rowEnds) { // too big: write the rows before end only
			txn.Discard()
			if txn, err = store.NewWriteTxn(db); err != nil {
				return fmt.Errorf("mpi: import: %w", err)
			}
			for _, e := range b.entries[from:b.rowEnds[end-1]] {
				if err := txn.Set(e.key, e.value); err != nil {
					txn.Discard()
					return fmt.Errorf("mpi: import: write a batch: %w", err)
				}
			}
		}
		err = txn.Commit()
		txn.Discard()
		if err != nil {
			return fmt.Errorf("mpi: import: commit a batch: %w", err)
		}
		if len(b.rowEnds) == 0 {
			return nil
		}
		start = end
	}
	return nil
}
