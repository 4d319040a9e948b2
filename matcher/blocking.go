package matcher

import (
	"math"
	"strconv"
	"strings"
)

// Blocking rules: each names the fields its key is built from, which EM
// must not estimate from the pairs the rule yields.
const (
	BlockNameYear  = "name_year"     // phonetic family name (birth or in use) + birth year
	BlockDate      = "birth_date"    // full birth date, day and month unordered
	BlockFirstYear = "first_year"    // phonetic first name + birth year
	BlockFirstCode = "first_place"   // phonetic first name + postal code, else town
	BlockSwap      = "swapped"       // family and first names in either order + birth year
	BlockINS       = "ins"           // national identifier
	BlockNameFirst = "name_first"    // phonetic family name + initial of the first name (birth date wrong)
	BlockAddress   = "address"       // postal code, and town, + start of the street's name (names and date wrong)
	BlockDatePlace = "date_place"    // full birth date, day and month unordered + postal code, and + town (both names wrong)
	BlockNameDay   = "name_day"      // phonetic family name, and first name, + day and month of birth, unordered (birth year wrong, names swapped)
	BlockEmail     = "email"         // normalised e-mail address, and its local part alone (every other trait wrong)
	BlockDateInit  = "date_initials" // full birth date, day and month unordered + initials of family and first names, unordered (both names garbled)
)

// RareSuffices reports whether a key of the rule, when held by very few
// records, is enough on its own to compare two records. The full birth
// date is not: how many records share one grows with the index, so a small
// block only says the index is small. INS always suffices (see the index).
func RareSuffices(rule string) bool {
	return rule != BlockDate && rule != BlockINS && rule != BlockDatePlace && rule != BlockDateInit
}

// RareBlock is the size up to which a single shared key suffices to compare
// (see RareSuffices) for an index scored with m: at least base, and never
// under the records one person has on average plus one, since a key held
// by one person's records alone is as rare as a key can be. With base 3,
// a population where a person has about two records keeps 3; a feed of
// 1,000 records of 250 persons (four records each) gets 6, so that a
// name shared by one person's four records and a new one still compares.
// A base of 0 or less turns the rare rule off, whatever m.
func RareBlock(base int, m *Model) int {
	if m == nil || base <= 0 {
		return base
	}
	return max(base, int(math.Ceil(1+m.MatchesPerRecord))+1)
}

// BlockFields returns the fields a blocking rule compares.
func BlockFields(rule string) []Field {
	switch rule {
	case BlockNameYear:
		return []Field{FieldName, FieldBirthDate}
	case BlockDate:
		return []Field{FieldBirthDate}
	case BlockFirstYear:
		return []Field{FieldFirstName, FieldBirthDate}
	case BlockFirstCode:
		return []Field{FieldFirstName, FieldHousehold}
	case BlockSwap:
		return []Field{FieldName, FieldFirstName, FieldBirthDate}
	case BlockINS:
		return []Field{FieldINS}
	case BlockNameFirst:
		return []Field{FieldName}
	case BlockAddress:
		return []Field{FieldHousehold}
	case BlockDatePlace:
		return []Field{FieldBirthDate, FieldHousehold}
	case BlockNameDay:
		return []Field{FieldName, FieldBirthDate}
	case BlockEmail:
		return []Field{FieldEmail}
	case BlockDateInit:
		return []Field{FieldBirthDate, FieldName, FieldFirstName}
	}
	return nil
}

// TrainingRules are the blocking rules whose candidate pairs EM may learn m
// from. The rules that pair records by residence (address, postal code +
// first name) are left out: the pairs they yield are mostly households
// (spouses, parents and children, twins), and EM fitted on them learns
// "same household" instead of "same person" — agreeing phone and address
// become overwhelming and a different first name or birth date harmless.
// The e-mail rule is left out for the same reason (a family's address).
// The INS rule is kept: records sharing a valid INS are the cleanest sample
// of true matches there is.
var TrainingRules = []string{BlockINS, BlockNameYear, BlockDate, BlockFirstYear, BlockSwap, BlockNameFirst}

// BlockingRules lists every rule BlockingKeys uses.
var BlockingRules = []string{BlockNameYear, BlockDate, BlockFirstYear, BlockFirstCode, BlockSwap, BlockINS, BlockNameFirst, BlockAddress, BlockDatePlace, BlockNameDay, BlockEmail, BlockDateInit}

// BlockingKey is one key under which a record is filed: two records sharing
// a key are candidates for comparison.
type BlockingKey struct {
	Rule  string
	Value string
}

// BlockingKeys returns the keys under which a prepared record is filed. The
// rules overlap on purpose so that a record with one error (a typo in the
// name, a swapped day and month, a wrong year, a new name in use) still
// shares a key with its other records.
func BlockingKeys(p *Prepared) []BlockingKey {
	keys := make([]BlockingKey, 0, 10)
	add := func(rule, v string) {
		for _, k := range keys {
			if k.Rule == rule && k.Value == v {
				return
			}
		}
		keys = append(keys, BlockingKey{rule, v})
	}
	year := ""
	if p.Date.Year != 0 {
		year = strconv.Itoa(p.Date.Year)
	}
	phon := func(n *Name) string {
		if n.Empty() {
			return ""
		}
		if n.Phonex != "" {
			return n.Phonex
		}
		return n.CoreGlued
	}
	if year != "" {
		for _, n := range []*Name{&p.Birth, &p.Used} {
			if k := phon(n); k != "" {
				add(BlockNameYear, k+"|"+year)
			}
		}
		if k := phon(&p.First); k != "" {
			add(BlockFirstYear, k+"|"+year)
			if f := phon(family(p)); f != "" {
				a, b := f, k
				if a > b {
					a, b = b, a
				}
				add(BlockSwap, a+"|"+b+"|"+year)
			}
		}
	}
	if p.Date.Full() && !p.Date.Placeholder {
		d, m := p.Date.Day, p.Date.Month
		if d > m {
			d, m = m, d
		}
		add(BlockDate, year+"|"+strconv.Itoa(d)+"|"+strconv.Itoa(m))
		for _, place := range places(p) {
			add(BlockDatePlace, year+"|"+strconv.Itoa(d)+"|"+strconv.Itoa(m)+"|"+place)
		}
		// Under the first name too, in the same rule: a record whose
		// family and first names were typed in each other's field, one of
		// them with a slip, still shares the day of birth and the name
		// it spelt right with the person's other records.
		for _, n := range []*Name{family(p), &p.First} {
			if f := phon(n); f != "" && !n.Placeholder {
				add(BlockNameDay, f+"|"+strconv.Itoa(d)+"|"+strconv.Itoa(m))
			}
		}
		// The initials of the family and first names beside the whole
		// date: a record whose two names are both mistyped (KHALFAOUI
		// ANNE typed KHAIFAOUI AHNE, a character reader's L for I and H
		// for N) shares no phonetic key with the person's other records,
		// only the date (one rule, not enough to compare) and, nearly
		// always, the letters the names begin with. Unordered, so that
		// names typed in each other's field keep the key; a second rule
		// beside the date, so that the two records are compared, without
		// every record born on that day becoming a candidate.
		if !p.First.Empty() {
			for _, n := range []*Name{&p.Birth, &p.Used} {
				if n.Empty() {
					continue
				}
				a, b := n.Glued[:1], p.First.Glued[:1]
				if a > b {
					a, b = b, a
				}
				add(BlockDateInit, year+"|"+strconv.Itoa(d)+"|"+strconv.Itoa(m)+"|"+a+b)
			}
		}
	}
	// One place only: a first name and a town are shared by many
	// neighbours, and a second key of the same pair of traits would make
	// every namesake of a town a candidate (candidates per record 2.4 ->
	// 6.0 on 187,000 census records).
	if k, pl := phon(&p.First), places(p); k != "" && len(pl) > 0 {
		add(BlockFirstCode, k+"|"+pl[0])
	}
	// Under the name in use too: a married woman's record that gives
	// only her husband's name finds her record that gives both.
	if first := p.First.Glued; first != "" && !p.First.Placeholder {
		for _, n := range []*Name{family(p), &p.Used} {
			if f := phon(n); f != "" {
				add(BlockNameFirst, f+"|"+first[:1])
			}
		}
	}
	// The address under each place: a postal code mistyped (33080 for
	// 33800) or a town misspelt leaves the other one to find the home.
	if a := addressStem(p.Street); a != "" {
		for _, place := range places(p) {
			add(BlockAddress, place+"|"+a)
		}
	}
	if p.HasINS {
		add(BlockINS, p.INS.Number)
	}
	if p.Email != "" {
		add(BlockEmail, p.Email)
		// The mailbox name alone, when long enough to be someone's: the
		// same address with a slip in the domain, or at another provider.
		if local, _, _ := strings.Cut(p.Email, "@"); len(local) >= 4 {
			add(BlockEmail, local+"@")
		}
	}
	return keys
}

// places returns the record's postal code and its town, each a key of its
// own: one is often mistyped or missing where the other is right (a
// transposed digit of the postal code, a letter of the town), so a rule
// keyed on the place files the record under both.
func places(p *Prepared) []string {
	var out []string
	if p.Postal != "" {
		out = append(out, p.Postal)
	}
	if p.City != "" {
		out = append(out, "town:"+p.City)
	}
	return out
}

// addressStem is the first letters of a street's name (its words glued):
// robust to a wrong house number, an abbreviated street type and late
// typos.
func addressStem(street string) string {
	street = strings.ReplaceAll(street, " ", "")
	if len(street) < 4 {
		return ""
	}
	return street[:min(len(street), 6)]
}

// BlockingVersion numbers the rules BlockingKeys applies: a store whose
// records were filed under another version files them again when it opens
// (a record filed under fewer keys is never found through the new ones).
// Version 2 files the address under the town as well as the postal code,
// and the day of birth under the first name as well as the family name.
// Version 3 adds the birth date with the initials of the names
// (BlockDateInit) and files the name in use with the first name's initial.
const BlockingVersion = 3

// RulesOf returns how many rules the keys come from. BlockingKeys returns
// the keys of one rule one after the other; the index counts the rules two
// records share a key of, not the keys, since two keys of one rule (an
// address under its postal code and under its town) are one trait.
func RulesOf(keys []BlockingKey) int {
	n := 0
	for i := range keys {
		if i == 0 || keys[i].Rule != keys[i-1].Rule {
			n++
		}
	}
	return n
}
