package search

import (
	"fmt"
	"slices"
	"strings"

	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/mapping"
	index "github.com/blevesearch/bleve_index_api"

	"vigie"
	"vigie/matcher"
)

// An identity is indexed as a bleve document built here, field by field,
// rather than as a struct mapped by bleve through indexMapping: the mapping
// walks the struct by reflection, value by value, for every identity the
// follower re-indexes. The document holds what the mapping made of it: one
// field per term, with indexMapping's options and no analyzer (bleve then
// takes the whole value as the one token at position 1, as the keyword
// analyzer does); the stored form in the stored-only field "data"; and the
// composite field "_all" the mapping adds, empty since no field is in it,
// but listed by the segments. TestDocumentAsMapped checks that the index
// holds the same either way.

// The indexed fields by number: their place in indexedFields.
const (
	fName   = iota // folded family-name tokens and glued forms
	fNamePh        // phonetic keys of family names
	// fNamePhYear are the phonetic keys with the record's birth year:
	// the candidate key of a query that gives a year, far more selective
	// than a phonetic key alone at a million identities.
	fNamePhYear
	fNameDel // one-letter deletions of family-name tokens (typo lookup)
	fFirst   // first-name tokens and glued forms
	fFirstPh // phonetic keys of first names
	// fFirstBorn is first name + birth date: it finds a person whose
	// family name changed (a usage name recorded as the birth name
	// everywhere).
	fFirstBorn
	// fFirstYear is phonetic first name + birth year: the first-name and
	// date key of a query that gives only the year.
	fFirstYear
	// fNameFirst is phonetic family name + phonetic first name: the key of
	// a query without a usable birth date, selective where a common
	// family name alone is not.
	fNameFirst
	// fNameBorn is phonetic family name + birth date: with fNameFirst and
	// fFirstBorn, any two of the three traits typed right make a
	// selective key, whatever the third.
	fNameBorn
	fBorn // YYYYMMDD
	fYear // YYYY
	fINS
	fIPP // authority|local id
)

// Options of the fields, as indexMapping declares them, and of the
// composite field "_all" bleve's mapping adds to every document.
var (
	keywordOptions = mappedOptions(indexedFields[0])
	dataOptions    = mappedOptions("data")
	allOptions     = index.IndexField | index.IncludeTermVectors
)

// notInAll lists the fields the composite field "_all" leaves out: all of
// them, as the mapping declares.
var notInAll = append(indexedFields[:], "data")

// mappedOptions returns the indexing options indexMapping gives a field.
func mappedOptions(field string) index.FieldIndexingOptions {
	m := indexMapping().(*mapping.IndexMappingImpl)
	return m.DefaultMapping.Properties[field].Fields[0].Options()
}

// termSet collects a document's terms per field, each once, in the order
// first added.
type termSet struct {
	terms [len(indexedFields)][]string
	// seen holds the terms of the fields grown past linearTerms (mapped).
	seen   map[fieldTerm]struct{}
	mapped [len(indexedFields)]bool
}

type fieldTerm struct {
	field int
	term  string
}

// linearTerms is the most terms of a field looked through one by one
// before a map takes over: an identity has a few per field, a few dozen
// typo keys at most, and a map per document cost more than the scan.
const linearTerms = 32

func (s *termSet) add(f int, v string) {
	if v == "" {
		return
	}
	if !s.mapped[f] {
		if len(s.terms[f]) < linearTerms {
			if !slices.Contains(s.terms[f], v) {
				s.terms[f] = append(s.terms[f], v)
			}
			return
		}
		if s.seen == nil {
			s.seen = make(map[fieldTerm]struct{}, 4*linearTerms)
		}
		for _, t := range s.terms[f] {
			s.seen[fieldTerm{f, t}] = struct{}{}
		}
		s.mapped[f] = true
	}
	k := fieldTerm{f, v}
	if _, ok := s.seen[k]; !ok {
		s.seen[k] = struct{}{}
		s.terms[f] = append(s.terms[f], v)
	}
}

// toDocument returns the bleve document of an identity.
func toDocument(e *Entry) (*document.Document, error) {
	if e.ID == "" {
		return nil, vigie.Invalid("id", "an indexed identity needs an id")
	}
	var s termSet
	entryTerms(e, &s)
	n, size := 0, 0
	for _, list := range s.terms {
		n += len(list)
		for _, t := range list {
			size += len(t)
		}
	}
	d := document.NewDocument(e.ID)
	d.Fields = make([]document.Field, 0, n+2) // and the stored form, and the _id scorch adds
	// The terms' bytes share one buffer, the fields one array: bleve
	// neither changes nor keeps them beyond the batch.
	buf := make([]byte, 0, size)
	fields := make([]document.TextField, n)
	i := 0
	for f, list := range s.terms {
		for _, t := range list {
			start := len(buf)
			buf = append(buf, t...)
			fields[i] = *document.NewTextFieldCustom(indexedFields[f], nil, buf[start:len(buf):len(buf)], keywordOptions, nil)
			d.Fields = append(d.Fields, &fields[i])
			i++
		}
	}
	d.AddField(document.NewTextFieldCustom("data", nil, encodeEntry(e), dataOptions, nil))
	d.AddField(document.NewCompositeFieldWithIndexingOptions("_all", true, nil, notInAll, allOptions))
	d.SetIndexed()
	return d, nil
}

// entryTerms adds the terms of an identity's members to s.
func entryTerms(e *Entry, s *termSet) {
	for i := range e.Members {
		r := &e.Members[i]
		dt, err := matcher.ParseDate(r.BirthDate)
		if err != nil {
			dt = matcher.Date{}
		}
		year, born := "", ""
		if dt.Year != 0 {
			year = fmt.Sprintf("%04d", dt.Year)
			s.add(fYear, year)
			if dt.Full() {
				born = fmt.Sprintf("%04d%02d%02d", dt.Year, dt.Month, dt.Day)
				s.add(fBorn, born)
			}
		}
		// nameKey files one family-name form under its exact, typo and
		// phonetic keys (and the phonetic key with the birth year), and
		// returns its Phonex key.
		nameKey := func(t string) string {
			s.add(fName, t)
			if typoKeyed(t) {
				s.add(fNameDel, t)
				for _, v := range deletions(t) {
					s.add(fNameDel, v)
				}
			}
			phonex := matcher.Phonex(t)
			for _, ph := range []string{phonex, "S" + matcher.Soundex2(t)} {
				s.add(fNamePh, ph)
				if year != "" {
					s.add(fNamePhYear, ph+"|"+year)
				}
			}
			return phonex
		}
		var namePh []string // phonetic keys of the family-name forms
		for _, raw := range []string{r.BirthName, r.UsedName} {
			n := matcher.ParseName(raw)
			if n.Empty() {
				continue
			}
			for _, t := range n.Core {
				namePh = append(namePh, nameKey(t))
			}
			namePh = append(namePh, nameKey(n.CoreGlued))
			s.add(fName, n.Glued)
		}
		if born != "" {
			for _, np := range namePh {
				s.add(fNameBorn, np+"|"+born)
			}
		}
		// At most matcher.MaxFirstNames of the list (Prepare keeps as
		// many), and the first name in use.
		for _, raw := range append(firstNameFields(r.FirstNames, matcher.MaxFirstNames, false), r.FirstName) {
			n := matcher.ParseName(raw)
			if n.Empty() {
				continue
			}
			firstPh := make([]string, 0, len(n.Tokens)+1)
			for _, t := range n.Tokens {
				s.add(fFirst, t)
				firstPh = append(firstPh, matcher.Phonex(t))
			}
			s.add(fFirst, n.Glued)
			ph := matcher.Phonex(n.Glued)
			firstPh = append(firstPh, ph)
			for _, f := range firstPh {
				s.add(fFirstPh, f)
				for _, np := range namePh {
					s.add(fNameFirst, np+"|"+f)
				}
				if year != "" {
					s.add(fFirstYear, f+"|"+year)
				}
			}
			if born != "" {
				s.add(fFirstBorn, ph+"|"+born)
			}
		}
		if ins := strings.TrimSpace(r.INS); ins != "" {
			if v, err := matcher.ParseINS(ins, r.INSOID); err == nil {
				s.add(fINS, v.Number)
			}
		}
		s.add(fIPP, ippTerm(r.Authority, r.LocalID))
	}
}
