package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"vigie"

	"vigie/ledger"
	"vigie/matcher"
	"vigie/mpi"
	"vigie/store"
)

// retentionPeople are made-up persons clearly distinct from each other.
var retentionPeople = []vigie.Record{
	{BirthName: "LAFFITTE", FirstName: "Bernadette", BirthDate: "1948-03-17", Sex: "F", BirthPlace: "33063", PostalCode: "33000"},
	{BirthName: "ETCHEVERRY", FirstName: "Ramuntxo", BirthDate: "1950-11-02", Sex: "M", BirthPlace: "64102", PostalCode: "64100"},
	{BirthName: "KERGUELEN", FirstName: "Yannick", BirthDate: "1940-01-09", Sex: "M", BirthPlace: "29019", PostalCode: "29200"},
	{BirthName: "MARTINEZ", FirstName: "Lucia", BirthDate: "1958-07-21", Sex: "F", BirthPlace: "31555", PostalCode: "31000"},
	{BirthName: "OLLIVIER", FirstName: "Gaston", BirthDate: "1939-04-30", Sex: "M", BirthPlace: "44109", PostalCode: "44000"},
	{BirthName: "BENSALEM", FirstName: "Karima", BirthDate: "1962-12-05", Sex: "F", BirthPlace: "13055", PostalCode: "13001"},
	{BirthName: "VANDENBERGHE", FirstName: "Pieter", BirthDate: "1945-08-14", Sex: "M", BirthPlace: "59350", PostalCode: "59000"},
}

const retSiteA, retSiteB = "1.2.250.1.71.1", "1.2.250.1.71.2"

var ctx = context.Background()

// retentionStore writes a store in dir where every person had a record
// and an exam at site A in 2001, and the second person (index 1) also a
// record at site B in 2020: as of 2025, every identity is past its
// deadline but that one. It returns the identities by person.
func retentionStore(t *testing.T, dir string) []vigie.IdentityID {
	t.Helper()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2001, 2, 1, 10, 0, 0, 0, time.UTC)
	ix, err := mpi.Open(db, matcher.DefaultModel(), mpi.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	led := ledger.Open(db)
	var ids []vigie.IdentityID
	for i, p := range retentionPeople {
		p.Authority, p.LocalID = retSiteA, fmt.Sprintf("IPP%d", i)
		res, err := ix.Resolve(ctx, p, mpi.System)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Identity)
		q, _ := ledger.NewQuantity(120, "mGy.cm", ledger.DimDLP)
		sop := fmt.Sprintf("1.2.3.%d", i)
		if _, err := led.Put(ctx, &ledger.Exam{SOPInstanceUID: sop, StudyUID: sop + ".9", Date: "2001-02-01", Procedure: "TDM", Source: ledger.SourceRDSR,
			Domain: ledger.DomainCT, Key: vigie.SourceKey{Authority: p.Authority, LocalID: p.LocalID},
			CT: &ledger.CTDose{DLPTotal: &q, Events: []ledger.CTEvent{{UID: sop + ".1", DLP: &q}}}}); err != nil {
			t.Fatal(err)
		}
	}
	now = time.Date(2020, 9, 1, 10, 0, 0, 0, time.UTC)
	p := retentionPeople[1]
	p.Authority, p.LocalID = retSiteB, "B-77"
	res, err := ix.Resolve(ctx, p, mpi.System)
	if err != nil || res.Identity != ids[1] {
		t.Fatalf("the recent record at site B: identity %v (%v), want %v", res.Identity, err, ids[1])
	}
	return ids
}

var tokenLine = regexp.MustCompile(`(?m)^confirmation token: (\S+)$`)

func TestRetentionReportPurge(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	ids := retentionStore(t, data)
	mustRun(t, "reindex", "--data", data)
	out := mustRun(t, "retention", "report", "--data", data, "--as-of", "2025-06-01")
	m := tokenLine.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, fmt.Sprintf("%d past their deadline", len(ids)-1)) {
		t.Fatalf("report:\n%s", out)
	}
	if strings.Contains(out, fmt.Sprintf("identity %-10s", ids[1])) {
		t.Fatalf("the identity with a recent record at site B is listed:\n%s", out)
	}
	for _, p := range retentionPeople {
		if strings.Contains(out, p.BirthName) || strings.Contains(out, p.BirthDate) {
			t.Fatalf("the report shows a name or a birth date:\n%s", out)
		}
	}
	tok := m[1]
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--data", data, "--actor", "dpo"}, 2, "--confirm TOKEN is required"},
		{[]string{"--data", data, "--confirm", tok}, 2, "--actor NAME is required"},
		{[]string{"--data", data, "--actor", "dpo", "--confirm", "yes"}, 2, "not a token"},
		{[]string{"--data", data, "--actor", "dpo", "--confirm", "20250601-000000000000000000000000"}, 1, "the list changed since the report"},
	} {
		code, _, stderr := runVerb(append([]string{"retention", "purge"}, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("purge %v: exit %d, %s; want %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
	code, out, stderr := runVerb("retention", "purge", "--data", data, "--actor", "dpo", "--confirm", tok)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("%d purged now", len(ids)-1)) {
		t.Fatalf("purge: exit %d\n%s%s", code, out, stderr)
	}
	for _, p := range retentionPeople {
		if strings.Contains(stderr, p.BirthName) {
			t.Fatalf("the purge's log names a patient:\n%s", stderr)
		}
	}
	if code, out, _ := runVerb("verify", "--data", data); code != 0 || !strings.Contains(out, "search index: 1 identities, consistent") {
		t.Fatalf("verify after the purge: exit %d\n%s", code, out)
	}
	checkPurged(t, data, ids, tok)
	if out := mustRun(t, "retention", "report", "--data", data, "--as-of", "2025-06-01"); !strings.Contains(out, "nothing to purge") {
		t.Fatalf("report after the purge:\n%s", out)
	}
}

// checkPurged checks that every identity of ids but the second is purged
// whole (no record, no exam, a tombstone with its audit entry) and the
// second is whole (its two records and its exam).
func checkPurged(t *testing.T, data string, ids []vigie.IdentityID, tok string) {
	t.Helper()
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ix, err := mpi.Open(db, matcher.DefaultModel(), mpi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	led := ledger.Open(db)
	for i, id := range ids {
		local := fmt.Sprintf("IPP%d", i)
		exams, err := led.Exams(ctx, []vigie.SourceKey{{Authority: retSiteA, LocalID: local}})
		if err != nil {
			t.Fatal(err)
		}
		got, gerr := ix.Get(ctx, id)
		var ts mpi.Tombstone
		var dead bool
		db.View(func(txn *store.Txn) error {
			ts, dead, err = mpi.TombstoneIn(txn, id)
			return err
		})
		if i == 1 {
			if gerr != nil || len(got.Members) != 2 || len(exams) != 1 || dead {
				t.Errorf("identity %s (recent record at site B): %d records, %d exams, tombstone %v (%v)", id, len(got.Members), len(exams), dead, gerr)
			}
			continue
		}
		if gerr == nil || len(exams) != 0 || !dead || ts.Audit == 0 || ts.Run != tok || ts.Counts.Records != 1 || ts.Counts.Exams != 1 {
			t.Errorf("identity %s: get %v, %d exams, tombstone %v %+v", id, gerr, len(exams), dead, ts)
		}
	}
}

const retentionCrashEnv = "VIGIE_RETENTION_CRASH_CHILD"

// TestRetentionPurgeCrashChild is the child of TestRetentionPurgeCrash:
// it runs the purge, says "midway" once the first identity is purged
// (before its audit entry) and waits to be killed.
func TestRetentionPurgeCrashChild(t *testing.T) {
	spec := os.Getenv(retentionCrashEnv)
	if spec == "" {
		return
	}
	data, tok, _ := strings.Cut(spec, "|")
	retentionPurged = func(vigie.IdentityID) {
		fmt.Println("midway")
		select {}
	}
	code, out, stderr := runVerb("retention", "purge", "--data", data, "--actor", "dpo", "--confirm", tok)
	t.Fatalf("the purge ended (exit %d) instead of being killed: %s%s", code, out, stderr)
}

// TestRetentionPurgeCrash kills a purge (SIGKILL) after its first
// identity: no identity is half removed, and the same command resumes
// the run, writes the missing audit entry, and leaves verify clean.
func TestRetentionPurgeCrash(t *testing.T) {
	if os.Getenv(retentionCrashEnv) != "" {
		t.Skip("child process")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	ids := retentionStore(t, data)
	mustRun(t, "reindex", "--data", data)
	tok := tokenLine.FindStringSubmatch(mustRun(t, "retention", "report", "--data", data, "--as-of", "2025-06-01"))[1]

	cmd := exec.Command(os.Args[0], "-test.run=^TestRetentionPurgeCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), retentionCrashEnv+"="+data+"|"+tok)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	killed := false
	for sc.Scan() {
		if sc.Text() == "midway" {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			killed = true
			break
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !killed || !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the purge was not killed midway (%v): %s", err, stderr.String())
	}

	// Killed after its first identity: that one is gone whole, the others
	// whole; nothing half removed (verify replays every invariant).
	if code, out, _ := runVerb("verify", "--data", data); code != 0 {
		t.Fatalf("verify after the killed purge:\n%s", out)
	}
	out := mustRun(t, "retention", "report", "--data", data, "--as-of", "2025-06-01")
	if !strings.Contains(out, fmt.Sprintf("%d past their deadline", len(ids)-2)) {
		t.Fatalf("after a purge killed after one identity:\n%s", out)
	}
	// The list changed, but the run is recorded: its token resumes it.
	code, out, serr := runVerb("retention", "purge", "--data", data, "--actor", "dpo", "--confirm", tok)
	if code != 0 || !strings.Contains(out, "resumed") || !strings.Contains(out, fmt.Sprintf("%d purged now, 1 purged before", len(ids)-2)) {
		t.Fatalf("resumed purge: exit %d\n%s%s", code, out, serr)
	}
	if code, out, _ := runVerb("verify", "--data", data); code != 0 || !strings.Contains(out, "search index: 1 identities, consistent") {
		t.Fatalf("verify after the resumed purge:\n%s", out)
	}
	checkPurged(t, data, ids, tok)
	// One audit entry per identity, the first one's written on resuming.
	for i, id := range ids {
		if i == 1 {
			continue
		}
		if out := mustRun(t, "audit", "--data", data, "--identity", id.String()); strings.Count(out, "retention purge") != 1 {
			t.Errorf("audit of identity %s:\n%s", id, out)
		}
	}
}
