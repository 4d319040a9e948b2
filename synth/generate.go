package synth

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"vigie"
)

// Identity statuses (RNIV).
const (
	StatusPROV  = "PROV"
	StatusRECUP = "RECUP"
	StatusVALI  = "VALI"
	StatusQUAL  = "QUAL"
)

// RecordHeader is the header of records.csv, in column order.
var RecordHeader = []string{"authority", "local_id", "ins", "ins_oid", "status", "birth_name", "used_name",
	"first_names", "first_name", "birth_date", "sex", "birth_place", "postal_code", "city", "address", "phone"}

// TruthHeader is the header of truth.csv.
var TruthHeader = []string{"authority", "local_id", "person"}

// Record is one site's record of a person: the columns of records.csv, and
// the truth behind them.
type Record struct {
	Authority  string // OID of the site
	LocalID    string // the site's patient id (IPP)
	INS        string
	INSOID     string
	Status     string
	BirthName  string
	UsedName   string
	FirstNames string
	FirstName  string
	BirthDate  string
	Sex        string
	BirthPlace string
	PostalCode string
	City       string
	Address    string
	Phone      string

	Person    *Person // the true person
	Site      *Site
	Duplicate bool // a second record of the person at the same site
	WrongINS  bool // carries a relative's INS: a collision
	// ASCII: the names were typed (or returned by INSi) without accents.
	ASCII bool
}

// Fields returns the record's columns in RecordHeader order.
func (r *Record) Fields() []string {
	return []string{r.Authority, r.LocalID, r.INS, r.INSOID, r.Status, r.BirthName, r.UsedName,
		r.FirstNames, r.FirstName, r.BirthDate, r.Sex, r.BirthPlace, r.PostalCode, r.City, r.Address, r.Phone}
}

// Traits returns the record as the patient index receives it.
func (r *Record) Traits() vigie.Record {
	return vigie.Record{Authority: r.Authority, LocalID: r.LocalID, INS: r.INS, INSOID: r.INSOID, Status: r.Status,
		BirthName: r.BirthName, UsedName: r.UsedName, FirstNames: r.FirstNames, FirstName: r.FirstName,
		BirthDate: r.BirthDate, Sex: r.Sex, BirthPlace: r.BirthPlace, PostalCode: r.PostalCode, City: r.City,
		Address: r.Address, Phone: r.Phone}
}

// Stats counts what a generation produced.
type Stats struct {
	Persons         int // real persons (Config.Persons)
	Anonymous       int // anonymous records, each its own person
	Households      int
	Records         int
	WithINS         int // records carrying an INS (wrong ones included)
	WrongINS        int // records carrying a relative's INS
	LocalDuplicates int // second records of a person at one site
	TwinPairs       int
	FatherSon       int // sons who carry their father's first first name
	Namesakes       int // adults given the name of another person on purpose
	KnownBySecond   int // persons who go by their second first name
	UsageName       int // persons with a usage name
	AdultWomen      int // women aged 18 or more
	Sites           int
	NamesSource     string
}

// RecordsPerPerson is the mean number of records of a person.
func (s Stats) RecordsPerPerson() float64 {
	if s.Persons+s.Anonymous == 0 {
		return 0
	}
	return float64(s.Records) / float64(s.Persons+s.Anonymous)
}

// INSCoverage is the share of records that carry an INS.
func (s Stats) INSCoverage() float64 {
	if s.Records == 0 {
		return 0
	}
	return float64(s.WithINS) / float64(s.Records)
}

type gen struct {
	cfg   Config
	r     *rng
	names *Names
	ref   time.Time

	sites      []*Site
	siteCDF    cdf
	localSites map[string][]int
	localCDF   map[string]cdf

	deptCDF    cdf
	communeCDF []cdf
	birthCDF   []cdf
	otherCDF   cdf
	countryCDF cdf
	adultAge   cdf
	regional   [5]weighted
	origin     map[string]*[3]weighted // surnames, male, female

	errProv, errVali, errDup ErrorRates
	sitesCount               [3]cdf // young, middle, old

	nirCount   map[uint64]uint16
	recent     []namesake
	households int
	nextID     int
	idWidth    int
	window     []*Record
	emit       func(*Record) error
	stats      Stats
	// Running counts that steer the wrong-INS draw to its target rate.
	seenRecords, seenEligible int
}

func newGen(cfg Config) (*gen, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	names := cfg.Names
	if names == nil {
		names = BuiltinNames()
	}
	g := &gen{
		cfg:        cfg,
		r:          newRNG(cfg.Seed, 0x76696769),
		names:      names,
		ref:        cfg.RefDate,
		sites:      newSites(cfg.Sites),
		localSites: map[string][]int{},
		localCDF:   map[string]cdf{},
		nirCount:   map[uint64]uint16{},
		idWidth:    max(7, len(fmt.Sprint(cfg.Persons))),
	}
	g.stats.Sites = cfg.Sites
	g.stats.NamesSource = names.Source()
	sw := make([]float64, len(g.sites))
	for i, s := range g.sites {
		sw[i] = s.weight
		g.localSites[s.Department] = append(g.localSites[s.Department], i)
	}
	g.siteCDF = newCDF(sw)
	for _, d := range naDepartments {
		idx := g.localSites[d.code]
		w := make([]float64, len(idx))
		for i, j := range idx {
			w[i] = g.sites[j].weight
		}
		g.localCDF[d.code] = newCDF(w)
	}
	dw := make([]float64, len(naDepartments))
	for i, d := range naDepartments {
		dw[i] = d.weight
		cw := make([]float64, len(d.communes))
		bw := make([]float64, len(d.communes))
		for j, c := range d.communes {
			cw[j] = c.weight
			bw[j] = c.weight * c.weight // maternities are in the larger towns
		}
		g.communeCDF = append(g.communeCDF, newCDF(cw))
		g.birthCDF = append(g.birthCDF, newCDF(bw))
	}
	g.deptCDF = newCDF(dw)
	ow := make([]float64, len(otherFrance))
	for i, c := range otherFrance {
		ow[i] = c.weight
	}
	g.otherCDF = newCDF(ow)
	cw := make([]float64, len(countries))
	for i, c := range countries {
		cw[i] = c.weight
	}
	g.countryCDF = newCDF(cw)
	g.adultAge = newCDF(anchorAgeWeights())
	g.regional[regionBasque] = zipfList(basqueSurnames, smallListZipfOffset)
	g.regional[regionGascon] = zipfList(gasconSurnames, smallListZipfOffset)
	g.regional[regionCentreOuest] = zipfList(centreOuestSurnames, smallListZipfOffset)
	g.regional[regionBreton] = zipfList(bretonSurnames, smallListZipfOffset)
	g.origin = map[string]*[3]weighted{}
	for _, c := range countries {
		o, ok := origins[c.code]
		if !ok {
			continue
		}
		g.origin[c.code] = &[3]weighted{zipfList(o.surnames, smallListZipfOffset),
			zipfList(o.male, smallListZipfOffset), zipfList(o.female, smallListZipfOffset)}
	}
	rr := &cfg.Records
	g.sitesCount = [3]cdf{newCDF(rr.SitesYoung[:]), newCDF(rr.SitesMiddle[:]), newCDF(rr.SitesOld[:])}
	e := cfg.Errors
	g.errProv = e
	g.errVali = e.Scaled(e.ValidatedScale)
	g.errDup = e.Scaled(e.DuplicateScale)
	return g, nil
}

// Generate creates cfg.Persons persons in households and streams their
// records to fn, in a shuffled order, each with its local id. Records are
// fresh values fn may keep. Output depends only on cfg (seed, rates, names).
func Generate(cfg Config, fn func(*Record) error) (Stats, error) {
	g, err := newGen(cfg)
	if err != nil {
		return Stats{}, err
	}
	g.emit = fn
	for g.stats.Persons < g.cfg.Persons {
		people := g.household()
		if room := g.cfg.Persons - g.stats.Persons; len(people) > room {
			people = people[:room]
		}
		g.stats.Households++
		in := map[*Person]bool{}
		for _, p := range people {
			in[p] = true
		}
		for _, p := range people {
			// Links only to persons of the population.
			for _, l := range []**Person{&p.Father, &p.Mother, &p.Spouse, &p.Twin} {
				if *l != nil && !in[*l] {
					*l = nil
				}
			}
			g.count(p, in)
		}
		for _, p := range people {
			p.ID = g.newID()
			if err := g.records(p); err != nil {
				return g.stats, err
			}
		}
	}
	if err := g.flush(); err != nil {
		return g.stats, err
	}
	return g.stats, nil
}

func (g *gen) count(p *Person, in map[*Person]bool) {
	g.stats.Persons++
	if p.Twin != nil && !p.twinSecond && in[p.Twin] {
		g.stats.TwinPairs++
	}
	if p.Sex == 'M' && p.Father != nil && in[p.Father] && p.FirstNames[0] == p.Father.FirstNames[0] {
		g.stats.FatherSon++
	}
	if p.UsedName != "" {
		g.stats.UsageName++
	}
	if p.Sex == 'F' && p.age >= 18 {
		g.stats.AdultWomen++
	}
}

func (g *gen) newID() string {
	g.nextID++
	return fmt.Sprintf("P%0*d", g.idWidth, g.nextID)
}

// records writes a person's records: one per site, plus local duplicates and
// now and then an anonymous record at the same site.
func (g *gen) records(p *Person) error {
	rr := &g.cfg.Records
	c := g.sitesCount[0]
	switch {
	case p.age >= 70:
		c = g.sitesCount[2]
	case p.age >= 40:
		c = g.sitesCount[1]
	}
	k := c.draw(g.r) + 1
	for i, s := range g.chooseSites(p, k) {
		addr := p.home
		if i > 0 && g.r.chance(rr.Moved) {
			if p.alt == nil {
				d := p.home.dept
				if d < 0 || g.r.chance(0.3) {
					d = g.residenceDept()
				}
				p.alt = g.newAddress(d)
			}
			addr = p.alt
		}
		if err := g.push(g.record(p, s, addr, false)); err != nil {
			return err
		}
		if g.r.chance(rr.LocalDuplicate) {
			g.stats.LocalDuplicates++
			if err := g.push(g.record(p, s, addr, true)); err != nil {
				return err
			}
		}
		if g.r.chance(rr.Anonymous) {
			if err := g.push(g.anonymous(s)); err != nil {
				return err
			}
		}
	}
	return nil
}

// chooseSites picks k distinct sites, mostly in the person's département.
func (g *gen) chooseSites(p *Person, k int) []*Site {
	k = min(k, len(g.sites))
	chosen := make([]*Site, 0, k)
	var local []int
	var lc cdf
	if p.dept >= 0 {
		code := naDepartments[p.dept].code
		local, lc = g.localSites[code], g.localCDF[code]
	}
	for tries := 0; len(chosen) < k && tries < 64; tries++ {
		var s *Site
		if len(local) > 0 && g.r.chance(g.cfg.Records.LocalSite) {
			s = g.sites[local[lc.draw(g.r)]]
		} else {
			s = g.sites[g.siteCDF.draw(g.r)]
		}
		dup := false
		for _, c := range chosen {
			dup = dup || c == s
		}
		if !dup {
			chosen = append(chosen, s)
		}
	}
	return chosen
}

func (g *gen) push(rec *Record) error {
	g.stats.Records++
	if rec.INS != "" {
		g.stats.WithINS++
	}
	g.window = append(g.window, rec)
	if len(g.window) >= g.cfg.Window {
		return g.flush()
	}
	return nil
}

// flush shuffles the buffered records, gives them their local ids and
// emits them.
func (g *gen) flush() error {
	shuffle(g.r, g.window)
	for _, rec := range g.window {
		rec.LocalID = rec.Site.nextIPP(g.r)
		if err := g.emit(rec); err != nil {
			return err
		}
	}
	clear(g.window)
	g.window = g.window[:0]
	return nil
}

// WriteCSV generates the population and writes the contents of
// records.csv and truth.csv (RFC 4180, header line first) to the two writers.
func WriteCSV(cfg Config, records, truth io.Writer) (Stats, error) {
	rw := bufio.NewWriterSize(records, 1<<20)
	tw := bufio.NewWriterSize(truth, 1<<18)
	writeRow(rw, RecordHeader...)
	writeRow(tw, TruthHeader...)
	// Formatting and writing run in a second goroutine, fed batches of
	// records in order: the output is the same, generation does not wait.
	const batch = 4096
	batches := make(chan []*Record, 4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := range batches {
			for _, r := range b {
				writeRow(rw, r.Authority, r.LocalID, r.INS, r.INSOID, r.Status, r.BirthName, r.UsedName,
					r.FirstNames, r.FirstName, r.BirthDate, r.Sex, r.BirthPlace, r.PostalCode, r.City, r.Address, r.Phone)
				writeRow(tw, r.Authority, r.LocalID, r.Person.ID)
			}
		}
	}()
	cur := make([]*Record, 0, batch)
	st, err := Generate(cfg, func(r *Record) error {
		cur = append(cur, r)
		if len(cur) == batch {
			batches <- cur
			cur = make([]*Record, 0, batch)
		}
		return nil
	})
	if len(cur) > 0 {
		batches <- cur
	}
	close(batches)
	<-done
	if err != nil {
		return st, err
	}
	if err := rw.Flush(); err != nil {
		return st, err
	}
	return st, tw.Flush()
}

// writeRow writes one CSV line, quoting the fields that need it as
// encoding/csv does (separator, quote, line break, leading space). Write
// errors stick in the bufio.Writer and come out at Flush.
func writeRow(w *bufio.Writer, fields ...string) {
	for i, f := range fields {
		if i > 0 {
			w.WriteByte(',')
		}
		if !needsQuotes(f) {
			w.WriteString(f)
			continue
		}
		w.WriteByte('"')
		w.WriteString(strings.ReplaceAll(f, `"`, `""`))
		w.WriteByte('"')
	}
	w.WriteByte('\n')
}

func needsQuotes(f string) bool {
	if f == "" {
		return false
	}
	if f[0] == ' ' || f[0] == '\t' {
		return true
	}
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case ',', '"', '\r', '\n':
			return true
		}
	}
	return false
}

// WriteFiles generates the population into dir/records.csv and
// dir/truth.csv, creating dir if needed.
func WriteFiles(cfg Config, dir string) (Stats, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Stats{}, err
	}
	rf, err := os.Create(filepath.Join(dir, "records.csv"))
	if err != nil {
		return Stats{}, err
	}
	defer rf.Close()
	tf, err := os.Create(filepath.Join(dir, "truth.csv"))
	if err != nil {
		return Stats{}, err
	}
	defer tf.Close()
	st, err := WriteCSV(cfg, rf, tf)
	if err != nil {
		return st, err
	}
	if err := rf.Close(); err != nil {
		return st, err
	}
	return st, tf.Close()
}

// surname draws a birth name for someone born at place (COG or 99xxx) who
// carries the names of origin (a country code, or "").
func (g *gen) surname(place, origin string) string {
	if o, ok := g.origin[origin]; ok {
		return o[0].draw(g.r)
	}
	x := g.r.float()
	switch regionOfCOG(place) {
	case regionBasque:
		if x < 0.15 {
			return g.regional[regionBasque].draw(g.r)
		} else if x < 0.23 {
			return g.regional[regionGascon].draw(g.r)
		}
	case regionGascon:
		if x < 0.10 {
			return g.regional[regionGascon].draw(g.r)
		} else if x < 0.12 {
			return g.regional[regionBasque].draw(g.r)
		}
	case regionCentreOuest:
		if x < 0.08 {
			return g.regional[regionCentreOuest].draw(g.r)
		}
	case regionBreton:
		if x < 0.30 {
			return g.regional[regionBreton].draw(g.r)
		}
	default:
		if x < 0.005 {
			return g.regional[regionBreton].draw(g.r)
		}
	}
	return g.names.surnames.draw(g.r)
}

// firstNames draws the birth first names (1–3) of a person.
func (g *gen) firstNames(sex byte, year int, origin string) []string {
	var dist [3]float64
	switch {
	case year < 1945:
		dist = [3]float64{0.15, 0.40, 0.45}
	case year < 1980:
		dist = [3]float64{0.25, 0.45, 0.30}
	case year < 2005:
		dist = [3]float64{0.35, 0.45, 0.20}
	default:
		dist = [3]float64{0.40, 0.45, 0.15}
	}
	n := 1
	if x := g.r.float(); x >= dist[0] {
		n = 2
		if x >= dist[0]+dist[1] {
			n = 3
		}
	}
	one := func(y int) string {
		if o, ok := g.origin[origin]; ok && g.r.chance(0.85) {
			if sex == 'F' {
				return o[2].draw(g.r)
			}
			return o[1].draw(g.r)
		}
		return g.names.firstName(g.r, sex, y)
	}
	list := make([]string, 0, n)
	list = append(list, one(year))
	for len(list) < n {
		var s string
		switch {
		case sex == 'F' && year < 1980 && g.r.chance(0.15):
			s = "MARIE"
		case sex == 'M' && year < 1960 && len(list) == 2 && g.r.chance(0.08):
			s = "MARIE"
		case g.r.chance(0.6):
			s = one(year - 30)
		default:
			s = one(year)
		}
		ok := true
		for _, x := range list {
			fx, fs := foldName(x), foldName(s)
			if fx == fs || strings.Contains(fx, fs) || strings.Contains(fs, fx) {
				ok = false
			}
		}
		if ok {
			list = append(list, s)
		} else if g.r.chance(0.3) {
			break // give up: fewer first names
		}
	}
	return list
}
