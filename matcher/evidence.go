package matcher

import (
	"time"

	"github.com/antzucaro/matchr"
)

// DateDiff says how two full birth dates that differ beyond one slip
// differ: by typing slips, or as the dates of two people would.
type DateDiff int

// The kinds of date difference.
const (
	DateDiffNone       DateDiff = iota // not two full dates that differ beyond one slip
	DateDiffSlips                      // at most two typing slips, or a few weeks apart
	DateDiffSibling                    // another year less than GenerationYears apart: a brother or sister
	DateDiffGeneration                 // GenerationYears or more apart: a parent and a child
)

// GenerationYears is the smallest difference of birth years read as a
// parent and a child rather than brothers and sisters.
const GenerationYears = 12

// closeDays is how far apart two dates may be and still be one date typed
// or remembered approximately (a day and a month off by one each).
const closeDays = 62

// ClassifyDates tells typing slips from dates that describe another person.
// A slip is one digit of the day, month or year typed wrong, two adjacent
// digits swapped, the year off by 1, 10 or 100, or the day and month
// swapped; two dates at most two slips apart, or within a few weeks of
// each other, are one date typed twice. Otherwise the years say who the
// other could be: GenerationYears or more apart, a parent (father and son
// bearing one name); fewer, a brother or sister.
func ClassifyDates(a, b Date) DateDiff {
	if compareDate(a, b) != DateDifferent || !a.Full() || !b.Full() || a.Placeholder || b.Placeholder {
		return DateDiffNone
	}
	if dateSlips(a, b) <= 2 || daysApart(a, b) <= closeDays {
		return DateDiffSlips
	}
	if abs(float64(a.Year-b.Year)) >= GenerationYears {
		return DateDiffGeneration
	}
	return DateDiffSibling
}

// ClassifyPairDates is ClassifyDates read with the rest of the pair:
// birth dates a brother's or a sister's gap apart on two records of one
// home (the same e-mail address or phone)
// bearing the same birth name, exactly the same first name and no other sex
// are not two
// children of that home, since no parents give two of their children one
// first name: they are one person's date typed or remembered badly, and
// count as slips (the weights decide). Dates a generation apart stay a
// parent and a child (a son bears his father's first name). Without a home
// in common the sibling reading stays: two namesakes born a year or two
// apart (MOREAU ANDRÉ, 1939 and 1940) are as likely as one person with a
// wrong date; so it does with a first name only alike (MATHIS / MATIAS)
// or found further in the list (MARGOT, and MELISA MARGOT her sister).
func ClassifyPairDates(c *Comparison) DateDiff {
	if c.A == nil || c.B == nil {
		return DateDiffNone
	}
	kind := ClassifyDates(c.A.Date, c.B.Date)
	if kind == DateDiffSibling && c.Levels[FieldFirstName] == NameExact && sameFamily(c.Levels[FieldName]) &&
		c.Levels[FieldSex] != Disagree && sameHome(c) {
		return DateDiffSlips
	}
	return kind
}

// sameFamily reports whether a family-name level says the two names are
// one birth name (up to a slip). A birth name found as the other's name
// in use (NameCross) is not: spouses share it, and a wife and her husband
// may both be DOMINIQUE or CLAUDE.
func sameFamily(l Level) bool { return l != Null && (l <= NameCompound || l == NameTypo) }

// sameHome reports whether the pair shows a home in common: an e-mail
// address or a phone. An address line alone is not enough: it is compared
// with a margin for slips, house numbers included (8 and 9 BD DES ANGLAIS),
// and neighbours bearing one family's names (RIFAULT DIDIER, 1953 and
// 1964, two doors apart) are two persons.
func sameHome(c *Comparison) bool {
	e, h := c.Levels[FieldEmail], c.Levels[FieldHousehold]
	return e == EmailSame || e == EmailNear || h == HouseAddressPhone || h == HousePhone
}

// dateSlips counts the typing slips between two full dates (3 meaning
// three or more).
func dateSlips(a, b Date) int {
	straight := yearSlips(a.Year, b.Year) + twoDigitSlips(a.Month, b.Month) + twoDigitSlips(a.Day, b.Day)
	swapped := 1 + yearSlips(a.Year, b.Year) + twoDigitSlips(a.Month, b.Day) + twoDigitSlips(a.Day, b.Month)
	return min(straight, swapped, 3)
}

func yearSlips(a, b int) int {
	d := a - b
	switch {
	case d == 0:
		return 0
	case yearTypo(a, b), d == 10 || d == -10, d == 100 || d == -100:
		return 1
	}
	// Two digits wrong.
	n := 0
	for x, y := a, b; x > 0 || y > 0; x, y = x/10, y/10 {
		if x%10 != y%10 {
			n++
		}
	}
	return min(n, 3)
}

// twoDigitSlips counts the slips between two days or two months written
// with two digits: one digit wrong or the two swapped is one slip.
func twoDigitSlips(a, b int) int {
	switch {
	case a == b:
		return 0
	case a/10 == b/10 || a%10 == b%10 || a/10 == b%10 && a%10 == b/10:
		return 1
	}
	return 2
}

func daysApart(a, b Date) float64 {
	ta := time.Date(a.Year, time.Month(a.Month), a.Day, 0, 0, 0, 0, time.UTC)
	tb := time.Date(b.Year, time.Month(b.Month), b.Day, 0, 0, 0, 0, time.UTC)
	return abs(ta.Sub(tb).Hours() / 24)
}

// twoSlips reports whether two names are at most two keystrokes apart
// (letters replaced, added, dropped or two adjacent ones swapped), long
// enough for that to leave most of the name: JEAH / JFAN, LAUFN / LAUREN.
func twoSlips(a, b string) bool {
	return min(len(a), len(b)) >= 4 && matchr.OSA(a, b) <= 2
}

// householdShared reports whether the household level says the two
// records live together (address or phone), or cannot say (no household
// traits to compare): in both cases "another member of the home" is a
// possible reading of a pair.
func householdShared(l Level) bool {
	return l == Null || l <= HousePhone
}

// siblingFirstNames reports whether the first names of a pair whose birth
// dates differ by slips leave a brother or a sister possible: a first name
// missing, or two first names only alike that may both be real, distinct
// names (MATHIS and MATIAS: twinNames). The same name, a variant, a cut,
// the names typed in each other's fields (swapped: both agree), or a first
// name one keystroke from the other and no given name at all (RNYAN for
// RYAN: a slip, not a brother's name) leave none.
func siblingFirstNames(c *Comparison, freq Frequencies) bool {
	switch l := c.Levels[FieldFirstName]; {
	case l == Null:
		return true
	case l <= NameCompound, l == NameSwapped:
		return false
	case l != NameTypo:
		// Further apart than a keystroke: a sister's garbled name
		// (LEONKE for LEONIE beside LEANE) is as likely as a slip.
		return true
	}
	return c.A == nil || c.B == nil || twinNames(c.A, c.B, freq)
}
