package census

import (
	"bytes"
	"strings"
	"testing"

	"vigie"
	"vigie/ingest"
	"vigie/internal/sharedtest"
	"vigie/matcher"
)

func files(t *testing.T, cfg Config) (records, truth, persons []byte) {
	t.Helper()
	pop, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var r, tr, p bytes.Buffer
	if err := pop.WriteRecords(&r, cfg.HouseholdColumns); err != nil {
		t.Fatal(err)
	}
	if err := pop.WriteTruth(&tr); err != nil {
		t.Fatal(err)
	}
	if err := pop.WritePersons(&p); err != nil {
		t.Fatal(err)
	}
	return r.Bytes(), tr.Bytes(), p.Bytes()
}

func TestDeterministic(t *testing.T) {
	a1, b1, c1 := files(t, NewConfig(1500, 7))
	a2, b2, c2 := files(t, NewConfig(1500, 7))
	if !bytes.Equal(a1, a2) || !bytes.Equal(b1, b2) || !bytes.Equal(c1, c2) {
		t.Fatal("the same seed gave different files")
	}
	a3, _, _ := files(t, NewConfig(1500, 8))
	if bytes.Equal(a1, a3) {
		t.Fatal("seeds 7 and 8 gave the same records")
	}
	// Without household columns: the same records, four columns fewer.
	cfg := NewConfig(1500, 7)
	cfg.HouseholdColumns = false
	a4, b4, _ := files(t, cfg)
	if !bytes.Equal(b1, b4) || bytes.Count(a1, []byte("\n")) != bytes.Count(a4, []byte("\n")) {
		t.Fatal("without household columns the records differ")
	}
	if head, _, _ := strings.Cut(string(a4), "\n"); strings.Contains(head, "phone") || strings.Contains(head, "address") {
		t.Fatalf("without household columns the header is %s", head)
	}
}

// The households hold twins and father/son homonyms in the configured
// proportions, and the markers say what they are.
func TestFamilies(t *testing.T) {
	for _, tc := range []struct {
		name             string
		twins, homonyms  float64
		persons          int
		wantTwinFraction float64
	}{
		{"defaults", 0.02, 0.06, 40000, 0.02},
		{"many", 0.10, 0.30, 20000, 0.10},
		{"none", 0, 0, 10000, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := NewConfig(tc.persons, 3)
			cfg.Homes.TwinBirths, cfg.Homes.FatherSonHomonym = tc.twins, tc.homonyms
			pop, err := Generate(cfg)
			if err != nil {
				t.Fatal(err)
			}
			st := pop.Stats
			near := func(what string, got, want float64, n int) {
				// Four standard deviations of a binomial share, plus a little.
				sd := 4*sqrt(want*(1-want)/float64(n)) + 0.002
				if got < want-sd || got > want+sd {
					t.Errorf("%s: %.4f, want %.4f ± %.4f", what, got, want, sd)
				}
			}
			near("twin births", float64(st.TwinBirths)/float64(st.Births), tc.twins, st.Births)
			near("sons bearing their father's first name", float64(st.HomonymSons)/float64(st.SonsWithFather), tc.homonyms, st.SonsWithFather)
			byID := map[string]*Person{}
			for _, p := range pop.Persons {
				byID[p.ID] = p
			}
			twins, homonyms := 0, 0
			for _, p := range pop.Persons {
				if o := byID[p.TwinOf]; o != nil {
					twins++
					if o.TwinOf != p.ID || !o.Birth.Equal(p.Birth) || o.Household != p.Household || o.BirthPlace != p.BirthPlace || fold(o.FirstNames[0]) == fold(p.FirstNames[0]) {
						t.Fatalf("twins %s and %s: not one birth of two differently named children (accents aside)", p.ID, o.ID)
					}
				}
				if f := byID[p.HomonymOf]; f != nil {
					homonyms++
					if f.FirstNames[0] != p.FirstNames[0] || f.Household != p.Household || p.Sex != 'M' || f != p.Father {
						t.Fatalf("homonym %s of %s: not a son bearing his father's first name", p.ID, f.ID)
					}
				}
			}
			if tc.twins > 0 && twins == 0 || tc.homonyms > 0 && homonyms == 0 {
				t.Errorf("%d twins and %d homonym sons marked", twins, homonyms)
			}
			if tc.twins == 0 && twins != 0 || tc.homonyms == 0 && homonyms != 0 {
				t.Errorf("rates 0: %d twins and %d homonym sons marked", twins, homonyms)
			}
		})
	}
}

func sqrt(x float64) float64 {
	z := x
	for range 30 {
		if z == 0 {
			return 0
		}
		z = (z + x/z) / 2
	}
	return z
}

// Every record is read by the identity CSV reader, the columns are those it
// reads in its order (all but the e-mail: the census population carries
// none, so that it measures matching without it), and the matcher prepares
// all but the few with a transposed INS.
func TestRecordsRead(t *testing.T) {
	var read []string
	for _, c := range ingest.IdentityColumns {
		if c != "email" {
			read = append(read, c)
		}
	}
	if strings.Join(Columns, ",") != strings.Join(read, ",") {
		t.Fatalf("Columns %v, the CSV reader reads %v (e-mail aside)", Columns, ingest.IdentityColumns)
	}
	cfgs := map[string]Config{}
	cfgs["built-in names"] = NewConfig(3000, 11)
	dirty := NewConfig(3000, 12)
	dirty.Errors = dirty.Errors.Scaled(4)
	dirty.HouseholdColumns = false
	cfgs["error scale 4, no household columns"] = dirty
	if dir, ok := FindNamesDir("."); ok {
		n, err := LoadNames(dir)
		if err != nil {
			t.Fatal(err)
		}
		c := NewConfig(3000, 13)
		c.Names = n
		cfgs["INSEE names"] = c
	} else {
		t.Log("INSEE name files absent: only the built-in lists are checked")
	}
	for name, cfg := range cfgs {
		t.Run(name, func(t *testing.T) {
			pop, err := Generate(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := pop.WriteRecords(&buf, cfg.HouseholdColumns); err != nil {
				t.Fatal(err)
			}
			n, refused := 0, 0
			err = ingest.ReadIdentityCSV(&buf, func(line int, rec vigie.Record, rerr error) error {
				if rerr != nil {
					t.Errorf("line %d: %v", line, rerr)
				}
				want := pop.Records[n]
				if rec.Authority != want.Authority || rec.LocalID != want.LocalID || rec.BirthName != strings.TrimSpace(want.BirthName) {
					t.Errorf("line %d read as %s/%s %q, written %s/%s %q", line, rec.Authority, rec.LocalID, rec.BirthName, want.Authority, want.LocalID, want.BirthName)
				}
				if _, err := matcher.Prepare(&rec); err != nil {
					refused++
					if !strings.Contains(err.Error(), "ins") {
						t.Errorf("line %d: the matcher refuses it: %v", line, err)
					}
				}
				n++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if n != len(pop.Records) {
				t.Fatalf("%d rows read, %d written", n, len(pop.Records))
			}
			if refused > pop.Stats.TransposedINS {
				t.Errorf("%d records refused by the matcher, %d with a transposed INS", refused, pop.Stats.TransposedINS)
			}
		})
	}
}

// The knobs move what they should: INS coverage, and an error scale of 0
// gives records whose birth date is the true one.
func TestKnobs(t *testing.T) {
	for _, cov := range []float64{0, 0.15, 0.6} {
		cfg := NewConfig(2000, 5)
		cfg.Visits.INSCoverage = cov
		pop, err := Generate(cfg)
		if err != nil {
			t.Fatal(err)
		}
		got := float64(pop.Stats.WithINS) / float64(pop.Stats.Records)
		if got < cov-0.03 || got > cov+0.03 {
			t.Errorf("INS coverage %g: %.3f of records carry an INS", cov, got)
		}
	}
	cfg := NewConfig(2000, 5)
	cfg.Errors = cfg.Errors.Scaled(0)
	pop, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*Person{}
	for _, p := range pop.Persons {
		byID[p.ID] = p
	}
	for _, rec := range pop.Records {
		d, err := matcher.ParseDate(rec.BirthDate)
		p := byID[rec.Person]
		if err != nil || d.Year != p.Birth.Year() || d.Month != int(p.Birth.Month()) || d.Day != p.Birth.Day() {
			t.Fatalf("error scale 0: %s/%s born %q, true %s", rec.Authority, rec.LocalID, rec.BirthDate, p.BirthDate())
		}
		if rec.INS != "" && rec.INS != p.NIR {
			t.Fatalf("error scale 0: %s/%s carries INS %s, the person's is %s", rec.Authority, rec.LocalID, rec.INS, p.NIR)
		}
	}
}

func TestNIRKey(t *testing.T) {
	// Test vectors of the project's identity notes.
	for _, tc := range []struct {
		body string
		key  int
	}{{"2790351215189", 89}, {"2740751760794", 30}, {"1800175123456", 60}, {"285052A004123", 6}, {"165042B123456", 54}} {
		if got := nirKey(tc.body); got != tc.key {
			t.Errorf("nirKey(%s) = %02d, want %02d", tc.body, got, tc.key)
		}
	}
}

func TestNameForms(t *testing.T) {
	r := newRNG(1)
	for _, tc := range []struct {
		name string
		f    func(string) string
		in   string
		want []string // any of these
	}{
		{"fold", fold, "HÉLÈNE CŒUR", []string{"HELENE COEUR"}},
		{"title case", titleCase, "D'ALMEIDA-LE GOFF", []string{"D'Almeida-Le Goff"}},
		{"particle dropped", func(s string) string { s, _ = dropParticle(s); return s }, "DE LA FONTAINE", []string{"FONTAINE"}},
		{"no particle", func(s string) string { s, _ = dropParticle(s); return s }, "DELAGE", []string{"DELAGE"}},
		{"respace particle", func(s string) string { return respace(r, s) }, "LE GOFF", []string{"LEGOFF", "LE-GOFF"}},
		{"respace apostrophe", func(s string) string { return respace(r, s) }, "D'ALMEIDA", []string{"D ALMEIDA", "DALMEIDA"}},
		{"respace hyphen", func(s string) string { return respace(r, s) }, "JEAN-PIERRE", []string{"JEAN PIERRE", "JEANPIERRE"}},
		{"abbreviate", func(s string) string { return abbreviate(r, s) }, "JEAN-PIERRE", []string{"J-PIERRE", "J.PIERRE", "JP"}},
		{"truncate", func(s string) string { return truncate(s, 10) }, "MARIE-CHRISTINE", []string{"MARIE-CHRI"}},
		{"truncate at hyphen", func(s string) string { return truncate(s, 6) }, "MARIE-CHRISTINE", []string{"MARIE"}},
		{"OCR", func(s string) string { return ocrConfusion(r, s) }, "XRNX", []string{"XMX", "XRHX"}},
	} {
		for range 5 {
			got := tc.f(tc.in)
			ok := false
			for _, w := range tc.want {
				ok = ok || got == w
			}
			if !ok {
				t.Errorf("%s(%q) = %q, want one of %q", tc.name, tc.in, got, tc.want)
			}
		}
	}
}

func TestKeyboardSlip(t *testing.T) {
	r := newRNG(2)
	for range 200 {
		got := keyboardSlip(r, "MARTIN")
		if got[0] != 'M' || len(got) < 5 || len(got) > 7 {
			t.Fatalf("keyboardSlip(MARTIN) = %q: more than one slip, or the first letter changed", got)
		}
	}
	for _, tc := range []struct {
		key  rune
		want string
	}{{'A', "ZQ"}, {'Q', "SAZW"}, {'G', "FHTYVB"}, {'N', "BHJ"}} {
		if got := string(neighbours(tc.key)); !sameLetters(got, tc.want) {
			t.Errorf("neighbours(%c) = %s, want %s", tc.key, got, tc.want)
		}
	}
}

func sameLetters(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, c := range a {
		if !strings.ContainsRune(b, c) {
			return false
		}
	}
	return true
}

// The INSEE files, when present, give every decade and sex its names.
func TestLoadNames(t *testing.T) {
	dir := sharedtest.Path(t, "data/names")
	n, err := LoadNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := newRNG(3)
	if got := n.firstName(r, 'F', 1955); got == "" || got != strings.ToUpper(got) {
		t.Errorf("a woman born in 1955: %q", got)
	}
	if n.paired("LOUIS") != "LOUISE" {
		t.Errorf("paired(LOUIS) = %q", n.paired("LOUIS"))
	}
	if len(n.surnames.names) < 100000 {
		t.Errorf("%d surnames", len(n.surnames.names))
	}
}
