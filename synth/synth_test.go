package synth

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"unicode"
)

// population is one generation kept in memory for the tests that measure it.
type population struct {
	cfg     Config
	stats   Stats
	records []*Record
	persons []*Person // in order of first record
}

var (
	popOnce sync.Once
	pop20k  *population
)

// testPopulation generates 20,000 persons with the built-in names (so that
// the tests do not depend on the data files being present).
func testPopulation(t testing.TB) *population {
	t.Helper()
	popOnce.Do(func() {
		p := &population{cfg: DefaultConfig(20000, 7)}
		seen := map[*Person]bool{}
		st, err := Generate(p.cfg, func(r *Record) error {
			p.records = append(p.records, r)
			if !seen[r.Person] {
				seen[r.Person] = true
				p.persons = append(p.persons, r.Person)
			}
			return nil
		})
		if err != nil {
			panic(err)
		}
		p.stats = st
		pop20k = p
	})
	return pop20k
}

func TestNIRKey(t *testing.T) {
	tests := []struct {
		body string
		key  int
	}{
		{"2790351215189", 89},
		{"2740751760794", 30},
		{"1800175123456", 60},
		{"285052A004123", 6},
		{"165042B123456", 54},
		{"2760375106693", 26}, // the public sample 276037510669380 carries 80: invalid
		{"1477204253674", 30}, // the public sample 147720425367411 carries 11: invalid
	}
	for _, tc := range tests {
		got, err := nirKey(tc.body)
		if err != nil || got != tc.key {
			t.Errorf("nirKey(%q) = %d, %v; want %d", tc.body, got, err, tc.key)
		}
	}
	for _, nir := range []string{"276037510669380", "147720425367411", "27903512151", "2790351215X8989"} {
		if validNIR(nir) {
			t.Errorf("validNIR(%q) = true, want false", nir)
		}
	}
	if nir := makeNIR('F', 1985, 5, "2A004", 123); nir != "285052A00412306" {
		t.Errorf("makeNIR = %s, want 285052A00412306", nir)
	}
}

func TestDeterministic(t *testing.T) {
	gen := func(seed uint64) []byte {
		var rec, truth bytes.Buffer
		cfg := DefaultConfig(3000, seed)
		cfg.Window = 1000 // several flushes
		if _, err := WriteCSV(cfg, &rec, &truth); err != nil {
			t.Fatal(err)
		}
		return append(rec.Bytes(), truth.Bytes()...)
	}
	a, b, c := gen(42), gen(42), gen(43)
	if !bytes.Equal(a, b) {
		t.Fatal("two generations with seed 42 differ")
	}
	if bytes.Equal(a, c) {
		t.Fatal("seeds 42 and 43 gave the same output")
	}
}

func TestCSVFilesAndTruth(t *testing.T) {
	var rec, truth bytes.Buffer
	st, err := WriteCSV(DefaultConfig(2000, 3), &rec, &truth)
	if err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, &rec)
	trows := readCSV(t, &truth)
	if got := strings.Join(rows[0], ","); got != "authority,local_id,ins,ins_oid,status,birth_name,used_name,first_names,first_name,birth_date,sex,birth_place,postal_code,city,address,phone" {
		t.Fatalf("records header = %s", got)
	}
	if got := strings.Join(trows[0], ","); got != "authority,local_id,person" {
		t.Fatalf("truth header = %s", got)
	}
	if len(rows)-1 != st.Records || len(trows) != len(rows) {
		t.Fatalf("%d record rows, %d truth rows, stats say %d records", len(rows)-1, len(trows)-1, st.Records)
	}
	keys := map[string]bool{}
	persons := map[string]bool{}
	for i, r := range rows[1:] {
		tr := trows[i+1]
		if len(r) != 16 || len(tr) != 3 {
			t.Fatalf("row %d: %d and %d fields", i+2, len(r), len(tr))
		}
		if r[0] != tr[0] || r[1] != tr[1] || tr[2] == "" {
			t.Fatalf("row %d: truth %v does not cover record %s/%s", i+2, tr, r[0], r[1])
		}
		k := r[0] + "/" + r[1]
		if keys[k] {
			t.Fatalf("local id %s used twice", k)
		}
		keys[k] = true
		persons[tr[2]] = true
		if !strings.HasPrefix(r[0], "1.2.250.1.213.1.1.1.") || r[1] == "" {
			t.Fatalf("row %d: authority %q, local id %q", i+2, r[0], r[1])
		}
	}
	if len(persons) != st.Persons+st.Anonymous {
		t.Errorf("%d persons in truth, stats say %d + %d anonymous", len(persons), st.Persons, st.Anonymous)
	}
}

func readCSV(t *testing.T, r io.Reader) [][]string {
	t.Helper()
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestINS(t *testing.T) {
	p := testPopulation(t)
	nirs := map[string]*Person{}
	corsica := 0
	for _, ps := range p.persons {
		if ps.Anonymous {
			continue
		}
		if !validNIR(ps.NIR) {
			t.Fatalf("%s: invalid NIR %s", ps.ID, ps.NIR)
		}
		if other, dup := nirs[ps.NIR]; dup {
			t.Fatalf("%s and %s share NIR %s", ps.ID, other.ID, ps.NIR)
		}
		nirs[ps.NIR] = ps
		want := fmt.Sprintf("%c%02d%02d%s", map[byte]byte{'M': '1', 'F': '2'}[ps.Sex], ps.BirthYear%100, ps.BirthMonth, ps.BirthPlace)
		if ps.NIR[:10] != want {
			t.Fatalf("%s: NIR %s does not match sex, birth year, month and place %s", ps.ID, ps.NIR, want)
		}
		if strings.HasPrefix(ps.BirthPlace, "2A") || strings.HasPrefix(ps.BirthPlace, "2B") {
			corsica++
		}
	}
	if corsica == 0 {
		t.Error("nobody born in Corsica")
	}
	wrong := 0
	for _, r := range p.records {
		if r.INS == "" {
			if r.Status != StatusPROV {
				t.Fatalf("%s/%s: status %s without INS", r.Authority, r.LocalID, r.Status)
			}
			continue
		}
		if !validNIR(r.INS) {
			t.Fatalf("%s/%s: invalid INS %s", r.Authority, r.LocalID, r.INS)
		}
		if r.INSOID != OIDINSNIR && r.INSOID != OIDINSNIA {
			t.Fatalf("%s/%s: INS OID %s", r.Authority, r.LocalID, r.INSOID)
		}
		if r.INS != r.Person.NIR {
			wrong++
			owner := nirs[r.INS]
			if !r.WrongINS || owner == nil || (owner != r.Person.Father && owner != r.Person.Mother) {
				t.Fatalf("%s/%s carries %s, not its person's and not a parent's", r.Authority, r.LocalID, r.INS)
			}
		}
	}
	if wrong == 0 || wrong != p.stats.WrongINS {
		t.Errorf("%d records carry a parent's INS, stats say %d", wrong, p.stats.WrongINS)
	}
}

func TestRates(t *testing.T) {
	p := testPopulation(t)
	var (
		n                                          = float64(len(p.records))
		withINS, dups, noPlace, ascii, noSex, anon float64
		badDate, swapped, placeholder, adultWomen  float64
		usage, abroad, fatherSon, twins, persons   float64
		compoundFirst, multiFirst, marital         float64
	)
	for _, r := range p.records {
		ps := r.Person
		if r.INS != "" {
			withINS++
		}
		if r.Duplicate {
			dups++
		}
		if r.BirthPlace == "" {
			noPlace++
		}
		if r.ASCII {
			ascii++
		}
		if r.Sex == "" || r.Sex == "U" {
			noSex++
		}
		if names := " " + strings.ToUpper(r.BirthName+" "+r.UsedName) + " "; strings.Contains(names, " EPOUSE ") ||
			strings.Contains(names, " EP ") || strings.Contains(names, " NEE ") || strings.Contains(names, " NÉE ") || strings.Contains(names, " VEUVE ") {
			marital++
		}
		if ps.Anonymous {
			anon++
			continue
		}
		if r.BirthDate != ps.BirthDate() {
			badDate++
		}
		if r.BirthDate == fmt.Sprintf("%04d-%02d-%02d", ps.BirthYear, ps.BirthDay, ps.BirthMonth) && ps.BirthDay != ps.BirthMonth {
			swapped++
		}
		if r.BirthDate == fmt.Sprintf("%04d-01-01", ps.BirthYear) && ps.BirthDate() != r.BirthDate {
			placeholder++
		}
	}
	for _, ps := range p.persons {
		if ps.Anonymous {
			continue
		}
		persons++
		if ps.Sex == 'F' && ps.Age() >= 18 {
			adultWomen++
			if ps.UsedName != "" {
				usage++
			}
		}
		if strings.HasPrefix(ps.BirthPlace, "99") {
			abroad++
		}
		if ps.Father != nil && ps.Sex == 'M' && ps.FirstNames[0] == ps.Father.FirstNames[0] {
			fatherSon++
		}
		if ps.Twin != nil {
			twins++
		}
		if strings.Contains(ps.FirstNames[0], "-") {
			compoundFirst++
		}
		if len(ps.FirstNames) > 1 {
			multiFirst++
		}
	}
	tests := []struct {
		name   string
		got    float64
		lo, hi float64
	}{
		{"records per person", n / (persons + anon), 1.6, 2.2},
		{"records with INS", withINS / n, 0.2, 0.3},
		{"local duplicates", dups / n, 0.02, 0.04},
		{"birthplace missing", noPlace / n, 0.33, 0.47},
		{"accents dropped", ascii / n, 0.24, 0.36},
		{"sex missing", noSex / n, 0.004, 0.02},
		{"EPOUSE/NEE/VEUVE in a name", marital / n, 0.004, 0.02},
		{"anonymous records", anon / n, 0.0003, 0.003},
		{"wrong INS", float64(p.stats.WrongINS) / n, 0.0003, 0.003},
		{"date differs", badDate / n, 0.008, 0.03},
		{"day/month swapped", swapped / n, 0.001, 0.008},
		{"placeholder date", placeholder / n, 0.0005, 0.006},
		{"adult women with a usage name", usage / adultWomen, 0.45, 0.65},
		{"born abroad", abroad / persons, 0.05, 0.10},
		{"father/son homonyms", fatherSon / persons, 0.005, 0.02},
		{"twins", twins / persons, 0.005, 0.03},
		{"compound first first name", compoundFirst / persons, 0.03, 0.2},
		{"several first names", multiFirst / persons, 0.5, 0.85},
	}
	for _, tc := range tests {
		if tc.got < tc.lo || tc.got > tc.hi {
			t.Errorf("%s: %.4f, want within [%g, %g]", tc.name, tc.got, tc.lo, tc.hi)
		} else {
			t.Logf("%s: %.4f", tc.name, tc.got)
		}
	}
}

func TestTwins(t *testing.T) {
	p := testPopulation(t)
	pairs := 0
	for _, ps := range p.persons {
		tw := ps.Twin
		if tw == nil {
			continue
		}
		pairs++
		if tw.Twin != ps {
			t.Fatalf("%s's twin %s has twin %v", ps.ID, tw.ID, tw.Twin)
		}
		if tw.BirthName != ps.BirthName || tw.BirthDate() != ps.BirthDate() || tw.BirthPlace != ps.BirthPlace {
			t.Fatalf("twins %s and %s differ in name, date or place", ps.ID, tw.ID)
		}
		if foldName(tw.FirstNames[0]) == foldName(ps.FirstNames[0]) {
			t.Fatalf("twins %s and %s share the first name %s", ps.ID, tw.ID, ps.FirstNames[0])
		}
		if tw.NIR == ps.NIR {
			t.Fatalf("twins %s and %s share a NIR", ps.ID, tw.ID)
		}
	}
	if pairs/2 < 20 || pairs/2 != p.stats.TwinPairs {
		t.Errorf("%d twin pairs, stats say %d", pairs/2, p.stats.TwinPairs)
	}
}

func TestNameCharacters(t *testing.T) {
	p := testPopulation(t)
	for _, r := range p.records {
		for _, f := range []string{r.BirthName, r.UsedName, r.FirstNames, r.FirstName} {
			for _, c := range f {
				if !unicode.IsLetter(c) && c != ' ' && c != '-' && c != '\'' {
					t.Fatalf("%s/%s: %q in name field %q", r.Authority, r.LocalID, c, f)
				}
			}
		}
		if r.BirthName == "" && !r.Person.Anonymous {
			t.Fatalf("%s/%s: empty birth name", r.Authority, r.LocalID)
		}
	}
}

func TestFamilies(t *testing.T) {
	p := testPopulation(t)
	var spousesSharing, siblings, namesakes int
	byName := map[string][]*Person{}
	for _, ps := range p.persons {
		if ps.Spouse != nil && ps.UsedName != "" && ps.UsedName == ps.Spouse.BirthName {
			spousesSharing++
		}
		if ps.Mother != nil || ps.Father != nil {
			siblings++
		}
		if !ps.Anonymous {
			k := foldName(ps.BirthName + " " + ps.FirstNames[0])
			byName[k] = append(byName[k], ps)
		}
	}
	for _, l := range byName {
		for i := 1; i < len(l); i++ {
			if l[i].BirthYear == l[0].BirthYear {
				namesakes++
			}
		}
	}
	if spousesSharing < 500 || siblings < 2000 || namesakes < 10 {
		t.Errorf("spouses sharing a name %d, children with a parent %d, same-name same-year pairs %d", spousesSharing, siblings, namesakes)
	}
}

func TestNoise(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"particle dropped", particleVariant("DE LA FONTAINE", "DE LA ", 0), "LA FONTAINE"},
		{"particle glued", particleVariant("DE LA FONTAINE", "DE LA ", 1), "DELAFONTAINE"},
		{"apostrophe dropped", particleVariant("D'ALMEIDA", "D'", 0), "ALMEIDA"},
		{"apostrophe glued", particleVariant("D'ALMEIDA", "D'", 1), "DALMEIDA"},
		{"apostrophe spaced", particleVariant("D'ALMEIDA", "D'", 2), "D ALMEIDA"},
		{"breton glued", particleVariant("LE GALL", "LE ", 1), "LEGALL"},
		{"particle of", particleOf("DOS SANTOS"), "DOS "},
		{"no particle", particleOf("DELON"), ""},
		{"compound space", compoundVariant("JEAN-PIERRE", 0), "JEAN PIERRE"},
		{"compound glued", compoundVariant("JEAN-PIERRE", 1), "JEANPIERRE"},
		{"compound hyphen", compoundVariant("ABHERVE GUEGUEN", 2), "ABHERVE-GUEGUEN"},
		{"accents", dropAccents("HÉLÈNE FRANÇOISE JÉRÔME ŒUF Noël"), "HELENE FRANCOISE JEROME OEUF Noel"},
		{"fold", foldName("Hélène"), "HELENE"},
		{"title", titleCase("JEAN-PIERRE D'ALMEIDA"), "Jean-Pierre D'Almeida"},
		{"phone spaced", formatPhone("0556123456", 1), "05 56 12 34 56"},
		{"phone international", formatPhone("0556123456", 3), "+33556123456"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	r := newRNG(1, 1)
	for i := 0; i < 2000; i++ {
		y := yearTypo(r, 1979, 2025)
		if d := y - 1979; d != 1 && d != -1 && d != 10 && d != -10 {
			t.Fatalf("yearTypo(1979) = %d", y)
		}
		d := dayTypo(r, 2001, 2, 19)
		if d < 1 || d > 28 || d == 19 {
			t.Fatalf("dayTypo(2001-02-19) = %d", d)
		}
		for _, s := range []string{"LEFEBVRE", "JEAN-PIERRE", "D'ALMEIDA", "HÉLÈNE"} {
			for _, v := range []string{typo(r, s), phonetic(r, s)} {
				if !validName(v) {
					t.Fatalf("noise on %s gave %q", s, v)
				}
			}
		}
	}
	if got := phonetic(r, "PHILIPPE"); got == "PHILIPPE" {
		t.Errorf("phonetic(PHILIPPE) unchanged")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{Persons: -1, Sites: 40},
		{Persons: 10, Sites: 0},
	} {
		if _, err := Generate(cfg, func(*Record) error { return nil }); err == nil {
			t.Errorf("Generate(%+v) accepted", cfg)
		}
	}
	// No errors at all: locally typed records copy the person.
	cfg := DefaultConfig(500, 5)
	cfg.Errors = cfg.Errors.Scaled(0)
	cfg.Records.Anonymous = 0
	cfg.Records.WrongINS = 0
	_, err := Generate(cfg, func(r *Record) error {
		if r.BirthDate != r.Person.BirthDate() {
			return fmt.Errorf("%s: date %s, person %s", r.LocalID, r.BirthDate, r.Person.BirthDate())
		}
		if foldName(r.BirthName) != foldName(r.Person.BirthName) && foldName(r.BirthName) != foldName(r.Person.UsedName) {
			return fmt.Errorf("%s: birth name %s, person %s", r.LocalID, r.BirthName, r.Person.BirthName)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

func TestSites(t *testing.T) {
	for _, k := range []int{1, 40, 60} {
		sites := newSites(k)
		oids := map[string]bool{}
		for _, s := range sites {
			if oids[s.OID] || s.Name == "" {
				t.Fatalf("sites(%d): OID %s twice or unnamed", k, s.OID)
			}
			oids[s.OID] = true
		}
		var rec, truth bytes.Buffer
		cfg := DefaultConfig(300, 1)
		cfg.Sites = k
		st, err := WriteCSV(cfg, &rec, &truth)
		if err != nil || st.Records < 300 {
			t.Fatalf("sites(%d): %d records, %v", k, st.Records, err)
		}
	}
}

func TestNamesFiles(t *testing.T) {
	dir, ok := FindNamesDir(".")
	if !ok {
		t.Skip("INSEE name files not found in ../shared/data/names")
	}
	names, err := LoadNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	if names.Surnames() < 200000 {
		t.Errorf("%d surnames", names.Surnames())
	}
	cfg := DefaultConfig(20000, 11)
	cfg.Names = names
	count := map[string]int{}
	var n, hyphen, particle, accented float64
	seen := map[*Person]bool{}
	_, err = Generate(cfg, func(r *Record) error {
		p := r.Person
		if seen[p] || p.Anonymous {
			return nil
		}
		seen[p] = true
		n++
		count[foldName(p.BirthName)]++
		if strings.Contains(p.BirthName, "-") {
			hyphen++
		}
		if particleOf(p.BirthName) != "" {
			particle++
		}
		if hasAccent(strings.Join(p.FirstNames, " ")) {
			accented++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		got    float64
		lo, hi float64
	}{
		{"MARTIN", float64(count["MARTIN"]) / n, 0.0015, 0.007},
		{"BERNARD", float64(count["BERNARD"]) / n, 0.0003, 0.004},
		{"hyphenated surnames", hyphen / n, 0.005, 0.04},
		{"surnames with a particle", particle / n, 0.01, 0.07},
		{"accented first names", accented / n, 0.15, 0.5},
		{"distinct surnames per person", float64(len(count)) / n, 0.3, 0.8},
	}
	for _, tc := range tests {
		if tc.got < tc.lo || tc.got > tc.hi {
			t.Errorf("%s: %.4f, want within [%g, %g]", tc.name, tc.got, tc.lo, tc.hi)
		} else {
			t.Logf("%s: %.4f", tc.name, tc.got)
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	cfg := DefaultConfig(10000, 1)
	records := 0
	for b.Loop() {
		st, err := WriteCSV(cfg, io.Discard, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		records = st.Records
	}
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
