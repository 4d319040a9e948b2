package search

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"vigie"
	"vigie/matcher"
)

// The stored field of a document holds what a query needs to score and show
// an identity, in a compact binary form rather than JSON: the id, whether it
// is hidden, the golden record, and each member's key (authority, local id)
// with its prepared form (matcher.AppendPrepared), so that rescoring a
// candidate costs a decode of a few microseconds and no matcher.Prepare.
//
// Layout: entryFormat, id, hidden, the golden record's fields, the number of
// qualified INS and each one (see qualifiedINS), the number of members,
// then per member its authority, local id, a byte 1 followed by the
// prepared form, or 0 when the member could not be prepared (it is still a
// source of the identity, but never scores); last the golden record's
// e-mail (format 3; absent from format 2).
// Strings are a uvarint length and their bytes.

// entryFormat is the first byte of a stored entry. It changes with the
// layout above and with matcher.PreparedFormat. Format 3 added the golden
// record's e-mail; format 2 entries, the same layout without it, are read.
const entryFormat = 3

// entryFormatNoEmail is the layout before the e-mail, still read.
const entryFormatNoEmail = 2

// errEntry is returned for a stored entry this build cannot read.
var errEntry = errors.New("search: malformed stored identity")

// member is one member record of a stored identity, ready to be scored.
type member struct {
	rec  *vigie.Record // Authority and LocalID only
	prep *matcher.Prepared
}

// stored is the decoded stored field of a document.
type stored struct {
	id     string
	hidden bool
	golden vigie.Record
	// qualINS are the INS of the members whose status is QUAL, as
	// qualifiedINS keys them.
	qualINS []string
	members []member
}

// qualifiedINS returns the key of the INS a member holds as qualified
// (status QUAL: retrieved from the national service and checked against an
// identity document), "" when it holds none or the INS is invalid: the
// INS's OID and number, as matcher.ParseINS gives them (an empty OID is a
// NIR's).
func qualifiedINS(r *vigie.Record) string {
	if !strings.EqualFold(strings.TrimSpace(r.Status), vigie.StatusQUAL) || strings.TrimSpace(r.INS) == "" {
		return ""
	}
	ins, err := matcher.ParseINS(r.INS, r.INSOID)
	if err != nil {
		return ""
	}
	return insKey(ins)
}

// insKey is the key of a valid INS: its OID (a NIR's when none was given)
// and its number.
func insKey(ins matcher.INS) string {
	oid := ins.OID
	if oid == "" {
		oid = matcher.OIDINSNIR
	}
	return oid + "|" + ins.Number
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// recordStrings lists a record's string fields in the stored order.
func recordStrings(r *vigie.Record) []*string {
	return []*string{&r.Authority, &r.LocalID, &r.INS, &r.INSOID, &r.Status, &r.BirthName, &r.UsedName, &r.FirstNames,
		&r.FirstName, &r.BirthDate, &r.Sex, &r.BirthPlace, &r.PostalCode, &r.City, &r.Address, &r.Phone}
}

// encodeEntry returns the stored form of an identity. A member's prepared
// form is the one e.Normals holds, else matcher.Prepare's; members that
// fail matcher.Prepare are kept without one.
func encodeEntry(e *Entry) []byte {
	b := make([]byte, 0, 256+384*len(e.Members))
	b = append(b, entryFormat)
	b = appendString(b, e.ID)
	if e.Hidden {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	g := e.Golden
	for _, s := range recordStrings(&g) {
		b = appendString(b, *s)
	}
	b = binary.AppendUvarint(b, uint64(len(g.Attributes)))
	for _, a := range g.Attributes {
		b = appendString(b, a)
	}
	var qual []string
	for i := range e.Members {
		if k := qualifiedINS(&e.Members[i]); k != "" && !slices.Contains(qual, k) {
			qual = append(qual, k)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(qual)))
	for _, k := range qual {
		b = appendString(b, k)
	}
	b = binary.AppendUvarint(b, uint64(len(e.Members)))
	for i := range e.Members {
		r := &e.Members[i]
		b = appendString(b, r.Authority)
		b = appendString(b, r.LocalID)
		if i < len(e.Normals) && len(e.Normals[i]) > 0 && matcher.PreparedFormatReadable(e.Normals[i][0]) {
			b = append(b, 1)
			b = append(b, e.Normals[i]...)
			continue
		}
		p, err := matcher.Prepare(r)
		if err != nil {
			b = append(b, 0)
			continue
		}
		b = append(b, 1)
		b = matcher.AppendPrepared(b, p)
	}
	// The golden record's e-mail, added in format 3: last, the rest of the
	// layout as format 2 had it.
	return appendString(b, g.Email)
}

// decoder reads the fields of a stored entry from a string, so that every
// string decoded is a substring of one copy of the stored bytes.
type decoder struct {
	s   string
	bad bool
}

func (d *decoder) uvarint() uint64 {
	var x uint64
	var shift uint
	for i := 0; i < len(d.s) && i < binary.MaxVarintLen64; i++ {
		c := d.s[i]
		if c < 0x80 {
			d.s = d.s[i+1:]
			return x | uint64(c)<<shift
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	d.bad = true
	return 0
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.bad || n > uint64(len(d.s)) {
		d.bad = true
		return ""
	}
	v := d.s[:n]
	d.s = d.s[n:]
	return v
}

func (d *decoder) byte() byte {
	if len(d.s) == 0 {
		d.bad = true
		return 0
	}
	v := d.s[0]
	d.s = d.s[1:]
	return v
}

func (d *decoder) boolean() bool {
	switch d.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.bad = true
	return false
}

// decodeEntry reads a stored entry. The result shares s's memory.
func decodeEntry(s string) (*stored, error) {
	var d entryDecoder
	return d.decode(s)
}

// entryDecoder decodes stored entries one after another into memory it
// reuses: a search decodes and scores a few dozen candidates, each done
// with before the next, and their records and prepared forms were a
// quarter of the bytes a served search allocated. Not safe for concurrent
// use.
type entryDecoder struct {
	e    stored
	recs []vigie.Record
	decs []matcher.PreparedDecoder
}

// maxKeptMembers bounds the members whose room a pooled decoder keeps.
const maxKeptMembers = 64

// decode reads a stored entry into the decoder's memory, valid until the
// next call. Its strings are substrings of s and its golden record's
// attributes are its own: both outlive the call, as a hit needs.
func (d *entryDecoder) decode(s string) (*stored, error) {
	dec := &decoder{s: s}
	format := dec.byte()
	if format != entryFormat && format != entryFormatNoEmail || dec.bad {
		return nil, errEntry
	}
	e := &d.e
	*e = stored{id: dec.str(), hidden: dec.boolean(), qualINS: e.qualINS[:0], members: e.members[:0]}
	for _, f := range recordStrings(&e.golden) {
		*f = dec.str()
	}
	if n := dec.uvarint(); n > uint64(len(dec.s)) {
		dec.bad = true
	} else if n > 0 {
		// A hit keeps the golden record: its attributes are not reused.
		e.golden.Attributes = make([]string, n)
		for i := range e.golden.Attributes {
			e.golden.Attributes[i] = dec.str()
		}
	}
	// A qualified INS takes at least one byte.
	if n := dec.uvarint(); n > uint64(len(dec.s)) {
		dec.bad = true
	} else {
		for range n {
			e.qualINS = append(e.qualINS, dec.str())
		}
	}
	n := dec.uvarint()
	// A member takes at least three bytes: a count beyond what is left is
	// corrupt, whatever it claims.
	if dec.bad || n > uint64(len(dec.s)) {
		return nil, errEntry
	}
	if uint64(cap(d.recs)) < n {
		d.recs = make([]vigie.Record, n)
	}
	recs := d.recs[:n]
	for uint64(len(d.decs)) < n {
		d.decs = append(d.decs, matcher.PreparedDecoder{})
	}
	for i := range recs {
		r := &recs[i]
		*r = vigie.Record{Authority: dec.str(), LocalID: dec.str()}
		m := member{rec: r}
		if dec.boolean() && !dec.bad {
			p, rest, err := d.decs[i].Decode(dec.s, r)
			if err != nil {
				return nil, fmt.Errorf("%w: member %d: %w", errEntry, i, err)
			}
			m.prep, dec.s = p, rest
		}
		if dec.bad {
			return nil, errEntry
		}
		e.members = append(e.members, m)
	}
	if format == entryFormat {
		e.golden.Email = dec.str()
	}
	if dec.bad || dec.s != "" {
		return nil, errEntry
	}
	return e, nil
}

// reset forgets the memory of an entry with many members, so that a
// pooled decoder does not keep it.
func (d *entryDecoder) reset() {
	if cap(d.recs) > maxKeptMembers || len(d.decs) > maxKeptMembers || cap(d.e.members) > maxKeptMembers || cap(d.e.qualINS) > maxKeptMembers {
		*d = entryDecoder{}
	}
}
