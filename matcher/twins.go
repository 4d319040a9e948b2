package matcher

import (
	"strings"

	"github.com/antzucaro/matchr"
)

// Twins share a family name, a birth date, a birthplace and a home; what
// tells them apart is their first names. When two records agree on all the
// rest and their first names are only alike (a slip or two apart), the
// pair is one person whose name was mistyped or two twins with alike
// names; the rule possible_twins sends it to a person when both names are
// real given names. This file decides what "real" means there, from
// evidence any hospital file carries: a name is a twin's own when it is a
// given name borne in its own right, not a variant that exists only as a
// slip of the other.

// twinNames reports whether the first names of a and b, only alike, may
// be two twins' names rather than one name written twice (see twinName).
func twinNames(a, b *Prepared, freq Frequencies) bool {
	return twinName(a, b, freq) && twinName(b, a, freq)
}

// twinName reports whether p's first name may be a twin's own name beside
// other's:
//
//   - a real given name (realFirstNameBeside), unless it is one keystroke
//     from the other and far rarer in the index (slipRatio for a name the
//     French list knows, oneKeyRatio for one it does not): the list also
//     holds rare spellings that are, in a file, mostly slips (MATIEU
//     beside MATHIEU, CLHOE beside CHLOE), and twins' names are not one
//     keystroke apart with one of them a rarity;
//   - unless the name is the other cut short, of the other sex than the
//     record's, the other name of the record's (ALEXANDR on a woman's
//     record beside ALEXANDRA): her name cut, not a name of hers.
//
// A name that is no given name is a slip. Whose slip was tried: one key
// from a given name that is not the other record's, itself a real name,
// and two keys from it (MQELIA, one key from MAELIA, two from MEHLIA; AEXL
// beside NAEL) taken for a twin's name mistyped. On a census population
// with five times the twins it kept two twin pairs apart of five, and cost
// recall on every set (seed 202 0.972 to 0.969, 303 without household
// columns 0.948 to 0.946): one person's names garbled two ways look the
// same. Left out (docs/benchmarks.md).
func twinName(p, other *Prepared, freq Frequencies) bool {
	n, o := &p.First, &other.First
	if !realFirstNameBeside(n, o, freq) {
		return false // a slip (see below)
	}
	if sexContradicts(p, o) || cutShort(n.Glued, o.Glued) {
		return false
	}
	c, ok := freq.(interface{ FirstNameCount(string) int })
	if !ok || freq == nil {
		return true
	}
	_, known := KnownGivenName(n.Glued)
	switch {
	case oneSlip(n.Glued, o.Glued) && known:
		// The record at hand counts: it may be the first of its name.
		return (c.FirstNameCount(n.Glued)+1)*slipRatio >= c.FirstNameCount(o.Glued)
	case oneSlip(n.Glued, o.Glued), !known && twoSlips(n.Glued, o.Glued):
		return c.FirstNameCount(n.Glued)*oneKeyRatio >= c.FirstNameCount(o.Glued)
	}
	return true
}

// minCutLetters is the shortest first name read as another cut at its
// end by a field's length (CHRISTIA for CHRISTIANE, ELISABET, JEANFRA for
// JEAN-FRANCOIS): shorter, the cut is a name of its own (LEA, LEANE; ELIA,
// ELIANE; EMMA, EMMANUELLE) that parents may give one of two twins.
const minCutLetters = 6

// cutShort reports whether s is l cut short at its end by a field's
// length, at least minCutLetters letters left, and no usual sex tells the
// two apart. Twins are given two names, not one name and its first
// letters: the French list holds CHRISTIA, ELISABET and ALEXANDR, borne a
// few times a year, and a file that cuts names at eight characters holds
// them by the hundred, so being a known name does not make the cut a
// twin's own. A cut of the other sex (LOUIS beside LOUISE, FRANCOIS beside
// FRANCOISE) is another name, or a cut sexContradicts reads with the
// record's sex. Compare grades such a cut as the name abbreviated (see
// abbreviates), and the twins' rules do not read it as a twin's name.
func cutShort(s, l string) bool {
	if len(s) < minCutLetters || len(s) >= len(l) || !strings.HasPrefix(l, s) {
		return false
	}
	ss, sok := KnownGivenName(s)
	ls, lok := KnownGivenName(l)
	return !sok || !lok || ss == 'X' || ls == 'X' || ss == ls
}

// oneKeyRatio is slipRatio for a name the French list does not know, one
// keystroke from the name it is compared with, or two (a character reader
// reads RN for M and CL for D: EMRNA, CLAUCLE): carried by fewer than one
// record in oneKeyRatio of those bearing that name, it is a slip that
// recurs. A character reader misreads L as I, N as H, E as F on every form
// of a name it reads, so at a site that scans its forms a slip of a common
// name is typed the same way dozens of times (PAUI, JEAH, ISABFLLE beside
// thousands of PAUL, JEAN, ISABELLE in a region), more often than one in
// slipRatio; names of twins are not one key apart with one of them
// unknown to the registry and ten times rarer than the other.
const oneKeyRatio = 10

// sexContradicts reports whether p's first name is the other name cut
// short and usually borne by the other sex than p's, while the other name
// is usually borne by p's: FRANCOIS on a woman's record beside FRANCOISE
// is her name cut at the field's end or the last key missed. Twins LOUIS
// and LOUISE each carry their own sex; LOUISE on a man's record beside
// LOUIS is no cut, and may be his twin sister's record with the sex
// mistyped.
func sexContradicts(p *Prepared, o *Name) bool {
	if p.Sex != 'M' && p.Sex != 'F' || !strings.HasPrefix(o.Glued, p.First.Glued) {
		return false
	}
	ns, ok := KnownGivenName(p.First.Glued)
	if !ok || ns == 'X' || ns == p.Sex {
		return false
	}
	os, ok := KnownGivenName(o.Glued)
	return ok && os == p.Sex
}

// boyGirlTwins reports whether a pair whose sexes differ bears one first
// name, one family name and one birth date: a boy and a girl given paired
// names (CONSTANTIN and CONSTANTINE) that a field's length cut to one, or
// one record's sex mistyped; a person decides which.
func boyGirlTwins(c *Comparison) bool {
	return c.Levels[FieldFirstName] == NameExact && c.Levels[FieldBirthDate] == DateExact &&
		c.Levels[FieldName] != Null && c.Levels[FieldName] <= NameSimilar && c.Levels[FieldINS] != INSSame
}

// unnamedTwin reports whether a pair bears one family name and one birth
// date while one record carries no first name to compare (none, or a
// placeholder: NOM, BEBE, JUMEAU), in one home (same address or phone).
// Twins agree on everything such a
// record says: the family name, the date, the sex, the home. A record
// typed "LE GALL NOM" beside the identity of LE GALL YVANN may be his
// twin brother's, whose first name was never typed; only the first name
// told them apart, and it is missing. A person decides. Where nothing
// says the two live together, a missing first name is left to the
// weights: on Splink's fake_1000 (names, birth date and town, many
// missing) holding such pairs cost recall 0.028 for no collision.
func unnamedTwin(c *Comparison) bool {
	return c.Levels[FieldFirstName] == Null && c.Levels[FieldBirthDate] == DateExact &&
		c.Levels[FieldName] != Null && c.Levels[FieldName] <= NameSimilar &&
		c.Levels[FieldINS] != INSSame && c.Levels[FieldHousehold] != Null && c.Levels[FieldHousehold] <= HousePhone
}

// slipsTwins reports whether a pair of one family name, in a home the two
// may share, differs by a slip in the birth date (one component, or day
// and month swapped) and by more than one keystroke in the first name
// (only phonetically alike or similar, and at least two keystrokes
// apart: MAITE typed MAITA is one). One person's record typed with
// two slips looks like this, and so do twins whose one record carries a
// garbled first name and a date slip (ASSA born 24/02/2017 beside
// ALSYSA, her sister ALYSSA's record, typed 24/02/2016), or a brother or
// sister born a year to the day apart. Where a slip of the date and one of
// the first name come together in one home, a person decides: the rule of
// two slips in the date and alike first names (birth_date_conflict) says
// the same of wider date slips.
func slipsTwins(c *Comparison) bool {
	d, f := c.Levels[FieldBirthDate], c.Levels[FieldFirstName]
	return (d == DateOneOff || d == DateSwap) && (f == NamePhonetic || f == NameSimilar) &&
		c.Levels[FieldName] != Null && c.Levels[FieldName] <= NameSimilar &&
		c.Levels[FieldINS] != INSSame && householdShared(c.Levels[FieldHousehold]) &&
		c.A != nil && c.B != nil && matchr.OSA(c.A.First.Glued, c.B.First.Glued) >= 2
}

// moreTwins reports the other shapes of twins' records a person must tell
// from one patient's records, with the reason staff read, or "": pairs of
// one family name, the two records in one home or nothing saying where they
// live, no INS in common.
//
//   - One twin's first name is a later birth first name of the other's list
//     (MANON beside INES CATHERINE MANON, EVAN beside JEAN ALAIN EVAN
//     VINCENT), on one birth date, and the two first names are two real,
//     unlike given names. One person called by a later name of hers looks
//     the same, and so do twins given each other's name among their later
//     ones; nothing on the two records tells which.
//   - A record without birth date whose first name is a slip of the other's,
//     both real given names (twinNames: NORAH beside NORA), in one home: the
//     rule of alike first names on one birth date, with no date to compare.
//   - One record filled from INSi (a valid INS: its list is the whole list
//     of birth first names) and the other's first birth first name, a real
//     given name, alike to none of that list (ADAM, typed ADAL in the
//     first-name field, beside ARDA NATHAN MATTEO), on one birth date: her
//     twin's record with the first name garbled into hers.
func moreTwins(c *Comparison, freq Frequencies) string {
	a, b := c.A, c.B
	nl, fl, dl := c.Levels[FieldName], c.Levels[FieldFirstName], c.Levels[FieldBirthDate]
	if a == nil || b == nil || nl == Null || nl > NameSimilar || nl == NameCross || nl == NameSwapped || fl == NameSwapped ||
		c.Levels[FieldINS] == INSSame || !householdShared(c.Levels[FieldHousehold]) {
		return ""
	}
	switch {
	case dl == DateExact && fl == NameVariant && laterNameTwins(a, b, freq):
		return "same family name and birth date, one first name is a later birth first name of the other, whose first name is another: possible twins, not linked without a person"
	case dl == Null && fl >= NameTypo && fl <= NameSimilar && c.Levels[FieldHousehold] != Null && twinNames(a, b, freq):
		return "same family name, no birth date to compare, first names only alike, in one home: possible twins, not linked without a person"
	case dl == DateExact && (outsideWholeList(a, b, freq) || outsideWholeList(b, a, freq)):
		return "same family name and birth date, and a first name that is not among the birth first names INSi gives the other: possible twins, not linked without a person"
	}
	return ""
}

// laterNameTwins reports whether the first names of a and b are two real
// given names unlike each other (neither a slip, a cut, a part nor a
// variant of the other, their lists left aside), which Compare found one of
// in the other's list.
func laterNameTwins(a, b *Prepared, freq Frequencies) bool {
	if !realFirstName(&a.First, freq) || !realFirstName(&b.First, freq) ||
		strings.HasPrefix(a.First.Glued, b.First.Glued) || strings.HasPrefix(b.First.Glued, a.First.Glued) {
		return false
	}
	x, y := *a, *b
	x.List, y.List = nil, nil
	if l, _, _ := compareFirst(&x, &y); l != NameDifferent {
		return false
	}
	// Each record's first birth first name: a record whose own list
	// begins with the other's first name (MIIA, first names MILA EMILIE)
	// bears a slip in its first-name field, not a twin's name.
	x.First, y.First = *firstBirthName(a), *firstBirthName(b)
	l, _, _ := compareFirst(&x, &y)
	return l == NameDifferent
}

// firstBirthName is p's first birth first name: the first of its list, or
// its first name without one.
func firstBirthName(p *Prepared) *Name {
	if len(p.List) > 0 && !p.List[0].Empty() {
		return &p.List[0]
	}
	return &p.First
}

// outsideWholeList reports whether full carries a valid INS and its list
// of birth first names, and other's first birth first name (the first of
// its list, else its first name) is a real given name alike to none of
// them.
func outsideWholeList(full, other *Prepared, freq Frequencies) bool {
	if !full.HasINS || full.INSMismatch || len(full.List) == 0 {
		return false
	}
	n := &other.First
	if len(other.List) > 0 {
		n = &other.List[0]
	}
	if _, known := KnownGivenName(n.Glued); !known || !realFirstName(n, freq) {
		return false
	}
	for i := range full.List {
		if l := compareNames(&full.List[i], n); l != Null && l <= NameSimilar || abbreviates(&full.List[i], n) {
			return false
		}
	}
	return true
}
