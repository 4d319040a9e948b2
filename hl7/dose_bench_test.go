package hl7

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"vigie/dosimetry"
	"vigie/internal/cputime"
	"vigie/ledger"
)

// BenchmarkDoseReports measures, per exam, what sending its dose report
// costs: queueing (EnqueueDose: the study read from the ledger, its
// summary and effective-dose estimate, the identity read, the ORU built
// and stored with its version, the marker cleared) and delivering it to
// python3-hl7's MLLP server (testdata/receiver.py: each report waiting
// for its acknowledgement, removed and audited), on a store on disk set
// up as vigie serve sets it up. The exams (CT dose SRs of distinct
// studies of four patients) are stored before the timer starts.
func BenchmarkDoseReports(b *testing.B) {
	ctx := context.Background()
	o, _ := newOutbox(b, b.TempDir())
	o.Ledger = ledger.Open(o.DB)
	o.Coefficients, o.ExamTypes = dosimetry.DefaultCoefficients(), dosimetry.DefaultTable()
	r := startReceiver(b, 0, filepath.Join(b.TempDir(), "got.jsonl"))
	sub, err := o.AddSubscriber(ctx, Subscriber{Name: "BENCH", Addr: r.addr(), RegionalOID: regionalOID, Dose: true, Authority: chuA})
	if err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		x := ctExam(fmt.Sprintf("1.2.3.%d", i), ledger.SourceRDSR)
		x.StudyUID = fmt.Sprintf("1.2.250.1.999.101.5.%d", i)
		x.Key.LocalID = fmt.Sprintf("IPP%d", 1+i%4)
		x.CT.Events[0].UID = fmt.Sprintf("ev.%d", i)
		if _, err := o.Ledger.Put(ctx, x); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	n, err := o.EnqueueDose(ctx)
	queued := b.Elapsed()
	if err != nil || n != b.N {
		b.Fatalf("queued %d of %d (%v)", n, b.N, err)
	}
	d, err := o.Deliver(ctx, sub)
	b.StopTimer()
	if err != nil || d.Delivered != b.N {
		b.Fatalf("delivered %+v of %d (%v)", d, b.N, err)
	}
	b.ReportMetric(float64(queued.Microseconds())/float64(b.N), "µs-queue/exam")
	b.ReportMetric(float64(b.N)/(b.Elapsed()-queued).Seconds(), "reports-delivered/s")
}

// BenchmarkDoseBackfill measures, per exam, what a backfill costs the
// server's outbox (its batches, as RunBackfills runs them: the exam rows read, each exam's
// study and summary, the identity, the ORU built and stored with its
// version and the walk's position), exams stored before the subscriber
// took dose reports. It runs in the outbox's goroutine, never in an
// ingest; the figure is its CPU per exam (the process's, so the store's
// background work counts too). Sending is BenchmarkDoseReports'. Each
// exam is its own record's (reading a study reads its record's exams):
// records the patient index does not know, so the identity read is a
// miss.
func BenchmarkDoseBackfill(b *testing.B) {
	ctx := context.Background()
	o, _ := newOutbox(b, b.TempDir())
	o.Ledger = ledger.Open(o.DB)
	o.Coefficients, o.ExamTypes = dosimetry.DefaultCoefficients(), dosimetry.DefaultTable()
	for i := range b.N {
		x := ctExam(fmt.Sprintf("1.2.3.%d", i), ledger.SourceRDSR)
		x.StudyUID = fmt.Sprintf("1.2.250.1.999.101.5.%d", i)
		x.Key.LocalID = fmt.Sprintf("P%d", i) // one exam per record, as most are
		x.CT.Events[0].UID = fmt.Sprintf("ev.%d", i)
		if _, err := o.Ledger.Put(ctx, x); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := o.EnqueueDose(ctx); err != nil { // no subscriber: the markers go
		b.Fatal(err)
	}
	if _, err := o.AddSubscriber(ctx, Subscriber{Name: "BENCH", Addr: "127.0.0.1:1", RegionalOID: regionalOID, Dose: true, Authority: chuA}); err != nil {
		b.Fatal(err)
	}
	if _, err := o.RequestBackfill(ctx, "BENCH", "", "", "bench"); err != nil {
		b.Fatal(err)
	}
	cpu0 := cputime.Process()
	b.ResetTimer()
	bf, err := o.RunBackfill(ctx, "BENCH")
	b.StopTimer()
	cpu := cputime.Process() - cpu0
	if err != nil || bf.Queued != b.N {
		b.Fatalf("queued %d of %d (%v)", bf.Queued, b.N, err)
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/exam")
	// Asked again: every exam was sent, none is summarised.
	if _, err := o.RequestBackfill(ctx, "BENCH", "", "", "bench"); err != nil {
		b.Fatal(err)
	}
	cpu0 = cputime.Process()
	bf, err = o.RunBackfill(ctx, "BENCH")
	cpu = cputime.Process() - cpu0
	if err != nil || bf.Queued != 0 || bf.AlreadySent != b.N {
		b.Fatalf("second backfill %+v (%v), want all %d already sent", bf, err, b.N)
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/exam-asked-again")
}
