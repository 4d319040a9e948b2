package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"vigie/linkeval"
	"vigie/matcher"
	"vigie/mpi"
	"vigie/store"
)

func init() {
	register(verb{name: "train", summary: "re-estimate the matcher from the index's own records and report what would change (changes no link)", run: runTrain})
}

func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("train", stderr)
	data := fs.String("data", "", "folder of the Vigie store (required)")
	modelPath := fs.String("model", "", "the model the index uses now (default: the shipped model)")
	out := fs.String("out", "", "write the re-estimated model to this file (to use it: --model FILE)")
	randomPairs := fs.Int("random-pairs", 300000, "random pairs used to estimate u")
	maxBlock := fs.Int("max-block", 500, "skip blocking keys shared by more records than this")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *data == "" {
		return usageErr("--data DIR is required")
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	if _, err := os.Stat(*data); err != nil {
		return usageErr("--data: %v", err)
	}
	current, err := loadModel(*modelPath)
	if err != nil {
		return err
	}
	db, err := openStore(*data, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	ix, err := mpi.Open(db, current, mpi.Options{})
	if err != nil {
		return err
	}
	defer ix.Close()
	rep, trained, err := trainFromIndex(context.Background(), ix, current, *randomPairs, *maxBlock)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, rep)
	if *out != "" {
		b, err := trained.MarshalJSON()
		if err != nil {
			return err
		}
		if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "model written to %s (no link was changed)\n", *out)
	}
	return nil
}

// trainFromIndex fits a model on the index's latest records without labels
// and compares, pair by pair among the blocking's candidate pairs, the
// automatic-link decisions of the current and the new model against the
// current links. It changes nothing in the index.
func trainFromIndex(ctx context.Context, ix *mpi.Index, current *matcher.Model, randomPairs, maxBlock int) (string, *matcher.Model, error) {
	t0 := time.Now()
	d := &linkeval.Dataset{Name: "index"}
	err := ix.Scan(ctx, func(k mpi.SourceKey, id mpi.ID, rec matcher.Record) error {
		d.Records = append(d.Records, rec)
		d.Entity = append(d.Entity, id.String())
		d.Side = append(d.Side, 0)
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	p := linkeval.Prepare(d, maxBlock)
	trained, trep, err := p.Train(current, randomPairs, 1)
	if err != nil {
		return "", nil, err
	}
	oldModel := current.WithPopulation(max(len(d.Records), 10000))
	newModel := trained.WithPopulation(max(len(d.Records), 10000))
	var linkedPairs, keep, lose, gain, crossAuto int
	for _, pr := range p.Pairs {
		c := matcher.Compare(p.Recs[pr.I], p.Recs[pr.J])
		was, now := oldModel.Score(&c, p.Freq).AutoLink, newModel.Score(&c, p.Freq).AutoLink
		if d.Entity[pr.I] == d.Entity[pr.J] {
			linkedPairs++
			switch {
			case now:
				keep++
			case was:
				lose++
			}
		} else if now {
			crossAuto++
			if !was {
				gain++
			}
		}
	}
	rep := fmt.Sprintf("trained on %d records of the index (%d refused by validation), %d candidate pairs, in %s\n%s",
		len(d.Records), p.Refused, len(p.Pairs), time.Since(t0).Round(time.Millisecond), trep)
	rep += fmt.Sprintf("thresholds: auto-link %g, review %g; guards: first name %v, birth date %v\n",
		trained.AutoLink, trained.Review, trained.FirstNameGuard, trained.BirthDateGuard)
	rep += fmt.Sprintf("pairs of records in the same identity now: %d; the new model would auto-link %d of them, and no longer %d that the current model auto-links\n",
		linkedPairs, keep, lose)
	rep += fmt.Sprintf("pairs in different identities the new model would auto-link: %d (%d that the current model does not)\n", crossAuto, gain)
	return rep, trained, nil
}
