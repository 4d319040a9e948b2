package mpi

import (
	"testing"

	"vigie"
	"vigie/matcher"
	"vigie/synth"
)

// The demo's population (`vigie serve --demo`: the project generator,
// 2000 persons, seed 1, 12 sites) resolved record by record as the demo
// does: no pair in the review queue whose two records belong to different
// persons (siblings, twins, a parent) is graded certain.
func TestDemoReviewQueueGradesNoOtherPersonCertain(t *testing.T) {
	if testing.Short() {
		t.Skip("resolves a generated population")
	}
	cfg := synth.DefaultConfig(2000, 1)
	cfg.Sites = 12
	if dir, ok := synth.FindNamesDir("."); ok {
		if names, err := synth.LoadNames(dir); err == nil {
			cfg.Names = names
		}
	}
	ix := openIndex(t, nil)
	truth := map[vigie.SourceKey]string{}
	if _, err := synth.Generate(cfg, func(r *synth.Record) error {
		rec := r.Traits()
		if _, err := ix.Resolve(ctx, rec, "demo"); err == nil {
			truth[vigie.SourceKey{Authority: rec.Authority, LocalID: rec.LocalID}] = r.Person.ID
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	reviews, err := ix.Reviews(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	others, certain := 0, 0
	for i := range reviews {
		r := &reviews[i]
		pa, pb := truth[r.Record], truth[r.Matched]
		if pa == "" || pb == "" || pa == pb {
			continue
		}
		others++
		if g := ReviewGrade(r, ix.Model()); g == matcher.GradeCertain {
			certain++
			t.Errorf("review %d pairs two persons (%s, %s) and is graded certain:\n%s", r.ID, pa, pb, r.Explanation)
		}
	}
	t.Logf("%d reviews, %d of them pairing two different persons, %d graded certain", len(reviews), others, certain)
}
