package matcher

import (
	"slices"
	"strings"

	"github.com/antzucaro/matchr"
)

// Field is one compared trait of the model.
type Field int

// The compared fields. Postal code, city, address line and phone are one
// field (household): everyone who lives together shares them, so they move
// together and are not independent evidence (see compareHousehold).
const (
	FieldName       Field = iota // family name: birth name, name in use
	FieldFirstName               // first names
	FieldBirthDate               // birth date
	FieldSex                     // sex
	FieldBirthPlace              // birthplace code
	FieldINS                     // national identifier
	FieldHousehold               // postal code, city, address line and phone together
	FieldEmail                   // e-mail address (often a family's: see email.go)
	NumFields
)

// Level is a discrete comparison outcome of one field: 0 is the strongest
// agreement, higher values are weaker, and Null means the field says nothing
// (missing or placeholder on either side).
type Level int8

// Null is the level of a field that is missing on either side: weight 0.
const Null Level = -1

// Name levels (FieldName and FieldFirstName share the same scale; some levels
// only occur for one of them).
const (
	NameExact    Level = iota // same letters (hyphens, spaces, apostrophes ignored)
	NameVariant               // particles dropped or glued; first name: another of the birth first names
	NameCompound              // part of a compound name (MARTIN / MARTIN-DUPONT, JEAN / JEAN-PIERRE)
	NameCross                 // birth name of one is the name in use of the other
	NameSwapped               // family name and first name swapped
	NameTypo                  // one keyboard slip (Jaro-Winkler ≥ 0.94)
	NamePhonetic              // same French or Double Metaphone key
	NameSimilar               // Jaro-Winkler ≥ 0.88
	NameDifferent
)

// Birth date levels.
const (
	DateExact       Level = iota // same full date
	DatePlaceholder              // same date, but 1 January or 31 December
	DateSwap                     // day and month swapped
	DateOneOff                   // one of day, month, year differs (year by a typo)
	DatePartial                  // compatible: a partial or placeholder date agreeing on what it says
	DateDifferent
)

// Levels of the binary and three-way fields.
const (
	Agree    Level = 0
	Disagree Level = 1

	PlaceSame       Level = 0 // same commune or country
	PlaceDepartment Level = 1 // same département
	PlaceDifferent  Level = 2

	INSSame      Level = 0
	INSDifferent Level = 1

	HouseAddressPhone Level = 0 // same address line (in the same postal code or city) and same phone
	HouseAddress      Level = 1 // same address line; a phone is missing
	HouseOtherPhone   Level = 2 // same address line, different phones
	HousePhone        Level = 3 // same phone; address lines differ or one is missing
	HousePostal       Level = 4 // same postal code or city only
	HouseDepartment   Level = 5 // same département only
	HouseDifferent    Level = 6 // nothing of the household in common
)

// fieldInfo names each field and its levels, for explanations and the model
// file.
var fieldInfo = [NumFields]struct {
	name   string
	levels []string
}{
	FieldName:       {"name", []string{"exact", "variant", "compound", "cross", "swapped", "typo", "phonetic", "similar", "different"}},
	FieldFirstName:  {"first_name", []string{"exact", "variant", "compound", "cross", "swapped", "typo", "phonetic", "similar", "different"}},
	FieldBirthDate:  {"birth_date", []string{"exact", "placeholder", "day_month_swap", "one_part_off", "partial", "different"}},
	FieldSex:        {"sex", []string{"same", "different"}},
	FieldBirthPlace: {"birth_place", []string{"same", "same_department", "different"}},
	FieldINS:        {"ins", []string{"same", "different"}},
	FieldHousehold:  {"household", []string{"same_address_and_phone", "same_address", "same_address_other_phone", "same_phone", "same_postal_code", "same_department", "different"}},
	FieldEmail:      {"email", []string{"same", "near", "different"}},
}

// String returns the field's name as used in explanations and model files.
func (f Field) String() string {
	if f >= 0 && f < NumFields {
		return fieldInfo[f].name
	}
	return "unknown"
}

// NumLevels returns how many non-null levels the field has.
func (f Field) NumLevels() int { return len(fieldInfo[f].levels) }

// LevelName returns the name of one of the field's levels ("missing" for Null).
func (f Field) LevelName(l Level) string {
	if l == Null {
		return "missing"
	}
	if int(l) < len(fieldInfo[f].levels) {
		return fieldInfo[f].levels[l]
	}
	return "?"
}

// Comparison is the outcome of comparing two prepared records: a level per
// field plus what the hard rules need.
type Comparison struct {
	Levels [NumFields]Level

	// NameValue and FirstValue are the agreed values when the name fields
	// agree exactly: their frequency adjusts the weight.
	NameValue, FirstValue string

	// Notes say in words why a field got its level when the level's name
	// alone would mislead (a first name cut short graded as compound).
	Notes [NumFields]string

	A, B *Prepared
}

// Compare compares two prepared records field by field.
func Compare(a, b *Prepared) Comparison {
	c := Comparison{A: a, B: b}
	c.Levels[FieldName], c.NameValue = compareFamily(a, b)
	c.Levels[FieldFirstName], c.FirstValue, c.Notes[FieldFirstName] = compareFirst(a, b)
	if c.Levels[FieldName] >= NameTypo && c.Levels[FieldFirstName] >= NameTypo && swapped(a, b) {
		c.Levels[FieldName], c.Levels[FieldFirstName] = NameSwapped, NameSwapped
		c.NameValue, c.FirstValue = "", ""
	}
	c.Levels[FieldBirthDate] = compareDate(a.Date, b.Date)
	c.Levels[FieldSex] = compareSex(a.Sex, b.Sex)
	c.Levels[FieldBirthPlace] = comparePlace(a.BirthPlace, b.BirthPlace)
	c.Levels[FieldINS] = Null
	// An INS that contradicts its own record (a parent's NIR on a child's
	// record) is no evidence about the pair.
	if a.HasINS && b.HasINS && !a.INSMismatch && !b.INSMismatch {
		c.Levels[FieldINS] = INSDifferent
		if a.INS.Number == b.INS.Number {
			c.Levels[FieldINS] = INSSame
		}
	}
	c.Levels[FieldHousehold] = compareHousehold(a, b)
	c.Levels[FieldEmail] = compareEmail(a.Email, b.Email)
	return c
}

// compareNames compares two name values on the shared name scale, without
// the cross and swap levels that need the whole record.
func compareNames(a, b *Name) Level {
	if a.Empty() || b.Empty() {
		return Null
	}
	if a.Glued == b.Glued {
		return NameExact
	}
	if a.CoreGlued == b.CoreGlued || particlePrefixMatch(a.Glued, b.CoreGlued) || particlePrefixMatch(b.Glued, a.CoreGlued) {
		return NameVariant
	}
	if tokenSubset(a.Core, b.Core) || tokenSubset(b.Core, a.Core) {
		return NameCompound
	}
	return fuzzy(a, b)
}

// fuzzy grades two names that differ in spelling.
func fuzzy(a, b *Name) Level {
	jw := matchr.JaroWinkler(a.CoreGlued, b.CoreGlued, false)
	switch {
	case jw >= 0.94:
		return NameTypo
	case a.Phonex != "" && a.Phonex == b.Phonex,
		a.Metaphone != "" && (a.Metaphone == b.Metaphone || a.Metaphone == b.Metaphone2 || a.Metaphone2 == b.Metaphone) && jw >= 0.80,
		a.Soundex2 != "" && a.Soundex2 == b.Soundex2 && jw >= 0.85:
		return NamePhonetic
	case jw >= 0.88:
		return NameSimilar
	}
	return NameDifferent
}

// tokenSubset reports whether every token of small is in big and big has more.
func tokenSubset(small, big []string) bool {
	if len(small) == 0 || len(small) >= len(big) {
		return false
	}
	for _, s := range small {
		if len(s) < 2 {
			return false
		}
		found := false
		for _, t := range big {
			if s == t {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// family returns the name that stands for the family name: the birth name,
// or the name in use when the birth name is missing.
func family(p *Prepared) *Name {
	if !p.Birth.Empty() {
		return &p.Birth
	}
	return &p.Used
}

func compareFamily(a, b *Prepared) (Level, string) {
	fa, fb := family(a), family(b)
	l := compareNames(fa, fb)
	if l == NameExact {
		return l, fa.CoreGlued
	}
	if l == NameVariant {
		return l, ""
	}
	if l != Null && l <= NameTypo {
		return l, ""
	}
	// The name in use typed as the birth name, at one site or the other.
	for _, pair := range [2][2]*Name{{&a.Birth, &b.Used}, {&a.Used, &b.Birth}} {
		if x := compareNames(pair[0], pair[1]); x != Null && x <= NameVariant {
			return NameCross, ""
		}
	}
	if a.Birth.Empty() || b.Birth.Empty() {
		if x := compareNames(&a.Used, &b.Used); x != Null && x <= NameVariant && (l == Null || l > NameCross) {
			return NameCross, ""
		}
	}
	return l, ""
}

func compareFirst(a, b *Prepared) (Level, string, string) {
	l := compareNames(&a.First, &b.First)
	if l == Null || l == NameExact {
		if l == NameExact {
			return l, a.First.Glued, ""
		}
		return l, "", ""
	}
	// Known by another of the birth first names.
	if inList(&a.First, b.List) || inList(&b.First, a.List) {
		return NameVariant, "", ""
	}
	if l == NameVariant {
		return NameCompound, "", ""
	}
	if l == NameCompound || compoundPart(&a.First, b) || compoundPart(&b.First, a) {
		return NameCompound, "", ""
	}
	// A first name cut short (CHRISTOP, A. CAROLINE, JP) is the full one
	// abbreviated, not another name.
	if l >= NameTypo && abbreviates(&a.First, &b.First) {
		return NameCompound, "", "one is the other cut short or abbreviated"
	}
	// A compound written in one word, or cut short and mistyped.
	// Not across the sexes: a man's and a woman's names are not one.
	if l >= NameTypo && !(a.Sex == 'M' && b.Sex == 'F' || a.Sex == 'F' && b.Sex == 'M') {
		if g, note := gluedCompound(&a.First, &b.First); g != Null && g < l {
			return g, "", note
		}
	}
	// One keystroke on a short name (TOM / TPM) is a slip when one of the
	// two is no given name at all; TOM / TIM are two names.
	if l == NameDifferent && len(a.First.Glued) >= 3 && len(b.First.Glued) >= 3 && oneSlip(a.First.Glued, b.First.Glued) {
		_, ka := KnownGivenName(a.First.Glued)
		_, kb := KnownGivenName(b.First.Glued)
		if !ka || !kb {
			return NameTypo, "", "one keystroke apart, and one of them is no known first name"
		}
	}
	// Two keystrokes apart where one of the two is no given name at all
	// (JEAH / JFAN, LAUFN / LAUREN): a garbled name, not another person's.
	// Two real given names (ANNA / ANNE... LEON / LEONIE) stay apart.
	if l == NameDifferent && twoSlips(a.First.Glued, b.First.Glued) {
		_, ka := KnownGivenName(a.First.Glued)
		_, kb := KnownGivenName(b.First.Glued)
		if !ka || !kb {
			return NameSimilar, "", "two keystrokes apart, and one of them is no known first name"
		}
	}
	return l, "", ""
}

func inList(n *Name, list []Name) bool {
	for i := range list {
		if list[i].Glued == n.Glued && !n.Empty() {
			return true
		}
	}
	return false
}

// compoundPart reports whether n is one part of a compound first name of p
// (JEAN for JEAN-PIERRE, CLAIRE for MARIE-CLAIRE).
func compoundPart(n *Name, p *Prepared) bool {
	if n.Empty() || len(n.Glued) < 2 {
		return false
	}
	for _, t := range p.First.Tokens {
		if t == n.Glued {
			return true
		}
	}
	for i := range p.List {
		for _, t := range p.List[i].Tokens {
			if t == n.Glued {
				return true
			}
		}
	}
	return false
}

// swapped reports whether family name and first name were typed in each
// other's field on one side.
//
// Both alike to a slip, or one the same and the other only similar
// (BLAND MELANY / MELANY BLANC, CHZRLINE DE BAILLIENCOURT / DE
// BAILLIENCOURT CHARLINE, the similar pair not two given names): a swap
// and a slip come together as often as two slips do.
func swapped(a, b *Prepared) bool {
	fa, fb := family(a), family(b)
	x := compareNames(fa, &b.First)
	y := compareNames(&a.First, fb)
	if x == Null || y == Null {
		return false
	}
	if max(x, y) <= NameTypo {
		return true
	}
	// Only similar: the pair that is alike must not be two given names
	// (twins GEDET SHAYANNA and SHANNA GEDET share the family name, and
	// their first names are alike).
	if x <= NameVariant && y <= NameSimilar {
		return !bothGiven(&a.First, fb)
	}
	if y <= NameVariant && x <= NameSimilar {
		return !bothGiven(fa, &b.First)
	}
	return false
}

// bothGiven reports whether two names are both given names the French
// list knows.
func bothGiven(a, b *Name) bool {
	_, ka := KnownGivenName(a.Glued)
	_, kb := KnownGivenName(b.Glued)
	return ka && kb
}

func compareDate(a, b Date) Level {
	if a.IsZero() || b.IsZero() || a.Year == 0 || b.Year == 0 {
		return Null
	}
	if a == b {
		if !a.Full() {
			return DatePartial
		}
		if a.Placeholder {
			return DatePlaceholder
		}
		return DateExact
	}
	if a.Full() && b.Full() {
		if a.Year == b.Year && a.Day == b.Month && a.Month == b.Day {
			return DateSwap
		}
		if a.Placeholder != b.Placeholder {
			// A placeholder says only its year.
			if a.Year == b.Year {
				return DatePartial
			}
			return DateDifferent
		}
		diff := 0
		if a.Day != b.Day {
			diff++
		}
		if a.Month != b.Month {
			diff++
		}
		if a.Year != b.Year {
			if !yearTypo(a.Year, b.Year) {
				return DateDifferent
			}
			diff++
		}
		if diff == 1 {
			return DateOneOff
		}
		return DateDifferent
	}
	// A partial date on one side: compatible if what both know agrees.
	if a.Year != b.Year {
		return DateDifferent
	}
	if a.Month != 0 && b.Month != 0 && a.Month != b.Month {
		return DateDifferent
	}
	if a.Day != 0 && b.Day != 0 && a.Day != b.Day {
		return DateDifferent
	}
	return DatePartial
}

// yearTypo reports whether two years differ as a typing slip would make them:
// by one, in one digit, or by two adjacent digits swapped.
func yearTypo(a, b int) bool {
	if a-b == 1 || b-a == 1 {
		return true
	}
	da, db := [4]int{a / 1000, a / 100 % 10, a / 10 % 10, a % 10}, [4]int{b / 1000, b / 100 % 10, b / 10 % 10, b % 10}
	var diffs []int
	for i := range da {
		if da[i] != db[i] {
			diffs = append(diffs, i)
		}
	}
	switch len(diffs) {
	case 1:
		return true
	case 2:
		i, j := diffs[0], diffs[1]
		return j == i+1 && da[i] == db[j] && da[j] == db[i]
	}
	return false
}

func compareSex(a, b byte) Level {
	if a == 0 || b == 0 {
		return Null
	}
	if a == b {
		return Agree
	}
	return Disagree
}

// department returns the département part of a COG code: 3 characters
// overseas (97x, 98x), 2 otherwise.
func department(code string) string {
	if len(code) < 3 {
		return code
	}
	if code[:2] == "97" || code[:2] == "98" {
		return code[:3]
	}
	return code[:2]
}

func comparePlace(a, b string) Level {
	if a == "" || b == "" {
		return Null
	}
	switch {
	case a == b:
		return PlaceSame
	case department(a) == department(b) && department(a) != "99":
		return PlaceDepartment
	}
	return PlaceDifferent
}

// compareHousehold grades what two records say of where and with whom
// the person lives: address line, postal code, city and phone. These are
// shared by everyone in a household (spouses, brothers and sisters, twins,
// a father and the son named after him) and change together when a
// household moves, so they are one comparison with one m and u per level
// rather than independent fields whose weights would add up: two brothers
// agree on address and phone as surely as two records of one person.
func compareHousehold(a, b *Prepared) Level {
	postal := a.Postal != "" && a.Postal == b.Postal
	city := a.City != "" && (a.City == b.City || !postal && citySlip(a.City, b.City)) // a slip counts only where the postal code does not already say it
	address := a.Address != "" && b.Address != "" && (postal || city) &&
		(a.Address == b.Address || matchr.JaroWinkler(a.Address, b.Address, false) >= 0.93 || sameStreet(a, b))
	phone := a.Phone != "" && a.Phone == b.Phone
	switch {
	case address && phone:
		return HouseAddressPhone
	case address && a.Phone != "" && b.Phone != "":
		return HouseOtherPhone
	case address:
		return HouseAddress
	case phone:
		return HousePhone
	case postal || city:
		return HousePostal
	}
	if a.Postal != "" && b.Postal != "" {
		if department(a.Postal) == department(b.Postal) {
			return HouseDepartment
		}
		return HouseDifferent
	}
	if a.City != "" && b.City != "" || a.Phone != "" && b.Phone != "" {
		return HouseDifferent
	}
	return Null
}

// citySlip reports whether two city names differ by what typing does to a
// name, not by being two places: one keystroke (a letter missed, added,
// replaced or two swapped: DUUDLEY, LONDO, STHUBERTSCISLAND) in a name of
// at least five letters, two in one of at least ten. A city is typed by
// hand at every desk, its postal code often not at all; two communes whose
// names are a slip apart within one household's other traits are rarer
// than the slip.
func citySlip(a, b string) bool {
	n := min(len(a), len(b))
	switch {
	case n < 5 || a == "" || b == "":
		return false
	case oneSlip(a, b):
		return true
	case n >= 10 && len(a)-len(b) <= 2 && len(b)-len(a) <= 2:
		return matchr.OSA(a, b) <= 2
	}
	return false
}

// sameStreet reports whether two address lines name the same street in
// other words: every word of the shorter street name is in the other one,
// in any order, spelled the same or one keystroke apart, or glued to its
// neighbour with or without a slip (a second address line typed first, a
// space lost, a letter slipped), with at least five letters matched, and
// the house numbers do not contradict each other (see houseNumbersAgree).
// Two lines of one street a few numbers apart are two homes.
func sameStreet(a, b *Prepared) bool {
	if a.Street == "" || b.Street == "" || !houseNumbersAgree(a.Address, b.Address) {
		return false
	}
	wa, wb := strings.Fields(a.Street), strings.Fields(b.Street)
	if len(wa) > len(wb) {
		wa, wb = wb, wa
	}
	glued := strings.Join(wb, "")
	in := func(w string) bool { // w is a word of wb, or in it, or two of them glued with a slip
		if strings.Contains(glued, w) {
			return true
		}
		for i, x := range wb {
			if oneSlip(w, x) && min(len(w), len(x)) >= 4 || i+1 < len(wb) && len(w) >= 8 && oneSlip(w, x+wb[i+1]) {
				return true
			}
		}
		return false
	}
	matched := 0
	for i := 0; i < len(wa); i++ {
		switch w := wa[i]; {
		case i+1 < len(wa) && len(w+wa[i+1]) >= 8 && slices.ContainsFunc(wb, func(x string) bool { return oneSlip(w+wa[i+1], x) }):
			// two words of the shorter street glued in the other, with a slip
			matched += len(w) + len(wa[i+1])
			i++
		case in(w):
			matched += len(w)
		default:
			return false
		}
	}
	return matched >= 5
}

// houseNumbersAgree reports whether two glued address lines carry house
// numbers (their leading digits) that may be one: the same, one missing,
// or one keystroke apart (1340 / 1304).
func houseNumbersAgree(a, b string) bool {
	na, nb := leadingDigits(a), leadingDigits(b)
	return na == "" || nb == "" || na == nb || oneSlip(na, nb)
}

func leadingDigits(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}
