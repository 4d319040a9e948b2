package matcher

// French phonetic keys.
//
// Soundex2 and Phonex are the two phonetic encoders Frédéric Brouard
// published for French ("L'art des Soundex", sqlpro.developpez.com; Phonex
// dated 31/3/1999). Two spellings that sound alike in French (GAUTHIER and
// GAUTIER, PHILIPPE and FILIPE, DUPONT and DUPOND) get the same key, so MPI
// blocking can put them in the same candidate block and the name comparators
// can grade them "phonetic" rather than "different". Soundex2 is coarse (four
// consonants at most); Phonex keeps vowels and French sounds (an, in, on, ou,
// oi, ch) and so separates more names.
//
// Both functions take a name already folded (upper-case ASCII, see Fold) and
// encode its A–Z letters glued together (the first MaxPhoneticLetters of them,
// see bounds.go): spaces, hyphens, apostrophes and any
// other byte (lower-case letters and non-ASCII bytes included) are ignored.
// They are pure functions over byte buffers, hold no state, are safe for
// concurrent use and allocate only the returned string.
//
// The published steps are rewriting rules applied one after the other to the
// whole word. They are implemented here as in-place passes over a buffer that
// never grows (no rule lengthens the word); where a rule is written as a
// regular expression in the reference, the pass reproduces its leftmost,
// non-overlapping matching exactly. A mask of the symbols present lets a pass
// be skipped when a letter of its pattern is missing, which is most passes on
// any given name. The tests check both encoders against slow, step-by-step
// transcriptions of the references.

// phxStackLen is the number of letters encoded without a heap buffer.
const phxStackLen = 48

// phxBit is the bit of symbol c (A–Z or 1–5) in a presence mask.
func phxBit(c byte) uint64 { return 1 << (c & 63) }

// phxMask returns the presence mask of the symbols in b.
func phxMask(b []byte) uint64 {
	var m uint64
	for _, c := range b {
		m |= phxBit(c)
	}
	return m
}

// phxLetters appends the A–Z bytes of s to dst and drops every other byte,
// up to MaxPhoneticLetters letters: the rest of s is not read, so that both
// encoders work on a bounded buffer whatever they are given.
func phxLetters(dst []byte, s string) []byte {
	n := 0
	for i := 0; i < len(s) && n < MaxPhoneticLetters; i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			dst = append(dst, c)
			n++
		}
	}
	return dst
}

// phxRule is a plain rewriting rule: every old becomes new.
type phxRule struct {
	old, new string
	need     uint64 // presence mask of old: the rule cannot match without all of it
}

// phxRules builds rules from old, new pairs.
func phxRules(pairs ...string) []phxRule {
	rules := make([]phxRule, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		rules = append(rules, phxRule{pairs[i], pairs[i+1], phxMask([]byte(pairs[i]))})
	}
	return rules
}

// phxApply applies rules in order, each to the whole of b, and returns the
// rewritten b and its presence mask; m is the presence mask of b (a superset
// is fine).
func phxApply(b []byte, m uint64, rules []phxRule) ([]byte, uint64) {
	for i := range rules {
		r := &rules[i]
		if m&r.need != r.need {
			continue
		}
		var done bool
		if b, done = phxReplace(b, r.old, r.new); done {
			m = phxMask(b)
		}
	}
	return b, m
}

// phxReplace replaces, left to right and without overlap, every old in b by
// repl (like strings.ReplaceAll), and returns the shortened b and whether it
// replaced anything. It works in place, which is sound because repl is never
// longer than old.
func phxReplace(b []byte, old, repl string) ([]byte, bool) {
	w, done := 0, false
	for r := 0; r < len(b); {
		if b[r] == old[0] && len(b)-r >= len(old) && string(b[r:r+len(old)]) == old {
			w += copy(b[w:], repl)
			r += len(old)
			done = true
			continue
		}
		b[w] = b[r]
		w++
		r++
	}
	return b[:w], done
}

// sdx2Groups is Soundex2 step 2, applied in this order, each to the whole
// word: hard C and G, Q, CC and CK become K.
var sdx2Groups = phxRules(
	"GUI", "KI", "GUE", "KE", "GA", "KA", "GO", "KO", "GU", "K",
	"CA", "KA", "CO", "KO", "CU", "KU", "Q", "K", "CC", "K", "CK", "K",
)

// sdx2Prefixes is Soundex2 step 4. The prefixes and their replacements start
// with different letters, so at most one applies.
var sdx2Prefixes = [...][2]string{
	{"MAC", "MCC"}, {"ASA", "AZA"}, {"KN", "NN"}, {"PF", "FF"}, {"SCH", "SSS"}, {"PH", "FF"},
}

// Soundex2 returns the French Soundex2 key (F. Brouard's algorithm) of a
// name: its first letter and then up to three consonants (or a Y after a
// vowel), upper case, without padding ("MARTIN" → "MRTN", "PHILIPPE" → "FLP", "GAUTIER" and "GAUTHIER" →
// "KTR"). It returns "" when s has no A–Z letter, and a non-empty key
// otherwise.
//
// Steps, after keeping the A–Z letters: (2) GUI→KI, GUE→KE, GA→KA, GO→KO,
// GU→K, CA→KA, CO→KO, CU→KU, Q→K, CC→K, CK→K, in this order, each over the
// whole word; (3) E, I, O and U become A except as first letter (Y is not a
// vowel here); (4) the prefixes MAC, ASA, KN, PF, SCH and PH become MCC, AZA,
// NN, FF, SSS and FF; (5) H is dropped unless it comes first or after C or S;
// (6) Y is dropped unless it comes first or after A; (7) one final A, D, T or
// S is dropped; (8) A is dropped except as first letter; (9) runs of one
// letter are squeezed; (10) four characters are kept at most.
//
// Ports of the article disagree on details. This follows the talisman
// library (whose reference is F. Carlier's page, and whose published vectors
// the tests pin): step 4 rewrites prefixes only (some Java and PHP ports
// rewrite them anywhere in the word), a leading H or Y is kept (HENRY → HNR),
// runs are squeezed whole (SCHINDLER → SNDL) and the key is not padded with
// spaces. Step 2 applies its rules one after the other, as the article lists
// them and the PHP and Java ports do (talisman merges Q, CC and CK into one
// pass: JACQUES gives JCK there, JK here). One deliberate deviation: step 7
// never drops the first letter, so that a one-letter residue ("S", "AH")
// keeps a key instead of an empty one, as the PHP port's one-letter shortcut
// does.
func Soundex2(s string) string {
	var buf [phxStackLen]byte
	b := phxLetters(buf[:0], s)
	switch len(b) {
	case 0:
		return ""
	case 1:
		return string(b)
	}
	b, _ = phxApply(b, phxMask(b), sdx2Groups)
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case 'E', 'I', 'O', 'U':
			b[i] = 'A'
		}
	}
	for _, p := range &sdx2Prefixes {
		if b[0] == p[0][0] && len(b) >= len(p[0]) && string(b[:len(p[0])]) == p[0] {
			copy(b, p[1])
			break
		}
	}
	// Steps 5 and 6 are two passes: a Y may decide the fate of an H and the
	// other way round. "After" means after the last letter kept.
	w := 1
	for _, c := range b[1:] {
		if c == 'H' && b[w-1] != 'C' && b[w-1] != 'S' {
			continue
		}
		b[w] = c
		w++
	}
	b = b[:w]
	w = 1
	for _, c := range b[1:] {
		if c == 'Y' && b[w-1] != 'A' {
			continue
		}
		b[w] = c
		w++
	}
	b = b[:w]
	if n := len(b); n > 1 {
		switch b[n-1] {
		case 'A', 'D', 'T', 'S':
			b = b[:n-1]
		}
	}
	// Steps 8 to 10 in one pass: drop A, squeeze, stop at four.
	var key [4]byte
	key[0] = b[0]
	n := 1
	for _, c := range b[1:] {
		if c == 'A' || c == key[n-1] {
			continue
		}
		key[n] = c
		n++
		if n == len(key) {
			break
		}
	}
	return string(key[:n])
}

// phxIsNM reports whether c is N or M.
func phxIsNM(c byte) bool { return c == 'N' || c == 'M' }

// phxIsVowel reports whether c is one of A E I O U.
func phxIsVowel(c byte) bool {
	switch c {
	case 'A', 'E', 'I', 'O', 'U':
		return true
	}
	return false
}

// phxIsVowelOrSound reports whether c is a vowel or one of the sounds 1 to 4
// (the context that keeps AN, IN… from being read as nasal vowels).
func phxIsVowelOrSound(c byte) bool { return phxIsVowel(c) || c >= '1' && c <= '4' }

// Phonex returns the French Phonex key (F. Brouard's algorithm) of a name.
//
// Brouard's Phonex rewrites the word into a code over 22 symbols (sounds
// 1 = an/on, 2 = oi/oua, 3 = ou, 4 = in/ain, 5 = ch, and the letters E F G H
// I K L N O R S T U W X Y Z) and then reads that code as base-22 digits after
// the point of a floating-point number (symbol i of "12345EFGHIKLNORSTUWXYZ"
// is digit i). The key returned here is that code itself, e.g. "FILOR4SNY"
// for PHYLAURHEIMSMET, whose float is 0.29241361598339205: the digits are the
// stable, exact form of the float, while the float drops trailing "1" digits
// (LAURENT's LOR1 equals LAUR's LOR) and precision beyond about eleven
// symbols.
// Two names with the same key have the same Brouard float.
//
// Steps, after keeping the A–Z letters: (1) Y→I; (2) H is dropped unless
// first or after P, C or S; (3) PH→F; (4) G→K in GAN, GAM, GAIN, GAIM;
// (5) AIN, EIN, AIM, EIM before a vowel → YN; (6) EAU→O, OUA→2, EIN, AIN,
// EIM, AIM→4; (7) AI→Y, EI→Y, ER→YR, ESS→YS, ET→YT, EZ→YZ; (8) AN, ON, AM,
// EN, EM→1 and IN→4 when followed by a letter that is neither a vowel nor a
// sound 1–4; (9) S→Z between vowels, Y or sounds 1–4; (10) OE→E, EU→E, AU→O,
// OI→2, OY→2, OU→3; (11) CH→5, SH→5, SS→S, SC→S; (12) C→S before E or I;
// (13) C→K, Q→K, GU→K, and G→K before A, O or Y; (14) A→O, D→T, P→T, J→G,
// B→F, V→F, M→N; (15) runs of one symbol are squeezed; (16) one final T or
// X is dropped. Each rule applies over the whole word, left to right.
//
// The rules follow Brouard's algorithm as transcribed in C. Pennaforte's and
// F. Carlier's Python version (the one the published PHYLAURHEIMSMET value
// comes from), without deviation. Other ports differ: J. Barbier's PHP also
// nasalises AN, IN… at the end of the word and ON everywhere, and writes
// ESS→YSS; talisman rewrites SC only before E, I or Y. Like the reference,
// a word that reduces to nothing ("T", "X", "DT") gets the empty key, as it
// gets Brouard's 0.
func Phonex(s string) string {
	var buf [phxStackLen]byte
	b := phxLetters(buf[:0], s)
	if len(b) == 0 {
		return ""
	}
	// 1.
	for i, c := range b {
		if c == 'Y' {
			b[i] = 'I'
		}
	}
	m := phxMask(b)
	// 2. The reference's ([^PCS])H consumes the letter before H, so in HH
	// the second H sees an H before it that is already used: "AHH" → "AH".
	if m&phxBit('H') != 0 {
		w := 0
		for r := 0; r < len(b); r++ {
			c := b[r]
			b[w] = c
			w++
			if c != 'P' && c != 'C' && c != 'S' && r+1 < len(b) && b[r+1] == 'H' {
				r++
			}
		}
		b = b[:w]
		m = phxMask(b)
	}
	// 3.
	b, m = phxApply(b, m, phxRulesPH)
	// 4.
	if m&(phxBit('G')|phxBit('A')) == phxBit('G')|phxBit('A') {
		for i := 0; i+2 < len(b); i++ {
			if b[i] == 'G' && b[i+1] == 'A' && (phxIsNM(b[i+2]) || b[i+2] == 'I' && i+3 < len(b) && phxIsNM(b[i+3])) {
				b[i] = 'K'
				m |= phxBit('K')
			}
		}
	}
	// 5. The vowel after the group is consumed: it cannot open the next match.
	if m&phxBit('I') != 0 && m&(phxBit('N')|phxBit('M')) != 0 {
		w := 0
		for r := 0; r < len(b); {
			if r+3 < len(b) && (b[r] == 'A' || b[r] == 'E') && b[r+1] == 'I' && phxIsNM(b[r+2]) && phxIsVowel(b[r+3]) {
				b[w], b[w+1], b[w+2] = 'Y', 'N', b[r+3]
				w += 3
				r += 4
				continue
			}
			b[w] = b[r]
			w++
			r++
		}
		if w != len(b) {
			b = b[:w]
			m = phxMask(b)
		}
	}
	// 6 and 7.
	b, m = phxApply(b, m, phxRulesE)
	// 8. The reference runs one pass per group (AN, ON, AM, EN, EM, IN); one
	// pass is equivalent, since no group can start, end or follow inside
	// another's match (groups start with a vowel, their context is not one).
	// A group at the very end has no following letter and stays.
	if m&(phxBit('N')|phxBit('M')) != 0 {
		w := 0
		for r := 0; r < len(b); r++ {
			c := b[r]
			if r+2 < len(b) && !phxIsVowelOrSound(b[r+2]) {
				switch {
				case b[r+1] == 'N' && (c == 'A' || c == 'O' || c == 'E'),
					b[r+1] == 'M' && (c == 'A' || c == 'E'):
					c = '1'
					r++
				case b[r+1] == 'N' && c == 'I':
					c = '4'
					r++
				}
			}
			b[w] = c
			w++
		}
		if w != len(b) {
			b = b[:w]
			m = phxMask(b)
		}
	}
	// 9. Matches do not overlap: in ASASA only the first S becomes Z.
	if m&phxBit('S') != 0 {
		for r := 0; r+2 < len(b); {
			if b[r+1] == 'S' && (b[r] == 'Y' || phxIsVowelOrSound(b[r])) && (b[r+2] == 'Y' || phxIsVowelOrSound(b[r+2])) {
				b[r+1] = 'Z'
				m |= phxBit('Z')
				r += 3
				continue
			}
			r++
		}
	}
	// 10 and 11.
	b, m = phxApply(b, m, phxRulesVowelsCH)
	// 12.
	if m&phxBit('C') != 0 {
		for i := 0; i+1 < len(b); i++ {
			if b[i] == 'C' && (b[i+1] == 'E' || b[i+1] == 'I') {
				b[i] = 'S'
			}
		}
	}
	// 13. The reference's QU→K comes after Q→K and never matches.
	if m&(phxBit('C')|phxBit('Q')) != 0 {
		for i, c := range b {
			if c == 'C' || c == 'Q' {
				b[i] = 'K'
			}
		}
	}
	if m&phxBit('G') != 0 {
		b, _ = phxReplace(b, "GU", "K")
		for i := 0; i+1 < len(b); i++ {
			if b[i] == 'G' && (b[i+1] == 'A' || b[i+1] == 'O' || b[i+1] == 'Y') {
				b[i] = 'K'
			}
		}
	}
	// 14 and 15 in one pass: none of the letter rules feeds another.
	n := 0
	for _, c := range b {
		switch c {
		case 'A':
			c = 'O'
		case 'D', 'P':
			c = 'T'
		case 'J':
			c = 'G'
		case 'B', 'V':
			c = 'F'
		case 'M':
			c = 'N'
		}
		if n > 0 && b[n-1] == c {
			continue
		}
		b[n] = c
		n++
	}
	// 16.
	if n > 0 && (b[n-1] == 'T' || b[n-1] == 'X') {
		n--
	}
	return string(b[:n])
}

// Phonex's plain rules, in the reference's order.
var (
	phxRulesPH = phxRules("PH", "F")
	// Steps 6 (sounds o, oua, in) and 7 (sound é).
	phxRulesE = phxRules(
		"EAU", "O", "OUA", "2", "EIN", "4", "AIN", "4", "EIM", "4", "AIM", "4",
		"AI", "Y", "EI", "Y", "ER", "YR", "ESS", "YS", "ET", "YT", "EZ", "YZ",
	)
	// Steps 10 (vowel groups) and 11 (ch, s). The reference's SCH→5 comes
	// after CH→5 and never matches.
	phxRulesVowelsCH = phxRules(
		"OE", "E", "EU", "E", "AU", "O", "OI", "2", "OY", "2", "OU", "3",
		"CH", "5", "SH", "5", "SS", "S", "SC", "S",
	)
)
