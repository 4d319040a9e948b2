package matcher

import "strings"

// Name is the comparison form of one name field (a family name or a first
// name), computed once by ParseName.
type Name struct {
	Folded    string   // "DE LA FONTAINE"
	Tokens    []string // every token: DE, LA, FONTAINE
	Core      []string // tokens without particles: FONTAINE (all tokens when all are particles)
	Glued     string   // letters only: DELAFONTAINE
	CoreGlued string   // core letters only: FONTAINE

	// Phonetic keys of CoreGlued: French Soundex2 and Phonex, and
	// matchr's Double Metaphone (primary and alternate).
	Soundex2, Phonex, Metaphone, Metaphone2 string

	// Placeholder is set for values that are not evidence of anything
	// (X, INCONNU, ANONYME, NN, BEBE…): comparators treat them as missing.
	Placeholder bool
}

// Empty reports whether the name carries no evidence: absent or placeholder.
func (n *Name) Empty() bool { return n.Glued == "" || n.Placeholder }

// particles are the name particles of French and of the languages common in
// the region's population. They are kept as tokens and also stripped for the
// particle-insensitive forms.
var particles = map[string]bool{
	"DE": true, "DU": true, "DES": true, "LA": true, "LE": true, "LES": true,
	"D": true, "L": true, "DEL": true, "DELLA": true, "DELLE": true, "DI": true,
	"DA": true, "DAS": true, "DO": true, "DOS": true, "VAN": true, "VON": true,
	"DER": true, "DEN": true, "TER": true, "TEN": true, "VOM": true, "ZU": true,
	"EL": true, "AL": true, "BEN": true, "BIN": true, "IBN": true, "AIT": true,
	"Y": true,
}

// placeholderNames are values typed when the name is unknown; they must
// never count as agreement.
var placeholderNames = map[string]bool{
	"X": true, "XX": true, "XXX": true, "XXXX": true, "XXXXX": true, "XY": true,
	"INCONNU": true, "INCONNUE": true, "INCONNUS": true, "ANONYME": true,
	"ANONYMOUS": true, "UNKNOWN": true, "NN": true, "NONNOMME": true, "NONNOMMEE": true,
	"SANSNOM": true, "SANSPRENOM": true, "NOM": true, "PRENOM": true, "AUCUN": true,
	"PATIENT": true, "PATIENTE": true, "TEST": true, "ESSAI": true, "FICTIF": true,
	"BEBE": true, "BB": true, "NOUVEAUNE": true, "NOUVEAUNEE": true, "NNE": true,
	"FILLE": true, "GARCON": true, "JUMEAU": true, "JUMELLE": true, "XNOM": true,
	"ZZZ": true, "ABC": true, "NR": true, "NC": true, "ND": true,
}

// IsPlaceholderName reports whether a folded name is a placeholder value.
func IsPlaceholderName(folded string) bool {
	g := Letters(folded)
	if placeholderNames[g] {
		return true
	}
	// BEBE DE MARTIN, NOUVEAU NE 1, X 2: a placeholder followed by anything.
	if i := strings.IndexByte(folded, ' '); i > 0 && placeholderNames[Letters(folded[:i])] {
		switch Letters(folded[:i]) {
		case "BEBE", "BB", "NOUVEAUNE", "NOUVEAUNEE", "JUMEAU", "JUMELLE", "X", "XX", "XXX":
			return true
		}
	}
	return false
}

// ParseName folds a name field and splits it into tokens (on spaces, hyphens
// and apostrophes), particle-free core tokens and glued forms.
//
// Only the first MaxRawNameBytes of raw are folded, and the name is cut
// after MaxNameBytes folded bytes or MaxNameTokens tokens (see bounds.go).
func ParseName(raw string) Name {
	f := Fold(clip(raw, MaxRawNameBytes))
	return parseFolded(f)
}

// parseFolded parses a folded name, cut to its first MaxNameBytes bytes
// and MaxNameTokens tokens.
func parseFolded(f string) Name {
	f = strings.TrimRight(clip(f, MaxNameBytes), " ")
	n := Name{Folded: f}
	if f == "" {
		return n
	}
	n.Tokens = nameTokens(f)
	if len(n.Tokens) > MaxNameTokens {
		n.Tokens = n.Tokens[:MaxNameTokens]
	}
	n.Glued = Letters(f)
	for _, t := range n.Tokens {
		if !particles[t] {
			n.Core = append(n.Core, t)
		}
	}
	if len(n.Core) == 0 {
		n.Core = n.Tokens
	}
	if len(n.Core) == len(n.Tokens) {
		n.CoreGlued = n.Glued
	} else {
		n.CoreGlued = Letters(strings.Join(n.Core, ""))
	}
	n.Placeholder = IsPlaceholderName(f)
	return n
}

// nameTokens splits a folded name on spaces, hyphens and apostrophes.
func nameTokens(f string) []string {
	return strings.FieldsFunc(f, func(r rune) bool { return r == ' ' || r == '-' || r == '\'' })
}

// Marital markers found inside name fields. "DUPONT EPOUSE MARTIN" carries a
// birth name and a name in use; "MARTIN NEE DUPONT" the other way round.
var (
	spouseMarkers = map[string]bool{"EPOUSE": true, "EP": true, "EPSE": true, "EPX": true,
		"EPOUX": true, "VEUVE": true, "VVE": true, "VEUF": true, "DIVORCEE": true, "DIV": true,
		"EPOUSEE": true}
	bornMarkers = map[string]bool{"NEE": true, "NE": true}
)

// SplitMarital splits a folded name field holding a marital pattern into the
// birth name and the name in use. ok is false when no marker is present, in
// which case the field is returned as is in birth.
//
// Its work is linear in the field: the two sides are joined once, when a
// marker is found.
func SplitMarital(folded string) (birth, used string, ok bool) {
	toks := strings.Fields(folded)
	for i, t := range toks {
		t = strings.TrimRight(t, ".")
		spouse, born := spouseMarkers[t], bornMarkers[t] && i+1 < len(toks)
		if !spouse && !born {
			continue
		}
		left := strings.Join(toks[:i], " ")
		right := strings.Join(toks[i+1:], " ")
		switch {
		case spouse:
			return left, right, true
		case i > 0:
			return right, left, true
		default:
			return right, "", true
		}
	}
	return folded, "", false
}

// particlePrefixMatch reports whether glued equals one or more particles
// followed by core (DELAFONTAINE = DE+LA+FONTAINE), the form a system that
// drops spaces gives to a particle name.
func particlePrefixMatch(glued, core string) bool {
	if len(core) < 3 || len(glued) <= len(core) || !strings.HasSuffix(glued, core) {
		return false
	}
	return isParticleChain(glued[:len(glued)-len(core)])
}

// isParticleChain reports whether s is one or more particles glued
// together. A particle may end where another starts in several ways (DEL,
// DE+L, D+EL), so trying them recursively is exponential in the length of
// s when it fails near the end: the positions a chain can reach are
// marked instead, left to right, in O(5·len(s)).
func isParticleChain(s string) bool {
	if s == "" {
		return true
	}
	var small [MaxNameBytes + 1]bool
	reach := small[:]
	if len(s) >= len(small) {
		reach = make([]bool, len(s)+1)
	}
	reach[0] = true
	for i := 0; i < len(s); i++ {
		if !reach[i] {
			continue
		}
		for l := 1; l <= 5 && i+l <= len(s); l++ {
			if particles[s[i:i+l]] {
				reach[i+l] = true
			}
		}
	}
	return reach[len(s)]
}
