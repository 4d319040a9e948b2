package synth

import (
	"fmt"
	"strings"
)

// Query is what a clinician types to find a person in a search form: the
// person's true traits as remembered or read from another system, with the
// slips people make when typing them. Person is the truth id.
type Query struct {
	Person     string
	BirthName  string
	UsedName   string
	FirstNames string
	BirthDate  string // full ISO date, a year, or empty
	Sex        string
	PostalCode string
	// Errors lists the slips applied, for reports.
	Errors []string
}

// TypedQuery builds a search query for p with realistic typing errors: at
// most two slips among dropped accents, a keyboard typo or a phonetic
// spelling of a name, a particle or compound separator written differently,
// the name in use instead of the birth name, a compound first name given
// partly, the second first name instead of the first, day and month swapped,
// the year only or no birth date. The same seed gives the same queries.
func TypedQuery(p *Person, seed uint64) Query {
	r := newRNG(seed, 0x5eac)
	q := Query{Person: p.ID, BirthName: p.BirthName, Sex: string(p.Sex), BirthDate: p.BirthDate()}
	if len(p.FirstNames) > 0 {
		q.FirstNames = p.FirstNames[0]
		if p.KnownBySecond && len(p.FirstNames) > 1 {
			q.FirstNames = p.FirstNames[1]
		}
	}
	if r.chance(0.3) {
		q.PostalCode = p.PostalCode
	}
	if r.chance(0.5) {
		q.Sex = ""
	}
	slips := r.between(0, 2)
	for i := 0; i < slips; i++ {
		switch r.intn(11) {
		case 0:
			q.BirthName, q.FirstNames = dropAccents(q.BirthName), dropAccents(q.FirstNames)
			q.Errors = append(q.Errors, "accents dropped")
		case 1:
			q.BirthName = typo(r, q.BirthName)
			q.Errors = append(q.Errors, "name typo")
		case 2:
			q.FirstNames = typo(r, q.FirstNames)
			q.Errors = append(q.Errors, "first-name typo")
		case 3:
			if s := phonetic(r, q.BirthName); s != q.BirthName {
				q.BirthName = s
				q.Errors = append(q.Errors, "phonetic spelling")
			}
		case 4:
			if pt := particleOf(q.BirthName); pt != "" {
				q.BirthName = particleVariant(q.BirthName, pt, r.intn(3))
				q.Errors = append(q.Errors, "particle")
			} else if strings.ContainsAny(q.BirthName, "- ") {
				q.BirthName = compoundVariant(q.BirthName, r.intn(3))
				q.Errors = append(q.Errors, "compound separator")
			}
		case 5:
			if p.UsedName != "" {
				q.BirthName, q.UsedName = p.UsedName, ""
				q.Errors = append(q.Errors, "name in use as birth name")
			}
		case 6:
			if i := strings.IndexAny(q.FirstNames, "- "); i > 0 {
				q.FirstNames = q.FirstNames[:i]
				q.Errors = append(q.Errors, "compound first name cut")
			}
		case 7:
			if p.BirthDay <= 12 && p.BirthDay != p.BirthMonth {
				q.BirthDate = isoDate(p.BirthYear, p.BirthDay, p.BirthMonth)
				q.Errors = append(q.Errors, "day and month swapped")
			}
		case 8:
			q.BirthDate = fmt.Sprintf("%04d", p.BirthYear)
			q.Errors = append(q.Errors, "year only")
		case 9:
			q.BirthDate = ""
			q.Errors = append(q.Errors, "no birth date")
		case 10:
			q.BirthName = strings.ToLower(q.BirthName)
			q.FirstNames = strings.ToLower(q.FirstNames)
			q.Errors = append(q.Errors, "lower case")
		}
	}
	return q
}
