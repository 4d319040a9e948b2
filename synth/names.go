package synth

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Files of the INSEE name data that LoadNames reads.
const (
	SurnamesFile        = "noms2008nat_names_only.txt.gz"
	FirstNamesByDecade  = "prenoms_france_by_decade.csv.gz"
	firstDecades        = 13 // 1900s … 2020s
	builtinZipfOffset   = 60 // flatter for the ~300 built-in surnames
	smallListZipfOffset = 3
)

// Names holds the surname and first-name distributions a generation draws
// from. Build it with LoadNames (INSEE files) or BuiltinNames.
type Names struct {
	source   string
	surnames weighted
	// first[sex][decade]: sex 0 male, 1 female; decade 0 = 1900s.
	first [2][firstDecades]weighted
}

// weighted is a list of names with a cumulative weight table.
type weighted struct {
	names []string
	c     cdf
}

func (w *weighted) draw(r *rng) string { return w.names[w.c.draw(r)] }

func newWeighted(names []string, weights []float64) weighted {
	return weighted{names: names, c: newCDF(weights)}
}

func zipfList(names []string, offset float64) weighted {
	return newWeighted(names, zipfWeights(len(names), offset))
}

// Source says where the names come from, for the operator.
func (n *Names) Source() string { return n.source }

// Surnames returns the number of distinct surnames of the general list.
func (n *Names) Surnames() int { return len(n.surnames.names) }

// FindNamesDir looks for the INSEE name files in ../shared/data/names
// relative to start and to up to three of its parents.
func FindNamesDir(start string) (string, bool) {
	dir, err := filepath.Abs(start)
	if err != nil {
		return "", false
	}
	for i := 0; i <= 3; i++ {
		cand := filepath.Join(dir, "..", "shared", "data", "names")
		if fileExists(filepath.Join(cand, SurnamesFile)) && fileExists(filepath.Join(cand, FirstNamesByDecade)) {
			return filepath.Clean(cand), true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", false
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// BuiltinNames returns the small built-in lists: about 300 surnames (common
// French ones first, then regional, particle, compound and immigrant ones)
// with rank-based frequencies, and about 40 first names per sex and era.
func BuiltinNames() *Names {
	n := &Names{source: "built-in lists"}
	seen := map[string]bool{}
	var list []string
	add := func(s string) {
		if k := foldName(s); !seen[k] {
			seen[k] = true
			list = append(list, s)
		}
	}
	for _, s := range commonSurnames {
		add(s)
	}
	// Placed names keep their relative order, at ranks compressed into the
	// built-in list's length.
	for _, s := range sortedPlaced() {
		add(s)
	}
	for _, l := range [][]string{basqueSurnames, gasconSurnames, centreOuestSurnames, bretonSurnames} {
		for _, s := range l {
			add(s)
		}
	}
	n.surnames = zipfList(list, builtinZipfOffset)
	for sex := 0; sex < 2; sex++ {
		for d := 0; d < firstDecades; d++ {
			year := 1900 + 10*d + 5
			era := eraOf(year)
			names := append([]string(nil), builtinFirstNames[sex][era]...)
			w := zipfWeights(len(names), smallListZipfOffset)
			// Blend in the neighbouring era so that fashions overlap.
			var other int
			if year < 1980 {
				other = min(era+1, 3)
			} else {
				other = max(era-1, 0)
			}
			if other != era {
				for i, s := range builtinFirstNames[sex][other] {
					names = append(names, s)
					w = append(w, 0.15/(float64(i+1)+smallListZipfOffset))
				}
			}
			n.first[sex][d] = newWeighted(names, w)
		}
	}
	return n
}

// sortedPlaced returns the placed surnames by rank.
func sortedPlaced() []string {
	names := make([]string, 0, len(placedSurnames))
	for s := range placedSurnames {
		names = append(names, s)
	}
	sort.Slice(names, func(i, j int) bool {
		ri, rj := placedSurnames[names[i]], placedSurnames[names[j]]
		if ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	return names
}

// LoadNames reads the INSEE surname list and first-name counts by decade
// from dir. Surnames carry no counts: they get heavy-tailed weights (see
// surnameWeights) over a fixed order that puts the most common French
// surnames first, a few particle and compound names at fixed ranks, and the
// rest in a shuffled order that is the same for every seed.
func LoadNames(dir string) (*Names, error) {
	n := &Names{source: "INSEE name files"}
	if err := n.loadSurnames(filepath.Join(dir, SurnamesFile)); err != nil {
		return nil, err
	}
	if err := n.loadFirstNames(filepath.Join(dir, FirstNamesByDecade)); err != nil {
		return nil, err
	}
	return n, nil
}

func openMaybeGz(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(path, ".gz") {
		return f, nil
	}
	z, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<16))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{z, f}, nil
}

func (n *Names) loadSurnames(path string) error {
	f, err := openMaybeGz(path)
	if err != nil {
		return fmt.Errorf("synth: surnames: %w", err)
	}
	defer f.Close()
	top := map[string]bool{}
	for _, s := range commonSurnames {
		top[foldName(s)] = true
	}
	for s := range placedSurnames {
		top[foldName(s)] = true
	}
	var rest []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		s := strings.TrimSpace(sc.Text())
		if s == "" || !validName(s) || top[s] {
			continue
		}
		rest = append(rest, s)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("synth: %s: %w", path, err)
	}
	if len(rest) < 1000 {
		return fmt.Errorf("synth: %s: only %d surnames", path, len(rest))
	}
	sort.Strings(rest) // the file's order must not matter
	shuffle(newRNG(0x5ca1ab1e, 0x0de5), rest)
	total := len(commonSurnames) + len(placedSurnames) + len(rest)
	ranked := make([]string, 0, total)
	ranked = append(ranked, commonSurnames...)
	placed := sortedPlaced()
	for _, s := range rest {
		for len(placed) > 0 && placedSurnames[placed[0]] <= len(ranked)+1 {
			ranked = append(ranked, placed[0])
			placed = placed[1:]
		}
		ranked = append(ranked, s)
	}
	ranked = append(ranked, placed...)
	n.surnames = newWeighted(ranked, surnameWeights(len(ranked)))
	return nil
}

// topSurnameShares are the rough shares of the French population carrying
// the twenty most common surnames (MARTIN about 0.36 %).
var topSurnameShares = []float64{0.36, 0.16, 0.145, 0.135, 0.13, 0.13, 0.12, 0.12, 0.117, 0.115,
	0.112, 0.11, 0.107, 0.10, 0.09, 0.09, 0.09, 0.088, 0.086, 0.085}

// surnameWeights gives rank r (1-based) the share 3.03/(r+50)^0.84 % beyond
// the top twenty: about 0.045 % at rank 100 and 0.01 % at rank 1,000, so
// that the ~219,000 INSEE surnames add up to about the whole population.
func surnameWeights(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		if i < len(topSurnameShares) {
			w[i] = topSurnameShares[i]
		} else {
			w[i] = 3.03 / math.Pow(float64(i+1)+50, 0.84)
		}
	}
	return w
}

func (n *Names) loadFirstNames(path string) error {
	f, err := openMaybeGz(path)
	if err != nil {
		return fmt.Errorf("synth: first names: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<16))
	r.ReuseRecord = true
	head, err := r.Read()
	if err != nil {
		return fmt.Errorf("synth: %s: %w", path, err)
	}
	if strings.Join(head, ",") != "decade,sex,name,n" {
		return fmt.Errorf("synth: %s: header must be decade,sex,name,n", path)
	}
	var names [2][firstDecades][]string
	var counts [2][firstDecades][]float64
	for {
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("synth: %s: %w", path, err)
		}
		dec, err1 := strconv.Atoi(row[0])
		cnt, err2 := strconv.ParseFloat(row[3], 64)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("synth: %s: bad row %q", path, strings.Join(row, ","))
		}
		d := (dec - 1900) / 10
		if d < 0 || d >= firstDecades {
			continue
		}
		var sex int
		switch row[1] {
		case "M":
		case "F":
			sex = 1
		default:
			continue
		}
		name := strings.ToUpper(strings.TrimSpace(row[2]))
		if name == "" || !validName(name) || cnt <= 0 {
			continue
		}
		names[sex][d] = append(names[sex][d], name)
		counts[sex][d] = append(counts[sex][d], cnt)
	}
	for sex := 0; sex < 2; sex++ {
		for d := 0; d < firstDecades; d++ {
			if len(names[sex][d]) == 0 {
				return fmt.Errorf("synth: %s: no %s first names for the %ds", path, [2]string{"male", "female"}[sex], 1900+10*d)
			}
			n.first[sex][d] = newWeighted(names[sex][d], counts[sex][d])
		}
	}
	return nil
}

// firstName draws a first name for sex ('M'/'F') and birth year.
func (n *Names) firstName(r *rng, sex byte, year int) string {
	s := 0
	if sex == 'F' {
		s = 1
	}
	d := min(max((year-1900)/10, 0), firstDecades-1)
	return n.first[s][d].draw(r)
}

// validName reports whether s holds only letters, spaces, hyphens and
// apostrophes, with at least one letter.
func validName(s string) bool {
	letters := 0
	for _, c := range s {
		switch {
		case c == ' ' || c == '-' || c == '\'':
		case isLetter(c):
			letters++
		default:
			return false
		}
	}
	return letters > 0
}
