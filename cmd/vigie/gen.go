package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"vigie/synth"
)

func init() {
	register(verb{name: "gen identities", summary: "write a synthetic regional population (records.csv, truth.csv)", run: runGenIdentities})
}

func runGenIdentities(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("gen identities", stderr)
	persons := fs.Int("persons", 10000, "number of persons to generate")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same files, byte for byte")
	out := fs.String("out", "", "folder to write records.csv and truth.csv into (required)")
	namesDir := fs.String("names", "", "folder of the INSEE name files (default: ../shared/data/names from here or up to 3 parents; else built-in lists)")
	sites := fs.Int("sites", 40, "number of establishments")
	errorScale := fs.Float64("error-scale", 1, "multiply every identity error rate (typos, swaps, dropped accents, missing traits…) by this factor, to test the matching on dirtier or cleaner feeds than the default")
	insCoverage := fs.Float64("ins-coverage", -1, "share of records carrying a qualified or retrieved INS (default: the generator's, 0.25)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usageErr("--out DIR is required")
	}
	if *persons < 1 {
		return usageErr("--persons must be at least 1, not %d", *persons)
	}
	if *sites < 1 || *sites > 100000 {
		return usageErr("--sites must be between 1 and 100000, not %d", *sites)
	}
	if *errorScale < 0 || *errorScale > 10 {
		return usageErr("--error-scale must be between 0 and 10, not %g", *errorScale)
	}
	if *insCoverage != -1 && (*insCoverage < 0 || *insCoverage > 1) {
		return usageErr("--ins-coverage must be between 0 and 1, not %g", *insCoverage)
	}
	t0 := time.Now()
	cfg := synth.DefaultConfig(*persons, *seed)
	cfg.Sites = *sites
	cfg.Errors = cfg.Errors.Scaled(*errorScale)
	if *insCoverage >= 0 {
		cfg.Records.INSCoverage = *insCoverage
	}
	dir := *namesDir
	if dir == "" {
		if d, ok := synth.FindNamesDir("."); ok {
			dir = d
		}
	} else if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return usageErr("--names %s: not a folder", dir)
	}
	if dir != "" {
		names, err := synth.LoadNames(dir)
		if err != nil {
			return err
		}
		cfg.Names = names
	} else {
		fmt.Fprintln(stderr, "vigie gen identities: INSEE name files not found (use --names DIR): using the small built-in name lists")
	}
	st, err := synth.WriteFiles(cfg, *out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d persons (+%d anonymous), %d records (%.2f per person, %.1f %% with INS) at %d sites, names from %s: wrote %s and %s in %s\n",
		st.Persons, st.Anonymous, st.Records, st.RecordsPerPerson(), 100*st.INSCoverage(), st.Sites, st.NamesSource,
		filepath.Join(*out, "records.csv"), filepath.Join(*out, "truth.csv"), time.Since(t0).Round(time.Millisecond))
	return nil
}
