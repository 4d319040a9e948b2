package search

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"vigie"

	"github.com/blevesearch/bleve/v2/document"
	index "github.com/blevesearch/bleve_index_api"

	"vigie/matcher"
)

// mappedDocument is the indexed form of an Entry as bleve's mapping
// (indexMapping) turned it into a document up to format vigie.search.4,
// kept as the reference the documents built directly must equal. A change
// to the terms changes the format, and this reference with it.
type mappedDocument struct {
	Name       []string `json:"name"`
	NamePh     []string `json:"name_ph"`
	NamePhYear []string `json:"name_ph_y"`
	NameDel    []string `json:"name_del"`
	First      []string `json:"first"`
	FirstPh    []string `json:"first_ph"`
	Born       []string `json:"born"`
	FirstBorn  []string `json:"first_born"`
	NameFirst  []string `json:"name_first"`
	NameBorn   []string `json:"name_born"`
	FirstYear  []string `json:"first_y"`
	Year       []string `json:"year"`
	INS        []string `json:"ins"`
	IPP        []string `json:"ipp"`
	Data       string   `json:"data"`
}

// toMappedDocument is the reference: the terms of e as vigie.search.4
// made them, one set per field, with the bounds on the work added since
// (typo keys of tokens up to maxDeletion bytes, at most
// matcher.MaxFirstNames first names): they change the terms of values
// past them only, far beyond any real name, and an index written before
// holds a few more typo keys for those, never wrong ones.
func toMappedDocument(e Entry) *mappedDocument {
	d := &mappedDocument{Data: string(encodeEntry(&e))}
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
		nameKey := func(t string) {
			add("name", t, &d.Name)
			if len(t) >= minDeletion && len(t) <= maxDeletion {
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
		var namePh []string
		for _, raw := range []string{r.BirthName, r.UsedName} {
			n := matcher.ParseName(raw)
			if n.Empty() {
				continue
			}
			for _, t := range n.Core {
				nameKey(t)
				namePh = append(namePh, matcher.Phonex(t))
			}
			nameKey(n.CoreGlued)
			namePh = append(namePh, matcher.Phonex(n.CoreGlued))
			add("name", n.Glued, &d.Name)
		}
		if born != "" {
			for _, np := range namePh {
				add("name_born", np+"|"+born, &d.NameBorn)
			}
		}
		firsts := strings.Fields(r.FirstNames)
		for _, raw := range append(firsts[:min(len(firsts), matcher.MaxFirstNames)], r.FirstName) {
			n := matcher.ParseName(raw)
			if n.Empty() {
				continue
			}
			firstPh := make([]string, 0, len(n.Tokens)+1)
			for _, t := range n.Tokens {
				add("first", t, &d.First)
				firstPh = append(firstPh, matcher.Phonex(t))
			}
			add("first", n.Glued, &d.First)
			ph := matcher.Phonex(n.Glued)
			firstPh = append(firstPh, ph)
			for _, f := range firstPh {
				add("first_ph", f, &d.FirstPh)
				for _, np := range namePh {
					add("name_first", np+"|"+f, &d.NameFirst)
				}
				if year != "" {
					add("first_y", f+"|"+year, &d.FirstYear)
				}
			}
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
	return d
}

// documentCases are identities whose terms cover what the indexed form
// handles: particles, compound and usage names, several members (some
// alike), missing, partial and invalid dates, INS, empty fields.
func documentCases(t testing.TB) []Entry {
	withINS := rec("1.2.3.9", "Z1", "DURAND", "", "CLAIRE", "1979-03-15", "F")
	withINS.INS, withINS.INSOID = "279035121518989", matcher.OIDINSNIR
	badINS := rec("1.2.3.9", "Z2", "DURAND", "", "CLAIRE", "1979-03-15", "F")
	badINS.INS = "279035121518900"
	golden := rec("1.2.3.1", "A3", "LEFÈVRE", "DUPONT", "Hélène Marie", "1958-03-02", "F")
	golden.Attributes = []string{"CACH"}
	split := rec("1.2.3.4", "S1", "", "", "", "1958", "F")
	split.FirstName = "Hélène"
	var many []vigie.Record
	for i, n := range []string{"DE LA FONTAINE", "DELAFONTAINE", "LAFONTAINE", "DE LAFONTAINE", "FONTAINE", "DE LA FONTAINES",
		"DE LA FONTEINE", "DE LA FONTAYNE", "DELA FONTAINE", "DE LA FONTAINE-MARTIN", "MARTIN DE LA FONTAINE", "FONTAINE-LEGRAND"} {
		many = append(many, rec("1.2.3."+fmt.Sprint(i%4), fmt.Sprintf("M%d", i), n, "BERTHELOT-DUVAL", "Jean-Pierre Marc Émile", "1961-04-09", "M"))
	}
	cases := []Entry{
		{ID: "ins", Members: []vigie.Record{withINS, badINS}},
		{ID: "hidden", Hidden: true, Golden: golden, Members: []vigie.Record{golden, golden}},
		{ID: "year only", Members: []vigie.Record{split}},
		{ID: "no date", Members: []vigie.Record{rec("1.2.3.1", "N1", "MARTIN", "", "Léa", "", "F")}},
		{ID: "invalid date", Members: []vigie.Record{rec("1.2.3.1", "N2", "MARTIN", "", "Léa", "2012-13-40", "F")}},
		{ID: "no name", Members: []vigie.Record{rec("1.2.3.1", "N3", "", "", "", "", "")}},
		{ID: "no key", Members: []vigie.Record{rec(" ", "N4", "MARTIN", "", "", "", ""), rec("1.2.3.1", "  ", "MARTIN", "", "", "", "")}},
		{ID: "married", Members: []vigie.Record{rec("1.2.3.1", "W1", "MARTIN ÉPOUSE DURAND", "", "Anne, Marie", "1970-01-01", "F"),
			rec("1.2.3.2", "W2", "MARTIN", "DURAND", "ANNE MARIE", "1970-01-01", "F")}},
		{ID: "many", Members: many},
		{ID: "no member"},
	}
	cases = append(cases, people...)
	generated, _ := generatedEntries(t, 150, 3)
	return append(cases, generated...)
}

// indexContent is what an index holds, read through bleve's reader: per
// field, each term with the documents holding it (external ids, with the
// frequency, norm and term vectors bleve keeps), and each document's
// stored fields.
type indexContent struct {
	fields   []string
	postings map[string]map[string][]string // field, term: "id freq norm vectors"
	stored   map[string][]string            // id: "field arraypositions value"
}

func readContent(t *testing.T, x *Index, ids []string) indexContent {
	t.Helper()
	r, err := x.adv.Reader()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c := indexContent{postings: map[string]map[string][]string{}, stored: map[string][]string{}}
	if c.fields, err = r.Fields(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(c.fields)
	for _, f := range c.fields {
		d, err := r.FieldDict(f)
		if err != nil {
			t.Fatal(err)
		}
		terms := map[string][]string{}
		for {
			de, err := d.Next()
			if err != nil {
				t.Fatal(err)
			}
			if de == nil {
				break
			}
			tr, err := r.TermFieldReader(context.Background(), []byte(de.Term), f, true, true, true)
			if err != nil {
				t.Fatal(err)
			}
			var docs []string
			for {
				td, err := tr.Next(nil)
				if err != nil {
					t.Fatal(err)
				}
				if td == nil {
					break
				}
				id, err := r.ExternalID(td.ID)
				if err != nil {
					t.Fatal(err)
				}
				docs = append(docs, fmt.Sprintf("%s %d %g %d", id, td.Freq, td.Norm, len(td.Vectors)))
			}
			tr.Close()
			if uint64(len(docs)) != de.Count {
				t.Fatalf("field %s term %q: %d documents, the dictionary counts %d", f, de.Term, len(docs), de.Count)
			}
			slices.Sort(docs)
			terms[de.Term] = docs
		}
		d.Close()
		c.postings[f] = terms
	}
	for _, id := range ids {
		doc, err := r.Document(id)
		if err != nil {
			t.Fatal(err)
		}
		if doc == nil {
			t.Fatalf("document %s is missing", id)
		}
		doc.VisitFields(func(f index.Field) {
			c.stored[id] = append(c.stored[id], fmt.Sprintf("%s %v %q", f.Name(), f.ArrayPositions(), f.Value()))
		})
		slices.Sort(c.stored[id])
	}
	return c
}

// describe lists a document's fields as bleve's segments take them in, in
// order: name, options, value, and for an indexed field its analysed length
// and terms with their frequencies. Array positions are listed for fields
// whose segment keeps them (stored, or with term vectors): the mapping
// numbers the values of a list, which the keyword fields, neither stored
// nor with term vectors, never show.
func describe(d *document.Document) []string {
	var out []string
	for _, f := range d.Fields {
		o := f.Options()
		s := fmt.Sprintf("%s %s %q", f.Name(), o, f.Value())
		if o.IsStored() || o.IncludeTermVectors() {
			s += fmt.Sprintf(" at %v", f.ArrayPositions())
		}
		if o.IsIndexed() {
			f.Analyze()
			s += fmt.Sprintf(" length %d", f.AnalyzedLength())
			for term, tf := range f.AnalyzedTokenFrequencies() {
				s += fmt.Sprintf(" %q×%d(%d locations)", term, tf.Frequency(), len(tf.Locations))
			}
		}
		out = append(out, s)
	}
	for _, c := range d.CompositeFields {
		out = append(out, fmt.Sprintf("%s %s composite", c.Name(), c.Options()))
	}
	slices.Sort(out)
	return out
}

// TestDocumentAsMapped: the documents built directly leave in the index
// exactly what bleve's mapping of the reference made of the same
// identities: the same fields, terms, postings (frequencies and norms
// included) and stored fields.
func TestDocumentAsMapped(t *testing.T) {
	entries := documentCases(t)
	var ids []string
	for _, e := range entries {
		if slices.Contains(ids, e.ID) {
			t.Fatalf("two cases are identity %s", e.ID)
		}
		ids = append(ids, e.ID)
	}
	mapped := newIndex(t, "")
	b := mapped.bi.NewBatch()
	for _, e := range entries {
		if err := b.Index(e.ID, toMappedDocument(e)); err != nil {
			t.Fatal(err)
		}
	}
	if err := mapped.bi.Batch(b); err != nil {
		t.Fatal(err)
	}
	built := newIndex(t, "")
	if err := built.Batch(entries, nil); err != nil {
		t.Fatal(err)
	}
	// Document by document, the fields bleve is given.
	m := indexMapping()
	for _, e := range entries {
		ref := document.NewDocument(e.ID)
		if err := m.MapDocument(ref, toMappedDocument(e)); err != nil {
			t.Fatal(err)
		}
		d, err := toDocument(&e)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := describe(d), describe(ref); !slices.Equal(got, want) {
			t.Errorf("identity %s: document\n%q\nwant\n%q", e.ID, got, want)
		}
	}

	// What the index holds after a batch of them.
	want, got := readContent(t, mapped, ids), readContent(t, built, ids)

	if !slices.Equal(got.fields, want.fields) {
		t.Errorf("fields %v, want %v", got.fields, want.fields)
	}
	for _, f := range indexedFields {
		if len(want.postings[f]) == 0 {
			t.Errorf("field %s: the cases index no term in it", f)
		}
	}
	for f, terms := range want.postings {
		for term, docs := range terms {
			if g := got.postings[f][term]; !slices.Equal(g, docs) {
				t.Errorf("field %s term %q: documents %v, want %v", f, term, g, docs)
			}
		}
		for term := range got.postings[f] {
			if _, ok := terms[term]; !ok {
				t.Errorf("field %s: term %q is not in the reference", f, term)
			}
		}
	}
	if !reflect.DeepEqual(got.stored, want.stored) {
		for _, id := range ids {
			if !slices.Equal(got.stored[id], want.stored[id]) {
				t.Errorf("document %s stores %q, want %q", id, got.stored[id], want.stored[id])
			}
		}
	}
}

// TestTermSet: each term once per field, in the order first added, below
// and past the number of terms looked through one by one.
func TestTermSet(t *testing.T) {
	type add struct {
		f int
		v string
	}
	many := func(n int) (adds []add, want []string) {
		for i := range n {
			v := fmt.Sprint("T", i)
			adds = append(adds, add{fNameDel, v}, add{fNameDel, fmt.Sprint("T", i/2)}, add{fName, v})
			want = append(want, v)
		}
		return adds, want
	}
	pastAdds, pastWant := many(3 * linearTerms)
	atAdds, atWant := many(linearTerms)
	for _, tc := range []struct {
		name string
		adds []add
		want map[int][]string
	}{
		{"repeats", []add{{fName, "A"}, {fName, "B"}, {fName, "A"}, {fName, "C"}, {fName, "B"}}, map[int][]string{fName: {"A", "B", "C"}}},
		{"empty", []add{{fName, ""}, {fYear, ""}, {fYear, "1961"}}, map[int][]string{fYear: {"1961"}}},
		{"fields apart", []add{{fName, "A"}, {fFirst, "A"}, {fFirst, "A"}}, map[int][]string{fName: {"A"}, fFirst: {"A"}}},
		{"up to the scan's bound", atAdds, map[int][]string{fName: atWant, fNameDel: atWant}},
		{"past the scan's bound", pastAdds, map[int][]string{fName: pastWant, fNameDel: pastWant}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s termSet
			for _, a := range tc.adds {
				s.add(a.f, a.v)
			}
			for f, got := range s.terms {
				if !slices.Equal(got, tc.want[f]) {
					t.Errorf("field %s: %q, want %q", indexedFields[f], got, tc.want[f])
				}
			}
		})
	}
}

// BenchmarkToDocument measures the indexed form of generated identities,
// stored form included, without bleve's analysis: members prepared, or
// their forms known (as the patient index gives them).
func BenchmarkToDocument(b *testing.B) {
	for _, bc := range formVariants(b) {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				for i := range bc.entries {
					if _, err := toDocument(&bc.entries[i]); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(bc.entries)), "ns/identity")
		})
	}
}
