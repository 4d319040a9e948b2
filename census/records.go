package census

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Record is one source record as a site filed it, with the person it
// belongs to. Its fields are the columns of records.csv.
type Record struct {
	Authority, LocalID, INS, INSOID, Status    string
	BirthName, UsedName, FirstNames, FirstName string
	BirthDate, Sex, BirthPlace                 string
	PostalCode, City, Address, Phone           string
	Person                                     string // the true person's ID
	visit                                      int    // day of the visit, orders the file
	seq                                        int
}

// Columns are records.csv's columns: those `vigie import identities` reads.
var Columns = []string{"authority", "local_id", "ins", "ins_oid", "status", "birth_name",
	"used_name", "first_names", "first_name", "birth_date", "sex", "birth_place", "postal_code",
	"city", "address", "phone"}

// householdColumns are the columns left out without household columns.
var householdColumns = map[string]bool{"postal_code": true, "city": true, "address": true, "phone": true}

func (rec *Record) values() []string {
	return []string{rec.Authority, rec.LocalID, rec.INS, rec.INSOID, rec.Status, rec.BirthName,
		rec.UsedName, rec.FirstNames, rec.FirstName, rec.BirthDate, rec.Sex, rec.BirthPlace, rec.PostalCode,
		rec.City, rec.Address, rec.Phone}
}

// OID of the INS-NIR assigning authority.
const oidNIR = "1.2.250.1.213.1.4.8"

// visits sends every person to sites and files their records.
func (g *gen) visits() {
	r, vr := g.r, &g.cfg.Visits
	byDept := map[string][]*site{}
	for _, s := range g.sites {
		byDept[s.dept] = append(byDept[s.dept], s)
	}
	weights := func(ss []*site) []float64 {
		w := make([]float64, len(ss))
		for i, s := range ss {
			w[i] = s.weight
		}
		return w
	}
	all := weights(g.sites)
	near := map[string][]float64{}
	for d, ss := range byDept {
		near[d] = weights(ss)
	}
	span := int(g.cfg.Today.Sub(g.cfg.Today.AddDate(-8, 0, 0)).Hours() / 24)
	for _, p := range g.persons {
		band := 1
		switch {
		case p.age < 18:
			band = 0
		case p.age >= 65:
			band = 2
		}
		n := min(len(g.sites), 1+r.poisson(vr.MeanSites[band]))
		var chosen []*site
		for tries := 0; len(chosen) < n && tries < 20*n; tries++ {
			var s *site
			if ss := byDept[p.home.town.dept]; len(ss) > 0 && r.chance(vr.NearSite) {
				s = ss[r.pick(near[p.home.town.dept])]
			} else {
				s = g.sites[r.pick(all)]
			}
			if !slices.Contains(chosen, s) {
				chosen = append(chosen, s)
			}
		}
		for _, s := range chosen {
			day := r.intn(span)
			g.file(p, s, day)
			if r.chance(vr.Duplicate) {
				g.file(p, s, day+r.between(0, 400))
			}
		}
	}
	slices.SortStableFunc(g.records, func(a, b *Record) int {
		if a.visit != b.visit {
			return a.visit - b.visit
		}
		return a.seq - b.seq
	})
}

// file makes the record a site files for p at a visit.
func (g *gen) file(p *Person, s *site, day int) {
	r, vr := g.r, &g.cfg.Visits
	rec := &Record{Authority: s.oid, LocalID: s.localID(), Person: p.ID, visit: day, seq: len(g.records)}
	g.records = append(g.records, rec)
	e := g.cfg.Errors
	if r.chance(vr.INSCoverage) {
		g.insi(rec, p)
		g.stats.WithINS++
	} else {
		rec.Status = "PROV"
		if r.chance(vr.Validated) {
			rec.Status = "VALI"
			e = e.Scaled(0.5) // checked against a document
		}
		g.typed(rec, p, s, &e, s.scans && r.chance(vr.Scanned))
	}
	// The used name and the home are typed at the desk, INS or not.
	g.usedName(rec, p, s, &e)
	g.fillHome(rec, p, s, &e)
}

// insi fills the traits the INSi teleservice returns, verbatim: upper-case
// ASCII names, the full list of first names, the first of them, sex,
// birth date and birthplace. A few carry a wrong INS.
func (g *gen) insi(rec *Record, p *Person) {
	r, e := g.r, &g.cfg.Errors
	rec.Status = "RECUP"
	if r.chance(g.cfg.Visits.Qualified) {
		rec.Status = "QUAL"
	}
	rec.INS, rec.INSOID = p.NIR, oidNIR
	rec.BirthName = fold(p.BirthName)
	var list []string
	for _, f := range p.FirstNames {
		list = append(list, fold(f))
	}
	rec.FirstNames, rec.FirstName = strings.Join(list, " "), list[0]
	rec.BirthDate, rec.Sex, rec.BirthPlace = p.BirthDate(), string(p.Sex), p.BirthPlace
	if parent := p.Mother; p.Relation == RelChild && r.chance(e.ParentINS) {
		if parent == nil || p.Father != nil && r.chance(0.5) {
			parent = p.Father
		}
		if parent != nil {
			rec.INS = parent.NIR
			g.stats.ParentINS++
		}
	}
	if r.chance(e.INSTransposed) {
		b := []byte(rec.INS)
		for range 10 {
			i := r.intn(12)
			if b[i] != b[i+1] && b[i] >= '0' && b[i] <= '9' && b[i+1] >= '0' && b[i+1] <= '9' {
				b[i], b[i+1] = b[i+1], b[i]
				g.stats.TransposedINS++
				break
			}
		}
		rec.INS = string(b)
	}
}

// typed fills the identity traits a clerk typed, or read from a scan.
func (g *gen) typed(rec *Record, p *Person, s *site, e *ErrorRates, scanned bool) {
	r := g.r
	birth := p.BirthName
	if p.UsedName != "" && r.chance(e.UsedAsBirth) {
		birth = p.UsedName
	}
	if r.chance(e.ParticleLost) {
		birth, _ = dropParticle(birth)
	}
	first := p.FirstNames[0]
	if strings.Contains(first, "-") {
		switch x := r.float(); {
		case x < e.OnlyFirstPart:
			first, _, _ = strings.Cut(first, "-")
		case x < e.OnlyFirstPart+e.Abbreviated:
			first = abbreviate(r, first)
		}
	}
	first = s.hyphenate(first)
	first = truncate(first, s.firstMax)
	rec.BirthName = g.name(birth, s, e, scanned)
	rec.FirstName = g.name(first, s, e, scanned)
	if s.list && !r.chance(e.ListMissing) {
		list := make([]string, len(p.FirstNames))
		for i, f := range p.FirstNames {
			list[i] = s.style(f, r.chance(e.AccentsDropped))
		}
		rec.FirstNames = strings.Join(list, " ")
	}
	if r.chance(e.NamesSwapped) {
		rec.BirthName, rec.FirstName = rec.FirstName, rec.BirthName
	}
	rec.BirthDate = s.date(g.noisyDate(p.Birth, e))
	switch {
	case r.chance(e.SexUnknown):
		rec.Sex = []string{"", "U"}[r.intn(2)]
	case s.sexDigits:
		rec.Sex = map[byte]string{'M': "1", 'F': "2"}[p.Sex]
	default:
		rec.Sex = string(p.Sex)
	}
	if !r.chance(e.PlaceMissing) {
		rec.BirthPlace = p.BirthPlace
	}
}

// usedName fills the used-name field, typed at the desk: a woman's used
// name may be missing, or already in the birth-name field.
func (g *gen) usedName(rec *Record, p *Person, s *site, e *ErrorRates) {
	if p.UsedName == "" || g.r.chance(e.UsedMissing) {
		return
	}
	rec.UsedName = g.name(p.UsedName, s, e, false)
}

// name renders a name as the site types it, with the errors of capture.
func (g *gen) name(n string, s *site, e *ErrorRates, scanned bool) string {
	r := g.r
	if r.chance(e.SpaceChanged) {
		n = respace(r, n)
	}
	n = fold2(n, !s.accents || r.chance(e.AccentsDropped))
	if r.chance(e.KeyboardTypo) {
		n = keyboardSlip(r, n)
	}
	if scanned && r.chance(e.OCRConfusion) {
		n = ocrConfusion(r, n)
	}
	return s.casing(n)
}

func fold2(n string, drop bool) string {
	if drop {
		return fold(n)
	}
	return n
}

// style renders a name in the site's habits, without errors but accents.
func (s *site) style(n string, drop bool) string {
	return s.casing(fold2(s.hyphenate(n), !s.accents || drop))
}

func (s *site) casing(n string) string {
	if s.upper {
		return n
	}
	return titleCase(n)
}

// hyphenate applies the site's habit for compound first names.
func (s *site) hyphenate(n string) string {
	switch s.hyphen {
	case 1:
		return strings.ReplaceAll(n, "-", " ")
	case 2:
		return strings.ReplaceAll(n, "-", "")
	}
	return n
}

// date writes a date in the site's format; "" stays "".
func (s *site) date(d string) string {
	if d == "" {
		return ""
	}
	switch s.dateFormat {
	case 1:
		return d[8:10] + "/" + d[5:7] + "/" + d[0:4]
	case 2:
		return d[0:4] + d[5:7] + d[8:10]
	}
	return d
}

// noisyDate returns the birth date as typed, YYYY-MM-DD or "" for none:
// right, or with one wrong part.
func (g *gen) noisyDate(b time.Time, e *ErrorRates) string {
	r := g.r
	y, m, d := b.Year(), int(b.Month()), b.Day()
	x := r.float()
	next := func(p float64) bool {
		x -= p
		return x < 0
	}
	switch {
	case next(e.YearOffOne):
		y += []int{-1, 1}[r.intn(2)]
	case next(e.YearOffTen):
		y += []int{-10, 10}[r.intn(2)]
		if y > g.cfg.Today.Year() {
			y -= 20
		}
	case next(e.DayMonthSwap):
		if d <= 12 && d != m {
			d, m = m, d
		}
	case next(e.DayWrong):
		if d > 1 && (d == daysIn(y, m) || r.chance(0.5)) {
			d--
		} else {
			d++
		}
	case next(e.JanuaryFirst):
		d, m = 1, 1
	case next(e.DateMissing):
		return ""
	}
	d = min(d, daysIn(y, m))
	return fmt.Sprintf("%04d-%02d-%02d", y, m, d)
}

func daysIn(y, m int) int { return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day() }

// fillHome fills address, postal code, town and phone: the home's (or,
// for a household that moved, sometimes the former one's), the person's
// own mobile at some visits, or nothing.
func (g *gen) fillHome(rec *Record, p *Person, s *site, e *ErrorRates) {
	r := g.r
	h := p.home
	if h.former != nil && r.chance(0.4) {
		h = h.former
	}
	if !r.chance(e.AddressMissing) {
		a := fmt.Sprintf("%d %s", h.number, h.street)
		if s.abbreviates {
			for _, ab := range streetAbbrev {
				if rest, ok := strings.CutPrefix(h.street, ab[0]); ok {
					a = fmt.Sprintf("%d %s%s", h.number, ab[1], rest)
					break
				}
			}
		}
		rec.Address = s.casing(fold2(a, !s.accents))
		rec.PostalCode = h.town.postal
		rec.City = s.casing(fold2(h.town.name, !s.accents))
	}
	if !r.chance(e.PhoneMissing) {
		ph := h.phone
		if p.mobile != "" && r.chance(0.5) {
			ph = p.mobile
		}
		rec.Phone = s.formatPhone(ph)
	}
}

func (s *site) formatPhone(ph string) string {
	switch s.phoneStyle {
	case 1:
		return ph[0:2] + " " + ph[2:4] + " " + ph[4:6] + " " + ph[6:8] + " " + ph[8:10]
	case 2:
		return "+33 " + ph[1:2] + " " + ph[2:4] + " " + ph[4:6] + " " + ph[6:8] + " " + ph[8:10]
	}
	return ph
}
