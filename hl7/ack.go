package hl7

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding/charmap"
)

// Acknowledgement codes (MSA-1, original mode).
const (
	AA = "AA" // applied
	AE = "AE" // refused: the content is in error
	AR = "AR" // rejected: the message itself is not taken (sender, type, MSH)
)

// Ack builds the acknowledgement of m (nil when the message could not even
// be read: the ACK then names no control id) with the given code; ref,
// when set, becomes an ERR segment (ERR-2 location, ERR-3 code, ERR-4
// severity, ERR-8 reason) and MSA-3's text. text is MSA-3 for an AA. The
// ACK is encoded in the character set of m, so that the sender reads it as
// it reads its own messages.
func Ack(m *Message, code string, ref *Refusal, text string, now time.Time) []byte {
	d := Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\', Subcomponent: '&'}
	var h Header
	charset := "UNICODE UTF-8"
	if m != nil {
		d, h = m.Delims, ReadHeader(m)
		// A message with fewer than four encoding characters gets an
		// ACK with all four, picked among the ones it does not use.
		for _, p := range []*byte{&d.Escape, &d.Subcomponent} {
			for _, c := range []byte(`\&#!@$%*`) {
				if *p != 0 {
					break
				}
				if c != d.Field && c != d.Component && c != d.Repetition && c != d.Escape && c != d.Subcomponent {
					*p = c
				}
			}
		}
		charset = m.Charset
	}
	f, c := string(d.Field), string(d.Component)
	e := d.Encode
	version := h.Version
	if version == "" {
		version = "2.5"
	}
	msh := []string{"MSH", string([]byte{d.Component, d.Repetition, d.Escape, d.Subcomponent}),
		e(h.ReceivingApp), e(h.ReceivingFac), e(h.SendingApp), e(h.SendingFacility),
		now.UTC().Format("20060102150405"), "",
		"ACK" + c + e(h.Event) + c + "ACK",
		e(ackControlID(h.ControlID, now)), "P", e(version), "", "", "", "", "", e(charset)}
	var b strings.Builder
	b.WriteString(strings.Join(msh, f))
	b.WriteByte('\r')
	msaText := text
	if ref != nil {
		msaText = ref.Error()
	}
	if len(msaText) > 320 {
		msaText = strings.ToValidUTF8(msaText[:320], "")
	}
	b.WriteString(strings.Join([]string{"MSA", code, e(h.ControlID), e(msaText)}, f))
	b.WriteByte('\r')
	if ref != nil {
		loc := ""
		if ref.At.Segment != "" {
			loc = strings.Join([]string{ref.At.Segment, strconv.Itoa(max(ref.At.Seq, 1)), optInt(ref.At.Field), "", optInt(ref.At.Component)}, c)
			loc = strings.TrimRight(loc, c)
		}
		code := ref.Code
		if code == 0 {
			code = 207
		}
		severity := "E"
		b.WriteString(strings.Join([]string{"ERR", "", loc, strconv.Itoa(code) + c + e(codeText(code)) + c + "HL70357", severity, "", "", "", e(ref.Reason)}, f))
		b.WriteByte('\r')
	}
	out := []byte(b.String())
	switch strings.ToUpper(charset) {
	case "8859/1":
		if enc, err := charmap.ISO8859_1.NewEncoder().Bytes(out); err == nil {
			return enc
		}
		return []byte(strings.Map(ascii, b.String()))
	case "8859/15":
		if enc, err := charmap.ISO8859_15.NewEncoder().Bytes(out); err == nil {
			return enc
		}
		return []byte(strings.Map(ascii, b.String()))
	case "", "ASCII":
		return []byte(strings.Map(ascii, b.String()))
	}
	return out
}

func ascii(r rune) rune {
	if r >= 0x80 {
		return '?'
	}
	return r
}

func optInt(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// ackControlID is the ACK's own MSH-10: derived from the message's, so
// that a replayed ACK is the same ACK.
func ackControlID(id string, now time.Time) string {
	if id == "" {
		return fmt.Sprintf("ACK%d", now.UnixNano())
	}
	return "ACK" + id
}

// codeText is the meaning of an HL7 error code (table 0357).
func codeText(code int) string {
	switch code {
	case 100:
		return "Segment sequence error"
	case 101:
		return "Required field missing"
	case 102:
		return "Data type error"
	case 103:
		return "Table value not found"
	case 200:
		return "Unsupported message type"
	case 201:
		return "Unsupported event code"
	case 202:
		return "Unsupported processing id"
	case 203:
		return "Unsupported version id"
	case 204:
		return "Unknown key identifier"
	case 205:
		return "Duplicate key identifier"
	case 206:
		return "Application record locked"
	}
	return "Application internal error"
}
