package admin

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"vigie/audit"
	"vigie/auth"
)

// TestBackupEncryptedOnly: the online backup leaves the server encrypted
// or not at all (an administrator reads no patient data), and the refusal
// is in the audit trail like any call.
func TestBackupEncryptedOnly(t *testing.T) {
	f := newFixture(t)
	keys := auth.NewKeys(f.db)
	for _, tc := range []struct {
		name       string
		key        []byte
		secret     string
		wantStatus int
		wantBody   string
		wantResult string
	}{
		{"no key: refused", nil, f.admin, http.StatusPreconditionFailed, "--backup-key-file", "failed_precondition"},
		{"with a key: sent", make([]byte, 32), f.admin, http.StatusOK, "", "ok"},
		{"not an admin", make([]byte, 32), f.iv, http.StatusForbidden, "admin role", "permission_denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(&Backup{DB: f.db, Authenticator: keys, Trail: f.trail, Key: tc.key})
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodGet, srv.URL+BackupPath, nil)
			req.Header.Set("Authorization", "Bearer "+tc.secret)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus || !strings.Contains(string(body), tc.wantBody) {
				t.Fatalf("status %d, body %.200q; want %d with %q", resp.StatusCode, body, tc.wantStatus, tc.wantBody)
			}
			if tc.wantStatus == http.StatusOK && len(body) == 0 {
				t.Error("an empty backup was sent")
			}
			_, last := lastEntry(t, f)
			if last.Operation != BackupOperation || last.Result != tc.wantResult {
				t.Errorf("audit: %s %s, want %s %s", last.Operation, last.Result, BackupOperation, tc.wantResult)
			}
		})
	}
}

// lastEntry reads the trail's newest entry.
func lastEntry(t *testing.T, f *fixture) (uint64, audit.Entry) {
	t.Helper()
	seq, _ := f.trail.Head()
	e, err := f.trail.Get(seq)
	if err != nil {
		t.Fatal(err)
	}
	return seq, e
}
