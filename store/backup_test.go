package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	badger "github.com/dgraph-io/badger/v4"

	"vigie"
)

// secret is a value the tests look for in the raw bytes of files.
const secret = "DUPONTEL-MARGUERITE"

func put(t *testing.T, db *DB, kv map[string]string) {
	t.Helper()
	err := Update(db, func(txn *Txn) error {
		for k, v := range kv {
			if v == "" {
				if err := txn.Delete([]byte(k)); err != nil {
					return err
				}
				continue
			}
			if err := txn.Set([]byte(k), []byte(v)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// dump returns every k/ key and value of db.
func dump(t *testing.T, db *DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := db.View(func(txn *Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte("k/"), PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out[string(it.Item().Key())] = string(v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// countK is a summary: the number of k/ keys.
func countK(txn *Txn) (Summary, error) {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte("k/")})
	defer it.Close()
	n := int64(0)
	for it.Rewind(); it.Valid(); it.Next() {
		n++
	}
	return Summary{Counts: map[string]int64{"k": n}}, nil
}

func backupTo(t *testing.T, db *DB, path string, o BackupOptions) Manifest {
	t.Helper()
	var buf bytes.Buffer
	o.Summarize = countK
	m, err := Backup(context.Background(), db, &buf, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBackupFullAndIncrementalRestore(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	for _, tc := range []struct {
		name     string
		storeKey []byte // the source store's key
		fileKey  []byte // the backups' key
		newKey   []byte // the restored store's key
	}{
		{"clear", nil, nil, nil},
		{"encrypted store and backups", key, key, key},
		{"clear store, encrypted backups, restored encrypted", nil, key, bytes.Repeat([]byte{9}, 16)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "src")
			db, err := Open(src, Options{EncryptionKey: tc.storeKey})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			put(t, db, map[string]string{"k/1": "one", "k/2": "two", "k/3": secret})
			full := backupTo(t, db, filepath.Join(dir, "full"), BackupOptions{Key: tc.fileKey})
			put(t, db, map[string]string{"k/2": "", "k/3": "three", "k/4": "four"})
			inc := backupTo(t, db, filepath.Join(dir, "inc"), BackupOptions{Key: tc.fileKey, Since: full.Version})
			if inc.Since != full.Version || inc.Version <= full.Version || inc.Pairs != 3 {
				t.Fatalf("incremental manifest %+v after full %+v: want since = full's version, 3 pairs", inc, full)
			}
			want := dump(t, db)

			dst := filepath.Join(dir, "dst")
			ms, err := Restore(dst, []string{filepath.Join(dir, "full"), filepath.Join(dir, "inc")},
				RestoreOptions{Key: tc.fileKey, Store: Options{EncryptionKey: tc.newKey}, Summarize: countK})
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) != 2 || ms[1].Counts["k"] != 3 {
				t.Fatalf("manifests %+v", ms)
			}
			rdb, err := Open(dst, Options{EncryptionKey: tc.newKey})
			if err != nil {
				t.Fatal(err)
			}
			got := dump(t, rdb)
			rid, _ := ID(rdb)
			sid, _ := ID(db)
			// A write after the restore must win over the restored versions.
			put(t, rdb, map[string]string{"k/1": "after"})
			after := dump(t, rdb)["k/1"]
			rdb.Close()
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("restored %v, want %v", got, want)
			}
			if rid != sid || rid == "" {
				t.Fatalf("restored store id %q, source %q", rid, sid)
			}
			if after != "after" {
				t.Fatalf("a write after the restore reads back %q", after)
			}
			if tc.fileKey != nil {
				for _, f := range []string{"full", "inc"} {
					b, _ := os.ReadFile(filepath.Join(dir, f))
					if bytes.Contains(b, []byte(secret)) || bytes.Contains(b, []byte("three")) {
						t.Fatalf("the encrypted backup %s holds a value in clear", f)
					}
				}
			}
			if tc.newKey != nil {
				if _, err := Open(dst, Options{}); vigie.ErrorCode(err) != vigie.EPERMISSION {
					t.Fatalf("the restored encrypted store opened without its key: %v", err)
				}
				db.Close()
				for _, d := range []string{dst, src} {
					if tc.storeKey == nil && d == src {
						continue
					}
					if found := grepDir(t, d, secret); found != "" {
						t.Fatalf("%s holds a value in clear", found)
					}
				}
			}
		})
	}
}

// grepDir returns the first file under dir holding s, or "".
func grepDir(t *testing.T, dir, s string) string {
	t.Helper()
	found := ""
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
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

func TestGrepFindsClearValues(t *testing.T) {
	// The encryption tests grep for the secret: it must be found in a
	// store written in clear, or they prove nothing.
	dir := t.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	put(t, db, map[string]string{"k/3": secret})
	db.Close()
	if grepDir(t, dir, secret) == "" {
		t.Fatal("the secret is not found in a store in clear")
	}
}

func TestRestoreRefuses(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(filepath.Join(dir, "src"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	put(t, db, map[string]string{"k/1": "one", "k/2": strings.Repeat("x", 5000)})
	full := backupTo(t, db, filepath.Join(dir, "full"), BackupOptions{})
	put(t, db, map[string]string{"k/3": "three"})
	inc := backupTo(t, db, filepath.Join(dir, "inc"), BackupOptions{Since: full.Version})
	put(t, db, map[string]string{"k/4": "four"})
	backupTo(t, db, filepath.Join(dir, "inc2"), BackupOptions{Since: inc.Version})
	backupTo(t, db, filepath.Join(dir, "enc"), BackupOptions{Key: bytes.Repeat([]byte{1}, 16)})
	db.Close()
	other, err := Open(filepath.Join(dir, "other"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	put(t, other, map[string]string{"k/1": "x"})
	backupTo(t, other, filepath.Join(dir, "otherinc"), BackupOptions{Since: full.Version})
	other.Close()
	raw, _ := os.ReadFile(filepath.Join(dir, "full"))
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flipped := bytes.Clone(raw)
	flipped[len(flipped)/2] ^= 1
	notEmpty := filepath.Join(dir, "notempty")
	os.MkdirAll(notEmpty, 0o700)
	os.WriteFile(filepath.Join(notEmpty, "x"), nil, 0o600)
	f := func(n string) string { return filepath.Join(dir, n) }
	for _, tc := range []struct {
		name   string
		target string
		files  []string
		key    []byte
		want   string
	}{
		{"truncated", "", []string{write("trunc", raw[:len(raw)-40])}, nil, "truncated"},
		{"cut in a frame", "", []string{write("trunc2", raw[:len(raw)/2])}, nil, "truncated"},
		{"a bit flipped", "", []string{write("flip", flipped)}, nil, "SHA-256 does not match"},
		{"not a backup", "", []string{write("junk", []byte("hello"))}, nil, "not a Vigie backup"},
		{"bytes appended", "", []string{write("tail", append(bytes.Clone(raw), 0))}, nil, "bytes follow its checksum"},
		{"incremental without base", "", []string{f("inc")}, nil, "base is missing"},
		{"wrong order", "", []string{f("full"), f("inc2")}, nil, "wrong order"},
		{"another store", "", []string{f("full"), f("otherinc")}, nil, "another store"},
		{"two fulls", "", []string{f("full"), f("full")}, nil, "can only come first"},
		{"encrypted without key", "", []string{f("enc")}, nil, "backup is encrypted"},
		{"encrypted, wrong key", "", []string{f("enc")}, bytes.Repeat([]byte{2}, 16), "does not decrypt"},
		{"target not empty", notEmpty, []string{f("full")}, nil, "not empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := tc.target
			if target == "" {
				target = filepath.Join(dir, "dst-"+strings.ReplaceAll(tc.name, " ", "-"))
			}
			_, err := Restore(target, tc.files, RestoreOptions{Key: tc.key})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
			if vigie.ErrorCode(err) != vigie.EINVALID {
				t.Fatalf("code %q, want invalid: %v", vigie.ErrorCode(err), err)
			}
			if tc.target == "" {
				if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("a refused restore left %s", target)
				}
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ".*.restore-*")); len(left) > 0 {
				t.Fatalf("temporary folders left: %v", left)
			}
		})
	}
}

func TestRestoreRefusesAFailedCheckAndLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(filepath.Join(dir, "src"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	put(t, db, map[string]string{"k/1": "one"})
	backupTo(t, db, filepath.Join(dir, "full"), BackupOptions{})
	db.Close()
	dst := filepath.Join(dir, "dst")
	_, err = Restore(dst, []string{filepath.Join(dir, "full")}, RestoreOptions{Summarize: func(*Txn) (Summary, error) {
		return Summary{Counts: map[string]int64{"k": 2}}, nil
	}})
	if err == nil || !strings.Contains(err.Error(), "differs from the manifest") {
		t.Fatalf("a summary that differs must refuse the restore, got %v", err)
	}
	_, err = Restore(dst, []string{filepath.Join(dir, "full")}, RestoreOptions{Check: func(*DB) error { return errors.New("broken link") }})
	if err == nil || !strings.Contains(err.Error(), "broken link") {
		t.Fatalf("a failed check must refuse the restore, got %v", err)
	}
	if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a refused restore installed the store")
	}
}

func TestBackupRefusesAVersionAhead(t *testing.T) {
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = Backup(context.Background(), db, &bytes.Buffer{}, BackupOptions{Since: 1 << 40})
	if vigie.ErrorField(err) != "since" {
		t.Fatalf("got %v, want an error on since", err)
	}
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	raw := bytes.Repeat([]byte{0xAB}, 32)
	for _, tc := range []struct {
		name    string
		content []byte
		inData  bool
		want    []byte
		wantErr string
	}{
		{"raw 32", raw, false, raw, ""},
		{"hex 16", []byte("000102030405060708090a0b0c0d0e0f\n"), false, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, ""},
		{"base64 24", []byte("q6urq6urq6urq6urq6urq6urq6urq6ur\n"), false, bytes.Repeat([]byte{0xAB}, 24), ""},
		{"too short", []byte("abc"), false, nil, "16, 24 or 32 bytes"},
		{"inside the data folder", raw, true, nil, "inside the data folder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			if tc.inData {
				p = filepath.Join(data, "key")
			}
			os.MkdirAll(filepath.Dir(p), 0o700)
			if err := os.WriteFile(p, tc.content, 0o600); err != nil {
				t.Fatal(err)
			}
			k, err := LoadKey("encryption-key-file", p, data)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || vigie.ErrorField(err) != "encryption-key-file" {
					t.Fatalf("got %v, want an error on the flag saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(k, tc.want) {
				t.Fatalf("got %x, %v; want %x", k, err, tc.want)
			}
		})
	}
}

func TestEncryptedStoreNeedsItsKeyAndRotates(t *testing.T) {
	dir := t.TempDir()
	k1, k2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	db, err := Open(dir, Options{EncryptionKey: k1})
	if err != nil {
		t.Fatal(err)
	}
	put(t, db, map[string]string{"k/1": secret})
	db.Close()
	if found := grepDir(t, dir, secret); found != "" {
		t.Fatalf("%s holds a value in clear", found)
	}
	for _, key := range [][]byte{nil, k2} {
		_, err := Open(dir, Options{EncryptionKey: key})
		if vigie.ErrorCode(err) != vigie.EPERMISSION || !strings.Contains(err.Error(), "cannot be opened with this key") {
			t.Fatalf("opened with key %x: %v", key, err)
		}
	}
	if err := RotateMasterKey(dir, k2, k1); vigie.ErrorCode(err) != vigie.EPERMISSION {
		t.Fatalf("rotation with the wrong current key: %v", err)
	}
	if err := RotateMasterKey(dir, k1, k2); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{EncryptionKey: k1}); vigie.ErrorCode(err) != vigie.EPERMISSION {
		t.Fatalf("the old key still opens the store: %v", err)
	}
	db, err = Open(dir, Options{EncryptionKey: k2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := dump(t, db)["k/1"]; got != secret {
		t.Fatalf("after rotation k/1 = %q", got)
	}
}

func TestLayoutUpgradeAndDowngrade(t *testing.T) {
	for _, tc := range []struct {
		name    string
		stored  []byte // s/layout (nil: absent, a store of layout 0)
		dropID  bool
		wantErr string
	}{
		{"layout 0: no version key", nil, true, ""},
		{"layout 1: no identity", []byte{1}, true, ""},
		{"current", []byte{LayoutVersion}, false, ""},
		{"newer: downgrade refused", []byte{LayoutVersion + 1}, false, "newer than this build"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			// The fixture: a store written in the earlier format, made by
			// rewriting the keys this build writes.
			db, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			put(t, db, map[string]string{"k/1": "one"})
			err = db.b.Update(func(txn *Txn) error {
				if tc.dropID {
					if err := txn.Delete(idKey); err != nil {
						return err
					}
				}
				if tc.stored == nil {
					return txn.Delete(layoutKey)
				}
				return txn.Set(layoutKey, tc.stored)
			})
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
			db, err = Open(dir, Options{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || vigie.ErrorCode(err) != vigie.ECONFLICT {
					t.Fatalf("got %v, want a conflict saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			v, err := Layout(db)
			id, ierr := ID(db)
			if err != nil || ierr != nil || v != LayoutVersion || len(id) != 32 {
				t.Fatalf("after opening: layout %d (%v), id %q (%v)", v, err, id, ierr)
			}
			if dump(t, db)["k/1"] != "one" {
				t.Fatal("the upgrade lost data")
			}
		})
	}
}
