package census

import (
	"fmt"
	"strings"
)

// site is an establishment: an authority that numbers its patients, in one
// département, with its own habits of capture.
type site struct {
	oid    string
	dept   string
	weight float64 // how many visits it draws (a university hospital draws many)

	upper       bool // names in upper case; otherwise title case (Le Goff)
	accents     bool // keeps accents
	hyphen      int  // compound first names: 0 kept, 1 spaced, 2 glued
	firstMax    int  // the first-name field's length (0: unbounded)
	dateFormat  int  // 0 YYYY-MM-DD, 1 DD/MM/YYYY, 2 YYYYMMDD
	sexDigits   bool // sex written 1/2 instead of M/F
	list        bool // records the list of first names
	scans       bool // some identities are typed from scanned forms (OCR)
	abbreviates bool // abbreviates street types (R, AV, BD)
	phoneStyle  int  // 0 0298123456, 1 02 98 12 34 56, 2 +33 2 98 12 34 56

	idPrefix string
	nextID   int
}

// newSites makes n establishments spread over the region's départements.
func (g *gen) newSites(n int) []*site {
	r := g.r
	var depts []string
	seen := map[string]bool{}
	for _, t := range towns {
		if !seen[t.dept] {
			seen[t.dept] = true
			depts = append(depts, t.dept)
		}
	}
	sites := make([]*site, n)
	for i := range sites {
		d := depts[i%len(depts)]
		// FINESS-like number: département, then a serial.
		finess := fmt.Sprintf("%s00%05d", d, 100+i*37%99900)
		s := &site{
			oid:         "1.2.250.1.71.4.2.1." + finess,
			dept:        d,
			weight:      []float64{8, 3, 1, 1, 0.5}[r.pick([]float64{0.1, 0.25, 0.35, 0.2, 0.1})],
			upper:       r.chance(0.85),
			accents:     r.chance(0.45),
			hyphen:      r.pick([]float64{0.6, 0.3, 0.1}),
			dateFormat:  r.pick([]float64{0.6, 0.3, 0.1}),
			sexDigits:   r.chance(0.1),
			list:        r.chance(0.7),
			scans:       r.chance(0.4),
			abbreviates: r.chance(0.5),
			phoneStyle:  r.pick([]float64{0.5, 0.4, 0.1}),
			nextID:      r.between(1, 90) * 10000,
		}
		if r.chance(0.25) {
			s.firstMax = []int{8, 10, 12}[r.intn(3)]
		}
		if r.chance(0.3) {
			s.idPrefix = strings.ToUpper(string(rune('A'+r.intn(26)))) + "P"
		}
		sites[i] = s
	}
	return sites
}

// localID numbers a new patient at the site.
func (s *site) localID() string {
	s.nextID++
	return fmt.Sprintf("%s%08d", s.idPrefix, s.nextID)
}
