package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"vigie/mpi"
	"vigie/search"
)

func init() {
	register(verb{name: "search", summary: "find identities by INS, local id or traits, ranked by match confidence", run: runSearch})
}

// repeated collects a flag given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

func runSearch(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("search", stderr)
	data := fs.String("data", "", "folder of the Vigie store (required)")
	var q search.Query
	var ipps repeated
	fs.StringVar(&q.INS, "ins", "", "INS (15 characters, key checked)")
	fs.Var(&ipps, "ipp", "local id as AUTHORITY:ID (repeatable)")
	fs.StringVar(&q.BirthName, "name", "", "family name (birth name, or the name in use)")
	fs.StringVar(&q.UsedName, "used-name", "", "name in use, when different from --name")
	fs.StringVar(&q.FirstNames, "first", "", "first name(s)")
	fs.StringVar(&q.BirthDate, "born", "", "birth date (YYYY-MM-DD, DD/MM/YYYY) or year (YYYY)")
	fs.StringVar(&q.Sex, "sex", "", "M or F")
	fs.StringVar(&q.BirthPlace, "birthplace", "", "INSEE code of the birthplace")
	fs.StringVar(&q.PostalCode, "postal", "", "postal code")
	fs.IntVar(&q.Limit, "limit", 10, "number of results (1-100)")
	fs.BoolVar(&q.IncludeHidden, "include-hidden", false, "also show hidden identities (identity-vigilance use)")
	asJSON := fs.Bool("json", false, "one JSON object per result")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	for _, v := range ipps {
		auth, id, ok := strings.Cut(v, ":")
		if !ok {
			return usageErr("--ipp %q: expected AUTHORITY:ID", v)
		}
		q.LocalIDs = append(q.LocalIDs, search.LocalID{Authority: auth, LocalID: id})
	}
	ctx := context.Background()
	_, ix, closeIndex, err := openIndex(*data, false, 0)
	if err != nil {
		return err
	}
	defer closeIndex()
	sx, err := openSearchIndex(ctx, *data, ix, func(msg string) { fmt.Fprintln(stderr, msg) })
	if err != nil {
		return err
	}
	defer sx.Close()
	hits, err := sx.Search(ctx, q)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, h := range hits {
			if err := enc.Encode(h); err != nil {
				return err
			}
		}
		return nil
	}
	if len(hits) == 0 {
		fmt.Fprintln(stdout, "no identity found")
		return nil
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "#\tidentity\tprobability\tgrade\tbirth name\tname in use\tfirst names\tborn\tsex\tsources\treasons")
	for i, h := range hits {
		var src []string
		for _, s := range h.Sources {
			src = append(src, s.Authority+":"+s.LocalID)
		}
		g := h.Golden
		fmt.Fprintf(w, "%d\t%s\t%.6f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i+1, h.ID, h.Probability, h.Grade,
			g.BirthName, g.UsedName, g.FirstNames, g.BirthDate, g.Sex, strings.Join(src, " "), strings.Join(h.Reasons, "; "))
	}
	return w.Flush()
}

// searchDir is where the derived search index lives inside a data folder.
func searchDir(data string) string { return filepath.Join(data, "search") }

// openSearchIndex opens the data folder's search index and brings it up to
// date with the patient index: a full rebuild when it is new or was written
// in another format by an older build (notice says so), otherwise the events
// since its cursor.
func openSearchIndex(ctx context.Context, data string, ix *mpi.Index, notice func(string)) (*search.Index, error) {
	_, statErr := os.Stat(searchDir(data))
	fresh := statErr != nil
	opts := search.Options{Population: func() int { return max(ix.Count(), mpiMinPopulation) }}
	sx, err := search.Open(searchDir(data), ix.Model(), opts)
	if errors.Is(err, search.ErrFormat) {
		// The index is derived: drop it and build it again.
		notice(fmt.Sprintf("%v: rebuilding it from the patient index", err))
		if err := os.RemoveAll(searchDir(data)); err != nil {
			return nil, fmt.Errorf("search: remove the old index: %w", err)
		}
		fresh = true
		sx, err = search.Open(searchDir(data), ix.Model(), opts)
	}
	if err != nil {
		return nil, err
	}
	if fresh {
		_, err = sx.Rebuild(ctx, ix)
	} else {
		_, err = sx.CatchUp(ctx, ix)
	}
	if err != nil {
		sx.Close()
		return nil, err
	}
	return sx, nil
}

// mpiMinPopulation mirrors the patient index's smallest prior population
// (mpi.Options.MinPopulation's default), so that a search in a small index
// never grades a name alone as probable.
const mpiMinPopulation = 10000
