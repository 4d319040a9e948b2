package matcher

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"vigie"
)

// The text rule. Every text trait of a record that reaches the patient
// index, whatever the door (the API, the identity CSV import, DICOM files),
// goes through Clean before it is prepared or stored:
//
//   - it must be valid UTF-8, or it is refused;
//   - white space of any kind (tab, line feed, carriage return, no-break
//     space, the Unicode spaces and line separators) becomes a plain space;
//   - the invisible characters that carry no letter and are routinely pasted
//     in from word processors and web pages (zero-width space, non-joiner
//     and joiner, word joiner, a byte-order mark inside the text, soft
//     hyphen) are removed;
//   - any other control character (C0 and C1: NUL, BEL, ESC, DEL...) is
//     refused;
//   - any other formatting character (Unicode category Cf), first of all
//     the bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E,
//     U+2066–U+2069), is refused: they change how a name is displayed
//     without changing its letters, which is how a name is disguised;
//   - characters that are not printable (private use, unassigned code
//     points) are refused;
//   - the text is put in Unicode Normalization Form C (JOSE + U+0301 is
//     stored as JOSÉ);
//   - after NFC, more than MaxCombiningMarks combining marks on one base
//     character are refused (no script needs more; stacks of them are a
//     display attack);
//   - it must then fit its bound (vigie.Limits), counted in characters.
//
// Identifiers (authority, local id) are keys: they are checked by the same
// rule but never changed; one the rule would change (by removing a
// character or by NFC) is refused. A refusal is an EINVALID error naming
// the field and the reason (the code point and its position, never the
// value).

// MaxCombiningMarks bounds the combining marks on one base character after
// NFC: Vietnamese needs two (ệ is one composed character anyway).
const MaxCombiningMarks = 2

// removed are the invisible characters Clean drops.
var removed = map[rune]bool{
	'\u200B': true, // zero-width space
	'\u200C': true, // zero-width non-joiner
	'\u200D': true, // zero-width joiner
	'\u2060': true, // word joiner
	'\uFEFF': true, // byte-order mark, zero-width no-break space
	'\u00AD': true, // soft hyphen
}

// isBidi reports whether r is a bidirectional control.
func isBidi(r rune) bool {
	return r == '\u061C' || r == '\u200E' || r == '\u200F' ||
		(r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069')
}

// CleanText applies the text rule to the value of one field and returns the
// value to store: at most max characters (or bytes, for a key) once clean.
func CleanText(field, s string, max int) (string, error) {
	return cleanText(field, s, max, false)
}

// checkKeyText applies the text rule to an identifier, which it must leave
// unchanged, and its bound in bytes.
func checkKeyText(field, s string, maxBytes int) error {
	if len(s) > maxBytes {
		return tooLong(field, maxBytes, "bytes")
	}
	clean, err := cleanText(field, s, maxBytes, true)
	if err != nil {
		return err
	}
	if clean != s {
		return vigie.Invalid(field, "holds invisible characters, white space other than a plain space, or is not in Unicode NFC: an identifier is stored as sent, so it must be sent clean")
	}
	return nil
}

func tooLong(field string, max int, unit string) error {
	return vigie.Invalid(field, "longer than %d %s (the limit)", max, unit)
}

func cleanText(field, s string, max int, key bool) (string, error) {
	unit := "characters"
	if key {
		unit = "bytes"
	}
	// No character takes more than 4 bytes, and a kept character carries
	// at most MaxCombiningMarks marks: past this many bytes the value
	// cannot fit, and a megabyte is refused before it is read twice.
	if len(s) > 4*(1+MaxCombiningMarks)*max {
		return "", tooLong(field, max, unit)
	}
	printableASCII := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			printableASCII = false
			break
		}
	}
	if printableASCII { // the usual case: nothing to clean
		if len(s) > max {
			return "", tooLong(field, max, unit)
		}
		return s, nil
	}
	if !utf8.ValidString(s) {
		i := 0
		for i < len(s) {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			i += size
		}
		return "", vigie.Invalid(field, "is not valid UTF-8 (byte %d is 0x%02X): send UTF-8", i+1, s[i])
	}
	var b strings.Builder
	b.Grow(len(s))
	pos := 0
	for _, r := range s {
		pos++
		switch {
		case r == ' ':
			b.WriteByte(' ')
		case unicode.IsSpace(r):
			b.WriteByte(' ')
		case unicode.IsControl(r):
			return "", vigie.Invalid(field, "holds the control character U+%04X (character %d): control characters are refused", r, pos)
		case removed[r]:
			// invisible: dropped
		case isBidi(r):
			return "", vigie.Invalid(field, "holds the bidirectional control U+%04X (character %d): it changes how the text is displayed, and is refused", r, pos)
		case unicode.Is(unicode.Cf, r):
			return "", vigie.Invalid(field, "holds the invisible formatting character U+%04X (character %d), refused", r, pos)
		case !unicode.IsGraphic(r):
			return "", vigie.Invalid(field, "holds U+%04X (character %d), which is not a printable character", r, pos)
		default:
			b.WriteRune(r)
		}
	}
	out := b.String()
	if !norm.NFC.IsNormalString(out) {
		out = norm.NFC.String(out)
	}
	chars, marks := 0, 0
	for _, r := range out {
		chars++
		if !unicode.Is(unicode.M, r) {
			marks = 0
			continue
		}
		if marks++; marks > MaxCombiningMarks {
			return "", vigie.Invalid(field, "holds more than %d combining marks on one character (character %d): refused", MaxCombiningMarks, chars)
		}
	}
	if key {
		chars = len(out)
	}
	if chars > max {
		return "", tooLong(field, max, unit)
	}
	return out, nil
}

// Clean is the door of the patient index: it applies the text rule (see
// above) to every text trait of r and its bound from vigie.Limits, in
// place, and refuses a birth date in the future. It stops at the first
// refusal, an EINVALID error naming the field; r is then partly cleaned
// and must not be stored. Clean leaves the content alone otherwise: an
// unreadable birth date, for one, is Prepare's to flag (Prepared.DateInvalid).
// The e-mail is the exception: it is stored in its normal form
// (NormaliseEmail: trimmed, lower-case), a malformed one kept as sent.
func Clean(r *vigie.Record) error {
	return cleanAt(r, time.Now())
}

func cleanAt(r *vigie.Record, now time.Time) error {
	if err := checkKeyText("authority", r.Authority, vigie.MaxKeyBytes); err != nil {
		return err
	}
	if err := checkKeyText("local_id", r.LocalID, vigie.MaxKeyBytes); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{
		{"ins", &r.INS, vigie.MaxINSChars},
		{"ins_oid", &r.INSOID, vigie.MaxOIDChars},
		{"status", &r.Status, vigie.MaxCodeChars},
		{"birth_name", &r.BirthName, vigie.MaxNameChars},
		{"used_name", &r.UsedName, vigie.MaxNameChars},
		{"first_names", &r.FirstNames, vigie.MaxFirstNamesChars},
		{"first_name", &r.FirstName, vigie.MaxNameChars},
		{"birth_date", &r.BirthDate, vigie.MaxCodeChars},
		{"sex", &r.Sex, vigie.MaxCodeChars},
		{"birth_place", &r.BirthPlace, vigie.MaxCodeChars},
		{"postal_code", &r.PostalCode, vigie.MaxCodeChars},
		{"city", &r.City, vigie.MaxCityChars},
		{"address", &r.Address, vigie.MaxAddressChars},
		{"phone", &r.Phone, vigie.MaxPhoneChars},
		{"email", &r.Email, vigie.MaxEmailChars},
	} {
		v, err := CleanText(f.name, *f.v, f.max)
		if err != nil {
			return err
		}
		*f.v = v
	}
	if len(r.Attributes) > vigie.MaxAttributes {
		return vigie.Invalid("attributes", "more than %d entries (the limit)", vigie.MaxAttributes)
	}
	for i, a := range r.Attributes {
		v, err := CleanText("attributes", a, vigie.MaxCodeChars)
		if err != nil {
			return err
		}
		r.Attributes[i] = v
	}
	r.Email = NormaliseEmail(r.Email)
	return checkNotFuture(r.BirthDate, now)
}

// checkNotFuture refuses a birth date after today (a day of margin for the
// time zones of the overseas regions). A date that cannot be read is not
// refused here, but one whose year alone is readable and in the future is.
func checkNotFuture(s string, now time.Time) error {
	y, m, d, ok := dateParts(strings.TrimSpace(s))
	if !ok || y == 0 {
		return nil
	}
	limit := now.AddDate(0, 0, 1)
	ly, lm, ld := limit.Year(), int(limit.Month()), limit.Day()
	future := y > ly ||
		y == ly && m > lm && m <= 12 ||
		y == ly && m == lm && d > ld && d <= 31
	if future {
		return vigie.Invalid("birth_date", "%s is in the future", fmt.Sprintf("%04d-%02d-%02d", y, m, d))
	}
	return nil
}

// Admit is what every door calls for a record: Clean, then Prepare. The
// record is changed in place to the form to store.
func Admit(r *vigie.Record) (*Prepared, error) {
	if err := Clean(r); err != nil {
		return nil, err
	}
	return Prepare(r)
}
