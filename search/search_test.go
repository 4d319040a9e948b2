package search

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2/index/scorch"

	"vigie"
	"vigie/internal/sharedtest"
	"vigie/matcher"
	"vigie/synth"
)

func newIndex(t testing.TB, dir string) *Index {
	t.Helper()
	x, err := open(dir, matcher.DefaultModel(), Options{Population: func() int { return 1_000_000 }}, testConfig(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

// length is x.Len for a test: the count, or the test fails.
func length(t testing.TB, x *Index) int {
	t.Helper()
	n, err := x.Len()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLenOfClosedIndex: an index that cannot count says so, instead of
// answering 0 identities.
func TestLenOfClosedIndex(t *testing.T) {
	x, err := open("", matcher.DefaultModel(), Options{}, testConfig(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Put(people[0]); err != nil {
		t.Fatal(err)
	}
	if n := length(t, x); n != 1 {
		t.Fatalf("%d identities indexed, want 1", n)
	}
	x.Close()
	if n, err := x.Len(); err == nil {
		t.Errorf("Len of a closed index = %d, no error", n)
	}
}

func rec(auth, local, birth, used, firsts, date, sex string) vigie.Record {
	return vigie.Record{Authority: auth, LocalID: local, BirthName: birth, UsedName: used, FirstNames: firsts, BirthDate: date, Sex: sex}
}

// people is a small index of hard cases: particles, compound names, a
// married woman, twins, a father and his son.
var people = []Entry{
	{ID: "1", Members: []vigie.Record{rec("1.2.3.1", "A1", "DE LA FONTAINE", "", "Jean-Pierre Marc", "1961-04-09", "M")}},
	{ID: "2", Members: []vigie.Record{rec("1.2.3.1", "A2", "LE GALL", "", "Yann", "1975-11-23", "M"), rec("1.2.3.2", "B7", "LEGALL", "", "YANN", "1975-11-23", "M")}},
	{ID: "3", Members: []vigie.Record{rec("1.2.3.1", "A3", "LEFÈVRE", "DUPONT", "Hélène Marie", "1958-03-02", "F")}},
	{ID: "4", Members: []vigie.Record{rec("1.2.3.1", "A4", "D'ALMEIDA", "", "Inês", "1990-06-17", "F")}},
	{ID: "5", Members: []vigie.Record{rec("1.2.3.1", "A5", "MARTIN", "", "Léa", "2012-08-30", "F")}},
	{ID: "6", Members: []vigie.Record{rec("1.2.3.1", "A6", "MARTIN", "", "Lou", "2012-08-30", "F")}},
	{ID: "7", Members: []vigie.Record{rec("1.2.3.1", "A7", "GAUTHIER", "", "Philippe", "1950-01-14", "M")}},
	{ID: "8", Members: []vigie.Record{rec("1.2.3.1", "A8", "GAUTHIER", "", "Philippe", "1978-05-20", "M")}},
	{ID: "9", Hidden: true, Members: []vigie.Record{rec("1.2.3.1", "A9", "ETCHEVERRY", "", "Maite", "1968-05-21", "F")}},
	{ID: "10", Members: []vigie.Record{rec("1.2.3.1", "A10", "MOHAMED", "", "Karim", "1983-12-04", "M")}},
}

func loaded(t *testing.T) *Index {
	x := newIndex(t, "")
	if err := x.Batch(people, nil); err != nil {
		t.Fatal(err)
	}
	return x
}

func TestSearchFindsWhatPeopleType(t *testing.T) {
	x := loaded(t)
	for _, tc := range []struct {
		name string
		q    Query
		want string
	}{
		{"particle dropped", Query{BirthName: "LA FONTAINE", FirstNames: "JEAN PIERRE", BirthDate: "1961-04-09"}, "1"},
		{"particle glued", Query{BirthName: "DELAFONTAINE", FirstNames: "Jean", BirthDate: "1961"}, "1"},
		{"compound first name cut", Query{BirthName: "de la Fontaine", FirstNames: "JEAN"}, "1"},
		{"day and month swapped", Query{BirthName: "DE LA FONTAINE", FirstNames: "JEAN-PIERRE", BirthDate: "1961-09-04"}, "1"},
		{"particle spaced", Query{BirthName: "LE GAL", FirstNames: "YANN", BirthDate: "1975-11-23"}, "2"},
		{"name in use", Query{BirthName: "DUPONT", FirstNames: "HELENE", BirthDate: "1958-03-02"}, "3"},
		{"second first name", Query{BirthName: "LEFEVRE", FirstNames: "MARIE", BirthDate: "1958-03-02"}, "3"},
		{"apostrophe as space", Query{BirthName: "D ALMEIDA", FirstNames: "INES"}, "4"},
		{"phonetic spelling", Query{BirthName: "GAUTIER", FirstNames: "FILIPPE", BirthDate: "1978-05-20"}, "8"},
		{"typo", Query{BirthName: "MOHAMMED", FirstNames: "KARIM", BirthDate: "1983-12-04"}, "10"},
		{"names swapped", Query{BirthName: "KARIM", FirstNames: "MOHAMED", BirthDate: "1983-12-04"}, "10"},
		{"twin by first name", Query{BirthName: "MARTIN", FirstNames: "LOU", BirthDate: "2012-08-30"}, "6"},
		{"local id", Query{LocalIDs: []LocalID{{"1.2.3.2", "B7"}}}, "2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hits, err := x.Search(context.Background(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) == 0 || hits[0].ID != tc.want {
				t.Fatalf("want identity %s first, got %s", tc.want, ids(hits))
			}
			if len(hits[0].Sources) == 0 || len(hits[0].Reasons) == 0 {
				t.Errorf("a hit without sources or reasons: %+v", hits[0])
			}
		})
	}
}

func ids(hits []Hit) string {
	var s []string
	for _, h := range hits {
		s = append(s, h.ID+":"+string(h.Grade))
	}
	return "[" + strings.Join(s, " ") + "]"
}

// Twins queried without a first name: both are proposed, neither as certain.
func TestSearchAmbiguousIsNeverCertain(t *testing.T) {
	x := loaded(t)
	hits, err := x.Search(context.Background(), Query{BirthName: "MARTIN", BirthDate: "2012-08-30", Sex: "F"})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) < 2 {
		t.Fatalf("twins: want both, got %s", ids(hits))
	}
	for _, h := range hits {
		if h.Grade == matcher.GradeCertain {
			t.Errorf("identity %s graded certain for a query that fits two people: %s", h.ID, ids(hits))
		}
	}
	// Father and son: the birth date tells them apart.
	hits, _ = x.Search(context.Background(), Query{BirthName: "GAUTHIER", FirstNames: "PHILIPPE", BirthDate: "1950-01-14"})
	if len(hits) == 0 || hits[0].ID != "7" {
		t.Fatalf("father: got %s", ids(hits))
	}
	for _, h := range hits[1:] {
		if h.ID == "8" && h.Grade != matcher.GradePossible && h.Grade != matcher.GradeNone {
			t.Errorf("the son is graded %s for his father's birth date", h.Grade)
		}
	}
}

func TestSearchHiddenAndDeleted(t *testing.T) {
	x := loaded(t)
	q := Query{BirthName: "ETCHEVERRY", FirstNames: "MAITE", BirthDate: "1968-05-21"}
	hits, _ := x.Search(context.Background(), q)
	if len(hits) != 0 {
		t.Errorf("a hidden identity was returned to a clinical caller: %s", ids(hits))
	}
	q.IncludeHidden = true
	hits, _ = x.Search(context.Background(), q)
	if len(hits) == 0 || hits[0].ID != "9" || !hits[0].Hidden {
		t.Errorf("vigilance staff must see the hidden identity: %s", ids(hits))
	}
	if err := x.Delete("7"); err != nil {
		t.Fatal(err)
	}
	hits, _ = x.Search(context.Background(), Query{BirthName: "GAUTHIER", FirstNames: "PHILIPPE", BirthDate: "1950-01-14"})
	for _, h := range hits {
		if h.ID == "7" {
			t.Errorf("a deleted (retired) identity was returned")
		}
	}
}

func TestSearchValidation(t *testing.T) {
	x := loaded(t)
	for _, tc := range []struct {
		q     Query
		field string
	}{
		{Query{FirstNames: "JEAN", BirthDate: "1961-04-09"}, "query"},
		{Query{INS: "276037510669380"}, "ins"},
		{Query{BirthName: "MARTIN", BirthDate: "1961-13-01"}, "birth_date"},
		{Query{BirthName: "MARTIN", BirthDate: "2090-01-01"}, "birth_date"},
		{Query{BirthName: strings.Repeat("MARTIN", 2000)}, "birth_name"},
		{Query{BirthName: "MAR\u202eTIN"}, "birth_name"},
		{Query{BirthName: "MARTIN", Sex: "Z"}, "sex"},
		{Query{LocalIDs: []LocalID{{"", "B7"}}}, "local_ids[0]"},
		{Query{BirthName: "MARTIN", Limit: 1000}, "limit"},
	} {
		_, err := x.Search(context.Background(), tc.q)
		if vigie.ErrorCode(err) != vigie.EINVALID || vigie.ErrorField(err) != tc.field {
			t.Errorf("%+v: err %v, want invalid %s", tc.q, err, tc.field)
		}
	}
}

func TestSearchINSIsExact(t *testing.T) {
	x := newIndex(t, "")
	ins := "279035121518989" // key 89 from identity-fr.md
	e := Entry{ID: "42", Members: []vigie.Record{{Authority: "1.2.3.9", LocalID: "Z1", INS: ins, INSOID: matcher.OIDINSNIR,
		BirthName: "DURAND", FirstNames: "CLAIRE", BirthDate: "1979-03-15", Sex: "F", BirthPlace: "51215"}}}
	if err := x.Put(e); err != nil {
		t.Fatal(err)
	}
	hits, err := x.Search(context.Background(), Query{INS: ins})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 1 || hits[0].ID != "42" {
		t.Fatalf("INS search: %s", ids(hits))
	}
}

// insFor returns a valid INS of the given first 13 digits.
func insFor(t *testing.T, body string) string {
	t.Helper()
	k, err := matcher.INSKey(body)
	if err != nil {
		t.Fatal(err)
	}
	return body + k
}

// A query giving an INS alone is certain of the identity that holds it
// qualified (status QUAL), and never of one that holds it with another
// status, nor when two identities hold it, nor when a trait typed beside
// it is compared.
func TestSearchQualifiedINSAloneIsCertain(t *testing.T) {
	const notCertain = matcher.GradeProbable
	ins := "279035121518989" // key 89 from identity-fr.md
	other := insFor(t, "1790351215189")
	durand := func(local, status, number string) vigie.Record {
		return vigie.Record{Authority: "1.2.3.9", LocalID: local, INS: number, INSOID: matcher.OIDINSNIR, Status: status,
			BirthName: "DURAND", FirstNames: "CLAIRE", BirthDate: "1979-03-15", Sex: "F", BirthPlace: "51215"}
	}
	noINS := durand("Z0", "PROV", "")
	cases := []struct {
		name    string
		members [][]vigie.Record // one list per identity, ids "1", "2"…
		q       Query
		// want is the grade of the first hit, identity "1": certain, or
		// not (probable: any other), or "" for a query giving more than
		// the INS, which the rule leaves to the matcher.
		want matcher.Grade
	}{
		{"qualified", [][]vigie.Record{{durand("Z1", "QUAL", ins)}}, Query{INS: ins}, matcher.GradeCertain},
		{"qualified, lower case and an OID given", [][]vigie.Record{{durand("Z1", "qual", ins)}}, Query{INS: ins, INSOID: matcher.OIDINSNIR}, matcher.GradeCertain},
		{"qualified beside a provisional member without INS", [][]vigie.Record{{noINS, durand("Z1", "QUAL", ins)}}, Query{INS: ins}, matcher.GradeCertain},
		{"provisional", [][]vigie.Record{{durand("Z1", "PROV", ins)}}, Query{INS: ins}, notCertain},
		{"retrieved, not checked", [][]vigie.Record{{durand("Z1", "RECUP", ins)}}, Query{INS: ins}, notCertain},
		{"checked, not retrieved", [][]vigie.Record{{durand("Z1", "VALI", ins)}}, Query{INS: ins}, notCertain},
		{"no status", [][]vigie.Record{{durand("Z1", "", ins)}}, Query{INS: ins}, notCertain},
		// The identity is qualified, but on another INS than the one
		// its provisional member holds and the query gives.
		{"qualified on another INS", [][]vigie.Record{{durand("Z1", "PROV", ins), durand("Z2", "QUAL", other)}}, Query{INS: ins}, notCertain},
		// The same number as an NIA is another identifier.
		{"qualified as an NIA", [][]vigie.Record{{func() vigie.Record { r := durand("Z1", "QUAL", ins); r.INSOID = matcher.OIDINSNIA; return r }()}}, Query{INS: ins}, notCertain},
		{"held by two identities", [][]vigie.Record{{durand("Z1", "QUAL", ins)}, {func() vigie.Record { r := durand("Y1", "QUAL", ins); r.Authority = "1.2.3.8"; return r }()}}, Query{INS: ins}, notCertain},
		{"a first name that disagrees", [][]vigie.Record{{durand("Z1", "QUAL", ins)}}, Query{INS: ins, BirthName: "DURAND", FirstNames: "MARC"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := newIndex(t, "")
			for i, m := range tc.members {
				if err := x.Put(Entry{ID: fmt.Sprint(i + 1), Members: m}); err != nil {
					t.Fatal(err)
				}
			}
			hits, err := x.Search(context.Background(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) != len(tc.members) {
				t.Fatalf("hits %s, want the %d identities", ids(hits), len(tc.members))
			}
			h := hits[0]
			qualified := slices.Contains(h.Reasons, "rule "+RuleQualifiedINS)
			switch tc.want {
			case matcher.GradeCertain:
				if h.ID != "1" || h.Grade != matcher.GradeCertain || h.Probability < matcher.DefaultModel().AutoLink || !qualified {
					t.Errorf("hit %s %s %.3f %v, want identity 1 certain by its qualified INS", h.ID, h.Grade, h.Probability, h.Reasons)
				}
			case "":
				if qualified {
					t.Errorf("hit %s %s %v: a trait given beside the INS must be compared, not overruled", h.ID, h.Grade, h.Reasons)
				}
			default:
				// Two identities holding one qualified INS: each is
				// qualified, neither is certain.
				shared := len(tc.members) > 1
				for _, h := range hits {
					if h.Grade == matcher.GradeCertain || slices.Contains(h.Reasons, "rule "+RuleQualifiedINS) != shared {
						t.Errorf("hit %s %s %.3f %v, want it not certain", h.ID, h.Grade, h.Probability, h.Reasons)
					}
				}
			}
		})
	}
}

func TestCursorSurvivesReopen(t *testing.T) {
	dir := t.TempDir() + "/idx"
	x, err := Open(dir, matcher.DefaultModel(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Put(people[0]); err != nil {
		t.Fatal(err)
	}
	if err := x.SetCursor(1234); err != nil {
		t.Fatal(err)
	}
	x.Close()
	y := newIndex(t, dir)
	if c, err := y.Cursor(); err != nil || c != 1234 {
		t.Errorf("cursor %d, %v after reopening", c, err)
	}
	if n := length(t, y); n != 1 {
		t.Errorf("%d documents after reopening, want 1", n)
	}
}

// Real name variants of one person in two registers: indexed as written in
// one, searched as written in the other, the right identity comes first.
func TestSearchRealNamePairs(t *testing.T) {
	f, err := os.Open(sharedtest.Path(t, "data/names/name_pairs_ipd_icu.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	x := newIndex(t, "")
	var entries []Entry
	for i, row := range rows[1:] {
		fam, firsts, _ := strings.Cut(row[0], ",")
		entries = append(entries, Entry{ID: row[0], Members: []vigie.Record{rec("1.2.3.1", string(rune('A'+i)), fam, "", firsts, "", "")}})
	}
	if err := x.Batch(entries, nil); err != nil {
		t.Fatal(err)
	}
	for _, row := range rows[1:] {
		words := strings.Fields(row[1])
		q := Query{BirthName: words[len(words)-1], FirstNames: strings.Join(words[:len(words)-1], " ")}
		if len(words) > 2 && strings.EqualFold(words[len(words)-2], "LE") {
			q = Query{BirthName: strings.Join(words[len(words)-2:], " "), FirstNames: strings.Join(words[:len(words)-2], " ")}
		}
		hits, err := x.Search(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) == 0 || hits[0].ID != row[0] {
			t.Errorf("%q: want %q first, got %s", row[1], row[0], ids(hits))
		}
	}
}

// generatedIndex indexes a generated population as a perfect patient index
// would hold it (one identity per true person) and returns its persons.
func generatedIndex(t testing.TB, x *Index, persons int, seed uint64) []*synth.Person {
	t.Helper()
	entries, order := generatedEntries(t, persons, seed)
	for b := 0; b < len(entries); b += 2000 {
		if err := x.Batch(entries[b:min(b+2000, len(entries))], nil); err != nil {
			t.Fatal(err)
		}
	}
	sort.Slice(order, func(i, j int) bool { return order[i].ID < order[j].ID })
	return order
}

// generatedEntries returns the identities of a generated population as a
// perfect patient index would hold them (one per true person, the first
// record as golden), with their persons, in the order generated.
func generatedEntries(t testing.TB, persons int, seed uint64) ([]Entry, []*synth.Person) {
	t.Helper()
	byPerson := map[*synth.Person][]vigie.Record{}
	var order []*synth.Person
	_, err := synth.Generate(synth.DefaultConfig(persons, seed), func(r *synth.Record) error {
		if _, ok := byPerson[r.Person]; !ok {
			order = append(order, r.Person)
		}
		byPerson[r.Person] = append(byPerson[r.Person], r.Traits())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	entries := make([]Entry, 0, len(order))
	for _, p := range order {
		entries = append(entries, Entry{ID: p.ID, Golden: byPerson[p][0], Members: byPerson[p]})
	}
	return entries, order
}

// Quality measures recall@1, recall@5 and wrong "certain" grades over typed
// queries of generated persons.
type Quality struct {
	Queries, At1, At5, WrongCertain int
	Misses                          []string
}

func measure(t testing.TB, x *Index, persons []*synth.Person, n int) Quality {
	var q Quality
	for i := 0; q.Queries < n && i < len(persons)*4; i++ {
		p := persons[(i*7919)%len(persons)]
		if p.Anonymous {
			continue
		}
		tq := synth.TypedQuery(p, uint64(i))
		hits, err := x.Search(context.Background(), Query{BirthName: tq.BirthName, UsedName: tq.UsedName, FirstNames: tq.FirstNames,
			BirthDate: tq.BirthDate, Sex: tq.Sex, PostalCode: tq.PostalCode, Limit: 5})
		if err != nil {
			t.Fatalf("%+v: %v", tq, err)
		}
		q.Queries++
		for k, h := range hits {
			if h.ID == p.ID {
				if k == 0 {
					q.At1++
				}
				q.At5++
			} else if h.Grade == matcher.GradeCertain {
				q.WrongCertain++
			}
		}
		if len(hits) == 0 || hits[0].ID != p.ID {
			if len(q.Misses) < 10 {
				q.Misses = append(q.Misses, strings.Join(tq.Errors, "+")+": "+tq.BirthName+" / "+tq.FirstNames+" / "+tq.BirthDate+" → "+ids(hits))
			}
		}
	}
	return q
}

func TestSearchQualityOnGeneratedPopulation(t *testing.T) {
	if testing.Short() {
		t.Skip("indexes 3,000 generated persons")
	}
	x := newIndex(t, "")
	persons := generatedIndex(t, x, 3000, 5)
	q := measure(t, x, persons, 300)
	r1, r5 := float64(q.At1)/float64(q.Queries), float64(q.At5)/float64(q.Queries)
	t.Logf("%d queries: recall@1 %.3f, recall@5 %.3f, wrong certain %d", q.Queries, r1, r5, q.WrongCertain)
	for _, m := range q.Misses {
		t.Log("miss:", m)
	}
	if r1 < 0.95 || r5 < 0.98 || q.WrongCertain > 0 {
		t.Errorf("recall@1 %.3f (want ≥ 0.95), recall@5 %.3f (want ≥ 0.98), wrong certain %d (want 0)", r1, r5, q.WrongCertain)
	}
}

// An index written in another document format is refused, never misread:
// the caller rebuilds it from the patient index.
func TestOpenRefusesAnotherFormat(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stored []byte // the format key as the other build left it; nil: none (the first format had none)
	}{
		{"first format, without a format key", nil},
		{"a later format", []byte("vigie.search.99")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir() + "/idx"
			x, err := Open(dir, matcher.DefaultModel(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := x.Put(people[0]); err != nil {
				t.Fatal(err)
			}
			if tc.stored == nil {
				err = x.bi.DeleteInternal(formatKey)
			} else {
				err = x.bi.SetInternal(formatKey, tc.stored)
			}
			if err != nil {
				t.Fatal(err)
			}
			x.Close()
			y, err := Open(dir, matcher.DefaultModel(), Options{})
			if !errors.Is(err, ErrFormat) {
				if y != nil {
					y.Close()
				}
				t.Fatalf("open: err %v, want ErrFormat", err)
			}
		})
	}
	// The same format opens, and is searched after a compaction.
	dir := t.TempDir() + "/idx"
	x, err := Open(dir, matcher.DefaultModel(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range people {
		if err := x.Put(e); err != nil {
			t.Fatal(err)
		}
	}
	x.Close()
	y := newIndex(t, dir)
	if err := y.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := y.adv.(*scorch.Scorch).StatsMap(); st["num_root_filesegments"] != uint64(1) || st["num_root_memorysegments"] != uint64(0) {
		t.Errorf("after compaction: %v file and %v memory segments, want one file segment", st["num_root_filesegments"], st["num_root_memorysegments"])
	}
	hits, err := y.Search(context.Background(), Query{BirthName: "LE GALL", FirstNames: "YANN"})
	if err != nil || len(hits) == 0 || hits[0].ID != "2" || len(hits[0].Sources) != 2 {
		t.Errorf("after reopening and compacting: %s, %v", ids(hits), err)
	}
}

// A crowd of homonyms must not push the person sought out of the few
// candidates scored: candidates are ranked by how rare the keys they share
// with the query are, not by how many keys they share.
func TestSearchFindsOnePersonInACrowdOfHomonyms(t *testing.T) {
	x := newIndex(t, "")
	firsts := []string{"JEAN", "MARIE", "PIERRE", "ANNE", "MICHEL", "NATHALIE", "PHILIPPE", "ISABELLE"}
	var crowd []Entry
	for i := range 1500 {
		date := fmt.Sprintf("%04d-%02d-%02d", 1930+i%80, 1+i%12, 1+i%28)
		// Every homonym has many records: many keys each.
		var members []vigie.Record
		for m := range 1 + i%4 {
			members = append(members, rec(fmt.Sprintf("1.2.3.%d", m), fmt.Sprintf("C%d", i), "MARTIN", "DUPONT-MARTIN", firsts[i%len(firsts)]+" "+firsts[(i+m)%len(firsts)], date, "M"))
		}
		crowd = append(crowd, Entry{ID: fmt.Sprintf("c%d", i), Members: members})
	}
	crowd = append(crowd, Entry{ID: "sought", Members: []vigie.Record{rec("1.2.3.1", "S1", "MARTIN", "", "Ghislain", "1942-08-04", "M")}})
	if err := x.Batch(crowd, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		q    Query
	}{
		{"no birth date", Query{BirthName: "MARTIN", FirstNames: "GHISLAIN"}},
		{"name typo, no birth date", Query{BirthName: "MATRIN", FirstNames: "GHISLAIN"}},
		{"first-name typo", Query{BirthName: "MARTIN", FirstNames: "GHISLIAN", BirthDate: "1942-08-04"}},
		{"first-name typo, year only", Query{BirthName: "MARTIN", FirstNames: "GISLAIN", BirthDate: "1942"}},
		{"day and month swapped, name typo", Query{BirthName: "MARTN", FirstNames: "GHISLAIN", BirthDate: "1942-04-08"}},
		{"no first name", Query{BirthName: "MARTIN", BirthDate: "1942-08-04"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.Limit = 5
			hits, err := x.Search(context.Background(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) == 0 || hits[0].ID != "sought" {
				t.Errorf("want the person sought first, got %s", ids(hits))
			}
		})
	}
}

// BenchmarkSearch measures a typed query against 5,000 generated persons
// (the built-in name list: many homonyms). vigie bench search measures the
// same at regional scale.
func BenchmarkSearch(b *testing.B) {
	x := newIndex(b, "")
	persons := generatedIndex(b, x, 5000, 7)
	var qs []Query
	for i := 0; len(qs) < 500; i++ {
		p := persons[(i*7919)%len(persons)]
		if p.Anonymous {
			continue
		}
		tq := synth.TypedQuery(p, uint64(i))
		qs = append(qs, Query{BirthName: tq.BirthName, UsedName: tq.UsedName, FirstNames: tq.FirstNames, BirthDate: tq.BirthDate,
			Sex: tq.Sex, PostalCode: tq.PostalCode, Limit: 5})
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := x.Search(context.Background(), qs[i%len(qs)]); err != nil {
			b.Fatal(err)
		}
	}
}

// Queries from many goroutines share the index and the pooled candidate
// accumulators: each gets what it would get alone.
func TestSearchConcurrent(t *testing.T) {
	x := newIndex(t, "")
	persons := generatedIndex(t, x, 1000, 3)
	var qs []Query
	var want []string
	for i := 0; len(qs) < 200; i++ {
		p := persons[(i*7919)%len(persons)]
		tq := synth.TypedQuery(p, uint64(i))
		q := Query{BirthName: tq.BirthName, FirstNames: tq.FirstNames, BirthDate: tq.BirthDate, Limit: 5}
		hits, err := x.Search(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		qs, want = append(qs, q), append(want, ids(hits))
	}
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range qs {
				j := (i*7 + g*31) % len(qs)
				hits, err := x.Search(context.Background(), qs[j])
				if err == nil && ids(hits) != want[j] {
					err = fmt.Errorf("query %d: %s, alone %s", j, ids(hits), want[j])
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
