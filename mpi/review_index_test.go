package mpi

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	"vigie"
	"vigie/matcher"
	"vigie/store"
)

// insWithKey completes a 13-digit INS body with its key.
func insWithKey(body string) string {
	n, _ := new(big.Int).SetString(body, 10)
	return fmt.Sprintf("%s%02d", body, 97-new(big.Int).Mod(n, big.NewInt(97)).Int64())
}

// pairRecords are a record at site x and one at site y with the same INS
// on conflicting traits: the second opens a review.
func pairRecords(x, y string, n int) (a, b vigie.Record) {
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	name := make([]byte, 9)
	for i := range name {
		name[i] = byte('A' + rng.IntN(26))
	}
	year := 1930 + rng.IntN(70)
	ins := insWithKey(fmt.Sprintf("2%02d0233%06d", year%100, n))
	a = vigie.Record{Authority: x, LocalID: fmt.Sprint(n, "-X"), BirthName: string(name), FirstName: "JEANNE", BirthDate: fmt.Sprintf("%d-02-07", year), Sex: "F", INS: ins}
	b = vigie.Record{Authority: y, LocalID: fmt.Sprint(n, "-Y"), BirthName: string(name), FirstName: "JEAN", BirthDate: fmt.Sprintf("%d-07-02", year), Sex: "M", INS: ins}
	return a, b
}

// openPair resolves pairRecords and returns the (first) review this
// opens (its record y's, its candidate x's identity).
func openPair(tb testing.TB, ix *Index, x, y string, n int) Review {
	tb.Helper()
	a, b := pairRecords(x, y, n)
	if _, err := ix.Resolve(ctx, a, System); err != nil {
		tb.Fatal(err)
	}
	res, err := ix.Resolve(ctx, b, System)
	if err != nil {
		tb.Fatal(err)
	}
	if res.Decision != DecisionReview || len(res.Reviews) == 0 {
		tb.Fatalf("pair %d: %+v, want a review", n, res)
	}
	r, err := ix.Review(ctx, res.Reviews[0])
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

const (
	siteW = "1.2.250.1.213.1.1.1.21"
	siteX = "1.2.250.1.213.1.1.1.22"
	siteY = "1.2.250.1.213.1.1.1.23"
	siteZ = "1.2.250.1.213.1.1.1.24"
)

// sitesQueue lists the ids ReviewsOfSites returns for the sites.
func sitesQueue(t *testing.T, ix *Index, sites ...string) []uint64 {
	t.Helper()
	rs, err := ix.ReviewsOfSites(ctx, sites, 0, func(*Review) (bool, error) { return true, nil })
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint64
	for _, r := range rs {
		ids = append(ids, r.ID)
	}
	return ids
}

// TestReviewsOfSites: the per-site queue holds a review under the sites
// it concerns, in the region's queue order; a merge or a link files it
// under the sites its identities gain; a decision takes it out, a skip
// puts it at the back; a store without the index gets it at Open.
func TestReviewsOfSites(t *testing.T) {
	ix := openIndex(t, nil)
	wx := openPair(t, ix, siteW, siteX, 1)
	yz := openPair(t, ix, siteY, siteZ, 2)
	wy := openPair(t, ix, siteW, siteY, 3)
	if !slices.Equal(wx.Sites, []string{siteW, siteX}) {
		t.Errorf("sites %v, want W and X", wx.Sites)
	}
	for _, c := range []struct {
		sites []string
		want  []uint64
	}{
		{[]string{siteW}, []uint64{wx.ID, wy.ID}},
		{[]string{siteX}, []uint64{wx.ID}},
		{[]string{siteY}, []uint64{yz.ID, wy.ID}},
		{[]string{siteY, siteW}, []uint64{wx.ID, yz.ID, wy.ID}}, // each once, in queue order
		{[]string{"1.2.250.1.999"}, nil},
	} {
		if got := sitesQueue(t, ix, c.sites...); !slices.Equal(got, c.want) {
			t.Errorf("sites %v: %v, want %v", c.sites, got, c.want)
		}
	}

	// A record of site W joins yz's candidate (a link), then that
	// identity is merged with one holding a record of site X: site W and
	// site X now have a say in yz.
	link := openPair(t, ix, siteW, siteW, 4) // an unrelated review at W, to move a record from
	if _, err := ix.Link(ctx, link.Record, yz.Candidate, Actor("iv"), "même patient"); err != nil {
		t.Fatal(err)
	}
	if got := sitesQueue(t, ix, siteW); !slices.Contains(got, yz.ID) {
		t.Errorf("after a link of a site-W record into its candidate, W's queue %v lacks review %d", got, yz.ID)
	}
	lone := resolve(t, ix, vigie.Record{Authority: siteX, LocalID: "SEUL", BirthName: "ISOLE", FirstName: "MARC", BirthDate: "1960-01-01", Sex: "M"})
	merge, err := ix.Merge(ctx, lone.Identity, yz.Identity, Actor("iv"), "même patient")
	if err != nil {
		t.Fatal(err)
	}
	if got := sitesQueue(t, ix, siteX); !slices.Contains(got, yz.ID) {
		t.Errorf("after a merge into a site-X identity, X's queue %v lacks review %d", got, yz.ID)
	}
	// Filed under new sites, the review keeps everything else it holds.
	after, err := ix.Review(ctx, yz.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(after.Sites, siteW) || !slices.Contains(after.Sites, siteX) || after.Explanation == "" ||
		after.Explanation != yz.Explanation || len(after.Fields) != len(yz.Fields) || after.Kind != yz.Kind || !after.Created.Equal(yz.Created) {
		t.Errorf("review %d after its sites grew: sites %v, %d fields, kind %q, explanation %q; opened with %d fields, kind %q, explanation %q",
			yz.ID, after.Sites, len(after.Fields), after.Kind, after.Explanation, len(yz.Fields), yz.Kind, yz.Explanation)
	}
	// Undone, the merge leaves the review filed under its identity as it
	// is again (Verify checks it), and its sites stay: the exact check
	// of the reader decides.
	if _, err := ix.Unmerge(ctx, merge, Actor("iv"), "erreur"); err != nil {
		t.Fatal(err)
	}
	if err := ix.Verify(ctx); err != nil {
		t.Fatalf("after an unmerge: %v", err)
	}
	if _, err := ix.Link(ctx, vigie.SourceKey{Authority: siteX, LocalID: "SEUL"}, yz.Identity, Actor("iv"), "même patient"); err != nil {
		t.Fatal(err)
	}
	if err := ix.Verify(ctx); err != nil {
		t.Fatalf("after a link into the restored identity: %v", err)
	}

	// A skip puts wx at the back of W's queue; a decision takes wy out.
	if err := ix.Decide(ctx, wx.ID, Skip, Actor("iv"), "plus tard"); err != nil {
		t.Fatal(err)
	}
	if err := ix.Decide(ctx, wy.ID, Different, Actor("iv"), "deux personnes"); err != nil {
		t.Fatal(err)
	}
	got := sitesQueue(t, ix, siteW)
	if len(got) == 0 || got[len(got)-1] != wx.ID || slices.Contains(got, wy.ID) {
		t.Errorf("W's queue %v: want %d last, %d gone", got, wx.ID, wy.ID)
	}
	// The region's queue, filtered, gives the same order.
	all, err := ix.Reviews(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var want []uint64
	for _, r := range all {
		if slices.Contains(r.Sites, siteW) {
			want = append(want, r.ID)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("W's queue %v, the region's filtered %v", got, want)
	}
	if err := ix.Verify(ctx); err != nil {
		t.Fatal(err)
	}

	// A store made before the index: its keys and the reviews' sites
	// gone, the index is built again at Open.
	err = store.Update(ix.db, func(txn *store.Txn) error {
		for _, p := range []string{pPendingSite, pPendingIdent} {
			it := txn.NewIterator(store.IteratorOptions{Prefix: []byte(p)})
			var keys [][]byte
			for it.Rewind(); it.Valid(); it.Next() {
				keys = append(keys, it.Item().KeyCopy(nil))
			}
			it.Close()
			for _, k := range keys {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
		}
		for _, r := range all {
			r.Sites = nil
			if err := put(txn, reviewKey(r.ID), &r); err != nil {
				return err
			}
		}
		return txn.Delete([]byte(pPendingSiteBuilt))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Verify(ctx); err == nil {
		t.Fatal("verify finds nothing wrong with the per-site queue gone")
	}
	rx, err := Open(ix.db, ix.Model(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	if err := rx.Verify(ctx); err != nil {
		t.Fatal(err)
	}
	if again := sitesQueue(t, rx, siteW); !slices.Equal(again, got) {
		t.Errorf("after the reindex W's queue is %v, was %v", again, got)
	}
}

// BenchmarkReviewsOfOneSite: the first page (50) of one site's reviews
// when the region's queue holds many, read by the whole queue filtered
// (what ListReviews did before the per-site index) and by the per-site
// index. 40 sites; one in 40 reviews is the site's.
func BenchmarkReviewsOfOneSite(b *testing.B) {
	for _, total := range []int{2000, 8000} {
		ix := openBenchIndex(b)
		sites := make([]string, 40)
		for i := range sites {
			sites[i] = fmt.Sprintf("1.2.250.1.213.1.1.2.%d", i)
		}
		for n := range total {
			x, y := pairRecords(sites[n%len(sites)], sites[(n+1)%len(sites)], n)
			for _, r := range []vigie.Record{x, y} {
				if _, err := ix.Resolve(ctx, r, System); err != nil {
					b.Fatal(err)
				}
			}
		}
		pending, err := ix.PendingReviews(ctx)
		if err != nil {
			b.Fatal(err)
		}
		site := sites[0] // record or candidate in 2 of 40 reviews
		visible := func(r *Review) bool { return r.Record.Authority == site || r.Matched.Authority == site }
		b.Logf("%d pending reviews in the region", pending)
		b.Run(fmt.Sprintf("queue=%d/whole queue", pending), func(b *testing.B) {
			for b.Loop() {
				all, err := ix.Reviews(ctx, 0)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for i := range all {
					if visible(&all[i]) {
						n++
					}
					if n == 50 {
						break
					}
				}
			}
		})
		b.Run(fmt.Sprintf("queue=%d/site index", pending), func(b *testing.B) {
			for b.Loop() {
				n := 0
				if _, err := ix.ReviewsOfSites(ctx, []string{site}, 50, func(r *Review) (bool, error) {
					ok := visible(r)
					if ok {
						n++
					}
					return ok, nil
				}); err != nil {
					b.Fatal(err)
				}
				if n == 0 {
					b.Fatal("no review of the site")
				}
			}
		})
	}
}

func openBenchIndex(b *testing.B) *Index {
	b.Helper()
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	ix, err := Open(db, matcher.DefaultModel(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ix.Close() })
	return ix
}
