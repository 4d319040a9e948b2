package mpi

import (
	"testing"

	"vigie"
)

// Review reads one review by id, pending or decided; an unknown id is
// ENOTFOUND.
func TestReviewByID(t *testing.T) {
	a := person("1.2.250.1.1", "A1")
	b := vigie.Record{Authority: "1.2.250.1.2", LocalID: "B1", BirthName: "LAFITTE", FirstName: "Bernadette", BirthDate: "1948-03-17"}
	ix := openIndex(t, reviewModel(t, a, b))
	resolve(t, ix, a)
	resolve(t, ix, b)
	revs, _ := ix.Reviews(ctx, 0)
	if len(revs) != 1 {
		t.Fatalf("fixture: want one review, got %d", len(revs))
	}
	want := revs[0]
	for _, tc := range []struct {
		name   string
		decide bool
		status string
	}{
		{"pending", false, StatusPending},
		{"decided", true, StatusDecided},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.decide {
				if err := ix.Decide(ctx, want.ID, Different, "vigilance", "mother and daughter"); err != nil {
					t.Fatal(err)
				}
			}
			got, err := ix.Review(ctx, want.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != want.ID || got.Record != want.Record || got.Identity != want.Identity || got.Candidate != want.Candidate || got.Status != tc.status {
				t.Fatalf("Review(%d) = %+v, want %+v with status %s", want.ID, got, want, tc.status)
			}
			if got.CandidateGolden.LocalID == "" && got.CandidateGolden.BirthName == "" {
				t.Errorf("candidate golden view empty")
			}
		})
	}
	_, err := ix.Review(ctx, want.ID+1000)
	wantCode(t, err, vigie.ENOTFOUND)
}
