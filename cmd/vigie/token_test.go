package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vigie/auth"
	"vigie/store"
)

// runCLI runs the binary's dispatcher and returns exit status and outputs.
func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestTokenVerbs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	code, out, errs := runCLI("token", "create", "--data", dir, "--role", "ingest", "--authority", "1.2.3", "--authority", "1.2.4", "--name", "pacs-bdx", "--expires", "30d")
	if code != 0 {
		t.Fatalf("token create: exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	secret := lines[len(lines)-1]
	if !strings.HasPrefix(secret, auth.KeyPrefix) || strings.Contains(secret, " ") {
		t.Fatalf("last line %q is not the secret alone", secret)
	}
	if strings.Count(out, secret) != 1 {
		t.Error("the secret is printed more than once")
	}
	id := strings.Split(secret, "_")[1]

	code, out, errs = runCLI("token", "list", "--data", dir)
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "pacs-bdx") || !strings.Contains(out, "1.2.3,1.2.4") || !strings.Contains(out, "active") {
		t.Fatalf("token list: exit %d\n%s%s", code, out, errs)
	}
	if strings.Contains(out, secret[len(auth.KeyPrefix)+17:]) {
		t.Error("token list shows the secret")
	}

	// The secret authenticates, for 30 days.
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	keys := auth.NewKeys(db)
	p, err := keys.Authenticate(context.Background(), secret)
	if err != nil || p.Name != "pacs-bdx" || p.Role != auth.RoleIngest {
		t.Errorf("Authenticate = %+v, %v", p, err)
	}
	if k, _ := keys.Get(id); k.Expires.Sub(k.Created) != 30*24*time.Hour {
		t.Errorf("lifetime = %v", k.Expires.Sub(k.Created))
	}
	db.Close()

	if code, out, errs = runCLI("token", "revoke", "--data", dir, "--id", id); code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("token revoke: exit %d: %s%s", code, out, errs)
	}
	if _, out, _ = runCLI("token", "list", "--data", dir); !strings.Contains(out, "revoked") {
		t.Errorf("token list after revoke:\n%s", out)
	}
}

func TestTokenErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	missing := filepath.Join(t.TempDir(), "nowhere")
	tests := []struct {
		name string
		args []string
		code int
		says string
	}{
		{"no role", []string{"token", "create", "--data", dir, "--name", "x"}, 2, "role: required"},
		{"unknown role", []string{"token", "create", "--data", dir, "--role", "root", "--name", "x"}, 2, "unknown role"},
		{"ingest without authority", []string{"token", "create", "--data", dir, "--role", "ingest", "--name", "x"}, 2, "authority"},
		{"no name", []string{"token", "create", "--data", dir, "--role", "admin"}, 2, "name: required"},
		{"bad expiry", []string{"token", "create", "--data", dir, "--role", "admin", "--name", "x", "--expires", "soon"}, 2, "expires"},
		{"zero days", []string{"token", "create", "--data", dir, "--role", "admin", "--name", "x", "--expires", "0d"}, 2, "expires"},
		{"too many days", []string{"token", "create", "--data", dir, "--role", "admin", "--name", "x", "--expires", "4000d"}, 2, "expires"},
		{"stray argument", []string{"token", "create", "--data", dir, "--role", "admin", "--name", "x", "extra"}, 2, "unexpected argument"},
		{"revoke without id", []string{"token", "revoke", "--data", dir}, 2, "id: required"},
		{"list of a missing store", []string{"token", "list", "--data", missing}, 2, "does not exist"},
		{"revoke unknown", []string{"token", "revoke", "--data", dir, "--id", "0000000000000000"}, 1, "not found"},
	}
	// A store to revoke in.
	if code, _, errs := runCLI("token", "create", "--data", dir, "--role", "admin", "--name", "root"); code != 0 {
		t.Fatal(errs)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := runCLI(tt.args...)
			if code != tt.code || !strings.Contains(errs, tt.says) {
				t.Errorf("exit %d, stderr %q; want %d saying %q", code, errs, tt.code, tt.says)
			}
		})
	}
}

func TestParseLifetime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90d", 90 * 24 * time.Hour, true},
		{"1d", 24 * time.Hour, true},
		{"36h", 36 * time.Hour, true},
		{"-1d", 0, false},
		{"d", 0, false},
		{"-5h", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, err := parseLifetime(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseLifetime(%q) = %v, %v", tt.in, got, err)
		}
	}
}
