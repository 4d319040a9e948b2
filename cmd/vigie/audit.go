package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"vigie"
	"vigie/audit"
	"vigie/store"
)

func init() {
	register(verb{name: "audit", summary: "list audit entries of an identity (--identity), a source record (--authority, --local-id) or a user (--user)", run: runAudit})
	register(verb{name: "audit verify", summary: "check the audit trail's hash chain (and, with --anchor, that it still holds the heads anchored by vigie serve)", run: runAuditVerify})
	register(verb{name: "audit export", summary: "write the audit entries since a date as FHIR AuditEvent resources, one JSON per line (NDJSON), for the region's SIEM", run: runAuditExport})
}

// openTrail opens the audit trail of the existing store in data, for the
// verbs that read or export it: a mistyped --data is an error rather than
// a new, empty trail (openDataStore). closeTrail closes the trail, then
// the store.
func openTrail(data string) (trail *audit.Log, closeTrail func(), err error) {
	db, err := openDataStore(data, true)
	if err != nil {
		return nil, nil, err
	}
	if trail, err = audit.Open(db); err != nil {
		db.Close()
		return nil, nil, err
	}
	return trail, func() { trail.Close(); db.Close() }, nil
}

func runAudit(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit", stderr)
	data := dataFlag(fs, "")
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
	trail, closeTrail, err := openTrail(*data)
	if err != nil {
		return err
	}
	defer closeTrail()
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
	// Who looked at a patient is itself patient data: the listing is
	// audited (with the identity or record asked, and those listed).
	read := operatorRead{Verb: "audit", What: fmt.Sprintf("audit entries of %s: %d", auditSubject(*identity, *user, *authority, *localID), len(entries))}
	if *identity != "" {
		read.Identities = []string{*identity}
	}
	if record {
		read.Records = []audit.Record{{Authority: *authority, LocalID: *localID}}
	}
	if err := read.record(trail); err != nil {
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
	tw := newTable(stdout)
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

// auditSubject names what `vigie audit` was asked for.
func auditSubject(identity, user, authority, localID string) string {
	switch {
	case identity != "":
		return "identity " + identity
	case user != "":
		return "user " + user
	}
	return "record " + authority + "/" + localID
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
	data := dataFlag(fs, "")
	head := fs.String("head", "", "a head printed by an earlier verify (\"SEQ HASH\" or SEQ:HASH): check that the trail still holds it")
	anchorFile := fs.String("anchor", "", "the anchor file vigie serve --audit-anchor wrote: check that the trail still holds every head anchored there (a truncated tail, a removed or rewritten entry)")
	reindex := fs.Bool("reindex", false, "rebuild the index of patients and users from the entries first (the repair of a damaged index; the service stopped)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
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
	trail, closeTrail, err := openTrail(*data)
	if err != nil {
		return err
	}
	defer closeTrail()
	if *reindex {
		if err := trail.Reindex(); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "index rebuilt from the entries")
	}
	rep, err := trail.Verify()
	if err != nil {
		return err
	}
	if rep.Broken != nil {
		return fmt.Errorf("audit trail broken: %w (the %d entries before it are intact)", rep.Broken, rep.Entries)
	}
	if *anchorFile != "" {
		f, err := os.Open(*anchorFile)
		if err != nil {
			return vigie.Invalid("anchor", "%v", err)
		}
		anchors, err := audit.ReadAnchors(f)
		f.Close()
		if err != nil {
			return err
		}
		brk, err := trail.VerifyAnchors(anchors)
		if err != nil {
			return err
		}
		if brk != nil {
			return fmt.Errorf("audit trail does not hold its anchored heads: %w", brk)
		}
		fmt.Fprintf(stdout, "%d anchored heads found unchanged\n", len(anchors))
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

// operatorRead is what a CLI verb records before it prints patient data:
// the CLI reads the store directly, so it writes its own audit entry, as
// the API does for every call. The actor is the OS user ("cli:<user>"),
// the basis "operator", the operation the verb, and what was read its
// identities and records (ids only) and a summary without names. The
// entry is written and synced before anything is printed: a read that
// cannot be audited prints nothing.
type operatorRead struct {
	Verb       string         // e.g. "search", "export links"
	What       string         // a summary of what was asked: ids and counts, never names
	Identities []string       // identities printed
	Records    []audit.Record // source records printed
}

// cliActor names the operator running the command.
func cliActor() (actor, credential string) {
	name, uid := "unknown", "?"
	if u, err := user.Current(); err == nil {
		name, uid = u.Username, u.Uid
	}
	return "cli:" + name, "os_user:" + uid
}

// record appends the entry to trail.
func (r operatorRead) record(trail *audit.Log) error {
	actor, cred := cliActor()
	host, _ := os.Hostname()
	ids := r.Identities
	if len(ids) > audit.MaxSubjects {
		r.What += fmt.Sprintf(" (%d identities, the first %d listed)", len(ids), audit.MaxSubjects)
		ids = ids[:audit.MaxSubjects]
	}
	recs := r.Records
	if len(recs) > audit.MaxSubjects {
		r.What += fmt.Sprintf(" (%d records, the first %d listed)", len(recs), audit.MaxSubjects)
		recs = recs[:audit.MaxSubjects]
	}
	if _, err := trail.Append(audit.Entry{Principal: actor, Role: "operator", Operation: "cli: vigie " + r.Verb,
		Identities: ids, Records: recs, Purpose: r.What, Result: "ok", Client: host, Credential: cred, Basis: "operator"}); err != nil {
		return fmt.Errorf("audit: the read could not be recorded, nothing is printed: %w", err)
	}
	return trail.Sync()
}

// recordIn opens the audit trail of db and appends the entry.
func (r operatorRead) recordIn(db *store.DB) error {
	trail, err := audit.Open(db)
	if err != nil {
		return fmt.Errorf("audit: the read could not be recorded, nothing is printed: %w", err)
	}
	defer trail.Close()
	return r.record(trail)
}

// anchorOutside refuses an anchor file inside the data folder: whoever can
// cut the trail's tail there could cut the anchor too.
func anchorOutside(anchor, data string) error {
	a, err1 := filepath.Abs(anchor)
	d, err2 := filepath.Abs(data)
	if err1 != nil || err2 != nil {
		return vigie.Invalid("audit-anchor", "%s: %v", anchor, errors.Join(err1, err2))
	}
	if rel, err := filepath.Rel(d, a); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return vigie.Invalid("audit-anchor", "%s is inside the data folder %s: put it elsewhere (another disk or host), where a cut of the trail does not reach", anchor, data)
	}
	return nil
}

// anchoring appends the trail's head to the anchor file (and to syslog,
// when sys is not nil) every interval in which it moved, and once more
// when stopped (at shutdown, once the calls in flight are answered).
type anchoring struct {
	trail *audit.Log
	path  string
	sys   io.Writer
	log   *slog.Logger
	last  uint64
	stop  chan struct{}
	done  chan struct{}
}

func startAnchoring(trail *audit.Log, path string, every time.Duration, sys io.Writer, log *slog.Logger) *anchoring {
	a := &anchoring{trail: trail, path: path, sys: sys, log: log, last: ^uint64(0), stop: make(chan struct{}), done: make(chan struct{})}
	a.write() // the head at the start
	go func() {
		defer close(a.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				a.write()
			case <-a.stop:
				return
			}
		}
	}()
	return a
}

// write anchors the head if it moved since the last anchor.
func (a *anchoring) write() {
	seq, hash := a.trail.Head()
	if seq == a.last {
		return
	}
	an := audit.Anchor{Seq: seq, Hash: hash, Time: time.Now()}
	if err := audit.AppendAnchor(a.path, an); err != nil {
		a.log.Error("audit anchor could not be written", "error", err.Error())
		return
	}
	if a.sys != nil {
		if _, err := fmt.Fprintf(a.sys, "vigie audit head %s", an); err != nil {
			a.log.Warn("audit anchor could not be sent to syslog", "error", err.Error())
		}
	}
	a.last = seq
}

// Stop writes the last head and stops.
func (a *anchoring) Stop() {
	close(a.stop)
	<-a.done
	a.write()
}

func runAuditExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit export", stderr)
	data := dataFlag(fs, "")
	format := fs.String("format", "fhir-auditevent", "output format: fhir-auditevent (FHIR R4 AuditEvent, NDJSON)")
	sinceFlag := fs.String("since", "", "first day exported, YYYY-MM-DD, or a duration back from now such as 24h (required)")
	out := fs.String("out", "", "file to write (default: standard output)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *format != "fhir-auditevent" {
		return vigie.Invalid("format", "%q: the one format is fhir-auditevent", *format)
	}
	since, err := parseSince(*sinceFlag, time.Now())
	if err != nil {
		return err
	}
	trail, closeTrail, err := openTrail(*data)
	if err != nil {
		return err
	}
	defer closeTrail()
	// The trail names who read which patient: its export is itself a read.
	if err := (operatorRead{Verb: "audit export", What: "audit entries since " + since.Format(time.RFC3339) + " as " + *format}).record(trail); err != nil {
		return err
	}
	w, closeOut, err := createOutput(*out, stdout)
	if err != nil {
		return err
	}
	defer closeOut()
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	n := 0
	if err := trail.Since(since, func(e audit.Entry) error {
		n++
		return enc.Encode(e.FHIR())
	}); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := closeOut(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d audit events since %s\n", n, since.Format(time.RFC3339))
	return nil
}
