package hl7

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"vigie"
)

// MaxMessageBytes bounds one HL7 message as received (vigie.MaxHL7MessageBytes).
const MaxMessageBytes = vigie.MaxHL7MessageBytes

// Delimiters are a message's encoding characters, read from MSH-1 and MSH-2.
type Delimiters struct {
	Field, Component, Repetition, Escape, Subcomponent byte
}

// Message is a parsed HL7 v2 message in ER7 (pipe) encoding. Its text is
// UTF-8 whatever the character set it was sent in (MSH-18); field values
// keep their escape sequences until read through Segment.Get.
type Message struct {
	Delims   Delimiters
	Charset  string // MSH-18 as sent ("" when absent)
	Segments []Segment
}

// Segment is one segment: its name and its fields, raw. For MSH, field 1
// is the field separator and field 2 the encoding characters, as HL7
// numbers them.
type Segment struct {
	Name   string
	fields []string // fields[0] is the name
	d      *Delimiters
}

// Parse reads one ER7 message. Segments end with a carriage return (a line
// feed, or both, is accepted too). The message is decoded from the
// character set MSH-18 names: UNICODE UTF-8, 8859/1, 8859/15, or ASCII
// when MSH-18 is empty. An error is an EINVALID *vigie.Error naming the
// segment and field (for instance "MSH-18") and the reason.
func Parse(b []byte) (*Message, error) {
	if len(b) > MaxMessageBytes {
		return nil, vigie.Invalid("message", "is %d bytes, more than %d", len(b), MaxMessageBytes)
	}
	b = bytes.TrimLeft(b, "\r\n \t")
	if len(b) < 8 || string(b[:3]) != "MSH" {
		return nil, vigie.Invalid("MSH", "the message does not start with an MSH segment")
	}
	m := &Message{}
	d := &m.Delims
	d.Field = b[3]
	end := bytes.IndexByte(b[4:], d.Field)
	if end < 0 {
		return nil, vigie.Invalid("MSH-2", "the encoding characters are not followed by a field separator")
	}
	enc := b[4 : 4+end]
	if len(enc) < 2 || len(enc) > 5 {
		return nil, vigie.Invalid("MSH-2", "%d encoding characters, expected 4 (^~\\&)", len(enc))
	}
	d.Component, d.Repetition = enc[0], enc[1]
	if len(enc) > 2 {
		d.Escape = enc[2]
	}
	if len(enc) > 3 {
		d.Subcomponent = enc[3]
	}
	seen := map[byte]bool{}
	for _, c := range append([]byte{d.Field}, enc...) {
		if c <= ' ' || c > '~' || seen[c] || isAlnum(c) {
			return nil, vigie.Invalid("MSH-2", "encoding characters %q: each must be a distinct printable non-alphanumeric character", string(enc))
		}
		seen[c] = true
	}
	// The character set is read before decoding: MSH-18 is ASCII.
	first := b
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		first = b[:i]
	}
	if f := bytes.Split(first, []byte{d.Field}); len(f) > 17 {
		cs := string(f[17])
		if i := strings.IndexByte(cs, d.Repetition); i >= 0 {
			cs = cs[:i] // the first repetition is the default character set
		}
		m.Charset = strings.TrimSpace(cs)
	}
	text, err := decode(b, m.Charset)
	if err != nil {
		return nil, err
	}
	for line := range strings.FieldsFuncSeq(text, func(r rune) bool { return r == '\r' || r == '\n' }) {
		if strings.TrimSpace(line) == "" {
			continue
		}
		fields := strings.Split(line, string(d.Field))
		name := fields[0]
		if !segmentName(name) {
			return nil, vigie.Invalid(fmt.Sprintf("segment %d", len(m.Segments)+1), "%q is not a segment name (three capital letters or digits)", clip(name))
		}
		if name == "MSH" {
			// MSH-1 is the separator itself: shift so that field n is MSH-n.
			fields = append([]string{"MSH", string(d.Field)}, fields[1:]...)
		}
		m.Segments = append(m.Segments, Segment{Name: name, fields: fields, d: d})
	}
	if m.Segments[0].Name != "MSH" {
		return nil, vigie.Invalid("MSH", "the message does not start with an MSH segment")
	}
	return m, nil
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

func segmentName(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := range 3 {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// clip shortens a value quoted in an error.
func clip(s string) string {
	if len(s) > 20 {
		s = s[:20] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

// decode turns the message's bytes into UTF-8 text per MSH-18.
func decode(b []byte, charset string) (string, error) {
	switch strings.ToUpper(charset) {
	case "UNICODE UTF-8", "UTF-8", "UNICODE":
		if !utf8.Valid(b) {
			return "", vigie.Invalid("MSH-18", "the message says UNICODE UTF-8 but its bytes are not valid UTF-8")
		}
		return string(b), nil
	case "", "ASCII":
		for _, c := range b {
			if c >= 0x80 {
				return "", vigie.Invalid("MSH-18", "bytes outside ASCII and no character set named (UNICODE UTF-8 or 8859/1 expected)")
			}
		}
		return string(b), nil
	case "8859/1":
		s, err := charmap.ISO8859_1.NewDecoder().Bytes(b)
		return string(s), err
	case "8859/15":
		s, err := charmap.ISO8859_15.NewDecoder().Bytes(b)
		return string(s), err
	}
	return "", vigie.Invalid("MSH-18", "character set %q is not supported (UNICODE UTF-8, 8859/1, 8859/15 or none for ASCII)", clip(charset))
}

// Segment returns the first segment named name, and false when there is none.
func (m *Message) Segment(name string) (Segment, bool) {
	for _, s := range m.Segments {
		if s.Name == name {
			return s, true
		}
	}
	return Segment{}, false
}

// All returns every segment named name, in order.
func (m *Message) All(name string) []Segment {
	var out []Segment
	for _, s := range m.Segments {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// Field returns field n of the segment, raw (escapes kept, repetitions and
// components not split), "" when absent.
func (s Segment) Field(n int) string {
	if n <= 0 || n >= len(s.fields) {
		return ""
	}
	return s.fields[n]
}

// Repetitions returns the repetitions of field n (none when it is empty).
// MSH-2, which holds the repetition character, is one repetition.
func (s Segment) Repetitions(n int) []Rep {
	f := s.Field(n)
	if f == "" {
		return nil
	}
	if s.Name == "MSH" && n <= 2 {
		return []Rep{{raw: f, d: s.d}}
	}
	var out []Rep
	for r := range strings.SplitSeq(f, string(s.d.Repetition)) {
		out = append(out, Rep{raw: r, d: s.d})
	}
	return out
}

// Get returns component comp (from 1) of the first repetition of field n,
// unescaped; comp 0 is the whole first repetition, unescaped.
func (s Segment) Get(n, comp int) string {
	reps := s.Repetitions(n)
	if len(reps) == 0 {
		return ""
	}
	if comp == 0 {
		return reps[0].d.Unescape(reps[0].raw)
	}
	return reps[0].Get(comp, 0)
}

// Rep is one repetition of a field.
type Rep struct {
	raw string
	d   *Delimiters
}

// Get returns subcomponent sub (from 1; 0 for the whole component) of
// component comp (from 1), unescaped, "" when absent.
func (r Rep) Get(comp, sub int) string {
	c := nth(r.raw, r.d.Component, comp)
	if sub > 0 && r.d.Subcomponent != 0 {
		c = nth(c, r.d.Subcomponent, sub)
	}
	return strings.TrimSpace(r.d.Unescape(c))
}

// nth returns the n-th (from 1) piece of s split at sep.
func nth(s string, sep byte, n int) string {
	for i := 1; ; i++ {
		j := strings.IndexByte(s, sep)
		if i == n {
			if j < 0 {
				return s
			}
			return s[:j]
		}
		if j < 0 {
			return ""
		}
		s = s[j+1:]
	}
}

// Unescape replaces the escape sequences of a value: \F\ \S\ \T\ \R\ \E\
// by the delimiters they stand for, \Xhh…\ by the bytes they encode (read
// in the message's character set, already decoded to UTF-8: hex bytes
// that are not UTF-8 are read as Latin-1), and drops the formatting ones
// (\H\ \N\ \.br\ …). A lone escape character is kept as it is.
func (d *Delimiters) Unescape(s string) string {
	if d.Escape == 0 || strings.IndexByte(s, d.Escape) < 0 {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, d.Escape)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i+1:], d.Escape)
		if j < 0 {
			b.WriteString(s[i:])
			return b.String()
		}
		seq := s[i+1 : i+1+j]
		s = s[i+2+j:]
		switch {
		case seq == "F":
			b.WriteByte(d.Field)
		case seq == "S":
			b.WriteByte(d.Component)
		case seq == "T":
			b.WriteByte(d.Subcomponent)
		case seq == "R":
			b.WriteByte(d.Repetition)
		case seq == "E":
			b.WriteByte(d.Escape)
		case len(seq) > 1 && (seq[0] == 'X' || seq[0] == 'x'):
			raw := make([]byte, 0, len(seq)/2)
			for k := 1; k+1 < len(seq); k += 2 {
				v, err := strconv.ParseUint(seq[k:k+2], 16, 8)
				if err != nil {
					raw = nil
					break
				}
				raw = append(raw, byte(v))
			}
			if utf8.Valid(raw) {
				b.Write(raw)
			} else {
				for _, c := range raw {
					b.WriteRune(rune(c))
				}
			}
		case seq == "":
			// "\\" is not an escape: keep both.
			b.WriteByte(d.Escape)
			b.WriteByte(d.Escape)
		default:
			// \H\ \N\ \.br\ \Cxxyy\ \Mxxyyzz\ and unknown ones carry no
			// text of an identity.
		}
	}
}

// Encode writes s with the delimiters it holds escaped, for an ACK.
func (d *Delimiters) Encode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == d.Field:
			b.WriteString(string(d.Escape) + "F" + string(d.Escape))
		case c == d.Component:
			b.WriteString(string(d.Escape) + "S" + string(d.Escape))
		case c == d.Subcomponent && d.Subcomponent != 0:
			b.WriteString(string(d.Escape) + "T" + string(d.Escape))
		case c == d.Repetition:
			b.WriteString(string(d.Escape) + "R" + string(d.Escape))
		case c == d.Escape && d.Escape != 0:
			b.WriteString(string(d.Escape) + "E" + string(d.Escape))
		case c == '\r' || c == '\n':
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
