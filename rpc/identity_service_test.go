package rpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"vigie"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"vigie/auth"
	"vigie/mpi"
	"vigie/rpc"
	v1 "vigie/rpc/gen/vigie/v1"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
	"vigie/search"
)

// bearer adds the Authorization header to every call.
func bearer(token string) connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", "Bearer "+token)
			req.Header().Set(auth.PurposeHeader, "care")
			return next(ctx, req)
		}
	}
}

func code(err error) connect.Code {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Code()
	}
	return 0
}

func rec(auth, local, birth, first, date string) *v1.SourceRecord {
	return &v1.SourceRecord{Authority: auth, LocalId: local, BirthName: birth, FirstNames: first, BirthDate: date, Sex: "F"}
}

func TestIdentityServiceEndToEnd(t *testing.T) {
	f := newServerFixture(t)
	ctx := context.Background()
	pacs, doctor, iv := f.identity("pacs-a"), f.identity("dr-martin"), f.identity("iv-team")

	// An ingestion pipeline resolves records of its own authority only.
	a, err := pacs.ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: rec("1.2.250.1.213.1.1.1.3", "P1", "ETCHEVERRY", "MAITE", "1968-05-21")}))
	if err != nil {
		t.Fatal(err)
	}
	if a.Msg.GetDecision() != v1.Decision_DECISION_NEW_IDENTITY {
		t.Errorf("first record: decision %v", a.Msg.GetDecision())
	}
	_, err = pacs.ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: rec("1.2.250.1.213.1.1.1.9", "X1", "DURAND", "ANNE", "1970-01-02")}))
	if code(err) != connect.CodePermissionDenied {
		t.Errorf("a record of another authority: %v, want permission_denied", err)
	}
	_, err = pacs.ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: rec("1.2.250.1.213.1.1.1.3", "P2", "DURAND", "ANNE", "2090-01-02")}))
	if code(err) != connect.CodeInvalidArgument {
		t.Errorf("a birth date in the future: %v, want invalid_argument", err)
	}
	// Vigilance staff submit the same woman from another site, with her
	// usage name: not linked automatically.
	b, err := iv.ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: rec(siteB, "Q9", "LARRALDE", "MARIE", "1968-05-21")}))
	if err != nil {
		t.Fatal(err)
	}
	if b.Msg.GetIdentityId() == a.Msg.GetIdentityId() {
		t.Fatal("fixture: linked automatically")
	}

	// A clinician searches and reads; may not correct. Resolved records
	// reach the search index through the follower.
	f.follow()
	s, err := doctor.SearchIdentities(ctx, connect.NewRequest(&v1.SearchIdentitiesRequest{Traits: &v1.SearchTraits{Name: "Etcheverry", FirstNames: "Maïté", BirthDate: "1968-05-21"}}))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Msg.GetResults()) == 0 || s.Msg.GetResults()[0].GetIdentityId() != a.Msg.GetIdentityId() {
		t.Fatalf("search: %v", s.Msg.GetResults())
	}
	if _, err := doctor.Merge(ctx, connect.NewRequest(&v1.MergeRequest{SurvivorIdentityId: a.Msg.GetIdentityId(), MergedIdentityId: b.Msg.GetIdentityId(), Reason: "x"})); code(err) != connect.CodePermissionDenied {
		t.Errorf("clinician merge: %v, want permission_denied", err)
	}
	if _, err := doctor.GetIdentity(ctx, connect.NewRequest(&v1.GetIdentityRequest{IdentityId: a.Msg.GetIdentityId()})); err != nil {
		t.Fatal(err)
	}
	// "Who looked at this patient": the read is in the audit trail.
	entries, err := f.trail.ByIdentity(a.Msg.GetIdentityId(), 100)
	if err != nil {
		t.Fatal(err)
	}
	readBy := map[string]bool{}
	for _, e := range entries {
		readBy[e.Principal+" "+e.Operation] = true
	}
	if !readBy["dr-martin "+vigiev1connect.IdentityServiceGetIdentityProcedure] {
		t.Errorf("the clinician's read is not audited: %v", readBy)
	}

	// Vigilance merges, the retired id leads to the survivor, then unmerges.
	if _, err := iv.Merge(ctx, connect.NewRequest(&v1.MergeRequest{SurvivorIdentityId: a.Msg.GetIdentityId(), MergedIdentityId: b.Msg.GetIdentityId()})); code(err) != connect.CodeInvalidArgument {
		t.Errorf("merge without a reason: %v, want invalid_argument", err)
	}
	m, err := iv.Merge(ctx, connect.NewRequest(&v1.MergeRequest{SurvivorIdentityId: a.Msg.GetIdentityId(), MergedIdentityId: b.Msg.GetIdentityId(), Reason: "same person: usage name"}))
	if err != nil {
		t.Fatal(err)
	}
	g, err := doctor.GetIdentity(ctx, connect.NewRequest(&v1.GetIdentityRequest{IdentityId: b.Msg.GetIdentityId()}))
	if err != nil {
		t.Fatal(err)
	}
	if recs := g.Msg.GetIdentity().GetRecords(); len(recs) != 2 || recs[0].GetBirthName() == "" || recs[1].GetBirthName() == "" {
		t.Errorf("the survivor's records side by side: %v", recs)
	}
	if g.Msg.GetIdentity().GetId() != a.Msg.GetIdentityId() || len(g.Msg.GetIdentity().GetSources()) != 2 {
		t.Errorf("retired id: got identity %s with %d sources", g.Msg.GetIdentity().GetId(), len(g.Msg.GetIdentity().GetSources()))
	}
	s, _ = doctor.SearchIdentities(ctx, connect.NewRequest(&v1.SearchIdentitiesRequest{Traits: &v1.SearchTraits{Name: "LARRALDE", FirstNames: "MARIE", BirthDate: "1968-05-21"}}))
	if len(s.Msg.GetResults()) == 0 || s.Msg.GetResults()[0].GetIdentityId() != a.Msg.GetIdentityId() {
		t.Errorf("search after merge: %v", s.Msg.GetResults())
	}
	u, err := iv.Unmerge(ctx, connect.NewRequest(&v1.UnmergeRequest{MergeEventId: m.Msg.GetEvent().GetId(), Reason: "two sisters after all"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Msg.GetIdentityIds()) < 2 {
		t.Errorf("unmerge restored %v", u.Msg.GetIdentityIds())
	}
	g, err = doctor.GetIdentity(ctx, connect.NewRequest(&v1.GetIdentityRequest{IdentityId: b.Msg.GetIdentityId()}))
	if err != nil {
		t.Fatalf("after unmerge: %v", err)
	}
	if g.Msg.GetIdentity().GetId() != b.Msg.GetIdentityId() {
		t.Errorf("after unmerge: %v", g.Msg.GetIdentity().GetId())
	}

	// Hidden: clinicians no longer see the identity, vigilance still does.
	if _, err := iv.SetAttributes(ctx, connect.NewRequest(&v1.SetAttributesRequest{IdentityId: a.Msg.GetIdentityId(), Add: []string{"CACH"}, Reason: "patient request"})); err != nil {
		t.Fatal(err)
	}
	if _, err := doctor.GetIdentity(ctx, connect.NewRequest(&v1.GetIdentityRequest{IdentityId: a.Msg.GetIdentityId()})); code(err) != connect.CodeNotFound {
		t.Errorf("clinician reads a hidden identity: %v, want not_found", err)
	}
	s, _ = doctor.SearchIdentities(ctx, connect.NewRequest(&v1.SearchIdentitiesRequest{Traits: &v1.SearchTraits{Name: "ETCHEVERRY", FirstNames: "MAITE"}}))
	for _, r := range s.Msg.GetResults() {
		if r.GetIdentityId() == a.Msg.GetIdentityId() {
			t.Error("a hidden identity is returned by search to a clinician")
		}
	}
	if _, err := iv.GetIdentity(ctx, connect.NewRequest(&v1.GetIdentityRequest{IdentityId: a.Msg.GetIdentityId()})); err != nil {
		t.Errorf("vigilance reads a hidden identity: %v", err)
	}
	if r, err := f.trail.Verify(); err != nil || r.Entries == 0 {
		t.Errorf("audit chain: %+v %v", r, err)
	}
}

// TestDecideReviewAnswersItsOwnEvents: the events DecideReview returns are
// those its decision wrote, even while other corrections are written at
// the same time.
func TestDecideReviewAnswersItsOwnEvents(t *testing.T) {
	f := newServerFixture(t)
	ctx := context.Background()
	iv := f.identity("iv-team")
	const site, other = "1.2.250.1.213.1.1.1.3", "1.2.250.1.213.1.1.1.7"
	// One INS on conflicting traits: a review.
	a := rec(site, "R1", "LAFARGUE", "JEANNE", "1951-02-11")
	a.Ins = "251023312345659"
	b := rec(other, "R2", "LAFARGUE", "JEANNE", "1951-02-11")
	b.Ins = "251023312345659"
	b.BirthDate = "1951-11-02"
	b.FirstNames = "JEAN"
	b.Sex = "M"
	if _, err := iv.ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: a})); err != nil {
		t.Fatal(err)
	}
	res, err := iv.ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: b}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Msg.GetDecision() != v1.Decision_DECISION_REVIEW {
		t.Fatalf("fixture: decision %v, want a review", res.Msg.GetDecision())
	}
	// Other identities that vigilance staff merge meanwhile.
	var pairs [][2]vigie.IdentityID
	for i := range 40 {
		var ids [2]vigie.IdentityID
		for j := range 2 {
			r, err := f.index.Resolve(ctx, vigie.Record{Authority: site, LocalID: fmt.Sprintf("M%d-%d", i, j), BirthName: fmt.Sprintf("NOM%c%c", 'A'+i%26, 'A'+j), FirstName: []string{"PAUL", "MARC"}[j], BirthDate: fmt.Sprintf("19%02d-01-01", 20+i), Sex: "M"}, mpi.System)
			if err != nil {
				t.Fatal(err)
			}
			ids[j] = r.Identity
		}
		pairs = append(pairs, ids)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, p := range pairs {
			if _, err := f.index.Merge(ctx, p[0], p[1], mpi.Actor("iv-other"), "same person"); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	out, err := iv.DecideReview(ctx, connect.NewRequest(&v1.DecideReviewRequest{ReviewId: res.Msg.GetReviewId(), Outcome: v1.ReviewOutcome_REVIEW_OUTCOME_LINK, Reason: "same patient, INS checked"}))
	<-done
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, e := range out.Msg.GetEvents() {
		kinds[e.GetKind()]++
		if e.GetActor() != "iv-team" {
			t.Errorf("DecideReview answered an event of %s (%s): not its own", e.GetActor(), e.GetKind())
		}
	}
	if kinds["decide"] != 1 || kinds["merge"] != 1 || len(out.Msg.GetEvents()) != 2 {
		t.Errorf("DecideReview events %v, want its decision and its merge", kinds)
	}
}

// TestSetAttributesConcurrent: concurrent SetAttributes calls on one
// identity each keep their change. The handler once read the attributes
// before the write transaction and wrote the whole set back, so that
// concurrent adds answered OK and lost each other's codes, and an added
// OPPO (the patient's objection) could vanish under a removal of another
// code, leaving the patient visible to clinicians.
func TestSetAttributesConcurrent(t *testing.T) {
	f := newServerFixture(t)
	ctx := context.Background()
	iv := f.identity("iv-team")
	for _, tc := range []struct {
		name  string
		start []string      // the identity's attributes before the race
		calls [][2][]string // add, remove of each concurrent call
		want  []string      // every attribute the identity must hold after
		gone  []string      // every attribute it must not hold
	}{
		{name: "twelve adds", calls: adds("DOUT", "FICT", "HOMD", "HOMA", "DPOT", "DOUA", "COLP", "COLV", "ANOM", "USUR", "INVA", "DESA"),
			want: []string{"ANOM", "COLP", "COLV", "DESA", "DOUA", "DOUT", "DPOT", "FICT", "HOMA", "HOMD", "INVA", "USUR"}},
		{name: "objection against a removal", start: []string{"DOUT", "HOMD"},
			calls: [][2][]string{{{"OPPO"}, nil}, {nil, {"DOUT"}}, {nil, {"HOMD"}}}, want: []string{"OPPO"}, gone: []string{"DOUT", "HOMD"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for round := range 8 {
				r, err := f.index.Resolve(ctx, vigie.Record{Authority: siteA, LocalID: fmt.Sprintf("%s-%d", tc.name, round), BirthName: fmt.Sprintf("ATTR%c%c", 'A'+len(tc.calls), 'A'+round),
					FirstName: "LUCIE", BirthDate: fmt.Sprintf("19%02d-04-0%d", 40+len(tc.calls), 1+round), Sex: "F"}, mpi.System)
				if err != nil {
					t.Fatal(err)
				}
				id := r.Identity.String()
				if len(tc.start) > 0 {
					if _, err := iv.SetAttributes(ctx, connect.NewRequest(&v1.SetAttributesRequest{IdentityId: id, Add: tc.start, Reason: "fixture"})); err != nil {
						t.Fatal(err)
					}
				}
				errs := make(chan error, len(tc.calls))
				for _, c := range tc.calls {
					go func() {
						res, err := iv.SetAttributes(ctx, connect.NewRequest(&v1.SetAttributesRequest{IdentityId: id, Add: c[0], Remove: c[1], Reason: "race"}))
						if err == nil {
							// The answer is the set as this call committed it.
							for _, a := range c[0] {
								if !slices.Contains(res.Msg.GetAttributes(), a) {
									err = fmt.Errorf("added %s, answered %v", a, res.Msg.GetAttributes())
								}
							}
							for _, a := range c[1] {
								if slices.Contains(res.Msg.GetAttributes(), a) {
									err = fmt.Errorf("removed %s, answered %v", a, res.Msg.GetAttributes())
								}
							}
						}
						errs <- err
					}()
				}
				for range tc.calls {
					if err := <-errs; err != nil {
						t.Errorf("round %d: %v", round, err)
					}
				}
				g, err := iv.GetIdentity(ctx, connect.NewRequest(&v1.GetIdentityRequest{IdentityId: id}))
				if err != nil {
					t.Fatal(err)
				}
				got := g.Msg.GetIdentity().GetAttributes()
				for _, a := range tc.want {
					if !slices.Contains(got, a) {
						t.Errorf("round %d: %s lost: attributes %v after %d acknowledged calls", round, a, got, len(tc.calls))
					}
				}
				for _, a := range tc.gone {
					if slices.Contains(got, a) {
						t.Errorf("round %d: %s removed but still there: %v", round, a, got)
					}
				}
				evs, err := f.index.Events(ctx, r.Identity)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, e := range evs {
					if e.Kind == mpi.EventAttributes {
						n++
					}
				}
				if want := len(tc.calls) + min(len(tc.start), 1); n != want {
					t.Errorf("round %d: %d attribute events, want one per call (%d)", round, n, want)
				}
			}
		})
	}
}

// adds is one call per code, each adding it.
func adds(codes ...string) [][2][]string {
	out := make([][2][]string, len(codes))
	for i, c := range codes {
		out[i][0] = []string{c}
	}
	return out
}

// TestAutomaticLinkThroughTheAPI: a record a feed's key sends through
// ResolveRecord and the matcher links is an automatic link in the
// identity's history (kind auto_link, the console's "Rattachement
// automatique"), not a manual one because a key rather than the system
// sent it; a person's Link stays kind link.
func TestAutomaticLinkThroughTheAPI(t *testing.T) {
	f := newServerFixture(t)
	ctx := context.Background()
	pacs, iv := f.identity("pacs-a"), f.identity("iv-team")
	const site = "1.2.250.1.213.1.1.1.3"
	r1 := &v1.SourceRecord{Authority: site, LocalId: "A1", BirthName: "ETCHEVERRY", FirstNames: "MAITE", BirthDate: "1968-05-21", Sex: "F",
		BirthPlace: "64445", PostalCode: "64200", Phone: "0612345678"}
	a, err := pacs.ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: r1}))
	if err != nil {
		t.Fatal(err)
	}
	r2 := proto.Clone(r1).(*v1.SourceRecord)
	r2.LocalId = "A2"
	b, err := pacs.ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: r2}))
	if err != nil {
		t.Fatal(err)
	}
	if b.Msg.GetDecision() != v1.Decision_DECISION_AUTO_LINK || b.Msg.GetIdentityId() != a.Msg.GetIdentityId() {
		t.Fatalf("fixture: the same record under another id was not linked automatically: %v", b.Msg)
	}
	kinds := func(id string) map[string]string {
		g, err := iv.GetIdentity(ctx, connect.NewRequest(&v1.GetIdentityRequest{IdentityId: id}))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, e := range g.Msg.GetIdentity().GetEvents() {
			for _, k := range e.GetRecords() {
				out[k.GetLocalId()+" "+e.GetKind()] = e.GetActor()
			}
		}
		return out
	}
	got := kinds(a.Msg.GetIdentityId())
	if _, ok := got["A2 auto_link"]; !ok {
		t.Errorf("the automatic link of A2 by the feed's key: events %v, want kind auto_link", got)
	}
	if actor, ok := got["A2 link"]; ok {
		t.Errorf("the automatic link of A2 is of kind link (manual), actor %s", actor)
	}
	// A person's link of a record resolved apart is kind link.
	c, err := iv.ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: rec(siteB, "Q9", "LARRALDE", "MARIE", "1968-05-21")}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Msg.GetIdentityId() == a.Msg.GetIdentityId() {
		t.Fatal("fixture: linked automatically")
	}
	if _, err := iv.Link(ctx, connect.NewRequest(&v1.LinkRequest{Record: &v1.SourceKey{Authority: siteB, LocalId: "Q9"}, TargetIdentityId: a.Msg.GetIdentityId(), Reason: "same person: usage name"})); err != nil {
		t.Fatal(err)
	}
	if got := kinds(a.Msg.GetIdentityId()); got["Q9 link"] == "" || got["Q9 auto_link"] != "" {
		t.Errorf("a person's link: events %v, want kind link", got)
	}
}

// TestSyncFailureLogged: a correction whose search-index catch-up fails
// is stored and answered, and the failure is logged once with the call's
// request id instead of dropped (the follower retries it).
func TestSyncFailureLogged(t *testing.T) {
	f := newServerFixture(t)
	ctx := context.Background()
	sx, err := search.Open("", f.index.Model(), search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sx.CatchUp(ctx, f.index); err != nil || !sx.Ready() {
		t.Fatalf("fixture: catch-up %v, ready %v", err, sx.Ready())
	}
	if err := sx.Close(); err != nil { // every later catch-up fails
		t.Fatal(err)
	}
	var logs syncBuffer
	api := &rpc.Server{Index: f.index, Search: sx, Ledger: f.ledger, Alerts: f.alerts, Keys: f.api.Keys, Trail: f.trail,
		NoLimits: true, Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	iv := vigiev1connect.NewIdentityServiceClient(srv.Client(), srv.URL, connect.WithInterceptors(bearer(f.tokens["iv-team"])))
	a, err := iv.ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: rec(siteA, "S1", "ARRAMBIDE", "JON", "1970-03-04")}))
	if err != nil {
		t.Fatal(err)
	}
	b, err := iv.ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: rec(siteB, "S2", "HARAMBOURE", "PEIO", "1981-07-08")}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iv.Merge(ctx, connect.NewRequest(&v1.MergeRequest{SurvivorIdentityId: a.Msg.GetIdentityId(), MergedIdentityId: b.Msg.GetIdentityId(), Reason: "test"})); err != nil {
		t.Fatalf("a merge whose index catch-up fails: %v", err)
	}
	var found bool
	for line := range strings.Lines(logs.String()) {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) == nil && strings.Contains(fmt.Sprint(e["msg"]), "search index: catching up after a change failed") {
			found = true
			if r, _ := e["request"].(string); r == "" {
				t.Errorf("the failure is logged without the call's request id: %s", line)
			}
		}
	}
	if !found {
		t.Errorf("the failed catch-up is not logged:\n%s", logs.String())
	}
}
