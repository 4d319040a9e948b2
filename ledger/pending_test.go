package ledger

import (
	"context"
	"testing"
	"time"
)

// Every stored exam leaves a marker until its evaluation clears it; an
// evaluation read before a newer exam of the same study was committed
// leaves that exam's marker.
func TestPendingMarkers(t *testing.T) {
	ctx := context.Background()
	l, _ := openTest(t)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	noStudy := ctExam("6.9", "", 50, "ev.9", 50.0)
	for _, x := range []*Exam{ctExam("6.1", "8.1", 100, "ev.1", 100.0), noStudy} {
		if _, err := l.Put(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	// A duplicate writes no marker of its own (nothing new to evaluate).
	if _, err := l.Put(ctx, ctExam("6.1", "8.1", 100, "ev.1", 100.0)); err != nil {
		t.Fatal(err)
	}
	ps, err := l.Pending(ctx)
	if err != nil || len(ps) != 2 {
		t.Fatalf("pending: %+v %v, want 2", ps, err)
	}
	want := map[string]bool{"8.1": true, "sop:6.9": true}
	for _, p := range ps {
		if p.Key != siteA || !want[p.Study] {
			t.Errorf("pending %+v, want one of %v of %v", p, want, siteA)
		}
	}
	p, ok, err := l.PendingOf(ctx, siteA, "8.1")
	if err != nil || !ok {
		t.Fatalf("PendingOf: %v %v", ok, err)
	}
	// A second exam of the study is committed while 6.1 is evaluated.
	if _, err := l.Put(ctx, ctExam("6.2", "8.1", 30, "ev.2", 30.0)); err != nil {
		t.Fatal(err)
	}
	if err := l.Evaluated(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := l.PendingOf(ctx, siteA, "8.1"); !ok {
		t.Error("the marker of an exam committed during the evaluation was cleared")
	}
	for _, p := range mustPending(t, l) {
		if err := l.Evaluated(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if ps := mustPending(t, l); len(ps) != 0 {
		t.Errorf("pending after evaluation: %+v", ps)
	}
}

func mustPending(t *testing.T, l *Ledger) []PendingStudy {
	t.Helper()
	ps, err := l.Pending(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ps
}
