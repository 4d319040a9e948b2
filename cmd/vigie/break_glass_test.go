package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"vigie/auth"
	"vigie/store"
)

func TestAuditBreakGlass(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	acc := auth.NewAccess(db)
	if err := acc.RecordBreakGlass(auth.BreakGlass{Principal: "dr-a", Authorities: []string{"1.1"}, Identity: "I42",
		PatientAuthorities: []string{"2.2"}, Reason: "patient inconscient aux urgences", Operation: "/vigie.v1.IdentityService/GetIdentity"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, tc := range []struct {
		since string
		want  string
	}{{"168h", "1 break-the-glass"}, {"2999-01-01", "0 break-the-glass"}} {
		var out, errb bytes.Buffer
		if err := runAuditBreakGlass([]string{"--data", dir, "--since", tc.since}, &out, &errb); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), tc.want) || (tc.since == "168h" && !strings.Contains(out.String(), "I42")) {
			t.Errorf("--since %s:\n%s", tc.since, out.String())
		}
	}
	if err := runAuditBreakGlass([]string{"--data", dir}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Error("no --since: no error")
	}
}
