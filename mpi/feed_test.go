package mpi

import (
	"context"
	"testing"

	"vigie"
	"vigie/matcher"
)

func TestEventAndLatest(t *testing.T) {
	ix := openIndex(t, nil)
	ctx := context.Background()
	r := matcher.Record{Authority: "1.2.3.1", LocalID: "L1", BirthName: "DURAND", FirstName: "ANNE", BirthDate: "1970-01-02", Sex: "F"}
	if _, err := ix.Resolve(ctx, r, System); err != nil {
		t.Fatal(err)
	}
	r.FirstName = "ANNE-MARIE"
	if _, err := ix.Resolve(ctx, r, System); err != nil {
		t.Fatal(err)
	}
	v, err := ix.Latest(ctx, SourceKey{"1.2.3.1", "L1"})
	if err != nil || v.Version != 2 || v.Record.FirstName != "ANNE-MARIE" {
		t.Errorf("latest: %+v, %v", v, err)
	}
	if _, err := ix.Latest(ctx, SourceKey{"1.2.3.1", "nope"}); vigie.ErrorCode(err) != vigie.ENOTFOUND {
		t.Errorf("latest of an unknown record: %v", err)
	}
	last, err := ix.LastEvent(ctx)
	if err != nil || last == 0 {
		t.Fatalf("last event %d, %v", last, err)
	}
	e, err := ix.Event(ctx, last)
	if err != nil || e.Seq != last || e.Record.LocalID != "L1" {
		t.Errorf("event %d: %+v, %v", last, e, err)
	}
	if _, err := ix.Event(ctx, last+100); vigie.ErrorCode(err) != vigie.ENOTFOUND {
		t.Errorf("an event that does not exist: %v", err)
	}
}
