package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"vigie/dosimetry"
	"vigie/ledger"
)

func init() {
	register(verb{name: "exam-types", summary: "show the exam-type mapping, write it for editing (--write), or classify the ledger's exams (--data)", run: runExamTypes})
}

func runExamTypes(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("exam-types", stderr)
	af := addTableFlags(fs)
	rules := fs.Bool("rules", false, "also list the rules, in the order they are tried")
	write := fs.String("write", "", "write the shipped mapping table to this file, for the physicist to edit and load with --table")
	force := fs.Bool("force", false, "with --write, overwrite an existing file")
	site := fs.String("site", "", "with --data: only this site's exams")
	top := fs.Int("top", 20, "with --data: how many unmapped descriptions to show")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *write != "" {
		return writeNew(*write, dosimetry.DefaultTableJSON(), *force)
	}
	tab, nrd, err := af.tables()
	if err != nil {
		return err
	}
	if *af.data != "" {
		return classifyLedger(af, tab, *site, *top, stdout)
	}
	fmt.Fprintf(stdout, "mapping table %s: %d exam types, %d rules\n\n", tab.Version, len(tab.Types), len(tab.Rules))
	tw := newTable(stdout)
	fmt.Fprintln(tw, "code\tlabel\tkind\tregion\tNRD entries")
	for _, et := range tab.Types {
		n, with := 0, 0
		for _, e := range nrd.Entries {
			if e.ExamType == et.Code {
				n++
				if e.NRD != nil {
					with++
				}
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d (%d with a value)\n", et.Code, et.Label, et.Kind, et.Region, n, with)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if *rules {
		fmt.Fprintln(stdout)
		for i, r := range tab.Rules {
			var conds []string
			if len(r.Modalities) > 0 {
				conds = append(conds, "modality "+strings.Join(r.Modalities, "|"))
			}
			for _, g := range r.Keywords {
				conds = append(conds, "("+strings.Join(g, " | ")+")")
			}
			if len(r.Exclude) > 0 {
				conds = append(conds, "not ("+strings.Join(r.Exclude, " | ")+")")
			}
			if r.Regex != "" {
				conds = append(conds, "regex /"+r.Regex+"/")
			}
			if len(r.TargetRegions) > 0 {
				conds = append(conds, "target region "+strings.Join(r.TargetRegions, "|"))
			}
			fmt.Fprintf(stdout, "%3d  %-26s %s\n", i, r.ExamType, strings.Join(conds, " AND "))
		}
	}
	return nil
}

// classifyLedger counts the ledger's exams per exam type and lists the
// most frequent unmapped descriptions, for the physicist tuning the rules.
func classifyLedger(af analyticsFlags, tab *dosimetry.Table, site string, top int, w io.Writer) error {
	db, err := af.openStore()
	if err != nil {
		return err
	}
	defer db.Close()
	counts := map[string]int{}
	unmapped := map[string]int{}
	total := 0
	err = ledger.Open(db).Each(context.Background(), func(e *ledger.Entry) error {
		if e.Excluded() || (site != "" && e.Exam.Key.Authority != site) {
			return nil
		}
		total++
		m := tab.Classify(&e.Exam)
		switch m.ExamType {
		case "":
			counts["(unmapped)"]++
			unmapped[e.Exam.Modality+"  "+m.Text]++
		default:
			counts[m.ExamType]++
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d exams\n", total)
	printCounts(w, counts, len(counts))
	if len(unmapped) > 0 {
		fmt.Fprintf(w, "\nmost frequent unmapped (modality, folded text):\n")
		printCounts(w, unmapped, top)
	}
	return nil
}

func printCounts(w io.Writer, m map[string]int, top int) {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		if m[ks[i]] != m[ks[j]] {
			return m[ks[i]] > m[ks[j]]
		}
		return ks[i] < ks[j]
	})
	for i, k := range ks {
		if i >= top {
			break
		}
		fmt.Fprintf(w, "%8d  %s\n", m[k], k)
	}
}
