package mpi

import (
	"encoding/json"
	"errors"
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
