package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"vigie"
	"vigie/audit"
	"vigie/auth"
	"vigie/dosimetry"
	"vigie/ledger"
	"vigie/sites"
)

func init() {
	register(verb{name: "history", summary: "print a patient's dose history, the regional synthesis in French (text, or printable HTML with --html)", run: runHistory})
}

func runHistory(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("history", stderr)
	data := dataFlag(fs, "")
	html := fs.Bool("html", false, "the printable French document (HTML) with cumulative totals and the effective-dose estimate")
	withCode := fs.Bool("access-code", false, "with --html: make a patient access code (valid 72 hours) and print it in a box, for the patient to pass on")
	nmFile := nmCoefficientsFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	nm, err := loadNMCoefficients(*nmFile)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErr("give one identity id")
	}
	if *withCode && !*html {
		return usageErr("--access-code goes with --html")
	}
	id, err := vigie.ParseIdentityID(fs.Arg(0))
	if err != nil {
		return err
	}
	ctx := context.Background()
	db, ix, closeIndex, err := openIndex(*data, false, 0)
	if err != nil {
		return err
	}
	defer closeIndex()
	ident, err := ix.Get(ctx, id)
	if err != nil {
		return err
	}
	keys := ident.Members
	read := operatorRead{Verb: "history", What: "dose history of identity " + id.String(), Identities: []string{ident.ID.String()}}
	if *withCode {
		read.What += ", with a new patient access code"
	}
	for _, k := range keys {
		read.Records = append(read.Records, audit.Record{Authority: k.Authority, LocalID: k.LocalID})
	}
	if err := read.recordIn(db); err != nil {
		return err
	}
	if ident.ID != id {
		fmt.Fprintf(stderr, "identity %s was merged into %s\n", id, ident.ID)
	}
	es, err := ledger.Open(db).Exams(ctx, keys)
	if err != nil {
		return err
	}
	names, err := sites.Open(db).Names(ctx)
	if err != nil {
		return err
	}
	g := ident.Golden
	doc := dosimetry.NewHistoryDocument(dosimetry.PatientBlock{BirthName: g.BirthName, UsedName: g.UsedName, FirstNames: g.FirstNames,
		BirthDate: g.BirthDate, Sex: g.Sex}, es, names, dosimetry.DefaultTable(), doseCoefficients(nm), time.Now())
	if *html {
		if *withCode {
			actor, _ := cliActor()
			code, c, err := auth.NewAccess(db).CreateCode(ident.ID.String(), actor, 0)
			if err != nil {
				return err
			}
			doc.AccessCode = &dosimetry.PatientCode{Code: code, Expires: c.Expires.Local()}
		}
		return doc.WriteHTML(stdout)
	}
	return doc.WriteText(stdout)
}
