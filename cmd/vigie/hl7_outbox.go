package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"vigie"
	"vigie/hl7"
	"vigie/ledger"
	"vigie/sites"
	"vigie/store"
)

func init() {
	register(verb{name: "hl7 subscriber add", summary: "subscribe a system to the HL7 v2 notifications of identity changes (ADT^A28/A31/A40 over MLLP), and with --dose to the exams' dose reports (ORU^R01); server stopped", run: runHL7SubscriberAdd})
	register(verb{name: "hl7 subscriber list", summary: "list the systems subscribed to the HL7 v2 notifications", run: runHL7SubscriberList})
	register(verb{name: "hl7 subscriber remove", summary: "unsubscribe a system; the messages it did not acknowledge are dropped (server stopped)", run: runHL7SubscriberRemove})
	register(verb{name: "hl7 backfill", summary: "queue for a dose subscriber the dose reports (ORU^R01) of the exams already in the ledger, those it was never sent (server stopped: vigie serve sends them); --status shows each backfill", run: runHL7Backfill})
	register(verb{name: "hl7 outbox", summary: "show each subscriber's queue of HL7 v2 notifications (pending, oldest, last error); --replay sends the failed ones again at once", run: runHL7Outbox})
}

func runHL7SubscriberAdd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("hl7 subscriber add", stderr)
	data := dataFlag(fs, "")
	var s hl7.Subscriber
	fs.StringVar(&s.Name, "name", "", "the subscriber's name, also MSH-5 and MSH-6 of its messages: letters, digits, _ - . (required)")
	fs.StringVar(&s.Addr, "addr", "", "its MLLP listener, host:port (required)")
	fs.BoolVar(&s.TLS, "tls", false, "connect in TLS (its certificate checked against the system's roots)")
	fs.StringVar(&s.RegionalOID, "regional-oid", "", "assigning authority (OID) of the regional identifiers in PID-3 and MRG-1 (required)")
	fs.BoolVar(&s.Dose, "dose", false, "also send it the dose report of every exam (ORU^R01: one observation per figure and a French text block for the exam report; corrected when the exam's figures change)")
	fs.StringVar(&s.Authority, "authority", "", "with --dose: the OID of the establishment whose patient identifiers (IPP) it knows, put first in PID-3")
	backfill := fs.Bool("backfill", true, "with --dose: also queue the dose reports of the exams already in the ledger (see vigie hl7 backfill); --backfill=false: only the exams whose figures change from now on")
	bfSite := fs.String("backfill-site", "", "the establishment (OID) whose exams the backfill covers (default: --authority's, or every establishment without --authority; \"all\": every establishment)")
	bfFrom := fs.String("backfill-from", "", "the backfill covers the exams dated from this day only (YYYY-MM-DD)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "backfill" })
	switch {
	case explicit && *backfill && !s.Dose:
		return usageErr("--backfill needs --dose")
	case (!*backfill || !s.Dose) && (*bfSite != "" || *bfFrom != ""):
		return usageErr("--backfill-site and --backfill-from go with --dose (and without --backfill=false)")
	}
	site := *bfSite
	switch site {
	case "":
		site = strings.TrimSpace(s.Authority)
	case "all":
		site = ""
	}
	db, ix, closeIx, err := openIndex(*data, false, 0)
	if err != nil {
		return err
	}
	defer closeIx()
	ob := &hl7.Outbox{Index: ix, DB: db, Ledger: ledger.Open(db)}
	out, err := ob.AddSubscriber(context.Background(), s)
	if err != nil {
		return err
	}
	tls := ""
	if out.TLS {
		tls = " (TLS)"
	}
	dose := ""
	if out.Dose {
		dose = " and the dose reports of the exams stored"
	}
	fmt.Fprintf(stdout, "subscriber %s added: %s%s; it receives the changes%s from now on\n", out.Name, out.Addr, tls, dose)
	if *backfill && out.Dose {
		return requestBackfill(ob, db, out.Name, site, *bfFrom, stdout)
	}
	return nil
}

// requestBackfill asks for a subscriber's backfill and says what it covers.
func requestBackfill(ob *hl7.Outbox, db *store.DB, name, site, from string, stdout io.Writer) error {
	ctx := context.Background()
	b, err := ob.RequestBackfill(ctx, name, site, from, "cli")
	if err != nil {
		return err
	}
	rows, err := ob.Ledger.RowsAfter(ctx, b.Site, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rattrapage des comptes rendus de dose demandé pour %s : %s, %d examen(s) du registre à parcourir ; "+
		"vigie serve met en file ceux que %s n'a jamais reçus et les envoie (vigie hl7 backfill --status)\n",
		name, backfillScope(sites.Open(db), b), rows, name)
	return nil
}

// backfillScope says in French what a backfill covers, the site by its
// name.
func backfillScope(reg *sites.Registry, b hl7.Backfill) string {
	scope := "tous les établissements"
	if b.Site != "" {
		names, _ := reg.Names(context.Background())
		scope = "établissement " + names.Of(b.Site)
	}
	if b.From != "" {
		if t, err := time.Parse(time.DateOnly, b.From); err == nil {
			scope += ", examens depuis le " + t.Format("02/01/2006")
		}
	}
	return scope
}

func runHL7Backfill(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("hl7 backfill", stderr)
	data := dataFlag(fs, "")
	name := fs.String("name", "", "the subscriber (one added with --dose)")
	site := fs.String("site", "", "only the exams of this establishment (OID)")
	from := fs.String("from", "", "only the exams dated from this day (YYYY-MM-DD)")
	status := fs.Bool("status", false, "show each subscriber's backfill: rows read and left, reports queued, exams passed over, reports awaiting their acknowledgement")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *status == (*name != "") {
		return usageErr("give --name (ask for a backfill) or --status (show them)")
	}
	if *status && (*site != "" || *from != "") {
		return usageErr("--site and --from go with --name")
	}
	db, ix, closeIx, err := openIndex(*data, false, 0)
	if err != nil {
		return err
	}
	defer closeIx()
	ob := &hl7.Outbox{Index: ix, DB: db, Ledger: ledger.Open(db)}
	if *name != "" {
		return requestBackfill(ob, db, *name, *site, *from, stdout)
	}
	vs, err := ob.Backfills(context.Background())
	if err != nil {
		return err
	}
	printBackfills(stdout, sites.Open(db), vs)
	fmt.Fprintf(stderr, "%d rattrapage(s)\n", len(vs))
	return nil
}

// printBackfills writes the backfills' table, in French.
func printBackfills(w io.Writer, reg *sites.Registry, vs []hl7.BackfillView) {
	tw := newTable(w)
	fmt.Fprintln(tw, "abonné\tportée\tdemandé le\tlignes lues\treste à lire\tmis en file\tdéjà reçus\tlaissés à la file courante\tretenus (identité masquée)\tsans dose\ten attente d'accusé\tétat")
	for _, v := range vs {
		state := "en cours"
		if !v.Done.IsZero() {
			state = "terminé le " + v.Done.Local().Format("02/01/2006 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", v.Subscriber, backfillScope(reg, v.Backfill),
			v.Requested.Local().Format("02/01/2006 15:04"), v.Rows, v.RowsLeft, v.Queued, v.AlreadySent, v.Waiting, v.Withheld, v.Empty, v.DosePending, state)
	}
	tw.Flush()
}

func runHL7SubscriberList(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("hl7 subscriber list", stderr)
	data := dataFlag(fs, "")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	db, err := openDataStore(*data, true)
	if err != nil {
		return err
	}
	defer db.Close()
	subs, err := (&hl7.Outbox{DB: db}).Subscribers(context.Background())
	if err != nil {
		return err
	}
	tw := newTable(stdout)
	fmt.Fprintln(tw, "name\taddress\ttls\tregional authority\tdose reports\tadded")
	for _, s := range subs {
		dose := "no"
		if s.Dose {
			dose = "yes"
			if s.Authority != "" {
				dose += " (IPP of " + s.Authority + ")"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\t%s\n", s.Name, s.Addr, s.TLS, s.RegionalOID, dose, s.Added.Format(time.DateTime))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d subscribers\n", len(subs))
	return nil
}

func runHL7SubscriberRemove(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("hl7 subscriber remove", stderr)
	data := dataFlag(fs, "")
	name := fs.String("name", "", "the subscriber's name (required)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return vigie.Invalid("name", "required")
	}
	db, err := openDataStore(*data, true)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := (&hl7.Outbox{DB: db}).RemoveSubscriber(context.Background(), *name)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "subscriber %s removed; %d messages it had not acknowledged dropped\n", *name, n)
	return nil
}

func runHL7Outbox(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("hl7 outbox", stderr)
	data := dataFlag(fs, "")
	replay := fs.Bool("replay", false, "clear the failures of the pending messages (of --name, or of every subscriber): the next start of vigie serve sends them at once, in order")
	name := fs.String("name", "", "one subscriber only; with --list, its pending messages one per line")
	list := fs.Int("list", 0, "also list up to N pending messages of --name (ids, kind, attempts, last error; no names)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *list > 0 && *name == "" {
		return usageErr("--list needs --name")
	}
	db, ix, closeIx, err := openIndex(*data, false, 0)
	if err != nil {
		return err
	}
	defer closeIx()
	ctx := context.Background()
	o := &hl7.Outbox{Index: ix, DB: db, Ledger: ledger.Open(db)}
	st, err := o.Status(ctx)
	if err != nil {
		return err
	}
	last, err := ix.LastEvent(ctx)
	if err != nil {
		return err
	}
	found := false
	for _, s := range st {
		if *name != "" && s.Name != *name {
			continue
		}
		found = true
		if *replay {
			n, err := o.Replay(ctx, s.Name)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s: %d pending messages will be sent at the next start, in order\n", s.Name, n)
		}
	}
	if *name != "" && !found {
		return vigie.Errorf(vigie.ENOTFOUND, "no subscriber %s (vigie hl7 subscriber list)", *name)
	}
	if *replay {
		return nil
	}
	tw := newTable(stdout)
	fmt.Fprintln(tw, "subscriber\taddress\tpending\tdose\toldest\tfailing\tevents to read\tlast error")
	for _, s := range st {
		if *name != "" && s.Name != *name {
			continue
		}
		oldest := "-"
		if !s.Oldest.IsZero() {
			oldest = s.Oldest.Local().Format(time.DateTime)
		}
		lastErr := "-"
		if s.LastError != "" {
			lastErr = s.LastTry.Local().Format(time.DateTime) + " " + s.LastError
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%d\t%d\t%s\n", s.Name, s.Addr, s.Pending, s.Dose, oldest, s.Failing, last-min(last, s.Cursor), lastErr)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if dl, err := o.DoseLag(ctx); err != nil {
		return err
	} else if dl.ToQueue > 0 {
		fmt.Fprintf(stdout, "%d exams whose dose report is still to queue (vigie serve queues them)\n", dl.ToQueue)
	}
	vs, err := o.Backfills(ctx)
	if err != nil {
		return err
	}
	for _, v := range vs {
		if v.Done.IsZero() && (*name == "" || v.Subscriber == *name) {
			fmt.Fprintf(stdout, "rattrapage en cours pour %s : %d ligne(s) du registre restent à lire (vigie hl7 backfill --status)\n", v.Subscriber, v.RowsLeft)
		}
	}
	if *list > 0 {
		ps, err := o.PendingOf(ctx, *name, *list)
		if err != nil {
			return err
		}
		tw := newTable(stdout)
		fmt.Fprintln(tw, "\ncontrol id\tmessage\tidentities\tqueued\tattempts\tlast error")
		for _, p := range ps {
			kind := "ADT^" + p.Kind
			if p.Queue == hl7.QueueDose {
				kind = fmt.Sprintf("%s dose report v%d", p.Kind, p.Version)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", p.ControlID, kind, identities(p.Identities), p.Queued.Local().Format(time.DateTime), p.Attempts, orDash(p.LastError))
		}
		return tw.Flush()
	}
	return nil
}

func identities(ids []vigie.IdentityID) string {
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += ","
		}
		s += id.String()
	}
	return s
}
