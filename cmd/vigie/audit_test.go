package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	badger "github.com/dgraph-io/badger/v4"

	"vigie/rpc/audit"
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
		{"limit", []string{"audit", "--data", dir, "--identity", "I1", "--limit", "1"}, 0, 2, []string{"GetDoseHistory"}},
		{"user", []string{"audit", "--data", dir, "--user", "dr-martin"}, 0, 3, []string{"GetIdentity", "GetDoseHistory"}},
		{"record", []string{"audit", "--data", dir, "--authority", "1.2.3", "--local-id", "IPP9"}, 0, 2, []string{"GetDoseHistory", "dr-martin"}},
		{"record without local id", []string{"audit", "--data", dir, "--authority", "1.2.3"}, 2, 0, []string{"both --authority and --local-id"}},
		{"record and user", []string{"audit", "--data", dir, "--authority", "1.2.3", "--local-id", "IPP9", "--user", "x"}, 2, 0, []string{"exactly one"}},
		{"nobody", []string{"audit", "--data", dir, "--user", "nobody"}, 0, 2, []string{"(no entries)"}},
		{"verify", []string{"audit", "verify", "--data", dir}, 0, 2, []string{"intact: 3 entries", "head: 3:"}},
		{"bad head", []string{"audit", "verify", "--data", dir, "--head", "3:abc"}, 2, 0, []string{"head:"}},
		{"head beyond the end", []string{"audit", "verify", "--data", dir, "--head", "4:" + strings.Repeat("0", 64)}, 1, 0, []string{"truncated"}},
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
	if code, out, errs := runCLI("audit", "verify", "--data", dir, "--head", head); code != 0 || !strings.Contains(out, "recorded head 3 found unchanged") {
		t.Errorf("verify --head %s: exit %d\n%s%s", head, code, out, errs)
	}

	code, out, _ := runCLI("audit", "--data", dir, "--identity", "I1", "--json")
	var first struct {
		Seq       uint64
		Principal string
		Hash      string
	}
	if code != 0 || json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &first) != nil || first.Seq != 3 || len(first.Hash) != 64 {
		t.Errorf("--json: exit %d, first %+v, output\n%s", code, first, out)
	}
}

func TestAuditVerifyDetectsTampering(t *testing.T) {
	dir := auditStore(t)
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(txn *badger.Txn) error {
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
