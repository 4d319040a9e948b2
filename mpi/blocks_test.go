package mpi

import (
	"slices"
	"strings"
	"testing"

	"vigie"
	"vigie/matcher"
	"vigie/store"
)

// A store whose records were filed under earlier blocking rules (here: the
// address under the postal code only, and no version mark) has them filed
// again under this build's keys when it opens, once: a record typed later
// with its postal code wrong finds it through the town.
func TestOpenRefilesOlderBlockingKeys(t *testing.T) {
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ix, err := Open(db, matcher.DefaultModel(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	first := person("1.2.250.1", "A1")
	resolve(t, ix, first)
	resolve(t, ix, other("1.2.250.1", "B1"))
	k := first.Key()
	isTownAddress := func(b string) bool { return strings.HasPrefix(b, matcher.BlockAddress+"\x00town:") }
	// Back to what version 1 stored: no town address key, no mark.
	if err := ix.run(ctx, func(t *tx) error {
		st, err := t.record(k)
		if err != nil {
			return err
		}
		st.Blocks = slices.DeleteFunc(st.Blocks, isTownAddress)
		if err := t.put(recordKey(k), st); err != nil {
			return err
		}
		return t.Delete([]byte(pBlockingVersion))
	}); err != nil {
		t.Fatal(err)
	}
	ix.Close()

	ix, err = Open(db, matcher.DefaultModel(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	var st *recordState
	if err := ix.view(func(txn *store.Txn) error {
		st, err = readRecord(txn, k)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(st.Blocks, isTownAddress) {
		t.Fatalf("record %s not filed again under the town's address key: %q", k, st.Blocks)
	}
	if n, err := ix.refileBlocks(ctx); err != nil || n != 0 {
		t.Fatalf("second pass: %d records filed again (%v), want 0: the store is marked", n, err)
	}
	// The same person, postal code mistyped, first name missing, no birth
	// date: the street under the town is the one key it shares.
	later := vigie.Record{Authority: "1.2.250.2", LocalID: "Z9", BirthName: "LAFITE", PostalCode: "33800", City: "BORDEAUX", Address: "12 rue Sainte-Catherine"}
	p, err := matcher.Prepare(&later)
	if err != nil {
		t.Fatal(err)
	}
	keys := matcher.BlockingKeys(p)
	found := false
	ix.memMu.RLock()
	for _, b := range keys {
		var one [1]uint32
		if b.Rule == matcher.BlockAddress && slices.Contains(ix.blocks.list(ix.blockHash(blockString(b)), &one), mustOrd(t, ix, k)) {
			found = true
		}
	}
	ix.memMu.RUnlock()
	if !found {
		t.Fatalf("the earlier record is not found through the town's address key %v", keys)
	}
	if err := ix.Verify(ctx); err != nil {
		t.Fatal(err)
	}
}

func mustOrd(t *testing.T, ix *Index, k vigie.SourceKey) uint32 {
	t.Helper()
	o, ok := ix.keys.find(k)
	if !ok {
		t.Fatalf("%s has no ordinal", k)
	}
	return o
}
