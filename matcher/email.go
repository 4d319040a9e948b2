package matcher

import (
	"net/mail"
	"strings"

	"github.com/antzucaro/matchr"

	"vigie"
)

// E-mail addresses. A hospital's identity feed carries the patient's
// e-mail in HL7 PID-13 (use code NET), FHIR Patient.telecom (system
// email) or a CSV column; it is very often a parent's, a spouse's or a
// family's shared address. Like the phone, it says that two records are
// connected, not that they are one person: its comparison is a field of
// its own whose weight the household cap (see Model.householdCapped)
// also sets to zero where first names or birth dates differ.

// Email levels.
const (
	EmailSame      Level = 0 // same address
	EmailNear      Level = 1 // a keystroke or two apart, or the same local part at another domain
	EmailDifferent Level = 2
)

// NormaliseEmail is the stored form of an e-mail address: trimmed, without
// a mailto: prefix or angle brackets, lower-case. Domains are
// case-insensitive and every large provider treats the local part so too;
// two desks typing one address with different capitals must not make it
// two. Clean applies it; it does not check the address (see ParseEmail).
func NormaliseEmail(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	for { // until nothing is left to strip: each turn shortens s
		t := strings.TrimSpace(strings.TrimPrefix(s, "mailto:"))
		if len(t) >= 2 && t[0] == '<' && t[len(t)-1] == '>' {
			t = strings.TrimSpace(t[1 : len(t)-1])
		}
		if t == s {
			return s
		}
		s = t
	}
}

// ParseEmail checks a normalised address (NormaliseEmail) and returns it,
// or an EINVALID error naming the field: one address, no display name, a
// local part and a domain with a dot. A malformed address is not refused
// by the doors: the record keeps it verbatim and it is no evidence (see
// Prepared.Warnings).
func ParseEmail(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", vigie.Invalid("email", "not an e-mail address (expected name@domain.fr)")
	}
	at := strings.LastIndexByte(s, '@')
	dom := s[at+1:]
	if at <= 0 || !strings.Contains(dom, ".") || strings.HasPrefix(dom, ".") || strings.HasSuffix(dom, ".") {
		return "", vigie.Invalid("email", "not an e-mail address (expected name@domain.fr)")
	}
	return s, nil
}

// compareEmail grades two prepared addresses.
func compareEmail(a, b string) Level {
	if a == "" || b == "" {
		return Null
	}
	if a == b {
		return EmailSame
	}
	la, _, _ := strings.Cut(a, "@")
	lb, _, _ := strings.Cut(b, "@")
	short := min(len(la), len(lb))
	switch {
	case la == lb && short >= 4:
		// The same mailbox name at another provider (jdupont@orange.fr,
		// jdupont@gmail.com): one person's habit, or a family's.
		return EmailNear
	case short >= 4 && matchr.OSA(a, b) <= 1,
		short >= 6 && matchr.OSA(a, b) <= 2:
		// A keystroke or two, in the local part or the domain
		// (maisie.walsh / maiie.walsoh): one address typed twice. A short
		// mailbox name (fj@, h.k@) a slip away is another box.
		return EmailNear
	}
	return EmailDifferent
}

// maskEmail is an address as explanations show it, like the phone's last
// four digits: the first two letters of the local part and the domain
// (ro…@smith.net), enough for staff to see which address, not a copy of it.
func maskEmail(s string) string {
	local, dom, ok := strings.Cut(s, "@")
	if !ok {
		return ""
	}
	if len(local) > 2 {
		local = clip(local, 2) + "…"
	}
	return local + "@" + dom
}
