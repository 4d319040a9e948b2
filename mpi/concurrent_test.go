package mpi

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"vigie"
)

// The tests of this file race N writers on one index (run with -race).
// Every change a writer was told succeeded must be there afterwards: the
// index's changes read what they change inside their write transaction,
// so that a concurrent commit is a conflict that retries them, never a
// stale copy written back over it.

// racers is how many writers race in each test.
const racers = 12

// race runs fn(i) for i in [0, n) at once, all released together, and
// returns their errors by i.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			errs[i] = fn(i)
		}()
	}
	start.Done()
	done.Wait()
	return errs
}

// persons resolves n clearly different persons (one record each, at
// authority auth) and returns their records and identities.
func persons(t *testing.T, ix *Index, auth string, n int) ([]vigie.Record, []vigie.IdentityID) {
	t.Helper()
	names := []string{"ARRIETA", "BORDES", "CAZENAVE", "DUFAU", "ETCHEGOYEN", "FOURCADE", "GOYHENECHE", "HARISPE",
		"IRIGOYEN", "JAUREGUY", "LABORDE", "MENDIBURU", "NAVARRE", "OXARANGO", "PUYO", "QUEHEILLE"}
	firsts := []string{"Ana", "Beñat", "Celine", "Dominique", "Elorri", "Fermin", "Garazi", "Hodei"}
	recs := make([]vigie.Record, n)
	ids := make([]vigie.IdentityID, n)
	for i := range n {
		recs[i] = vigie.Record{Authority: auth, LocalID: fmt.Sprintf("P%d", i), BirthName: names[i%len(names)],
			FirstName: firsts[i%len(firsts)], FirstNames: firsts[i%len(firsts)] + " Maria", BirthDate: fmt.Sprintf("19%02d-%02d-%02d", 30+i, 1+i%12, 1+i%28),
			Sex: "MF"[i%2 : i%2+1], BirthPlace: "64102", PostalCode: "64100", City: "BAYONNE"}
		ids[i] = resolve(t, ix, recs[i]).Identity
	}
	for i := range ids {
		for j := range i {
			if ids[i] == ids[j] {
				t.Fatalf("fixture: persons %d and %d resolved into one identity", i, j)
			}
		}
	}
	return recs, ids
}

func TestChangeAttributesConcurrent(t *testing.T) {
	add := func(codes ...string) [][2][]string {
		out := make([][2][]string, len(codes))
		for i, c := range codes {
			out[i][0] = []string{c}
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		start []string      // before the race
		calls [][2][]string // add, remove of each racing call
		want  []string      // after
	}{
		{name: "twelve adds", calls: add("DOUT", "FICT", "HOMD", "HOMA", "DPOT", "DOUA", "COLP", "COLV", "ANOM", "USUR", "INVA", "DESA"),
			want: []string{"ANOM", "COLP", "COLV", "DESA", "DOUA", "DOUT", "DPOT", "FICT", "HOMA", "HOMD", "INVA", "USUR"}},
		{name: "objection against a removal", start: []string{"DOUT"},
			calls: [][2][]string{{{"OPPO"}, nil}, {nil, {"DOUT"}}}, want: []string{"OPPO"}},
		{name: "objection against removals and adds", start: []string{"DOUT", "HOMD", "CACH"},
			calls: append(add("OPPO", "FICT", "ANOM"), [2][]string{nil, {"DOUT"}}, [2][]string{nil, {"HOMD"}}, [2][]string{{"INVA"}, {"CACH"}}),
			want:  []string{"ANOM", "FICT", "INVA", "OPPO"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix := openIndex(t, nil)
			recs, ids := persons(t, ix, "1.2.250.1.1", 10)
			for round, id := range ids {
				if len(tc.start) > 0 {
					if _, err := ix.ChangeAttributes(ctx, id, tc.start, nil, "v", "fixture"); err != nil {
						t.Fatal(err)
					}
				}
				seqs := make([]uint64, len(tc.calls))
				errs := race(len(tc.calls), func(i int) error {
					ch, err := ix.ChangeAttributes(ctx, id, tc.calls[i][0], tc.calls[i][1], Actor(fmt.Sprintf("agent%d", i)), "race")
					if err != nil {
						return err
					}
					seqs[i] = ch.Seq
					for _, a := range tc.calls[i][0] {
						if !slices.Contains(ch.Attributes, a) {
							return fmt.Errorf("added %s, answered %v", a, ch.Attributes)
						}
					}
					for _, a := range tc.calls[i][1] {
						if slices.Contains(ch.Attributes, a) {
							return fmt.Errorf("removed %s, answered %v", a, ch.Attributes)
						}
					}
					return nil
				})
				for i, err := range errs {
					if err != nil {
						t.Fatalf("round %d, call %d: %v", round, i, err)
					}
				}
				got, err := ix.Get(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got.Attributes, tc.want) {
					t.Fatalf("round %d: attributes %v after %d acknowledged calls, want %v", round, got.Attributes, len(tc.calls), tc.want)
				}
				// One event per call, each with the set its call committed;
				// the last one holds the final set.
				evs, err := ix.Events(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				var last Event
				n := 0
				for _, e := range evs {
					if e.Kind == EventAttributes && e.Reason == "race" {
						n++
						if !slices.Contains(seqs, e.Seq) {
							t.Errorf("round %d: event %d is no call's", round, e.Seq)
						}
						if e.Seq > last.Seq {
							last = e
						}
					}
				}
				if n != len(tc.calls) || !slices.Equal(last.Attributes, tc.want) {
					t.Errorf("round %d: %d attribute events, the last %v; want %d, %v", round, n, last.Attributes, len(tc.calls), tc.want)
				}
				// Resolution acts on the committed attributes, whatever
				// order the commits mirrored themselves in.
				match := recs[round]
				match.Authority = "1.2.250.1.2"
				want := DecisionLinked
				if slices.ContainsFunc(tc.want, func(a string) bool { return noAutoLinkAttributes[a] }) {
					want = DecisionReview
				}
				if res := resolve(t, ix, match); res.Decision != want {
					t.Errorf("round %d: a record matching an identity with attributes %v: %s, want %s", round, tc.want, res.Decision, want)
				}
			}
		})
	}
}

// An objection added while the identity is merged away ends up on the
// survivor whichever commits first: the change follows the redirect, the
// merge carries the retired identity's attributes.
func TestChangeAttributesRacingMerge(t *testing.T) {
	ix := openIndex(t, nil)
	_, ids := persons(t, ix, "1.2.250.1.1", 2*racers)
	errs := race(2*racers, func(i int) error {
		survivor, retired := ids[i/2*2], ids[i/2*2+1]
		if i%2 == 0 {
			_, err := ix.Merge(ctx, survivor, retired, "v", "same patient")
			return err
		}
		_, err := ix.ChangeAttributes(ctx, retired, []string{"OPPO"}, nil, "v", "the patient objects")
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	for i := 0; i < len(ids); i += 2 {
		got, err := ix.Get(ctx, ids[i+1])
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != ids[i] || !slices.Contains(got.Attributes, "OPPO") {
			t.Errorf("identity %s: %s with attributes %v, want survivor %s with OPPO", ids[i+1], got.ID, got.Attributes, ids[i])
		}
	}
}

// Concurrent merges into one survivor all keep their members; concurrent
// merges of one pair apply once, the others are told it is done.
func TestMergeConcurrent(t *testing.T) {
	ix := openIndex(t, nil)
	recs, ids := persons(t, ix, "1.2.250.1.1", racers+1)
	survivor := ids[0]
	for i, id := range ids[1:] {
		if _, err := ix.ChangeAttributes(ctx, id, []string{vigie.Attributes[i%len(vigie.Attributes)]}, nil, "v", "fixture"); err != nil {
			t.Fatal(err)
		}
	}
	errs := race(racers, func(i int) error {
		_, err := ix.Merge(ctx, survivor, ids[i+1], "v", "same patient")
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("merge %d: %v", i, err)
		}
	}
	got, err := ix.Get(ctx, survivor)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Members) != len(recs) {
		t.Errorf("survivor has %d members, want %d", len(got.Members), len(recs))
	}
	for i := range racers {
		if a := vigie.Attributes[i%len(vigie.Attributes)]; !slices.Contains(got.Attributes, a) {
			t.Errorf("attribute %s of merged identity %s lost: %v", a, ids[i+1], got.Attributes)
		}
		if identityOf(t, ix, recs[i+1]) != survivor {
			t.Errorf("record %s not in the survivor", key(recs[i+1]))
		}
	}

	// One pair, merged by every racer: one merge, the others a conflict.
	_, pair := persons(t, ix, "1.2.250.1.2", 2)
	errs = race(racers, func(int) error {
		_, err := ix.Merge(ctx, pair[0], pair[1], "v", "same patient")
		return err
	})
	wantOnce(t, ix, errs, pair[0], EventMerge)
}

// wantOnce checks that exactly one racer succeeded, that the others were
// told of a conflict, and that identity id has one event of kind.
func wantOnce(t *testing.T, ix *Index, errs []error, id vigie.IdentityID, kind string) {
	t.Helper()
	ok := 0
	for _, err := range errs {
		switch vigie.ErrorCode(err) {
		case "":
			ok++
		case vigie.ECONFLICT:
		default:
			t.Errorf("racer: %v, want success or a conflict", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d racers succeeded, want 1", ok)
	}
	evs, err := ix.Events(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Kind == kind {
			n++
		}
	}
	if n != 1 {
		t.Errorf("identity %s has %d %s events, want 1", id, n, kind)
	}
}

// Concurrent unmerges of one merge undo it once.
func TestUnmergeConcurrent(t *testing.T) {
	ix := openIndex(t, nil)
	_, ids := persons(t, ix, "1.2.250.1.1", 2)
	seq, err := ix.Merge(ctx, ids[0], ids[1], "v", "same patient")
	if err != nil {
		t.Fatal(err)
	}
	errs := race(racers, func(int) error {
		_, err := ix.Unmerge(ctx, seq, "v", "two persons")
		return err
	})
	wantOnce(t, ix, errs, ids[0], EventUnmerge)
	if got, _ := ix.Get(ctx, ids[1]); got.ID != ids[1] || len(got.Members) != 1 {
		t.Errorf("after unmerge: %+v", got)
	}
}

// Concurrent links of different records into one identity all land there;
// concurrent unlinks of its members each take their record out.
func TestLinkUnlinkConcurrent(t *testing.T) {
	ix := openIndex(t, nil)
	recs, ids := persons(t, ix, "1.2.250.1.1", racers+1)
	target := ids[0]
	errs := race(racers, func(i int) error {
		_, err := ix.Link(ctx, key(recs[i+1]), target, "v", "same patient")
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("link %d: %v", i, err)
		}
	}
	got, err := ix.Get(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Members) != len(recs) {
		t.Fatalf("target has %d members after %d links, want %d", len(got.Members), racers, len(recs))
	}
	for _, r := range recs {
		if identityOf(t, ix, r) != target {
			t.Errorf("record %s not in the target", key(r))
		}
	}

	news := make([]vigie.IdentityID, racers)
	errs = race(racers, func(i int) error {
		var err error
		news[i], err = ix.Unlink(ctx, key(recs[i+1]), "v", "not the same patient")
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("unlink %d: %v", i, err)
		}
		if identityOf(t, ix, recs[i+1]) != news[i] {
			t.Errorf("record %s not in the identity its unlink answered (%s)", key(recs[i+1]), news[i])
		}
	}
	if got, _ := ix.Get(ctx, target); len(got.Members) != 1 {
		t.Errorf("target keeps %d members after unlinking all but one", len(got.Members))
	}
	// One record, linked by every racer into one identity: once.
	errs = race(racers, func(int) error {
		_, err := ix.Link(ctx, key(recs[1]), news[1], "v", "same patient")
		return err
	})
	wantOnce(t, ix, errs, news[0], EventLink)
}

// Staff deciding one review at once: one decision applies, the others are
// told it was already decided; the review has one decision event and its
// merge happened once.
func TestDecideConcurrent(t *testing.T) {
	ix := openIndex(t, nil)
	for round := range 6 {
		// A record matching a doubtful identity goes to review.
		a := person("1.2.250.1.1", fmt.Sprintf("A%d", round))
		// Rounds a generation apart: two dates a few slips apart are one
		// date typed twice, and would put earlier rounds to review too.
		a.BirthDate, a.FirstName = fmt.Sprintf("19%02d-05-%02d", 20+13*round, 10+round), []string{"Maite", "Oihana", "Amaia"}[round%3]
		b := a
		b.Authority = "1.2.250.1.2"
		ra := resolve(t, ix, a)
		if _, err := ix.ChangeAttributes(ctx, ra.Identity, []string{"DOUT"}, nil, "v", "fixture"); err != nil {
			t.Fatal(err)
		}
		if res := resolve(t, ix, b); res.Decision != DecisionReview || len(res.Reviews) != 1 {
			t.Fatalf("fixture: %+v, want one review", res)
		}
		revs, err := ix.Reviews(ctx, 0)
		if err != nil || len(revs) != 1 {
			t.Fatalf("fixture: reviews %+v, %v", revs, err)
		}
		rev := revs[0]
		decisions := []string{Same, Different}
		errs := race(racers, func(i int) error {
			return ix.Decide(ctx, rev.ID, decisions[(i+round)%2], Actor(fmt.Sprintf("agent%d", i)), "decided")
		})
		wantOnce(t, ix, errs, rev.Identity, EventDecide)
		evs, _ := ix.Events(ctx, rev.Identity)
		merges := 0
		for _, e := range evs {
			if e.Kind == EventMerge {
				merges++
			}
		}
		if merges > 1 {
			t.Errorf("round %d: %d merges for one review", round, merges)
		}
		if n, _ := ix.PendingReviews(ctx); n != 0 {
			t.Errorf("round %d: %d reviews pending after the decision", round, n)
		}
	}
}

// TestResolveChecksMirroredAttributes: the in-memory mirror of an
// identity's attributes may lag behind the store (two commits mirror
// themselves in either order); resolution checks them against the store
// before acting on them, and refreshes the mirror.
func TestResolveChecksMirroredAttributes(t *testing.T) {
	for _, tc := range []struct {
		name           string
		stored, mirror []string
		want           Decision
	}{
		{"doubtful, mirror lagging", []string{"DOUT"}, nil, DecisionReview},
		{"doubtful, mirror lagging on another code", []string{"DOUT", "OPPO"}, []string{"OPPO"}, DecisionReview},
		{"no longer doubtful, mirror lagging", []string{"OPPO"}, []string{"DOUT", "OPPO"}, DecisionLinked},
		{"no longer any attribute, mirror lagging", nil, []string{"FICT"}, DecisionLinked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix := openIndex(t, nil)
			a := person("1.2.250.1.1", "A1")
			id := resolve(t, ix, a).Identity
			if len(tc.stored) > 0 {
				if _, err := ix.ChangeAttributes(ctx, id, tc.stored, nil, "v", "fixture"); err != nil {
					t.Fatal(err)
				}
			}
			ix.memMu.Lock()
			ix.setIdentLocked(id, true, []vigie.SourceKey{key(a)}, tc.mirror)
			ix.memMu.Unlock()
			b := a
			b.Authority = "1.2.250.1.2"
			if res := resolve(t, ix, b); res.Decision != tc.want {
				t.Errorf("resolve against stored %v, mirrored %v: %s, want %s", tc.stored, tc.mirror, res.Decision, tc.want)
			}
			ix.memMu.RLock()
			m := slices.Clone(ix.attrs[id])
			ix.memMu.RUnlock()
			if !slices.Equal(m, tc.stored) {
				t.Errorf("mirror %v after resolving, want the stored %v", m, tc.stored)
			}
		})
	}
}
