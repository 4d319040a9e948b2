package rpc_test

import (
	"strings"
	"testing"

	"connectrpc.com/connect"

	v1 "vigie/rpc/gen/vigie/v1"
	"vigie/sites"
)

// TestRecordsShowTheirSiteByName: the identity page's sources and history
// and the review queue carry each record's establishment by name (the
// registry's, or sites.Unknown), so that the console never has to show an
// OID where a site name is expected.
func TestRecordsShowTheirSiteByName(t *testing.T) {
	f := newServerFixture(t)
	ctx := t.Context()
	const nameA = "CH de la Côte Basque"
	if _, err := sites.Open(f.api.Keys.Store()).Add(ctx, sites.Site{Authority: siteA, Name: nameA}); err != nil {
		t.Fatal(err)
	}
	// A pair in review: the candidate's record at site A, the record under
	// review at site B (not in the registry).
	r := reviewPair(t, f, siteA, siteB, "LAFARGUE", "JEAN", "411")
	iv := f.identity("iv-team")

	want := map[string]string{siteA: nameA, siteB: sites.Unknown}
	check := func(what string, k *v1.SourceKey) {
		t.Helper()
		if got := k.GetSite(); got != want[k.GetAuthority()] {
			t.Errorf("%s %s: site %q, want %q", what, k.GetLocalId(), got, want[k.GetAuthority()])
		}
	}
	for _, id := range []string{r.Candidate.String(), r.Identity.String()} {
		g, err := iv.GetIdentity(ctx, connect.NewRequest(&v1.GetIdentityRequest{IdentityId: id}))
		if err != nil {
			t.Fatal(err)
		}
		ident := g.Msg.GetIdentity()
		if len(ident.GetSources()) == 0 || len(ident.GetEvents()) == 0 {
			t.Fatalf("identity %s: %d sources, %d events", id, len(ident.GetSources()), len(ident.GetEvents()))
		}
		for _, k := range ident.GetSources() {
			check("source", k)
		}
		for _, e := range ident.GetEvents() {
			for _, k := range e.GetRecords() {
				check("event "+e.GetKind()+" record", k)
			}
		}
	}
	list, err := iv.ListReviews(ctx, connect.NewRequest(&v1.ListReviewsRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Msg.GetReviews()) != 1 {
		t.Fatalf("%d reviews, want 1", len(list.Msg.GetReviews()))
	}
	rv := list.Msg.GetReviews()[0]
	if rv.GetSite() != sites.Unknown || strings.Contains(rv.GetSite(), siteB) {
		t.Errorf("review of a record of %s: site %q, want %q", rv.GetRecord().GetAuthority(), rv.GetSite(), sites.Unknown)
	}
	// Once the site is named, the review says its name.
	if _, err := sites.Open(f.api.Keys.Store()).Add(ctx, sites.Site{Authority: siteB, Name: "Clinique B"}); err != nil {
		t.Fatal(err)
	}
	list, err = iv.ListReviews(ctx, connect.NewRequest(&v1.ListReviewsRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if got := list.Msg.GetReviews()[0].GetSite(); got != "Clinique B" {
		t.Errorf("review after naming site B: site %q, want Clinique B", got)
	}
}
