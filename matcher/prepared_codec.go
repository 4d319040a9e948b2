package matcher

import (
	"errors"
	"fmt"

	"vigie"
	"vigie/internal/wire"
)

// The prepared form of a record (Prepared without its Record) has a compact
// binary encoding so that a record stored beside its prepared form (the
// patient index's record versions, the search index's candidates) is scored
// after a decode of a few hundred nanoseconds instead of a Prepare of several
// microseconds (folding, phonetic keys). The encoding is positional: a
// version byte, then every field in a fixed order, strings as a uvarint
// length and their bytes. TestPreparedCodecCoversPrepared fails when Prepared
// (or Name, Date, INS) gains a field the codec does not carry; such a change
// must bump PreparedFormat so that stored forms of the old layout are
// refused, not misread.

// PreparedFormat is the first byte of an encoded prepared form. Format 1
// glued the street's words together and carried no e-mail; format 2
// separated the street's words (see Prepared.Street); format 3 appends the
// e-mail. Only the current format is decoded: a stored form of an earlier
// one is prepared again from its record (the meaning of Street changed).
const PreparedFormat = 3

// PreparedFormatReadable reports whether b starts with a prepared form
// this build decodes.
func PreparedFormatReadable(b byte) bool { return b == PreparedFormat }

// ErrPreparedForm is returned for bytes that are not a prepared form of the
// current format (truncated, corrupt or of another version).
var ErrPreparedForm = errors.New("matcher: malformed or outdated prepared form")

// AppendPrepared appends the binary form of p, without its Record, to b and
// returns the extended slice.
func AppendPrepared(b []byte, p *Prepared) []byte {
	w := wire.Writer{B: append(b, PreparedFormat)}
	name := func(n *Name) {
		w.Str(n.Folded)
		w.Strs(n.Tokens)
		w.Strs(n.Core)
		w.Str(n.Glued)
		w.Str(n.CoreGlued)
		w.Str(n.Soundex2)
		w.Str(n.Phonex)
		w.Str(n.Metaphone)
		w.Str(n.Metaphone2)
		w.Present(n.Placeholder)
	}
	name(&p.Birth)
	name(&p.Used)
	name(&p.First)
	w.Uint(uint64(len(p.List)))
	for i := range p.List {
		name(&p.List[i])
	}
	w.Int(int64(p.Date.Year))
	w.Int(int64(p.Date.Month))
	w.Int(int64(p.Date.Day))
	w.Present(p.Date.Placeholder)
	w.Byte(p.Sex)
	w.Str(p.BirthPlace)
	w.Str(p.INS.Number)
	w.Str(p.INS.OID)
	w.Present(p.HasINS)
	w.Present(p.INSMismatch)
	w.Str(p.Postal)
	w.Str(p.City)
	w.Str(p.Address)
	w.Str(p.Street)
	w.Str(p.Phone)
	w.Present(p.NoAutoLink)
	w.Str(p.Email)
	return w.B
}

// DecodePrepared decodes the prepared form at the start of s, written by
// AppendPrepared, and returns it with rec as its Record, and what follows it
// in s. The strings of the form are substrings of s: no copy, one allocation
// for the caller's string(b) of a buffer it reuses. An error wraps
// ErrPreparedForm.
func DecodePrepared(s string, rec *vigie.Record) (*Prepared, string, error) {
	p := &Prepared{Record: rec}
	n, err := decodePrepared(s, p, nil)
	if err != nil {
		return nil, "", err
	}
	return p, s[n:], nil
}

// PreparedDecoder decodes prepared forms one after another into memory it
// reuses, for a caller that decodes many (a search scoring dozens of
// candidates) and is done with each form before decoding the next: the
// form and its token lists are then not garbage to collect at every
// decode. The zero value is ready to use; a decoder is not safe for
// concurrent use.
type PreparedDecoder struct {
	p   Prepared
	buf decodeBuf
}

// decodeBuf is the memory a decode cuts its lists from: the token lists of
// the names, and the list of first names.
type decodeBuf struct {
	strs  []string
	names []Name
}

// Decode is DecodePrepared into the decoder's memory: the form it returns
// is valid until the next call to Decode. The strings of the form are
// substrings of s, as with DecodePrepared, and stay valid.
func (d *PreparedDecoder) Decode(s string, rec *vigie.Record) (*Prepared, string, error) {
	d.p = Prepared{Record: rec}
	n, err := decodePrepared(s, &d.p, &d.buf)
	if err != nil {
		return nil, "", err
	}
	return &d.p, s[n:], nil
}

// decodePrepared decodes into p and returns the number of bytes read. Its
// lists are cut from buf, which it grows, when buf is not nil.
func decodePrepared(s string, p *Prepared, buf *decodeBuf) (int, error) {
	if len(s) == 0 || !PreparedFormatReadable(s[0]) {
		return 0, ErrPreparedForm
	}
	r := wire.NewReader(s[1:])
	// The token lists of all the names are cut from one backing array:
	// one allocation for the few dozen strings of a record, not one per
	// list, and none when a decoder's array from an earlier form is large
	// enough.
	var backing []string
	if buf != nil {
		backing = buf.strs[:0]
	}
	strs := func() []string {
		// Every string takes at least one byte (its length): a count above
		// what is left is corrupt, whatever it claims.
		n := r.Count(1)
		if n == 0 {
			return nil
		}
		if cap(backing) == 0 {
			backing = make([]string, 0, max(24, n))
		}
		start := len(backing)
		for range n {
			backing = append(backing, r.Str())
		}
		// Full slice expression: appending to one list never overwrites
		// the next.
		return backing[start:len(backing):len(backing)]
	}
	name := func(n *Name) {
		n.Folded = r.Str()
		n.Tokens = strs()
		n.Core = strs()
		n.Glued = r.Str()
		n.CoreGlued = r.Str()
		n.Soundex2 = r.Str()
		n.Phonex = r.Str()
		n.Metaphone = r.Str()
		n.Metaphone2 = r.Str()
		n.Placeholder = r.Present()
	}
	name(&p.Birth)
	name(&p.Used)
	name(&p.First)
	if n := r.Count(1); n > 0 {
		if buf != nil && cap(buf.names) >= n {
			p.List = buf.names[:n:n]
		} else {
			p.List = make([]Name, n)
			if buf != nil {
				buf.names = p.List
			}
		}
		for k := range p.List {
			name(&p.List[k])
		}
	}
	p.Date.Year, p.Date.Month, p.Date.Day = int(r.Int()), int(r.Int()), int(r.Int())
	p.Date.Placeholder = r.Present()
	p.Sex = r.Byte()
	p.BirthPlace = r.Str()
	p.INS.Number = r.Str()
	p.INS.OID = r.Str()
	p.HasINS = r.Present()
	p.INSMismatch = r.Present()
	p.Postal = r.Str()
	p.City = r.Str()
	p.Address = r.Str()
	p.Street = r.Str()
	p.Phone = r.Str()
	p.NoAutoLink = r.Present()
	p.Email = r.Str()
	if err := r.Err(); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrPreparedForm, err)
	}
	if buf != nil {
		buf.strs = backing // grown, for the next form
	}
	return 1 + r.Offset(), nil
}
