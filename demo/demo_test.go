package demo_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"vigie/auth"
	"vigie/demo"
	"vigie/dosimetry"
	"vigie/ledger"
	"vigie/matcher"
	"vigie/mpi"
	"vigie/store"
)

// TestLoadOnceThenSays loads the demo into an empty store, which prints one
// key per role, then again: the second run loads nothing, creates no key
// and says so, with the command that makes a key for this store.
func TestLoadOnceThenSays(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(dir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ix, err := mpi.Open(db, matcher.DefaultModel(), mpi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	keys := auth.NewKeys(db)
	load := func() string {
		var out bytes.Buffer
		err := demo.Load(context.Background(), demo.Config{Persons: 40, Seed: 2, Data: dir}, db, ix, ledger.Open(db),
			dosimetry.OpenAlerts(db), keys, &out, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	first := load()
	if n := strings.Count(first, "vgk_"); n != len(auth.Roles) {
		t.Errorf("first run printed %d keys, want one per role (%d):\n%s", n, len(auth.Roles), first)
	}
	if ix.Count() == 0 {
		t.Fatal("first run stored no record")
	}
	records := ix.Count()
	second := load()
	if strings.Contains(second, "vgk_") {
		t.Errorf("second run printed a key:\n%s", second)
	}
	if second != demo.SkippedNotice(dir) || !strings.Contains(second, "vigie token create --data "+dir) {
		t.Errorf("second run says:\n%s\nwant:\n%s", second, demo.SkippedNotice(dir))
	}
	if ix.Count() != records {
		t.Errorf("second run changed the records: %d, then %d", records, ix.Count())
	}
}
