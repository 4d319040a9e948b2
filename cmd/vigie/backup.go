package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"vigie"
	"vigie/rpc/admin"
	"vigie/store"
)

func init() {
	register(verb{name: "backup", summary: "write a full or incremental backup of a store (--data, server stopped) or of a running server (--server)", run: runBackup})
}

func runBackup(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("backup", stderr)
	data := fs.String("data", "", "folder of the Vigie store, the same for every verb and vigie serve (required unless --server; no server may hold it)")
	server := fs.String("server", "", "base URL of a running vigie serve, e.g. https://vigie.example: the backup is taken by the server (admin role)")
	tokenFile := fs.String("token-file", "", "with --server: file holding an admin API key")
	out := fs.String("out", "", "backup file to write (required; written as FILE.partial and renamed once complete)")
	since := fs.Uint64("since", 0, "incremental: the version reached by the previous backup (printed by it); 0: a full backup")
	keyFile := encryptionKeyFlag(fs)
	backupKeyFile := fs.String("backup-key-file", "", "file holding the key the backup is encrypted with (default: the store's key; none: in clear)")
	var rate byteSize
	fs.Var(&rate, "rate", "with --server: the pace the server writes this backup at, in bytes per second, e.g. 50MiB (default: its --backup-rate; 0: unpaced, for a maintenance window)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	query := url.Values{}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "rate" {
			query.Set("rate", strconv.FormatInt(int64(rate), 10))
		}
	})
	if query.Has("rate") && *server == "" {
		return usageErr("--rate paces an online backup: it goes with --server (a backup of a stopped store is never paced)")
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	if *out == "" {
		return usageErr("--out FILE is required")
	}
	if (*data == "") == (*server == "") {
		return usageErr("give exactly one of --data DIR (a stopped store) or --server URL (a running one)")
	}
	if *server != "" {
		// The server encrypts with its own key; the local key, when
		// given, is used to check the file received.
		key, err := backupKey(*backupKeyFile, *keyFile, "")
		if err != nil {
			return err
		}
		return backupFromServer(*server, *tokenFile, *since, query, *out, key, stdout)
	}
	if _, err := os.Stat(*data); err != nil {
		return usageErr("--data: %v", err)
	}
	skey, err := storeKey(*keyFile, *data)
	if err != nil {
		return err
	}
	key := skey
	if *backupKeyFile != "" {
		if key, err = store.LoadKey("backup-key-file", *backupKeyFile, *data); err != nil {
			return err
		}
	}
	db, err := openStore(*data, store.Options{EncryptionKey: skey})
	if storeInUse(err) {
		return fmt.Errorf("%w, or back the running server up with --server URL", err)
	} else if err != nil {
		return err
	}
	defer db.Close()
	m, err := writeAtomically(*out, func(w io.Writer) (store.Manifest, error) {
		return store.Backup(context.Background(), db, w, store.BackupOptions{Since: *since, Key: key, Summarize: admin.Summarize})
	})
	if err != nil {
		return err
	}
	printManifest(stdout, *out, m)
	return nil
}

// backupKey returns the backup key: --backup-key-file, else the store's
// key (--encryption-key-file or $VIGIE_ENCRYPTION_KEY_FILE), else nil.
func backupKey(backupKeyFile, keyFile, data string) ([]byte, error) {
	if backupKeyFile != "" {
		return store.LoadKey("backup-key-file", backupKeyFile, data)
	}
	return storeKey(keyFile, data)
}

// writeAtomically writes a file through write into path.partial, syncs it
// and renames it to path: path holds a whole backup or is not written.
func writeAtomically(path string, write func(io.Writer) (store.Manifest, error)) (store.Manifest, error) {
	tmp := path + ".partial"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return store.Manifest{}, vigie.Invalid("out", "%v", err)
	}
	m, err := write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return store.Manifest{}, err
	}
	// The rename is durable once the folder is synced: a backup the
	// operator is told is written must survive a power loss.
	if err := syncDir(filepath.Dir(path)); err != nil {
		return store.Manifest{}, fmt.Errorf("%s is written but its folder could not be synced (a power loss may lose it): %w", path, err)
	}
	return m, nil
}

// syncDir syncs a folder, so that a file renamed into it stays there.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// backupFromServer asks a running server for a backup and writes it to
// out, checked: whole (its checksum; with the key, every frame and the
// manifest) before it is renamed into place.
func backupFromServer(server, tokenFile string, since uint64, query url.Values, out string, key []byte, stdout io.Writer) error {
	if tokenFile == "" {
		return usageErr("--server needs --token-file (an admin API key)")
	}
	tok, err := os.ReadFile(tokenFile)
	if err != nil {
		return vigie.Invalid("token-file", "%v", err)
	}
	u, err := url.Parse(strings.TrimRight(server, "/") + admin.BackupPath)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return vigie.Invalid("server", "%q is not an http(s) URL", server)
	}
	if since > 0 {
		query.Set("since", strconv.FormatUint(since, 10))
	}
	u.RawQuery = query.Encode()
	req, err := http.NewRequest(http.MethodGet, u.String(), nil)
	if err != nil {
		return vigie.Invalid("server", "%v", err)
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	client := &http.Client{Timeout: 24 * time.Hour}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		text := fmt.Sprintf("the server refused the backup: %s: %s", resp.Status, strings.TrimSpace(string(msg)))
		switch resp.StatusCode {
		case http.StatusBadRequest:
			field := "since"
			if strings.Contains(text, "rate:") {
				field = "rate"
			}
			return vigie.Invalid(field, "%s", text)
		case http.StatusUnauthorized, http.StatusForbidden:
			return &vigie.Error{Code: vigie.EPERMISSION, Field: "token-file", Message: text}
		}
		return fmt.Errorf("backup: %s (request %s)", text, resp.Header.Get("X-Request-Id"))
	}
	m, err := writeAtomically(out, func(w io.Writer) (store.Manifest, error) {
		if _, err := io.Copy(w, resp.Body); err != nil {
			return store.Manifest{}, fmt.Errorf("backup: the transfer was cut: %w", err)
		}
		f, err := os.Open(out + ".partial")
		if err != nil {
			return store.Manifest{}, err
		}
		defer f.Close()
		if key == nil {
			return checksumOnly(f)
		}
		return store.ReadBackup(f, key, nil)
	})
	if err != nil {
		return err
	}
	printManifest(stdout, out, m)
	return nil
}

// checksumOnly checks a backup file whose key the caller does not hold:
// its header and its SHA-256. The manifest, encrypted, stays unread.
func checksumOnly(f *os.File) (store.Manifest, error) {
	hdr, err := store.ReadBackupHeader(f)
	if err != nil {
		return store.Manifest{}, err
	}
	st, err := f.Stat()
	if err != nil {
		return store.Manifest{}, err
	}
	if st.Size() < sha256.Size {
		return store.Manifest{}, fmt.Errorf("backup: the file received is truncated")
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return store.Manifest{}, err
	}
	h := sha256.New()
	if _, err := io.CopyN(h, f, st.Size()-sha256.Size); err != nil {
		return store.Manifest{}, err
	}
	sum := make([]byte, sha256.Size)
	if _, err := io.ReadFull(f, sum); err != nil {
		return store.Manifest{}, err
	}
	if hex.EncodeToString(sum) != hex.EncodeToString(h.Sum(nil)) {
		return store.Manifest{}, fmt.Errorf("backup: the file received is truncated or damaged (its SHA-256 does not match)")
	}
	return store.Manifest{BackupHeader: hdr, SHA256: hex.EncodeToString(sum), Pairs: -1}, nil
}

func printManifest(w io.Writer, path string, m store.Manifest) {
	kind := "full"
	if m.Since > 0 {
		kind = fmt.Sprintf("incremental since version %d", m.Since)
	}
	enc := "in clear"
	if m.Cipher != "" {
		enc = "encrypted (" + m.Cipher + ")"
	}
	fmt.Fprintf(w, "backup %s: %s, %s, store %s layout %d\n", path, kind, enc, m.StoreID, m.Layout)
	fmt.Fprintf(w, "version reached: %d (the next incremental: --since %d)\n", m.Version, m.Version)
	if m.Pairs >= 0 {
		fmt.Fprintf(w, "%d key-value pairs; store: %d source records, %d identities, %d exams; audit head %d:%s\n",
			m.Pairs, m.Counts["records"], m.Counts["identities"], m.Counts["exams"], m.AuditSeq, m.AuditHash)
	} else {
		fmt.Fprintln(w, "manifest not read (encrypted, and no key given here): checksum checked")
	}
	fmt.Fprintf(w, "sha256: %s\n", m.SHA256)
}
