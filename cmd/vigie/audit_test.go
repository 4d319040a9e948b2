package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vigie/audit"
	"vigie/store"
)

// auditStore writes three entries into a new on-disk store and returns its
// folder: dr-martin read I1 twice, iv-team merged I1 and I2.
func auditStore(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	trail, err := audit.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []audit.Entry{
		{Principal: "dr-martin", Role: "clinician", Operation: "/vigie.v1.IdentityService/GetIdentity", Identities: []string{"I1"}, Purpose: "care", Result: "ok"},
		{Principal: "iv-team", Role: "vigilance", Operation: "/vigie.v1.IdentityService/Merge", Identities: []string{"I1", "I2"}, Result: "ok"},
		{Principal: "dr-martin", Role: "clinician", Operation: "/vigie.v1.DoseService/GetDoseHistory", Identities: []string{"I1"}, Result: "ok",
			Records: []audit.Record{{Authority: "1.2.3", LocalID: "IPP9"}}},
	} {
		if _, err := trail.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestAuditVerbs(t *testing.T) {
	dir := auditStore(t)
	tests := []struct {
		name  string
		args  []string
		code  int
		lines int      // lines of stdout
		says  []string // in stdout, or stderr when code != 0
	}{
		{"who looked at I1", []string{"audit", "--data", dir, "--identity", "I1"}, 0, 4, []string{"dr-martin", "iv-team", "GetDoseHistory", "care", "1.2.3/IPP9"}},
		{"I2", []string{"audit", "--data", dir, "--identity", "I2"}, 0, 2, []string{"iv-team", "Merge"}},
		// The listings above were audited: the newest entry touching I1 is
		// the operator's own read of them.
		{"limit", []string{"audit", "--data", dir, "--identity", "I1", "--limit", "1"}, 0, 2, []string{"cli: vigie audit", "operator", "audit entries of identity I1: 3"}},
		{"user", []string{"audit", "--data", dir, "--user", "dr-martin"}, 0, 3, []string{"GetIdentity", "GetDoseHistory"}},
		{"record", []string{"audit", "--data", dir, "--authority", "1.2.3", "--local-id", "IPP9"}, 0, 2, []string{"GetDoseHistory", "dr-martin"}},
		{"record without local id", []string{"audit", "--data", dir, "--authority", "1.2.3"}, 2, 0, []string{"both --authority and --local-id"}},
		{"record and user", []string{"audit", "--data", dir, "--authority", "1.2.3", "--local-id", "IPP9", "--user", "x"}, 2, 0, []string{"exactly one"}},
		{"nobody", []string{"audit", "--data", dir, "--user", "nobody"}, 0, 2, []string{"(no entries)"}},
		// 3 entries, and one per listing above.
		{"verify", []string{"audit", "verify", "--data", dir}, 0, 2, []string{"intact: 9 entries", "head: 9:"}},
		{"bad head", []string{"audit", "verify", "--data", dir, "--head", "3:abc"}, 2, 0, []string{"head:"}},
		{"head beyond the end", []string{"audit", "verify", "--data", dir, "--head", "100:" + strings.Repeat("0", 64)}, 1, 0, []string{"truncated"}},
		{"head with another hash", []string{"audit", "verify", "--data", dir, "--head", "2:" + strings.Repeat("0", 64)}, 1, 0, []string{"rewritten"}},
		{"neither", []string{"audit", "--data", dir}, 2, 0, []string{"exactly one of --identity, --user"}},
		{"both", []string{"audit", "--data", dir, "--identity", "I1", "--user", "x"}, 2, 0, []string{"exactly one"}},
		{"negative limit", []string{"audit", "--data", dir, "--user", "x", "--limit", "-1"}, 2, 0, []string{"limit"}},
		{"missing store", []string{"audit", "verify", "--data", filepath.Join(dir, "nope")}, 2, 0, []string{"does not exist"}},
		{"stray argument", []string{"audit", "--data", dir, "check"}, 2, 0, []string{"unexpected argument"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s%s", code, tt.code, out, errs)
			}
			text := out
			if code != 0 {
				text = errs
			} else if n := strings.Count(out, "\n"); n != tt.lines {
				t.Errorf("%d lines, want %d:\n%s", n, tt.lines, out)
			}
			for _, s := range tt.says {
				if !strings.Contains(text, s) {
					t.Errorf("output does not say %q:\n%s", s, text)
				}
			}
		})
	}

	// The head printed by verify is accepted back.
	_, out, _ := runCLI("audit", "verify", "--data", dir)
	head := strings.Fields(strings.Split(out, "\n")[1])[1]
	if code, out, errs := runCLI("audit", "verify", "--data", dir, "--head", head); code != 0 || !strings.Contains(out, "recorded head 9 found unchanged") {
		t.Errorf("verify --head %s: exit %d\n%s%s", head, code, out, errs)
	}

	code, out, _ := runCLI("audit", "--data", dir, "--identity", "I1", "--json")
	var first struct {
		Seq       uint64
		Principal string
		Hash      string
	}
	if code != 0 || json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &first) != nil || first.Seq != 6 ||
		!strings.HasPrefix(first.Principal, "cli:") || len(first.Hash) != 64 {
		t.Errorf("--json: exit %d, first %+v, output\n%s", code, first, out)
	}
}

func TestAuditVerifyDetectsTampering(t *testing.T) {
	dir := auditStore(t)
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = store.Update(db, func(txn *store.Txn) error {
		key := []byte("a/log/0000000000000002")
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		v, _ := item.ValueCopy(nil)
		return txn.Set(key, []byte(strings.Replace(string(v), `"iv-team"`, `"someone"`, 1)))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI("audit", "verify", "--data", dir)
	if code != 1 || !strings.Contains(errs, "audit entry 2") || !strings.Contains(errs, "1 entries before it") {
		t.Errorf("verify of a tampered trail: exit %d\n%s%s", code, out, errs)
	}
}

// TestCLIReadsAudited (issue 30): the verbs that print patient data write
// an audit entry first, as the API does: the OS user as actor, the basis
// "operator", the verb, and what was read (identities, records), never a
// name.
func TestCLIReadsAudited(t *testing.T) {
	data := t.TempDir()
	feed := filepath.Join(t.TempDir(), "feed.csv")
	csv := "authority,local_id,birth_name,first_name,birth_date,sex\n" +
		"1.2.250.1.1,A1,LAFFITTE,Bernadette,1948-03-17,F\n" +
		"1.2.250.1.3,C1,ETCHEVERRY,Ramuntxo,19901102,M\n"
	if err := os.WriteFile(feed, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := runCLI("import", "identities", "--data", data, feed); code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, out, errs)
	}
	links := exportMap(t, data) // itself a read: entry 1
	id := links["1.2.250.1.1/A1"]
	if id == "" {
		t.Fatalf("no identity for A1 in %v", links)
	}
	actor, _ := cliActor()
	tests := []struct {
		name       string
		args       []string
		operation  string
		identities []string
		records    []audit.Record
	}{
		{"search", []string{"search", "--data", data, "--name", "LAFFITTE", "--first", "Bernadette"}, "cli: vigie search", []string{id}, nil},
		{"history", []string{"history", "--data", data, id}, "cli: vigie history", []string{id}, []audit.Record{{Authority: "1.2.250.1.1", LocalID: "A1"}}},
		{"export links", []string{"export", "links", "--data", data}, "cli: vigie export links", nil, nil},
		{"export exams", []string{"export", "exams", "--data", data}, "cli: vigie export exams", nil, nil},
		{"audit of an identity", []string{"audit", "--data", data, "--identity", id}, "cli: vigie audit", []string{id}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, out, errs := runCLI(tt.args...); code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out, errs)
			}
			e := lastAuditEntry(t, data)
			if e.Principal != actor || e.Basis != "operator" || e.Role != "operator" || e.Operation != tt.operation || e.Result != "ok" ||
				strings.Join(e.Identities, ",") != strings.Join(tt.identities, ",") || len(e.Records) != len(tt.records) ||
				(len(tt.records) > 0 && e.Records[0] != tt.records[0]) {
				t.Errorf("audit entry %+v, want %s by %s on %v %v", e, tt.operation, actor, tt.identities, tt.records)
			}
			if strings.Contains(strings.ToUpper(e.Purpose), "LAFFITTE") {
				t.Errorf("the entry names the patient: %q", e.Purpose)
			}
		})
	}
}

// lastAuditEntry reads the newest entry of the store's trail.
func lastAuditEntry(t *testing.T, data string) audit.Entry {
	t.Helper()
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	trail, err := audit.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer trail.Close()
	seq, _ := trail.Head()
	e, err := trail.Get(seq)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestAuditAnchorVerify: the heads serve anchors (at the start, when the
// head moved, and at shutdown) let verify --anchor detect entries removed
// after an anchored head, which the chain alone cannot see.
func TestAuditAnchorVerify(t *testing.T) {
	dir := auditStore(t)
	anchorFile := filepath.Join(t.TempDir(), "anchors")
	if err := anchorOutside(filepath.Join(dir, "anchors"), dir); err == nil {
		t.Error("an anchor inside the data folder was accepted")
	}
	if err := anchorOutside(anchorFile, dir); err != nil {
		t.Errorf("an anchor outside the data folder: %v", err)
	}
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	trail, err := audit.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	var sys bytes.Buffer
	an := startAnchoring(trail, anchorFile, time.Hour, &sys, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, err := trail.Append(audit.Entry{Principal: "dr-a", Role: "clinician", Operation: "/vigie.v1.IdentityService/GetIdentity", Identities: []string{"I3"}, Result: "ok"}); err != nil {
		t.Fatal(err)
	}
	an.Stop() // the shutdown's anchor: head 4
	trail.Close()
	db.Close()
	lines, _ := os.ReadFile(anchorFile)
	if got := strings.Split(strings.TrimSpace(string(lines)), "\n"); len(got) != 2 || !strings.HasPrefix(got[0], "3 ") || !strings.HasPrefix(got[1], "4 ") {
		t.Fatalf("anchor file:\n%s\nwant the head at the start (3) and at shutdown (4)", lines)
	}
	if !strings.Contains(sys.String(), "vigie audit head 4 ") {
		t.Errorf("syslog got %q", sys.String())
	}
	if code, out, errs := runCLI("audit", "verify", "--data", dir, "--anchor", anchorFile); code != 0 || !strings.Contains(out, "2 anchored heads found unchanged") {
		t.Fatalf("verify --anchor of an intact trail: exit %d\n%s%s", code, out, errs)
	}
	// Entry 4 removed: the chain of 1 to 3 holds, the anchor does not.
	db, err = store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = store.Update(db, func(txn *store.Txn) error { return txn.Delete([]byte("a/log/0000000000000004")) })
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	// The index, in the same store, still covers entry 4: verify sees the
	// cut. Someone who knows the scheme rebuilds the index too (--reindex):
	// then only the anchor can tell.
	if code, out, errs := runCLI("audit", "verify", "--data", dir); code != 1 || !strings.Contains(errs, "the index covers entries up to 4") {
		t.Errorf("verify of a trail cut behind its index: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := runCLI("audit", "verify", "--data", dir, "--reindex"); code != 0 || !strings.Contains(out, "index rebuilt") {
		t.Fatalf("verify --reindex should find the shortened chain intact: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := runCLI("audit", "verify", "--data", dir, "--anchor", anchorFile); code != 1 || !strings.Contains(errs, "truncated") {
		t.Errorf("verify --anchor of a truncated trail: exit %d\n%s%s", code, out, errs)
	}
}

// TestAuditExportFHIR: the export is one FHIR AuditEvent per line, each
// with the required elements, and is itself audited.
func TestAuditExportFHIR(t *testing.T) {
	dir := auditStore(t)
	code, out, errs := runCLI("audit", "export", "--data", dir, "--format", "fhir-auditevent", "--since", "24h")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 { // 3 entries and the export's own
		t.Fatalf("%d lines, want 4:\n%s", len(lines), out)
	}
	for i, l := range lines {
		var ev struct {
			ResourceType string
			Type         struct{ Code string }
			Recorded     string
			Agent        []struct {
				Who       struct{ Identifier struct{ Value string } }
				Requestor bool
			}
			Source struct{ Observer struct{ Display string } }
			Entity []struct {
				What struct {
					Identifier struct{ System, Value string }
				}
			}
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if _, err := time.Parse(time.RFC3339Nano, ev.Recorded); ev.ResourceType != "AuditEvent" || ev.Type.Code == "" || err != nil ||
			len(ev.Agent) != 1 || ev.Agent[0].Who.Identifier.Value == "" || !ev.Agent[0].Requestor || ev.Source.Observer.Display == "" || len(ev.Entity) == 0 {
			t.Errorf("line %d lacks a required element: %s", i+1, l)
		}
	}
	if !strings.Contains(lines[0], `"value":"I1"`) || !strings.Contains(lines[3], `cli: vigie audit export`) {
		t.Errorf("first event without its patient, or last not the export's own:\n%s", out)
	}
	if code, _, errs := runCLI("audit", "export", "--data", dir, "--format", "csv", "--since", "24h"); code != 2 || !strings.Contains(errs, "fhir-auditevent") {
		t.Errorf("unknown format: exit %d %s", code, errs)
	}
}
