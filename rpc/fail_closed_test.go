package rpc_test

import (
	"net/http/httptest"
	"net/url"
	"testing"

	"connectrpc.com/connect"

	"vigie/auth"
	v1 "vigie/rpc/gen/vigie/v1"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
	"vigie/store"
)

// TestAccessChecksFailClosed: when the store of access codes and
// break-the-glass accesses cannot be read or written, a clinician's read
// on those bases is refused (an internal error, logged), never granted;
// the site basis, which needs no such store, still opens.
func TestAccessChecksFailClosed(t *testing.T) {
	f := newServerFixture(t)
	ctx := t.Context()
	a, err := f.identity("pacs-a").ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: rec(siteA, "FC-A", "FERMAT", "ANNE", "1970-05-06")}))
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.identity("pacs-b").ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: rec(siteB, "FC-B", "OCHOA", "IRATI", "1988-09-12")}))
	if err != nil {
		t.Fatal(err)
	}
	code, _, err := f.api.Access.CreateCode(b.Msg.GetIdentityId(), "iv-team", 0)
	if err != nil {
		t.Fatal(err)
	}
	// With the store up, the code opens the patient.
	if _, err := f.identityWith("dr-a", withHeader(auth.AccessCodeHeader, code)).
		GetIdentity(ctx, connect.NewRequest(&v1.GetIdentityRequest{IdentityId: b.Msg.GetIdentityId()})); err != nil {
		t.Fatalf("the code with its store up: %v", err)
	}
	// The same server, its access store closed.
	broken, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	broken.Close()
	api := *f.api
	api.Access = auth.NewAccess(broken)
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	get := func(id string, header ...string) error {
		ics := []connect.Interceptor{bearer(f.tokens["dr-a"])}
		if len(header) == 2 {
			ics = append(ics, withHeader(header[0], header[1]))
		}
		_, err := vigiev1connect.NewIdentityServiceClient(srv.Client(), srv.URL, connect.WithInterceptors(ics...)).
			GetIdentity(ctx, connect.NewRequest(&v1.GetIdentityRequest{IdentityId: id}))
		return err
	}
	for _, c := range []struct {
		name   string
		id     string
		header []string
		want   connect.Code // 0: granted
	}{
		{"site", a.Msg.GetIdentityId(), nil, 0},
		{"access code", b.Msg.GetIdentityId(), []string{auth.AccessCodeHeader, code}, connect.CodeInternal},
		{"break the glass", b.Msg.GetIdentityId(), []string{auth.BreakGlassHeader, url.PathEscape("urgence vitale, patient inconscient")}, connect.CodeInternal},
		{"no basis", b.Msg.GetIdentityId(), nil, connect.CodePermissionDenied},
	} {
		err := get(c.id, c.header...)
		if got := connect.CodeOf(err); err == nil && c.want != 0 || err != nil && got != c.want {
			t.Errorf("%s with the access store down: %v, want %v", c.name, err, c.want)
		}
	}
}
