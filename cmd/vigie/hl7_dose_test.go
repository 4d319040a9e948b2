package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"vigie"
	"vigie/hl7"
	"vigie/ledger"
	"vigie/mpi"
	"vigie/store"
)

// TestHL7DoseVerbs: a subscriber of dose reports is added with its
// establishment's authority, listed as such; the exam stored before the
// server ran is counted as still to queue, then, once queued (as the
// server does), as a pending dose report in the outbox's table, its list
// and /healthz's line (counts and ages only).
func TestHL7DoseVerbs(t *testing.T) {
	const site = "1.2.250.1.999.101"
	dir := filepath.Join(t.TempDir(), "data")
	ctx := context.Background()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := mpi.Open(db, nil, mpi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ix.Resolve(ctx, vigie.Record{Authority: site, LocalID: "IPP7", BirthName: "MARTIN", FirstName: "MARIE", BirthDate: "1956-03-14"}, mpi.System)
	if err == nil {
		_, err = ledger.Open(db).Put(ctx, &ledger.Exam{SOPInstanceUID: "1.2.3.4", StudyUID: "1.2.3", Date: "2026-01-05", Modality: "CT",
			Source: ledger.SourceRDSR, Domain: ledger.DomainCT, Key: vigie.SourceKey{Authority: site, LocalID: "IPP7"},
			CT: &ledger.CTDose{DLPTotal: &ledger.Quantity{Value: 321, Unit: "mGy.cm", Raw: 321, RawUnit: "mGy.cm"}}})
	}
	ix.Close()
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		args     []string
		wantCode int
		wantOut  string
	}{
		{[]string{"hl7", "subscriber", "add", "--data", dir, "--name", "RIS_A", "--addr", "127.0.0.1:1", "--regional-oid", "1.2.250.1.999.1.99",
			"--dose", "--authority", "CHU A"}, 2, ""},
		{[]string{"hl7", "subscriber", "add", "--data", dir, "--name", "RIS_A", "--addr", "127.0.0.1:1", "--regional-oid", "1.2.250.1.999.1.99",
			"--dose", "--authority", site}, 0, "rattrapage des comptes rendus de dose demandé pour RIS_A : établissement"},
		{[]string{"hl7", "subscriber", "list", "--data", dir}, 0, "yes (IPP of " + site + ")"},
		{[]string{"hl7", "outbox", "--data", dir}, 0, "1 exams whose dose report is still to queue"},
	}
	for _, s := range steps {
		code, out, errs := runCLI(s.args...)
		if code != s.wantCode || !strings.Contains(out, s.wantOut) {
			t.Errorf("%v: exit %d, out %q (stderr %q); want exit %d and %q", s.args, code, out, errs, s.wantCode, s.wantOut)
		}
	}
	// Queued as the server does.
	db, err = store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ix, err = mpi.Open(db, nil, mpi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ob := &hl7.Outbox{Index: ix, DB: db, Ledger: ledger.Open(db)}
	line := doseReportsHealth(ob, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if l := line(ctx); l != "dose reports: 1 subscribers, nothing pending, 1 exams to queue, 1 backfills under way" {
		t.Errorf("before queueing: %q", l)
	}
	if n, err := ob.EnqueueDose(ctx); err != nil || n != 1 {
		t.Fatalf("EnqueueDose: %d %v", n, err)
	}
	// The backfill asked at subscription finds the exam queued by the
	// live pass: nothing more.
	if b, err := ob.RunBackfill(ctx, "RIS_A"); err != nil || b.Queued != 0 || b.Waiting+b.AlreadySent != 1 {
		t.Fatalf("the subscription's backfill: %+v %v, want nothing queued", b, err)
	}
	l := line(ctx)
	if !regexp.MustCompile(`^dose reports: 1 subscribers, 1 pending, the oldest \d+s old, 0 exams to queue$`).MatchString(l) {
		t.Errorf("with a report waiting: %q", l)
	}
	if strings.Contains(l, "MARTIN") || strings.Contains(l, "IPP7") {
		t.Errorf("the line names the patient: %q", l)
	}
	ix.Close()
	db.Close()
	for _, s := range []struct {
		args    []string
		wantOut string
	}{
		{[]string{"hl7", "outbox", "--data", dir}, "RIS_A       127.0.0.1:1  1        1     "},
		{[]string{"hl7", "outbox", "--data", dir, "--name", "RIS_A", "--list", "5"}, "VD1         ORU^R01 dose report v1"},
	} {
		code, out, errs := runCLI(s.args...)
		if code != 0 || !strings.Contains(out, s.wantOut) {
			t.Errorf("%v: exit %d, out %q (stderr %q); want %q", s.args, code, out, errs, s.wantOut)
		}
	}
}
