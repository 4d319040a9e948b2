package matcher

import "strings"

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
// from a given name and two from the other record's (MQELIA, one key from
// MAELIA, two from MEHLIA) taken for that given name mistyped, a twin's;
// on the census population without household columns it held back as
// many one-person pairs as it saved twins (recall 0.947 to 0.943), and was
// left out.
func twinName(p, other *Prepared, freq Frequencies) bool {
	n, o := &p.First, &other.First
	if !realFirstNameBeside(n, o, freq) {
		return false
	}
	if sexContradicts(p, o) {
		return false
	}
	c, ok := freq.(interface{ FirstNameCount(string) int })
	if !ok || freq == nil || !oneSlip(n.Glued, o.Glued) {
		return true
	}
	if _, known := KnownGivenName(n.Glued); known {
		// The record at hand counts: it may be the first of its name.
		return (c.FirstNameCount(n.Glued)+1)*slipRatio >= c.FirstNameCount(o.Glued)
	}
	return c.FirstNameCount(n.Glued)*oneKeyRatio >= c.FirstNameCount(o.Glued)
}

// oneKeyRatio is slipRatio for a name the French list does not know, one
// keystroke from the name it is compared with: carried by fewer than one
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
