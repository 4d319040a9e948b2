package rpc_test

import (
	"fmt"
	"math/big"
	"slices"
	"testing"

	"vigie"

	"connectrpc.com/connect"

	"vigie/mpi"
	v1 "vigie/rpc/gen/vigie/v1"
)

// Sites of the review fixture besides A and B.
const (
	siteC = "1.2.250.1.213.1.1.1.7"
	siteD = "1.2.250.1.213.1.1.1.8"
)

// insOf completes a 13-digit INS body with its key.
func insOf(body string) string {
	n, _ := new(big.Int).SetString(body, 10)
	return fmt.Sprintf("%s%02d", body, 97-new(big.Int).Mod(n, big.NewInt(97)).Int64())
}

// reviewPair resolves a record at site x, then one at site y with the
// same INS on conflicting traits, and returns the review this opens, its
// record being y's and its candidate x's identity.
func reviewPair(t *testing.T, f *serverFixture, x, y, name, first, order string) mpi.Review {
	t.Helper()
	ctx := t.Context()
	ins := insOf("2510233123" + order)
	a := vigie.Record{Authority: x, LocalID: name + "-X", BirthName: name, FirstName: first + "E", BirthDate: "1951-02-" + order[1:], Sex: "F", INS: ins}
	b := vigie.Record{Authority: y, LocalID: name + "-Y", BirthName: name, FirstName: first, BirthDate: "1951-" + order[1:] + "-02", Sex: "M", INS: ins}
	if _, err := f.index.Resolve(ctx, a, mpi.System); err != nil {
		t.Fatal(err)
	}
	res, err := f.index.Resolve(ctx, b, mpi.System)
	if err != nil {
		t.Fatal(err)
	}
	if res.Decision != mpi.DecisionReview || len(res.Reviews) != 1 {
		t.Fatalf("fixture %s: %+v, want one review", name, res)
	}
	r, err := f.index.Review(ctx, res.Reviews[0])
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestReviewsFollowVigilanceSites: site vigilance sees and decides only
// the reviews whose record is of its sites or whose identities hold one
// of its sites' records (also through a later merge); regional vigilance
// all. Deciding a review out of scope answers not_found, as for a review
// that does not exist, and leaves it pending.
func TestReviewsFollowVigilanceSites(t *testing.T) {
	f := newServerFixture(t)
	ctx := t.Context()
	ab := reviewPair(t, f, siteA, siteB, "LAFARGUE", "JEAN", "411") // candidate at A, record at B
	cd := reviewPair(t, f, siteC, siteD, "DARRIGADE", "PASCAL", "407")
	ce := reviewPair(t, f, siteC, siteD, "ETCHEBEST", "DANIEL", "409")
	// ce's candidate (matched on its site-C record) is merged with an
	// identity of site A: site A's vigilance now has a say.
	other, err := f.index.Resolve(ctx, vigie.Record{Authority: siteA, LocalID: "ETCH-A", BirthName: "ETCHEBEST", FirstName: "DANIELE", BirthDate: "1951-02-09", Sex: "F"}, mpi.System)
	if err != nil {
		t.Fatal(err)
	}
	if other.Identity != ce.Candidate {
		if _, err := f.index.Merge(ctx, ce.Candidate, other.Identity, mpi.Actor("iv-team"), "same patient"); err != nil {
			t.Fatal(err)
		}
	}
	if ce.Matched.Authority != siteC {
		t.Fatalf("fixture: ce matched %v, want its site-C record", ce.Matched)
	}
	ids := func(rs ...mpi.Review) []string {
		var out []string
		for _, r := range rs {
			out = append(out, fmt.Sprint(r.ID))
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		who     string
		visible []string
	}{
		{"iv-a", ids(ab, ce)},
		{"iv-b", ids(ab)},
		{"iv-team", ids(ab, cd, ce)},
	} {
		t.Run(tc.who, func(t *testing.T) {
			// Pages of one: the scope holds across pages.
			var got []string
			tok := ""
			for range 10 {
				out, err := f.identity(tc.who).ListReviews(ctx, connect.NewRequest(&v1.ListReviewsRequest{PageSize: 1, PageToken: tok}))
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range out.Msg.GetReviews() {
					got = append(got, r.GetId())
				}
				if tok = out.Msg.GetNextPageToken(); tok == "" {
					break
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.visible) {
				t.Errorf("%s lists reviews %v, want %v", tc.who, got, tc.visible)
			}
		})
	}
	for _, tc := range []struct {
		who    string
		review mpi.Review
		want   connect.Code // 0: decided
	}{
		{"iv-b", cd, connect.CodeNotFound},
		{"iv-b", ce, connect.CodeNotFound},
		{"iv-a", cd, connect.CodeNotFound},
		{"iv-a", ce, 0},
		{"iv-b", ab, 0},
		{"iv-a", ab, connect.CodeFailedPrecondition}, // in scope, already decided
		{"iv-team", cd, 0},
	} {
		t.Run(fmt.Sprintf("decide-%s-%d", tc.who, tc.review.ID), func(t *testing.T) {
			_, err := f.identity(tc.who).DecideReview(ctx, connect.NewRequest(&v1.DecideReviewRequest{ReviewId: fmt.Sprint(tc.review.ID),
				Outcome: v1.ReviewOutcome_REVIEW_OUTCOME_DISTINCT, Reason: "not the same patient"}))
			if code(err) != tc.want {
				t.Fatalf("%s deciding review %d: %v, want %v", tc.who, tc.review.ID, err, tc.want)
			}
			r, err2 := f.index.Review(ctx, tc.review.ID)
			if err2 != nil {
				t.Fatal(err2)
			}
			if tc.want == connect.CodeNotFound && r.Status != mpi.StatusPending {
				t.Errorf("review %d refused to %s but now %s", tc.review.ID, tc.who, r.Status)
			}
		})
	}
	// Not found out of scope reads exactly as a review that does not exist.
	_, errOut := f.identity("iv-b").DecideReview(ctx, connect.NewRequest(&v1.DecideReviewRequest{ReviewId: fmt.Sprint(ce.ID), Outcome: v1.ReviewOutcome_REVIEW_OUTCOME_DISTINCT, Reason: "r"}))
	_, errNone := f.identity("iv-b").DecideReview(ctx, connect.NewRequest(&v1.DecideReviewRequest{ReviewId: "999999", Outcome: v1.ReviewOutcome_REVIEW_OUTCOME_DISTINCT, Reason: "r"}))
	if code(errOut) != connect.CodeNotFound || code(errNone) != connect.CodeNotFound {
		t.Errorf("out of scope %v, absent %v: want not_found for both", errOut, errNone)
	}
}
