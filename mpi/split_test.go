package mpi

import (
	"slices"
	"testing"

	"vigie"
	"vigie/matcher"
)

// A record that matches two identities at the auto-link level, too close
// to tell apart, joins the best one when those identities match each
// other as strongly (one person split earlier), and a review proposes
// their merge (rule split_identity), never made automatically. When a hard
// rule fires between them (twins) or a person marked them distinct, the
// record goes to review as before, linked to neither.
func TestSplitIdentity(t *testing.T) {
	a := person("1.2.250.1.1", "A")
	b := person("1.2.250.1.2", "B")
	b.Address = "14 rue Sainte-Catherine"
	twin := person("1.2.250.1.2", "T")
	twin.FirstName, twin.FirstNames = "Jacqueline", "Jacqueline Anne"
	rec := person("1.2.250.1.3", "C")
	noFirst := rec
	noFirst.FirstName, noFirst.FirstNames = "", ""
	for _, tc := range []struct {
		name     string
		first    vigie.Record // the two records left in identities of their own
		second   vigie.Record
		distinct bool // a person decided the two identities are different
		rec      vigie.Record
		split    bool // linked to one and a merge review; otherwise review, no link
	}{
		{"one person split in two", a, b, false, rec, true},
		{"twins both matching a record without first name", a, twin, false, noFirst, false},
		{"one person split, but marked distinct by a person", a, b, true, rec, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			strict := matcher.DefaultModel()
			strict.AutoLink = 1 // nothing links: the first two stay apart
			ix := openIndex(t, strict)
			ra := resolve(t, ix, tc.first)
			rb := resolve(t, ix, tc.second)
			if ra.Identity == rb.Identity {
				t.Fatalf("the first two records share identity %s", ra.Identity)
			}
			if tc.distinct {
				if len(rb.Reviews) == 0 {
					t.Fatalf("no review to decide between the first two: %+v", rb)
				}
				if err := ix.Decide(ctx, rb.Reviews[0], Different, "vigilance", "checked"); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := ix.UseModel(matcher.DefaultModel(), ModelInfo{Origin: "shipped"}); err != nil {
				t.Fatal(err)
			}
			res := resolve(t, ix, tc.rec)
			linked := res.Identity == ra.Identity || res.Identity == rb.Identity
			var splits []Review
			for _, id := range res.Reviews {
				r, err := ix.Review(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if slices.Contains(r.Rules, matcher.RuleSplitIdentity) {
					splits = append(splits, r)
				}
			}
			if !tc.split {
				if linked || len(splits) > 0 || res.Decision != DecisionReview {
					t.Fatalf("linked %v, %d split reviews, decision %s; want a review and no link", linked, len(splits), res.Decision)
				}
				return
			}
			if !linked || res.Decision != DecisionLinked || len(splits) != 1 {
				t.Fatalf("linked %v, %d split reviews, decision %s; want a link and one merge review", linked, len(splits), res.Decision)
			}
			r := splits[0]
			other := ra.Identity
			if res.Identity == ra.Identity {
				other = rb.Identity
			}
			if r.Identity != res.Identity || r.Candidate != other {
				t.Fatalf("review proposes %s and %s, want %s and %s", r.Identity, r.Candidate, res.Identity, other)
			}
			if identityOf(t, ix, tc.first) == identityOf(t, ix, tc.second) {
				t.Fatal("the two identities were merged without a person")
			}
			if err := ix.Decide(ctx, r.ID, Same, "vigilance", "one person"); err != nil {
				t.Fatal(err)
			}
			if x, y, z := identityOf(t, ix, tc.first), identityOf(t, ix, tc.second), identityOf(t, ix, tc.rec); x != y || y != z {
				t.Fatalf("after the decision: identities %s, %s, %s; want one", x, y, z)
			}
		})
	}
}
