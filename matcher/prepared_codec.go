package matcher

import (
	"encoding/binary"
	"errors"
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

// PreparedFormat is the first byte of an encoded prepared form. Its value 1
// is the layout the patient index has always stored.
const PreparedFormat = 1

// ErrPreparedForm is returned for bytes that are not a prepared form of the
// current format (truncated, corrupt or of another version).
var ErrPreparedForm = errors.New("matcher: malformed or outdated prepared form")

// AppendPrepared appends the binary form of p, without its Record, to b and
// returns the extended slice.
func AppendPrepared(b []byte, p *Prepared) []byte {
	b = append(b, PreparedFormat)
	str := func(s string) { b = binary.AppendUvarint(b, uint64(len(s))); b = append(b, s...) }
	strs := func(ss []string) {
		b = binary.AppendUvarint(b, uint64(len(ss)))
		for _, s := range ss {
			str(s)
		}
	}
	boolean := func(v bool) {
		if v {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	name := func(n *Name) {
		str(n.Folded)
		strs(n.Tokens)
		strs(n.Core)
		str(n.Glued)
		str(n.CoreGlued)
		str(n.Soundex2)
		str(n.Phonex)
		str(n.Metaphone)
		str(n.Metaphone2)
		boolean(n.Placeholder)
	}
	name(&p.Birth)
	name(&p.Used)
	name(&p.First)
	b = binary.AppendUvarint(b, uint64(len(p.List)))
	for i := range p.List {
		name(&p.List[i])
	}
	b = binary.AppendVarint(b, int64(p.Date.Year))
	b = binary.AppendVarint(b, int64(p.Date.Month))
	b = binary.AppendVarint(b, int64(p.Date.Day))
	boolean(p.Date.Placeholder)
	b = append(b, p.Sex)
	str(p.BirthPlace)
	str(p.INS.Number)
	str(p.INS.OID)
	boolean(p.HasINS)
	boolean(p.INSMismatch)
	str(p.Postal)
	str(p.City)
	str(p.Address)
	str(p.Street)
	str(p.Phone)
	boolean(p.NoAutoLink)
	return b
}

// DecodePrepared decodes the prepared form at the start of s, written by
// AppendPrepared, and returns it with rec as its Record, and what follows it
// in s. The strings of the form are substrings of s: no copy, one allocation
// for the caller's string(b) of a buffer it reuses. An error wraps
// ErrPreparedForm.
func DecodePrepared(s string, rec *Record) (*Prepared, string, error) {
	p := &Prepared{Record: rec}
	n, err := decodePrepared(s, p)
	if err != nil {
		return nil, "", err
	}
	return p, s[n:], nil
}

// decodePrepared decodes into p and returns the number of bytes read.
func decodePrepared(s string, p *Prepared) (int, error) {
	if len(s) == 0 || s[0] != PreparedFormat {
		return 0, ErrPreparedForm
	}
	i := 1
	bad := false
	uv := func() uint64 {
		v, n := uvarint(s[i:])
		if n <= 0 {
			bad = true
			return 0
		}
		i += n
		return v
	}
	iv := func() int {
		v, n := varint(s[i:])
		if n <= 0 {
			bad = true
			return 0
		}
		i += n
		return int(v)
	}
	str := func() string {
		n := uv()
		if bad || n > uint64(len(s)-i) {
			bad = true
			return ""
		}
		v := s[i : i+int(n)]
		i += int(n)
		return v
	}
	// The token lists of all the names are cut from one backing array:
	// one allocation for the few dozen strings of a record, not one per list.
	var backing []string
	strs := func() []string {
		n := uv()
		// Every string takes at least one byte (its length): a count above
		// what is left is corrupt, whatever it claims.
		if bad || n > uint64(len(s)-i) {
			bad = true
			return nil
		}
		if n == 0 {
			return nil
		}
		if backing == nil {
			backing = make([]string, 0, max(24, n))
		}
		start := len(backing)
		for range n {
			backing = append(backing, str())
		}
		// Full slice expression: appending to one list never overwrites
		// the next.
		return backing[start:len(backing):len(backing)]
	}
	byteV := func() byte {
		if i >= len(s) {
			bad = true
			return 0
		}
		v := s[i]
		i++
		return v
	}
	boolean := func() bool {
		switch byteV() {
		case 0:
			return false
		case 1:
			return true
		}
		bad = true
		return false
	}
	name := func(n *Name) {
		n.Folded = str()
		n.Tokens = strs()
		n.Core = strs()
		n.Glued = str()
		n.CoreGlued = str()
		n.Soundex2 = str()
		n.Phonex = str()
		n.Metaphone = str()
		n.Metaphone2 = str()
		n.Placeholder = boolean()
	}
	name(&p.Birth)
	name(&p.Used)
	name(&p.First)
	if n := uv(); n > 0 && n <= uint64(len(s)-i) {
		p.List = make([]Name, n)
		for k := range p.List {
			name(&p.List[k])
		}
	} else if n > 0 {
		bad = true
	}
	p.Date.Year, p.Date.Month, p.Date.Day = iv(), iv(), iv()
	p.Date.Placeholder = boolean()
	p.Sex = byteV()
	p.BirthPlace = str()
	p.INS.Number = str()
	p.INS.OID = str()
	p.HasINS = boolean()
	p.INSMismatch = boolean()
	p.Postal = str()
	p.City = str()
	p.Address = str()
	p.Street = str()
	p.Phone = str()
	p.NoAutoLink = boolean()
	if bad {
		return 0, ErrPreparedForm
	}
	return i, nil
}

// uvarint is binary.Uvarint over a string.
func uvarint(s string) (uint64, int) {
	var x uint64
	var shift uint
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		c := s[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				return 0, -(i + 1) // overflow
			}
			return x | uint64(c)<<shift, i + 1
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	return 0, 0
}

// varint is binary.Varint over a string.
func varint(s string) (int64, int) {
	ux, n := uvarint(s)
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x, n
}
