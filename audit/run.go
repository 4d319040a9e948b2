package audit

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// A posting says that the entry seq concerns a subject: an identity, a
// source record or a principal (see subjectKey).
type posting struct {
	subject string
	seq     uint64
}

func comparePostings(a, b posting) int {
	return cmp.Or(strings.Compare(a.subject, b.subject), cmp.Compare(a.seq, b.seq))
}

// Subject keys: a kind byte, then the name; a record's authority is
// length-prefixed so that no authority and local id can forge another's key.
func identitySubject(id string) string { return "i" + id }

func userSubject(name string) string { return "u" + name }

func recordSubject(r Record) string {
	return "r" + string(binary.AppendUvarint(nil, uint64(len(r.Authority)))) + r.Authority + r.LocalID
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

// digest is an order-independent checksum of a set of postings: the sums,
// modulo 2^64, of the two halves of each posting's SHA-256. Verify compares
// the digest of a run's postings with that of the postings its entries
// imply, without holding either set in memory. Runs do not record one: it
// would cost a hash per posting on every write and merge.
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

// A run is an immutable file of postings sorted by subject then sequence,
// covering every entry from `from` to `to`. Runs are written when the
// in-memory postings fill up (level 0) and merged, `fanout` runs of one
// level into one of the next (see index).
//
// Layout, integers big-endian:
//
//	header    "VIGIEAIX" | version u32 | level u32 | from u64 | to u64
//	blocks    postings, each: shared prefix length with the previous
//	          subject (uvarint), suffix length (uvarint), suffix, then the
//	          sequence (uvarint; a delta from the previous one when the
//	          subject is the same); a block ends with its CRC-32C
//	directory block count (uvarint), then per block: offset, length,
//	          first subject length (uvarints), first subject
//	footer    directory offset u64 | directory length u64 | postings u64 |
//	          CRC-32C u32 of header, directory and the footer's first 24
//	          bytes | "VAX1"
type run struct {
	name     string
	level    int
	from, to uint64
	postings uint64 // as recorded in the footer
	blocks   []blockRef
	r        io.ReaderAt
	closer   io.Closer
	fs       runFS
	// refs counts the index's own reference and those of readers; the
	// file is closed, and removed if retired, when it drops to zero.
	refs    atomic.Int32
	retired atomic.Bool
}

type blockRef struct {
	off, len int64
	first    string
}

const (
	runMagic      = "VIGIEAIX"
	runEndMagic   = "VAX1"
	runVersion    = 1
	runHeaderSize = 32
	runFooterSize = 32
	runBlockSize  = 64 << 10 // postings bytes per block, before its CRC
	runSuffix     = ".run"
	// maxRunBlock bounds a block's length when reading, so that a damaged
	// directory cannot ask for a huge allocation.
	maxRunBlock = 16 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func runName(from, to uint64) string { return fmt.Sprintf("%016x-%016x%s", from, to, runSuffix) }

// runWriter writes a run from postings given in order.
type runWriter struct {
	w      *bufio.Writer
	file   runFile
	off    int64
	block  []byte
	first  string // first subject of the block being written
	prev   posting
	inBlk  bool
	blocks []blockRef
	count  uint64
	hdr    []byte
}

func newRunWriter(f runFile, level int, from, to uint64) (*runWriter, error) {
	w := &runWriter{w: bufio.NewWriterSize(f, 256<<10), file: f}
	hdr := make([]byte, 0, runHeaderSize)
	hdr = append(hdr, runMagic...)
	hdr = binary.BigEndian.AppendUint32(hdr, runVersion)
	hdr = binary.BigEndian.AppendUint32(hdr, uint32(level))
	hdr = binary.BigEndian.AppendUint64(hdr, from)
	hdr = binary.BigEndian.AppendUint64(hdr, to)
	w.hdr = hdr
	if _, err := w.w.Write(hdr); err != nil {
		return nil, err
	}
	w.off = runHeaderSize
	return w, nil
}

// add appends p, which must sort after the previous posting.
func (w *runWriter) add(p posting) error {
	if w.inBlk && len(w.block) >= runBlockSize {
		if err := w.endBlock(); err != nil {
			return err
		}
	}
	if !w.inBlk {
		w.inBlk, w.first, w.prev = true, p.subject, posting{}
		w.block = w.block[:0]
	}
	same := len(w.block) > 0 && p.subject == w.prev.subject
	shared := 0
	if len(w.block) > 0 {
		for shared < len(p.subject) && shared < len(w.prev.subject) && p.subject[shared] == w.prev.subject[shared] {
			shared++
		}
	}
	w.block = binary.AppendUvarint(w.block, uint64(shared))
	w.block = binary.AppendUvarint(w.block, uint64(len(p.subject)-shared))
	w.block = append(w.block, p.subject[shared:]...)
	if same {
		w.block = binary.AppendUvarint(w.block, p.seq-w.prev.seq)
	} else {
		w.block = binary.AppendUvarint(w.block, p.seq)
	}
	w.prev = p
	w.count++
	return nil
}

func (w *runWriter) endBlock() error {
	w.block = binary.BigEndian.AppendUint32(w.block, crc32.Checksum(w.block, castagnoli))
	if _, err := w.w.Write(w.block); err != nil {
		return err
	}
	w.blocks = append(w.blocks, blockRef{off: w.off, len: int64(len(w.block)), first: w.first})
	w.off += int64(len(w.block))
	w.inBlk = false
	return nil
}

// finish writes the directory and footer and makes the run durable under
// its final name.
func (w *runWriter) finish() error {
	if w.inBlk {
		if err := w.endBlock(); err != nil {
			return err
		}
	}
	dir := binary.AppendUvarint(nil, uint64(len(w.blocks)))
	for _, b := range w.blocks {
		dir = binary.AppendUvarint(dir, uint64(b.off))
		dir = binary.AppendUvarint(dir, uint64(b.len))
		dir = binary.AppendUvarint(dir, uint64(len(b.first)))
		dir = append(dir, b.first...)
	}
	foot := make([]byte, 0, runFooterSize)
	foot = binary.BigEndian.AppendUint64(foot, uint64(w.off))
	foot = binary.BigEndian.AppendUint64(foot, uint64(len(dir)))
	foot = binary.BigEndian.AppendUint64(foot, w.count)
	crc := crc32.Update(crc32.Checksum(w.hdr, castagnoli), castagnoli, dir)
	crc = crc32.Update(crc, castagnoli, foot)
	foot = binary.BigEndian.AppendUint32(foot, crc)
	foot = append(foot, runEndMagic...)
	if _, err := w.w.Write(dir); err != nil {
		return err
	}
	if _, err := w.w.Write(foot); err != nil {
		return err
	}
	if err := w.w.Flush(); err != nil {
		return err
	}
	return w.file.commit()
}

// errDamaged marks a run file that is not a complete, well-formed run.
var errDamaged = errors.New("damaged")

// openRun opens and parses the run file name, holding the index's
// reference to it.
func openRun(fs runFS, name string) (*run, error) {
	r, c, size, err := fs.open(name)
	if err != nil {
		return nil, err
	}
	rn, err := parseRun(r, size)
	if err == nil && name != runName(rn.from, rn.to) {
		err = errors.New("name does not match its range")
	}
	if err != nil {
		if c != nil {
			c.Close()
		}
		return nil, fmt.Errorf("%w: %w", errDamaged, err)
	}
	rn.name, rn.closer, rn.fs = name, c, fs
	rn.refs.Store(1)
	return rn, nil
}

// parseRun reads the header, directory and footer of a run of the given
// size. The blocks are checked as they are read (readBlock).
func parseRun(r io.ReaderAt, size int64) (*run, error) {
	if size < runHeaderSize+runFooterSize {
		return nil, fmt.Errorf("%d bytes: too short", size)
	}
	hdr := make([]byte, runHeaderSize)
	if _, err := r.ReadAt(hdr, 0); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if string(hdr[:8]) != runMagic {
		return nil, errors.New("header: not an audit index run")
	}
	if v := binary.BigEndian.Uint32(hdr[8:]); v != runVersion {
		return nil, fmt.Errorf("header: unknown version %d", v)
	}
	rn := &run{
		level: int(binary.BigEndian.Uint32(hdr[12:])),
		from:  binary.BigEndian.Uint64(hdr[16:]),
		to:    binary.BigEndian.Uint64(hdr[24:]),
		r:     r,
	}
	if rn.from == 0 || rn.to < rn.from || rn.level > 64 {
		return nil, fmt.Errorf("header: level %d, entries %d-%d", rn.level, rn.from, rn.to)
	}
	foot := make([]byte, runFooterSize)
	if _, err := r.ReadAt(foot, size-runFooterSize); err != nil {
		return nil, fmt.Errorf("footer: %w", err)
	}
	if string(foot[28:]) != runEndMagic {
		return nil, errors.New("footer: missing end mark (an incomplete file)")
	}
	dirOff, dirLen := int64(binary.BigEndian.Uint64(foot[0:])), int64(binary.BigEndian.Uint64(foot[8:]))
	if dirOff < runHeaderSize || dirLen < 1 || dirLen > size || dirOff+dirLen != size-runFooterSize {
		return nil, fmt.Errorf("footer: directory at %d, %d bytes, in a file of %d", dirOff, dirLen, size)
	}
	dir := make([]byte, dirLen)
	if _, err := r.ReadAt(dir, dirOff); err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	crc := crc32.Update(crc32.Checksum(hdr, castagnoli), castagnoli, dir)
	crc = crc32.Update(crc, castagnoli, foot[:24])
	if crc != binary.BigEndian.Uint32(foot[24:]) {
		return nil, errors.New("directory: checksum mismatch")
	}
	rn.postings = binary.BigEndian.Uint64(foot[16:])
	n, k := binary.Uvarint(dir)
	if k <= 0 || n > uint64(dirLen) {
		return nil, errors.New("directory: bad block count")
	}
	dir = dir[k:]
	next := int64(runHeaderSize)
	for i := range n {
		var v [3]uint64
		for j := range v {
			x, k := binary.Uvarint(dir)
			if k <= 0 {
				return nil, fmt.Errorf("directory: block %d truncated", i)
			}
			v[j], dir = x, dir[k:]
		}
		if int64(v[0]) != next || v[1] < 5 || v[1] > maxRunBlock || v[2] > uint64(len(dir)) {
			return nil, fmt.Errorf("directory: block %d at %d, %d bytes", i, v[0], v[1])
		}
		b := blockRef{off: int64(v[0]), len: int64(v[1]), first: string(dir[:v[2]])}
		if i > 0 && b.first < rn.blocks[i-1].first {
			return nil, fmt.Errorf("directory: block %d out of order", i)
		}
		rn.blocks = append(rn.blocks, b)
		dir = dir[v[2]:]
		next += b.len
	}
	if len(dir) != 0 || next != dirOff {
		return nil, errors.New("directory: blocks do not fill the file")
	}
	return rn, nil
}

// readBlock returns the postings of block i, checked against its CRC.
func (rn *run) readBlock(i int) ([]posting, error) {
	b := rn.blocks[i]
	buf := make([]byte, b.len)
	if _, err := rn.r.ReadAt(buf, b.off); err != nil {
		return nil, fmt.Errorf("run %s block %d: %w", rn.name, i, err)
	}
	ps, err := decodeBlock(buf)
	if err != nil {
		return nil, fmt.Errorf("run %s block %d: %w", rn.name, i, err)
	}
	if len(ps) == 0 || ps[0].subject != b.first {
		return nil, fmt.Errorf("run %s block %d: first subject differs from the directory", rn.name, i)
	}
	return ps, nil
}

// decodeBlock decodes a block with its trailing CRC. The subjects are
// built in one buffer and share one string: a merge decodes millions of
// postings, and a string each made most of its work.
func decodeBlock(buf []byte) ([]posting, error) {
	if len(buf) < 5 {
		return nil, errors.New("block too short")
	}
	body, crc := buf[:len(buf)-4], binary.BigEndian.Uint32(buf[len(buf)-4:])
	if crc32.Checksum(body, castagnoli) != crc {
		return nil, errors.New("block checksum mismatch")
	}
	type span struct {
		off, end int
		seq      uint64
	}
	// A posting takes 4 to 8 bytes encoded, its subject 10 to 40 decoded.
	spans := make([]span, 0, len(body)/4)
	arena := make([]byte, 0, 6*len(body))
	var prev span
	for len(body) > 0 {
		shared, k := binary.Uvarint(body)
		if k <= 0 {
			return nil, errors.New("block: bad prefix length")
		}
		body = body[k:]
		n, k := binary.Uvarint(body)
		if k <= 0 || n > uint64(len(body)-k) || shared > uint64(prev.end-prev.off) {
			return nil, errors.New("block: bad subject length")
		}
		body = body[k:]
		cur := prev
		same := len(spans) > 0 && shared == uint64(prev.end-prev.off) && n == 0
		if !same {
			cur.off = len(arena)
			arena = append(arena, arena[prev.off:prev.off+int(shared)]...)
			arena = append(arena, body[:n]...)
			cur.end = len(arena)
		}
		body = body[n:]
		v, k := binary.Uvarint(body)
		if k <= 0 {
			return nil, errors.New("block: bad sequence")
		}
		body = body[k:]
		cur.seq = v
		if same {
			cur.seq = prev.seq + v
			if v == 0 || cur.seq < prev.seq {
				return nil, errors.New("block: sequences out of order")
			}
		} else if len(spans) > 0 && bytes.Compare(arena[cur.off:cur.end], arena[prev.off:prev.end]) <= 0 {
			return nil, errors.New("block: subjects out of order")
		}
		if cur.seq == 0 {
			return nil, errors.New("block: sequence 0")
		}
		spans = append(spans, cur)
		prev = cur
	}
	all := string(arena)
	out := make([]posting, len(spans))
	for i, sp := range spans {
		out[i] = posting{all[sp.off:sp.end], sp.seq}
	}
	return out, nil
}

// find returns the sequences of the subject's postings in the run.
func (rn *run) find(subject string) ([]uint64, error) {
	// The subject's postings start in the first block whose first subject
	// is not below it, or at the end of the block before.
	i := sort.Search(len(rn.blocks), func(i int) bool { return rn.blocks[i].first >= subject })
	if i > 0 {
		i--
	}
	var out []uint64
	for ; i < len(rn.blocks) && rn.blocks[i].first <= subject; i++ {
		ps, err := rn.readBlock(i)
		if err != nil {
			return nil, err
		}
		j, _ := slices.BinarySearchFunc(ps, subject, func(p posting, s string) int { return strings.Compare(p.subject, s) })
		for ; j < len(ps) && ps[j].subject == subject; j++ {
			out = append(out, ps[j].seq)
		}
	}
	return out, nil
}

// each calls f with every posting of the run, in order.
func (rn *run) each(f func(posting) error) error {
	for i := range rn.blocks {
		ps, err := rn.readBlock(i)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if err := f(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// acquire takes a reader's reference; release drops one, closing the file
// (and removing it if the run was retired) when none is left.
func (rn *run) acquire() { rn.refs.Add(1) }

func (rn *run) release() error {
	if rn.refs.Add(-1) != 0 {
		return nil
	}
	var err error
	if rn.closer != nil {
		err = rn.closer.Close()
	}
	if rn.retired.Load() {
		if rerr := rn.fs.remove(rn.name); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}

// runFS holds the run files: a directory beside the store, or memory for a
// store kept in memory.
type runFS interface {
	// create starts a new file that appears under name only on commit.
	create(name string) (runFile, error)
	open(name string) (r io.ReaderAt, c io.Closer, size int64, err error)
	// list returns the names of the committed files, and removes files
	// whose writing was interrupted.
	list() ([]string, error)
	remove(name string) error
}

type runFile interface {
	io.Writer
	commit() error
	abort()
}

// dirFS keeps runs in a directory. A run is written under a temporary name,
// synced, then renamed: a file under a run's name is complete.
type dirFS string

type dirFile struct {
	f    *os.File
	name string
}

func (d dirFS) create(name string) (runFile, error) {
	f, err := os.Create(filepath.Join(string(d), name+".tmp"))
	if err != nil {
		return nil, err
	}
	return &dirFile{f, filepath.Join(string(d), name)}, nil
}

func (f *dirFile) Write(p []byte) (int, error) { return f.f.Write(p) }

func (f *dirFile) commit() error {
	if err := f.f.Sync(); err != nil {
		f.abort()
		return err
	}
	if err := f.f.Close(); err != nil {
		os.Remove(f.f.Name())
		return err
	}
	return os.Rename(f.f.Name(), f.name)
}

func (f *dirFile) abort() {
	f.f.Close()
	os.Remove(f.f.Name())
}

func (d dirFS) open(name string) (io.ReaderAt, io.Closer, int64, error) {
	f, err := os.Open(filepath.Join(string(d), name))
	if err != nil {
		return nil, nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, 0, err
	}
	return f, f, st.Size(), nil
}

func (d dirFS) list() ([]string, error) {
	ents, err := os.ReadDir(string(d))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		switch name := e.Name(); {
		case strings.HasSuffix(name, ".tmp"):
			if err := os.Remove(filepath.Join(string(d), name)); err != nil {
				return nil, err
			}
		case strings.HasSuffix(name, runSuffix):
			out = append(out, name)
		}
	}
	return out, nil
}

func (d dirFS) remove(name string) error { return os.Remove(filepath.Join(string(d), name)) }

// memFS keeps runs in memory.
type memFS struct {
	mu    sync.Mutex
	files map[string][]byte
}

type memFile struct {
	fs   *memFS
	name string
	bytes.Buffer
}

func newMemFS() *memFS { return &memFS{files: map[string][]byte{}} }

func (m *memFS) create(name string) (runFile, error) { return &memFile{fs: m, name: name}, nil }

func (f *memFile) commit() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	f.fs.files[f.name] = f.Bytes()
	return nil
}

func (f *memFile) abort() {}

func (m *memFS) open(name string) (io.ReaderAt, io.Closer, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.files[name]
	if !ok {
		return nil, nil, 0, os.ErrNotExist
	}
	return bytes.NewReader(b), nil, int64(len(b)), nil
}

func (m *memFS) list() ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for name := range m.files {
		out = append(out, name)
	}
	slices.Sort(out)
	return out, nil
}

func (m *memFS) remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.files, name)
	return nil
}
