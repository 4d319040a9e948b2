package census

import (
	"strings"
	"unicode"
)

// fold strips French accents and ligatures: what a site without accents,
// and INSi, write.
func fold(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch c {
		case 'À', 'Â', 'Ä', 'Á':
			b.WriteByte('A')
		case 'Ç':
			b.WriteByte('C')
		case 'É', 'È', 'Ê', 'Ë':
			b.WriteByte('E')
		case 'Î', 'Ï', 'Í':
			b.WriteByte('I')
		case 'Ô', 'Ö', 'Ó':
			b.WriteByte('O')
		case 'Ù', 'Û', 'Ü', 'Ú':
			b.WriteByte('U')
		case 'Ÿ':
			b.WriteByte('Y')
		case 'Ñ':
			b.WriteByte('N')
		case 'Œ':
			b.WriteString("OE")
		case 'Æ':
			b.WriteString("AE")
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// titleCase writes LE GOFF as Le Goff, JEAN-PIERRE as Jean-Pierre,
// D'ALMEIDA as D'Almeida.
func titleCase(s string) string {
	rs := []rune(strings.ToLower(s))
	start := true
	for i, c := range rs {
		if start && unicode.IsLetter(c) {
			rs[i] = unicode.ToUpper(c)
		}
		start = c == ' ' || c == '-' || c == '\''
	}
	return string(rs)
}

// azerty is the letter block of a French keyboard. A key's neighbours are
// beside it on its row, and the two keys touching it on the rows above and
// below (the rows are staggered).
var azerty = []string{"AZERTYUIOP", "QSDFGHJKLM", "WXCVBN"}

func neighbours(c rune) []rune {
	for row, keys := range azerty {
		col := strings.IndexRune(keys, c)
		if col < 0 {
			continue
		}
		var out []rune
		add := func(r, c int) {
			if r >= 0 && r < len(azerty) && c >= 0 && c < len(azerty[r]) {
				out = append(out, rune(azerty[r][c]))
			}
		}
		add(row, col-1)
		add(row, col+1)
		add(row-1, col)
		add(row-1, col+1)
		add(row+1, col-1)
		add(row+1, col)
		return out
	}
	return nil
}

// keyboardSlip makes one typing slip in an upper-case name: a neighbouring
// key struck instead, a key missed, a key struck twice, or two keys struck
// in the wrong order. Names of two letters or less are left alone.
func keyboardSlip(r *rng, s string) string {
	rs := []rune(s)
	var letters []int
	for i, c := range rs {
		if c >= 'A' && c <= 'Z' {
			letters = append(letters, i)
		}
	}
	if len(letters) < 3 {
		return s
	}
	i := letters[1+r.intn(len(letters)-1)] // the first letter is the one least often wrong
	switch r.pick([]float64{0.45, 0.2, 0.15, 0.2}) {
	case 0:
		ns := neighbours(rs[i])
		rs[i] = ns[r.intn(len(ns))]
	case 1:
		rs = append(rs[:i], rs[i+1:]...)
	case 2:
		rs = append(rs[:i+1], rs[i:]...)
	default:
		if i+1 < len(rs) && unicode.IsLetter(rs[i+1]) && rs[i+1] != rs[i] {
			rs[i], rs[i+1] = rs[i+1], rs[i]
		} else {
			rs[i-1], rs[i] = rs[i], rs[i-1]
		}
	}
	return string(rs)
}

// ocrPairs are the confusions of character recognition on printed or
// handwritten capitals.
var ocrPairs = [][2]string{
	{"RN", "M"}, {"M", "RN"}, {"CL", "D"}, {"D", "CL"}, {"I", "L"}, {"L", "I"}, {"U", "V"}, {"V", "U"},
	{"O", "Q"}, {"E", "F"}, {"H", "N"}, {"N", "H"}, {"B", "R"}, {"G", "C"}, {"LI", "U"}, {"VV", "W"}, {"W", "VV"},
}

// ocrConfusion replaces one occurrence of a confusable sequence, past the
// first letter. It returns s when nothing in it is confusable.
func ocrConfusion(r *rng, s string) string {
	type at struct{ pos, pair int }
	var cands []at
	for k, p := range ocrPairs {
		for i := 1; i+len(p[0]) <= len(s); i++ {
			if s[i:i+len(p[0])] == p[0] {
				cands = append(cands, at{i, k})
			}
		}
	}
	if len(cands) == 0 {
		return s
	}
	c := cands[r.intn(len(cands))]
	p := ocrPairs[c.pair]
	return s[:c.pos] + p[1] + s[c.pos+len(p[0]):]
}

// particles are the leading particles of French surnames, longest first.
var particles = []string{"DE LA ", "DE L'", "DES ", "DU ", "DE ", "D'", "LE ", "LA ", "DA ", "DOS "}

// dropParticle removes a leading particle: DE LA FONTAINE → FONTAINE.
func dropParticle(s string) (string, bool) {
	for _, p := range particles {
		if rest, ok := strings.CutPrefix(s, p); ok && len(rest) > 1 {
			return rest, true
		}
	}
	return s, false
}

// respace changes the spaces, hyphens and apostrophes of a name the way
// sites do: LE GOFF → LEGOFF, D'ALMEIDA → D ALMEIDA or DALMEIDA,
// MARTIN-DUBOIS → MARTIN DUBOIS. It returns s when it has none.
func respace(r *rng, s string) string {
	switch {
	case strings.Contains(s, "'"):
		return strings.ReplaceAll(s, "'", []string{" ", ""}[r.intn(2)])
	case strings.Contains(s, "-"):
		return strings.ReplaceAll(s, "-", []string{" ", ""}[r.pick([]float64{0.7, 0.3})])
	case strings.Contains(s, " "):
		if r.chance(0.8) {
			return strings.ReplaceAll(s, " ", "")
		}
		return strings.ReplaceAll(s, " ", "-")
	}
	return s
}

// abbreviate shortens a compound first name: JEAN-PIERRE → J-PIERRE,
// J.PIERRE or JP.
func abbreviate(r *rng, s string) string {
	head, tail, ok := strings.Cut(s, "-")
	if !ok || head == "" || tail == "" {
		return s
	}
	h := string([]rune(head)[:1])
	switch r.intn(3) {
	case 0:
		return h + "-" + tail
	case 1:
		return h + "." + tail
	}
	return h + string([]rune(tail)[:1])
}

// truncate cuts s to n runes (a field's length).
func truncate(s string, n int) string {
	rs := []rune(s)
	if n <= 0 || len(rs) <= n {
		return s
	}
	return strings.TrimRight(string(rs[:n]), " -")
}
