package ledger

import (
	"context"
	"testing"
	"time"
)

// A study whose figures change leaves a report marker until the outbox
// clears it; duplicates and headers already covered by a dose SR leave
// none; a marker read before a newer exam of the study was committed
// stays; two exams within the same clock tick leave different marks.
func TestReportMarkers(t *testing.T) {
	ctx := context.Background()
	l, _ := openTest(t)
	frozen := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return frozen }
	if _, err := l.Put(ctx, petHeader("7.1", "9.7", siteA, 200)); err != nil {
		t.Fatal(err)
	}
	ps, err := l.ReportsPending(ctx)
	if err != nil || len(ps) != 1 || ps[0].Key != siteA || ps[0].Study != "9.7" {
		t.Fatalf("after a header: %+v %v, want one marker of %v study 9.7", ps, err, siteA)
	}
	first := ps[0]
	// The dose SR of the same record and study arrives (same clock tick).
	if out, err := l.Put(ctx, nmSR("7.3", "9.7", siteA, 221.6)); err != nil || out.Superseded != 1 {
		t.Fatalf("SR: %+v %v", out, err)
	}
	if err := l.Reported(ctx, first); err != nil {
		t.Fatal(err)
	}
	ps, _ = l.ReportsPending(ctx)
	if len(ps) != 1 || string(ps[0].Mark()) == string(first.Mark()) {
		t.Fatalf("the SR's marker was cleared by a report built before it: %+v", ps)
	}
	if err := l.Reported(ctx, ps[0]); err != nil {
		t.Fatal(err)
	}
	// A duplicate and a late header change nothing to report.
	for _, x := range []*Exam{nmSR("7.3", "9.7", siteA, 221.6), petHeader("7.2", "9.7", siteA, 200)} {
		if _, err := l.Put(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if ps, _ := l.ReportsPending(ctx); len(ps) != 0 {
		t.Errorf("markers after a duplicate and an excluded header: %+v", ps)
	}
	es, err := l.Study(ctx, siteA, "9.7")
	if err != nil || len(es) != 3 {
		t.Fatalf("Study: %d entries %v, want 3", len(es), err)
	}
	counted := 0
	for _, e := range es {
		if !e.Excluded() {
			counted++
		}
	}
	if counted != 1 {
		t.Errorf("Study: %d entries count, want the SR only", counted)
	}
}
