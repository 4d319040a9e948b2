package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"vigie"
	"vigie/auth"
)

func init() {
	register(verb{name: "audit break-glass", summary: "list the break-the-glass accesses since a date (the weekly report)", run: runAuditBreakGlass})
}

// runAuditBreakGlass prints the break-the-glass accesses from --since on:
// when, who (and its sites), which identity, the patient's sites, the
// operation and the reason stated. On a running server,
// AccessService.ListBreakGlass gives the same list.
func runAuditBreakGlass(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit break-glass", stderr)
	data := dataFlag(fs, "")
	sinceFlag := fs.String("since", "", "first day listed, YYYY-MM-DD, or a duration back from now such as 168h (required)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	since, err := parseSince(*sinceFlag, time.Now())
	if err != nil {
		return err
	}
	db, err := openDataStore(*data, true)
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := auth.NewAccess(db).BreakGlassSince(since, 0, nil)
	if err != nil {
		return err
	}
	read := operatorRead{Verb: "audit break-glass", What: fmt.Sprintf("break-the-glass accesses since %s: %d", since.Format(time.DateOnly), len(list))}
	for _, bg := range list {
		read.Identities = append(read.Identities, bg.Identity)
	}
	if err := read.recordIn(db); err != nil {
		return err
	}
	tw := newTable(stdout)
	fmt.Fprintln(tw, "TIME\tPRINCIPAL\tSITES\tIDENTITY\tPATIENT SITES\tOPERATION\tREASON")
	for _, bg := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", bg.Time.Format(time.RFC3339), bg.Principal, orDash(strings.Join(bg.Authorities, ",")),
			bg.Identity, orDash(strings.Join(bg.PatientAuthorities, ",")), strings.TrimPrefix(bg.Operation, "/vigie.v1."), bg.Reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d break-the-glass access(es) since %s\n", len(list), since.Format(time.RFC3339))
	return nil
}

// parseSince reads a date (YYYY-MM-DD, local midnight UTC) or a duration
// back from now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, vigie.Invalid("since", "required (YYYY-MM-DD or a duration such as 168h)")
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, vigie.Invalid("since", "%q is neither YYYY-MM-DD nor a positive duration", s)
}
