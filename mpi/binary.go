package mpi

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"vigie/matcher"
)

// The values every resolution writes or reads, a record's state (m/r/), the
// version received (m/h/), an identity (m/i/) and an event (m/e/, but for
// merges), are stored in a compact
// positional encoding rather than JSON: encoding and decoding them was a
// tenth of the CPU of a bulk import, and their bytes are written again by
// every compaction. Their
// first byte is schemaBinary; values written as JSON (schemaVersion) by
// earlier builds are still read. TestBinaryCodecCoversTypes fails when one of
// the encoded types gains a field this codec does not carry.

// schemaBinary is the first byte of a value in the compact encoding.
const schemaBinary = 2

var errBinary = errors.New("mpi: malformed stored value")

// binWriter appends the primitives of the compact encoding.
type binWriter struct{ b []byte }

func (w *binWriter) uint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *binWriter) int(v int64)   { w.b = binary.AppendVarint(w.b, v) }
func (w *binWriter) str(s string) {
	w.uint(uint64(len(s)))
	w.b = append(w.b, s...)
}
func (w *binWriter) strs(ss []string) {
	w.uint(uint64(len(ss)))
	for _, s := range ss {
		w.str(s)
	}
}

// time keeps the instant and whether it is UTC (the only zone this package
// writes); any other zone is read back as UTC.
func (w *binWriter) time(t time.Time) {
	w.int(t.Unix())
	w.uint(uint64(t.Nanosecond()))
}

// binReader reads them back from one string holding the whole value, so
// that the strings read share one allocation.
type binReader struct {
	s   string
	err error
}

func (r *binReader) fail() {
	if r.err == nil {
		r.err = errBinary
	}
	r.s = ""
}

func (r *binReader) uint() uint64 {
	var v uint64
	for i := 0; i < len(r.s) && i < binary.MaxVarintLen64; i++ {
		c := r.s[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				break // overflows 64 bits
			}
			r.s = r.s[i+1:]
			return v | uint64(c)<<(7*i)
		}
		v |= uint64(c&0x7f) << (7 * i)
	}
	r.fail()
	return 0
}

func (r *binReader) int() int64 {
	u := r.uint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

func (r *binReader) str() string {
	n := r.uint()
	if n > uint64(len(r.s)) {
		r.fail()
		return ""
	}
	v := r.s[:n]
	r.s = r.s[n:]
	return v
}

// count reads a length, refusing one that cannot fit in what is left
// (each element takes at least one byte).
func (r *binReader) count() int {
	n := r.uint()
	if n > uint64(len(r.s)) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *binReader) strs() []string {
	n := r.count()
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.str()
	}
	return out
}

func (r *binReader) time() time.Time {
	sec, nsec := r.int(), r.uint()
	if nsec >= 1e9 {
		r.fail()
		return time.Time{}
	}
	if sec == zeroUnix && nsec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

// zeroUnix is time.Time{}.Unix().
var zeroUnix = time.Time{}.Unix()

// end reports an error, or bytes left over.
func (r *binReader) end() error {
	if r.err == nil && r.s != "" {
		r.err = errBinary
	}
	return r.err
}

// The fields of matcher.Record, in their encoded order.
func recordFields(rec *matcher.Record) []*string {
	return []*string{&rec.Authority, &rec.LocalID, &rec.INS, &rec.INSOID, &rec.Status, &rec.BirthName, &rec.UsedName,
		&rec.FirstNames, &rec.FirstName, &rec.BirthDate, &rec.Sex, &rec.BirthPlace, &rec.PostalCode, &rec.City,
		&rec.Address, &rec.Phone}
}

func encodeRecordState(st *recordState) []byte {
	w := binWriter{b: make([]byte, 0, 256)}
	w.b = append(w.b, schemaBinary)
	w.uint(uint64(st.Version))
	w.uint(uint64(st.Identity))
	flags := uint64(0)
	if st.Pinned {
		flags |= 1
	}
	w.uint(flags)
	w.time(st.Received)
	for _, f := range recordFields(&st.Record) {
		w.str(*f)
	}
	w.strs(st.Record.Attributes)
	w.str(st.Family)
	w.str(st.First)
	w.strs(st.Blocks)
	return w.b
}

func decodeRecordState(b []byte, st *recordState) error {
	r := binReader{s: string(b[1:])}
	*st = recordState{}
	v := r.uint()
	if v > 1<<31 {
		r.fail()
	}
	st.Version = int(v)
	st.Identity = ID(r.uint())
	flags := r.uint()
	st.Pinned = flags&1 != 0
	st.Received = r.time()
	for _, f := range recordFields(&st.Record) {
		*f = r.str()
	}
	st.Record.Attributes = r.strs()
	st.Family = r.str()
	st.First = r.str()
	st.Blocks = r.strs()
	if err := r.end(); err != nil {
		return err
	}
	return nil
}

func encodeIdentity(x *identity) []byte {
	w := binWriter{b: make([]byte, 0, 64+32*len(x.Members))}
	w.b = append(w.b, schemaBinary)
	w.uint(uint64(x.ID))
	w.uint(uint64(x.Retired))
	w.time(x.Created)
	w.time(x.Updated)
	w.uint(uint64(len(x.Members)))
	for _, m := range x.Members {
		w.str(m.Authority)
		w.str(m.LocalID)
	}
	w.strs(x.Attributes)
	return w.b
}

func decodeIdentity(b []byte, x *identity) error {
	r := binReader{s: string(b[1:])}
	*x = identity{}
	x.ID = ID(r.uint())
	x.Retired = ID(r.uint())
	x.Created = r.time()
	x.Updated = r.time()
	if n := r.count(); n > 0 {
		x.Members = make([]SourceKey, n)
		for i := range x.Members {
			x.Members[i] = SourceKey{r.str(), r.str()}
		}
	}
	x.Attributes = r.strs()
	return r.end()
}

func encodeVersion(v *Version) []byte {
	w := binWriter{b: make([]byte, 0, 192)}
	w.b = append(w.b, schemaBinary)
	w.uint(uint64(v.Version))
	w.time(v.Received)
	for _, f := range recordFields(&v.Record) {
		w.str(*f)
	}
	w.strs(v.Record.Attributes)
	return w.b
}

func decodeVersion(b []byte, v *Version) error {
	r := binReader{s: string(b[1:])}
	*v = Version{}
	n := r.uint()
	if n > 1<<31 {
		r.fail()
	}
	v.Version = int(n)
	v.Received = r.time()
	for _, f := range recordFields(&v.Record) {
		*f = r.str()
	}
	v.Record.Attributes = r.strs()
	return r.end()
}

// Events are written by every resolution too; the few that carry identity
// snapshots (merges) stay JSON, which is all an earlier build wrote.

func (w *binWriter) key(k SourceKey) {
	w.str(k.Authority)
	w.str(k.LocalID)
}

func (r *binReader) key() SourceKey { return SourceKey{r.str(), r.str()} }

func (w *binWriter) float(f float64) {
	w.b = binary.LittleEndian.AppendUint64(w.b, math.Float64bits(f))
}

func (r *binReader) float() float64 {
	if len(r.s) < 8 {
		r.fail()
		return 0
	}
	var u uint64
	for i := range 8 {
		u |= uint64(r.s[i]) << (8 * i)
	}
	r.s = r.s[8:]
	return math.Float64frombits(u)
}

// binaryEvent reports whether an event is stored in the compact encoding.
func binaryEvent(e *Event) bool { return e.Retired == nil && e.Survivor == nil }

func encodeEvent(e *Event) []byte {
	w := binWriter{b: make([]byte, 0, 256)}
	w.b = append(w.b, schemaBinary)
	w.uint(e.Seq)
	w.time(e.Time)
	w.str(e.Kind)
	w.str(string(e.Actor))
	w.str(e.Reason)
	w.uint(uint64(e.Identity))
	w.uint(uint64(e.Other))
	w.key(e.Record)
	w.key(e.OtherRecord)
	w.int(int64(e.Version))
	w.uint(uint64(len(e.Moves)))
	for _, m := range e.Moves {
		w.key(m.Record)
		w.uint(uint64(m.From))
		w.uint(uint64(m.To))
	}
	w.key(e.Matched)
	w.float(e.Probability)
	w.float(e.Weight)
	w.strs(e.Explanation)
	w.uint(e.Review)
	w.strs(e.Attributes)
	w.uint(e.Undoes)
	return w.b
}

func decodeEvent(b []byte, e *Event) error {
	r := binReader{s: string(b[1:])}
	*e = Event{}
	e.Seq = r.uint()
	e.Time = r.time()
	e.Kind = r.str()
	e.Actor = Actor(r.str())
	e.Reason = r.str()
	e.Identity = ID(r.uint())
	e.Other = ID(r.uint())
	e.Record = r.key()
	e.OtherRecord = r.key()
	v := r.int()
	if v < -1<<31 || v > 1<<31 {
		r.fail()
	}
	e.Version = int(v)
	if n := r.count(); n > 0 {
		e.Moves = make([]Move, n)
		for i := range e.Moves {
			e.Moves[i] = Move{Record: r.key(), From: ID(r.uint()), To: ID(r.uint())}
		}
	}
	e.Matched = r.key()
	e.Probability = r.float()
	e.Weight = r.float()
	e.Explanation = r.strs()
	e.Review = r.uint()
	e.Attributes = r.strs()
	e.Undoes = r.uint()
	return r.end()
}
