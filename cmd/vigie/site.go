package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"vigie"
	"vigie/sites"
)

func init() {
	register(verb{name: "site add", summary: "register an establishment: its authority (OID) and the name shown everywhere instead of it", run: runSiteAdd})
	register(verb{name: "site list", summary: "list the registered establishments", run: runSiteList})
	register(verb{name: "site rename", summary: "change a registered establishment's name", run: runSiteRename})
	register(verb{name: "site remove", summary: "take an establishment out of the registry (its exams stay)", run: runSiteRemove})
}

func runSiteAdd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("site add", stderr)
	data := dataFlag(fs, "created if missing")
	var s sites.Site
	fs.StringVar(&s.Authority, "authority", "", "assigning authority (OID) of the establishment (required)")
	fs.StringVar(&s.Name, "name", "", "the establishment's name, as people read it (required)")
	fs.StringVar(&s.Joined, "joined", "", "day it joined the regional ledger, YYYY-MM-DD")
	var aes, hl7 multiFlag
	fs.Var(&aes, "ae", "DICOM AE title of one of its modalities or PACS; repeatable")
	fs.Var(&hl7, "hl7", "HL7 v2 sending facility id (MSH-4); repeatable")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	s.AETitles, s.HL7Senders = aes, hl7
	db, err := openDataStore(*data, false)
	if err != nil {
		return err
	}
	defer db.Close()
	out, err := sites.Open(db).Add(context.Background(), s)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "site %s registered as %q\n", out.Authority, out.Name)
	return nil
}

func runSiteList(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("site list", stderr)
	data := dataFlag(fs, "")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	db, err := openDataStore(*data, true)
	if err != nil {
		return err
	}
	defer db.Close()
	ss, err := sites.Open(db).List(context.Background())
	if err != nil {
		return err
	}
	tw := newTable(stdout)
	fmt.Fprintln(tw, "authority\tname\tae titles\thl7 senders\tjoined\tnamed by")
	for _, s := range ss {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Authority, s.Name, orDash(strings.Join(s.AETitles, ",")),
			orDash(strings.Join(s.HL7Senders, ",")), orDash(s.Joined), s.Source)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d sites\n", len(ss))
	return nil
}

func runSiteRename(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("site rename", stderr)
	data := dataFlag(fs, "")
	authority := fs.String("authority", "", "assigning authority (OID) of the establishment (required)")
	name := fs.String("name", "", "its new name (required)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *authority == "" {
		return vigie.Invalid("authority", "required")
	}
	db, err := openDataStore(*data, true)
	if err != nil {
		return err
	}
	defer db.Close()
	s, err := sites.Open(db).Rename(context.Background(), *authority, *name)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "site %s renamed %q\n", s.Authority, s.Name)
	return nil
}

func runSiteRemove(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("site remove", stderr)
	data := dataFlag(fs, "")
	authority := fs.String("authority", "", "assigning authority (OID) of the establishment (required)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *authority == "" {
		return vigie.Invalid("authority", "required")
	}
	db, err := openDataStore(*data, true)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := sites.Open(db).Remove(context.Background(), *authority); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "site %s removed from the registry; its exams are shown as %q\n", *authority, sites.Unknown)
	return nil
}
