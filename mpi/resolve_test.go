package mpi

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"vigie"
	"vigie/matcher"
	"vigie/store"
)

func TestResolveNewAndLinked(t *testing.T) {
	ix := openIndex(t, nil)
	a := resolve(t, ix, person("1.2.250.1.1", "A1"))
	if a.Decision != DecisionNew || a.Version != 1 || a.Identity == 0 {
		t.Fatalf("first record: %+v, want a new identity", a)
	}
	// The same person at another site, typed a little differently.
	r := person("1.2.250.1.2", "B7")
	r.BirthName, r.FirstName, r.Address = "Laffitte", "BERNADETTE", "12 R STE CATHERINE"
	b := resolve(t, ix, r)
	if b.Decision != DecisionLinked || b.Identity != a.Identity {
		t.Fatalf("same person: %+v, want linked to %s", b, a.Identity)
	}
	if b.Score == nil || !b.Score.AutoLink || b.Explanation() == "" {
		t.Fatalf("a link carries its score and explanation: %+v", b)
	}
	c := resolve(t, ix, other("1.2.250.1.2", "B8"))
	if c.Decision != DecisionNew || c.Identity == a.Identity {
		t.Fatalf("another person: %+v, want a new identity", c)
	}
	members, err := ix.Records(ctx, a.Identity)
	if err != nil {
		t.Fatal(err)
	}
	if want := []vigie.SourceKey{{Authority: "1.2.250.1.1", LocalID: "A1"}, {Authority: "1.2.250.1.2", LocalID: "B7"}}; !slices.Equal(members, want) {
		t.Fatalf("members %v, want %v", members, want)
	}
	ev, err := ix.Events(ctx, a.Identity)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev) != 2 || ev[0].Kind != EventCreate || ev[1].Kind != EventLink || ev[1].Matched != (vigie.SourceKey{Authority: "1.2.250.1.1", LocalID: "A1"}) || ev[1].Probability < 0.999 {
		t.Fatalf("events %+v", ev)
	}
}

// reviewModel returns the shipped model with its auto-link threshold just
// above the probability of the pair (a, b), so that the pair falls in the
// review band whatever the model's weights.
func reviewModel(t *testing.T, a, b vigie.Record) *matcher.Model {
	t.Helper()
	probe := openIndex(t, nil)
	s := scoreOf(t, probe, a, b)
	if !(s.Probability > 0.6 && s.Probability < 1-1e-9) || len(s.Rules) > 0 {
		t.Fatalf("fixture: the pair scores %g with rules %v; it must be a clean probable match", s.Probability, s.Rules)
	}
	m := matcher.DefaultModel()
	m.AutoLink = s.Probability + (1-s.Probability)/2
	m.Review = 0.5
	return m
}

func TestResolveReviewBand(t *testing.T) {
	a := person("1.2.250.1.1", "A1")
	b := vigie.Record{Authority: "1.2.250.1.2", LocalID: "B1", BirthName: "LAFITTE", FirstName: "Bernadette", BirthDate: "1948-03-17"}
	ix := openIndex(t, reviewModel(t, a, b))
	ra := resolve(t, ix, a)
	rb := resolve(t, ix, b)
	if rb.Decision != DecisionReview || rb.Identity == ra.Identity || len(rb.Reviews) != 1 || rb.Candidate != ra.Identity {
		t.Fatalf("probable match: %+v, want its own identity and a review against %s", rb, ra.Identity)
	}
	revs, err := ix.Reviews(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != 1 || revs[0].ID != rb.Reviews[0] || revs[0].Priority != 1 || revs[0].Kind != ReviewNew ||
		revs[0].Identity != rb.Identity || revs[0].Candidate != ra.Identity || revs[0].Matched != key(a) || revs[0].Explanation == "" {
		t.Fatalf("review queue %+v", revs)
	}
	if revs[0].IdentityGolden.BirthName != "LAFITTE" || revs[0].CandidateGolden.BirthName != "LAFFITTE" {
		t.Fatalf("golden views of the review: %+v / %+v", revs[0].IdentityGolden, revs[0].CandidateGolden)
	}
}

func TestResolveHardRules(t *testing.T) {
	ins := validINS(t, "2790375106693") // female, born March 1979
	base := vigie.Record{Authority: "1.2.250.1.1", LocalID: "A1", BirthName: "DUBOIS", FirstName: "Claire", FirstNames: "Claire",
		BirthDate: "1979-03-05", Sex: "F", BirthPlace: "75056", INS: ins, INSOID: "1.2.250.1.213.1.4.8", Status: "QUAL", PostalCode: "75001"}
	tests := []struct {
		name      string
		second    func(r vigie.Record) vigie.Record
		decision  Decision
		priority  int
		wantRules []string
	}{
		{"same INS on conflicting traits is a potential collision", func(r vigie.Record) vigie.Record {
			r.FirstName, r.FirstNames = "Sandrine", "Sandrine"
			return r
		}, DecisionReview, 0, []string{matcher.RuleINSConflict}},
		{"different INS on identical traits", func(r vigie.Record) vigie.Record {
			r.INS = validINS(t, "2790375106694")
			return r
		}, DecisionReview, 0, []string{matcher.RuleDifferentINS}},
		{"a doubtful identity never links by itself", func(r vigie.Record) vigie.Record {
			r.Attributes = []string{"DOUT"}
			return r
		}, DecisionReview, 1, []string{matcher.RuleNoAutoLink}},
		{"identical traits and INS link", func(r vigie.Record) vigie.Record { return r }, DecisionLinked, -1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := openIndex(t, nil)
			first := resolve(t, ix, base)
			r := tt.second(base)
			r.Authority, r.LocalID = "1.2.250.1.2", "B1"
			res := resolve(t, ix, r)
			if res.Decision != tt.decision {
				t.Fatalf("decision %s, want %s\n%s", res.Decision, tt.decision, res.Explanation())
			}
			if tt.decision != DecisionReview {
				return
			}
			if res.Identity == first.Identity {
				t.Fatal("a reviewed record must get its own identity")
			}
			revs, err := ix.Reviews(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(revs) != 1 || revs[0].Priority != tt.priority {
				t.Fatalf("reviews %+v, want one of priority %d", revs, tt.priority)
			}
			for _, rule := range tt.wantRules {
				if !slices.Contains(revs[0].Rules, rule) {
					t.Errorf("review rules %v, want %s", revs[0].Rules, rule)
				}
			}
		})
	}
}

// validINS appends the key to a 13-digit body.
func validINS(t *testing.T, body string) string {
	t.Helper()
	for k := 1; k <= 97; k++ {
		s := body + string(rune('0'+k/10)) + string(rune('0'+k%10))
		if _, err := matcher.ParseINS(s, ""); err == nil {
			return s
		}
	}
	t.Fatalf("no key makes %s valid", body)
	return ""
}

func TestResolveMarginBetweenCandidates(t *testing.T) {
	ix := openIndex(t, nil)
	a, b := person("1.2.250.1.1", "A1"), person("1.2.250.1.2", "B1")
	resolve(t, ix, a)
	resolve(t, ix, b)
	// A person decides b is someone else: two identities with the same traits.
	idB, err := ix.Unlink(ctx, key(b), "vigilance", "twins recorded under one name")
	if err != nil {
		t.Fatal(err)
	}
	res := resolve(t, ix, person("1.2.250.1.3", "C1"))
	if res.Decision != DecisionReview || len(res.Reviews) != 2 {
		t.Fatalf("two equally good candidates: %+v, want review against both", res)
	}
	if res.Identity == identityOf(t, ix, a) || res.Identity == idB {
		t.Fatal("no automatic link when the best candidate is not clearly ahead")
	}
}

func TestResolveUnchangedAndUpdated(t *testing.T) {
	ix := openIndex(t, nil)
	a, b := person("1.2.250.1.1", "A1"), person("1.2.250.1.2", "B1")
	ra := resolve(t, ix, a)
	resolve(t, ix, b)
	again := resolve(t, ix, a)
	if again.Decision != DecisionUnchanged || again.Version != 1 || again.Identity != ra.Identity {
		t.Fatalf("same record again: %+v", again)
	}
	ev, _ := ix.Events(ctx, ra.Identity)
	a.Phone = "05 56 00 00 01"
	up := resolve(t, ix, a)
	if up.Decision != DecisionUpdated || up.Version != 2 || up.Identity != ra.Identity {
		t.Fatalf("updated record: %+v", up)
	}
	hist, err := ix.History(ctx, key(a))
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Record.Phone != "" || hist[1].Record.Phone != "05 56 00 00 01" {
		t.Fatalf("history %+v", hist)
	}
	ev2, _ := ix.Events(ctx, ra.Identity)
	if len(ev2) != len(ev)+1 || ev2[len(ev2)-1].Kind != EventUpdate {
		t.Fatalf("an update is one event: %d then %d events", len(ev), len(ev2))
	}
	if ix.Count() != 2 {
		t.Fatalf("count %d, want 2", ix.Count())
	}

	// The update makes the record someone else: it stays, and goes to review.
	changed := other(a.Authority, a.LocalID)
	res := resolve(t, ix, changed)
	if res.Decision != DecisionReview || res.Identity != ra.Identity || len(res.Reviews) != 1 {
		t.Fatalf("update that no longer fits: %+v, want review and no split", res)
	}
	revs, _ := ix.Reviews(ctx, 0)
	if len(revs) != 1 || revs[0].Kind != ReviewUpdate {
		t.Fatalf("reviews %+v", revs)
	}
	// Decided different: the record is taken out.
	if err := ix.Decide(ctx, revs[0].ID, Different, "vigilance", "another patient's file"); err != nil {
		t.Fatal(err)
	}
	if identityOf(t, ix, a) == ra.Identity {
		t.Fatal("decided different: the record must leave the identity")
	}
	if err := ix.Decide(ctx, revs[0].ID, Same, "vigilance", "again"); vigie.ErrorCode(err) != vigie.ECONFLICT {
		t.Fatalf("deciding twice: %v, want ECONFLICT", err)
	}
}

func TestResolveSingletonUpdateJoinsItsPerson(t *testing.T) {
	ix := openIndex(t, nil)
	a := person("1.2.250.1.1", "A1")
	ra := resolve(t, ix, a)
	typo := other("1.2.250.1.2", "B1") // registered under the wrong traits
	rb := resolve(t, ix, typo)
	if rb.Identity == ra.Identity {
		t.Fatal("fixture: the records must start apart")
	}
	fixed := person("1.2.250.1.2", "B1")
	res := resolve(t, ix, fixed)
	if res.Decision != DecisionLinked || res.Identity != ra.Identity || res.Version != 2 {
		t.Fatalf("corrected record: %+v, want linked to %s", res, ra.Identity)
	}
	got, err := ix.Get(ctx, rb.Identity)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != ra.Identity || !slices.Equal(got.Redirected, []vigie.IdentityID{rb.Identity}) {
		t.Fatalf("the emptied identity redirects: %+v", got)
	}
}

func TestResolveInvalidWritesNothing(t *testing.T) {
	ix := openIndex(t, nil)
	a := person("1.2.250.1.1", "A1")
	resolve(t, ix, a)
	tests := []struct {
		name, field string
		edit        func(r *vigie.Record)
	}{
		{"future date", "birth_date", func(r *vigie.Record) { r.BirthDate = "2090-01-01" }},
		{"oversized name", "birth_name", func(r *vigie.Record) { r.BirthName = strings.Repeat("A", 1<<20) }},
		{"control in a name", "first_name", func(r *vigie.Record) { r.FirstName = "Berna\x1bdette" }},
		{"bidi override", "birth_name", func(r *vigie.Record) { r.BirthName = "\u202eETTIFFAL" }},
		{"invalid UTF-8", "city", func(r *vigie.Record) { r.City = "B\xe9GLES" }},
		{"oversized local id", "local_id", func(r *vigie.Record) { r.LocalID = strings.Repeat("9", 257) }},
		{"bad sex", "sex", func(r *vigie.Record) { r.Sex = "Z" }},
		{"no local id", "local_id", func(r *vigie.Record) { r.LocalID = " " }},
		{"control character", "local_id", func(r *vigie.Record) { r.LocalID = "A\x001" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, lid := range []string{"A1", "NEW"} { // an update and a new record
				r := a
				r.LocalID = lid
				tt.edit(&r)
				_, err := ix.Resolve(ctx, r, System)
				wantCode(t, err, vigie.EINVALID)
				if f := vigie.ErrorField(err); f != tt.field {
					t.Fatalf("field %q, want %q (%v)", f, tt.field, err)
				}
			}
		})
	}
	if ix.Count() != 1 {
		t.Fatalf("count %d after rejected records, want 1", ix.Count())
	}
	hist, _ := ix.History(ctx, key(a))
	if len(hist) != 1 {
		t.Fatalf("a rejected update must not add a version: %d versions", len(hist))
	}
	if _, err := ix.IdentityOf(ctx, a.Authority, "NEW"); vigie.ErrorCode(err) != vigie.ENOTFOUND {
		t.Fatalf("rejected new record: %v, want ENOTFOUND", err)
	}
}

// Two goroutines resolving the same person at the same time must end in one
// identity (run with -race).
func TestResolveConcurrentSamePerson(t *testing.T) {
	ix := openIndex(t, nil)
	for round := range 20 {
		var wg sync.WaitGroup
		ids := make([]vigie.IdentityID, 4)
		for g := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := person("1.2.250.1."+string(rune('1'+g)), "P")
				r.LocalID = "P" + string(rune('a'+round))
				r.BirthDate = "19" + string(rune('2'+round%7)) + string(rune('0'+round%10)) + "-03-17"
				res, err := ix.Resolve(ctx, r, System)
				if err != nil {
					t.Error(err)
					return
				}
				ids[g] = res.Identity
			}()
		}
		wg.Wait()
		for g := range ids {
			id, err := ix.IdentityOf(ctx, "1.2.250.1."+string(rune('1'+g)), "P"+string(rune('a'+round)))
			if err != nil {
				t.Fatal(err)
			}
			if first := identityOf(t, ix, vigie.Record{Authority: "1.2.250.1.1", LocalID: "P" + string(rune('a'+round))}); id != first {
				t.Fatalf("round %d: concurrent records of one person in identities %s and %s", round, first, id)
			}
		}
	}
}

// Resolves from several goroutines racing with merges and unlinks keep the
// index sound (run with -race; the invariants are checked at cleanup).
func TestResolveConcurrentWithVigilance(t *testing.T) {
	ix := openIndex(t, nil)
	var recs []vigie.Record
	for p := range 12 {
		for site := range 4 {
			r := person("1.2.250.1."+string(rune('1'+site)), "P"+string(rune('a'+p)))
			r.BirthDate = "19" + string(rune('3'+p%6)) + string(rune('0'+p%10)) + "-0" + string(rune('1'+p%9)) + "-17"
			r.FirstName = []string{"Bernadette", "Jean", "Marie", "Ahmed"}[p%4]
			recs = append(recs, r)
		}
	}
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < len(recs); i += 3 {
				if _, err := ix.Resolve(ctx, recs[i], System); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 40 {
			a, errA := ix.IdentityOf(ctx, recs[i%len(recs)].Authority, recs[i%len(recs)].LocalID)
			b, errB := ix.IdentityOf(ctx, recs[(i*7+5)%len(recs)].Authority, recs[(i*7+5)%len(recs)].LocalID)
			if errA != nil || errB != nil {
				continue
			}
			var err error
			switch i % 3 {
			case 0:
				var seq uint64
				if seq, err = ix.Merge(ctx, a, b, "v", "stress"); err == nil && i%2 == 0 {
					_, err = ix.Unmerge(ctx, seq, "v", "stress")
				}
			case 1:
				_, err = ix.Unlink(ctx, key(recs[i%len(recs)]), "v", "stress")
			case 2:
				_, err = ix.MarkDistinct(ctx, a, b, "v", "stress")
			}
			if c := vigie.ErrorCode(err); err != nil && c != vigie.ECONFLICT {
				t.Errorf("vigilance operation %d: %v", i, err)
			}
		}
	}()
	wg.Wait()
	if ix.Count() != len(recs) {
		t.Fatalf("count %d, want %d", ix.Count(), len(recs))
	}
}

// A slip between twins' first names (LEOE, between LEO and LEONE) may link
// to one twin; the other twin must then not link to that identity through
// the slip: a member that is a possible twin of the record holds the link.
func TestResolveTwinMemberHoldsTheLink(t *testing.T) {
	ix := openIndex(t, nil)
	twin := func(id, first, sex string) vigie.Record {
		return vigie.Record{Authority: "1.2.3", LocalID: id, BirthName: "HABRIAL", FirstName: first, BirthDate: "2011-12-26",
			Sex: sex, BirthPlace: "35360", PostalCode: "35500", City: "VITRE", Address: "8 IMPASSE DU LAVOIR"}
	}
	leo, slip, leone := twin("1", "LEO", "M"), twin("2", "LEOE", ""), twin("3", "LEONE", "F")
	resolve(t, ix, leo)
	if res := resolve(t, ix, slip); res.Decision != DecisionLinked {
		t.Fatalf("LEOE, no first name, is a slip of LEO: decision %s", res.Decision)
	}
	if res := resolve(t, ix, leone); res.Decision == DecisionLinked {
		t.Errorf("LEONE linked into the identity of her twin LEO (through LEOE)")
	}
	if identityOf(t, ix, leone) == identityOf(t, ix, leo) {
		t.Errorf("twins LEO and LEONE share an identity")
	}
}

// A record sharing a single key held by very few records is still scored
// against them (RareBlock); with the rare rule off it is not.
func TestResolveRareKeySuffices(t *testing.T) {
	for _, tc := range []struct {
		rare int
		want bool
	}{{3, true}, {-1, false}} {
		ix := openIndex(t, nil)
		if tc.rare < 0 {
			ix.opts.RareBlock = 0
		}
		a := vigie.Record{Authority: "1.2.3", LocalID: "1", BirthName: "CAMPBELL", FirstName: "JACOB", BirthDate: "1987-06-06"}
		b := vigie.Record{Authority: "1.2.3", LocalID: "2", BirthName: "CAMPBELL", FirstName: "JACOB", BirthDate: "1988-06-05"}
		resolve(t, ix, a)
		res := resolve(t, ix, b)
		if scored := res.Candidate != 0; scored != tc.want {
			t.Errorf("rare block %d: scored against the other CAMPBELL JACOB %v, want %v", tc.rare, scored, tc.want)
		}
	}
}

// A record whose INS fails its checks is filed on its other traits, the
// number kept verbatim, and the result warns about it.
func TestResolveKeepsInvalidINS(t *testing.T) {
	ix := openIndex(t, nil)
	a := person("1.2.250.1.1", "A1")
	resolve(t, ix, a)
	b := person("1.2.250.1.2", "B1")
	b.INS = "276037510669380" // key should be 26
	res := resolve(t, ix, b)
	if res.Decision != DecisionLinked {
		t.Errorf("the same person with an invalid INS: decision %s, want linked", res.Decision)
	}
	if len(res.Warnings) != 1 || !strings.HasPrefix(res.Warnings[0], "ins: ") {
		t.Errorf("warnings %v, want one naming ins", res.Warnings)
	}
	hist, err := ix.History(ctx, key(b))
	if err != nil || len(hist) != 1 || hist[0].Record.INS != b.INS {
		t.Errorf("the invalid INS is not kept verbatim: %+v, %v", hist, err)
	}
}

// A vigilance change that commits after a resolution's transaction began
// (an unlink puts a record into a new identity) leaves the in-memory
// mirror ahead of the transaction's snapshot: the identity the mirror
// names does not exist there yet. Resolution retries on a fresh snapshot
// (errStale) instead of failing with "identity does not exist".
func TestResolveMirrorAheadOfSnapshotRetries(t *testing.T) {
	ix := openIndex(t, nil)
	a1, a2 := person("1.2.250.1.1", "A1"), person("1.2.250.1.2", "A2")
	a1.FirstNames = "" // a2 and the newcomer agree on more than a1 does
	resolve(t, ix, a1)
	resolve(t, ix, a2)
	txn, err := store.NewWriteTxn(ix.db)
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Discard()
	if _, err := ix.Unlink(ctx, key(a2), "v", "test"); err != nil {
		t.Fatal(err)
	}
	r, err := prepareRow(person("1.2.250.1.3", "A3"), System)
	if err != nil {
		t.Fatal(err)
	}
	old := &tx{Txn: txn, x: ix, now: ix.opts.Now().UTC()}
	if _, err := old.resolve(r, System); !errors.Is(err, errStale) {
		t.Fatalf("resolution on a snapshot older than the mirror: %v, want errStale (retry)", err)
	}
	res := resolve(t, ix, person("1.2.250.1.3", "A3"))
	if res.Identity == 0 {
		t.Fatalf("the retried resolution filed nothing: %+v", res)
	}
}
