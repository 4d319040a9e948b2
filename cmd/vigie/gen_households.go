package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"vigie/census"
)

func init() {
	register(verb{name: "gen households", summary: "write an independent population built from households (records.csv, truth.csv, persons.csv)", run: runGenHouseholds})
}

// runGenHouseholds writes a population of package census: a second
// generator, written from another point of view than `gen identities`, to
// measure linkage on data the matching was not tuned on.
func runGenHouseholds(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("gen households", stderr)
	persons := fs.Int("persons", 20000, "number of persons to generate")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same files, byte for byte")
	out := fs.String("out", "", "folder to write records.csv, truth.csv and persons.csv into (required)")
	namesDir := fs.String("names", "", "folder of the INSEE name files (default: shared/data/names beside this folder or a parent; else built-in lists)")
	sites := fs.Int("sites", 30, "number of establishments")
	errorScale := fs.Float64("error-scale", 1, "multiply every capture error rate (typos, OCR, swaps, date slips, missing traits, INS errors…) by this factor")
	insCoverage := fs.Float64("ins-coverage", 0.15, "share of records retrieved from INSi, carrying the INS")
	noHousehold := fs.Bool("no-household-columns", false, "leave out address, postal_code, city and phone (the same records otherwise)")
	def := census.NewConfig(1, 1)
	twins := fs.Float64("twin-rate", def.Homes.TwinBirths, "share of births that are twins")
	homonyms := fs.Float64("father-son-rate", def.Homes.FatherSonHomonym, "share of sons living with their father who bear his first first name")
	noDate := fs.Float64("no-birth-date-rate", def.Errors.DateMissing, "share of typed records without birth date (before --error-scale)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	switch {
	case *out == "":
		return usageErr("--out DIR is required")
	case *persons < 1:
		return usageErr("--persons must be at least 1, not %d", *persons)
	case *sites < 1 || *sites > 9999:
		return usageErr("--sites must be between 1 and 9999, not %d", *sites)
	case *errorScale < 0 || *errorScale > 10:
		return usageErr("--error-scale must be between 0 and 10, not %g", *errorScale)
	case *insCoverage < 0 || *insCoverage > 1:
		return usageErr("--ins-coverage must be between 0 and 1, not %g", *insCoverage)
	case *twins < 0 || *twins > 1 || *homonyms < 0 || *homonyms > 1 || *noDate < 0 || *noDate > 1:
		return usageErr("--twin-rate, --father-son-rate and --no-birth-date-rate must be between 0 and 1")
	}
	t0 := time.Now()
	cfg := census.NewConfig(*persons, *seed)
	cfg.Sites = *sites
	cfg.Homes.TwinBirths, cfg.Homes.FatherSonHomonym, cfg.Errors.DateMissing = *twins, *homonyms, *noDate
	cfg.Errors = cfg.Errors.Scaled(*errorScale)
	cfg.Visits.INSCoverage = *insCoverage
	cfg.HouseholdColumns = !*noHousehold
	dir := *namesDir
	if dir == "" {
		if d, ok := census.FindNamesDir("."); ok {
			dir = d
		}
	} else if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return usageErr("--names %s: not a folder", dir)
	}
	if dir != "" {
		names, err := census.LoadNames(dir)
		if err != nil {
			return err
		}
		cfg.Names = names
	} else {
		fmt.Fprintln(stderr, "vigie gen households: INSEE name files not found (use --names DIR): using the small built-in name lists")
	}
	st, err := census.WriteFiles(cfg, *out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d persons in %d households, %d records (%.2f per person, %.1f %% with INS) at %d sites, names from %s\n",
		st.Persons, st.Households, st.Records, float64(st.Records)/float64(st.Persons), 100*float64(st.WithINS)/float64(max(st.Records, 1)), st.Sites, st.NamesSource)
	fmt.Fprintf(stdout, "  %d twin births of %d, %d of %d sons bearing their father's first name; INS errors: %d a parent's, %d transposed\n",
		st.TwinBirths, st.Births, st.HomonymSons, st.SonsWithFather, st.ParentINS, st.TransposedINS)
	fmt.Fprintf(stdout, "wrote %s, truth.csv and persons.csv in %s\n", filepath.Join(*out, "records.csv"), time.Since(t0).Round(time.Millisecond))
	return nil
}
