package synth

import (
	"strings"
	"time"
)

// record makes one site's record of p: an independent noisy copy of the
// person's traits.
func (g *gen) record(p *Person, s *Site, addr *address, dup bool) *Record {
	rr := &g.cfg.Records
	rec := &Record{Authority: s.OID, Person: p, Site: s, Duplicate: dup, Status: StatusPROV}
	e := &g.errProv
	if dup {
		e = &g.errDup
	} else if g.r.chance(rr.INSCoverage) {
		switch x := g.r.float(); {
		case x < rr.StatusQUAL:
			rec.Status = StatusQUAL
		case x < rr.StatusQUAL+rr.StatusRECUP:
			rec.Status = StatusRECUP
		default:
			rec.Status = StatusVALI
			e = &g.errVali
		}
		rec.INS, rec.INSOID = p.NIR, p.INSOID
	}
	// A child's record carrying a parent's INS (typed from the parent's
	// health card): the collision the matcher must flag.
	if rec.Status == StatusPROV && !dup {
		parent := p.Father
		if parent == nil || (p.Mother != nil && g.r.chance(0.5)) {
			parent = p.Mother
		}
		if parent != nil {
			g.seenEligible++
			rate := rr.WrongINS * float64(g.seenRecords+1) / float64(g.seenEligible)
			if g.r.chance(min(rate, 1)) {
				rec.Status = StatusVALI
				rec.INS, rec.INSOID = parent.NIR, parent.INSOID
				rec.WrongINS = true
				e = &g.errVali
				g.stats.WrongINS++
			}
		}
	}
	g.seenRecords++

	ascii := false
	if (rec.Status == StatusQUAL || rec.Status == StatusRECUP) && !rec.WrongINS {
		g.insiTraits(rec, p, e)
		ascii = true
	} else {
		ascii = g.localTraits(rec, p, s, e)
	}

	rec.ASCII = ascii
	// Address, postal code, city and phone are always typed locally.
	line := addr.line
	if s.addrAbbrev {
		line = streetAbbrev.Replace(line)
	}
	if g.r.chance(rr.AddressTypo) {
		line = typo(g.r, line)
	}
	city := addr.city
	if ascii || s.addrAbbrev {
		line, city = dropAccents(line), dropAccents(city)
	}
	if strings.HasPrefix(city, "SAINT-") && g.r.chance(0.1) {
		city = "ST " + city[len("SAINT-"):]
	} else if g.r.chance(0.05) {
		city = strings.ReplaceAll(city, "-", " ")
	}
	rec.Address, rec.PostalCode, rec.City = line, addr.postal, city
	if !g.r.chance(rr.PhoneMissing) {
		ph := p.Phone
		if ph == "" || g.r.chance(rr.PhoneOther) {
			ph = p.otherPhone
		}
		rec.Phone = formatPhone(ph, s.phoneStyle)
	}
	return rec
}

// insiTraits copies the traits the national INSi service returned:
// upper-case ASCII, the full list of first names, the birthplace. Only the
// usage name is typed locally.
func (g *gen) insiTraits(rec *Record, p *Person, e *ErrorRates) {
	rec.BirthName = foldName(p.BirthName)
	rec.FirstNames = foldName(strings.Join(p.FirstNames, " "))
	rec.FirstName = foldName(p.FirstNames[0])
	rec.BirthDate = p.BirthDate()
	rec.Sex = string(p.Sex)
	rec.BirthPlace = p.BirthPlace
	if p.UsedName != "" && !g.r.chance(e.UsedNameMissing) {
		used := foldName(p.UsedName)
		if g.r.chance(e.NameTypo) {
			used = typo(g.r, used)
		}
		rec.UsedName = used
	}
}

// localTraits types the identity at the site with the error patterns of
// identity-fr.md. It reports whether the names lost their accents.
func (g *gen) localTraits(rec *Record, p *Person, s *Site, e *ErrorRates) bool {
	r := g.r
	bn, used := p.BirthName, p.UsedName
	list := append([]string(nil), p.FirstNames...)
	first := list[0]
	if p.KnownBySecond && len(list) > 1 && r.chance(e.SecondFirstNameUsed) {
		first = list[1]
	}
	if used != "" {
		if r.chance(e.UsedNameAsBirthName) {
			bn = used
		}
		if r.chance(e.UsedNameMissing) {
			used = ""
		}
	}
	if i := strings.IndexByte(first, '-'); i > 0 && r.chance(e.CompoundFirstNameCut) {
		if list[0] == first {
			list[0] = first[:i]
		}
		first = first[:i]
	}
	var names string
	switch {
	case r.chance(e.FirstNamesEmpty):
	case r.chance(e.FullFirstNames):
		names = strings.Join(list, " ")
	default:
		names = first
	}
	// Shapes of compound names and particles.
	bn, used = g.surnameShape(bn, e), g.surnameShape(used, e)
	if strings.ContainsRune(first, '-') || strings.ContainsRune(names, '-') {
		switch x := r.float(); {
		case x < e.CompoundSpace:
			first, names = compoundVariant(first, 0), compoundVariant(names, 0)
		case x < e.CompoundSpace+e.CompoundGlued:
			first = compoundVariant(first, 1)
			names = strings.ReplaceAll(names, "-", "")
		}
	}
	// Marital mentions that do not belong in a name.
	if p.UsedName != "" && r.chance(e.MaritalMention) {
		switch r.intn(5) {
		case 0:
			bn = p.BirthName + " EPOUSE " + p.UsedName
		case 1:
			bn = p.BirthName + " EP " + p.UsedName
		case 2:
			used = p.UsedName + " NEE " + p.BirthName
		case 3:
			bn = p.UsedName + " NÉE " + p.BirthName
		default:
			used = "VEUVE " + p.UsedName
		}
	}
	// Misspellings, per field.
	for _, f := range []*string{&bn, &used, &first, &names} {
		if *f == "" {
			continue
		}
		if r.chance(e.Phonetic) {
			*f = phonetic(r, *f)
		}
		if r.chance(e.NameTypo) {
			*f = typo(r, *f)
		}
	}
	ascii := r.chance(e.AccentsDropped)
	if ascii {
		bn, used, first, names = dropAccents(bn), dropAccents(used), dropAccents(first), dropAccents(names)
	}
	if r.chance(e.NameSwap) {
		bn, first = first, bn
		if names != "" && r.chance(0.5) {
			names = first
		}
	}
	if s.titleFirst {
		first, names = titleCase(first), titleCase(names)
	}
	if r.chance(e.MixedCase) {
		if r.chance(0.7) {
			bn, used, first, names = titleCase(bn), titleCase(used), titleCase(first), titleCase(names)
		} else {
			bn, used, first, names = strings.ToLower(bn), strings.ToLower(used), strings.ToLower(first), strings.ToLower(names)
		}
	}
	if r.chance(e.ExtraSpaces) {
		fields := []*string{&bn, &first}
		if used != "" {
			fields = append(fields, &used)
		}
		f := fields[r.intn(len(fields))]
		*f = extraSpaces(r, *f)
	}
	rec.BirthName, rec.UsedName, rec.FirstName, rec.FirstNames = bn, used, first, names
	rec.BirthDate = g.noisyDate(p, e)

	switch x := r.float(); {
	case x < e.SexWrong:
		rec.Sex = "M"
		if p.Sex == 'M' {
			rec.Sex = "F"
		}
	case x < e.SexWrong+e.SexMissing:
		if r.chance(0.3) {
			rec.Sex = "U"
		}
	default:
		rec.Sex = string(p.Sex)
	}
	if !r.chance(e.BirthPlaceMissing) {
		rec.BirthPlace = p.BirthPlace
		if p.birthPostal != "" && r.chance(e.BirthPlaceAsPostal) {
			rec.BirthPlace = p.birthPostal
		}
	}
	return ascii
}

// surnameShape writes a surname's particle or compound separator the way
// some sites do.
func (g *gen) surnameShape(s string, e *ErrorRates) string {
	if s == "" {
		return s
	}
	x := g.r.float()
	if p := particleOf(s); p != "" {
		switch {
		case x < e.ParticleDropped:
			return particleVariant(s, p, 0)
		case x < e.ParticleDropped+e.ParticleGlued:
			return particleVariant(s, p, 1)
		case x < e.ParticleDropped+e.ParticleGlued+e.ParticleApostrophe && strings.Contains(p, "'"):
			return particleVariant(s, p, 2)
		}
		return s
	}
	switch {
	case strings.Contains(s, "-"):
		if x < e.CompoundSpace {
			return compoundVariant(s, 0)
		} else if x < e.CompoundSpace+e.CompoundGlued {
			return compoundVariant(s, 1)
		}
	case strings.Contains(s, " "):
		if x < e.CompoundHyphen {
			return compoundVariant(s, 2)
		} else if x < e.CompoundHyphen+e.CompoundGlued {
			return compoundVariant(s, 1)
		}
	}
	return s
}

// noisyDate writes the birth date with at most one of the date errors.
func (g *gen) noisyDate(p *Person, e *ErrorRates) string {
	r := g.r
	y, m, d := p.BirthYear, p.BirthMonth, p.BirthDay
	x := r.float()
	switch {
	case x < e.PlaceholderDate:
		m, d = 1, 1
		if r.chance(0.2) {
			m, d = 12, 31
		}
	case x < e.PlaceholderDate+e.DayMonthSwap:
		if d <= 12 && d != m {
			m, d = d, m
		}
	case x < e.PlaceholderDate+e.DayMonthSwap+e.YearTypo:
		y = yearTypo(r, y, g.ref.Year())
	case x < e.PlaceholderDate+e.DayMonthSwap+e.YearTypo+e.DayTypo:
		d = dayTypo(r, y, m, d)
	case x < e.PlaceholderDate+e.DayMonthSwap+e.YearTypo+e.DayTypo+e.PartialDate:
		d = 0
		if r.chance(0.3) {
			m = 0
		}
	}
	return isoDate(y, m, d)
}

// isoDate writes YYYY-MM-DD (00 parts allowed).
func isoDate(y, m, d int) string {
	b := [10]byte{byte('0' + y/1000%10), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10), '-',
		byte('0' + m/10%10), byte('0' + m%10), '-', byte('0' + d/10%10), byte('0' + d%10)}
	return string(b[:])
}

// yearTypo changes one digit of the year: the units (±1) or the tens (±10),
// staying between 1900 and the reference year.
func yearTypo(r *rng, y, maxYear int) int {
	step := 1
	if r.chance(0.5) {
		step = 10
	}
	digit := y / step % 10
	up := r.chance(0.5)
	if digit == 9 {
		up = false
	} else if digit == 0 {
		up = true
	}
	ny := y - step
	if up {
		ny = y + step
	}
	if ny > maxYear || ny < 1900 {
		ny = y - (ny - y)
	}
	return ny
}

// dayTypo changes one digit of the day, keeping a real day of the month.
func dayTypo(r *rng, y, m, d int) int {
	days := time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
	for tries := 0; tries < 10; tries++ {
		var nd int
		if r.chance(0.6) {
			nd = d/10*10 + r.intn(10)
		} else {
			nd = r.intn(4)*10 + d%10
		}
		if nd != d && nd >= 1 && nd <= days {
			return nd
		}
	}
	return d
}

// anonymous makes an anonymous or placeholder record, its own person.
func (g *gen) anonymous(s *Site) *Record {
	r := g.r
	name := "X"
	if r.chance(0.4) {
		name = "ANONYME"
	}
	first := ""
	switch r.intn(3) {
	case 0:
		first = "X"
	case 1:
		first = name
	}
	sex := byte('M')
	if r.chance(0.5) {
		sex = 'F'
	}
	p := &Person{ID: g.newID(), Sex: sex, BirthName: name, FirstNames: []string{first}, BirthYear: 1900, BirthMonth: 1, BirthDay: 1, Anonymous: true, dept: -1}
	g.stats.Anonymous++
	rec := &Record{Authority: s.OID, Person: p, Site: s, Status: StatusPROV, BirthName: name, FirstName: first, BirthDate: "1900-01-01"}
	switch r.intn(3) {
	case 0:
		rec.Sex = string(sex)
	case 1:
		rec.Sex = "U"
	}
	return rec
}

// formatPhone writes a 10-digit French number in one of the sites' styles.
func formatPhone(ph string, style int) string {
	if len(ph) != 10 {
		return ph
	}
	switch style {
	case 1:
		return ph[0:2] + " " + ph[2:4] + " " + ph[4:6] + " " + ph[6:8] + " " + ph[8:10]
	case 2:
		return ph[0:2] + "." + ph[2:4] + "." + ph[4:6] + "." + ph[6:8] + "." + ph[8:10]
	case 3:
		return "+33" + ph[1:]
	}
	return ph
}
