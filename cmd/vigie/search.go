package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"vigie/mpi"
	"vigie/search"
	"vigie/store"
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
	data := dataFlag(fs, "")
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
	catchUp := fs.Duration("catch-up-timeout", time.Minute, "how long to bring the search index up to date with the patient index before searching; past it, the search answers from what is indexed, with a warning")
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
	db, ix, closeIndex, err := openIndex(*data, false, 0)
	if err != nil {
		return err
	}
	defer closeIndex()
	notice := func(msg string) { fmt.Fprintln(stderr, msg) }
	sx, fresh, err := openSearchIndexOnly(*data, ix, storeEncrypted(db), search.Options{Skipped: func(id string, err error) {
		notice(fmt.Sprintf("search index: identity %s left out: %v", id, err))
	}}, notice)
	if err != nil {
		return err
	}
	defer sx.Close()
	// The catch-up is bounded in work per identity (see package search)
	// but not in identities: a store changed much since the index was
	// last brought up to date must not keep the command waiting.
	cctx, cancel := context.WithTimeout(ctx, *catchUp)
	err = catchUpSearch(cctx, sx, ix, fresh)
	cancel()
	switch {
	case err != nil && cctx.Err() != nil:
		notice(fmt.Sprintf("warning: the search index is still catching up with the patient index after %s: the results come from what is indexed and may miss recent changes", *catchUp))
	case err != nil:
		return err
	}
	hits, err := sx.Search(ctx, q)
	if err != nil {
		return err
	}
	read := operatorRead{Verb: "search", What: fmt.Sprintf("search: %d identities found", len(hits))}
	for _, h := range hits {
		read.Identities = append(read.Identities, h.ID)
	}
	if err := read.recordIn(db); err != nil {
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

// searchCount is the search index's size for a log line: the identities
// it holds, or why it could not count them.
func searchCount(sx *search.Index) slog.Attr {
	n, err := sx.Len()
	if err != nil {
		return slog.String("identities_error", err.Error())
	}
	return slog.Int("identities", n)
}

// searchDir is where the derived search index lives inside a data folder.
func searchDir(data string) string { return filepath.Join(data, "search") }

// openSearchIndex opens the data folder's search index and brings it up to
// date with the patient index (see catchUpSearch): a full rebuild when it is
// new or was written in another format by an older build (notice says so),
// otherwise the events since its cursor.
func openSearchIndex(ctx context.Context, data string, ix *mpi.Index, notice func(string)) (*search.Index, error) {
	sx, fresh, err := openSearchIndexOnly(data, ix, false, search.Options{}, notice)
	if err != nil {
		return nil, err
	}
	if err := catchUpSearch(ctx, sx, ix, fresh); err != nil {
		sx.Close()
		return nil, err
	}
	return sx, nil
}

// openSearchIndexOnly opens the data folder's search index without
// bringing it up to date (the server does that in the background): fresh
// reports that it is new, or was written in another format (notice says
// so) and dropped, so that it must be rebuilt (see catchUpSearch). The
// population of opts is the patient index's. With memory (an encrypted
// store: bleve writes its files in clear) the index is kept in memory
// only, always fresh, and a folder of an index left on disk is removed.
func openSearchIndexOnly(data string, ix *mpi.Index, memory bool, opts search.Options, notice func(string)) (sx *search.Index, fresh bool, err error) {
	opts.Population = func() int { return max(ix.Count(), mpiMinPopulation) }
	if memory {
		if err := removeSearchDir(data, notice); err != nil {
			return nil, false, err
		}
		sx, err = search.Open("", ix.Model(), opts)
		return sx, true, err
	}
	_, statErr := os.Stat(searchDir(data))
	fresh = statErr != nil
	sx, err = search.Open(searchDir(data), ix.Model(), opts)
	if errors.Is(err, search.ErrFormat) {
		// The index is derived: drop it and build it again.
		notice(fmt.Sprintf("%v: rebuilding it from the patient index", err))
		if err := os.RemoveAll(searchDir(data)); err != nil {
			return nil, false, fmt.Errorf("search: remove the old index: %w", err)
		}
		fresh = true
		sx, err = search.Open(searchDir(data), ix.Model(), opts)
	}
	if err != nil {
		return nil, false, err
	}
	return sx, fresh, nil
}

// removeSearchDir removes the search index's folder of an encrypted store,
// if any (written in clear before the store was encrypted, or by an older
// build): the index of an encrypted store is kept in memory only.
func removeSearchDir(data string, notice func(string)) error {
	if _, err := os.Stat(searchDir(data)); err != nil {
		return nil
	}
	notice(fmt.Sprintf("the store is encrypted: removing the search index %s, written in clear (the index is kept in memory)", searchDir(data)))
	if err := os.RemoveAll(searchDir(data)); err != nil {
		return fmt.Errorf("search: remove the index in clear: %w", err)
	}
	return nil
}

// storeEncrypted reports whether the store is encrypted at rest: its
// derived search index is then kept in memory only.
func storeEncrypted(db *store.DB) bool { return db.Encrypted() }

// catchUpSearch brings a search index up to date with the patient index:
// a rebuild when fresh, else the events since its cursor.
func catchUpSearch(ctx context.Context, sx *search.Index, ix *mpi.Index, fresh bool) error {
	var err error
	if fresh {
		_, err = sx.Rebuild(ctx, ix)
	} else {
		_, err = sx.CatchUp(ctx, ix)
	}
	return err
}

// mpiMinPopulation mirrors the patient index's smallest prior population
// (mpi.Options.MinPopulation's default), so that a search in a small index
// never grades a name alone as probable.
const mpiMinPopulation = 10000
