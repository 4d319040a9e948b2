package rpc_test

import (
	"fmt"
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

// TestQueryAuditPagesPastTheWindow: site vigilance reads a busy user's
// history to its end, page after page, even when the entries about its
// own sites are older than the newest 1000 of that user (before paging,
// they were out of reach).
func TestQueryAuditPagesPastTheWindow(t *testing.T) {
	f := newServerFixture(t)
	ctx := t.Context()
	out, err := f.identity("pacs-a").ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: rec(siteA, "A-7", "ETXEBERRI", "AMAIA", "1981-02-11")}))
	if err != nil {
		t.Fatal(err)
	}
	pa := out.Msg.GetIdentityId()
	own := func(i int) audit.Entry {
		return audit.Entry{Principal: "busy", Role: "clinician", Operation: "/vigie.v1.IdentityService/GetIdentity",
			Identities: []string{pa}, Records: []audit.Record{{Authority: siteA, LocalID: "A-7"}}, Result: "ok", Purpose: fmt.Sprint(i)}
	}
	// Three entries of site A, then 1,500 about a patient of site B.
	for i := range 3 {
		if _, err := f.trail.Append(own(i)); err != nil {
			t.Fatal(err)
		}
	}
	for range 1500 {
		if _, err := f.trail.Append(audit.Entry{Principal: "busy", Role: "clinician", Operation: "/vigie.v1.IdentityService/GetIdentity",
			Records: []audit.Record{{Authority: siteB, LocalID: "B-9"}}, Result: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	before, pages := uint64(0), 0
	for ; pages < 10; pages++ {
		out, err := f.admin("iv-a").QueryAudit(ctx, connect.NewRequest(&v1.QueryAuditRequest{Principal: "busy", Limit: 2, BeforeSeq: before}))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Msg.GetEntries() {
			got = append(got, e.GetPurpose())
		}
		if before = out.Msg.GetNextBeforeSeq(); before == 0 {
			break
		}
	}
	if !slices.Equal(got, []string{"2", "1", "0"}) {
		t.Errorf("site A read %q of the busy user's history in %d pages, want its 3 entries, newest first", got, pages+1)
	}
}

// TestQueryAuditSiteVigilanceReadsAll: site vigilance pages through every
// entry it is entitled to, each once and newest first, whatever the page
// size, when its entries are many (more than one window of 1,000) and
// mixed with entries of another site.
func TestQueryAuditSiteVigilanceReadsAll(t *testing.T) {
	f := newServerFixture(t)
	ctx := t.Context()
	// 2,400 entries of a busy user: one in three about a record of site
	// A (800, numbered), the others about site B.
	want := []string{}
	for i := range 2400 {
		e := audit.Entry{Principal: "busy", Role: "clinician", Operation: "/vigie.v1.DoseService/ListExams", Result: "ok",
			Records: []audit.Record{{Authority: siteB, LocalID: "B-9"}}}
		if i%3 == 0 {
			e.Records = []audit.Record{{Authority: siteA, LocalID: "A-7"}}
			e.Purpose = fmt.Sprint(i)
			want = append(want, e.Purpose)
		}
		if _, err := f.trail.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	slices.Reverse(want)
	for _, c := range []struct {
		name string
		req  func(before uint64) *v1.QueryAuditRequest
		size int
	}{
		{"by user, pages of 1000", func(b uint64) *v1.QueryAuditRequest {
			return &v1.QueryAuditRequest{Principal: "busy", Limit: 1000, BeforeSeq: b}
		}, 1000},
		{"by user, pages of 7", func(b uint64) *v1.QueryAuditRequest {
			return &v1.QueryAuditRequest{Principal: "busy", Limit: 7, BeforeSeq: b}
		}, 7},
		{"by record, pages of 300", func(b uint64) *v1.QueryAuditRequest {
			return &v1.QueryAuditRequest{Record: &v1.AuditRecord{Authority: siteA, LocalId: "A-7"}, Limit: 300, BeforeSeq: b}
		}, 300},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			before := uint64(0)
			for pages := 0; ; pages++ {
				if pages > 2400 {
					t.Fatal("paging does not end")
				}
				out, err := f.admin("iv-a").QueryAudit(ctx, connect.NewRequest(c.req(before)))
				if err != nil {
					t.Fatal(err)
				}
				if n := len(out.Msg.GetEntries()); n > c.size {
					t.Fatalf("a page of %d entries, limit %d", n, c.size)
				}
				for _, e := range out.Msg.GetEntries() {
					for _, r := range e.GetRecords() {
						if r.GetAuthority() != siteA {
							t.Fatalf("site A's vigilance reads a record of %s", r.GetAuthority())
						}
					}
					got = append(got, e.GetPurpose())
				}
				if before = out.Msg.GetNextBeforeSeq(); before == 0 {
					break
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("read %d entries (first %v), want the %d of site A newest first", len(got), got[:min(3, len(got))], len(want))
			}
		})
	}
}
