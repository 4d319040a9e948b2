package mpi

import (
	"errors"
	"fmt"
	"time"

	"vigie"
	"vigie/internal/wire"
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

// binWriter and binReader add the patient index's compound values
// (instants, source keys) to the shared primitives.
type binWriter struct{ wire.Writer }

type binReader struct{ wire.Reader }

func newBinWriter(size int) binWriter {
	w := binWriter{wire.Writer{B: make([]byte, 0, size)}}
	w.B = append(w.B, schemaBinary)
	return w
}

// newBinReader reads a value written by newBinWriter (its schema byte
// already checked).
func newBinReader(b []byte) binReader { return binReader{wire.NewReader(string(b[1:]))} }

// time keeps the instant; it is read back as UTC (the only zone this
// package writes).
func (w *binWriter) time(t time.Time) {
	w.Int(t.Unix())
	w.Uint(uint64(t.Nanosecond()))
}

func (r *binReader) time() time.Time {
	sec, nsec := r.Int(), r.Uint()
	if nsec >= 1e9 {
		r.Fail("nanoseconds out of range")
		return time.Time{}
	}
	if sec == zeroUnix && nsec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

// zeroUnix is time.Time{}.Unix().
var zeroUnix = time.Time{}.Unix()

func (w *binWriter) key(k vigie.SourceKey) {
	w.Str(k.Authority)
	w.Str(k.LocalID)
}

func (r *binReader) key() vigie.SourceKey {
	return vigie.SourceKey{Authority: r.Str(), LocalID: r.Str()}
}

// end reports a malformed value, or bytes left over.
func (r *binReader) end() error {
	if err := r.End(); err != nil {
		return fmt.Errorf("%w: %v", errBinary, err)
	}
	return nil
}

// recordFields are the record's strings in their stored order; the e-mail,
// added later, is written last of its value instead (see encodeRecordState),
// so that values stored before it still decode.
func recordFields(rec *vigie.Record) []*string {
	return []*string{&rec.Authority, &rec.LocalID, &rec.INS, &rec.INSOID, &rec.Status, &rec.BirthName, &rec.UsedName,
		&rec.FirstNames, &rec.FirstName, &rec.BirthDate, &rec.Sex, &rec.BirthPlace, &rec.PostalCode, &rec.City,
		&rec.Address, &rec.Phone}
}

func encodeRecordState(st *recordState) []byte {
	w := newBinWriter(256)
	w.Uint(uint64(st.Version))
	w.Uint(uint64(st.Identity))
	flags := uint64(0)
	if st.Pinned {
		flags |= 1
	}
	w.Uint(flags)
	w.time(st.Received)
	for _, f := range recordFields(&st.Record) {
		w.Str(*f)
	}
	w.Strs(st.Record.Attributes)
	w.Str(st.Family)
	w.Str(st.First)
	w.Strs(st.Blocks)
	w.Str(st.Record.Email)
	return w.B
}

func decodeRecordState(b []byte, st *recordState) error {
	r := newBinReader(b)
	*st = recordState{}
	v := r.Uint()
	if v > 1<<31 {
		r.Fail("version out of range")
	}
	st.Version = int(v)
	st.Identity = vigie.IdentityID(r.Uint())
	flags := r.Uint()
	st.Pinned = flags&1 != 0
	st.Received = r.time()
	for _, f := range recordFields(&st.Record) {
		*f = r.Str()
	}
	st.Record.Attributes = r.Strs()
	st.Family = r.Str()
	st.First = r.Str()
	st.Blocks = r.Strs()
	if r.More() { // stored before records carried an e-mail: none
		st.Record.Email = r.Str()
	}
	return r.end()
}

func encodeIdentity(x *identity) []byte {
	w := newBinWriter(64 + 32*len(x.Members))
	w.Uint(uint64(x.ID))
	w.Uint(uint64(x.Retired))
	w.time(x.Created)
	w.time(x.Updated)
	w.Uint(uint64(len(x.Members)))
	for _, m := range x.Members {
		w.key(m)
	}
	w.Strs(x.Attributes)
	return w.B
}

func decodeIdentity(b []byte, x *identity) error {
	r := newBinReader(b)
	*x = identity{}
	x.ID = vigie.IdentityID(r.Uint())
	x.Retired = vigie.IdentityID(r.Uint())
	x.Created = r.time()
	x.Updated = r.time()
	if n := r.Count(1); n > 0 {
		x.Members = make([]vigie.SourceKey, n)
		for i := range x.Members {
			x.Members[i] = r.key()
		}
	}
	x.Attributes = r.Strs()
	return r.end()
}

func encodeVersion(v *Version) []byte {
	w := newBinWriter(192)
	w.Uint(uint64(v.Version))
	w.time(v.Received)
	for _, f := range recordFields(&v.Record) {
		w.Str(*f)
	}
	w.Strs(v.Record.Attributes)
	w.Str(v.Record.Email)
	return w.B
}

func decodeVersion(b []byte, v *Version) error {
	r := newBinReader(b)
	*v = Version{}
	n := r.Uint()
	if n > 1<<31 {
		r.Fail("version out of range")
	}
	v.Version = int(n)
	v.Received = r.time()
	for _, f := range recordFields(&v.Record) {
		*f = r.Str()
	}
	v.Record.Attributes = r.Strs()
	if r.More() { // stored before records carried an e-mail: none
		v.Record.Email = r.Str()
	}
	return r.end()
}

// Events are written by every resolution too; the few that carry identity
// snapshots (merges, links that retire an identity) stay JSON, which is all
// an earlier build wrote.

// binaryEvent reports whether an event is stored in the compact encoding.
func binaryEvent(e *Event) bool { return e.Retired == nil && e.Survivor == nil }

func encodeEvent(e *Event) []byte {
	w := newBinWriter(256)
	w.Uint(e.Seq)
	w.time(e.Time)
	w.Str(e.Kind)
	w.Str(string(e.Actor))
	w.Str(e.Reason)
	w.Uint(uint64(e.Identity))
	w.Uint(uint64(e.Other))
	w.key(e.Record)
	w.key(e.OtherRecord)
	w.Int(int64(e.Version))
	w.Uint(uint64(len(e.Moves)))
	for _, m := range e.Moves {
		w.key(m.Record)
		w.Uint(uint64(m.From))
		w.Uint(uint64(m.To))
	}
	w.key(e.Matched)
	w.Float(e.Probability)
	w.Float(e.Weight)
	w.Strs(e.Explanation)
	w.Uint(e.Review)
	w.Strs(e.Attributes)
	w.Uint(e.Undoes)
	return w.B
}

func decodeEvent(b []byte, e *Event) error {
	r := newBinReader(b)
	*e = Event{}
	e.Seq = r.Uint()
	e.Time = r.time()
	e.Kind = r.Str()
	e.Actor = Actor(r.Str())
	e.Reason = r.Str()
	e.Identity = vigie.IdentityID(r.Uint())
	e.Other = vigie.IdentityID(r.Uint())
	e.Record = r.key()
	e.OtherRecord = r.key()
	v := r.Int()
	if v < -1<<31 || v > 1<<31 {
		r.Fail("version out of range")
	}
	e.Version = int(v)
	if n := r.Count(1); n > 0 {
		e.Moves = make([]Move, n)
		for i := range e.Moves {
			e.Moves[i] = Move{Record: r.key(), From: vigie.IdentityID(r.Uint()), To: vigie.IdentityID(r.Uint())}
		}
	}
	e.Matched = r.key()
	e.Probability = r.Float()
	e.Weight = r.Float()
	e.Explanation = r.Strs()
	e.Review = r.Uint()
	e.Attributes = r.Strs()
	e.Undoes = r.Uint()
	return r.end()
}
