package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"vigie"
	"vigie/store"
)

// HeadIn returns the sequence and hash of the trail's last entry as txn
// sees it (0 and the genesis hash for an empty trail), read-only: the head
// a backup's manifest records, in the backup's snapshot.
func HeadIn(txn *store.Txn) (uint64, []byte, error) {
	it := txn.NewIterator(store.IteratorOptions{Reverse: true, Prefix: []byte(logPrefix)})
	defer it.Close()
	it.Seek([]byte(logPrefix + "\xff"))
	if !it.Valid() {
		return 0, genesis, nil
	}
	var e Entry
	if err := it.Item().Value(func(v []byte) error { return decode(v, &e) }); err != nil {
		return 0, nil, fmt.Errorf("audit: read the head %s: %w", it.Item().Key(), err)
	}
	return e.Seq, e.Hash, nil
}

// Anchor is one line of an anchor file: the head of the trail (its last
// entry's sequence and hash) at a time. The server appends one
// periodically and at shutdown to a file outside the data folder (and
// optionally to syslog), so that entries removed from the end of the
// trail, which the chain alone cannot show, are detected by VerifyAnchors.
type Anchor struct {
	Seq  uint64
	Hash []byte
	Time time.Time
}

// String is the anchor's line, without its newline: "SEQ HASH TIME"
// (hexadecimal hash, RFC 3339 time).
func (a Anchor) String() string {
	return fmt.Sprintf("%d %s %s", a.Seq, hex.EncodeToString(a.Hash), a.Time.UTC().Format(time.RFC3339))
}

// AppendAnchor appends a line to the anchor file at path (created with
// mode 0600 when missing, opened append-only) and syncs it.
func AppendAnchor(path string, a Anchor) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit: anchor: %w", err)
	}
	_, err = f.WriteString(a.String() + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("audit: anchor %s: %w", path, err)
	}
	return nil
}

// ReadAnchors reads an anchor file; a malformed line is an error naming
// it.
func ReadAnchors(r io.Reader) ([]Anchor, error) {
	var out []Anchor
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		var a Anchor
		var err error
		if len(f) != 3 {
			err = errors.New("want SEQ HASH TIME")
		} else if a.Seq, err = strconv.ParseUint(f[0], 10, 64); err == nil {
			if a.Hash, err = hex.DecodeString(f[1]); err == nil && len(a.Hash) != sha256.Size {
				err = errors.New("the hash is not 64 hexadecimal digits")
			}
			if err == nil {
				a.Time, err = time.Parse(time.RFC3339, f[2])
			}
		}
		if err != nil {
			return nil, fmt.Errorf("audit: anchor line %d: %w", n, err)
		}
		out = append(out, a)
	}
	return out, sc.Err()
}

// VerifyAnchors checks the trail against the heads anchored earlier: each
// anchored entry must still be there with the hash anchored. It returns
// the first anchor the trail no longer holds (a truncated tail: the entry
// is gone; or a rewritten one: its hash differs) as a Break, or nil. Run
// it after Verify, which checks the chain up to the head.
func (l *Log) VerifyAnchors(anchors []Anchor) (*Break, error) {
	head, _ := l.Head()
	for _, a := range anchors {
		if a.Seq == 0 {
			continue // anchored while the trail was empty
		}
		if a.Seq > head {
			return &Break{a.Seq, fmt.Sprintf("truncated: the trail ends at entry %d, but entry %d was anchored at %s", head, a.Seq, a.Time.Format(time.RFC3339))}, nil
		}
		e, err := l.Get(a.Seq)
		if vigie.ErrorCode(err) == vigie.ENOTFOUND {
			return &Break{a.Seq, fmt.Sprintf("missing: the entry anchored at %s is gone", a.Time.Format(time.RFC3339))}, nil
		}
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(e.Hash, a.Hash) {
			return &Break{a.Seq, fmt.Sprintf("rewritten: the entry's hash is not the one anchored at %s", a.Time.Format(time.RFC3339))}, nil
		}
	}
	return nil, nil
}
