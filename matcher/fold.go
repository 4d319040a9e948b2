package matcher

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Fold returns the comparison form of a trait: Unicode decomposed with its
// combining marks dropped (É→E, Ç→C), ligatures expanded (Œ→OE, Æ→AE, ß→SS),
// typographic apostrophes and dashes made ASCII, other punctuation turned into
// spaces, upper case, spaces collapsed and trimmed. Letters, digits, space,
// hyphen and apostrophe survive; nothing else does.
//
// The INS rules require the verbatim value to be kept and compared through
// such a separate form: Fold never changes what is stored.
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := true // at start: drop leading spaces
	emit := func(c byte) {
		if c == ' ' {
			if !space {
				b.WriteByte(' ')
				space = true
			}
			return
		}
		b.WriteByte(c)
		space = false
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c >= 'a' && c <= 'z':
				emit(c - 'a' + 'A')
			case c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '\'':
				emit(c)
			case c == '`':
				emit('\'')
			default:
				emit(' ')
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		f := foldRune(r)
		for j := 0; j < len(f); j++ {
			emit(f[j])
		}
	}
	out := b.String()
	if len(out) > 0 && out[len(out)-1] == ' ' {
		out = out[:len(out)-1]
	}
	return out
}

// foldTable holds the folded bytes of the Latin runes most names use, so the
// hot path never runs the normaliser.
var foldTable = func() map[rune]string {
	t := make(map[rune]string, 600)
	for r := rune(0x80); r < 0x250; r++ {
		t[r] = foldSlow(r)
	}
	for r := rune(0x1E00); r < 0x1F00; r++ { // Latin Extended Additional
		t[r] = foldSlow(r)
	}
	for r := rune(0x2000); r < 0x2070; r++ { // General Punctuation
		t[r] = foldSlow(r)
	}
	return t
}()

func foldRune(r rune) string {
	if f, ok := foldTable[r]; ok {
		return f
	}
	return foldSlow(r)
}

// foldSlow folds one non-ASCII rune: special letters first, then canonical
// decomposition keeping the base letters.
func foldSlow(r rune) string {
	switch r {
	case 'Œ', 'œ':
		return "OE"
	case 'Æ', 'æ':
		return "AE"
	case 'ß', 'ẞ':
		return "SS"
	case 'Ø', 'ø':
		return "O"
	case 'Ł', 'ł':
		return "L"
	case 'Đ', 'đ', 'Ð', 'ð':
		return "D"
	case 'Þ', 'þ':
		return "TH"
	case 'ı':
		return "I"
	case '\u2018', '\u2019', '\u201B', '\u02BC', '\u02B9', '\u00B4', '\u2032', '\uFF07':
		return "'"
	case '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2212', '\uFE63', '\uFF0D':
		return "-"
	}
	var out []byte
	for _, d := range norm.NFD.String(string(r)) {
		switch {
		case unicode.Is(unicode.Mn, d):
			// combining mark: dropped
		case d < utf8.RuneSelf:
			c := byte(d)
			switch {
			case c >= 'a' && c <= 'z':
				out = append(out, c-'a'+'A')
			case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
				out = append(out, c)
			default:
				out = append(out, ' ')
			}
		default:
			out = append(out, ' ')
		}
	}
	if len(out) == 0 {
		return " "
	}
	return string(out)
}

// Letters returns only the A–Z letters of a folded string: the glued form
// that makes JEAN-PIERRE, JEAN PIERRE and JEANPIERRE equal.
func Letters(folded string) string {
	for i := 0; i < len(folded); i++ {
		if c := folded[i]; c < 'A' || c > 'Z' {
			b := make([]byte, 0, len(folded))
			for j := 0; j < len(folded); j++ {
				if c := folded[j]; c >= 'A' && c <= 'Z' {
					b = append(b, c)
				}
			}
			return string(b)
		}
	}
	return folded
}
