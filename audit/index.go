package audit

import (
	"cmp"
	"container/heap"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// index finds the entries of a subject (an identity, a source record, a
// principal). It is derived from the entries, like the search index from
// the patient index: the chain in the store is the truth, and the index can
// always be rebuilt from it.
//
// It was first kept as one store key per posting, written with the entry.
// A search's entry names some thirty patients, and at thousands of searches
// a second those keys made most of the store's writes and compactions,
// which stalled every call for seconds. The postings are now gathered in
// memory and written, sorted, into immutable run files beside the store
// (see run); runs of one level are merged, fanout at a time, into one of
// the next, so that a query reads a few runs. Runs cover contiguous ranges
// of sequences from 1: after a crash, the entries past the last run are
// indexed again from the store.
type index struct {
	fs      runFS
	flushAt int // postings gathered before a run is written
	fanout  int // runs of one level merged into one of the next
	// paced makes the writer sleep twice as long as it works (see pacer):
	// off while Open rebuilds the index, on while the trail serves.
	paced atomic.Bool

	mu     sync.RWMutex // guards everything below
	runs   []*run       // tiling 1..indexed, in order
	frozen []*buffer    // full buffers being written, oldest first
	live   *buffer
	err    error // the last failure to write or merge runs
	fails  int   // failures so far

	closeOnce sync.Once
	closeErr  error

	// report, when set, is told of each failure (see Log.SetIndexErrors).
	report func(error)

	kick chan struct{}
	quit chan struct{}
	done chan struct{}
}

// buffer holds the postings of the entries from..to, in the order added.
type buffer struct {
	from, to uint64
	ps       []posting
}

// A level-0 run every 32,768 postings (a thousand searches or so) keeps
// each sort short: sorting 262,144 takes 50 ms of a core in one piece.
// Eight runs merge into one of the next level, so that a billion postings
// make six levels.
const (
	defaultFlushAt = 1 << 15
	defaultFanout  = 8
)

// pacer spreads the writer's work: after each step it sleeps pace times
// as long as the step took, so that the index's writes and merges (a
// merge of the upper levels rewrites millions of postings) take at most a
// third of a core at any moment rather than a whole one in bursts.
type pacer struct {
	on   bool
	quit <-chan struct{}
	mark time.Time
	n    int
}

// errClosing stops a write or merge when the index is closed.
var errClosing = errors.New("audit: index closing")

const (
	pace        = 2
	postingStep = 8192 // postings between two pauses
)

func (ix *index) newPacer() *pacer {
	return &pacer{on: ix.paced.Load(), quit: ix.quit, mark: time.Now()}
}

// pause sleeps for the work done since the last pause; it returns
// errClosing if the index is closed meanwhile.
func (p *pacer) pause() error {
	if p.on {
		t := time.NewTimer(pace * time.Since(p.mark))
		select {
		case <-p.quit:
			t.Stop()
			return errClosing
		case <-t.C:
		}
	}
	p.mark = time.Now()
	return nil
}

// posting counts one posting, pausing every postingStep.
func (p *pacer) posting() error {
	if p.n++; p.n%postingStep == 0 {
		return p.pause()
	}
	return nil
}

// openIndex opens the runs in fs and returns the index with the sequence it
// covers: the caller adds the entries after it. Runs past head (entries
// the store does not have, whose commit failed or was lost) are removed, as
// are runs that a merge replaced, files left incomplete, and runs past a
// gap.
func openIndex(fs runFS, head uint64, flushAt, fanout int) (*index, uint64, error) {
	ix := &index{fs: fs, flushAt: flushAt, fanout: fanout,
		kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	names, err := fs.list()
	if err != nil {
		return nil, 0, err
	}
	var all []*run
	for _, name := range names {
		rn, err := openRun(fs, name)
		if errors.Is(err, errDamaged) {
			// A damaged run is rebuilt from the entries.
			if err := fs.remove(name); err != nil {
				return nil, 0, err
			}
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		all = append(all, rn)
	}
	// Keep the widest run starting where the last kept one ends.
	slices.SortFunc(all, func(a, b *run) int { return cmp.Or(cmp.Compare(a.from, b.from), cmp.Compare(b.to, a.to)) })
	next := uint64(1)
	for _, rn := range all {
		if rn.from == next && rn.to <= head {
			ix.runs = append(ix.runs, rn)
			next = rn.to + 1
			continue
		}
		rn.retired.Store(true)
		if err := rn.release(); err != nil {
			return nil, 0, err
		}
	}
	ix.live = &buffer{from: next, to: next - 1}
	go ix.loop()
	return ix, next - 1, nil
}

// add indexes the entries of a committed group, in sequence order.
func (ix *index) add(es []*pending) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, p := range es {
		ix.live.ps = appendPostings(ix.live.ps, &p.e)
		ix.live.to = p.e.Seq
	}
	ix.freezeLocked(false)
}

// addEntry indexes one entry read back from the store at open. It waits
// while more than maxBacklog buffers wait for the writer, so that
// rebuilding a large index does not hold it all in memory.
func (ix *index) addEntry(e *Entry) {
	ix.add([]*pending{{e: *e}})
	for {
		ix.mu.RLock()
		backlog, fails := len(ix.frozen), ix.fails
		ix.mu.RUnlock()
		if backlog <= maxBacklog || fails > 0 {
			return
		}
		waitBriefly()
	}
}

const maxBacklog = 2

// freezeLocked hands the live buffer to the writer when it is full (or, if
// force, holds anything).
func (ix *index) freezeLocked(force bool) {
	if len(ix.live.ps) < ix.flushAt && !(force && ix.live.to >= ix.live.from) {
		return
	}
	ix.frozen = append(ix.frozen, ix.live)
	ix.live = &buffer{from: ix.live.to + 1, to: ix.live.to}
	select {
	case ix.kick <- struct{}{}:
	default:
	}
}

// loop writes frozen buffers as runs and merges runs, until quit.
func (ix *index) loop() {
	defer close(ix.done)
	var retry <-chan time.Time // set after a failure
	for {
		select {
		case <-ix.quit:
			return
		case <-ix.kick:
		case <-retry:
		}
		retry = nil
		for {
			ix.mu.RLock()
			var b *buffer
			if len(ix.frozen) > 0 {
				b = ix.frozen[0]
			}
			ix.mu.RUnlock()
			if b == nil {
				break
			}
			if err := ix.writeBuffer(b); errors.Is(err, errClosing) {
				return
			} else if err != nil {
				ix.fail(err)
				retry = time.After(retryAfter) // b stays frozen, and in queries
				break
			}
			if err := ix.mergeTail(); errors.Is(err, errClosing) {
				return
			} else if err != nil {
				ix.fail(err)
				retry = time.After(retryAfter)
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

// retryAfter is the pause before a failed write or merge is tried again.
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

// writeBuffer writes b as a level-0 run and puts it in the index.
func (ix *index) writeBuffer(b *buffer) error {
	rn, err := ix.writeSorted(b)
	if err != nil {
		return err
	}
	ix.mu.Lock()
	ix.runs = append(ix.runs, rn)
	ix.frozen[0] = nil // its postings are in the run now
	ix.frozen = ix.frozen[1:]
	ix.err = nil
	ix.mu.Unlock()
	return nil
}

// writeSorted writes the postings of b, sorted, as a level-0 run.
func (ix *index) writeSorted(b *buffer) (*run, error) {
	pc := ix.newPacer()
	ps := slices.Clone(b.ps)
	slices.SortFunc(ps, comparePostings)
	ps = slices.Compact(ps)
	if err := pc.pause(); err != nil {
		return nil, err
	}
	return ix.write(0, b.from, b.to, func(add func(posting) error) error {
		for _, p := range ps {
			if err := add(p); err != nil {
				return err
			}
		}
		return nil
	})
}

// write writes a run from the postings fill gives, in order, and opens it.
func (ix *index) write(level int, from, to uint64, fill func(add func(posting) error) error) (*run, error) {
	name := runName(from, to)
	f, err := ix.fs.create(name)
	if err != nil {
		return nil, fmt.Errorf("audit: index run %s: %w", name, err)
	}
	w, err := newRunWriter(f, level, from, to)
	if err == nil {
		pc := ix.newPacer()
		err = fill(func(p posting) error {
			if err := pc.posting(); err != nil {
				return err
			}
			return w.add(p)
		})
	}
	if err == nil {
		err = w.finish()
	} else {
		f.abort()
	}
	if errors.Is(err, errClosing) {
		return nil, err
	}
	if err == nil {
		var rn *run
		if rn, err = openRun(ix.fs, name); err == nil {
			return rn, nil
		}
	}
	return nil, fmt.Errorf("audit: index run %s: %w", name, err)
}

// mergeTail merges the last fanout runs while they share a level. New runs
// are added at the end, so levels decrease along the list and only its
// tail can hold fanout runs of one level.
func (ix *index) mergeTail() error {
	for {
		ix.mu.RLock()
		n := len(ix.runs)
		var in []*run
		if n >= ix.fanout {
			in = slices.Clone(ix.runs[n-ix.fanout:])
		}
		ix.mu.RUnlock()
		if in == nil || slices.ContainsFunc(in, func(r *run) bool { return r.level != in[0].level }) {
			return nil
		}
		out, err := ix.write(in[0].level+1, in[0].from, in[len(in)-1].to, func(add func(posting) error) error {
			return mergeRuns(in, add)
		})
		if err != nil {
			return err
		}
		ix.mu.Lock()
		// Only the writer changes runs, so the tail is still in.
		ix.runs = append(ix.runs[:len(ix.runs)-len(in)], out)
		ix.mu.Unlock()
		for _, rn := range in {
			rn.retired.Store(true)
			if err := rn.release(); err != nil {
				return fmt.Errorf("audit: index run %s: %w", rn.name, err)
			}
		}
	}
}

// mergeRuns gives the postings of runs in order.
func mergeRuns(runs []*run, add func(posting) error) error {
	h := make(cursorHeap, 0, len(runs))
	for _, rn := range runs {
		c := &cursor{run: rn}
		ok, err := c.next()
		if err != nil {
			return err
		}
		if ok {
			h = append(h, c)
		}
	}
	heap.Init(&h)
	for len(h) > 0 {
		c := h[0]
		if err := add(c.cur); err != nil {
			return err
		}
		ok, err := c.next()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(&h, 0)
		} else {
			heap.Pop(&h)
		}
	}
	return nil
}

// cursor walks a run's postings, a block at a time.
type cursor struct {
	run   *run
	block int
	ps    []posting
	cur   posting
}

func (c *cursor) next() (bool, error) {
	for len(c.ps) == 0 {
		if c.block >= len(c.run.blocks) {
			return false, nil
		}
		ps, err := c.run.readBlock(c.block)
		if err != nil {
			return false, err
		}
		c.ps, c.block = ps, c.block+1
	}
	c.cur, c.ps = c.ps[0], c.ps[1:]
	return true, nil
}

type cursorHeap []*cursor

func (h cursorHeap) Len() int           { return len(h) }
func (h cursorHeap) Less(i, j int) bool { return comparePostings(h[i].cur, h[j].cur) < 0 }
func (h cursorHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)        { *h = append(*h, x.(*cursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// find returns the sequences of the subject's entries, newest first.
func (ix *index) find(subject string) ([]uint64, error) {
	var out []uint64
	ix.mu.RLock()
	runs := slices.Clone(ix.runs)
	for _, rn := range runs {
		rn.acquire()
	}
	for _, b := range append(slices.Clone(ix.frozen), ix.live) {
		for _, p := range b.ps {
			if p.subject == subject {
				out = append(out, p.seq)
			}
		}
	}
	ix.mu.RUnlock()
	var err error
	for _, rn := range runs {
		if err == nil {
			var s []uint64
			s, err = rn.find(subject)
			out = append(out, s...)
		}
		if rerr := rn.release(); rerr != nil && err == nil {
			err = rerr
		}
	}
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b uint64) int { return cmp.Compare(b, a) })
	return slices.Compact(out), nil
}

// snapshot returns the runs with a reader's reference each (release them),
// and the last sequence they cover.
func (ix *index) snapshot() ([]*run, uint64) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	runs := slices.Clone(ix.runs)
	for _, rn := range runs {
		rn.acquire()
	}
	var to uint64
	if len(runs) > 0 {
		to = runs[len(runs)-1].to
	}
	return runs, to
}

// flush writes every posting gathered so far as runs and waits for them,
// with the merges they lead to; for tests.
// It fails if a write or merge fails meanwhile.
func (ix *index) flush() error {
	ix.mu.Lock()
	ix.freezeLocked(true)
	fails := ix.fails
	ix.mu.Unlock()
	for {
		ix.mu.RLock()
		pending, err := len(ix.frozen), ix.err
		failed := ix.fails != fails
		ix.mu.RUnlock()
		if failed {
			return err
		}
		if pending == 0 {
			return nil
		}
		select {
		case ix.kick <- struct{}{}:
		default:
		}
		select {
		case <-ix.done:
			return errors.New("audit: index closed")
		default:
		}
		waitBriefly()
	}
}

// close stops the writer and closes the runs. Postings not yet written are
// indexed again from the store at the next open.
func (ix *index) close() error {
	ix.closeOnce.Do(func() {
		close(ix.quit)
		<-ix.done
		ix.mu.Lock()
		defer ix.mu.Unlock()
		for _, rn := range ix.runs {
			if err := rn.release(); err != nil && ix.closeErr == nil {
				ix.closeErr = err
			}
		}
		ix.runs = nil
	})
	return ix.closeErr
}

// stats returns the number of runs and of postings held in memory.
func (ix *index) stats() (runs, buffered int, err error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	buffered = len(ix.live.ps)
	for _, b := range ix.frozen {
		buffered += len(b.ps)
	}
	return len(ix.runs), buffered, ix.err
}

// covering returns the index in runs of the run covering seq, or -1.
func covering(runs []*run, seq uint64) int {
	i := sort.Search(len(runs), func(i int) bool { return runs[i].to >= seq })
	if i < len(runs) && runs[i].from <= seq {
		return i
	}
	return -1
}

// waitBriefly paces flush while it waits for the writer.
func waitBriefly() { time.Sleep(time.Millisecond) }
