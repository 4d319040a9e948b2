// Package search finds regional identities from what a clinical tool knows
// of a patient — an INS, local ids, or traits typed by a person — and ranks
// them by match confidence with the reasons. The choice stays with the user:
// search proposes, it never decides.
//
// The index is derived: one bleve document per live identity, holding the
// folded names, phonetic keys, birth dates and identifiers of its member
// records, plus the member records themselves (stored, not indexed) so that
// every candidate can be scored by the matcher without a second lookup. It
// can always be rebuilt from the patient index (package mpi), which stays the
// source of truth; the sequence of the last identity event applied is kept
// in the index so that a restart catches up from there.
//
// A query is answered in two steps: bleve finds candidates (fuzzy and
// phonetic name terms, first names, birth date with its day/month swap, year,
// identifiers), then each candidate identity is scored by matcher against the
// query as if the query were a record, the best member deciding. Results are
// sorted by match probability and graded as FHIR PDQm $match grades them.
package search

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"

	"vigie"
	"vigie/matcher"
)

// Source is one member record of an identity as search returns it.
type Source struct {
	Authority string `json:"authority"`
	LocalID   string `json:"local_id"`
}

// Entry is what the index keeps of one live identity.
type Entry struct {
	ID string `json:"id"`
	// Hidden identities (patient objection, hidden by vigilance staff) are
	// returned only to callers allowed to see them (Query.IncludeHidden).
	Hidden  bool             `json:"hidden,omitempty"`
	Golden  matcher.Record   `json:"golden"`
	Members []matcher.Record `json:"members"`
}

// Options tune an index.
type Options struct {
	// Frequencies, when set, adjust name weights by how common a name is.
	Frequencies matcher.Frequencies
	// Population returns the number of source records the prior of the
	// model refers to (the size of the patient index); 0 keeps the model's.
	Population func() int
}

// Index is the search index. It is safe for concurrent use.
type Index struct {
	bi    bleve.Index
	model *matcher.Model
	opts  Options
	// syncMu serialises CatchUp: two callers applying the same events
	// would only waste work, never corrupt the index.
	syncMu sync.Mutex
}

// document is the indexed form of an Entry.
type document struct {
	Name   []string `json:"name"`    // folded family-name tokens and glued forms
	NamePh []string `json:"name_ph"` // phonetic keys of family names
	// NamePhYear are the phonetic keys with the record's birth year: the
	// candidate key of a query that gives a year, far more selective than
	// a phonetic key alone at a million identities.
	NamePhYear []string `json:"name_ph_y"`
	NameDel    []string `json:"name_del"` // one-letter deletions of family-name tokens (typo lookup)
	First      []string `json:"first"`    // first-name tokens and glued forms
	FirstPh    []string `json:"first_ph"` // phonetic keys of first names
	Born       []string `json:"born"`     // YYYYMMDD
	// FirstBorn is first name + birth date: it finds a person whose family
	// name changed (a usage name recorded as the birth name everywhere).
	FirstBorn []string `json:"first_born"`
	Year      []string `json:"year"` // YYYY
	INS       []string `json:"ins"`
	IPP       []string `json:"ipp"` // authority|local id
	Data      string   `json:"data"`
}

func indexMapping() mapping.IndexMapping {
	m := bleve.NewIndexMapping()
	m.DefaultAnalyzer = keyword.Name
	dm := bleve.NewDocumentStaticMapping()
	for _, f := range []string{"name", "name_ph", "name_ph_y", "name_del", "first", "first_ph", "first_born", "born", "year", "ins", "ipp"} {
		fm := bleve.NewKeywordFieldMapping()
		fm.Store = false
		fm.IncludeInAll = false
		fm.IncludeTermVectors = false
		fm.DocValues = false
		dm.AddFieldMappingsAt(f, fm)
	}
	data := bleve.NewTextFieldMapping()
	data.Index = false
	data.Store = true
	data.IncludeInAll = false
	data.DocValues = false
	dm.AddFieldMappingsAt("data", data)
	m.DefaultMapping = dm
	m.StoreDynamic = false
	m.IndexDynamic = false
	m.DocValuesDynamic = false
	return m
}

// Open opens the index in dir, creating it if missing. An empty dir keeps the
// index in memory (tests, or a process that rebuilds it at every start).
func Open(dir string, model *matcher.Model, opts Options) (*Index, error) {
	var bi bleve.Index
	var err error
	switch {
	case dir == "":
		bi, err = bleve.NewMemOnly(indexMapping())
	default:
		if _, statErr := os.Stat(dir); statErr == nil {
			bi, err = bleve.Open(dir)
		} else {
			bi, err = bleve.New(dir, indexMapping())
		}
	}
	if err != nil {
		return nil, fmt.Errorf("search: open index %s: %w", dir, err)
	}
	x := &Index{bi: bi, model: model, opts: opts}
	return x, nil
}

// Close closes the index.
func (x *Index) Close() error { return x.bi.Close() }

// Len returns the number of identities indexed.
func (x *Index) Len() int {
	n, _ := x.bi.DocCount()
	return int(n)
}

var cursorKey = []byte("vigie.cursor")

// Cursor returns the sequence of the last identity event applied to the
// index (0 for a new index): a restart catches up from the event after it.
func (x *Index) Cursor() (uint64, error) {
	v, err := x.bi.GetInternal(cursorKey)
	if err != nil {
		return 0, fmt.Errorf("search: read cursor: %w", err)
	}
	if len(v) != 8 {
		return 0, nil
	}
	return binary.BigEndian.Uint64(v), nil
}

// SetCursor records the sequence of the last identity event applied.
func (x *Index) SetCursor(seq uint64) error {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seq)
	if err := x.bi.SetInternal(cursorKey, b[:]); err != nil {
		return fmt.Errorf("search: write cursor: %w", err)
	}
	return nil
}

// Put indexes an identity, replacing what the index held for it.
func (x *Index) Put(e Entry) error {
	d, err := toDocument(e)
	if err != nil {
		return err
	}
	if err := x.bi.Index(e.ID, d); err != nil {
		return fmt.Errorf("search: index identity %s: %w", e.ID, err)
	}
	return nil
}

// Delete removes an identity (retired by a merge, or left without members).
func (x *Index) Delete(id string) error {
	if err := x.bi.Delete(id); err != nil {
		return fmt.Errorf("search: delete identity %s: %w", id, err)
	}
	return nil
}

// Batch indexes many identities at once (rebuild, catch-up); del lists ids
// to remove.
func (x *Index) Batch(put []Entry, del []string) error { return x.batch(put, del, nil) }

// batch applies puts, deletes and, when cursor is not nil, the new cursor in
// one bleve batch: the index never holds a cursor ahead of its documents.
func (x *Index) batch(put []Entry, del []string, cursor *uint64) error {
	b := x.bi.NewBatch()
	if cursor != nil {
		var c [8]byte
		binary.BigEndian.PutUint64(c[:], *cursor)
		b.SetInternal(cursorKey, c[:])
	}
	for _, e := range put {
		d, err := toDocument(e)
		if err != nil {
			return err
		}
		if err := b.Index(e.ID, d); err != nil {
			return fmt.Errorf("search: index identity %s: %w", e.ID, err)
		}
	}
	for _, id := range del {
		b.Delete(id)
	}
	if err := x.bi.Batch(b); err != nil {
		return fmt.Errorf("search: batch of %d: %w", b.Size(), err)
	}
	return nil
}

func toDocument(e Entry) (*document, error) {
	if e.ID == "" {
		return nil, vigie.Invalid("id", "an indexed identity needs an id")
	}
	data, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("search: encode identity %s: %w", e.ID, err)
	}
	d := &document{Data: string(data)}
	set := map[string]map[string]bool{}
	add := func(field string, v string, dst *[]string) {
		if v == "" {
			return
		}
		if set[field] == nil {
			set[field] = map[string]bool{}
		}
		if !set[field][v] {
			set[field][v] = true
			*dst = append(*dst, v)
		}
	}
	for i := range e.Members {
		r := &e.Members[i]
		dt, err := matcher.ParseDate(r.BirthDate)
		if err != nil {
			dt = matcher.Date{}
		}
		year, born := "", ""
		if dt.Year != 0 {
			year = fmt.Sprintf("%04d", dt.Year)
			add("year", year, &d.Year)
			if dt.Full() {
				born = fmt.Sprintf("%04d%02d%02d", dt.Year, dt.Month, dt.Day)
				add("born", born, &d.Born)
			}
		}
		// nameKey files one family-name form under its exact, typo and
		// phonetic keys (and the phonetic key with the birth year).
		nameKey := func(t string) {
			add("name", t, &d.Name)
			if len(t) >= minDeletion {
				add("name_del", t, &d.NameDel)
				for _, v := range deletions(t) {
					add("name_del", v, &d.NameDel)
				}
			}
			for _, ph := range []string{matcher.Phonex(t), "S" + matcher.Soundex2(t)} {
				add("name_ph", ph, &d.NamePh)
				if year != "" {
					add("name_ph_y", ph+"|"+year, &d.NamePhYear)
				}
			}
		}
		for _, raw := range []string{r.BirthName, r.UsedName} {
			n := matcher.ParseName(raw)
			if n.Empty() {
				continue
			}
			for _, t := range n.Core {
				nameKey(t)
			}
			nameKey(n.CoreGlued)
			add("name", n.Glued, &d.Name)
		}
		for _, raw := range append(strings.Fields(r.FirstNames), r.FirstName) {
			n := matcher.ParseName(raw)
			if n.Empty() {
				continue
			}
			for _, t := range n.Tokens {
				add("first", t, &d.First)
				add("first_ph", matcher.Phonex(t), &d.FirstPh)
			}
			add("first", n.Glued, &d.First)
			ph := matcher.Phonex(n.Glued)
			add("first_ph", ph, &d.FirstPh)
			if born != "" {
				add("first_born", ph+"|"+born, &d.FirstBorn)
			}
		}
		if ins := strings.TrimSpace(r.INS); ins != "" {
			if v, err := matcher.ParseINS(ins, r.INSOID); err == nil {
				add("ins", v.Number, &d.INS)
			}
		}
		add("ipp", ippTerm(r.Authority, r.LocalID), &d.IPP)
	}
	return d, nil
}

func ippTerm(authority, local string) string {
	authority, local = strings.TrimSpace(authority), strings.TrimSpace(local)
	if authority == "" || local == "" {
		return ""
	}
	return authority + "|" + local
}

// LocalID is one (assigning authority, local id) pair a caller knows.
type LocalID struct {
	Authority string `json:"authority"`
	LocalID   string `json:"local_id"`
}

// Query is what a caller knows of the patient. Every trait is optional, but
// a name or an identifier is required.
type Query struct {
	INS       string    `json:"ins,omitempty"`
	INSOID    string    `json:"ins_oid,omitempty"`
	LocalIDs  []LocalID `json:"local_ids,omitempty"`
	BirthName string    `json:"birth_name,omitempty"`
	UsedName  string    `json:"used_name,omitempty"`
	// FirstNames may hold one or several first names, as typed.
	FirstNames string `json:"first_names,omitempty"`
	// BirthDate is a full date, a year (YYYY) or empty.
	BirthDate  string `json:"birth_date,omitempty"`
	Sex        string `json:"sex,omitempty"`
	BirthPlace string `json:"birth_place,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	// Limit is the number of results (default 10, at most 100).
	Limit int `json:"limit,omitempty"`
	// IncludeHidden returns hidden identities too (vigilance staff only).
	IncludeHidden bool `json:"include_hidden,omitempty"`
}

// Hit is one proposed identity.
type Hit struct {
	ID          string         `json:"identity"`
	Probability float64        `json:"probability"`
	Grade       matcher.Grade  `json:"grade"`
	Reasons     []string       `json:"reasons"`
	Score       matcher.Score  `json:"-"`
	Golden      matcher.Record `json:"golden"`
	Sources     []Source       `json:"sources"`
	Hidden      bool           `json:"hidden,omitempty"`
}

// record turns a query into the record it is scored as.
func (q *Query) record() matcher.Record {
	r := matcher.Record{Authority: "query", LocalID: "query", INS: q.INS, INSOID: q.INSOID,
		BirthName: q.BirthName, UsedName: q.UsedName, BirthDate: q.BirthDate, Sex: q.Sex,
		BirthPlace: q.BirthPlace, PostalCode: q.PostalCode}
	// The first names typed: the first one is the first name, all of them
	// the list, so that JEAN matches JEAN-PIERRE and a second first name
	// still counts.
	r.FirstNames = q.FirstNames
	if f := strings.Fields(strings.ReplaceAll(q.FirstNames, ",", " ")); len(f) > 0 {
		r.FirstName = f[0]
	}
	if r.INS != "" && r.INSOID == "" {
		r.INSOID = matcher.OIDINSNIR
	}
	return r
}

// Validate checks a query, naming the field at fault.
func (q *Query) Validate() (*matcher.Prepared, error) {
	hasName := strings.TrimSpace(q.BirthName+q.UsedName) != ""
	if !hasName && strings.TrimSpace(q.INS) == "" && len(q.LocalIDs) == 0 {
		return nil, vigie.Invalid("query", "give at least a name, an INS or a local id")
	}
	for i, l := range q.LocalIDs {
		if ippTerm(l.Authority, l.LocalID) == "" {
			return nil, vigie.Invalid(fmt.Sprintf("local_ids[%d]", i), "both the assigning authority and the local id are needed")
		}
	}
	if q.Limit < 0 || q.Limit > 100 {
		return nil, vigie.Invalid("limit", "%d is outside 1..100", q.Limit)
	}
	r := q.record()
	p, err := matcher.Prepare(&r)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// candidates is the number of bleve hits rescored per result asked for.
const candidatesPerResult = 6

// minCandidates is the fewest bleve hits rescored whatever the limit.
const minCandidates = 30

// Search answers a query: identities sorted by match probability, at most
// q.Limit of them. Hidden identities are left out unless q.IncludeHidden.
func (x *Index) Search(ctx context.Context, q Query) ([]Hit, error) {
	p, err := q.Validate()
	if err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit == 0 {
		limit = 10
	}
	bq := x.bleveQuery(&q, p)
	req := bleve.NewSearchRequestOptions(bq, max(limit*candidatesPerResult, minCandidates), 0, false)
	req.Fields = []string{"data"}
	res, err := x.bi.SearchInContext(ctx, req)
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		return nil, fmt.Errorf("search: query: %w", err)
	}
	model := x.model
	if x.opts.Population != nil {
		if n := x.opts.Population(); n > 0 {
			model = model.WithPopulation(n)
		}
	}
	hits := make([]Hit, 0, len(res.Hits))
	for _, h := range res.Hits {
		data, _ := h.Fields["data"].(string)
		var e Entry
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			return nil, fmt.Errorf("search: decode identity %s: %w", h.ID, err)
		}
		if e.Hidden && !q.IncludeHidden {
			continue
		}
		hit, ok := x.score(model, p, &q, &e)
		if ok {
			hits = append(hits, hit)
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Probability > hits[j].Probability })
	ambiguity(hits, model)
	if len(hits) > limit {
		hits = hits[:limit]
	}
	return hits, nil
}

// score scores the query against each member of an identity; the best
// member decides. An identifier the caller gave that the identity holds is
// decisive for the ranking but not for the grade: a typed IPP may be wrong.
func (x *Index) score(model *matcher.Model, p *matcher.Prepared, q *Query, e *Entry) (Hit, bool) {
	hit := Hit{ID: e.ID, Golden: e.Golden, Hidden: e.Hidden}
	best := -1.0
	for i := range e.Members {
		r := &e.Members[i]
		hit.Sources = append(hit.Sources, Source{Authority: r.Authority, LocalID: r.LocalID})
		mp, err := matcher.Prepare(r)
		if err != nil {
			continue
		}
		c := matcher.Compare(p, mp)
		s := model.Score(&c, x.opts.Frequencies)
		prob := s.Probability
		for _, l := range q.LocalIDs {
			if ippTerm(l.Authority, l.LocalID) == ippTerm(r.Authority, r.LocalID) {
				// The caller's own number for this patient: the identity
				// is the one the site linked, whatever the traits say.
				prob = max(prob, model.AutoLink)
				if s.Grade != matcher.GradeCertain {
					s.Grade = matcher.GradeCertain
				}
				s.Rules = append(s.Rules, matcher.Rule{Code: "local_id", Message: "the identity holds the local id given"})
			}
		}
		if prob > best {
			best = prob
			hit.Probability = prob
			hit.Grade = s.Grade
			hit.Score = s
		}
	}
	if best < 0 {
		return hit, false
	}
	hit.Reasons = hit.Score.Reasons()
	return hit, true
}

// ambiguity downgrades a "certain" first result when another identity is
// also probable: the query does not tell them apart (twins queried without a
// first name), so the choice must be the user's.
func ambiguity(hits []Hit, model *matcher.Model) {
	if len(hits) < 2 || hits[0].Grade != matcher.GradeCertain {
		return
	}
	if hits[1].Probability >= model.Review {
		for i := range hits {
			if hits[i].Grade == matcher.GradeCertain && !hasLocalID(&hits[i]) {
				hits[i].Grade = matcher.GradeProbable
				hits[i].Reasons = append(hits[i].Reasons, "another identity also matches: check before choosing")
			}
		}
	}
}

func hasLocalID(h *Hit) bool {
	for _, r := range h.Score.Rules {
		if r.Code == "local_id" {
			return true
		}
	}
	return false
}

// bleveQuery builds the candidate query. Candidates must share a name key
// with the query (a token, its glued or particle-free form, a phonetic key,
// a one-letter typo through the deletion neighbourhood, or a first name typed
// as the family name) or an identifier; first names and the birth date only
// rank them. Only exact term lookups are used: fuzzy automata over the term
// dictionary cost too much at a million identities.
func (x *Index) bleveQuery(q *Query, p *matcher.Prepared) query.Query {
	var must, should []query.Query
	term := func(dst *[]query.Query, field, v string, boost float64) {
		if v == "" {
			return
		}
		t := bleve.NewTermQuery(v)
		t.SetField(field)
		t.SetBoost(boost)
		*dst = append(*dst, t)
	}
	if p.HasINS {
		term(&must, "ins", p.INS.Number, 50)
	}
	for _, l := range q.LocalIDs {
		term(&must, "ipp", ippTerm(l.Authority, l.LocalID), 50)
	}
	// A phonetic key alone matches thousands of identities at regional
	// scale: with a birth year it is taken with the year.
	phon := func(key string, boost float64) {
		if p.Date.Year != 0 {
			term(&must, "name_ph_y", fmt.Sprintf("%s|%04d", key, p.Date.Year), boost)
			return
		}
		term(&must, "name_ph", key, boost)
	}
	seen := map[string]bool{}
	nameKeys := func(n *matcher.Name, boost float64) {
		for _, t := range append(append([]string{}, n.Core...), n.Glued, n.CoreGlued) {
			if t == "" || seen[t] {
				continue
			}
			seen[t] = true
			term(&must, "name", t, 3*boost)
			phon(matcher.Phonex(t), boost)
			if len(t) >= minDeletion {
				term(&must, "name_del", t, boost)
				for _, v := range deletions(t) {
					term(&must, "name_del", v, boost)
				}
			}
		}
		phon("S"+matcher.Soundex2(n.CoreGlued), boost)
	}
	hasName := false
	for _, n := range []*matcher.Name{&p.Birth, &p.Used} {
		if !n.Empty() {
			nameKeys(n, 1)
			hasName = true
		}
	}
	var firsts []matcher.Name
	if !p.First.Empty() {
		firsts = append(firsts, p.First)
	}
	firsts = append(firsts, p.List...)
	for i := range firsts {
		n := &firsts[i]
		if n.Empty() {
			continue
		}
		term(&should, "first", n.Glued, 2)
		for _, t := range n.Tokens {
			term(&should, "first", t, 1)
		}
		term(&should, "first_ph", matcher.Phonex(n.Glued), 0.5)
		// Family name and first name typed in each other's field.
		if hasName {
			term(&must, "name", n.CoreGlued, 0.3)
		}
	}
	if hasName {
		for _, n := range []*matcher.Name{&p.Birth, &p.Used} {
			if !n.Empty() {
				term(&should, "first", n.Glued, 0.3)
			}
		}
	}
	if d := p.Date; d.Full() {
		// A changed family name: first name and birth date still find the
		// person (both orders of an ambiguous day and month).
		dates := []string{fmt.Sprintf("%04d%02d%02d", d.Year, d.Month, d.Day)}
		if d.Day <= 12 && d.Day != d.Month {
			dates = append(dates, fmt.Sprintf("%04d%02d%02d", d.Year, d.Day, d.Month))
		}
		for i := range firsts {
			if !firsts[i].Empty() {
				for _, dt := range dates {
					term(&must, "first_born", matcher.Phonex(firsts[i].Glued)+"|"+dt, 0.5)
				}
			}
		}
	}
	if d := p.Date; d.Year != 0 {
		term(&should, "year", fmt.Sprintf("%04d", d.Year), 1)
		if d.Full() {
			term(&should, "born", fmt.Sprintf("%04d%02d%02d", d.Year, d.Month, d.Day), 3)
			if d.Day <= 12 && d.Day != d.Month {
				term(&should, "born", fmt.Sprintf("%04d%02d%02d", d.Year, d.Day, d.Month), 2)
			}
		}
	}
	bq := bleve.NewBooleanQuery()
	bq.AddMust(bleve.NewDisjunctionQuery(must...))
	if len(should) > 0 {
		bq.AddShould(should...)
	}
	return bq
}

// minDeletion is the shortest name token whose one-letter deletions are
// indexed: shorter names have too many neighbours to be a useful key.
const minDeletion = 4

// deletions returns the distinct strings made by deleting one letter of s
// (its deletion neighbourhood): two names one keyboard slip apart (a letter
// added, dropped, replaced, or two swapped) share s or one of them.
func deletions(s string) []string {
	if len(s) < minDeletion {
		return nil
	}
	out := make([]string, 0, len(s))
	for i := 0; i < len(s); i++ {
		v := s[:i] + s[i+1:]
		if len(out) == 0 || out[len(out)-1] != v {
			out = append(out, v)
		}
	}
	return out
}
