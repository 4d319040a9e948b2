package search

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sync"

	"vigie/matcher"
)

// Candidate generation. A query becomes a list of exact-term keys (family
// name forms, their phonetic and one-typo forms, first names, birth date,
// composite keys, identifiers), each in a group of evidence. A key weighs
// what its agreement says, the log of its selectivity: ln(N/df) for a key
// held by df of the N identities, times a quality below 1 for a phonetic,
// typo or swapped form. An identity's candidate score is, per group, the
// weight of the best key it matches, summed over groups: the
// Fellegi–Sunter sum of field agreements with term frequencies as the
// u-probabilities, crude but cheap, and it ranks a rare agreement above a
// common one whatever the number of keys a long name or a many-member
// identity generates. Only the best few candidates are decoded and scored by
// the matcher.
//
// The cost of a query is the terms it looks up and the postings it reads,
// so keys are read from the most to the least informative, and reading
// stops once no identity that matched none of the keys read so far could
// still reach the candidates kept (a bound: the sum of the best remaining
// weight of each group), or be within ln(10⁴) of the best one. The one-typo
// keys (one per letter of each name form) are looked up only when the best
// identity found does not agree with everything the query gives. Keys that
// rank but do not make an identity a candidate (first names, birth date and
// year: thousands of identities share them) are read only for the
// candidates found, and left out when both are many. The matcher then
// scores the candidates within ln(10³) of the best (at least the number of
// results asked for, at most six per result).

// group is a kind of evidence; an identity's score takes its best key per
// group.
type group uint8

const (
	gName      group = iota // family-name forms: exact, phonetic (with the year), one typo away
	gNameFirst              // phonetic family name with phonetic first name
	gFirstBorn              // phonetic first name with birth date or year
	gNameBorn               // phonetic family name with birth date
	gID                     // INS or local id
	gFirst                  // first names
	gDate                   // birth date or year
	nGroups
)

// anchor reports whether a key of the group makes an identity a candidate:
// it shares a family name (alone or with the first name or the birth date),
// a first name with the birth date or year, or an identifier with the query. First
// names and the date alone only rank.
func (g group) anchor() bool { return g <= gID }

// key is one term looked up for a query.
type key struct {
	field, term string
	g           group
	q           float64 // share of the key's selectivity that counts: 1 for an exact form
	typo        bool    // a one-typo neighbour: looked up only when the exact keys fall short
	p           postings
	w           float64 // weight, once the key's document frequency is known
}

// Qualities of the key forms: a phonetic agreement is weaker evidence than
// an exact one, a one-typo neighbour weaker still, and names typed in each
// other's field the weakest.
const (
	qExact    = 1.0
	qPhonetic = 0.9
	qSwapDate = 0.85
	qTypo     = 0.75
	qSwapName = 0.5
)

// queryKeys returns the keys of a query, each (field, term) once with its
// best quality.
func queryKeys(q *Query, p *matcher.Prepared) []key {
	keys := make([]key, 0, 64)
	add := func(field, term string, g group, quality float64) {
		if term == "" {
			return
		}
		// A few dozen keys: a scan is cheaper than a map.
		for i := range keys {
			if keys[i].term == term && keys[i].field == field {
				keys[i].q = max(keys[i].q, quality)
				return
			}
		}
		keys = append(keys, key{field: field, term: term, g: g, q: quality, typo: field == "name_del"})
	}
	if p.HasINS {
		add("ins", p.INS.Number, gID, qExact)
	}
	for _, l := range q.LocalIDs {
		add("ipp", ippTerm(l.Authority, l.LocalID), gID, qExact)
	}
	year := ""
	if p.Date.Year != 0 {
		year = fmt.Sprintf("%04d", p.Date.Year)
	}
	// A phonetic key alone matches thousands of identities at regional
	// scale: with a birth year it is taken with the year.
	phon := func(ph string) {
		if year != "" {
			add("name_ph_y", ph+"|"+year, gName, qPhonetic)
		} else {
			add("name_ph", ph, gName, qPhonetic)
		}
	}
	var dates []string // the birth date, and its day/month swap when it can be one
	if d := p.Date; d.Full() {
		dates = append(dates, fmt.Sprintf("%04d%02d%02d", d.Year, d.Month, d.Day))
		if d.Day <= 12 && d.Day != d.Month {
			dates = append(dates, fmt.Sprintf("%04d%02d%02d", d.Year, d.Day, d.Month))
		}
	}
	dateQuality := []float64{qExact, qSwapDate}
	var firsts []*matcher.Name
	if !p.First.Empty() {
		firsts = append(firsts, &p.First)
	}
	for i := range p.List {
		if !p.List[i].Empty() {
			firsts = append(firsts, &p.List[i])
		}
	}
	hasName := false
	for _, n := range []*matcher.Name{&p.Birth, &p.Used} {
		if n.Empty() {
			continue
		}
		hasName = true
		for _, t := range nameForms(n) {
			add("name", t, gName, qExact)
			phon(matcher.Phonex(t))
			if typoKeyed(t) {
				add("name_del", t, gName, qTypo)
				for _, v := range deletions(t) {
					add("name_del", v, gName, qTypo)
				}
			}
		}
		phon("S" + matcher.Soundex2(n.CoreGlued))
		ph := matcher.Phonex(n.CoreGlued)
		for _, f := range firsts {
			add("name_first", ph+"|"+matcher.Phonex(f.Glued), gNameFirst, qPhonetic)
		}
		for i, dt := range dates {
			add("name_born", ph+"|"+dt, gNameBorn, dateQuality[i])
		}
		// The family name typed as the first name.
		add("first", n.Glued, gFirst, qSwapName)
	}
	for i, dt := range dates {
		add("born", dt, gDate, dateQuality[i])
	}
	if year != "" {
		add("year", year, gDate, qExact)
	}
	for _, f := range firsts {
		add("first", f.Glued, gFirst, qExact)
		for _, t := range f.Tokens {
			add("first", t, gFirst, qPhonetic)
		}
		ph := matcher.Phonex(f.Glued)
		add("first_ph", ph, gFirst, qPhonetic)
		// A changed family name: first name and birth date still find the
		// person (both orders of an ambiguous day and month).
		for i, dt := range dates {
			add("first_born", ph+"|"+dt, gFirstBorn, dateQuality[i])
		}
		if year != "" {
			add("first_y", ph+"|"+year, gFirstBorn, qExact)
		}
		// The first name typed as the family name.
		if hasName {
			add("name", f.CoreGlued, gName, qSwapName)
		}
	}
	return keys
}

// nameForms returns the forms of a family name filed as keys: its core
// tokens, glued form and particle-free glued form.
func nameForms(n *matcher.Name) []string {
	out := make([]string, 0, len(n.Core)+2)
	for _, t := range append(append([]string{}, n.Core...), n.Glued, n.CoreGlued) {
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// candidate is an identity found by the keys, by bleve's internal number.
type candidate struct {
	doc   uint64
	best  [nGroups]float32
	score float64
	exact bool // matched an exact family-name form of the query
}

const (
	// scanFactor: a ranking key's postings are read whole when they are at
	// most this many times the candidates, else each candidate is looked
	// up, if there are at most maxLookup of them, or the key is left out
	// (a common first name or a birth year does not tell thousands of
	// homonyms apart anyway: the matcher does).
	scanFactor = 4
	// maxGenerate is the most postings a key is read for when it makes new
	// candidates: a key held by more identities says too little to be
	// worth it, once a rarer key has found some.
	maxGenerate = 4096
	// maxLookup bounds the candidates a ranking-only key (first name,
	// date) is looked up for, one by one, when its postings are longer.
	maxLookup = 1024
	// slack is how far below the best candidate (in weight, a log of a
	// frequency ratio) an identity that matched none of the keys read so
	// far may still be: beyond, reading stops. ln(10⁴): ten thousand times
	// less likely on the keys alone.
	slack = 9.2
	// rescoreSlack is how far below the best candidate a candidate may be
	// and still be scored by the matcher (beyond the limit asked for):
	// ln(10³). The key scores of the identity sought and of the best
	// one differ by less in all but a few per thousand of typed queries
	// (ties between homonyms without a birth date, mostly).
	rescoreSlack = 6.9
)

// findCandidates reads the keys' postings and returns up to k anchored
// candidates, best first. The one-typo keys (many: one per letter of each
// name form) are looked up only when the best identity the exact keys found
// does not agree with the query on every trait it gives (see complete).
func findCandidates(ctx context.Context, v *view, keys []key, k int) ([]candidate, error) {
	n := v.live
	var anchors, rankers, typos []*key
	open := func(kk *key) (bool, error) {
		p, err := v.lookup(kk.field, kk.term)
		if err != nil {
			return false, err
		}
		kk.p = p
		if p.df == 0 {
			return false, nil
		}
		kk.w = kk.q * math.Log(float64(n+1)/float64(p.df))
		return true, nil
	}
	var want struct{ first, born bool }
	for i := range keys {
		kk := &keys[i]
		switch {
		case kk.typo:
			typos = append(typos, kk)
			continue
		case kk.field == "first" && kk.q == qExact:
			want.first = true
		case kk.field == "born":
			want.born = true
		}
		ok, err := open(kk)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if kk.g.anchor() {
			anchors = append(anchors, kk)
		} else {
			rankers = append(rankers, kk)
		}
	}
	var rankMax [nGroups]float64
	for _, kk := range rankers {
		rankMax[kk.g] = max(rankMax[kk.g], kk.w)
	}
	g := generators.Get().(*generator)
	g.k, g.rankMax, g.top = k, rankMax, 0
	defer g.release()
	rest, err := g.run(ctx, v, anchors)
	if err != nil {
		return nil, err
	}
	if len(typos) > 0 && !g.complete(want.first, want.born) {
		for _, kk := range typos {
			ok, err := open(kk)
			if err != nil {
				return nil, err
			}
			if ok {
				rest = append(rest, kk)
			}
		}
		if _, err := g.run(ctx, v, rest); err != nil {
			return nil, err
		}
	}
	cands, at := g.cands, g.at
	if len(cands) <= 1 {
		return slices.Clone(cands), nil
	}
	// Ranking keys: read their postings when shorter than the candidates,
	// else look each candidate up.
	for _, kk := range rankers {
		w := float32(kk.w)
		bump := func(c *candidate) {
			if w > c.best[kk.g] {
				c.score += float64(w - c.best[kk.g])
				c.best[kk.g] = w
			}
		}
		if df := kk.p.df; df <= uint64(scanFactor*len(cands)) && df <= maxGenerate {
			v.each(&kk.p, func(doc uint64) {
				if j, ok := at[doc]; ok {
					bump(&cands[j])
				}
			})
			continue
		}
		if len(cands) > maxLookup {
			continue
		}
		for j := range cands {
			if v.holds(&kk.p, cands[j].doc) {
				bump(&cands[j])
			}
		}
	}
	g.forget()
	return slices.Clone(best(cands, k)), nil
}

// better orders candidates by score, then by document for a stable order.
func better(a, b *candidate) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.doc < b.doc
}

// best returns the k best candidates, best first, in O(n log k): the
// candidates of a common name number thousands.
func best(cands []candidate, k int) []candidate {
	if len(cands) > k {
		// A min-heap of the k best seen, worst at the root.
		h := cands[:k]
		less := func(i, j int) bool { return better(&h[j], &h[i]) }
		down := func(i int) {
			for {
				l := 2*i + 1
				if l >= k {
					return
				}
				m := l
				if r := l + 1; r < k && less(r, l) {
					m = r
				}
				if !less(m, i) {
					return
				}
				h[i], h[m] = h[m], h[i]
				i = m
			}
		}
		for i := k/2 - 1; i >= 0; i-- {
			down(i)
		}
		for i := k; i < len(cands); i++ {
			if better(&cands[i], &h[0]) {
				h[0] = cands[i]
				down(0)
			}
		}
		cands = h
	}
	slices.SortFunc(cands, func(a, b candidate) int {
		if better(&a, &b) {
			return -1
		}
		if better(&b, &a) {
			return 1
		}
		return 0
	})
	return cands
}

// generator accumulates the candidates of the anchor keys. Its map and
// slices are reused from query to query (generators): a common name's
// candidates weigh hundreds of kilobytes, which the collector would
// otherwise have to reclaim at every query.
type generator struct {
	at      map[uint64]int32 // candidate index by document number
	cands   []candidate
	top     float64 // best score so far
	k       int
	rankMax [nGroups]float64 // best weight of the ranking keys, per group
}

var generators = sync.Pool{New: func() any { return &generator{at: make(map[uint64]int32, 256)} }}

// maxKept bounds the candidates whose room a pooled generator keeps.
const maxKept = 1 << 14

// forget empties the map of candidates, which must then no longer be used.
// Deleting the keys set costs what they number; clear would cost what the
// map once held. It must run before the candidates are reordered.
func (g *generator) forget() {
	if len(g.at) > maxKept {
		g.at = make(map[uint64]int32, 256)
		return
	}
	for i := range g.cands {
		delete(g.at, g.cands[i].doc)
	}
}

// release returns the generator to the pool, emptied.
func (g *generator) release() {
	if len(g.at) > 0 {
		g.forget()
	}
	if cap(g.cands) > maxKept {
		g.cands = nil
	}
	g.cands = g.cands[:0]
	generators.Put(g)
}

// run reads anchor keys from the most to the least informative, and stops
// when no identity not yet found could be among the candidates kept. It
// returns the keys it did not read.
func (g *generator) run(ctx context.Context, v *view, anchors []*key) ([]*key, error) {
	slices.SortStableFunc(anchors, func(a, b *key) int { return cmp.Compare(b.w, a.w) })
	// bound[i]: the most an identity matching none of anchors[:i] can
	// score.
	bound := make([]float64, len(anchors)+1)
	best := g.rankMax
	for i := len(anchors); i >= 0; i-- {
		if i < len(anchors) {
			best[anchors[i].g] = max(best[anchors[i].g], anchors[i].w)
		}
		s := 0.0
		for _, v := range best {
			s += v
		}
		bound[i] = s
	}
	var skipped []*key
	for i, kk := range anchors {
		if len(g.cands) > 0 {
			if bound[i] < g.top-slack || enoughAbove(g.cands, bound[i], g.k) {
				return append(skipped, anchors[i:]...), nil
			}
			if kk.p.df > maxGenerate {
				skipped = append(skipped, kk)
				continue
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		w := float32(kk.w)
		exact := kk.field == "name" && kk.q == qExact
		v.each(&kk.p, func(doc uint64) {
			j, ok := g.at[doc]
			if !ok {
				j = int32(len(g.cands))
				g.at[doc] = j
				g.cands = append(g.cands, candidate{doc: doc})
			}
			c := &g.cands[j]
			c.exact = c.exact || exact
			if w > c.best[kk.g] {
				c.score += float64(w - c.best[kk.g])
				c.best[kk.g] = w
				g.top = max(g.top, c.score)
			}
		})
	}
	return skipped, nil
}

// complete reports whether the best candidate agrees with the query on
// every trait it gives, and the query gives a full birth date: an exact
// family-name form, the birth date with the family name, and the first name
// with the family name and with the birth date. Then a one-typo neighbour
// could only be another person, and the typo keys are not read. Without a
// full date, agreeing on the name and first name says little (homonyms are
// many): the person sought may be the one whose name has a typo.
func (g *generator) complete(first, born bool) bool {
	if !born {
		return false
	}
	var top *candidate
	for i := range g.cands {
		if top == nil || g.cands[i].score > top.score {
			top = &g.cands[i]
		}
	}
	if top == nil || !top.exact || top.best[gNameBorn] == 0 {
		return false
	}
	return !first || top.best[gNameFirst] > 0 && top.best[gFirstBorn] > 0
}

// enoughAbove reports whether k candidates already score at least bound:
// an identity not yet found could not displace them.
func enoughAbove(cands []candidate, bound float64, k int) bool {
	if len(cands) < k {
		return false
	}
	n := 0
	for i := range cands {
		if cands[i].score >= bound {
			n++
			if n >= k {
				return true
			}
		}
	}
	return false
}
