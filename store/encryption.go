package store

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"vigie"
)

// Encryption at rest.
//
// A store opened with Options.EncryptionKey (the master key) is encrypted
// by Badger: every table and value-log file with AES in counter mode under
// a data key, the data keys kept in the file KEYREGISTRY encrypted under
// the master key. Badger makes a new data key every DataKeyRotation (new
// files use it; old files keep theirs until compacted away). The master key
// never reaches the data folder: LoadKey refuses a key file inside it.
//
// The master key is changed with RotateMasterKey (vigie rekey), which
// rewrites KEYREGISTRY alone, the data keys re-encrypted under the new
// master key: the old master key no longer opens the store. A store is
// encrypted, or stops being encrypted, only through a backup restored with
// (or without) a key: its files are written at restore.

// DataKeyRotation is how long Badger uses one data key before making the
// next (Badger's default, stated here so that it is documented).
const DataKeyRotation = 10 * 24 * time.Hour

// KeyEnv is the environment variable naming the key file when no
// --encryption-key-file is given.
const KeyEnv = "VIGIE_ENCRYPTION_KEY_FILE"

// LoadKey reads a master key (or a backup key) from the file at path: 16,
// 24 or 32 bytes (AES-128, -192, -256), given raw, or as hex or standard
// base64 text (surrounding white space ignored). dataDir, when not empty,
// is the store's folder: a key file inside it is refused, since a copy of
// the folder would carry its key. field names the flag in errors.
func LoadKey(field, path, dataDir string) ([]byte, error) {
	if path == "" {
		return nil, vigie.Invalid(field, "empty path")
	}
	if dataDir != "" {
		inside, err := within(path, dataDir)
		if err != nil {
			return nil, vigie.Invalid(field, "%v", err)
		}
		if inside {
			return nil, vigie.Invalid(field, "the key file %s is inside the data folder %s: keep it elsewhere (a copy of the folder would carry its key)", path, dataDir)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, vigie.Invalid(field, "%v", err)
	}
	key, err := parseKey(b)
	if err != nil {
		return nil, vigie.Invalid(field, "%s: %v", path, err)
	}
	return key, nil
}

// parseKey accepts a key of 16, 24 or 32 bytes, raw, hex or base64.
func parseKey(b []byte) ([]byte, error) {
	if validKeyLen(len(b)) {
		return bytes.Clone(b), nil
	}
	text := strings.TrimSpace(string(b))
	if k, err := hex.DecodeString(text); err == nil && validKeyLen(len(k)) {
		return k, nil
	}
	if k, err := base64.StdEncoding.DecodeString(text); err == nil && validKeyLen(len(k)) {
		return k, nil
	}
	if validKeyLen(len(text)) {
		return []byte(text), nil
	}
	return nil, fmt.Errorf("not a key of 16, 24 or 32 bytes, raw, hex or base64 (%d bytes read)", len(b))
}

func validKeyLen(n int) bool { return n == 16 || n == 24 || n == 32 }

// within reports whether path lies inside dir (both resolved to absolute
// paths, symbolic links followed where they exist).
func within(path, dir string) (bool, error) {
	resolve := func(p string) (string, error) {
		a, err := filepath.Abs(p)
		if err != nil {
			return "", err
		}
		if r, err := filepath.EvalSymlinks(a); err == nil {
			return r, nil
		}
		// A folder not created yet: resolve its parent.
		if r, err := filepath.EvalSymlinks(filepath.Dir(a)); err == nil {
			return filepath.Join(r, filepath.Base(a)), nil
		}
		return a, nil
	}
	p, err := resolve(path)
	if err != nil {
		return false, err
	}
	d, err := resolve(dir)
	if err != nil {
		return false, err
	}
	rel, err := filepath.Rel(d, p)
	if err != nil {
		return false, nil
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))), nil
}

// keyError turns Badger's refusal of a key into an error saying what to
// do; other errors pass unchanged.
func keyError(dir string, encrypted bool, err error) error {
	if !errors.Is(err, badger.ErrEncryptionKeyMismatch) {
		return err
	}
	why := "the store is encrypted and no key was given (--encryption-key-file or " + KeyEnv + ")"
	if encrypted {
		why = "the key is not this store's (or the store is not encrypted)"
	}
	return fmt.Errorf("store: open %s: %w", dir, &vigie.Error{Code: vigie.EPERMISSION, Field: "encryption-key-file",
		Message: "the store cannot be opened with this key: " + why})
}

// RotateMasterKey re-encrypts the data keys of the store in dir under
// newKey, so that oldKey (nil for an unencrypted store: refused) no longer
// opens it. The store must be closed (no server on it): the store's lock
// is taken by opening it with oldKey first, which also proves the key. The
// registry is rewritten to a temporary file and renamed over the old one:
// a crash leaves the old or the new registry, never half of one.
func RotateMasterKey(dir string, oldKey, newKey []byte) error {
	if len(oldKey) == 0 {
		return vigie.Invalid("encryption-key-file", "the store's current key is required; an unencrypted store is encrypted by a backup restored with a key")
	}
	if !validKeyLen(len(newKey)) {
		return vigie.Invalid("new-key-file", "a key has 16, 24 or 32 bytes, got %d", len(newKey))
	}
	if bytes.Equal(oldKey, newKey) {
		return vigie.Invalid("new-key-file", "the new key is the current key")
	}
	db, err := Open(dir, Options{EncryptionKey: oldKey, DiskReserve: 1})
	if err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("store: rotate key: close: %w", err)
	}
	opt := badger.KeyRegistryOptions{Dir: dir, ReadOnly: true, EncryptionKey: oldKey, EncryptionKeyRotationDuration: DataKeyRotation}
	kr, err := badger.OpenKeyRegistry(opt)
	if err != nil {
		return keyError(dir, true, fmt.Errorf("store: rotate key: %w", err))
	}
	defer kr.Close()
	opt.EncryptionKey = newKey
	if err := badger.WriteKeyRegistry(kr, opt); err != nil {
		return fmt.Errorf("store: rotate key: write the key registry: %w", err)
	}
	return syncDir(dir)
}

// syncDir fsyncs a folder, making a rename or a new file in it durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
