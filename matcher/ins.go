package matcher

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"vigie"
)

// OIDs of the national identifier's assigning authorities. The OID, not the
// number, tells a NIR from an NIA: both share the same format and key.
const (
	OIDINSNIR     = "1.2.250.1.213.1.4.8"  // INS-NIR: the social-security number
	OIDINSNIA     = "1.2.250.1.213.1.4.9"  // INS-NIA: number given while awaiting a NIR
	OIDINSNIRTest = "1.2.250.1.213.1.4.10" // INS-NIR of test identities
	OIDINSNIRDemo = "1.2.250.1.213.1.4.11" // INS-NIR of demonstration identities
	OIDINSC       = "1.2.250.1.213.1.4.2"  // legacy INS-C (computed hash), rejected by ParseINS
)

// INS is a validated national health identifier: a matricule (NIR or NIA)
// and the OID of its assigning authority. Obtain it from ParseINS; the
// accessors return zero values on an INS that did not come from ParseINS.
type INS struct {
	Number string // 15 characters, as validated (upper case, spaces and dots removed)
	OID    string // one of the OIDs above, without "urn:oid:" ("" when the caller gave none: treated as NIR)
}

// ParseINS validates a matricule and its OID and returns the INS.
//
// The number must have 15 characters: digits, except 2A or 2B (Corsica) at
// positions 6–7, a first digit that is a sex code (1, 2; 3, 4, 7, 8 for a
// temporary number) and a key that matches (see INSKey). Spaces and dots
// inside it are tolerated and removed, and a lower-case a/b is accepted in
// the Corsica position (2a, 2b). The month is not range-checked. The OID may
// carry the FHIR "urn:oid:" prefix; it is stored without it. An empty OID is
// accepted and treated as INS-NIR, since feeds often omit it.
//
// The legacy INS-C (OID 1.2.250.1.213.1.4.2) is rejected: it is a 22-digit
// hash of the identity traits, not a matricule, and is no longer accepted as
// an INS, so it must never be used to link records.
//
// Errors are *vigie.Error with code EINVALID and field "ins" (or "ins_oid"
// for an OID that is not an INS authority); the message says why, and for a
// wrong key names the key expected, e.g.
// "ins: key 80 does not match the number (expected 26)".
func ParseINS(number, oid string) (INS, error) {
	oid = strings.TrimSpace(oid)
	oid = strings.TrimPrefix(oid, "urn:oid:")
	switch oid {
	case "", OIDINSNIR, OIDINSNIA, OIDINSNIRTest, OIDINSNIRDemo:
	case OIDINSC:
		return INS{}, vigie.Invalid("ins_oid", "INS-C (OID %s) is no longer accepted as an INS: give the NIR or NIA matricule", OIDINSC)
	default:
		return INS{}, vigie.Invalid("ins_oid", "OID %q is not an INS authority (expected %s for a NIR or %s for an NIA)", oid, OIDINSNIR, OIDINSNIA)
	}

	n := insNormalize(number)
	if err := insCheck(n, 15); err != nil {
		return INS{}, err
	}
	if want := insKey(n[:13]); int(n[13]-'0')*10+int(n[14]-'0') != want {
		return INS{}, vigie.Invalid("ins", "key %s does not match the number (expected %02d)", n[13:], want)
	}
	return INS{Number: n, OID: oid}, nil
}

// INSKey returns the expected 2-digit key of a 13-character matricule body:
// 97 − (N mod 97), where N is the body read as an integer after replacing
// the Corsica département 2A by 19 and 2B by 18. Spaces, dots and a
// lower-case a/b are tolerated as in ParseINS. It is meant for tools that
// build or repair numbers; validation is ParseINS's job.
func INSKey(body string) (string, error) {
	b := insNormalize(body)
	if err := insCheck(b, 13); err != nil {
		return "", err
	}
	return fmt.Sprintf("%02d", insKey(b)), nil
}

// Sex returns 'M' or 'F' as read from the first digit (odd: male, even:
// female; this holds for temporary numbers too), to compare with an HL7
// PID-8 or FHIR gender. It returns 0 on an INS not built by ParseINS.
func (i INS) Sex() byte {
	if len(i.Number) != 15 {
		return 0
	}
	if (i.Number[0]-'0')%2 == 1 {
		return 'M'
	}
	return 'F'
}

// IsTemporary reports whether the number is a temporary one (first digit 3,
// 4, 7 or 8) rather than a definitive registration (1 or 2). A temporary
// number may later be replaced by another one for the same person.
func (i INS) IsTemporary() bool {
	return len(i.Number) == 15 && i.Number[0] != '1' && i.Number[0] != '2'
}

// BirthYear2 returns the last two digits of the birth year (0–99); the
// century is not in the number, so compare it with the birth year mod 100.
func (i INS) BirthYear2() int {
	return i.insDigits(1, 3)
}

// BirthMonth returns the birth month as written (positions 4–5). It is not
// range-checked: when the civil record is incomplete it may be 20–30 or 50
// and above, so a value outside 1–12 means "unknown month", not an error.
func (i INS) BirthMonth() int {
	return i.insDigits(3, 5)
}

// BirthPlace returns the 5-character birthplace code (positions 6–10), in
// the form of the INS trait and of HL7 PID-11 BDL: an INSEE COG commune code
// such as "33063", "2A004" or "97411", or "99" followed by the INSEE country
// code ("99134") for a birth abroad. The layout varies (overseas
// départements have 3 digits and communes 2) but the 5 characters read
// together are the COG code in every case.
func (i INS) BirthPlace() string {
	if len(i.Number) != 15 {
		return ""
	}
	return i.Number[5:10]
}

// BirthDepartement returns the birth département: 2 characters ("33",
// "2A", "99" for abroad), or 3 for overseas ("971"…"976", and the 98x
// collectivities as in the COG). Useful to score a partial birthplace
// agreement when communes were merged or mistyped.
func (i INS) BirthDepartement() string {
	if len(i.Number) != 15 {
		return ""
	}
	if d := i.Number[5:7]; d == "97" || d == "98" {
		return i.Number[5:8]
	}
	return i.Number[5:7]
}

// IsNIA reports whether the number was assigned as an NIA (a number given to
// a person awaiting a NIR). Only the OID tells; an empty OID counts as NIR.
func (i INS) IsNIA() bool {
	return i.OID == OIDINSNIA
}

// IsTest reports whether the INS comes from the test or demonstration
// authority: such identities are fictitious and must not be linked to real
// patients.
func (i INS) IsTest() bool {
	return i.OID == OIDINSNIRTest || i.OID == OIDINSNIRDemo
}

// insDigits reads Number[from:to] as a decimal number, 0 when unavailable.
func (i INS) insDigits(from, to int) int {
	if len(i.Number) != 15 {
		return 0
	}
	v := 0
	for _, c := range []byte(i.Number[from:to]) {
		v = v*10 + int(c-'0')
	}
	return v
}

// insNormalize trims the number, removes the spaces and dots tolerated
// inside it and upper-cases a and b (Corsica). Other characters are left
// as given so that error messages show them.
func insNormalize(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, " .ab") {
		return s
	}
	var sb strings.Builder
	sb.Grow(len(s))
	for _, r := range s {
		switch r {
		case ' ', '.':
		case 'a', 'b':
			sb.WriteRune(r - 'a' + 'A')
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// insCheck checks that s has n characters, all ASCII digits except 2A or 2B
// at positions 6–7, and a first digit that is a sex code.
func insCheck(s string, n int) *vigie.Error {
	if s == "" {
		return vigie.Invalid("ins", "missing (%d characters expected)", n)
	}
	if c := utf8.RuneCountInString(s); c != n {
		return vigie.Invalid("ins", "must have %d characters (spaces and dots aside), found %d", n, c)
	}
	pos := 0
	for _, r := range s { // 1-based position, counted in characters
		pos++
		if r >= '0' && r <= '9' {
			continue
		}
		if r == 'A' || r == 'B' {
			if pos == 7 && s[5] == '2' {
				continue
			}
			return vigie.Invalid("ins", "%q at position %d: A or B is only allowed at position 7, after a 2 (Corsica 2A, 2B)", r, pos)
		}
		return vigie.Invalid("ins", "%s at position %d is not a digit", insQuote(r), pos)
	}
	switch s[0] {
	case '1', '2', '3', '4', '7', '8':
	default:
		return vigie.Invalid("ins", "first digit %c is not a sex code (1 or 2; 3, 4, 7 or 8 for a temporary number)", s[0])
	}
	return nil
}

// insQuote shows a rejected character, including invisible ones.
func insQuote(r rune) string {
	if r == utf8.RuneError {
		return "invalid UTF-8"
	}
	return fmt.Sprintf("%q", r)
}

// insKey computes the key (1–97) of a checked 13-character body. Corsica
// counts as 19 (2A) and 18 (2B); replacing A/B by 0 is a known wrong
// implementation. 13 digits fit in a uint64.
func insKey(body string) int {
	hi, lo := body[5], body[6]
	switch lo {
	case 'A':
		hi, lo = '1', '9'
	case 'B':
		hi, lo = '1', '8'
	}
	var v uint64
	for k := 0; k < len(body); k++ {
		c := body[k]
		switch k {
		case 5:
			c = hi
		case 6:
			c = lo
		}
		v = v*10 + uint64(c-'0')
	}
	return int(97 - v%97)
}

// InvalidINS returns why a record's INS fails its checks (an EINVALID
// error naming the field), or nil when it has none or a valid one. Prepare
// keeps such a number verbatim in the record and does not use it as
// evidence: the caller reports it.
func InvalidINS(r *vigie.Record) error {
	if strings.TrimSpace(r.INS) == "" {
		return nil
	}
	_, err := ParseINS(r.INS, strings.TrimSpace(r.INSOID))
	return err
}
