package matcher

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"strings"
	"sync"
)

// givenNamesGz lists the given names attested in France: every first name
// of the INSEE fichier des prénoms for births from 1900 to 2021 (a name
// appears there once given at least three times in a year; Licence
// Ouverte, as gathered by ThinkR's prenoms package, MIT), one per line as its letters (LOUIS, ANNESOPHIE) and its
// usual sex: M or F when 90 % of its bearers have it, X otherwise.
//
//go:embed givennames.txt.gz
var givenNamesGz []byte

var givenNames = sync.OnceValue(func() map[string]byte {
	m := make(map[string]byte, 16000)
	zr, err := gzip.NewReader(bytes.NewReader(givenNamesGz))
	if err != nil {
		panic("matcher: given-name list: " + err.Error())
	}
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		name, sex, ok := strings.Cut(sc.Text(), " ")
		if ok && sex != "" {
			m[name] = sex[0]
		}
	}
	if err := sc.Err(); err != nil {
		panic("matcher: given-name list: " + err.Error())
	}
	return m
})

// KnownGivenName reports whether glued (letters only, as Name.Glued) is a
// given name attested in France, and its usual sex ('M', 'F', or 'X' when
// borne by both).
func KnownGivenName(glued string) (sex byte, ok bool) {
	sex, ok = givenNames()[glued]
	return sex, ok
}

// minAttested is how many records of an index must carry a first name that
// the French list does not know for it to count as a real name rather than
// a slip (a typo is seldom typed the same way three times).
const minAttested = 3

// realFirstName reports whether a first name is a real given name rather
// than a typing slip: attested in France, or carried by several records of
// the index (freq may be nil).
func realFirstName(n *Name, freq Frequencies) bool {
	if n.Empty() {
		return false
	}
	if _, ok := KnownGivenName(n.Glued); ok {
		return true
	}
	if c, ok := freq.(interface{ FirstNameCount(string) int }); ok && freq != nil {
		return c.FirstNameCount(n.Glued) >= minAttested
	}
	return false
}

// slipRatio bounds how common a slip of a name may be: a name the French
// list does not know, carried by fewer than one record in slipRatio of
// those bearing the name it is compared with, is taken for that name
// mistyped, however many records carry it. In an index of 180,000 records
// PAUI, JOSIANF and JOHNY each reach three records (a slip typed the same
// way by chance once PAUL is borne by thousands), and twins' names both
// attested only in the index are of like frequency.
const slipRatio = 50

// realFirstNameBeside is realFirstName for a name compared with other: a
// name attested only by the index must also not be rare beside other (see
// slipRatio), nor the other with one letter doubled or undoubled (KAHIL /
// KAHILL): a name no French list knows that sounds as the other is the
// other spelt another way, however many records carry it. Two names the
// list knows stay twins' names (MATHIEU / MATTHIEU: a census set's twins).
func realFirstNameBeside(n, other *Name, freq Frequencies) bool {
	if !realFirstName(n, freq) {
		return false
	}
	if _, ok := KnownGivenName(n.Glued); ok {
		return true
	}
	if doubledLetter(n.Glued, other.Glued) {
		return false
	}
	c, ok := freq.(interface{ FirstNameCount(string) int })
	if !ok || freq == nil {
		return true
	}
	return c.FirstNameCount(n.Glued)*slipRatio >= c.FirstNameCount(other.Glued)
}

// realGivenNameOf reports whether a record bears a real given name: its
// first name, or, when that one is garbled (MLA), the first of its birth
// first names (MIA SUZANNE MARION). Compare already found the other
// record's first name in neither, so a real one here is another name, not
// a slip: twins MIA and EVA stay apart even when MIA's record carries her
// name mistyped in the first-name field.
func realGivenNameOf(p *Prepared, freq Frequencies) bool {
	if realFirstName(&p.First, freq) {
		return true
	}
	return len(p.List) > 0 && realFirstName(&p.List[0], freq)
}

// abbreviates reports whether two first names are one written in full and
// the other cut short: a truncation at a field's length (CHRISTOP /
// CHRISTOPHE), an initial or a cut part of a compound (A. CAROLINE / ANNE-
// CAROLINE, J-PIERRE / JEAN-PIERRE, ANNE SOP / ANNE-SOPHIE) or the initials
// of a compound (JP / JEAN-PIERRE). A shortened form that is itself a real
// given name (LOUIS / LOUISE, JEAN / JEANNE) is not a cut but another name.
func abbreviates(a, b *Name) bool {
	if a.Empty() || b.Empty() || a.Glued == b.Glued {
		return false
	}
	ta, tb := a.Tokens, b.Tokens
	if len(ta) == len(tb) {
		differ := false
		for i := range ta {
			x, y := ta[i], tb[i]
			if x == y {
				continue
			}
			short, long, side := x, y, a
			if len(y) < len(x) {
				short, long, side = y, x, b
			}
			if !strings.HasPrefix(long, short) {
				return false
			}
			if len(ta) == 1 && len(short) < 5 {
				return false // one short word is too little to say
			}
			// A real name cut from another (LEON, LEONIE) may be a
			// twin's; within a compound whose first part agrees (MARIE
			// JO, MARIE JOSIANE) the cut is the usual short form.
			if _, known := KnownGivenName(side.Glued); known && (len(ta) == 1 || ta[0] != tb[0]) && !(len(ta) == 1 && cutShort(short, long)) {
				return false
			}
			differ = true
		}
		return differ
	}
	// Initials: JP for JEAN-PIERRE.
	for _, p := range [2][2]*Name{{a, b}, {b, a}} {
		short, long := p[0], p[1]
		if len(short.Tokens) != 1 || len(long.Tokens) < 2 || len(short.Glued) != len(long.Tokens) {
			continue
		}
		match := true
		for i, t := range long.Tokens {
			if t[0] != short.Glued[i] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

// doubledLetter reports whether a and b differ by one letter doubled in
// one of them (ANA / ANNA, FABRICE / FABBRICE).
func doubledLetter(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(b) != len(a)+1 || len(a) < 3 {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	return i > 0 && b[i] == b[i-1] && a[i:] == b[i+1:]
}

// gluedCompound grades two first names of which one is a compound written
// without its hyphen or space, or a compound cut short with a slip in it;
// it returns Null when neither applies.
//
//   - One name in one word, the other in two (MARIEJOSEPH / MARIE JOSE,
//     PAULCEDR / P-CEDRIC): the word read as the two parts is the other
//     abbreviated (see abbreviates): NameCompound.
//   - A given name that begins the other, one word, whose rest is a given
//     name or its start (ROSE / ROSEMARIE, JEAN / JEANFRANCOI), both
//     usually borne by one sex: a part of the compound, NameCompound.
//   - A name that is no given name, six letters or more, one letter away
//     from the start of a longer one (JFANPIER / JEAN-PIERRE, JEAH FRA /
//     JEAN-FRANCOIS): the other cut at a field's end and mistyped,
//     NameTypo.
func gluedCompound(a, b *Name) (Level, string) {
	if a.Empty() || b.Empty() {
		return Null, ""
	}
	for _, p := range [2][2]*Name{{a, b}, {b, a}} {
		one, two := p[0], p[1]
		if len(one.Tokens) != 1 || len(two.Tokens) != 2 || len(one.Glued) < 4 {
			continue
		}
		for j := 1; j < len(one.Glued); j++ {
			split := Name{Tokens: []string{one.Glued[:j], one.Glued[j:]}, Glued: one.Glued}
			if abbreviates(&split, two) {
				return NameCompound, "one is the other, a compound written in one word, cut short or abbreviated"
			}
		}
	}
	// A name and the other's compound with its first part as an initial
	// (JEAN / J.PIERRE, MARIE / M. CAROLINE): the name is that part.
	for _, p := range [2][2]*Name{{a, b}, {b, a}} {
		one, two := p[0], p[1]
		if len(one.Tokens) == 1 && len(two.Tokens) >= 2 && len(two.Tokens[0]) == 1 && len(one.Glued) >= 3 && one.Glued[0] == two.Tokens[0][0] {
			// The compound's other part borne by the name's sex: ANTONY is
			// not the A of A. SYLVIE.
			os, known := KnownGivenName(one.Glued)
			ts, tk := KnownGivenName(two.Tokens[1])
			if known && (!tk || ts == os || ts == 'X' || os == 'X') {
				return NameCompound, "one is the first part of the other, a compound written with its initial"
			}
		}
	}
	for _, p := range [2][2]*Name{{a, b}, {b, a}} {
		short, long := p[0].Glued, p[1].Glued
		if len(p[0].Tokens) != 1 || len(p[1].Tokens) != 1 || len(short) < 3 || !strings.HasPrefix(long, short) {
			continue
		}
		rest := long[len(short):]
		ss, known := KnownGivenName(short)
		if !known || len(rest) < 3 || !givenNameStart(rest) {
			continue
		}
		if ls, ok := KnownGivenName(long); ok && ls != ss && ls != 'X' && ss != 'X' {
			continue
		}
		return NameCompound, "one is the first part of the other, a compound written in one word"
	}
	short, long := a.Glued, b.Glued
	if len(short) > len(long) {
		short, long = long, short
	}
	if len(short) >= 6 && len(long) >= len(short)+2 {
		if _, known := KnownGivenName(short); !known && hamming1(short, long[:len(short)]) {
			return NameTypo, "one is the other cut short, with one letter mistyped"
		}
	}
	return Null, ""
}

// hamming1 reports whether two strings of one length differ in exactly
// one letter, and not in the first.
func hamming1(a, b string) bool {
	if len(a) != len(b) || a[0] != b[0] {
		return false
	}
	n := 0
	for i := range len(a) {
		if a[i] != b[i] {
			n++
		}
	}
	return n == 1
}

// givenNameStart reports whether s is a given name attested in France, or
// the first four letters or more of one (FRANCOI, CEDR).
func givenNameStart(s string) bool {
	if _, ok := KnownGivenName(s); ok {
		return true
	}
	if len(s) < 4 {
		return false
	}
	_, ok := givenNamePrefixes()[s]
	return ok
}

var givenNamePrefixes = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 60000)
	for name := range givenNames() {
		for i := 4; i < len(name); i++ {
			m[name[:i]] = struct{}{}
		}
	}
	return m
})

// oneSlip reports whether two names differ by one keystroke: one letter
// replaced, added, dropped, or two adjacent letters swapped.
func oneSlip(a, b string) bool {
	if a == b {
		return false
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	switch len(b) - len(a) {
	case 0:
		i := 0
		for i < len(a) && a[i] == b[i] {
			i++
		}
		if a[i+1:] == b[i+1:] {
			return true
		}
		return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	case 1:
		i := 0
		for i < len(a) && a[i] == b[i] {
			i++
		}
		return a[i:] == b[i+1:]
	}
	return false
}
