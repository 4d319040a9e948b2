package main

import (
	"context"
	"io"
	"log/slog"
	"regexp"
	"testing"

	"vigie"
	"vigie/audit"
	"vigie/hl7"
	"vigie/matcher"
	"vigie/mpi"
	"vigie/store"
)

// TestOutboxHealth: /healthz's outbox line is absent without subscriber,
// says "nothing pending" once one is registered, and counts what waits
// (with the oldest's age) once an identity changed; counts only, never a
// name.
func TestOutboxHealth(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ix, err := mpi.Open(db, matcher.DefaultModel(), mpi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	trail, err := audit.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { trail.Close() })
	ob := &hl7.Outbox{Index: ix, DB: db, Trail: trail}
	line := outboxHealth(ob, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if l := line(ctx); l != "" {
		t.Errorf("without subscriber: %q, want no line", l)
	}
	// A subscriber nobody listens for: nothing is ever delivered.
	if _, err := ob.AddSubscriber(ctx, hl7.Subscriber{Name: "RIS", Addr: "127.0.0.1:1", RegionalOID: "1.2.250.1.999.9"}); err != nil {
		t.Fatal(err)
	}
	if l := line(ctx); l != "outbox: 1 subscribers, nothing pending" {
		t.Errorf("with an idle subscriber: %q", l)
	}
	if _, err := ix.Resolve(ctx, vigie.Record{Authority: "1.2.250.1.999.1", LocalID: "42", BirthName: "HARRIAGUE", FirstName: "ANE", BirthDate: "1990-05-17", Sex: "F"}, mpi.System); err != nil {
		t.Fatal(err)
	}
	if _, err := ob.Enqueue(ctx); err != nil {
		t.Fatal(err)
	}
	l := line(ctx)
	if !regexp.MustCompile(`^outbox: 1 subscribers, [1-9]\d* pending, the oldest \d+s old$`).MatchString(l) {
		t.Errorf("with a change waiting: %q", l)
	}
	if regexp.MustCompile(`HARRIAGUE|ANE|1990`).MatchString(l) {
		t.Errorf("the line names the patient: %q", l)
	}
}
