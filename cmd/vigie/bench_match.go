package main

import (
	"io"
	"os"
	"path/filepath"

	"vigie/bench"
	"vigie/internal/sharedtest"
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
		if dir, ok := sharedtest.Find("data/linkage/febrl"); ok {
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
	opts := bench.MatchOptions{Model: fixed, MaxBlock: *maxBlock, RandomPairs: *randomPairs, Examples: *examples}
	measure := func(d *linkeval.Dataset, write string) error {
		o := opts
		o.WriteModel = write
		return bench.Match(d, o, stdout)
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
