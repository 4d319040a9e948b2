package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"vigie/dosimetry"
	"vigie/ledger"
	"vigie/mpi"
	"vigie/rpc"
	"vigie/store"
)

func init() {
	register(verb{name: "nrd evaluate", summary: "NRD evaluations per site, device and exam type over a period (median, quartiles, validity)", run: runNRDEvaluate})
	register(verb{name: "nrd export", summary: "write the IRSN per-patient file (CSV) of one valid NRD survey", run: runNRDExport})
	register(verb{name: "nrd table", summary: "show the NRD table, check a completed one (--nrd) or write the shipped one (--write)", run: runNRDTable})
}

// analyticsFlags are the flags every dose-analytics verb shares.
type analyticsFlags struct {
	data, table, nrd *string
}

func addAnalyticsFlags(fs *flag.FlagSet) analyticsFlags {
	return analyticsFlags{
		data:  dataFlag(fs, ""),
		table: fs.String("table", "", "exam-type mapping table (JSON; default: the shipped table, see vigie exam-types)"),
		nrd:   fs.String("nrd", "", "the site's NRD file, completing or correcting the shipped table (JSON; see vigie nrd table)"),
	}
}

// addTableFlags is addAnalyticsFlags for a verb that reads the tables
// alone unless --data is given (vigie exam-types): no default store.
func addTableFlags(fs *flag.FlagSet) analyticsFlags {
	return analyticsFlags{
		data:  fs.String("data", "", dataUsage("optional: with it, the verb reads that store's ledger")),
		table: fs.String("table", "", "exam-type mapping table (JSON; default: the shipped table, see vigie exam-types)"),
		nrd:   fs.String("nrd", "", "the site's NRD file, completing or correcting the shipped table (JSON; see vigie nrd table)"),
	}
}

// tables loads the mapping and NRD tables the flags name, or the shipped
// ones, and checks they agree.
func (a analyticsFlags) tables() (*dosimetry.Table, *dosimetry.NRDTable, error) {
	tab, err := loadFlagFile("table", *a.table, dosimetry.DefaultTable, dosimetry.LoadTable)
	if err != nil {
		return nil, nil, err
	}
	nrd, err := loadNRD(*a.nrd)
	if err != nil {
		return nil, nil, err
	}
	if err := nrd.CheckTypes(tab); err != nil {
		return nil, nil, fmt.Errorf("NRD table and mapping table disagree: %w", err)
	}
	return tab, nrd, nil
}

// openStore opens the store named by --data.
func (a analyticsFlags) openStore() (*store.DB, error) {
	if *a.data == "" {
		return nil, usageErr("--data DIR is required")
	}
	if _, err := os.Stat(*a.data); err != nil {
		return nil, usageErr("--data: %v", err)
	}
	return openStore(*a.data, store.Options{})
}

// evaluate runs the survey query over the store with the flags' tables,
// taking sex (and age when the DICOM header gives none) from the patient
// index when fromIndex.
func (a analyticsFlags) evaluate(q dosimetry.Query, fromIndex bool) (evs []*dosimetry.Evaluation, err error) {
	tab, nrd, err := a.tables()
	if err != nil {
		return nil, err
	}
	db, err := a.openStore()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ev := &dosimetry.Evaluator{Types: tab, NRD: nrd}
	if fromIndex {
		finish, ferr := useDemographics(db, ev)
		if ferr != nil {
			return nil, ferr
		}
		defer finish(&err)
	}
	return ev.Evaluate(context.Background(), ledger.Open(db), q)
}

// loadNRD returns the shipped NRD table completed or corrected by the
// site's file at path (none when path is empty); the file's figures are
// cited as coming from it.
func loadNRD(path string) (*dosimetry.NRDTable, error) {
	return loadFlagFile("nrd", path, dosimetry.DefaultNRD, func(r io.Reader) (*dosimetry.NRDTable, error) {
		return dosimetry.DefaultNRD().WithSiteFile(r, filepath.Base(path))
	})
}

func addQueryFlags(fs *flag.FlagSet) *dosimetry.Query {
	q := &dosimetry.Query{}
	fs.StringVar(&q.Site, "site", "", "assigning authority of the site (default: every site)")
	fs.StringVar(&q.Device, "device", "", "device as evaluations name it (default: every device)")
	fs.StringVar(&q.ExamType, "exam-type", "", "exam type code (default: every exam type)")
	fs.StringVar(&q.From, "from", "", "first exam date, YYYY-MM-DD")
	fs.StringVar(&q.To, "to", "", "last exam date, YYYY-MM-DD")
	fs.Func("population", "adult (default) or child", func(s string) error {
		q.Population = dosimetry.Population(s)
		return nil
	})
	return q
}

func runNRDEvaluate(args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlagSet("nrd evaluate", stderr)
	af := addAnalyticsFlags(fs)
	q := addQueryFlags(fs)
	asJSON := fs.Bool("json", false, "write the evaluations as JSON (with the per-patient records)")
	fromIndex := fs.Bool("patient-index", true, "take sex, and age when the DICOM header gives none, from the patient index")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	evs, err := af.evaluate(*q, *fromIndex)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(evs)
	}
	printEvaluations(stdout, evs)
	return nil
}

// printEvaluations writes evaluations as text, one block each.
func printEvaluations(w io.Writer, evs []*dosimetry.Evaluation) {
	if len(evs) == 0 {
		fmt.Fprintln(w, "no exam matches the query")
		return
	}
	for _, e := range evs {
		status := "VALID"
		if !e.Valid {
			status = "NOT VALID: " + strings.Join(e.Reasons, "; ")
		}
		pop := string(e.Population)
		if e.Class != "" {
			pop += " " + e.Class
		}
		fmt.Fprintf(w, "%s | %s | %s (%s) | %s | %s to %s | %d patients | %s\n", e.Site, e.Device, e.Label, e.ExamType,
			pop, orAll(e.From), orAll(e.To), e.Patients, status)
		tw := newTable(w)
		fmt.Fprintln(tw, "  indicator\tunit\tn\tQ1\tmedian\tQ3\tNRD\tVGD\tcomparison\tsource")
		for _, s := range e.Stats {
			cmp := "below the guide value"
			switch {
			case s.NRD == nil:
				cmp = "no NRD for this exam type (" + s.Note + ")"
			case s.AboveNRD:
				cmp = "MEDIAN ABOVE THE NRD: corrective action required"
			case s.AboveVGD:
				cmp = "between VGD and NRD: optimisation possible"
			case s.VGD == nil:
				cmp = "below the NRD"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Indicator, s.Unit, s.N, g(s.Q1), g(s.Median), g(s.Q3), gp(s.NRD), gp(s.VGD), cmp, s.Source)
		}
		tw.Flush()
		for why, n := range e.Excluded {
			fmt.Fprintf(w, "  left out: %d (%s)\n", n, why)
		}
		fmt.Fprintln(w)
	}
}

func orAll(d string) string {
	if d == "" {
		return "…"
	}
	return d
}

func g(f float64) string { return fmt.Sprintf("%.4g", f) }

func gp(f *float64) string {
	if f == nil {
		return "–"
	}
	return g(*f)
}

func runNRDExport(args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlagSet("nrd export", stderr)
	af := addAnalyticsFlags(fs)
	q := addQueryFlags(fs)
	out := fs.String("out", "", "file to write (default: standard output)")
	class := fs.String("class", "", "paediatric class of a child survey, as nrd evaluate names it (\"1–5 ans\")")
	fromIndex := fs.Bool("patient-index", true, "take sex, and age when the DICOM header gives none, from the patient index (the ledger keeps neither)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if q.Site == "" || q.ExamType == "" || q.From == "" || q.To == "" {
		return usageErr("--site, --exam-type, --from and --to are required: a survey is one site, device and exam type over a period")
	}
	evs, err := af.evaluate(*q, *fromIndex)
	if err != nil {
		return err
	}
	if *class != "" {
		evs = slices.DeleteFunc(evs, func(e *dosimetry.Evaluation) bool { return e.Class != *class })
	}
	switch {
	case len(evs) == 0:
		return usageErr("no exam of %s at %s between %s and %s", q.ExamType, q.Site, q.From, q.To)
	case len(evs) > 1:
		var devs []string
		for _, e := range evs {
			d := fmt.Sprintf("%q", e.Device)
			if e.Class != "" {
				d += " (" + e.Class + ")"
			}
			devs = append(devs, d)
		}
		return usageErr("the query selects %d surveys, name one device with --device (a paediatric class is exported with --class): %s", len(evs), strings.Join(devs, ", "))
	}
	for _, s := range evs[0].Stats {
		if s.NRD == nil {
			// The IRSN file has no place for it: say it beside the file.
			fmt.Fprintf(stderr, "note: %s, %s: no NRD for this exam type (%s); the file is written, IRSN collects the data all the same\n", evs[0].Label, s.Indicator, s.Note)
		}
	}
	// The IRSN file lists the survey's patients (dose, age, sex): a read
	// of patient data, audited before it is written.
	if err := auditNRDExport(af, *q); err != nil {
		return err
	}
	// Check validity before creating the file, so that a refused survey
	// leaves nothing behind.
	if *out != "" && !evs[0].Valid {
		return dosimetry.WriteIRSN(io.Discard, evs[0])
	}
	w, closeOut, err := createOutput(*out, stdout)
	if err != nil {
		return err
	}
	defer closeOut()
	if err := dosimetry.WriteIRSN(w, evs[0]); err != nil {
		return err
	}
	return closeOut()
}

// useDemographics has ev read the survey patients' sex and age from the
// patient index kept in db. The returned finish closes the index and, when
// *err is nil, reports there the first lookup that failed.
func useDemographics(db *store.DB, ev *dosimetry.Evaluator) (finish func(err *error), _ error) {
	ix, err := mpi.Open(db, nil, mpi.Options{})
	if err != nil {
		return nil, fmt.Errorf("patient index: %w", err)
	}
	demo := rpc.NewMPIDemographics(context.Background(), ix)
	ev.Sex, ev.Age = demo.Sex, demo.Age
	return func(err *error) {
		ix.Close()
		if *err == nil {
			*err = demo.Err()
		}
	}, nil
}

func runNRDTable(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("nrd table", stderr)
	nrdFile := fs.String("nrd", "", "check the site's NRD file and show the shipped table it completes or corrects")
	write := fs.String("write", "", "write the shipped NRD table to this file, for the physicist to complete")
	force := fs.Bool("force", false, "with --write, overwrite an existing file")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *write != "" {
		return writeNew(*write, dosimetry.DefaultNRDJSON(), *force)
	}
	nrd, err := loadNRD(*nrdFile)
	if err != nil {
		return err
	}
	if *nrdFile != "" {
		if err := nrd.CheckTypes(dosimetry.DefaultTable()); err != nil {
			fmt.Fprintf(stderr, "warning: %v (load a mapping table declaring it with --table in the other verbs)\n", err)
		}
	}
	fmt.Fprintf(stdout, "%s\n%s; %s\n", nrd.Source.Decision, nrd.Source.Approval, nrd.Source.Journal)
	fmt.Fprintf(stdout, "survey: at least %d adults or %d children (adult from %v years)\n\n", nrd.Survey.MinAdults, nrd.Survey.MinChildren, nrd.Survey.AdultAge)
	tw := newTable(stdout)
	fmt.Fprintln(tw, "exam type\tpopulation\tindicator\tunit\tNRD\tVGD\tsource or note")
	for _, e := range nrd.Entries {
		pop := string(e.Population)
		if c := e.Class(); c != "" {
			pop += " " + c
		}
		why := e.Cited(nrd)
		if e.NRD == nil {
			why = "no NRD for this exam type: " + e.Note
			if e.Origin() != "" {
				why += " (fichier du site " + e.Origin() + ")"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ExamType, pop, e.Indicator, e.Unit, gp(e.NRD), gp(e.VGD), why)
	}
	return tw.Flush()
}

// writeNew writes b to path, refusing to overwrite an existing file unless
// force is set.
func writeNew(path string, b []byte, force bool) error {
	mode := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		mode = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, mode, 0o644)
	if err != nil {
		return usageErr("%v (use --force to overwrite)", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// auditNRDExport records the export of a survey's per-patient file in the
// store's audit trail (see operatorRead).
func auditNRDExport(af analyticsFlags, q dosimetry.Query) error {
	db, err := af.openStore()
	if err != nil {
		return err
	}
	defer db.Close()
	return operatorRead{Verb: "nrd export", What: fmt.Sprintf("IRSN per-patient file: %s at %s, device %q, %s to %s", q.ExamType, q.Site, q.Device, q.From, q.To)}.recordIn(db)
}
