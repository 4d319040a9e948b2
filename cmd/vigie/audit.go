package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"vigie"
	"vigie/rpc/audit"
)

func init() {
	register(verb{name: "audit", summary: "list audit entries of an identity (--identity), a source record (--authority, --local-id) or a user (--user)", run: runAudit})
	register(verb{name: "audit verify", summary: "check the audit trail's hash chain", run: runAuditVerify})
}

func runAudit(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit", stderr)
	data := fs.String("data", "./vigie-data", "folder of the Badger store")
	identity := fs.String("identity", "", "list the entries that touched this identity: who looked at this patient")
	user := fs.String("user", "", "list the entries of this principal (API key name or OIDC subject)")
	authority := fs.String("authority", "", "with --local-id: list the entries that touched this source record")
	localID := fs.String("local-id", "", "with --authority: the source record's local identifier")
	limit := fs.Int("limit", 100, "at most this many entries, newest first (0: all)")
	asJSON := fs.Bool("json", false, "one JSON object per line instead of a table")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q (did you mean `vigie audit verify`?)", fs.Arg(0))
	}
	record := *authority != "" || *localID != ""
	if record && (*authority == "" || *localID == "") {
		return vigie.Invalid("local-id", "a source record needs both --authority and --local-id")
	}
	given := 0
	for _, b := range []bool{*identity != "", *user != "", record} {
		if b {
			given++
		}
	}
	if given != 1 {
		return vigie.Invalid("identity", "give exactly one of --identity, --user, or --authority with --local-id")
	}
	if *limit < 0 {
		return vigie.Invalid("limit", "must be 0 or more, got %d", *limit)
	}
	db, err := openDataStore(*data, true)
	if err != nil {
		return err
	}
	defer db.Close()
	trail, err := audit.Open(db)
	if err != nil {
		return err
	}
	defer trail.Close()
	var entries []audit.Entry
	switch {
	case *identity != "":
		entries, err = trail.ByIdentity(*identity, *limit)
	case *user != "":
		entries, err = trail.ByUser(*user, *limit)
	default:
		entries, err = trail.ByRecord(audit.Record{Authority: *authority, LocalID: *localID}, *limit)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, e := range entries {
			if err := enc.Encode(entryJSON(e)); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tPRINCIPAL\tROLE\tAUTHORITIES\tOPERATION\tRESULT\tPURPOSE\tIDENTITIES\tRECORDS")
	for _, e := range entries {
		var recs []string
		for _, r := range e.Records {
			recs = append(recs, r.Authority+"/"+r.LocalID)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.Format(time.RFC3339), e.Principal, orDash(e.Role),
			orDash(strings.Join(e.Authorities, ",")), e.Operation, e.Result, orDash(e.Purpose),
			orDash(strings.Join(e.Identities, ",")), orDash(strings.Join(recs, ",")))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(entries) == 0 {
		fmt.Fprintln(stdout, "(no entries)")
	}
	return nil
}

// entryJSON is the --json form of an entry.
func entryJSON(e audit.Entry) any {
	return struct {
		Seq         uint64         `json:"seq"`
		Time        time.Time      `json:"time"`
		Principal   string         `json:"principal"`
		Role        string         `json:"role,omitempty"`
		Authorities []string       `json:"authorities,omitempty"`
		Operation   string         `json:"operation"`
		Identities  []string       `json:"identities,omitempty"`
		Records     []audit.Record `json:"records,omitempty"`
		Purpose     string         `json:"purpose,omitempty"`
		Result      string         `json:"result"`
		Client      string         `json:"client,omitempty"`
		Credential  string         `json:"credential,omitempty"`
		Hash        string         `json:"hash"`
	}{e.Seq, e.Time, e.Principal, e.Role, e.Authorities, e.Operation, e.Identities, e.Records, e.Purpose, e.Result, e.Client, e.Credential, hex.EncodeToString(e.Hash)}
}

func runAuditVerify(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit verify", stderr)
	data := fs.String("data", "./vigie-data", "folder of the Badger store")
	head := fs.String("head", "", "a head printed by an earlier verify (\"SEQ HASH\" or SEQ:HASH): check that the trail still holds it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	var wantSeq uint64
	var wantHash []byte
	if *head != "" {
		f := strings.FieldsFunc(*head, func(r rune) bool { return r == ' ' || r == ':' })
		var err error
		if len(f) == 2 {
			wantHash, err = hex.DecodeString(f[1])
			if err == nil {
				_, err = fmt.Sscan(f[0], &wantSeq)
			}
		}
		if len(f) != 2 || err != nil || len(wantHash) != 32 || wantSeq == 0 {
			return vigie.Invalid("head", "%q is not SEQ:HASH as verify prints it (a sequence and 64 hex digits)", *head)
		}
	}
	db, err := openDataStore(*data, true)
	if err != nil {
		return err
	}
	defer db.Close()
	trail, err := audit.Open(db)
	if err != nil {
		return err
	}
	defer trail.Close()
	rep, err := trail.Verify()
	if err != nil {
		return err
	}
	if rep.Broken != nil {
		return fmt.Errorf("audit trail broken: %w (the %d entries before it are intact)", rep.Broken, rep.Entries)
	}
	if wantSeq > 0 {
		if wantSeq > rep.Entries {
			return fmt.Errorf("audit trail truncated: it ends at entry %d, but entry %d was recorded earlier", rep.Entries, wantSeq)
		}
		e, err := trail.Get(wantSeq)
		if err != nil {
			return err
		}
		if !bytes.Equal(e.Hash, wantHash) {
			return fmt.Errorf("audit trail rewritten: entry %d no longer has the hash recorded earlier", wantSeq)
		}
		fmt.Fprintf(stdout, "recorded head %d found unchanged\n", wantSeq)
	}
	fmt.Fprintf(stdout, "audit trail intact: %d entries\n", rep.Entries)
	fmt.Fprintf(stdout, "head: %d:%s (record it elsewhere; verify --head checks it later, detecting entries removed from the end)\n", rep.Entries, hex.EncodeToString(rep.Head))
	return nil
}
