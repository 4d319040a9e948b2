package matcher

import "unicode/utf8"

// Bounds of the work done on one value. The doors (the API, the feeds)
// refuse oversized values, but a store may already hold some, written
// before they did, and a query reaches the matcher from several places:
// the matcher itself keeps every algorithm on a value linear or bounded in
// its size whatever it is given (defence in depth). The bounds are far
// above any real name or address, so that they never change the outcome
// for a real record; past them, the comparison form is built from the
// value's start and the rest is ignored (the stored value is never
// changed).
const (
	// MaxNameBytes is the most bytes of a folded name field (family name,
	// name in use, one first name) its comparison form is built from. The
	// longest French compound names fold to fewer than 60 bytes; tokens,
	// glued forms, phonetic keys, explanations and Jaro-Winkler (whose
	// cost grows with the product of the two lengths) all work on this
	// prefix.
	MaxNameBytes = 128
	// MaxRawNameBytes is the most bytes of a raw name field folded (Fold
	// and the marital patterns' split run on it before MaxNameBytes
	// applies): room for accents (two bytes for one folded letter) and
	// an ÉPOUSE pattern holding two names.
	MaxRawNameBytes = 4 * MaxNameBytes
	// MaxNameTokens is the most tokens (words split on spaces, hyphens
	// and apostrophes) of one name field kept: token comparisons
	// (tokenSubset, compound first names) are quadratic in them.
	MaxNameTokens = 12
	// MaxFirstNames is the most birth first names of a record kept (the
	// list compared name by name with the other record's).
	MaxFirstNames = 10
	// MaxPhoneticLetters is the most letters Soundex2, Phonex and Double
	// Metaphone encode: their passes are linear, but a key of a longer
	// input tells nothing more.
	MaxPhoneticLetters = 64
	// MaxAddressBytes is the most bytes of an address line (and of a
	// city) compared, Jaro-Winkler included.
	MaxAddressBytes = 256
)

// clip returns the longest prefix of s of at most n bytes that does not
// cut a UTF-8 sequence in two.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && i > n-utf8.UTFMax && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
