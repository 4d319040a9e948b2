package rpc_test

import (
	"slices"
	"testing"

	"connectrpc.com/connect"

	"vigie/audit"
	v1 "vigie/rpc/gen/vigie/v1"
)

// TestQueryAuditFollowsVigilanceSites: site vigilance reads only the
// audit entries about identities or records of its sites, and of those
// entries only what is of its sites; an identity out of its scope is not
// found. Regional vigilance and admin read the whole trail.
func TestQueryAuditFollowsVigilanceSites(t *testing.T) {
	f := newServerFixture(t)
	ctx := t.Context()
	resolve := func(who string, r *v1.SourceRecord) string {
		t.Helper()
		out, err := f.identity(who).ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: r}))
		if err != nil {
			t.Fatal(err)
		}
		return out.Msg.GetIdentityId()
	}
	pa := resolve("pacs-a", rec(siteA, "A-1", "OYHARCABAL", "MAIALEN", "1974-06-30"))
	pb := resolve("pacs-b", rec(siteB, "B-1", "ARRAMENDY", "PETTAN", "1962-09-14"))
	for _, id := range []string{pa, pb} {
		if _, err := f.identity("dr-martin").GetIdentity(ctx, connect.NewRequest(&v1.GetIdentityRequest{IdentityId: id})); err != nil {
			t.Fatal(err)
		}
	}
	// An entry about both patients (as a search answer would be).
	if _, err := f.trail.Append(audit.Entry{Principal: "batch", Role: "regional_vigilance", Operation: "/vigie.v1.IdentityService/SearchIdentities",
		Identities: []string{pa, pb}, Records: []audit.Record{{Authority: siteA, LocalID: "A-1"}, {Authority: siteB, LocalID: "B-1"}}, Result: "ok"}); err != nil {
		t.Fatal(err)
	}
	type shown struct {
		principal string
		ids       []string
		records   []string
	}
	for _, tc := range []struct {
		name string
		who  string
		req  *v1.QueryAuditRequest
		code connect.Code // 0: answered
		want []shown      // exactly these entries, newest first (nil with code)
	}{
		{"site A by principal", "iv-a", &v1.QueryAuditRequest{Principal: "dr-martin"}, 0,
			[]shown{{"dr-martin", []string{pa}, []string{siteA + "/A-1"}}}},
		{"site B by principal", "iv-b", &v1.QueryAuditRequest{Principal: "dr-martin"}, 0,
			[]shown{{"dr-martin", []string{pb}, []string{siteB + "/B-1"}}}},
		{"site A, an entry about both sites shows its part", "iv-a", &v1.QueryAuditRequest{Principal: "batch"}, 0,
			[]shown{{"batch", []string{pa}, []string{siteA + "/A-1"}}}},
		{"site B, an entry about both sites shows its part", "iv-b", &v1.QueryAuditRequest{Principal: "batch"}, 0,
			[]shown{{"batch", []string{pb}, []string{siteB + "/B-1"}}}},
		{"site A, a patient of site B is not found", "iv-a", &v1.QueryAuditRequest{IdentityId: pb}, connect.CodeNotFound, nil},
		{"site A, an unknown identity is not found", "iv-a", &v1.QueryAuditRequest{IdentityId: "I999999"}, connect.CodeNotFound, nil},
		{"site A, a record of site B", "iv-a", &v1.QueryAuditRequest{Record: &v1.AuditRecord{Authority: siteB, LocalId: "B-1"}}, connect.CodePermissionDenied, nil},
		{"site A, its record", "iv-a", &v1.QueryAuditRequest{Record: &v1.AuditRecord{Authority: siteA, LocalId: "A-1"}}, 0,
			[]shown{{"batch", []string{pa}, []string{siteA + "/A-1"}}, {"dr-martin", []string{pa}, []string{siteA + "/A-1"}},
				{"pacs-a", []string{pa}, []string{siteA + "/A-1"}}}},
		{"regional sees all", "iv-team", &v1.QueryAuditRequest{Principal: "dr-martin"}, 0,
			[]shown{{"dr-martin", []string{pb}, []string{siteB + "/B-1"}}, {"dr-martin", []string{pa}, []string{siteA + "/A-1"}}}},
		{"admin sees all", "admin", &v1.QueryAuditRequest{Principal: "batch"}, 0,
			[]shown{{"batch", []string{pa, pb}, []string{siteA + "/A-1", siteB + "/B-1"}}}},
		{"clinician refused", "dr-martin", &v1.QueryAuditRequest{Principal: "batch"}, connect.CodePermissionDenied, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := f.admin(tc.who).QueryAudit(ctx, connect.NewRequest(tc.req))
			if code(err) != tc.code {
				t.Fatalf("%s: %v, want %v", tc.who, err, tc.code)
			}
			if tc.code != 0 {
				return
			}
			var got []shown
			for _, e := range out.Msg.GetEntries() {
				s := shown{principal: e.GetPrincipal(), ids: e.GetIdentityIds()}
				for _, r := range e.GetRecords() {
					s.records = append(s.records, r.GetAuthority()+"/"+r.GetLocalId())
				}
				got = append(got, s)
			}
			if !slices.EqualFunc(got, tc.want, func(a, b shown) bool {
				return a.principal == b.principal && slices.Equal(a.ids, b.ids) && slices.Equal(a.records, b.records)
			}) {
				t.Errorf("%s reads %+v, want %+v", tc.who, got, tc.want)
			}
		})
	}
}
