// Package wire is the compact binary encoding the stores share (the
// matcher's prepared forms; the patient index's records, identities,
// versions and events; the dose ledger's exams): unsigned and zig-zag varints, length-prefixed strings,
// little-endian float64 and presence bytes. A value is decoded from one
// string holding it whole, so that the strings read share one allocation.
package wire

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Writer appends the primitives to B.
type Writer struct{ B []byte }

// Uint appends an unsigned varint.
func (w *Writer) Uint(v uint64) { w.B = binary.AppendUvarint(w.B, v) }

// Int appends a zig-zag varint.
func (w *Writer) Int(v int64) { w.B = binary.AppendVarint(w.B, v) }

// Str appends a length-prefixed string.
func (w *Writer) Str(s string) {
	w.Uint(uint64(len(s)))
	w.B = append(w.B, s...)
}

// Strs appends a count and the strings.
func (w *Writer) Strs(ss []string) {
	w.Uint(uint64(len(ss)))
	for _, s := range ss {
		w.Str(s)
	}
}

// Float appends the eight bytes of f, little-endian.
func (w *Writer) Float(f float64) { w.B = binary.LittleEndian.AppendUint64(w.B, math.Float64bits(f)) }

// Byte appends one byte.
func (w *Writer) Byte(c byte) { w.B = append(w.B, c) }

// Present appends a presence byte and returns ok.
func (w *Writer) Present(ok bool) bool {
	if ok {
		w.B = append(w.B, 1)
	} else {
		w.B = append(w.B, 0)
	}
	return ok
}

// Reader reads the primitives back. The first error sticks and every later
// read returns a zero value, so that a corrupt value never panics nor
// allocates more than it could hold.
type Reader struct {
	s   string
	off int
	err error
}

// NewReader reads from s.
func NewReader(s string) Reader { return Reader{s: s} }

// Fail records why the value is corrupt (the first reason wins) and stops
// every later read.
func (r *Reader) Fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("at byte %d: %s", r.off+1, what)
	}
	r.off = len(r.s)
}

// Offset returns how many bytes were read (all of them after an error).
func (r *Reader) Offset() int { return r.off }

// More reports whether bytes are left to read (false after an error): a
// field appended to a layout after values were stored is read only when
// present, and an older value without it still decodes.
func (r *Reader) More() bool { return r.err == nil && r.off < len(r.s) }

// Err returns the first error.
func (r *Reader) Err() error { return r.err }

// End returns the first error, or one for bytes left over.
func (r *Reader) End() error {
	if r.err == nil && r.off != len(r.s) {
		r.Fail("trailing bytes")
	}
	return r.err
}

// Uint reads an unsigned varint, refusing one longer than 64 bits.
func (r *Reader) Uint() uint64 {
	var v uint64
	for i := 0; r.off+i < len(r.s) && i < binary.MaxVarintLen64; i++ {
		c := r.s[r.off+i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				break
			}
			r.off += i + 1
			return v | uint64(c)<<(7*i)
		}
		v |= uint64(c&0x7f) << (7 * i)
	}
	r.Fail("truncated or overlong number")
	return 0
}

// Int reads a zig-zag varint.
func (r *Reader) Int() int64 {
	u := r.Uint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

// Str reads a length-prefixed string.
func (r *Reader) Str() string {
	n := r.Uint()
	if n > uint64(len(r.s)-r.off) {
		r.Fail("string longer than the value")
		return ""
	}
	s := r.s[r.off : r.off+int(n)]
	r.off += int(n)
	return s
}

// Strs reads a count and the strings (nil for none).
func (r *Reader) Strs() []string {
	n := r.Count(1)
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.Str()
	}
	return out
}

// Count reads a list length: elements of at least size bytes each must fit
// in the bytes left.
func (r *Reader) Count(size int) int {
	n := r.Uint()
	if n > uint64((len(r.s)-r.off)/max(size, 1)) {
		r.Fail("list longer than the value")
		return 0
	}
	return int(n)
}

// Float reads eight bytes, little-endian.
func (r *Reader) Float() float64 {
	if len(r.s)-r.off < 8 {
		r.Fail("truncated number")
		return 0
	}
	var u uint64
	for i := range 8 {
		u |= uint64(r.s[r.off+i]) << (8 * i)
	}
	r.off += 8
	return math.Float64frombits(u)
}

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if r.off >= len(r.s) {
		r.Fail("truncated value")
		return 0
	}
	c := r.s[r.off]
	r.off++
	return c
}

// Present reads a presence byte.
func (r *Reader) Present() bool {
	c := r.Byte()
	if c > 1 {
		r.Fail("bad presence byte")
		return false
	}
	return c == 1
}
