package dosimetry

import (
	"context"
	"testing"

	"vigie"
	"vigie/store"
)

func TestPregnancyStore(t *testing.T) {
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	s := OpenPregnancies(db)
	a, b := vigie.SourceKey{Authority: "A", LocalID: "1"}, vigie.SourceKey{Authority: "B", LocalID: "9"}
	for _, bad := range []struct{ start, end, reason string }{
		{"2025-13-01", "", "x"}, {"2025-01-10", "2024-12-01", "x"}, {"2025-01-10", "2026-01-10", "x"}, {"2025-01-10", "", " "},
	} {
		if _, err := s.Declare(ctx, []vigie.SourceKey{a}, bad.start, bad.end, "dr", bad.reason); err == nil {
			t.Errorf("declaration %v accepted", bad)
		}
	}
	p, err := s.Declare(ctx, []vigie.SourceKey{a, b}, "2025-01-10", "", "dr-martin", "déclarée par la patiente")
	if err != nil || p.End != "2025-10-31" {
		t.Fatalf("declared %+v, %v; want an end 294 days on (2025-10-31)", p, err)
	}
	preg := s.Pregnant(ctx)
	for _, tc := range []struct {
		k    vigie.SourceKey
		date string
		want bool
	}{
		{a, "2025-01-10", true}, {b, "2025-10-31", true}, {a, "2025-11-01", false}, {a, "2025-01-09", false},
		{vigie.SourceKey{Authority: "A", LocalID: "2"}, "2025-03-01", false}, {a, "", false},
	} {
		if got, err := preg(tc.k, tc.date); got != tc.want || err != nil {
			t.Errorf("%v on %q: %v, %v, want %v", tc.k, tc.date, got, err, tc.want)
		}
	}
	// The same start declared again replaces it.
	if _, err := s.Declare(ctx, []vigie.SourceKey{a}, "2025-01-10", "2025-02-01", "dr-martin", "fausse couche"); err != nil {
		t.Fatal(err)
	}
	ps, err := s.Of(ctx, a)
	if err != nil || len(ps) != 1 || ps[0].End != "2025-02-01" {
		t.Errorf("after the correction: %+v %v", ps, err)
	}
	if p, err := s.Pregnant(ctx)(a, "2025-03-01"); p || err != nil {
		t.Errorf("the corrected end is not applied: %v, %v", p, err)
	}
}
