package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"vigie"

	"vigie/auth"
	"vigie/demo"
	"vigie/dosimetry"
	"vigie/ledger"
	"vigie/matcher"
	"vigie/mpi"
	"vigie/rpc/admin"
	"vigie/store"
)

// runVerb runs the binary's dispatcher and returns its exit status and
// outputs.
func runVerb(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// demoStore fills a new store in dir with demonstration patients and
// exams; key encrypts it (nil: in clear). It returns a patient's birth
// name, to look for in raw bytes.
func demoStore(t *testing.T, dir string, key []byte, persons int) string {
	t.Helper()
	db, err := store.Open(dir, store.Options{EncryptionKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ix, err := mpi.Open(db, matcher.DefaultModel(), mpi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	err = demo.Load(context.Background(), demo.Config{Persons: persons, Seed: 3}, db, ix, ledger.Open(db), dosimetry.OpenAlerts(db), auth.NewKeys(db), io.Discard, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	name := ""
	err = ix.Scan(context.Background(), func(_ vigie.SourceKey, _ vigie.IdentityID, rec vigie.Record) error {
		if len(rec.BirthName) >= 7 && name == "" {
			name = rec.BirthName
		}
		return nil
	})
	if err != nil || name == "" {
		t.Fatalf("no patient name of 7 letters or more (%v)", err)
	}
	return name
}

func summaryOf(t *testing.T, dir string, key []byte) store.Summary {
	t.Helper()
	db, err := store.Open(dir, store.Options{EncryptionKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var s store.Summary
	if err := db.View(func(txn *store.Txn) error { s, err = admin.Summarize(txn); return err }); err != nil {
		t.Fatal(err)
	}
	return s
}

var versionLine = regexp.MustCompile(`version reached: (\d+)`)

func TestBackupRestoreVerifyOnlineEncrypted(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	keyFile := filepath.Join(dir, "store.key")
	key := bytes.Repeat([]byte{0x5a}, 32)
	if err := os.WriteFile(keyFile, []byte(fmt.Sprintf("%x\n", key)), 0o600); err != nil {
		t.Fatal(err)
	}
	name := demoStore(t, data, key, 120)

	tok := filepath.Join(dir, "admin.token")
	os.WriteFile(tok, []byte(createKey(t, data, key, auth.RoleAdmin)), 0o600)
	clinTok := filepath.Join(dir, "clin.token")
	os.WriteFile(clinTok, []byte(createKey(t, data, key, auth.RoleClinician)), 0o600)
	srv := startServe(t, serveConfig{Data: data, EncryptionKey: key})
	srv.waitSearch(t)

	url := "http://" + srv.addr
	code, _, stderr := runVerb("backup", "--server", url, "--token-file", clinTok, "--out", filepath.Join(dir, "refused"))
	if code != 2 && code != 1 || !strings.Contains(stderr, "admin role") {
		t.Fatalf("a clinician's backup: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "refused")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a refused backup left a file")
	}
	if h := getHealth(t, url); !strings.Contains(h, "backup: none since the start") {
		t.Fatalf("/healthz before any backup:\n%s", h)
	}
	secret, _ := os.ReadFile(tok)
	for _, q := range []string{"rate=fast", "rate=-1"} {
		req, _ := http.NewRequest(http.MethodGet, url+admin.BackupPath+"?"+q, nil)
		req.Header.Set("Authorization", "Bearer "+string(secret))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("backup ?%s: %s, want 400", q, resp.Status)
		}
	}
	full, inc := filepath.Join(dir, "full.vbk"), filepath.Join(dir, "inc.vbk")
	code, out, stderr := runVerb("backup", "--server", url, "--token-file", tok, "--out", full, "--encryption-key-file", keyFile)
	if code != 0 {
		t.Fatalf("online backup: exit %d: %s", code, stderr)
	}
	m := versionLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no version in %s", out)
	}
	if h := getHealth(t, url); !strings.HasPrefix(h, "ok\n") || !strings.Contains(h, "(full, version "+m[1]+",") {
		t.Fatalf("/healthz after a full backup to version %s:\n%s", m[1], h)
	}
	// The second backup's audit entry is a change the incremental holds.
	code, out, stderr = runVerb("backup", "--server", url, "--token-file", tok, "--out", inc, "--since", m[1], "--encryption-key-file", keyFile, "--rate", "0")
	if code != 0 || !strings.Contains(out, "incremental since version "+m[1]) {
		t.Fatalf("online incremental: exit %d: %s%s", code, out, stderr)
	}
	srv.shutdown(t)

	code, out, stderr = runVerb("verify", "--data", data, "--encryption-key-file", keyFile)
	if code != 0 || !strings.Contains(out, "verify: ok") || !strings.Contains(out, "search index:") {
		t.Fatalf("verify of the source: exit %d: %s%s", code, out, stderr)
	}
	want := summaryOf(t, data, key)

	dst := filepath.Join(dir, "restored")
	code, out, stderr = runVerb("restore", "--in", full, "--in", inc, "--data", dst, "--encryption-key-file", keyFile)
	if code != 0 {
		t.Fatalf("restore: exit %d: %s%s", code, out, stderr)
	}
	code, out, stderr = runVerb("verify", "--data", dst, "--encryption-key-file", keyFile)
	if code != 0 || !strings.Contains(out, "verify: ok") {
		t.Fatalf("verify of the restored store: exit %d: %s%s", code, out, stderr)
	}
	if got := summaryOf(t, dst, key); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("restored %+v, source %+v", got, want)
	}
	if want.Counts["exams"] == 0 || want.Counts["records"] == 0 || want.AuditSeq < 2 {
		t.Fatalf("the fixture is too thin to prove anything: %+v", want)
	}

	// Without the key: nothing opens, nothing reads in clear.
	for _, d := range []string{data, dst} {
		code, _, stderr = runVerb("verify", "--data", d)
		if code == 0 || !strings.Contains(stderr, "cannot be opened with this key") {
			t.Fatalf("verify without the key: exit %d: %s", code, stderr)
		}
	}
	code, _, stderr = runVerb("restore", "--in", full, "--data", filepath.Join(dir, "nokey"))
	if code != 2 || !strings.Contains(stderr, "backup is encrypted") {
		t.Fatalf("restore without the key: exit %d: %s", code, stderr)
	}
	// Nothing in the data folders holds the name in clear, the search
	// index included: with an encrypted store it is kept in memory (the
	// server above searched it), never in DIR/search.
	if _, err := os.Stat(searchDir(data)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the encrypted store's server wrote a search index folder: %v", err)
	}
	for _, p := range []string{data, dst, full, inc} {
		if found := grepTree(t, p, name); found != "" {
			t.Fatalf("%s holds the patient name %q in clear", found, name)
		}
	}
	// The grep finds the name where it is in clear.
	plain := filepath.Join(dir, "plain.vbk")
	code, _, stderr = runVerb("backup", "--data", data, "--encryption-key-file", keyFile, "--backup-key-file", "/dev/null", "--out", plain)
	if code != 2 || !strings.Contains(stderr, "backup-key-file") {
		t.Fatalf("an empty backup key must be refused: exit %d: %s", code, stderr)
	}
	clear := filepath.Join(dir, "clear")
	if _, err := store.Restore(clear, []string{full}, store.RestoreOptions{Key: key}); err != nil {
		t.Fatal(err)
	}
	if grepTree(t, clear, name) == "" {
		t.Fatalf("the name %q is not found in a store restored in clear: the grep proves nothing", name)
	}
}

func getHealth(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// createKey makes an API key of the role in the store (server stopped)
// and returns its secret.
func createKey(t *testing.T, data string, key []byte, role auth.Role) string {
	t.Helper()
	db, err := store.Open(data, store.Options{EncryptionKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var sites []string
	if role == auth.RoleClinician { // a clinician acts for its sites only
		sites = []string{"1.2.250.1.71.4.2.1.999"}
	}
	secret, _, err := auth.NewKeys(db).Create(role, sites, "ops-test-"+string(role), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// grepTree returns the first file under path (a file or folder) holding
// s, or "".
func grepTree(t *testing.T, path, s string) string {
	t.Helper()
	found := ""
	filepath.Walk(path, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || found != "" {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(s)) {
			found = p
		}
		return nil
	})
	return found
}

func TestVerifyReportsABrokenStoreAndRestoreRefusesIt(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	demoStore(t, data, nil, 40)
	good := filepath.Join(dir, "good.vbk")
	if code, _, stderr := runVerb("backup", "--data", data, "--out", good); code != 0 {
		t.Fatal(stderr)
	}
	// Break a link: remove one identity the records point to.
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = store.Update(db, func(txn *store.Txn) error {
		it := txn.NewIterator(store.IteratorOptions{Prefix: []byte("m/i/")})
		defer it.Close()
		it.Rewind()
		if !it.Valid() {
			return errors.New("no identity")
		}
		return txn.Delete(it.Item().KeyCopy(nil))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ := runVerb("verify", "--data", data)
	if code != 1 || !strings.Contains(out, "VIOLATION patient index") {
		t.Fatalf("verify of a broken store: exit %d:\n%s", code, out)
	}
	bad := filepath.Join(dir, "bad.vbk")
	if code, _, stderr := runVerb("backup", "--data", data, "--out", bad); code != 0 {
		t.Fatal(stderr)
	}
	dst := filepath.Join(dir, "dst")
	code, _, stderr := runVerb("restore", "--in", bad, "--data", dst)
	if code != 1 || !strings.Contains(stderr, "fails its check") {
		t.Fatalf("restore of a broken store: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a refused restore installed the store")
	}
	if code, out, stderr := runVerb("restore", "--in", good, "--data", dst); code != 0 {
		t.Fatalf("restore of the good backup: %s%s", out, stderr)
	}
	if code, out, _ := runVerb("verify", "--data", dst); code != 0 {
		t.Fatalf("verify after restore: %s", out)
	}
}

func TestBackupRestoreFlags(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"backup", "--out", "x"}, "exactly one of --data"},
		{[]string{"backup", "--data", dir}, "--out FILE is required"},
		{[]string{"backup", "--data", dir, "--out", filepath.Join(dir, "x"), "--rate", "1MiB"}, "--rate paces an online backup"},
		{[]string{"backup", "--data", dir, "--out", filepath.Join(dir, "x"), "--rate", "fast"}, "not a size"},
		{[]string{"backup", "--server", "ftp://x", "--token-file", "/dev/null", "--out", filepath.Join(dir, "x")}, "not an http(s) URL"},
		{[]string{"restore", "--data", filepath.Join(dir, "d")}, "--in FILE is required"},
		{[]string{"restore", "--in", "x"}, "--data DIR is required"},
		{[]string{"restore", "--in", filepath.Join(dir, "missing"), "--data", filepath.Join(dir, "d")}, "no such file"},
		{[]string{"verify"}, "--data: stat ./vigie-data"},
		{[]string{"rekey", "--data", dir}, "--new-key-file FILE is required"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, stderr := runVerb(tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, %q; want 2 and %q", code, stderr, tc.want)
			}
		})
	}
}

const opsCrashEnv = "VIGIE_OPS_CRASH_CHILD"

// TestBackupRestoreCrashChild is the child of TestBackupRestoreCrash: it
// runs a backup or a restore, says when it is midway, and waits to be
// killed. It does nothing when run directly.
func TestBackupRestoreCrashChild(t *testing.T) {
	spec := os.Getenv(opsCrashEnv)
	if spec == "" {
		return
	}
	f := strings.Split(spec, "|")
	switch f[0] {
	case "backup": // data, out
		db, err := store.Open(f[1], store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = writeAtomically(f[2], func(w io.Writer) (store.Manifest, error) {
			return store.Backup(context.Background(), db, &stallingWriter{w: w}, store.BackupOptions{Summarize: admin.Summarize})
		})
		t.Fatalf("the backup ended (%v) instead of being killed", err)
	case "restore": // target, files…
		_, err := store.Restore(f[1], f[2:], store.RestoreOptions{Summarize: admin.Summarize, Loaded: func(i int) {
			fmt.Println("midway")
			select {}
		}})
		t.Fatalf("the restore ended (%v) instead of being killed", err)
	}
}

// stallingWriter says "midway" after its first write, then blocks.
type stallingWriter struct {
	w io.Writer
	n int
}

func (s *stallingWriter) Write(p []byte) (int, error) {
	s.n++
	if s.n == 2 {
		fmt.Println("midway")
		select {}
	}
	return s.w.Write(p)
}

// TestBackupRestoreCrash kills (SIGKILL) a backup and a restore midway:
// the source stays intact, the backup file is not written, the restore's
// target is not created, and the same operations then succeed.
func TestBackupRestoreCrash(t *testing.T) {
	if os.Getenv(opsCrashEnv) != "" {
		t.Skip("child process")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	demoStore(t, data, nil, 40)
	full := filepath.Join(dir, "full.vbk")
	if code, _, stderr := runVerb("backup", "--data", data, "--out", full); code != 0 {
		t.Fatal(stderr)
	}
	inc := filepath.Join(dir, "inc.vbk")
	code, out, stderr := runVerb("backup", "--data", data, "--out", inc, "--since", versionLine.FindStringSubmatch(mustRun(t, "backup", "--data", data, "--out", filepath.Join(dir, "again.vbk")))[1])
	if code != 0 {
		t.Fatal(out, stderr)
	}
	killMidway(t, "backup|"+data+"|"+filepath.Join(dir, "killed.vbk"))
	if _, err := os.Stat(filepath.Join(dir, "killed.vbk")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a killed backup left its file")
	}
	if _, err := store.CheckBackups([]string{filepath.Join(dir, "killed.vbk.partial")}, nil); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("the partial file of a killed backup must be refused as truncated: %v", err)
	}
	if code, out, _ := runVerb("verify", "--data", data); code != 0 {
		t.Fatalf("the source after a killed backup:\n%s", out)
	}
	dst := filepath.Join(dir, "dst")
	killMidway(t, "restore|"+dst+"|"+full+"|"+inc)
	if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a killed restore left its target")
	}
	if code, out, stderr := runVerb("restore", "--in", full, "--in", inc, "--data", dst); code != 0 {
		t.Fatalf("restore after a killed one: %s%s", out, stderr)
	}
	if code, out, _ := runVerb("verify", "--data", dst); code != 0 {
		t.Fatalf("verify after restore:\n%s", out)
	}
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, stderr := runVerb(args...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, stderr)
	}
	return out
}

// killMidway runs the child with spec and SIGKILLs it once it says
// "midway".
func killMidway(t *testing.T, spec string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBackupRestoreCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), opsCrashEnv+"="+spec)
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
	var seen []string
	for sc.Scan() {
		seen = append(seen, sc.Text())
		if sc.Text() == "midway" {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			break
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the child was not killed midway (%v): %s\n%s", err, strings.Join(seen, "\n"), stderr.String())
	}
}

func TestRekey(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	oldKey, newKey := filepath.Join(dir, "old.key"), filepath.Join(dir, "new.key")
	os.WriteFile(oldKey, bytes.Repeat([]byte{1}, 32), 0o600)
	os.WriteFile(newKey, bytes.Repeat([]byte{2}, 16), 0o600)
	demoStore(t, data, bytes.Repeat([]byte{1}, 32), 20)
	inside := filepath.Join(data, "key")
	os.WriteFile(inside, bytes.Repeat([]byte{3}, 32), 0o600)
	if code, _, stderr := runVerb("rekey", "--data", data, "--encryption-key-file", oldKey, "--new-key-file", inside); code != 2 || !strings.Contains(stderr, "inside the data folder") {
		t.Fatalf("a new key inside the data folder: exit %d: %s", code, stderr)
	}
	os.Remove(inside)
	t.Setenv(store.KeyEnv, oldKey)
	if code, out, stderr := runVerb("rekey", "--data", data, "--new-key-file", newKey); code != 0 {
		t.Fatalf("rekey: %s%s", out, stderr)
	}
	if code, _, stderr := runVerb("verify", "--data", data); code == 0 || !strings.Contains(stderr, "cannot be opened") {
		t.Fatalf("the old key (from the environment) still opens the store: exit %d %s", code, stderr)
	}
	if code, out, stderr := runVerb("verify", "--data", data, "--encryption-key-file", newKey); code != 0 {
		t.Fatalf("verify with the new key: %s%s", out, stderr)
	}
}
