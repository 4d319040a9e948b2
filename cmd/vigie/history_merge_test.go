package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"vigie"
	"vigie/internal/sharedtest"
	"vigie/ledger"
)

// The dose history of an identity is read through the patient index's
// links: a merge brings the retired identity's exams into the survivor's
// history and an unmerge takes them back out, without any dose entry being
// rewritten.
func TestHistoryFollowsMergeAndUnmerge(t *testing.T) {
	dir := sharedtest.Path(t, "dicom")
	data := t.TempDir()
	files := []string{filepath.Join(dir, "openrem", "CT-RDSR-Siemens_Flash-TAP-SS.dcm"), filepath.Join(dir, "openrem", "MG-RDSR-Hologic_2D.dcm")}
	var out, errb bytes.Buffer
	if code := run(append([]string{"ingest", "--data", data, "--authority", "1.2.250.1.213.1.1.1.99", "--quiet"}, files...), &out, &errb); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errb.String())
	}
	ctx := context.Background()
	db, ix, closeIndex, err := openIndex(data, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer closeIndex()
	led := ledger.Open(db)
	var ids []vigie.IdentityID
	if err := ix.Links(ctx, func(_ vigie.SourceKey, id vigie.IdentityID) error { ids = append(ids, id); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[0] == ids[1] {
		t.Fatalf("fixture: the two files' patients must be two identities, got %v", ids)
	}
	history := func(id vigie.IdentityID) (ct, mg int) {
		t.Helper()
		members, err := ix.Records(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		h, err := led.History(ctx, members)
		if err != nil {
			t.Fatal(err)
		}
		return len(h.CT), len(h.Mammography)
	}
	ct0, mg0 := history(ids[0])
	ct1, mg1 := history(ids[1])
	if ct0+ct1 != 1 || mg0+mg1 != 1 || ct0+mg0 != 1 {
		t.Fatalf("before merge: %d CT %d MG and %d CT %d MG", ct0, mg0, ct1, mg1)
	}
	merge, err := ix.Merge(ctx, ids[0], ids[1], "test.agent", "same patient sent under two ids")
	if err != nil {
		t.Fatal(err)
	}
	if ct, mg := history(ids[0]); ct != 1 || mg != 1 {
		t.Errorf("after merge the survivor's history has %d CT and %d MG exams, want both", ct, mg)
	}
	if _, err := ix.Unmerge(ctx, merge, "test.agent", "two patients after all"); err != nil {
		t.Fatal(err)
	}
	if ct, mg := history(ids[0]); ct != ct0 || mg != mg0 {
		t.Errorf("after unmerge: %d CT %d MG, want %d and %d as before", ct, mg, ct0, mg0)
	}
	if ct, mg := history(ids[1]); ct != ct1 || mg != mg1 {
		t.Errorf("after unmerge the restored identity has %d CT %d MG, want %d and %d", ct, mg, ct1, mg1)
	}
}
