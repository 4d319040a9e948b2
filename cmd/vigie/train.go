package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"vigie"
	"vigie/matcher"
	"vigie/mpi"
	"vigie/store"
)

func init() {
	register(verb{name: "train", summary: "propose a model re-estimated on the index's own records with the links it would change (changes no link); --apply VERSION makes a proposed model current", run: runTrain})
}

func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("train", stderr)
	data := dataFlag(fs, "")
	modelPath := fs.String("model", "", "the model to compare with (default: the store's current model version)")
	out := fs.String("out", "", "also write the proposed model to this file")
	randomPairs := fs.Int("random-pairs", 300000, "random pairs used to estimate u")
	maxBlock := fs.Int("max-block", 500, "skip blocking keys shared by more records than this")
	examples := fs.Int("examples", 3, "pairs explained per kind of change")
	apply := fs.Int("apply", 0, "make this stored model version the current one (an administrator's act: --actor and --reason required); re-links nothing")
	actor := fs.String("actor", "", "who applies the model (with --apply)")
	reason := fs.String("reason", "", "why (with --apply)")
	list := fs.Bool("list", false, "list the stored model versions and the changes applied")
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
	var current *matcher.Model // nil: the store's current model
	if *modelPath != "" {
		var err error
		if current, err = loadModel(*modelPath); err != nil {
			return err
		}
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
	switch {
	case *list:
		versions, err := mpi.ModelVersions(db)
		if err != nil {
			return err
		}
		for _, v := range versions {
			mark := " "
			if v.Current {
				mark = "*"
			}
			fmt.Fprintf(stdout, "%s %s\n", mark, v)
		}
		changes, err := mpi.ModelChanges(db)
		if err != nil {
			return err
		}
		for _, c := range changes {
			fmt.Fprintf(stdout, "applied %s: version %d -> %d by %s: %s\n", c.Time.Format(time.RFC3339), c.From, c.To, c.Actor, c.Reason)
		}
		return nil
	case *apply > 0:
		info, err := ix.ApplyModel(*apply, mpi.Actor(*actor), *reason)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "current model: %s; no link was changed, records resolved from now on are decided with it\n", info)
		return nil
	}
	rep, trained, err := trainFromIndex(context.Background(), ix, ix.Model(), *randomPairs, *maxBlock, *examples)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, rep)
	if trained == nil {
		return nil
	}
	info, err := mpi.SaveModel(db, trained, mpi.ModelInfo{Origin: mpi.OriginFitted, Records: ix.Count(), Actor: mpi.System,
		Reason: "proposed by vigie train on a live index", Report: rep}, false, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "proposed as %s, not applied; to apply: vigie train --data DIR --apply %d --actor NAME --reason TEXT\n", info, info.Version)
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
// and calibrates it (mpi.FitModel), then compares, pair by pair among the
// candidate pairs the index scores, the automatic-link decisions of the
// current and the proposed model against the current links: the change
// set, counted, with a few pairs of each kind explained. It changes
// nothing in the index. The proposed model is nil when the index is too
// small to fit one.
func trainFromIndex(ctx context.Context, ix *mpi.Index, current *matcher.Model, randomPairs, maxBlock, examples int) (string, *matcher.Model, error) {
	var recs []vigie.Record
	var ident []vigie.IdentityID
	err := ix.Scan(ctx, func(k vigie.SourceKey, id vigie.IdentityID, rec vigie.Record) error {
		recs = append(recs, rec)
		ident = append(ident, id)
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	trained, frep, err := mpi.FitModel(recs, current, mpi.FitOptions{RandomPairs: randomPairs, MaxBlock: maxBlock, MinRecords: 1000})
	if err != nil {
		return "", nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "trained on %d records of the index\n%s", len(recs), frep)
	if !frep.Fitted {
		return b.String(), nil, nil
	}
	prep := make([]*matcher.Prepared, len(recs))
	for i := range recs {
		prep[i], _ = matcher.Prepare(&recs[i])
	}
	set := matcher.NewPairSet(prep, nil, maxBlock)
	pop := max(len(recs), 10000)
	oldModel, newModel := current.WithPopulation(pop), trained.WithPopulation(pop)
	var linkedPairs, keep, lose, gain, crossAuto int
	var loseEx, gainEx []string
	explain := func(i, j int32, o, n matcher.Score) string {
		var rules []string
		for _, r := range n.Rules {
			rules = append(rules, r.Code)
		}
		var fields []string
		for _, f := range n.Fields {
			if f.Weight != 0 {
				fields = append(fields, fmt.Sprintf("%s %+.1f", f.Field, f.Weight))
			}
		}
		return fmt.Sprintf("  - identities %s and %s: probability %.4f now, %.4f proposed; field weights %s; rules [%s]\n",
			ident[i], ident[j], o.Probability, n.Probability, strings.Join(fields, ", "), strings.Join(rules, " "))
	}
	for k, pr := range set.Pairs {
		if !set.IndexCompared(k, 2) {
			continue
		}
		c := matcher.Compare(prep[pr.I], prep[pr.J])
		o, n := oldModel.Score(&c, set.Freq), newModel.Score(&c, set.Freq)
		if ident[pr.I] == ident[pr.J] {
			linkedPairs++
			switch {
			case n.AutoLink:
				keep++
			case o.AutoLink:
				lose++
				if len(loseEx) < examples {
					loseEx = append(loseEx, explain(pr.I, pr.J, o, n))
				}
			}
		} else if n.AutoLink {
			crossAuto++
			if !o.AutoLink {
				gain++
				if len(gainEx) < examples {
					gainEx = append(gainEx, explain(pr.I, pr.J, o, n))
				}
			}
		}
	}
	fmt.Fprintf(&b, "thresholds now: auto-link %g, review %g; proposed: auto-link %g, review %g; guards: first name %v, birth date %v\n",
		current.AutoLink, current.Review, trained.AutoLink, trained.Review, trained.FirstNameGuard, trained.BirthDateGuard)
	fmt.Fprintf(&b, "change set over the pairs the index compares:\n")
	fmt.Fprintf(&b, "pairs of records in the same identity now: %d; the proposed model would auto-link %d of them, and would dissolve %d that the current model auto-links\n",
		linkedPairs, keep, lose)
	b.WriteString(strings.Join(loseEx, ""))
	fmt.Fprintf(&b, "pairs in different identities the proposed model would auto-link: %d, of which %d links it would add (the current model does not auto-link them)\n", crossAuto, gain)
	b.WriteString(strings.Join(gainEx, ""))
	return b.String(), trained, nil
}
