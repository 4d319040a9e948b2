package synth

import (
	"math"
	"strings"
	"unicode"
)

// accentFold maps accented Latin letters (both cases) to their bare form.
var accentFold = func() map[rune]string {
	m := map[rune]string{}
	add := func(from, to string) {
		for _, r := range from {
			m[r] = to
			if lr := unicode.ToLower(r); lr != r {
				m[lr] = strings.ToLower(to)
			}
		}
	}
	add("ÀÁÂÃÄÅĄĂ", "A")
	add("ÇĆČ", "C")
	add("ÈÉÊËĘĚ", "E")
	add("ÌÍÎÏİ", "I")
	add("ÑŃŇ", "N")
	add("ÒÓÔÕÖØŐ", "O")
	add("ÙÚÛÜŰŮ", "U")
	add("ÝŸ", "Y")
	add("ŞŚŠ", "S")
	add("ĞǦ", "G")
	add("Ł", "L")
	add("ŹŻŽ", "Z")
	add("Ď", "D")
	add("Ř", "R")
	add("Ť", "T")
	add("Æ", "AE")
	add("Œ", "OE")
	m['ß'] = "SS"
	m['ÿ'] = "y"
	m['ı'] = "i"
	return m
}()

func isLetter(r rune) bool { return unicode.IsLetter(r) }

// dropAccents removes diacritics and expands ligatures, keeping case.
func dropAccents(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if f, ok := accentFold[r]; ok {
			b.WriteString(f)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// foldName is the upper-case ASCII form of a name, as INSi returns it.
func foldName(s string) string { return strings.ToUpper(dropAccents(s)) }

// hasAccent reports whether s holds a non-ASCII letter.
func hasAccent(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return true
		}
	}
	return false
}

// titleCase writes each word (after space, hyphen or apostrophe) with an
// upper-case initial: JEAN-PIERRE → Jean-Pierre, D'ALMEIDA → D'Almeida.
func titleCase(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	start := true
	for _, r := range s {
		if start {
			b.WriteRune(unicode.ToUpper(r))
		} else {
			b.WriteRune(unicode.ToLower(r))
		}
		start = r == ' ' || r == '-' || r == '\''
	}
	return b.String()
}

// AZERTY keyboard neighbours of each upper-case letter.
var keyNeighbours = func() map[rune][]rune {
	rows := []string{"AZERTYUIOP", "QSDFGHJKLM", "WXCVBN"}
	offs := []float64{0, 0.3, 0.8}
	type pos struct{ x, y float64 }
	at := map[rune]pos{}
	for y, row := range rows {
		for i, r := range row {
			at[r] = pos{float64(i) + offs[y], float64(y)}
		}
	}
	m := map[rune][]rune{}
	for _, row := range rows {
		for _, a := range row {
			for _, row2 := range rows {
				for _, b := range row2 {
					if a == b {
						continue
					}
					pa, pb := at[a], at[b]
					dy := math.Abs(pa.y - pb.y)
					dx := math.Abs(pa.x - pb.x)
					if (dy == 0 && dx <= 1) || (dy == 1 && dx <= 0.8) {
						m[a] = append(m[a], b)
					}
				}
			}
		}
	}
	return m
}()

// typo makes one keyboard slip in a name: a neighbour key instead of the
// right one, a letter dropped, a letter inserted (neighbour or repeat), or
// two adjacent letters swapped. Only letters are touched and the result
// keeps at least two letters.
func typo(r *rng, s string) string {
	rs := []rune(s)
	var letters []int
	for i, c := range rs {
		if isLetter(c) {
			letters = append(letters, i)
		}
	}
	if len(letters) < 2 {
		return s
	}
	i := letters[r.intn(len(letters))]
	upper := unicode.IsUpper(rs[i])
	neighbour := func(c rune) rune {
		base := []rune(foldName(string(c)))[0]
		ns := keyNeighbours[base]
		if len(ns) == 0 {
			return c
		}
		n := pick(r, ns)
		if !upper {
			n = unicode.ToLower(n)
		}
		return n
	}
	switch r.intn(4) {
	case 0: // substitution
		rs[i] = neighbour(rs[i])
	case 1: // deletion
		if len(letters) <= 2 {
			return s
		}
		rs = append(rs[:i], rs[i+1:]...)
	case 2: // insertion
		ins := rs[i]
		if r.chance(0.6) {
			ins = neighbour(rs[i])
		}
		rs = append(rs[:i+1], append([]rune{ins}, rs[i+1:]...)...)
	default: // transposition with the next letter
		if i+1 < len(rs) && isLetter(rs[i+1]) && rs[i] != rs[i+1] {
			rs[i], rs[i+1] = rs[i+1], rs[i]
		} else if i > 0 && isLetter(rs[i-1]) && rs[i] != rs[i-1] {
			rs[i], rs[i-1] = rs[i-1], rs[i]
		} else {
			rs[i] = neighbour(rs[i])
		}
	}
	return string(rs)
}

// phoneticRules are spellings French speakers confuse. A rule ending in $
// applies only at the end of a word.
var phoneticRules = [][2]string{
	{"EFEBVRE", "EFEVRE"}, {"EFEVRE", "EFEBVRE"}, {"EFÈVRE", "EFEBVRE"},
	{"GAUTHIER", "GAUTIER"}, {"GAUTIER", "GAUTHIER"}, {"THIE", "TIE"}, {"TH", "T"},
	{"PH", "F"}, {"MOHAMED", "MOHAMMED"}, {"MOHAMMED", "MOHAMED"}, {"MOHAMED", "MOHAMAD"},
	{"LL", "L"}, {"NN", "N"}, {"TT", "T"}, {"SS", "S"}, {"RR", "R"}, {"MM", "M"}, {"PP", "P"}, {"FF", "F"},
	{"EAU$", "O"}, {"EAUX$", "O"}, {"AUD$", "AULT"}, {"AULT$", "AUD"}, {"AUD$", "AUT"},
	{"Y", "I"}, {"EN", "AN"}, {"SCH", "CH"}, {"CK", "K"}, {"K", "C"}, {"AE", "E"}, {"CHRIST", "CRIST"},
	{"OSE", "OZE"}, {"ISE", "IZE"}, {"Ç", "SS"}, {"MATHIEU", "MATTHIEU"},
	{"AND$", "ANT"}, {"ANT$", "AND"}, {"ARD$", "ART"}, {"ERT$", "ERD"}, {"AMPS$", "AMP"}, {"OIS$", "OIT"},
}

// doubleable consonants may be doubled between vowels (ROLAND → ROLLAND).
const doubleable = "LNTRMPFS"

func isVowel(r rune) bool {
	return strings.ContainsRune("AEIOUYÉÈÊËÀÂÎÏÔÖÛÜ", unicode.ToUpper(r))
}

// phonetic applies one phonetic misspelling, chosen among the rules that
// apply (or a doubled consonant); s is returned unchanged when none applies.
func phonetic(r *rng, s string) string {
	up := strings.ToUpper(s)
	type cand struct {
		at       int
		from, to string
	}
	var cands []cand
	for _, rule := range phoneticRules {
		from, to := rule[0], rule[1]
		if from == to {
			continue
		}
		if strings.HasSuffix(from, "$") {
			from = from[:len(from)-1]
			for _, w := range wordEnds(up) {
				if strings.HasSuffix(up[:w], from) {
					cands = append(cands, cand{w - len(from), from, to})
				}
			}
			continue
		}
		if i := strings.Index(up, from); i >= 0 {
			cands = append(cands, cand{i, from, to})
		}
	}
	rs := []rune(up)
	for i := 1; i+1 < len(rs); i++ {
		if strings.ContainsRune(doubleable, rs[i]) && isVowel(rs[i-1]) && isVowel(rs[i+1]) {
			b := len(string(rs[:i]))
			cands = append(cands, cand{b, string(rs[i]), string(rs[i]) + string(rs[i])})
		}
	}
	if len(cands) == 0 {
		return s
	}
	c := cands[r.intn(len(cands))]
	out := up[:c.at] + c.to + up[c.at+len(c.from):]
	if out == up || !validName(out) {
		return s
	}
	if up != s { // keep the field's case style roughly: title case stays title case
		return titleCase(out)
	}
	return out
}

// wordEnds returns the byte offsets where words of s end.
func wordEnds(s string) []int {
	var ends []int
	for i := 0; i < len(s); i++ {
		if (s[i] == ' ' || s[i] == '-') && i > 0 {
			ends = append(ends, i)
		}
	}
	return append(ends, len(s))
}

// Surname particles, longest first.
var particles = []string{"DE LA ", "DE L'", "VAN DER ", "VAN DEN ", "DES ", "DE ", "DU ", "D'", "LE ", "LA ", "L'",
	"DA ", "DOS ", "DAS ", "DI ", "DEL ", "VAN ", "VON ", "MAC ", "EL ", "BEN ", "AIT ", "O'"}

// particleOf returns the particle a surname starts with, or "".
func particleOf(s string) string {
	up := strings.ToUpper(s)
	for _, p := range particles {
		if strings.HasPrefix(up, p) && len(up) > len(p)+1 {
			return s[:len(p)]
		}
	}
	return ""
}

// particleVariant rewrites a surname's particle: dropped (DE LA FONTAINE →
// LA FONTAINE, D'ALMEIDA → ALMEIDA), glued (DELAFONTAINE, DALMEIDA, LEGALL)
// or with its apostrophe turned into a space (D ALMEIDA). mode 0 drop,
// 1 glue, 2 apostrophe to space.
func particleVariant(s, p string, mode int) string {
	rest := s[len(p):]
	switch mode {
	case 0:
		// Drop the first word of the particle only.
		if i := strings.IndexAny(p, " '"); i >= 0 {
			return p[i+1:] + rest
		}
		return rest
	case 1:
		return strings.NewReplacer(" ", "", "'", "").Replace(p) + rest
	default:
		if strings.Contains(p, "'") {
			return strings.ReplaceAll(p, "'", " ") + rest
		}
		return strings.Replace(p, " ", "", 1) + rest // LE GALL → LEGALL
	}
}

// compoundVariant writes the separators of a compound name (hyphen or space
// between parts) as a space (mode 0), glued (1) or a hyphen (2).
func compoundVariant(s string, mode int) string {
	switch mode {
	case 0:
		return strings.ReplaceAll(s, "-", " ")
	case 1:
		return strings.NewReplacer("-", "", " ", "").Replace(s)
	}
	return strings.ReplaceAll(s, " ", "-")
}

// extraSpaces doubles an inner space or pads the value.
func extraSpaces(r *rng, s string) string {
	if i := strings.IndexAny(s, " -"); i > 0 && r.chance(0.5) {
		return s[:i] + "  " + strings.TrimLeft(s[i:], " ")
	}
	if r.chance(0.5) {
		return s + " "
	}
	return " " + s
}
