// Package search finds regional identities from what a clinical tool knows
// of a patient — an INS, local ids, or traits typed by a person — and ranks
// them by match confidence with the reasons. The choice stays with the user:
// search proposes, it never decides.
//
// The index is derived: one bleve document per live identity, holding the
// folded names, phonetic keys, birth dates and identifiers of its member
// records as exact terms, plus the member records in prepared form (stored,
// not indexed, see codec.go) so that every candidate can be scored by the
// matcher without a second lookup nor a Prepare. It can always be rebuilt
// from the patient index (package mpi), which stays the source of truth; the
// sequence of the last identity event applied is kept in the index so that a
// restart catches up from there, and the format of its documents so that an
// index written by another build is refused (ErrFormat), not misread.
//
// A query is answered in two steps: the identities sharing the query's keys
// (name forms, phonetic and one-typo neighbours, first names, birth date
// with its day/month swap, composite keys, identifiers) are ranked by the
// selectivity of the keys they match (see candidates.go), then the best few
// are scored by matcher against the query as if the query were a record, the
// best member deciding. Results are sorted by match probability and graded
// as FHIR PDQm $match grades them.
package search

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	index "github.com/blevesearch/bleve_index_api"

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
	Hidden  bool           `json:"hidden,omitempty"`
	Golden  vigie.Record   `json:"golden"`
	Members []vigie.Record `json:"members"`
	// Normals optionally holds, parallel to Members, each member's
	// prepared form encoded by matcher.AppendPrepared, as the patient index
	// files it (mpi.Snapshot.Normals): it is stored as it is, where
	// preparing the member again cost the follower ten microseconds. Each
	// must be the form of the member beside it; a nil one, or one of
	// another format, is prepared again.
	Normals [][]byte `json:"-"`
}

// Options tune an index.
type Options struct {
	// Frequencies, when set, adjust name weights by how common a name is.
	Frequencies matcher.Frequencies
	// Population returns the number of source records the prior of the
	// model refers to (the size of the patient index); 0 keeps the model's.
	Population func() int
	// Skipped, when set, is told of every identity CatchUp could not
	// index (see Index.Skipped) with the reason: the error carries the
	// identity's id and never its traits.
	Skipped func(id string, err error)
	// FilterBytes bounds the memory of the small segments' term filters
	// together (default DefaultFilterBytes): each takes 2 bytes per term of
	// its segment, and a segment whose filter would go over the bound is
	// read without one (each lookup then walks its dictionary).
	FilterBytes int64
}

// DefaultFilterBytes is Options.FilterBytes' default: far above what the
// filters of an index of a million records hold, a bound for the largest.
const DefaultFilterBytes = 256 << 20

// Index is the search index. It is safe for concurrent use.
type Index struct {
	bi    bleve.Index
	adv   index.Index // bi's index, read term by term
	disk  bool        // kept in a folder (not in memory only)
	model *matcher.Model
	opts  Options
	// syncMu serialises CatchUp: two callers applying the same events
	// would only waste work, never corrupt the index.
	syncMu sync.Mutex
	// unchanged counts the identities CatchUp found indexed as they are
	// and left alone (see indexedAs).
	unchanged atomic.Int64
	// skipped counts the identities CatchUp could not index (see
	// Skipped).
	skipped atomic.Int64
	// caughtUp is set once a catch-up or a rebuild has reached the end of
	// the patient index's events (see Ready).
	caughtUp atomic.Bool
	// maxSmall is Tidy's bound on the segments beside the largest.
	maxSmall int
	// dicts keeps the segments' term dictionaries for the queries (see
	// view).
	dicts dictPools
}

// indexMapping declares the fields of the index's documents: the indexed
// ones (indexedFields) are keywords, one exact term per value, neither
// stored nor in "_all"; "data" is the stored form (see codec.go), stored
// only. bleve keeps it with the index; the documents are built to match it
// field by field (see document.go), not mapped through it.
func indexMapping() mapping.IndexMapping {
	m := bleve.NewIndexMapping()
	m.DefaultAnalyzer = keyword.Name
	dm := bleve.NewDocumentStaticMapping()
	for _, f := range indexedFields {
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

// format names the layout of the index's documents (fields and stored
// form); an index of another format is refused by Open.
const format = "vigie.search.5"

var formatKey = []byte("vigie.format")

// ErrFormat is returned by Open for an index written by a build with another
// document format: it must be rebuilt from the patient index (vigie
// reindex), which is always possible since the index is derived.
var ErrFormat = errors.New("search: the index was written in another format; rebuild it from the patient index")

// Open opens the index in dir, creating it if missing. An empty dir keeps the
// index in memory (tests, or a process that rebuilds it at every start). An
// existing index of another format is refused with an error wrapping
// ErrFormat.
func Open(dir string, model *matcher.Model, opts Options) (*Index, error) {
	return open(dir, model, opts, nil)
}

// open is Open with a configuration of bleve's index (nil for its
// defaults): tests pause bleve's own merges with it.
func open(dir string, model *matcher.Model, opts Options, config map[string]any) (*Index, error) {
	var bi bleve.Index
	var err error
	fresh := true
	switch {
	case dir == "":
		// scorch, as on disk (bleve's own in-memory index is another
		// kind, with other internal document numbers).
		bi, err = bleve.NewUsing("", indexMapping(), scorch.Name, scorch.Name, config)
	default:
		if _, statErr := os.Stat(dir); statErr == nil {
			bi, err = bleve.OpenUsing(dir, config)
			fresh = false
		} else {
			bi, err = bleve.NewUsing(dir, indexMapping(), bleve.Config.DefaultIndexType, bleve.Config.DefaultKVStore, config)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("search: open index %s: %w", dir, err)
	}
	if fresh {
		err = bi.SetInternal(formatKey, []byte(format))
	} else {
		var v []byte
		if v, err = bi.GetInternal(formatKey); err == nil && string(v) != format {
			if len(v) == 0 {
				v = []byte("vigie.search.1")
			}
			err = fmt.Errorf("%w (%s holds %q, this build reads %q)", ErrFormat, dir, v, format)
		}
	}
	var adv index.Index
	if err == nil {
		adv, err = bi.Advanced()
	}
	if err != nil {
		bi.Close()
		return nil, fmt.Errorf("search: open index %s: %w", dir, err)
	}
	x := &Index{bi: bi, adv: adv, disk: dir != "", model: model, opts: opts, maxSmall: maxSmallSegments}
	x.dicts.budget = cmp.Or(max(opts.FilterBytes, 0), DefaultFilterBytes)
	return x, nil
}

// Compact merges the index into a single segment. A query looks each of its
// terms up in every segment, so after a bulk load (Rebuild) the many segments
// it leaves would make every query several times slower until the
// background merges catch up. The last batches may still be in memory when
// a merge starts (they are persisted in the background): Compact merges
// again until one file segment is left, or ctx ends. An index in memory
// only is left as it is (segments are merged once persisted, and it has no
// persister).
func (x *Index) Compact(ctx context.Context) error {
	s, ok := x.adv.(*scorch.Scorch)
	if !ok || !x.disk {
		return nil
	}
	for {
		if err := s.ForceMerge(ctx, nil); err != nil {
			return fmt.Errorf("search: compact: %w", err)
		}
		st := s.StatsMap()
		if st["num_root_memorysegments"] == uint64(0) && st["num_root_filesegments"].(uint64) <= 1 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("search: compact: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Close closes the index, once the term filter being built, if any, is.
func (x *Index) Close() error {
	x.dicts.closing.Store(true)
	x.dicts.building.Wait()
	return x.bi.Close()
}

// Len returns the number of identities indexed, or why bleve could not
// count them (an index closed, or one of its segments unreadable).
func (x *Index) Len() (int, error) {
	n, err := x.bi.DocCount()
	if err != nil {
		return 0, fmt.Errorf("search: count identities: %w", err)
	}
	return int(n), nil
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

// Ready reports whether the index has caught up with the patient index
// once since it was opened: a rebuild or a catch-up read its events to the
// end. Before that, searches answer from what is indexed, which may miss
// or misplace the identities changed since the index's cursor (see
// README, "Start-up").
func (x *Index) Ready() bool { return x.caughtUp.Load() }

// Skipped returns the number of identities a catch-up could not index
// since the index was opened: their document could not be built, or
// bleve refused it. Each is passed to Options.Skipped and left as it was
// indexed (or absent); it is indexed again when an event touches it
// again, never retried in a loop that would hold the others back.
func (x *Index) Skipped() int64 { return x.skipped.Load() }

// skip counts an identity that could not be indexed and reports it.
func (x *Index) skip(id string, err error) {
	x.skipped.Add(1)
	if x.opts.Skipped != nil {
		x.opts.Skipped(id, err)
	}
}

// Put indexes an identity, replacing what the index held for it.
func (x *Index) Put(e Entry) error { return x.batch([]Entry{e}, nil, nil) }

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
	for i := range put {
		e := &put[i]
		d, err := safeDocument(e)
		if err == nil {
			err = b.IndexAdvanced(d)
		}
		if err != nil {
			return &entryError{id: e.ID, err: err}
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

// firstNameFields returns the first n fields of a list of first names, as
// strings.Fields splits them (on white space), and on commas too when
// comma is set (a list typed in a query): the rest of the list is not
// read, however long.
func firstNameFields(s string, n int, comma bool) []string {
	var out []string
	start := -1
	for i, r := range s {
		if unicode.IsSpace(r) || comma && r == ',' {
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
				if len(out) == n {
					return out
				}
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 && len(out) < n {
		out = append(out, s[start:])
	}
	return out
}

// entryError is the failure to index one identity: the document of id
// could not be built, or bleve refused it.
type entryError struct {
	id  string
	err error
}

func (e *entryError) Error() string { return fmt.Sprintf("search: index identity %s: %v", e.id, e.err) }
func (e *entryError) Unwrap() error { return e.err }

// maxDocumentTerms bounds the terms of one identity's document. Each
// member's terms are bounded (see the bounds of package matcher and
// maxDeletion): an identity past this is thousands of records merged
// together, a vigilance matter, not something to index term by term.
const maxDocumentTerms = 1 << 17

// buildDocument is toDocument; tests replace it to poison one identity.
var buildDocument = toDocument

// safeDocument is toDocument for one identity of a batch: a panic while
// building it, or a document past maxDocumentTerms, is that identity's
// failure, not the batch's.
func safeDocument(e *Entry) (d *document.Document, err error) {
	defer func() {
		if r := recover(); r != nil {
			d, err = nil, fmt.Errorf("building its document panicked: %v", r)
		}
	}()
	d, err = buildDocument(e)
	if err == nil && len(d.Fields) > maxDocumentTerms {
		return nil, fmt.Errorf("its document has %d terms, more than %d", len(d.Fields), maxDocumentTerms)
	}
	return d, err
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
	ID          string        `json:"identity"`
	Probability float64       `json:"probability"`
	Grade       matcher.Grade `json:"grade"`
	Reasons     []string      `json:"reasons"`
	Score       matcher.Score `json:"-"`
	Golden      vigie.Record  `json:"golden"`
	Sources     []Source      `json:"sources"`
	Hidden      bool          `json:"hidden,omitempty"`
}

// record turns a query into the record it is scored as.
func (q *Query) record() vigie.Record {
	r := vigie.Record{Authority: "query", LocalID: "query", INS: q.INS, INSOID: q.INSOID,
		BirthName: q.BirthName, UsedName: q.UsedName, BirthDate: q.BirthDate, Sex: q.Sex,
		BirthPlace: q.BirthPlace, PostalCode: q.PostalCode}
	// The first names typed: the first one is the first name, all of them
	// the list, so that JEAN matches JEAN-PIERRE and a second first name
	// still counts.
	r.FirstNames = q.FirstNames
	if f := firstNameFields(q.FirstNames, 1, true); len(f) > 0 {
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
	// A record keeps an invalid INS aside; a query with one is a mistake
	// to show the person searching.
	if err := matcher.InvalidINS(&r); err != nil {
		return nil, err
	}
	// The door of the patient index (limits, text rule), and a query's
	// birth date must be readable: a stored record keeps an unreadable one
	// as sent, a query typed now is asked to say what it means.
	p, err := matcher.Admit(&r)
	if err != nil {
		return nil, err
	}
	if bad, why := p.DateInvalid(); bad {
		return nil, vigie.Invalid("birth_date", "%s", why)
	}
	return p, nil
}

// candidatesPerResult is the most candidates scored by the matcher per
// result asked for (fewer when the others are far behind the best on their
// keys, see rescoreSlack).
const candidatesPerResult = 6

// minCandidates is the most candidates scored whatever the limit.
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
	v, err := x.openView()
	if err != nil {
		return nil, err
	}
	defer v.close()
	cands, err := findCandidates(ctx, v, queryKeys(&q, p), max(limit*candidatesPerResult, minCandidates))
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
	// A Hit is large (the score's comparisons, the golden record) and most
	// candidates past the first 2×limit are not scored: room for those
	// only, growing if more are close enough to the best.
	hits := make([]Hit, 0, min(len(cands), 2*limit))
	insAlone := q.insAlone(p) // once per query, not per candidate
	dec := entryDecoders.Get().(*entryDecoder)
	defer func() {
		dec.reset()
		entryDecoders.Put(dec)
	}()
	for i, c := range cands {
		if i >= 2*limit && c.score < cands[0].score-rescoreSlack {
			break
		}
		e, err := load(v, c.doc, dec)
		if err != nil {
			return nil, err
		}
		if e == nil || e.hidden && !q.IncludeHidden {
			continue
		}
		hit, ok := x.score(model, p, &q, insAlone, e)
		if ok {
			hits = append(hits, hit)
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Probability > hits[j].Probability })
	// Reasons are written for the hits returned only.
	for i := range hits[:min(limit, len(hits))] {
		hits[i].Reasons = hits[i].Score.Reasons()
	}
	ambiguity(hits, model)
	if len(hits) > limit {
		hits = hits[:limit]
	}
	return hits, nil
}

// entryDecoders keeps the searches' decoders of candidates, whose memory
// is reused from query to query.
var entryDecoders = sync.Pool{New: func() any { return new(entryDecoder) }}

// load reads and decodes the stored form of a document with dec (see
// entryDecoder.decode for how long it stays valid); nil for a document
// without one (skipped, not fatal).
func load(v *view, doc uint64, dec *entryDecoder) (*stored, error) {
	data, err := v.stored(doc)
	if err != nil {
		return nil, err
	}
	if data == "" {
		return nil, nil
	}
	e, err := dec.decode(data)
	if err != nil {
		return nil, fmt.Errorf("search: decode document %d: %w", doc, err)
	}
	return e, nil
}

// RuleQualifiedINS is the rule of a hit found by a query giving an INS
// alone, which the identity holds as qualified: the hit is certain.
const RuleQualifiedINS = "qualified_ins"

// insAlone reports whether a query gives a valid INS and nothing else to
// compare (no name, first name, birth date, sex, birthplace, postal code
// nor local id): the number read from a card or from the national
// service. Only then does a qualified INS alone make a hit certain: a
// trait typed beside it is compared, and one that disagrees must be seen.
func (q *Query) insAlone(p *matcher.Prepared) bool {
	return p.HasINS && len(q.LocalIDs) == 0 &&
		strings.TrimSpace(q.BirthName+q.UsedName+q.FirstNames+q.BirthDate+q.Sex+q.BirthPlace+q.PostalCode) == ""
}

// score scores the query against each member of an identity; the best
// member decides. An identifier the caller gave that the identity holds is
// decisive for the ranking but not for the grade: a typed IPP may be wrong.
// A query giving an INS alone that a member holds, qualified in the
// identity (status QUAL), makes the hit certain; a provisional, retrieved
// or merely checked INS (PROV, RECUP, VALI) does not. insAlone is
// q.insAlone(p), computed once per query.
func (x *Index) score(model *matcher.Model, p *matcher.Prepared, q *Query, insAlone bool, e *stored) (Hit, bool) {
	hit := Hit{ID: e.id, Golden: e.golden, Hidden: e.hidden, Sources: make([]Source, 0, len(e.members))}
	best := -1.0
	for _, m := range e.members {
		r := m.rec
		hit.Sources = append(hit.Sources, Source{Authority: r.Authority, LocalID: r.LocalID})
		if m.prep == nil {
			continue
		}
		c := matcher.Compare(p, m.prep)
		s := model.Score(&c, x.opts.Frequencies)
		prob := s.Probability
		if insAlone && len(s.Rules) == 0 && m.prep.HasINS && !m.prep.INSMismatch &&
			insKey(m.prep.INS) == insKey(p.INS) && slices.Contains(e.qualINS, insKey(p.INS)) {
			// The national identifier alone, held by this member and
			// qualified in the identity: the identity is the patient's,
			// as surely as a link (an INS shared by two identities is
			// still put to the user, see ambiguity).
			prob = max(prob, model.AutoLink)
			s.Grade = matcher.GradeCertain
			s.Rules = append(s.Rules, matcher.Rule{Code: RuleQualifiedINS, Message: "the identity holds the INS given, qualified"})
		}
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
	return hit, best >= 0
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

// minDeletion is the shortest name token whose one-letter deletions are
// indexed: shorter names have too many neighbours to be a useful key.
const minDeletion = 4

// maxDeletion is the longest name token whose one-letter deletions are
// indexed and looked up. A token of n bytes has n deletions of n-1 bytes
// each: quadratic in the token, so a 1 MiB name once kept the follower
// busy for more than ten minutes. Real name tokens are shorter than 20
// letters, and the exact and phonetic keys still find a longer one.
const maxDeletion = 32

// typoKeyed reports whether a token is filed under its typo keys (itself
// and its deletions): between minDeletion and maxDeletion bytes.
func typoKeyed(s string) bool { return len(s) >= minDeletion && len(s) <= maxDeletion }

// deletions returns the distinct strings made by deleting one letter of s
// (its deletion neighbourhood): two names one keyboard slip apart (a letter
// added, dropped, replaced, or two swapped) share s or one of them. It is
// empty for a token too short or too long (see typoKeyed).
func deletions(s string) []string {
	if !typoKeyed(s) {
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
