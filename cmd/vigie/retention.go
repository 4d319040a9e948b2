package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"vigie"
	"vigie/audit"
	"vigie/retention"
)

func init() {
	register(verb{name: "retention report", summary: "list the identities past their legal retention deadline (ids and dates, no names) and the token that confirms their purge", run: runRetentionReport})
	register(verb{name: "retention purge", summary: "remove the identities a retention report listed, confirmed by its token (server stopped): tombstones and audit entries stay", run: runRetentionPurge})
}

func runRetentionReport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("retention report", stderr)
	data := dataFlag(fs, "no server may hold it")
	asOfFlag := fs.String("as-of", "", "the day the deadlines are compared with, YYYY-MM-DD (default: today; a later day previews, its token purges nothing before that day)")
	keyFile := encryptionKeyFlag(fs)
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	asOf := time.Now().UTC()
	if *asOfFlag != "" {
		t, err := time.Parse(time.DateOnly, *asOfFlag)
		if err != nil {
			return usageErr("--as-of %q is not a day (YYYY-MM-DD)", *asOfFlag)
		}
		asOf = t
	}
	db, err := openOffline(*data, *keyFile)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := retention.Build(db, asOf)
	if err != nil {
		return err
	}
	printRetentionReport(stdout, *data, rep)
	return nil
}

func printRetentionReport(w io.Writer, data string, rep *retention.Report) {
	day := rep.AsOf.Format(time.DateOnly)
	fmt.Fprintf(w, "retention as of %s: %d live identities checked, %d past their deadline, %d of them held\n",
		day, rep.Identities, len(rep.Past)+len(rep.Held), len(rep.Held))
	line := func(it retention.Item, status string) {
		fmt.Fprintf(w, "%-7s identity %-10s last contact %s  deadline %s  %d records  %d exams  (%s)\n", status, it.ID,
			it.LastContact.Format(time.DateOnly), it.Deadline.Date.Format(time.DateOnly), it.Records, it.Exams, it.Deadline.Rule)
	}
	for _, it := range rep.Past {
		line(it, "purge")
	}
	for _, it := range rep.Held {
		line(it, "held")
		fmt.Fprintf(w, "        held: %s (decide it first)\n", it.Held)
	}
	if len(rep.Past) == 0 {
		fmt.Fprintln(w, "nothing to purge")
		return
	}
	fmt.Fprintf(w, "to remove these %d identities with their records, versions, events and exams (tombstones and audit entries stay), with the service stopped:\n", len(rep.Past))
	fmt.Fprintf(w, "  vigie retention purge --data %s --actor YOUR-NAME --confirm %s\n", data, rep.Token)
	fmt.Fprintf(w, "confirmation token: %s\n", rep.Token)
}

// retentionPurged, when set, is called after each identity's purge
// committed (tests: a crash midway).
var retentionPurged func(vigie.IdentityID)

func runRetentionPurge(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("retention purge", stderr)
	data := dataFlag(fs, "no server may hold it")
	confirm := fs.String("confirm", "", "the confirmation token printed by vigie retention report (required): the purge removes exactly the list it confirmed, and refuses if the list changed")
	actor := fs.String("actor", "", "who confirms the purge (required): recorded in the audit trail, the tombstones and the events")
	keyFile := encryptionKeyFlag(fs)
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	switch {
	case *data == "":
		return usageErr("--data DIR is required")
	case *confirm == "":
		return usageErr("--confirm TOKEN is required: run vigie retention report, read the list, then confirm it with the token it prints")
	case *actor == "":
		return usageErr("--actor NAME is required: who confirms the purge")
	}
	if _, err := retention.ParseToken(*confirm); err != nil {
		return usageErr("--confirm: %v", err)
	}
	db, err := openOffline(*data, *keyFile)
	if err != nil {
		return err
	}
	defer db.Close()
	trail, err := audit.Open(db)
	if err != nil {
		return err
	}
	defer trail.Close()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	res, err := retention.Purge(context.Background(), db, retention.PurgeOptions{Token: *confirm, Actor: *actor, Trail: trail, Log: log, Purged: retentionPurged})
	if err != nil {
		return err
	}
	c := res.Counts
	resumed := ""
	if res.Resumed {
		resumed = ", resumed"
	}
	fmt.Fprintf(stdout, "retention purge %s (as of %s%s): %d identities in the run, %d purged now, %d purged before, %d kept\n",
		res.Run.Token, res.Run.AsOf, resumed, len(res.Run.IDs), res.Purged, res.Before, len(res.Kept))
	fmt.Fprintf(stdout, "removed now: %d records, %d versions, %d exams, %d dose alerts, %d events (%d others rewritten without the records), %d reviews, %d retired identities, %d distinct marks\n",
		c.Records, c.Versions, c.Exams, c.Alerts, c.EventsRemoved, c.EventsRedacted, c.Reviews, c.Retired, c.Distinct)
	for _, id := range res.Kept {
		fmt.Fprintf(stdout, "kept identity %s: a contact since the report, or a review pending\n", id)
	}
	fmt.Fprintln(stdout, "the search index drops them when vigie serve next starts (or run vigie verify, which catches it up)")
	return nil
}
