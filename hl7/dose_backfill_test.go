package hl7

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"vigie"
	"vigie/ledger"
)

// backfillExam is a CT dose SR of its own study for record ipp of site.
func backfillExam(sop, site, ipp, study, acc, date string) *ledger.Exam {
	x := ctExam(sop, ledger.SourceRDSR)
	x.Key = vigie.SourceKey{Authority: site, LocalID: ipp}
	x.StudyUID, x.Accession, x.Date = study, acc, date
	x.CT.Events[0].UID = sop + ".ev"
	return x
}

// TestDoseBackfill: exams stored before any dose subscriber exist (the
// image headers and the dose SR of one study, a second patient's exam, an
// exam of another site, an old exam); RIS_A subscribes and asks for the
// backfill of its site's exams from 2026; the walk goes one row per
// batch, is cut short (a new outbox on the same store, as after a crash)
// and resumed; an exam stored while it runs is left to the live queue; an
// exam reported by the backfill and changed afterwards is corrected after
// it. python3-hl7's MLLP receiver gets every exam's report once, in
// order; a second backfill queues nothing; the other site's subscriber
// gets only its own site's exam.
func TestDoseBackfill(t *testing.T) {
	ctx := context.Background()
	o, _ := newOutbox(t, "")
	o.Ledger = ledger.Open(o.DB)
	const chuB = "1.2.250.1.999.102"
	out := filepath.Join(t.TempDir(), "got.jsonl")
	r := startReceiver(t, 0, out)
	put := func(xs ...*ledger.Exam) {
		t.Helper()
		for _, x := range xs {
			if _, err := o.Ledger.Put(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
	}
	head := ctExam("1.2.3.1", ledger.SourceHeader)
	put(head, ctExam("1.2.3.9", ledger.SourceRDSR),
		backfillExam("2.1", chuA, "IPP2", "1.2.250.1.999.101.5.88", "ACC88", "2026-04-01"),
		backfillExam("3.1", chuB, "B77", "1.2.250.1.999.102.5.1", "ACCB1", "2026-05-01"),
		backfillExam("4.1", chuA, "IPP3", "1.2.250.1.999.101.5.44", "ACC44", "2025-12-31"))
	// Nobody takes dose reports yet: the markers go, nothing is queued.
	if n, err := o.EnqueueDose(ctx); err != nil || n != 0 {
		t.Fatalf("EnqueueDose without subscriber: %d %v", n, err)
	}
	if _, err := o.RequestBackfill(ctx, "RIS_A", "", "", "test"); vigie.ErrorCode(err) != vigie.ENOTFOUND {
		t.Fatalf("backfill of an unknown subscriber: %v", err)
	}
	if _, err := o.AddSubscriber(ctx, Subscriber{Name: "PORTAIL", Addr: r.addr(), RegionalOID: regionalOID}); err != nil {
		t.Fatal(err)
	}
	if _, err := o.RequestBackfill(ctx, "PORTAIL", "", "", "test"); vigie.ErrorCode(err) != vigie.EINVALID {
		t.Fatalf("backfill of a subscriber without dose reports: %v", err)
	}
	a, err := o.AddSubscriber(ctx, Subscriber{Name: "RIS_A", Addr: r.addr(), RegionalOID: regionalOID, Dose: true, Authority: chuA})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][2]string{{"CHU A", ""}, {"", "2026-13-01"}, {"", "01/01/2026"}} {
		if _, err := o.RequestBackfill(ctx, "RIS_A", bad[0], bad[1], "test"); vigie.ErrorCode(err) != vigie.EINVALID {
			t.Errorf("backfill with site %q from %q: %v, want invalid", bad[0], bad[1], err)
		}
	}
	if _, err := o.RequestBackfill(ctx, "RIS_A", chuA, "2026-01-01", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := o.RequestBackfill(ctx, "RIS_A", "", "", "test"); vigie.ErrorCode(err) != vigie.ECONFLICT {
		t.Fatalf("a second backfill while one runs: %v, want conflict", err)
	}
	o.BackfillBatch = 1
	// Row order at the CHU: 4.1 (2025, before From), then 2026-03-02's
	// two rows of ACC77, then ACC88 (2026-04-01).
	if n, err := o.RunBackfills(ctx); err != nil || n != 0 {
		t.Fatalf("first batch (the 2025 exam): %d %v", n, err)
	}
	if n, err := o.RunBackfills(ctx); err != nil || n != 1 {
		t.Fatalf("second batch (ACC77): %d %v", n, err)
	}
	// A crash: another outbox on the same store resumes the walk.
	o2 := &Outbox{Index: o.Index, DB: o.DB, Ledger: o.Ledger, BackfillBatch: 1}
	// An exam stored now, not yet queued: the live queue sends it.
	late := backfillExam("2.2", chuA, "IPP2", "1.2.250.1.999.101.5.88", "ACC88", "2026-04-01")
	late.CT.Events[0].UID = "2.2.ev"
	put(late)
	vs, err := o2.Backfills(ctx)
	if err != nil || len(vs) != 1 || vs[0].Queued != 1 || vs[0].RowsLeft != 3 || vs[0].DosePending != 1 || !vs[0].Done.IsZero() {
		t.Fatalf("backfill view %+v %v, want 1 queued, 3 rows left, 1 report pending", vs, err)
	}
	if l, err := o2.DoseLag(ctx); err != nil || l.Backfilling != 1 {
		t.Fatalf("lag while the backfill runs: %+v %v, want 1 backfill under way", l, err)
	}
	for {
		if _, err := o2.RunBackfills(ctx); err != nil {
			t.Fatal(err)
		}
		vs, _ = o2.Backfills(ctx)
		if !vs[0].Done.IsZero() {
			break
		}
	}
	if l, err := o2.DoseLag(ctx); err != nil || l.Backfilling != 0 {
		t.Errorf("lag once the backfill is done: %+v %v", l, err)
	}
	b := vs[0].Backfill
	if b.Rows != 5 || b.Queued != 1 || b.Before != 1 || b.Waiting != 2 || b.AlreadySent != 1 {
		t.Errorf("backfill %+v, want 5 rows, 1 queued, 1 before From, ACC88 waiting (twice, one row each), ACC77 sent", b)
	}
	// The live queue: ACC88 (F); then ACC77 changes: its correction (C).
	if n, err := o2.EnqueueDose(ctx); err != nil || n != 1 {
		t.Fatalf("EnqueueDose after the backfill: %d %v", n, err)
	}
	cont := ctExam("1.2.3.10", ledger.SourceRDSR)
	cont.CT.Events = append(cont.CT.Events, ledger.CTEvent{UID: "ev2", CTDIvol: doseQ(4, ledger.DimDose), DLP: doseQ(100, ledger.DimDLP)})
	put(cont)
	if n, err := o2.EnqueueDose(ctx); err != nil || n != 1 {
		t.Fatalf("EnqueueDose of the correction: %d %v", n, err)
	}
	// Asked again once done: everything was sent, nothing is queued.
	if _, err := o2.RequestBackfill(ctx, "RIS_A", chuA, "2026-01-01", "test"); err != nil {
		t.Fatal(err)
	}
	again, err := o2.RunBackfill(ctx, "RIS_A")
	if err != nil || again.Queued != 0 || again.Withheld != 0 || again.AlreadySent == 0 {
		t.Fatalf("second backfill %+v %v, want nothing queued", again, err)
	}
	// The other site's RIS, with a whole backfill of its site.
	bsub, err := o2.AddSubscriber(ctx, Subscriber{Name: "RIS_B", Addr: r.addr(), RegionalOID: regionalOID, Dose: true, Authority: chuB})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o2.RequestBackfill(ctx, "RIS_B", chuB, "", "test"); err != nil {
		t.Fatal(err)
	}
	if got, err := o2.RunBackfill(ctx, "RIS_B"); err != nil || got.Queued != 1 {
		t.Fatalf("RIS_B's backfill %+v %v, want 1 queued", got, err)
	}
	for _, s := range []Subscriber{a, bsub} {
		if d, err := o2.Deliver(ctx, s); err != nil || d.Refused != 0 {
			t.Fatalf("deliver to %s: %+v %v", s.Name, d, err)
		}
	}
	var seq []string
	for _, rc := range got(t, out) {
		m, err := Parse([]byte(strings.ReplaceAll(rc.Raw, "\n", "\r")))
		if err != nil {
			t.Fatal(err)
		}
		h := ReadHeader(m)
		obr, _ := m.Segment("OBR")
		seq = append(seq, h.ReceivingApp+" "+obr.Get(3, 0)+" "+obr.Get(25, 0)+" "+rc.Control)
	}
	want := []string{"RIS_A ACC77 F VD1", "RIS_A ACC88 F VD2", "RIS_A ACC77 C VD3", "RIS_B ACCB1 F VD1"}
	if !slices.Equal(seq, want) {
		t.Errorf("received %v, want %v", seq, want)
	}
	// Removing the subscriber drops its backfill.
	if _, err := o2.RemoveSubscriber(ctx, "RIS_B"); err != nil {
		t.Fatal(err)
	}
	if vs, _ := o2.Backfills(ctx); len(vs) != 1 || vs[0].Subscriber != "RIS_A" {
		t.Errorf("backfills after RIS_B's removal: %+v", vs)
	}
}
