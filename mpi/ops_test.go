package mpi

import (
	"slices"
	"testing"

	"vigie"
	"vigie/matcher"
)

func TestLinkUnlink(t *testing.T) {
	ix := openIndex(t, nil)
	a, b, c := person("1.2.250.1.1", "A1"), person("1.2.250.1.2", "B1"), other("1.2.250.1.3", "C1")
	ra, rb, rc := resolve(t, ix, a), resolve(t, ix, b), resolve(t, ix, c)
	if ra.Identity != rb.Identity {
		t.Fatal("fixture: a and b must link")
	}

	_, err := ix.Unlink(ctx, key(c), "vigilance", "test")
	wantCode(t, err, vigie.ECONFLICT) // alone: nothing to unlink from
	_, err = ix.Unlink(ctx, key(b), "", "no actor")
	wantCode(t, err, vigie.EINVALID)
	_, err = ix.Unlink(ctx, key(b), "vigilance", "")
	wantCode(t, err, vigie.EINVALID)
	_, err = ix.Unlink(ctx, vigie.SourceKey{Authority: "x", LocalID: "y"}, "vigilance", "unknown record")
	wantCode(t, err, vigie.ENOTFOUND)

	idB, err := ix.Unlink(ctx, key(b), "vigilance", "homonym")
	if err != nil {
		t.Fatal(err)
	}
	if identityOf(t, ix, b) != idB || idB == ra.Identity {
		t.Fatal("unlinked record must be in its own new identity")
	}
	if d, _ := ix.Distinct(ctx, key(a), key(b)); !d {
		t.Fatal("unlink marks the record distinct from the ones it leaves")
	}
	// A later update of b still matching a does not undo the person's decision.
	b.Phone = "0556000001"
	if res := resolve(t, ix, b); res.Identity != idB {
		t.Fatalf("update of an unlinked record: %+v, want it to stay in %s", res, idB)
	}

	// Link c (a different person) into a's identity by hand: allowed, pinned,
	// and c's emptied identity redirects.
	if _, err := ix.Link(ctx, key(c), ra.Identity, "vigilance", "same patient, per ID card"); err != nil {
		t.Fatal(err)
	}
	_, err = ix.Link(ctx, key(c), ra.Identity, "vigilance", "twice")
	wantCode(t, err, vigie.ECONFLICT)
	_, err = ix.Link(ctx, key(c), 999999, "vigilance", "no such identity")
	wantCode(t, err, vigie.ENOTFOUND)
	got, err := ix.Get(ctx, rc.Identity)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != ra.Identity || !slices.Contains(got.Members, key(c)) {
		t.Fatalf("c's old identity must redirect to a's: %+v", got)
	}
	// An update of c that no longer fits a goes to review, not out.
	c.Phone = "0559000002"
	if res := resolve(t, ix, c); res.Identity != ra.Identity || res.Decision != DecisionReview {
		t.Fatalf("update of a record linked by hand: %+v", res)
	}
}

func TestMergeRedirectAndUnmerge(t *testing.T) {
	ix := openIndex(t, nil)
	a1, a2 := person("1.2.250.1.1", "A1"), person("1.2.250.1.2", "A2")
	b1 := other("1.2.250.1.1", "B1")
	ra, _, rb := resolve(t, ix, a1), resolve(t, ix, a2), resolve(t, ix, b1)
	if _, err := ix.ChangeAttributes(ctx, rb.Identity, []string{"HOMD"}, nil, "vigilance", "homonym detected"); err != nil {
		t.Fatal(err)
	}

	_, err := ix.Merge(ctx, ra.Identity, ra.Identity, "vigilance", "itself")
	wantCode(t, err, vigie.ECONFLICT)
	merge, err := ix.Merge(ctx, ra.Identity, rb.Identity, "vigilance", "same patient (mistake)")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ix.Merge(ctx, ra.Identity, rb.Identity, "vigilance", "again")
	wantCode(t, err, vigie.ECONFLICT)

	// The retired id redirects for ever.
	got, err := ix.Get(ctx, rb.Identity)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != ra.Identity || !slices.Equal(got.Redirected, []vigie.IdentityID{rb.Identity}) || len(got.Members) != 3 || !slices.Contains(got.Attributes, "HOMD") {
		t.Fatalf("retired id: %+v", got)
	}
	if recs, _ := ix.Records(ctx, rb.Identity); len(recs) != 3 {
		t.Fatalf("records through the retired id: %v", recs)
	}
	if id := identityOf(t, ix, b1); id != ra.Identity {
		t.Fatalf("b1 in %s after the merge, want %s", id, ra.Identity)
	}

	// Records arrive after the merge: one matching b1, one matching a1.
	// b2 comes through a feed's API key: the link is automatic all the
	// same (the matcher made it), and unmerge must send it back with b1.
	b2 := other("1.2.250.1.3", "B2")
	a3 := person("1.2.250.1.3", "A3")
	if res, err := ix.Resolve(ctx, b2, "feed-key-7"); err != nil || res.Identity != ra.Identity || res.Decision != DecisionLinked {
		t.Fatalf("b2 after the merge: %+v, %v", res, err)
	}
	if res := resolve(t, ix, a3); res.Identity != ra.Identity {
		t.Fatalf("a3 after the merge: %+v", res)
	}

	_, err = ix.Unmerge(ctx, 424242, "vigilance", "no such event")
	wantCode(t, err, vigie.ENOTFOUND)
	if _, err := ix.Unmerge(ctx, merge, "vigilance", "different patients"); err != nil {
		t.Fatal(err)
	}
	_, err = ix.Unmerge(ctx, merge, "vigilance", "twice")
	wantCode(t, err, vigie.ECONFLICT)

	ga, _ := ix.Get(ctx, ra.Identity)
	gb, _ := ix.Get(ctx, rb.Identity)
	if want := []vigie.SourceKey{key(a1), key(a2), key(a3)}; !slices.Equal(ga.Members, want) || len(ga.Attributes) != 0 {
		t.Fatalf("survivor after unmerge: %+v, want members %v and no attribute", ga, want)
	}
	if want := []vigie.SourceKey{key(b1), key(b2)}; gb.ID != rb.Identity || !slices.Equal(gb.Members, want) || !slices.Equal(gb.Attributes, []string{"HOMD"}) {
		t.Fatalf("restored identity: %+v, want members %v and HOMD", gb, want)
	}
	// Both sides stay apart: a new record of b's person links to b, not a.
	if res := resolve(t, ix, other("1.2.250.1.4", "B3")); res.Identity != rb.Identity {
		t.Fatalf("after unmerge: %+v, want %s", res, rb.Identity)
	}
	ev, _ := ix.Events(ctx, rb.Identity)
	kinds := []string{}
	for _, e := range ev {
		kinds = append(kinds, e.Kind)
	}
	if !slices.Contains(kinds, EventMerge) || !slices.Contains(kinds, EventUnmerge) {
		t.Fatalf("events of the restored identity: %v", kinds)
	}
}

func TestUnmergeRefusedWhileSurvivorMerged(t *testing.T) {
	ix := openIndex(t, nil)
	a, b := resolve(t, ix, person("1.2.250.1.1", "A1")), resolve(t, ix, other("1.2.250.1.1", "B1"))
	c := resolve(t, ix, vigie.Record{Authority: "1.2.250.1.1", LocalID: "C1", BirthName: "NGUYEN", FirstName: "Van", BirthDate: "1975-01-20"})
	m1, err := ix.Merge(ctx, a.Identity, b.Identity, "v", "r")
	if err != nil {
		t.Fatal(err)
	}
	m2, err := ix.Merge(ctx, c.Identity, a.Identity, "v", "r")
	if err != nil {
		t.Fatal(err)
	}
	// b redirects through a to c.
	if got, _ := ix.Get(ctx, b.Identity); got.ID != c.Identity || !slices.Equal(got.Redirected, []vigie.IdentityID{b.Identity, a.Identity}) {
		t.Fatalf("redirect chain: %+v", got)
	}
	_, err = ix.Unmerge(ctx, m1, "v", "r")
	wantCode(t, err, vigie.ECONFLICT)
	if _, err := ix.Unmerge(ctx, m2, "v", "r"); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Unmerge(ctx, m1, "v", "r"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []Result{a, b, c} {
		if recs, _ := ix.Records(ctx, r.Identity); len(recs) != 1 {
			t.Fatalf("identity %s after both unmerges: %v", r.Identity, recs)
		}
	}
}

// A pair decided different stays apart when the feed is imported again,
// unchanged or updated.
func TestMarkDistinctSurvivesReimport(t *testing.T) {
	a := person("1.2.250.1.1", "A1")
	b := vigie.Record{Authority: "1.2.250.1.2", LocalID: "B1", BirthName: "LAFITTE", FirstName: "Bernadette", BirthDate: "1948-03-17"}
	ix := openIndex(t, reviewModel(t, a, b))
	feed := []vigie.Record{a, b}
	for _, r := range feed {
		resolve(t, ix, r)
	}
	revs, _ := ix.Reviews(ctx, 0)
	if len(revs) != 1 {
		t.Fatalf("fixture: want one review, got %d", len(revs))
	}
	if err := ix.Decide(ctx, revs[0].ID, Different, "vigilance", "mother and daughter"); err != nil {
		t.Fatal(err)
	}
	idA, idB := identityOf(t, ix, a), identityOf(t, ix, b)
	for _, r := range feed { // the same feed again
		if res := resolve(t, ix, r); res.Decision != DecisionUnchanged {
			t.Fatalf("re-import: %+v", res)
		}
	}
	// b comes back with more traits, now an auto-link by score alone.
	b2 := a
	b2.Authority, b2.LocalID = b.Authority, b.LocalID
	if s := scoreOf(t, ix, a, b2); !s.AutoLink {
		t.Fatalf("fixture: the updated record must be an auto-link by score (%g)", s.Probability)
	}
	if res := resolve(t, ix, b2); res.Identity != idB || res.Decision == DecisionLinked {
		t.Fatalf("updated record marked distinct: %+v, want it kept in %s", res, idB)
	}
	if identityOf(t, ix, a) != idA {
		t.Fatal("a moved")
	}
	if pending, _ := ix.PendingReviews(ctx); pending != 0 {
		t.Fatalf("%d reviews pending: a distinct pair must not come back to review", pending)
	}
	_, err := ix.MarkDistinct(ctx, idA, idA, "vigilance", "itself")
	wantCode(t, err, vigie.ECONFLICT)
}

func TestReviewQueueOrderAndDecisions(t *testing.T) {
	a := person("1.2.250.1.1", "A1")
	b := vigie.Record{Authority: "1.2.250.1.2", LocalID: "B1", BirthName: "LAFITTE", FirstName: "Bernadette", BirthDate: "1948-03-17"}
	ix := openIndex(t, reviewModel(t, a, b))
	resolve(t, ix, a)
	r1 := resolve(t, ix, b)
	// A potential collision: the same INS on another person.
	ins := validINS(t, "1900175123456")
	c := other("1.2.250.1.3", "C1")
	c.BirthDate, c.INS, c.Status = "1990-01-02", ins, "QUAL"
	resolve(t, ix, c)
	c2 := c
	c2.LocalID, c2.FirstName = "C2", "Xabi"
	resolve(t, ix, c2)

	revs, err := ix.Reviews(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != 2 || revs[0].Priority != 0 || revs[0].Record != key(c2) || revs[1].Record != key(b) {
		t.Fatalf("queue %+v, want the collision first", revs)
	}
	if f := revs[0].Fields; len(f) != int(matcher.NumFields) || f[0].Field != "name" || f[0].Level == "" {
		t.Errorf("the review's per-field explanation: %+v", f)
	}
	if err := ix.Decide(ctx, revs[0].ID, "maybe", "v", "r"); vigie.ErrorCode(err) != vigie.EINVALID {
		t.Fatalf("bad decision: %v", err)
	}
	if err := ix.Decide(ctx, 9999, Skip, "v", "r"); vigie.ErrorCode(err) != vigie.ENOTFOUND {
		t.Fatalf("unknown review: %v", err)
	}
	// Skip moves it to the back of its band (it stays first: the only collision).
	if err := ix.Decide(ctx, revs[1].ID, Skip, "v", "later"); err != nil {
		t.Fatal(err)
	}
	if again, _ := ix.Reviews(ctx, 0); len(again) != 2 || again[1].ID != revs[1].ID || again[1].Order <= revs[1].Order {
		t.Fatalf("after skip: %+v", again)
	}
	// Same: b's identity is merged into a's.
	if err := ix.Decide(ctx, revs[1].ID, Same, "vigilance", "same patient"); err != nil {
		t.Fatal(err)
	}
	if identityOf(t, ix, b) != identityOf(t, ix, a) {
		t.Fatal("decided same: both identities must be one")
	}
	if got, _ := ix.Get(ctx, r1.Identity); got.ID != identityOf(t, ix, a) {
		t.Fatal("the record's identity must redirect to the candidate")
	}
	if n, _ := ix.PendingReviews(ctx); n != 1 {
		t.Fatalf("%d pending, want 1", n)
	}
}

func TestChangeAttributes(t *testing.T) {
	ix := openIndex(t, nil)
	ra := resolve(t, ix, person("1.2.250.1.1", "A1"))
	for _, tc := range []struct {
		add, remove []string
		field       string // of the EINVALID error, "" when accepted
		want        []string
	}{
		{add: []string{"BOGUS"}, field: "add"},
		{remove: []string{"BOGUS"}, field: "remove"},
		{add: []string{"DOUT"}, remove: []string{"dout"}, field: "remove"},
		{add: []string{"dout", " DOUT", "HOMD"}, want: []string{"DOUT", "HOMD"}},
		{add: []string{"OPPO"}, remove: []string{"HOMD"}, want: []string{"DOUT", "OPPO"}},
		{remove: []string{"HOMD"}, want: []string{"DOUT", "OPPO"}},
		{add: []string{"DOUT"}, want: []string{"DOUT", "OPPO"}},
	} {
		ch, err := ix.ChangeAttributes(ctx, ra.Identity, tc.add, tc.remove, "v", "documents doubtful")
		if tc.field != "" {
			wantCode(t, err, vigie.EINVALID)
			if vigie.ErrorField(err) != tc.field {
				t.Fatalf("add %v remove %v: field %q, want %q", tc.add, tc.remove, vigie.ErrorField(err), tc.field)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got, _ := ix.Get(ctx, ra.Identity)
		if !slices.Equal(got.Attributes, tc.want) || !slices.Equal(ch.Attributes, tc.want) || ch.Identity != ra.Identity {
			t.Fatalf("add %v remove %v: stored %v, answered %v for %s; want %v", tc.add, tc.remove, got.Attributes, ch.Attributes, ch.Identity, tc.want)
		}
		if e, err := ix.Event(ctx, ch.Seq); err != nil || e.Kind != EventAttributes || !slices.Equal(e.Attributes, tc.want) {
			t.Fatalf("event %d: %+v %v", ch.Seq, e, err)
		}
	}
	// No automatic link into a doubtful identity.
	if res := resolve(t, ix, person("1.2.250.1.2", "B1")); res.Decision != DecisionReview {
		t.Fatalf("record matching a doubtful identity: %+v, want review", res)
	}
}

func TestGolden(t *testing.T) {
	ix := openIndex(t, nil)
	prov := person("1.2.250.1.1", "A1")
	prov.FirstName, prov.Status = "BERNADETE", "PROV"
	vali := person("1.2.250.1.2", "B1")
	vali.Status, vali.PostalCode = "VALI", "33800"
	qual := person("1.2.250.1.3", "C1")
	qual.INS, qual.INSOID, qual.Status, qual.FirstName = validINS(t, "2480333063123"), "1.2.250.1.213.1.4.8", "QUAL", "BERNADETTE"
	for _, r := range []vigie.Record{prov, vali, prov} {
		resolve(t, ix, r)
	}
	got, err := ix.Get(ctx, identityOf(t, ix, prov))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Members) != 2 || got.Golden.FirstName != "Bernadette" || got.Golden.PostalCode != "33800" || got.Golden.Status != "VALI" {
		t.Fatalf("VALI traits win over PROV: %+v", got.Golden)
	}
	resolve(t, ix, qual)
	got, _ = ix.Get(ctx, got.ID)
	if len(got.Members) != 3 || got.Golden.FirstName != "BERNADETTE" || got.Golden.INS != qual.INS || got.Golden.Status != "QUAL" {
		t.Fatalf("qualified INS traits win: %+v", got.Golden)
	}
}

func TestGetUnknown(t *testing.T) {
	ix := openIndex(t, nil)
	_, err := ix.Get(ctx, 12)
	wantCode(t, err, vigie.ENOTFOUND)
	_, err = ix.IdentityOf(ctx, "a", "b")
	wantCode(t, err, vigie.ENOTFOUND)
	_, err = ix.Events(ctx, 12)
	wantCode(t, err, vigie.ENOTFOUND)
	_, err = vigie.ParseIdentityID("abc")
	wantCode(t, err, vigie.EINVALID)
}

// Reopening the index rebuilds the record count and the frequency table.
func TestReopen(t *testing.T) {
	ix := openIndex(t, nil)
	resolve(t, ix, person("1.2.250.1.1", "A1"))
	resolve(t, ix, other("1.2.250.1.1", "B1"))
	again, err := Open(ix.db, ix.Model(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.Count() != 2 {
		t.Fatalf("count %d after reopening, want 2", again.Count())
	}
	if res := resolve(t, again, person("1.2.250.1.2", "A2")); res.Decision != DecisionLinked {
		t.Fatalf("after reopening: %+v", res)
	}
}

func FuzzParseID(f *testing.F) {
	for _, s := range []string{"1", "18446744073709551615", "0", "-1", " 42 ", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := vigie.ParseIdentityID(s)
		if err != nil {
			if vigie.ErrorCode(err) != vigie.EINVALID {
				t.Fatalf("error code %q", vigie.ErrorCode(err))
			}
			return
		}
		back, err := vigie.ParseIdentityID(id.String())
		if err != nil || back != id || id == 0 {
			t.Fatalf("%q -> %d -> %q -> %d, %v", s, id, id.String(), back, err)
		}
	})
}

// TestUnmergeKeepsLaterAttributeChanges: undoing a merge restores each
// side's attributes as they were at the merge, plus what was changed on the
// merged identity since, on both sides: an objection made after the merge
// must not vanish with it.
func TestUnmergeKeepsLaterAttributeChanges(t *testing.T) {
	for _, tc := range []struct {
		name                      string
		survivor, retired         []string // before the merge
		add, remove               []string // on the merged identity
		wantSurvivor, wantRetired []string // after the unmerge
	}{
		{"nothing changed", []string{"HOMD"}, []string{"DOUT"}, nil, nil, []string{"HOMD"}, []string{"DOUT"}},
		{"objection added", []string{"HOMD"}, nil, []string{"OPPO"}, nil, []string{"HOMD", "OPPO"}, []string{"OPPO"}},
		{"objection added, doubt lifted", []string{"HOMD"}, []string{"DOUT", "CACH"}, []string{"OPPO"}, []string{"DOUT"},
			[]string{"HOMD", "OPPO"}, []string{"CACH", "OPPO"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix := openIndex(t, nil)
			ra, rb := resolve(t, ix, person("1.2.250.1.1", "A1")), resolve(t, ix, other("1.2.250.1.1", "B1"))
			for _, x := range []struct {
				id    vigie.IdentityID
				attrs []string
			}{{ra.Identity, tc.survivor}, {rb.Identity, tc.retired}} {
				if len(x.attrs) > 0 {
					if _, err := ix.ChangeAttributes(ctx, x.id, x.attrs, nil, "v", "fixture"); err != nil {
						t.Fatal(err)
					}
				}
			}
			merge, err := ix.Merge(ctx, ra.Identity, rb.Identity, "v", "same patient (mistake)")
			if err != nil {
				t.Fatal(err)
			}
			if len(tc.add)+len(tc.remove) > 0 {
				if _, err := ix.ChangeAttributes(ctx, ra.Identity, tc.add, tc.remove, "v", "the patient objects"); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := ix.Unmerge(ctx, merge, "v", "two persons"); err != nil {
				t.Fatal(err)
			}
			for _, x := range []struct {
				id   vigie.IdentityID
				want []string
			}{{ra.Identity, tc.wantSurvivor}, {rb.Identity, tc.wantRetired}} {
				got, err := ix.Get(ctx, x.id)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got.Attributes, x.want) {
					t.Errorf("identity %s after unmerge: %v, want %v", x.id, got.Attributes, x.want)
				}
			}
		})
	}
}
