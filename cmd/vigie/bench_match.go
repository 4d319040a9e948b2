package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"vigie/linkeval"
	"vigie/matcher"
)

func init() {
	register(verb{name: "bench match", summary: "measure matching accuracy on FEBRL 4 and generated French data", run: runBenchMatch})
}

func runBenchMatch(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench match", stderr)
	febrl := fs.String("febrl", "", "folder holding FEBRL dataset4a.csv and dataset4b.csv (default: ../shared/data/linkage/febrl when present; \"none\" to skip)")
	gen := fs.String("generated", "", "folder written by `vigie gen identities` (records.csv, truth.csv)")
	modelPath := fs.String("model", "", "model file to score with instead of training on each data set (\"default\" for the shipped one)")
	writeModel := fs.String("write-model", "", "write the model trained on the generated data to this file")
	maxBlock := fs.Int("max-block", 500, "skip blocking keys shared by more records than this")
	randomPairs := fs.Int("random-pairs", 300000, "random pairs used to estimate u")
	examples := fs.Int("examples", 0, "print this many false links, explained")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch *febrl {
	case "none":
		*febrl = ""
	case "":
		if dir, ok := findShared("data/linkage/febrl"); ok {
			*febrl = dir
		}
	}
	if *febrl == "" && *gen == "" {
		return usageErr("nothing to measure: give --febrl DIR and/or --generated DIR")
	}
	var fixed *matcher.Model
	switch *modelPath {
	case "":
	case "default":
		fixed = matcher.DefaultModel()
	default:
		data, err := os.ReadFile(*modelPath)
		if err != nil {
			return err
		}
		if fixed, err = matcher.ParseModel(data); err != nil {
			return err
		}
	}
	measure := func(d *linkeval.Dataset, write string) error {
		t0 := time.Now()
		p := linkeval.Prepare(d, *maxBlock)
		fmt.Fprintf(stdout, "%s: %d records (%d refused by validation), prepared and blocked in %s\n", d.Name, len(d.Records), p.Refused, time.Since(t0).Round(time.Millisecond))
		m := fixed
		if m == nil {
			t1 := time.Now()
			var rep matcher.TrainReport
			var err error
			m, rep, err = p.Train(matcher.StartingModel(), *randomPairs, 1)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "trained on the data itself, without labels, in %s\n%s", time.Since(t1).Round(time.Millisecond), rep)
			fmt.Fprintf(stdout, "prior: %.3f matches per record among %d\n", m.MatchesPerRecord, m.Population)
			if write != "" {
				data, err := m.MarshalJSON()
				if err != nil {
					return err
				}
				if err := os.WriteFile(write, append(data, '\n'), 0o644); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "model written to %s\n", write)
			}
		}
		t2 := time.Now()
		met := p.Evaluate(m, *examples)
		fmt.Fprint(stdout, met.Report(d.Name))
		fmt.Fprintf(stdout, "  scored %d pairs in %s\n", met.Candidates, time.Since(t2).Round(time.Millisecond))
		for _, ex := range met.FalseExamples {
			fmt.Fprintf(stdout, "\nfalse link:\n%s", ex)
		}
		fmt.Fprintln(stdout)
		return nil
	}
	if *febrl != "" {
		d, err := linkeval.LoadFEBRL4(filepath.Join(*febrl, "dataset4a.csv"), filepath.Join(*febrl, "dataset4b.csv"))
		if err != nil {
			return err
		}
		if err := measure(d, ""); err != nil {
			return err
		}
	}
	if *gen != "" {
		d, err := linkeval.LoadGenerated(*gen)
		if err != nil {
			return err
		}
		if err := measure(d, *writeModel); err != nil {
			return err
		}
	}
	return nil
}

// findShared looks for the workplace's shared material (../shared/REL from
// the current folder or one of its parents).
func findShared(rel string) (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for range 4 {
		p := filepath.Join(dir, "..", "shared", rel)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p, true
		}
		dir = filepath.Dir(dir)
	}
	return "", false
}
