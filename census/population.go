package census

import (
	"fmt"
	"strings"
	"time"
)

// Relations of a person to their household, as written in persons.csv.
const (
	RelAlone       = "alone"       // lives alone
	RelPartner     = "partner"     // one of a couple
	RelLoneParent  = "lone-parent" // brings up children alone
	RelChild       = "child"       // a child of the household
	RelGrandparent = "grandparent" // a widowed parent living with a family
)

// Person is one true person. Names are the civil forms, upper case with
// accents; the records are what sites made of them.
type Person struct {
	ID         string
	Household  string
	Relation   string
	Sex        byte // 'M' or 'F'
	Birth      time.Time
	BirthPlace string   // COG commune or 99xxx country code
	BirthName  string   // nom de naissance
	UsedName   string   // nom d'usage, "" when none
	FirstNames []string // civil first names, the first is the one in use
	NIR        string   // the INS matricule, valid key
	TwinOf     string   // the other twin's ID
	HomonymOf  string   // for a son bearing his father's first name: the father's ID
	Mother     *Person
	Father     *Person

	home   *home
	mobile string // own mobile, "" when none
	age    int
}

// BirthDate is the true birth date, YYYY-MM-DD.
func (p *Person) BirthDate() string { return p.Birth.Format(time.DateOnly) }

// home is a household's dwelling: address, town and shared phone. former,
// when set, is where the household lived before it moved.
type home struct {
	id     string
	number int
	street string
	town   town
	phone  string
	former *home
}

// homeKinds indexes HomeRates.Mix.
const (
	kindAlone = iota
	kindCouple
	kindFamily
	kindLoneParent
	kindThreeGenerations
)

// populate builds households until cfg.Persons persons exist.
func (g *gen) populate() {
	for len(g.persons) < g.cfg.Persons {
		g.household()
	}
	g.persons = g.persons[:g.cfg.Persons]
	// A cut household may have left a twin or a father out: forget links
	// to persons not kept.
	kept := map[string]bool{}
	for _, p := range g.persons {
		kept[p.ID] = true
	}
	for _, p := range g.persons {
		if p.TwinOf != "" && !kept[p.TwinOf] {
			p.TwinOf = ""
		}
		if p.HomonymOf != "" && !kept[p.HomonymOf] {
			p.HomonymOf = ""
		}
	}
}

func (g *gen) household() {
	r, hr := g.r, &g.cfg.Homes
	g.households++
	h := g.newHome(fmt.Sprintf("H%06d", g.households))
	if r.chance(hr.Moved) {
		h.former = g.newHome(h.id)
	}
	switch r.pick(hr.Mix[:]) {
	case kindAlone:
		age := r.pick(aloneAges)*10 + 20 + r.intn(10)
		sex := byte('M')
		if r.chance(0.55 + float64(age)/300) { // women live longer
			sex = 'F'
		}
		p := g.adult(sex, age, h, RelAlone)
		if sex == 'F' && age >= 35 && r.chance(0.45) { // divorced or widowed, kept the name
			if age < 65 || r.chance(hr.WidowKeepsName) {
				p.UsedName = g.surname()
			}
		}
	case kindCouple:
		g.couple(r.between(22, 90), h)
	case kindFamily:
		man, woman := g.couple(r.between(27, 58), h)
		g.children(man, woman, woman, r.between(1, 4))
	case kindLoneParent:
		sex := byte('F')
		if r.chance(0.15) {
			sex = 'M'
		}
		p := g.adult(sex, r.between(24, 55), h, RelLoneParent)
		absent := g.surname() // the other parent, not in the household
		if sex == 'F' && r.chance(0.3) {
			p.UsedName = absent
		}
		var father, mother *Person
		if sex == 'M' {
			father = p
		} else {
			mother = p
		}
		kids := g.children(father, mother, p, r.between(1, 3))
		if sex == 'F' && r.chance(0.6) {
			for _, k := range kids {
				k.BirthName = absent
			}
		}
	case kindThreeGenerations:
		man, woman := g.couple(r.between(30, 55), h)
		g.children(man, woman, woman, r.between(1, 3))
		gm := g.adult('F', man.age+r.between(20, 35), h, RelGrandparent)
		gm.UsedName = man.BirthName
		man.Mother = gm
	}
}

// aloneAges weighs people living alone by decade of age from 20.
var aloneAges = []float64{0.12, 0.10, 0.09, 0.11, 0.14, 0.17, 0.16, 0.11}

// couple makes a man of about age and a woman, sharing h; a married woman
// uses his name.
func (g *gen) couple(age int, h *home) (*Person, *Person) {
	r := g.r
	man := g.adult('M', age, h, RelPartner)
	woman := g.adult('F', max(19, age+r.between(-6, 3)), h, RelPartner)
	if r.chance(g.cfg.Homes.Married) {
		woman.UsedName = man.BirthName
	}
	return man, woman
}

// adult makes a person of the given sex and age living in h.
func (g *gen) adult(sex byte, age int, h *home, rel string) *Person {
	r := g.r
	p := g.person(sex, age, h, rel)
	p.BirthName = g.surname()
	switch x := r.float(); {
	case x < g.cfg.Homes.BornAbroad:
		p.BirthPlace = countries[r.intn(len(countries))]
	case x < g.cfg.Homes.BornAbroad+0.30:
		p.BirthPlace = elsewhere[r.intn(len(elsewhere))]
	default:
		p.BirthPlace = towns[r.intn(len(towns))].cog
	}
	p.FirstNames = g.firstNames(sex, p.Birth.Year(), "")
	if r.chance(g.cfg.Homes.PersonalMobile) {
		p.mobile = g.phone("0" + string(rune('6'+r.intn(2))))
	}
	g.nir(p, 0)
	return p
}

// person makes a person born about age years before Today.
func (g *gen) person(sex byte, age int, h *home, rel string) *Person {
	g.nextPerson++
	p := &Person{ID: fmt.Sprintf("P%07d", g.nextPerson), Household: h.id, Relation: rel, Sex: sex, home: h, age: age}
	p.Birth = g.cfg.Today.AddDate(-age, 0, -1-g.r.intn(365))
	g.persons = append(g.persons, p)
	return p
}

// children gives a household n births (a birth may be twins) of father
// and mother (either may be nil: not in the household). carer is the
// adult they live with, whose age bounds theirs.
func (g *gen) children(father, mother, carer *Person, n int) []*Person {
	r, hr := g.r, &g.cfg.Homes
	h := carer.home
	surname := carer.BirthName
	if father != nil {
		surname = father.BirthName
		if mother != nil && r.chance(hr.DoubleSurname) {
			surname = father.BirthName + "-" + mother.BirthName
		}
	}
	oldest := min(25, carer.age-19)
	if oldest < 0 {
		return nil
	}
	age := r.between(0, oldest)
	var kids []*Person
	for i := 0; i < n && age >= 0; i++ {
		g.stats.Births++
		twins := r.chance(hr.TwinBirths)
		size := 1
		if twins {
			size = 2
			g.stats.TwinBirths++
		}
		birth := g.cfg.Today.AddDate(-age, 0, -1-r.intn(365))
		place := h.town.cog
		if r.chance(0.25) {
			place = towns[r.intn(len(towns))].cog
		}
		var first *Person
		for range size {
			sex := byte('M')
			if r.chance(0.49) {
				sex = 'F'
			}
			if first != nil && r.chance(0.6) { // same-sex twins
				sex = first.Sex
			}
			k := g.person(sex, age, h, RelChild)
			k.Birth, k.BirthPlace, k.BirthName = birth, place, surname
			k.Father, k.Mother = father, mother
			k.FirstNames = g.childNames(k, father, first, kids)
			order := 0
			if first != nil {
				k.TwinOf, first.TwinOf = first.ID, k.ID
				order = orderOf(first.NIR) + 1
			}
			g.nir(k, order)
			if first == nil {
				first = k
			}
			kids = append(kids, k)
		}
		age -= r.between(1, 5)
	}
	return kids
}

// childNames draws a child's first names: different from the siblings'
// first first names; a son may bear his father's (a homonym); a twin of
// the other sex may get the paired name (LOUIS, LOUISE). Names are
// compared without accents: the name lists hold both TIMÉO and TIMEO,
// which parents do not give to two of their children.
func (g *gen) childNames(k, father, twin *Person, siblings []*Person) []string {
	r, hr := g.r, &g.cfg.Homes
	same := func(a, b string) bool { return fold(a) == fold(b) }
	taken := func(s string) bool {
		for _, o := range siblings {
			if same(o.FirstNames[0], s) {
				return true
			}
		}
		return false
	}
	if father != nil && k.Sex == 'M' && !taken(father.FirstNames[0]) {
		g.stats.SonsWithFather++
	}
	if father != nil && k.Sex == 'M' && !taken(father.FirstNames[0]) && r.chance(hr.FatherSonHomonym) {
		k.HomonymOf = father.ID
		g.stats.HomonymSons++
		return g.firstNames('M', k.Birth.Year(), father.FirstNames[0])
	}
	if twin != nil && twin.Sex != k.Sex && r.chance(hr.PairedTwinNames) {
		boy, girl := twin.FirstNames[0], ""
		if twin.Sex == 'F' {
			girl = twin.FirstNames[0]
			for _, b := range []string{strings.TrimSuffix(girl, "E"), strings.TrimSuffix(girl, "NE"), strings.TrimSuffix(girl, "INE")} {
				if b != girl && g.names.paired(b) == girl {
					return g.firstNames('M', k.Birth.Year(), b)
				}
			}
		} else if p := g.names.paired(boy); p != "" {
			return g.firstNames('F', k.Birth.Year(), p)
		}
	}
	for range 8 {
		ns := g.firstNames(k.Sex, k.Birth.Year(), "")
		if !taken(ns[0]) && (twin == nil || !same(ns[0], twin.FirstNames[0])) && (father == nil || !same(ns[0], father.FirstNames[0])) {
			return ns
		}
	}
	return g.firstNames(k.Sex, k.Birth.Year(), fmt.Sprintf("%s-%s", g.names.firstName(r, k.Sex, k.Birth.Year()), g.names.firstName(r, k.Sex, k.Birth.Year()-30)))
}

// firstNames draws one to three first names; the first is given when not
// "". Born 1930–1999, a compound first name may be built (JEAN-MARC).
func (g *gen) firstNames(sex byte, year int, first string) []string {
	r := g.r
	if first == "" {
		first = g.names.firstName(r, sex, year)
		if year >= 1930 && year < 2000 && !strings.Contains(first, "-") && r.chance(g.cfg.Homes.CompoundFirstName) {
			heads := []string{"JEAN", "JEAN", "PIERRE", "MARC", "PAUL"}
			if sex == 'F' {
				heads = []string{"MARIE", "MARIE", "ANNE"}
			}
			if h := heads[r.intn(len(heads))]; h != first {
				first = h + "-" + first
			}
		}
	}
	names := []string{first}
	for n := r.pick([]float64{0.35, 0.45, 0.20}); len(names) <= n; {
		// Middle names often come from the grandparents' generation.
		s := g.names.firstName(r, sex, year-r.between(0, 60))
		dup := false
		for _, o := range names {
			dup = dup || o == s
		}
		if !dup {
			names = append(names, s)
		} else if r.chance(0.5) {
			break
		}
	}
	return names
}

// surname draws a birth name.
func (g *gen) surname() string {
	if g.r.chance(g.cfg.Homes.ParticleSurname) {
		return particleSurnames[g.r.intn(len(particleSurnames))]
	}
	return g.names.surnames.draw(g.r)
}

// newHome draws an address in a town of the region and the home's phone.
func (g *gen) newHome(id string) *home {
	r := g.r
	h := &home{id: id, number: r.between(1, []int{12, 40, 150}[r.pick([]float64{0.5, 0.35, 0.15})]), street: streets[r.intn(len(streets))], town: towns[r.intn(len(towns))]}
	if r.chance(0.65) {
		h.phone = g.phone("02")
	} else {
		h.phone = g.phone("0" + string(rune('6'+r.intn(2))))
	}
	return h
}

// phone returns a 10-digit number starting with prefix, never given before.
func (g *gen) phone(prefix string) string {
	for {
		b := []byte(prefix)
		for len(b) < 10 {
			b = append(b, byte('0'+g.r.intn(10)))
		}
		if s := string(b); !g.phones[s] {
			g.phones[s] = true
			return s
		}
	}
}

// nir gives p a NIR consistent with its sex, birth date and birthplace,
// with the given order number (0: drawn), unique in the population.
func (g *gen) nir(p *Person, order int) {
	sex := byte('1')
	if p.Sex == 'F' {
		sex = '2'
	}
	for try := 0; ; try++ {
		o := order
		if o <= 0 || o > 999 || try > 0 {
			o = 1 + g.r.intn(999)
		}
		body := fmt.Sprintf("%c%02d%02d%s%03d", sex, p.Birth.Year()%100, int(p.Birth.Month()), p.BirthPlace, o)
		n := body + fmt.Sprintf("%02d", nirKey(body))
		if !g.nirs[n] {
			g.nirs[n] = true
			p.NIR = n
			return
		}
	}
}

// orderOf reads the order number of a NIR (positions 11–13).
func orderOf(nir string) int {
	o := 0
	for _, c := range nir[10:13] {
		o = o*10 + int(c-'0')
	}
	return o
}

// nirKey is 97 − (N mod 97), N the 13-character body read as a number,
// with Corsica's 2A and 2B read as 19 and 18.
func nirKey(body string) int {
	body = strings.Replace(strings.Replace(body, "2A", "19", 1), "2B", "18", 1)
	var n uint64
	for _, c := range body {
		n = n*10 + uint64(c-'0')
	}
	return int(97 - n%97)
}
