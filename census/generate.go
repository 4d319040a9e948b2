package census

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Stats counts what a generation made.
type Stats struct {
	Persons, Households, Records, Sites int
	WithINS                             int // records carrying an INS
	ParentINS, TransposedINS            int // records whose INS is a parent's, or has two digits swapped
	Births, TwinBirths                  int // births in households (a twin birth counts once)
	SonsWithFather, HomonymSons         int // sons living with their father, no brother bearing his first name; those given it
	NamesSource                         string
}

// Population is the result of a generation: the persons and the records
// of them, in the order of the visits.
type Population struct {
	Persons []*Person
	Records []*Record
	Stats   Stats
}

// gen is one generation's state.
type gen struct {
	cfg        Config
	r          *rng
	names      *Names
	sites      []*site
	persons    []*Person
	records    []*Record
	households int
	nextPerson int
	phones     map[string]bool
	nirs       map[string]bool
	stats      Stats
}

// Generate builds the households, their members and the records sites
// filed of them. The result depends only on cfg.
func Generate(cfg Config) (*Population, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	g := &gen{cfg: cfg, r: newRNG(cfg.Seed), names: cfg.Names, phones: map[string]bool{}, nirs: map[string]bool{}}
	if g.names == nil {
		g.names = BuiltinNames()
	}
	g.sites = g.newSites(cfg.Sites)
	g.populate()
	g.visits()
	st := g.stats
	st.Persons, st.Households, st.Records, st.Sites, st.NamesSource = len(g.persons), g.households, len(g.records), len(g.sites), g.names.Source
	return &Population{Persons: g.persons, Records: g.records, Stats: st}, nil
}

// WriteRecords writes records.csv: the header, then one row per record in
// the order of the visits. Without household columns, address,
// postal_code, city and phone are left out.
func (p *Population) WriteRecords(w io.Writer, withHousehold bool) error {
	cw := csv.NewWriter(w)
	keep := make([]bool, len(Columns))
	var head []string
	for i, c := range Columns {
		keep[i] = withHousehold || !householdColumns[c]
		if keep[i] {
			head = append(head, c)
		}
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	row := make([]string, 0, len(Columns))
	for _, rec := range p.Records {
		row = row[:0]
		for i, v := range rec.values() {
			if keep[i] {
				row = append(row, v)
			}
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteTruth writes truth.csv: authority,local_id,person.
func (p *Population) WriteTruth(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"authority", "local_id", "person"}); err != nil {
		return err
	}
	for _, rec := range p.Records {
		if err := cw.Write([]string{rec.Authority, rec.LocalID, rec.Person}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// PersonsColumns are persons.csv's columns. twin_of names the other twin;
// homonym_of, for a son bearing his father's first name, the father.
var PersonsColumns = []string{"person", "household", "relation", "sex", "birth_date", "twin_of", "homonym_of"}

// WritePersons writes persons.csv: every person's household, relation to
// it, and twin and homonym markers.
func (p *Population) WritePersons(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(PersonsColumns); err != nil {
		return err
	}
	for _, q := range p.Persons {
		if err := cw.Write([]string{q.ID, q.Household, q.Relation, string(q.Sex), q.BirthDate(), q.TwinOf, q.HomonymOf}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteFiles generates the population of cfg and writes records.csv,
// truth.csv and persons.csv into dir (created if needed).
func WriteFiles(cfg Config, dir string) (Stats, error) {
	pop, err := Generate(cfg)
	if err != nil {
		return Stats{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Stats{}, err
	}
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{"records.csv", func(w io.Writer) error { return pop.WriteRecords(w, cfg.HouseholdColumns) }},
		{"truth.csv", pop.WriteTruth},
		{"persons.csv", pop.WritePersons},
	} {
		if err := writeFile(filepath.Join(dir, f.name), f.write); err != nil {
			return Stats{}, err
		}
	}
	return pop.Stats, nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	if err := write(bw); err != nil {
		f.Close()
		return fmt.Errorf("census: %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
