package synth

import (
	"fmt"
	"strings"
	"time"
)

// Person is the truth about one generated person: the traits every record
// of them is a noisy copy of, and their family links within the population.
type Person struct {
	ID         string   // truth id written to truth.csv
	Sex        byte     // 'M' or 'F'
	BirthName  string   // nom de naissance, upper case (accents kept where French spelling has them)
	UsedName   string   // nom d'usage (a spouse's surname), or ""
	FirstNames []string // birth first names, first first name first
	// KnownBySecond: the person goes by their second first name.
	KnownBySecond bool
	BirthYear     int
	BirthMonth    int
	BirthDay      int
	BirthPlace    string // COG commune code (33063, 2A004, 97411) or 99xxx country code
	NIR           string // 15 characters, key included
	INSOID        string // OID of the NIR's or NIA's authority
	Household     int
	Anonymous     bool // a placeholder identity (X, ANONYME, 1900-01-01)

	Father, Mother, Spouse, Twin *Person

	Address    string
	PostalCode string
	City       string
	Phone      string // usual phone number, or ""

	birth       time.Time
	birthPostal string // postal code of the birth commune, for the COG/postal mix-up
	origin      string // country code whose names the person carries, or ""
	home        *address
	alt         *address // another address given at some sites (a move)
	dept        int      // index in naDepartments of the residence, −1 outside
	otherPhone  string
	age         int
	twinSecond  bool
}

// Age is the person's age in whole years at the generation's reference date.
func (p *Person) Age() int { return p.age }

// BirthDate is the ISO birth date.
func (p *Person) BirthDate() string {
	return isoDate(p.BirthYear, p.BirthMonth, p.BirthDay)
}

type address struct {
	line, postal, city string
	dept               int
	phone              string // the household's landline, or ""
}

// namesake remembers the name of a recent person, to give it again.
type namesake struct {
	surname, first string
	sex            byte
	year           int
}

// Target age pyramid of the region, per ten years of age (0–9 … 90–100).
var pyramid = [10]float64{9.5, 11, 10, 11, 12, 13, 13.5, 11.5, 6, 2.5}

// anchorFactor corrects, per ten years of age, the weight of the adult a
// household is built around, so that with partners and children the whole
// population follows the pyramid (calibrated on generated populations).
var anchorFactor = [10]float64{0, 0.75, 0.33, 0.30, 0.40, 1.27, 2.36, 3.08, 3.61, 3.72}

// anchorAgeWeights weigh the age (18–100) of the adult a household is built
// around.
func anchorAgeWeights() []float64 {
	w := make([]float64, 101)
	for a := 18; a <= 100; a++ {
		band := min(a/10, 9)
		f := pyramid[band] / 10
		if band == 9 {
			f = pyramid[band] / 11
		}
		w[a] = f * anchorFactor[band]
	}
	return w
}

// household creates one household (a family of one to six persons living
// at one address, plus grown-up children living elsewhere).
func (g *gen) household() []*Person {
	g.households++
	hid := g.households
	home := g.newAddress(g.residenceDept())
	age := g.adultAge.draw(g.r)
	sex := byte('M')
	if g.r.chance(0.5 + 0.15*float64(max(age-70, 0))/30) {
		sex = 'F'
	}
	anchor := g.newAdult(sex, age, home)
	people := g.family(anchor, home, 0)
	for _, p := range people {
		g.finish(p, hid)
	}
	return people
}

// family gives anchor a partner and children, as chance has it, and (one
// generation down) gives grown-up children living elsewhere their own
// partner and children. It returns anchor first, then the others.
func (g *gen) family(anchor *Person, home *address, depth int) []*Person {
	pr := &g.cfg.Population
	age, sex := anchor.age, anchor.Sex
	people := []*Person{anchor}
	var partner *Person
	if g.r.chance(coupleRate(age, sex)) {
		psex := byte('F')
		if sex == 'F' {
			psex = 'M'
		}
		if g.r.chance(0.02) {
			psex = sex
		}
		delta := 2.5 + 4*g.r.normal()
		if sex == 'F' {
			delta = -delta
		}
		if psex == sex {
			delta = 5 * g.r.normal()
		}
		page := min(max(age-int(delta+0.5), 18), 100)
		partner = g.newAdult(psex, page, home)
		anchor.Spouse, partner.Spouse = partner, anchor
		people = append(people, partner)
	}
	var father, mother *Person
	switch {
	case sex == 'M':
		father = anchor
	default:
		mother = anchor
	}
	if partner != nil && partner.Sex != sex {
		if partner.Sex == 'M' {
			father = partner
		} else {
			mother = partner
		}
	}
	// Married names: a wife living with her husband often uses his name;
	// other women may use the name of a spouse who is not in the population
	// (widowed, divorced, living apart).
	for _, p := range people {
		if p.Sex != 'F' || p.age < 20 {
			continue
		}
		if father != nil && p == mother && p.Spouse == father {
			if g.r.chance(min(1, pr.UsageName*usageInCouple)) {
				p.UsedName = father.BirthName
			}
		} else if p.age >= 25 && g.r.chance(pr.UsageName*usageAlone) {
			p.UsedName = g.surname(home.cogHint(), "")
		}
	}

	hasKids := false
	switch {
	case partner != nil:
		hasKids = g.r.chance(0.9)
	case age >= 22 && age <= 65:
		hasKids = g.r.chance(0.4)
	case age > 65:
		hasKids = g.r.chance(0.6)
	}
	if !hasKids {
		return people
	}
	// Grown-up children living elsewhere are only partly in the population;
	// (one generation down) those who are have their own family.
	for _, k := range g.children(father, mother, home) {
		if k.home == home || k.age < 20 {
			people = append(people, k)
			continue
		}
		x := g.r.float()
		switch {
		case depth == 0 && x < 0.45:
			people = append(people, g.family(k, k.home, depth+1)...)
		case x < 0.65:
			if k.Sex == 'F' && k.age >= 25 && g.r.chance(pr.UsageName*usageAlone) {
				k.UsedName = g.surname(k.home.cogHint(), "")
			}
			people = append(people, k)
		default:
			if k.Twin != nil { // the twin stays alone in the population
				k.Twin.Twin = nil
				k.Twin.twinSecond = false
			}
		}
	}
	return people
}

// Usage-name rates relative to PopulationRates.UsageName, for wives living
// with their husband and for other adult women (calibrated so that the
// share among all adult women matches UsageName).
const (
	usageInCouple = 1.4
	usageAlone    = 0.55
)

// coupleRate is the chance that an adult of this age lives with a partner.
func coupleRate(age int, sex byte) float64 {
	switch {
	case age < 25:
		return 0.25
	case age < 35:
		return 0.6
	case age < 65:
		return 0.7
	case age < 80:
		if sex == 'F' {
			return 0.55
		}
		return 0.72
	}
	if sex == 'F' {
		return 0.25
	}
	return 0.55
}

// kidsDist weighs 1–4 children in a family that has some.
var kidsDist = newCDF([]float64{0.22, 0.42, 0.25, 0.11})

// children creates the children of father and/or mother (one may be nil).
func (g *gen) children(father, mother *Person, home *address) []*Person {
	pr := &g.cfg.Population
	ref := mother
	if ref == nil {
		ref = father
	}
	n := kidsDist.draw(g.r) + 1
	at := 20 + 10*g.r.float() // parent's age at the first birth
	if ref.Sex == 'M' {
		at += 2
	}
	var kids []*Person
	surnameOf := func(birth time.Time) string {
		switch {
		case father != nil && mother != nil:
			if birth.Year() >= 2005 && g.r.chance(pr.DoubleSurname) {
				sep := " "
				if birth.Year() < 2011 {
					sep = "-"
				}
				return father.BirthName + sep + mother.BirthName
			}
			return father.BirthName
		case father != nil:
			return father.BirthName
		}
		if g.r.chance(0.4) { // the father recognised the child but is not in the population
			return g.surname(ref.BirthPlace, ref.origin)
		}
		return mother.BirthName
	}
	for i := 0; i < n; i++ {
		if i > 0 {
			at += 1.2 + 4*g.r.float()
		}
		if at > 46 {
			break
		}
		birth := ref.birth.AddDate(int(at), 0, int((at-float64(int(at)))*365))
		if !birth.Before(g.ref) {
			break
		}
		twins := g.r.chance(pr.Twins)
		surname := surnameOf(birth)
		place, postal := g.childBirthplace(home, ref)
		k := 1
		if twins {
			k = 2
		}
		var first *Person
		for j := 0; j < k; j++ {
			sex := byte('M')
			if g.r.chance(0.49) {
				sex = 'F'
			}
			if j == 1 && g.r.chance(0.6) { // same-sex twins are more common
				sex = first.Sex
			}
			c := &Person{Sex: sex, BirthName: surname, Father: father, Mother: mother, dept: -1}
			c.setBirth(birth, g.ref)
			c.BirthPlace, c.birthPostal = place, postal
			c.origin = ""
			if ref.origin != "" && g.r.chance(0.5) {
				c.origin = ref.origin
			}
			c.FirstNames = g.firstNames(sex, c.BirthYear, c.origin)
			// A middle name after the parent of the same sex.
			par := mother
			if sex == 'M' {
				par = father
			}
			if par != nil && len(c.FirstNames) > 1 && g.r.chance(0.3) {
				if !containsName(c.FirstNames, par.FirstNames[0]) {
					c.FirstNames[1] = par.FirstNames[0]
				}
			}
			if sex == 'M' && father != nil && g.r.chance(pr.FatherSonHomonym) {
				fn := father.FirstNames[0]
				if !containsName(c.FirstNames[1:], fn) {
					c.FirstNames[0] = fn
				} else {
					c.FirstNames = []string{fn}
				}
			}
			if j == 1 {
				// Twins never share their first first name.
				for tries := 0; foldName(c.FirstNames[0]) == foldName(first.FirstNames[0]) && tries < 20; tries++ {
					c.FirstNames = g.firstNames(sex, c.BirthYear, c.origin)
				}
				if foldName(c.FirstNames[0]) == foldName(first.FirstNames[0]) {
					c.FirstNames[0] = fallbackTwinName(sex, first.FirstNames[0])
				}
				c.Twin, first.Twin = first, c
				c.twinSecond = true
			}
			// Where the child lives.
			if c.age < 18 || (c.age < 25 && g.r.chance(0.5)) {
				c.home = home
			} else {
				d := home.dept
				if d < 0 || g.r.chance(0.4) {
					d = g.residenceDept()
				}
				c.home = g.newAddress(d)
			}
			c.dept = c.home.dept
			kids = append(kids, c)
			if j == 0 {
				first = c
			}
		}
	}
	return kids
}

func fallbackTwinName(sex byte, taken string) string {
	alt := [2]string{"PAUL", "LOUIS"}
	if sex == 'F' {
		alt = [2]string{"ANNE", "LUCIE"}
	}
	if foldName(taken) == alt[0] {
		return alt[1]
	}
	return alt[0]
}

func containsName(list []string, s string) bool {
	f := foldName(s)
	for _, x := range list {
		if foldName(x) == f {
			return true
		}
	}
	return false
}

// cogHint returns a COG-like code of the address's département, enough for
// regionOfCOG.
func (a *address) cogHint() string {
	if a.dept < 0 {
		return ""
	}
	return naDepartments[a.dept].code + "000"
}

// abroadAdults scales PopulationRates.BornAbroad for the adults a family
// starts from: their children are mostly born in France, and about half the
// population are such adults.
const abroadAdults = 1.9

// newAdult creates an adult of the given sex and age, born somewhere
// (regional, elsewhere in France or abroad), living at home.
func (g *gen) newAdult(sex byte, age int, home *address) *Person {
	pr := &g.cfg.Population
	p := &Person{Sex: sex, home: home, dept: home.dept}
	days := g.r.intn(365)
	p.setBirth(g.ref.AddDate(-age, 0, -1-days), g.ref)
	x := g.r.float()
	switch {
	case x < min(1, pr.BornAbroad*abroadAdults):
		c := countries[g.countryCDF.draw(g.r)]
		p.BirthPlace = c.code
		if _, ok := origins[c.code]; ok && g.r.chance(pr.OriginNames) {
			p.origin = c.code
		}
	case x < min(1, pr.BornAbroad*abroadAdults)+pr.BornOtherFrance:
		c := arrondissement(g.r, otherFrance[g.otherCDF.draw(g.r)])
		p.BirthPlace, p.birthPostal = c.cog, c.postal
	case x < min(1, pr.BornAbroad*abroadAdults)+pr.BornOtherFrance+pr.BornOtherNADept || home.dept < 0:
		c := g.birthCommune(g.deptCDF.draw(g.r))
		p.BirthPlace, p.birthPostal = c.cog, c.postal
	default:
		c := g.birthCommune(home.dept)
		p.BirthPlace, p.birthPostal = c.cog, c.postal
	}
	p.BirthName = g.surname(p.BirthPlace, p.origin)
	p.FirstNames = g.firstNames(sex, p.BirthYear, p.origin)
	if g.r.chance(pr.Namesakes) && len(g.recent) > 0 {
		ns := g.recent[g.r.intn(len(g.recent))]
		for tries := 0; ns.sex != sex && tries < 8; tries++ {
			ns = g.recent[g.r.intn(len(g.recent))]
		}
		if ns.sex != sex {
			return p
		}
		p.BirthName = ns.surname
		if !containsName(p.FirstNames[1:], ns.first) {
			p.FirstNames[0] = ns.first
		}
		if g.r.chance(pr.NamesakeSameYear) && ns.year >= g.ref.Year()-100 && ns.year <= g.ref.Year()-18 {
			t := time.Date(ns.year, time.January, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, g.r.intn(365))
			if t.Year() == ns.year {
				p.setBirth(t, g.ref)
			}
		}
		g.stats.Namesakes++
	}
	return p
}

func (p *Person) setBirth(t, ref time.Time) {
	p.birth = t
	p.BirthYear, p.BirthMonth, p.BirthDay = t.Year(), int(t.Month()), t.Day()
	age := ref.Year() - t.Year()
	if ref.YearDay() < t.YearDay() {
		age--
	}
	p.age = max(age, 0)
}

// finish gives a person their identifiers, addresses and phones.
func (g *gen) finish(p *Person, hid int) {
	p.Household = hid
	if p.home == nil {
		p.home = g.newAddress(g.residenceDept())
	}
	p.dept = p.home.dept
	p.Address, p.PostalCode, p.City = p.home.line, p.home.postal, p.home.city
	place := p.BirthPlace
	p.NIR = makeNIR(p.Sex, p.BirthYear, p.BirthMonth, place, g.nirOrder(p.Sex, p.BirthYear, p.BirthMonth, place))
	p.INSOID = OIDINSNIR
	if strings.HasPrefix(place, "99") && g.r.chance(g.cfg.Population.NIAAbroad) {
		p.INSOID = OIDINSNIA
	}
	if p.KnownBySecond = len(p.FirstNames) > 1 && g.r.chance(g.cfg.Population.KnownBySecondName); p.KnownBySecond {
		g.stats.KnownBySecond++
	}
	// Phones: a mobile for most people over 12; a landline for part of the
	// households; children under 15 are reached through a parent.
	mobileRate := 0.93
	if p.age >= 75 {
		mobileRate = 0.6
	}
	if p.age >= 12 && g.r.chance(mobileRate) {
		p.Phone = g.mobile()
	}
	if p.home.phone == "" && g.r.chance(0.35+0.4*float64(min(p.age, 80))/80) {
		p.home.phone = "05" + g.digits(8)
	}
	switch {
	case p.age < 15 && p.Mother != nil && p.Mother.Phone != "":
		p.Phone = p.Mother.Phone
	case p.age < 15 && p.Father != nil && p.Father.Phone != "":
		p.Phone = p.Father.Phone
	case p.Phone == "":
		p.Phone = p.home.phone
	}
	p.otherPhone = p.home.phone
	if p.otherPhone == "" || p.otherPhone == p.Phone {
		p.otherPhone = g.mobile()
	}
	g.remember(p)
}

func (g *gen) remember(p *Person) {
	if p.age < 18 {
		return
	}
	ns := namesake{p.BirthName, p.FirstNames[0], p.Sex, p.BirthYear}
	if len(g.recent) < 2048 {
		g.recent = append(g.recent, ns)
		return
	}
	g.recent[g.r.intn(len(g.recent))] = ns
}

// nirOrder returns the next order number (1–999) of births of one sex in
// one month at one place: consecutive numbers from a start that depends on
// the cell, so that NIRs are unique (twins get consecutive numbers).
func (g *gen) nirOrder(sex byte, year, month int, place string) int {
	key := uint64(year%100)<<8 | uint64(month)<<1
	if sex == 'F' {
		key |= 1
	}
	for i := 0; i < len(place); i++ {
		key = key<<8 | uint64(place[i])
	}
	n := g.nirCount[key]
	g.nirCount[key] = n + 1
	h := key * 0x9e3779b97f4a7c15
	start := int(h>>40) % 999
	return (start+int(n))%999 + 1
}

func (g *gen) mobile() string {
	if g.r.chance(0.7) {
		return "06" + g.digits(8)
	}
	return "07" + g.digits(8)
}

func (g *gen) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + g.r.intn(10))
	}
	return string(b)
}

// residenceDept draws the département of a household, −1 outside the region.
func (g *gen) residenceDept() int {
	if g.r.chance(g.cfg.Population.LiveOutsideNA) {
		return -1
	}
	return g.deptCDF.draw(g.r)
}

// birthCommune draws a birth commune of a département; maternities sit in
// the larger towns, so larger communes weigh more than their population.
func (g *gen) birthCommune(d int) commune {
	cs := naDepartments[d].communes
	return cs[g.birthCDF[d].draw(g.r)]
}

// childBirthplace: children are mostly born where their parents live.
func (g *gen) childBirthplace(home *address, ref *Person) (string, string) {
	x := g.r.float()
	switch {
	case home.dept >= 0 && x < 0.84:
		c := g.birthCommune(home.dept)
		return c.cog, c.postal
	case x < 0.92:
		c := g.birthCommune(g.deptCDF.draw(g.r))
		return c.cog, c.postal
	case x < 0.985 || ref.origin == "":
		c := arrondissement(g.r, otherFrance[g.otherCDF.draw(g.r)])
		return c.cog, c.postal
	}
	return ref.origin, ""
}

// newAddress draws an address in département d (−1: elsewhere in France).
func (g *gen) newAddress(d int) *address {
	var c commune
	if d < 0 {
		c = arrondissement(g.r, otherFrance[g.otherCDF.draw(g.r)])
	} else {
		cs := naDepartments[d].communes
		c = cs[g.communeCDF[d].draw(g.r)]
	}
	var line string
	switch x := g.r.float(); {
	case x < 0.06:
		line = "LIEU-DIT " + pick(g.r, lieuxDits)
	case x < 0.10:
		line = fmt.Sprintf("RÉSIDENCE LES %s APPT %d %d %s", pick(g.r, []string{"PINS", "CHÊNES", "TILLEULS", "JARDINS", "ACACIAS"}),
			g.r.between(1, 80), g.r.between(1, 40), pick(g.r, streets))
	default:
		n := 1 + int(float64(g.r.intn(120))*g.r.float())
		suffix := ""
		if g.r.chance(0.03) {
			suffix = pick(g.r, []string{" BIS", " TER"})
		}
		line = fmt.Sprintf("%d%s %s", n, suffix, pick(g.r, streets))
	}
	return &address{line: line, postal: c.postal, city: c.name, dept: d}
}
