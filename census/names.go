package census

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// The INSEE files LoadNames reads (see the project's identity notes).
const (
	surnameFile = "noms2008nat_names_only.txt.gz"
	firstFile   = "prenoms_france_by_decade.csv.gz"
	decades     = 13 // 1900s … 2020s
)

// Names holds the distributions names are drawn from: surnames, and first
// names by sex and decade of birth. All names are upper case; first names
// keep their accents and hyphens (HÉLÈNE, JEAN-PIERRE).
type Names struct {
	Source   string // where the names come from, for reports
	surnames table
	first    [2][decades]table // [0 male, 1 female][decade since 1900]
	female   map[string]bool   // every female first name, for paired twin names
}

// table is a list of names and their cumulative weights.
type table struct {
	names []string
	cum   []float64
}

func (t *table) add(name string, w float64) {
	total := w
	if n := len(t.cum); n > 0 {
		total += t.cum[n-1]
	}
	t.names = append(t.names, name)
	t.cum = append(t.cum, total)
}

func (t *table) draw(r *rng) string {
	x := r.float() * t.cum[len(t.cum)-1]
	return t.names[sort.SearchFloat64s(t.cum, x)]
}

// FindNamesDir looks for the INSEE name files in shared/data/names beside
// dir or one of its five parents, as the workplace lays them out.
func FindNamesDir(dir string) (string, bool) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	for range 6 {
		for _, p := range []string{filepath.Join(dir, "shared", "data", "names"), filepath.Join(dir, "..", "shared", "data", "names")} {
			if _, err := os.Stat(filepath.Join(p, firstFile)); err == nil {
				return filepath.Clean(p), true
			}
		}
		dir = filepath.Dir(dir)
	}
	return "", false
}

// LoadNames reads the INSEE files in dir: first names by decade with their
// counts, and the surname list. The surname list has no counts: it is
// given a heavy tail of its own (weight 1/(rank+30), ranks after the
// common names of the built-in list in a fixed pseudo-random order) so that
// common names are shared by hundreds of persons and most by one or two, as
// in France.
func LoadNames(dir string) (*Names, error) {
	n := &Names{Source: "INSEE files", female: map[string]bool{}}
	if err := n.loadFirst(filepath.Join(dir, firstFile)); err != nil {
		return nil, err
	}
	if err := n.loadSurnames(filepath.Join(dir, surnameFile)); err != nil {
		return nil, err
	}
	return n, nil
}

func gzipLines(path string) (io.Reader, func() error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("census: %w", err)
	}
	z, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("census: %s: %w", path, err)
	}
	return z, f.Close, nil
}

func (n *Names) loadFirst(path string) error {
	r, closeFile, err := gzipLines(path)
	if err != nil {
		return err
	}
	defer closeFile()
	cr := csv.NewReader(r)
	if _, err := cr.Read(); err != nil {
		return fmt.Errorf("census: %s: %w", path, err)
	}
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil || len(row) != 4 {
			return fmt.Errorf("census: %s: expected decade,sex,name,n: %v", path, err)
		}
		dec, err1 := strconv.Atoi(row[0])
		cnt, err2 := strconv.ParseFloat(row[3], 64)
		if err1 != nil || err2 != nil || dec < 1900 || dec >= 1900+10*decades {
			continue
		}
		name := strings.ToUpper(strings.TrimSpace(row[2]))
		if name == "" || strings.ContainsAny(name, "_0123456789") {
			continue
		}
		sex := 0
		if row[1] == "F" {
			sex = 1
			n.female[name] = true
		}
		n.first[sex][(dec-1900)/10].add(name, cnt)
	}
	for s := range 2 {
		for d := range decades {
			if len(n.first[s][d].names) == 0 {
				return fmt.Errorf("census: %s: no %s first names for the %ds", path, [2]string{"male", "female"}[s], 1900+10*d)
			}
		}
	}
	return nil
}

func (n *Names) loadSurnames(path string) error {
	r, closeFile, err := gzipLines(path)
	if err != nil {
		return err
	}
	defer closeFile()
	type ranked struct {
		name string
		h    uint64
	}
	common := map[string]int{}
	for i, s := range commonSurnames {
		common[s] = i
	}
	var rest []ranked
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		s := strings.ToUpper(strings.TrimSpace(sc.Text()))
		if s == "" {
			continue
		}
		if _, ok := common[s]; ok {
			continue
		}
		h := fnv.New64a()
		h.Write([]byte(s))
		rest = append(rest, ranked{s, h.Sum64()})
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("census: %s: %w", path, err)
	}
	if len(rest) == 0 {
		return fmt.Errorf("census: %s: no surname", path)
	}
	slices.SortFunc(rest, func(a, b ranked) int {
		if a.h != b.h {
			if a.h < b.h {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	rank := 0
	for _, s := range commonSurnames {
		n.surnames.add(s, 1/float64(rank+30))
		rank++
	}
	for _, s := range rest {
		n.surnames.add(s.name, 1/float64(rank+30))
		rank++
	}
	return nil
}

// BuiltinNames returns the small lists used when the INSEE files are
// absent: about a hundred surnames and, per sex, first names of three
// generations. Homonyms are far more frequent than with the INSEE files.
func BuiltinNames() *Names {
	n := &Names{Source: "built-in lists", female: map[string]bool{}}
	for i, s := range commonSurnames {
		n.surnames.add(s, 1/float64(i+10))
	}
	for i, s := range particleSurnames {
		n.surnames.add(s, 1/float64(len(commonSurnames)+i+10))
	}
	for sex := range 2 {
		for d := range decades {
			era := builtinFirst[sex][min(2, max(0, (d-3)/4))] // 1900–1949, 1950–1989, 1990–
			for i, s := range era {
				n.first[sex][d].add(s, 1/float64(i+3))
				if sex == 1 {
					n.female[s] = true
				}
			}
		}
	}
	return n
}

// firstName draws a first name for a person of the given sex born in year.
func (n *Names) firstName(r *rng, sex byte, year int) string {
	s := 0
	if sex == 'F' {
		s = 1
	}
	d := min(decades-1, max(0, (year-1900)/10))
	return n.first[s][d].draw(r)
}

// paired returns a girl's name paired with a boy's (LOUIS → LOUISE), or "".
func (n *Names) paired(boy string) string {
	for _, suffix := range []string{"E", "NE", "LE", "TTE", "INE"} {
		if g := boy + suffix; n.female[g] {
			return g
		}
	}
	return ""
}

// commonSurnames are the most frequent surnames in France, most frequent
// first: they head the surname distribution whichever list is used.
var commonSurnames = []string{
	"MARTIN", "BERNARD", "THOMAS", "PETIT", "ROBERT", "RICHARD", "DURAND", "DUBOIS", "MOREAU", "LAURENT",
	"SIMON", "MICHEL", "LEFEBVRE", "LEROY", "ROUX", "DAVID", "BERTRAND", "MOREL", "FOURNIER", "GIRARD",
	"BONNET", "DUPONT", "LAMBERT", "FONTAINE", "ROUSSEAU", "VINCENT", "MULLER", "LEFEVRE", "FAURE", "ANDRE",
	"MERCIER", "BLANC", "GUERIN", "BOYER", "GARNIER", "CHEVALIER", "FRANCOIS", "LEGRAND", "GAUTHIER", "GARCIA",
	"PERRIN", "ROBIN", "CLEMENT", "MORIN", "NICOLAS", "HENRY", "ROUSSEL", "MATHIEU", "GAUTIER", "MASSON",
	"MARCHAND", "DUVAL", "DENIS", "DUMONT", "MARIE", "LEMAIRE", "NOEL", "MEYER", "DUFOUR", "MEUNIER",
	"BRUN", "BLANCHARD", "GIRAUD", "JOLY", "RIVIERE", "LUCAS", "BRUNET", "GAILLARD", "BARBIER", "ARNAUD",
	"LE GALL", "LE GOFF", "LE ROUX", "GUILLOU", "LE BRIS", "TANGUY", "JEZEQUEL", "KERVELLA", "LE CORRE", "LE MOAL",
}

// particleSurnames are surnames with a particle, a space or an apostrophe:
// the forms sites glue, drop or respell.
var particleSurnames = []string{
	"DE LA FONTAINE", "D'ALMEIDA", "DA SILVA", "DOS SANTOS", "DE OLIVEIRA", "LE BIHAN", "LE BERRE", "DU PLESSIS",
	"DE SAINT-JUST", "LE CALVEZ", "D'HERVÉ", "DE KERGUELEN", "LA BARRE", "DES GRANGES", "LE MÉNAHÈZE", "N'DIAYE",
}

// builtinFirst holds first names by sex ([0] male, [1] female) and
// generation (born before 1950, 1950–1989, 1990 and later), most frequent
// first.
var builtinFirst = [2][3][]string{
	{
		{"JEAN", "ANDRÉ", "PIERRE", "LOUIS", "RENÉ", "MARCEL", "GEORGES", "HENRI", "ROGER", "PAUL", "JOSEPH", "MAURICE", "JACQUES", "ROBERT", "FRANÇOIS", "YVES", "MICHEL", "BERNARD", "JEAN-CLAUDE", "DANIEL"},
		{"PHILIPPE", "MICHEL", "ALAIN", "PATRICK", "CHRISTOPHE", "ÉRIC", "STÉPHANE", "LAURENT", "FRÉDÉRIC", "DAVID", "THIERRY", "PASCAL", "JEAN-PIERRE", "OLIVIER", "NICOLAS", "SÉBASTIEN", "JÉRÔME", "DIDIER", "JEAN-LUC", "FRANCK"},
		{"THOMAS", "LUCAS", "HUGO", "LÉO", "NATHAN", "LOUIS", "GABRIEL", "JULES", "ENZO", "ARTHUR", "MATHIS", "THÉO", "RAPHAËL", "NOAH", "ADAM", "TOM", "MAËL", "ÉTHAN", "PAUL", "SACHA"},
	},
	{
		{"MARIE", "JEANNE", "MARGUERITE", "GERMAINE", "LOUISE", "YVONNE", "MADELEINE", "SUZANNE", "MARCELLE", "DENISE", "SIMONE", "ANDRÉE", "PAULETTE", "ODETTE", "HÉLÈNE", "RENÉE", "JACQUELINE", "MONIQUE", "ANNE-MARIE", "COLETTE"},
		{"NATHALIE", "ISABELLE", "SYLVIE", "CATHERINE", "CHRISTINE", "SANDRINE", "VÉRONIQUE", "VALÉRIE", "STÉPHANIE", "CÉLINE", "MARIE-CLAIRE", "CORINNE", "SOPHIE", "ÉMILIE", "AURÉLIE", "JULIE", "MARTINE", "PATRICIA", "MARIE-CHRISTINE", "LAURENCE"},
		{"EMMA", "LÉA", "CHLOÉ", "MANON", "JADE", "LOUISE", "ALICE", "LINA", "CAMILLE", "INÈS", "ZOÉ", "LOLA", "SARAH", "LÉNA", "ROSE", "ANNA", "JULIETTE", "CLARA", "PAULINE", "LOUNA"},
	},
}
