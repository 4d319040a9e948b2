package store

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"vigie"
)

// The backup file (format 1). Integers are big-endian.
//
//	magic     "VIGIEBAK" (8 bytes)
//	header    uint32 length, then the BackupHeader as JSON: what the file
//	          is (format, store, versions, cipher), in clear, no patient data
//	frames    uint32 length, then the frame, sealed with AES-GCM when the
//	          header names a cipher. A frame's clear content is one kind
//	          byte and its payload:
//	            'D' a piece of the data: Badger's backup stream (a uint64
//	                little-endian length and a protobuf KVList, repeated;
//	                what badger.DB.Backup writes and DB.Load reads)
//	            'T' the trailer, the last frame: the Manifest as JSON
//	checksum  the SHA-256 of every byte before it (32 bytes), then the end
//
// Encryption: the file key is HKDF-SHA256 of the backup key, with the
// header's random 32-byte salt and the info "vigie backup 1"; frame n is
// sealed with AES-256-GCM, nonce = 4 zero bytes and n as a uint64, the
// header's bytes as additional data. A frame moved, dropped or altered, a
// header altered, or a file cut short does not open, or lacks its trailer.

// BackupFormat is the backup file format this build writes and reads.
const BackupFormat = 1

const (
	backupMagic    = "VIGIEBAK"
	backupCipher   = "AES-256-GCM/HKDF-SHA256"
	backupKDFInfo  = "vigie backup 1"
	frameData      = 'D'
	frameTrailer   = 'T'
	maxFrame       = 16 << 20 // a data frame holds about 1 MiB; the bound refuses a damaged length
	maxHeaderBytes = 64 << 10
)

// BackupHeader opens a backup file, in clear.
type BackupHeader struct {
	Format  int    `json:"format"`   // BackupFormat of the build that wrote it
	Layout  int    `json:"layout"`   // the store's LayoutVersion
	StoreID string `json:"store_id"` // the store's identity (see ID)
	// Since is 0 for a full backup; for an incremental, the Version of
	// the backup it continues: it holds what changed after it.
	Since uint64 `json:"since"`
	// Version is the store's version the backup reached: every commit up
	// to it, none after (the read timestamp of its snapshot). The next
	// incremental is taken with --since Version.
	Version uint64    `json:"version"`
	Created time.Time `json:"created"`
	Cipher  string    `json:"cipher,omitempty"` // "" (in clear) or backupCipher
	Salt    []byte    `json:"salt,omitempty"`
}

// Manifest describes a backup: its header and trailer.
type Manifest struct {
	BackupHeader
	// Pairs is the number of key-value pairs in the file (deletions
	// included, for an incremental).
	Pairs int64 `json:"pairs"`
	// Summary describes the whole store at Version (not only what an
	// incremental holds).
	Summary
	// SHA256 is the file's checksum (hex), set when a file is read.
	SHA256 string `json:"sha256,omitempty"`
}

// Summary is what a backup says of the store it copies, computed in the
// snapshot the backup reads: counts by kind (source records, identities,
// exams…) and the audit trail's head.
type Summary struct {
	Counts    map[string]int64 `json:"counts"`
	AuditSeq  uint64           `json:"audit_seq"`
	AuditHash string           `json:"audit_hash,omitempty"`
}

// damaged returns the error of a file that cannot be restored.
func damaged(format string, args ...any) error {
	return &vigie.Error{Code: vigie.EINVALID, Field: "in", Message: fmt.Sprintf(format, args...)}
}

// fileKey derives a backup file's key from the backup key and salt.
func fileKey(key, salt []byte) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, key, salt, backupKDFInfo, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// frameWriter writes a backup file.
type frameWriter struct {
	hdr   BackupHeader // as written, with its cipher and salt
	w     io.Writer    // the file and the checksum
	h     hash.Hash
	out   io.Writer
	aead  cipher.AEAD
	aad   []byte
	n     uint64
	plain []byte
	seal  []byte
}

// newFrameWriter writes the magic and header to out; key (nil: in clear)
// encrypts the frames.
func newFrameWriter(out io.Writer, hdr BackupHeader, key []byte) (*frameWriter, error) {
	fw := &frameWriter{h: sha256.New(), out: out}
	fw.w = io.MultiWriter(out, fw.h)
	if len(key) > 0 {
		hdr.Cipher = backupCipher
		hdr.Salt = make([]byte, 32)
		_, _ = rand.Read(hdr.Salt)
		aead, err := fileKey(key, hdr.Salt)
		if err != nil {
			return nil, fmt.Errorf("backup: key: %w", err)
		}
		fw.aead = aead
	}
	hb, err := json.Marshal(hdr)
	if err != nil {
		return nil, err
	}
	fw.hdr, fw.aad = hdr, hb
	if _, err := io.WriteString(fw.w, backupMagic); err != nil {
		return nil, err
	}
	if err := fw.writeLen(len(hb)); err != nil {
		return nil, err
	}
	if _, err := fw.w.Write(hb); err != nil {
		return nil, err
	}
	return fw, nil
}

func (fw *frameWriter) writeLen(n int) error {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(n))
	_, err := fw.w.Write(b[:])
	return err
}

// frame writes one frame of the given kind.
func (fw *frameWriter) frame(kind byte, p []byte) error {
	fw.plain = append(append(fw.plain[:0], kind), p...)
	out := fw.plain
	if fw.aead != nil {
		fw.seal = fw.aead.Seal(fw.seal[:0], nonce(fw.n), fw.plain, fw.aad)
		out = fw.seal
	}
	fw.n++
	if err := fw.writeLen(len(out)); err != nil {
		return err
	}
	_, err := fw.w.Write(out)
	return err
}

// finish writes the trailer and the checksum; it returns the checksum.
func (fw *frameWriter) finish(m Manifest) (string, error) {
	m.SHA256 = ""
	tb, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	if err := fw.frame(frameTrailer, tb); err != nil {
		return "", err
	}
	sum := fw.h.Sum(nil)
	if _, err := fw.out.Write(sum); err != nil {
		return "", err
	}
	return hex.EncodeToString(sum), nil
}

func nonce(n uint64) []byte {
	b := make([]byte, 12)
	binary.BigEndian.PutUint64(b[4:], n)
	return b
}

// ReadBackupHeader reads the header of a backup file, without checking the
// rest (ReadBackup does).
func ReadBackupHeader(r io.Reader) (BackupHeader, error) {
	hdr, _, err := readHeader(r)
	return hdr, err
}

func readHeader(r io.Reader) (BackupHeader, []byte, error) {
	var hdr BackupHeader
	magic := make([]byte, len(backupMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != backupMagic {
		return hdr, nil, damaged("not a Vigie backup (no VIGIEBAK magic at its start)")
	}
	var lb [4]byte
	if _, err := io.ReadFull(r, lb[:]); err != nil {
		return hdr, nil, damaged("truncated: it ends inside its header")
	}
	n := binary.BigEndian.Uint32(lb[:])
	if n > maxHeaderBytes {
		return hdr, nil, damaged("damaged: a header of %d bytes", n)
	}
	hb := make([]byte, n)
	if _, err := io.ReadFull(r, hb); err != nil {
		return hdr, nil, damaged("truncated: it ends inside its header")
	}
	if err := json.Unmarshal(hb, &hdr); err != nil {
		return hdr, nil, damaged("damaged header: %v", err)
	}
	if hdr.Format > BackupFormat || hdr.Format < 1 {
		return hdr, nil, damaged("backup format %d: this build reads format %d (a backup of a later vigie is restored by that version)", hdr.Format, BackupFormat)
	}
	return hdr, hb, nil
}

// ReadBackup reads a whole backup file, checks it and returns its
// manifest; data, when not nil, receives the payload of every data frame
// in order (Badger's backup stream). key is the backup key, required for
// an encrypted file. A file that is not a backup, truncated, altered
// (checksum, a frame that does not decrypt) or of a later format is
// refused with an EINVALID error saying which; data is then called for a
// prefix of the frames at most, so a caller that must not act on a bad
// file reads it once with data nil first.
func ReadBackup(r io.Reader, key []byte, data func([]byte) error) (Manifest, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	h := sha256.New()
	tr := io.TeeReader(br, h)
	hdr, hb, err := readHeader(tr)
	if err != nil {
		return Manifest{}, err
	}
	var aead cipher.AEAD
	switch {
	case hdr.Cipher == "":
	case hdr.Cipher != backupCipher:
		return Manifest{}, damaged("unknown cipher %q", hdr.Cipher)
	case len(key) == 0:
		return Manifest{}, &vigie.Error{Code: vigie.EINVALID, Field: "backup-key-file",
			Message: "the backup is encrypted: give its key (--backup-key-file, or --encryption-key-file when the store's key encrypted it)"}
	default:
		if aead, err = fileKey(key, hdr.Salt); err != nil {
			return Manifest{}, err
		}
	}
	var m Manifest
	var buf, plain []byte
	for n := uint64(0); ; n++ {
		var lb [4]byte
		if _, err := io.ReadFull(tr, lb[:]); err != nil {
			return Manifest{}, damaged("truncated: it ends after %d frames, without its trailer (an interrupted backup?)", n)
		}
		size := binary.BigEndian.Uint32(lb[:])
		if size > maxFrame || size == 0 {
			return Manifest{}, damaged("damaged: frame %d claims %d bytes", n, size)
		}
		if cap(buf) < int(size) {
			buf = make([]byte, size)
		}
		buf = buf[:size]
		if _, err := io.ReadFull(tr, buf); err != nil {
			return Manifest{}, damaged("truncated: it ends inside frame %d", n)
		}
		plain = buf
		if aead != nil {
			if plain, err = aead.Open(plain[:0:0], nonce(n), buf, hb); err != nil {
				if n == 0 {
					return Manifest{}, &vigie.Error{Code: vigie.EINVALID, Field: "backup-key-file",
						Message: "the backup does not decrypt with this key (the wrong key, or an altered file)"}
				}
				return Manifest{}, damaged("damaged: frame %d does not decrypt (altered)", n)
			}
		}
		if len(plain) == 0 {
			return Manifest{}, damaged("damaged: empty frame %d", n)
		}
		if plain[0] == frameTrailer {
			if err := json.Unmarshal(plain[1:], &m); err != nil {
				return Manifest{}, damaged("damaged trailer: %v", err)
			}
			break
		}
		if plain[0] != frameData {
			return Manifest{}, damaged("damaged: frame %d of unknown kind %q", n, plain[0])
		}
		if data != nil {
			if err := data(plain[1:]); err != nil {
				return Manifest{}, err
			}
		}
	}
	want := h.Sum(nil)
	got := make([]byte, sha256.Size)
	if _, err := io.ReadFull(br, got); err != nil {
		return Manifest{}, damaged("truncated: its checksum is missing")
	}
	if !bytes.Equal(got, want) {
		return Manifest{}, damaged("damaged: its SHA-256 does not match its content")
	}
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		return Manifest{}, damaged("damaged: bytes follow its checksum")
	}
	if !sameHeader(m.BackupHeader, hdr) {
		return Manifest{}, damaged("damaged: its trailer does not match its header")
	}
	m.SHA256 = hex.EncodeToString(got)
	return m, nil
}

func sameHeader(a, b BackupHeader) bool {
	return a.Format == b.Format && a.Layout == b.Layout && a.StoreID == b.StoreID && a.Since == b.Since &&
		a.Version == b.Version && a.Created.Equal(b.Created) && a.Cipher == b.Cipher && bytes.Equal(a.Salt, b.Salt)
}
