package mpi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"vigie"
)

// EachLink and LinkReader read from the store what Scan reads through the
// index: the same records, in the same order, with the same identities.
func TestEachLinkAgreesWithScan(t *testing.T) {
	ix := openIndex(t, nil)
	for _, r := range []vigie.Record{person("1.2.3", "A1"), person("1.2.4", "B,1"), other("1.2.3", "A2"), other("1.2.5", "C")} {
		resolve(t, ix, r)
	}
	type link struct {
		k  vigie.SourceKey
		id vigie.IdentityID
	}
	var want, got, method []link
	if err := ix.Scan(ctx, func(k vigie.SourceKey, id vigie.IdentityID, _ vigie.Record) error {
		want = append(want, link{k, id})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := EachLink(ctx, ix.db, func(k vigie.SourceKey, id vigie.IdentityID) error {
		got = append(got, link{k, id})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := ix.Links(ctx, func(k vigie.SourceKey, id vigie.IdentityID) error {
		method = append(method, link{k, id})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(want) != 4 || len(got) != len(want) || len(method) != len(want) {
		t.Fatalf("Scan %d links, EachLink %d, Links %d; want 4 each", len(want), len(got), len(method))
	}
	// In key order: 1.2.3/A1, 1.2.3/A2, 1.2.4/B,1, 1.2.5/C.
	if want[0].id != want[2].id || want[0].id == want[1].id {
		t.Fatalf("the two records of one person should share an identity, the others not: %v", want)
	}
	r := NewLinkReader(ix.db)
	defer r.Close()
	for i := range want {
		if got[i] != want[i] || method[i] != want[i] {
			t.Errorf("link %d: EachLink %v, Links %v, Scan %v", i, got[i], method[i], want[i])
		}
		id, found, err := r.Identity(want[i].k)
		if err != nil || !found || id != want[i].id {
			t.Errorf("LinkReader.Identity(%s) = %v, %v, %v; want %v", want[i].k, id, found, err, want[i].id)
		}
	}
	if id, found, err := r.Identity(vigie.SourceKey{Authority: "1.2.3", LocalID: "none"}); err != nil || found || id != 0 {
		t.Errorf("an unknown record: %v, %v, %v; want not found", id, found, err)
	}
	// fn's error stops the walk and is returned as it is.
	stop := errors.New("stop")
	n := 0
	if err := EachLink(ctx, ix.db, func(vigie.SourceKey, vigie.IdentityID) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("EachLink after fn failed: %v after %d calls, want stop after 1", err, n)
	}
}

// recordIdentity reads the identity of both encodings of a record state,
// and refuses a truncated compact value.
func TestRecordIdentity(t *testing.T) {
	st := recordState{Version: 300, Identity: 1 << 40, Record: person("1.2.3", "A1"), Blocks: []string{"a\x00b"}}
	js, err := json.Marshal(&st)
	if err != nil {
		t.Fatal(err)
	}
	bin := encodeRecordState(&st)
	for _, c := range []struct {
		name string
		v    []byte
		want vigie.IdentityID
		ok   bool
	}{
		{"compact", bin, st.Identity, true},
		{"JSON of earlier builds", append([]byte{schemaVersion}, js...), st.Identity, true},
		{"compact, cut in the version", bin[:2], 0, false},
		{"compact, cut in the identity", bin[:4], 0, false},
		{"empty", nil, 0, false},
	} {
		id, err := recordIdentity(c.v)
		if (err == nil) != c.ok || id != c.want {
			t.Errorf("%s: %v, %v; want %v (ok %v)", c.name, id, err, c.want, c.ok)
		}
	}
}

// WriteLinks writes the rows in key order whatever the parts the key
// space is cut into and the number of workers, and stops at w's error.
func TestWriteLinkParts(t *testing.T) {
	ix := openIndex(t, nil)
	var keys [][]byte
	for i := range 60 {
		r := other("1.2.3", fmt.Sprintf("L%03d", i))
		if i%3 == 0 {
			r = person("1.2.4", fmt.Sprintf("P%03d", i))
		}
		resolve(t, ix, r)
		keys = append(keys, recordKey(key(r)))
	}
	row := func(b []byte, k vigie.SourceKey, id vigie.IdentityID) []byte {
		return fmt.Appendf(b, "%s,%s,%d\n", k.Authority, k.LocalID, id)
	}
	var want strings.Builder
	if err := ix.Links(ctx, func(k vigie.SourceKey, id vigie.IdentityID) error {
		want.Write(row(nil, k, id))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Count(want.String(), "\n") != 60 {
		t.Fatalf("%d links, want 60", strings.Count(want.String(), "\n"))
	}
	slices.SortFunc(keys, bytes.Compare)
	cuts := map[string][][]byte{
		"none":                   nil,
		"one in the middle":      {keys[30]},
		"at every record":        keys,
		"before and after all":   {[]byte(pRecord), []byte(pRecord + "\xff")},
		"between and on records": {keys[0], append(slices.Clone(keys[10]), 0), keys[11], keys[59]},
		"every other, many parts": func() (s [][]byte) {
			for i := 0; i < 60; i += 2 {
				s = append(s, keys[i])
			}
			return
		}(),
	}
	for name, splits := range cuts {
		for _, workers := range []int{1, 2, 5} {
			txn := ix.db.NewReadTxn()
			var got bytes.Buffer
			err := writeLinkParts(ctx, txn, splits, workers, row, &got)
			txn.Discard()
			if err != nil || got.String() != want.String() {
				t.Errorf("%s, %d workers: error %v, rows\n%s\nwant\n%s", name, workers, err, got.String(), want.String())
			}
		}
	}
	var got bytes.Buffer
	if err := WriteLinks(ctx, ix.db, 2, row, &got); err != nil || got.String() != want.String() {
		t.Errorf("WriteLinks: error %v, %d bytes, want %d", err, got.Len(), want.Len())
	}
	// A failing writer stops the export with its error.
	txn := ix.db.NewReadTxn()
	defer txn.Discard()
	if err := writeLinkParts(ctx, txn, keys, 3, row, failing{}); !errors.Is(err, errFull) {
		t.Errorf("writer failing: %v, want %v", err, errFull)
	}
}

var errFull = errors.New("disk full")

// failing is a writer that always fails.
type failing struct{}

func (failing) Write([]byte) (int, error) { return 0, errFull }
