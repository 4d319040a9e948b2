package mpi

import (
	"encoding/binary"
	"errors"

	"vigie/matcher"
)

// The normalised form of each record version (matcher.Prepared without the
// raw record) is stored beside the version, so that scoring a record that
// is not in the cache costs a read and a decode (a few microseconds) rather
// than preparing it again (tens of microseconds: folding, phonetic keys).
// The encoding is compact and positional; TestNormalFormCoversPrepared
// fails when matcher.Prepared gains a field this codec does not carry.

// normalVersion is the first byte of an encoded normalised form; a form of
// another version is ignored (the record is prepared again).
const normalVersion = 1

var errNormal = errors.New("mpi: malformed normalised form")

func encodeNormal(p *matcher.Prepared) []byte {
	b := make([]byte, 0, 512)
	b = append(b, normalVersion)
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
	name := func(n *matcher.Name) {
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

// decodeNormal decodes a normalised form; rec becomes its Record.
func decodeNormal(b []byte, rec *matcher.Record) (*matcher.Prepared, error) {
	if len(b) == 0 || b[0] != normalVersion {
		return nil, errNormal
	}
	b = b[1:]
	bad := false
	uv := func() uint64 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			bad = true
			return 0
		}
		b = b[n:]
		return v
	}
	iv := func() int {
		v, n := binary.Varint(b)
		if n <= 0 {
			bad = true
			return 0
		}
		b = b[n:]
		return int(v)
	}
	str := func() string {
		n := uv()
		if bad || n > uint64(len(b)) {
			bad = true
			return ""
		}
		s := string(b[:n])
		b = b[n:]
		return s
	}
	strs := func() []string {
		n := uv()
		if bad || n > uint64(len(b)) {
			bad = true
			return nil
		}
		if n == 0 {
			return nil
		}
		out := make([]string, n)
		for i := range out {
			out[i] = str()
		}
		return out
	}
	byteV := func() byte {
		if len(b) == 0 {
			bad = true
			return 0
		}
		v := b[0]
		b = b[1:]
		return v
	}
	boolean := func() bool { return byteV() == 1 }
	name := func(n *matcher.Name) {
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
	p := &matcher.Prepared{Record: rec}
	name(&p.Birth)
	name(&p.Used)
	name(&p.First)
	if n := uv(); n > 0 && n <= uint64(len(b)) {
		p.List = make([]matcher.Name, n)
		for i := range p.List {
			name(&p.List[i])
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
	if bad || len(b) != 0 {
		return nil, errNormal
	}
	return p, nil
}
