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
func ParseName(raw string) Name {
	f := Fold(raw)
	return parseFolded(f)
}

func parseFolded(f string) Name {
	n := Name{Folded: f}
	if f == "" {
		return n
	}
	n.Tokens = strings.FieldsFunc(f, func(r rune) bool { return r == ' ' || r == '-' || r == '\'' })
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
func SplitMarital(folded string) (birth, used string, ok bool) {
	toks := strings.Fields(folded)
	for i, t := range toks {
		t = strings.TrimRight(t, ".")
		left := strings.Join(toks[:i], " ")
		right := strings.Join(toks[i+1:], " ")
		switch {
		case spouseMarkers[t]:
			return left, right, true
		case bornMarkers[t] && i > 0 && right != "":
			return right, left, true
		case bornMarkers[t] && i == 0 && right != "":
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

func isParticleChain(s string) bool {
	if s == "" {
		return true
	}
	for l := min(len(s), 5); l >= 1; l-- {
		if particles[s[:l]] && isParticleChain(s[l:]) {
			return true
		}
	}
	return false
}
