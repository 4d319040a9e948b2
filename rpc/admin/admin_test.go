package admin

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"vigie/audit"
	"vigie/auth"
	v1 "vigie/rpc/gen/vigie/v1"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
	"vigie/sites"
	"vigie/store"
)

type fixture struct {
	db     *store.DB
	client vigiev1connect.AdminServiceClient
	trail  *audit.Log
	admin  string // an admin key's secret
	iv     string // a vigilance key's secret
	doctor string // a clinician key's secret
	siteIV string // a site vigilance key's secret
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	keys := auth.NewKeys(db)
	trail, err := audit.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, trail: trail}
	f.admin, _, _ = keys.Create(auth.RoleAdmin, nil, "root", time.Hour)
	f.iv, _, _ = keys.Create(auth.RoleRegionalVigilance, nil, "iv-team", time.Hour)
	f.doctor, _, _ = keys.Create(auth.RoleClinician, []string{"1.2.3"}, "dr-martin", time.Hour)
	f.siteIV, _, _ = keys.Create(auth.RoleVigilance, []string{"1.2.3"}, "iv-site", time.Hour)
	mux := http.NewServeMux()
	mux.Handle(vigiev1connect.NewAdminServiceHandler(&Service{Keys: keys, Trail: trail, Sites: sites.Open(db)},
		connect.WithInterceptors(auth.NewInterceptor(keys, auth.DefaultPolicy(), trail, nil))))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f.client = vigiev1connect.NewAdminServiceClient(srv.Client(), srv.URL)
	return f
}

func call[Req, Resp any](t *testing.T, fn func(context.Context, *connect.Request[Req]) (*connect.Response[Resp], error), secret string, msg *Req) (*Resp, error) {
	t.Helper()
	req := connect.NewRequest(msg)
	req.Header().Set("Authorization", "Bearer "+secret)
	resp, err := fn(context.Background(), req)
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

func TestKeyLifecycle(t *testing.T) {
	f := newFixture(t)
	created, err := call(t, f.client.CreateApiKey, f.admin, &v1.CreateApiKeyRequest{Role: "ingest", Authorities: []string{"1.2.3"}, Name: "pacs", LifetimeDays: 30})
	if err != nil {
		t.Fatal(err)
	}
	k := created.GetKey()
	if !strings.HasPrefix(created.GetSecret(), auth.KeyPrefix+k.GetId()+"_") || k.GetRole() != "ingest" ||
		k.GetExpires().AsTime().Sub(k.GetCreated().AsTime()) != 30*24*time.Hour {
		t.Fatalf("created = %v", created)
	}
	// The new key authenticates, and may not manage keys.
	if _, err := call(t, f.client.ListApiKeys, created.GetSecret(), &v1.ListApiKeysRequest{}); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Errorf("ingest key listing keys: %v, want permission_denied", err)
	}
	list, err := call(t, f.client.ListApiKeys, f.admin, &v1.ListApiKeysRequest{})
	if err != nil || len(list.GetKeys()) != 5 {
		t.Fatalf("list = %v, %v", list, err)
	}
	revoked, err := call(t, f.client.RevokeApiKey, f.admin, &v1.RevokeApiKeyRequest{Id: k.GetId()})
	if err != nil || revoked.GetKey().GetRevoked() == nil {
		t.Fatalf("revoke = %v, %v", revoked, err)
	}
	if _, err := call(t, f.client.ListApiKeys, created.GetSecret(), &v1.ListApiKeysRequest{}); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("revoked key: %v, want unauthenticated", err)
	}
	active, _ := call(t, f.client.ListApiKeys, f.admin, &v1.ListApiKeysRequest{})
	all, _ := call(t, f.client.ListApiKeys, f.admin, &v1.ListApiKeysRequest{IncludeInactive: true})
	if len(active.GetKeys()) != 4 || len(all.GetKeys()) != 5 {
		t.Errorf("active %d, all %d; want 4, 5", len(active.GetKeys()), len(all.GetKeys()))
	}
	// The secret is in no stored value, audit trail included.
	err = f.db.View(func(txn *store.Txn) error {
		it := txn.NewIterator(store.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, _ := it.Item().ValueCopy(nil)
			if bytes.Contains(v, []byte(created.GetSecret()[len(auth.KeyPrefix)+17:])) {
				t.Errorf("%s holds the secret", it.Item().Key())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAdminErrors(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name  string
		call  func() error
		code  connect.Code
		field string
	}{
		{"unknown role", func() error {
			_, err := call(t, f.client.CreateApiKey, f.admin, &v1.CreateApiKeyRequest{Role: "root", Name: "x"})
			return err
		}, connect.CodeInvalidArgument, "role"},
		{"ingest without authority", func() error {
			_, err := call(t, f.client.CreateApiKey, f.admin, &v1.CreateApiKeyRequest{Role: "ingest", Name: "x"})
			return err
		}, connect.CodeInvalidArgument, "authority"},
		{"negative lifetime", func() error {
			_, err := call(t, f.client.CreateApiKey, f.admin, &v1.CreateApiKeyRequest{Role: "admin", Name: "x", LifetimeDays: -1})
			return err
		}, connect.CodeInvalidArgument, "lifetime_days"},
		{"too long lifetime", func() error {
			_, err := call(t, f.client.CreateApiKey, f.admin, &v1.CreateApiKeyRequest{Role: "admin", Name: "x", LifetimeDays: 5000})
			return err
		}, connect.CodeInvalidArgument, "lifetime_days"},
		{"revoke without id", func() error {
			_, err := call(t, f.client.RevokeApiKey, f.admin, &v1.RevokeApiKeyRequest{})
			return err
		}, connect.CodeInvalidArgument, "id"},
		{"revoke unknown", func() error {
			_, err := call(t, f.client.RevokeApiKey, f.admin, &v1.RevokeApiKeyRequest{Id: "0000000000000000"})
			return err
		}, connect.CodeNotFound, ""},
		{"query without criterion", func() error {
			_, err := call(t, f.client.QueryAudit, f.admin, &v1.QueryAuditRequest{})
			return err
		}, connect.CodeInvalidArgument, "identity_id"},
		{"query with two criteria", func() error {
			_, err := call(t, f.client.QueryAudit, f.admin, &v1.QueryAuditRequest{IdentityId: "I1", Principal: "x"})
			return err
		}, connect.CodeInvalidArgument, "identity_id"},
		{"query with half a record", func() error {
			_, err := call(t, f.client.QueryAudit, f.admin, &v1.QueryAuditRequest{Record: &v1.AuditRecord{Authority: "1.2"}})
			return err
		}, connect.CodeInvalidArgument, "record"},
		{"limit too large", func() error {
			_, err := call(t, f.client.QueryAudit, f.admin, &v1.QueryAuditRequest{IdentityId: "I1", Limit: 5000})
			return err
		}, connect.CodeInvalidArgument, "limit"},
		{"clinician may not query the trail", func() error {
			_, err := call(t, f.client.QueryAudit, f.doctor, &v1.QueryAuditRequest{IdentityId: "I1"})
			return err
		}, connect.CodePermissionDenied, ""},
		{"site vigilance without a scope check reads nothing", func() error {
			_, err := call(t, f.client.QueryAudit, f.siteIV, &v1.QueryAuditRequest{Principal: "dr-martin"})
			return err
		}, connect.CodePermissionDenied, ""},
		{"vigilance may not create keys", func() error {
			_, err := call(t, f.client.CreateApiKey, f.iv, &v1.CreateApiKeyRequest{Role: "admin", Name: "x"})
			return err
		}, connect.CodePermissionDenied, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if connect.CodeOf(err) != tt.code {
				t.Fatalf("err = %v, want %v", err, tt.code)
			}
			if tt.field != "" {
				var ce *connect.Error
				if !errors.As(err, &ce) || !strings.HasPrefix(ce.Message(), tt.field+":") {
					t.Errorf("message %q does not start with field %q", err, tt.field)
				}
			}
		})
	}
}

func TestQueryAndVerifyAudit(t *testing.T) {
	f := newFixture(t)
	// The clinician's refused query is itself audited as a look at I7.
	if _, err := call(t, f.client.QueryAudit, f.doctor, &v1.QueryAuditRequest{IdentityId: "I7"}); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatal(err)
	}
	got, err := call(t, f.client.QueryAudit, f.iv, &v1.QueryAuditRequest{IdentityId: "I7"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.GetEntries()) != 1 || got.GetEntries()[0].GetPrincipal() != "dr-martin" || got.GetEntries()[0].GetResult() != "permission_denied" ||
		len(got.GetEntries()[0].GetHash()) != 64 || !strings.HasPrefix(got.GetEntries()[0].GetCredential(), "api_key:") {
		t.Fatalf("who looked at I7 = %v", got.GetEntries())
	}
	byUser, err := call(t, f.client.QueryAudit, f.admin, &v1.QueryAuditRequest{Principal: "iv-team", Limit: 10})
	if err != nil || len(byUser.GetEntries()) != 1 || byUser.GetEntries()[0].GetOperation() != vigiev1connect.AdminServiceQueryAuditProcedure {
		t.Fatalf("iv-team's entries = %v, %v", byUser.GetEntries(), err)
	}
	byRecord, err := call(t, f.client.QueryAudit, f.admin, &v1.QueryAuditRequest{Record: &v1.AuditRecord{Authority: "1.2.3", LocalId: "IPP1"}})
	if err != nil || len(byRecord.GetEntries()) != 0 {
		t.Fatalf("record query = %v, %v", byRecord.GetEntries(), err)
	}
	// That record query is now in the trail under the record.
	again, _ := call(t, f.client.QueryAudit, f.admin, &v1.QueryAuditRequest{Record: &v1.AuditRecord{Authority: "1.2.3", LocalId: "IPP1"}})
	if len(again.GetEntries()) != 1 || again.GetEntries()[0].GetRecords()[0].GetLocalId() != "IPP1" {
		t.Errorf("record query not audited under the record: %v", again.GetEntries())
	}
	rep, err := call(t, f.client.VerifyAudit, f.admin, &v1.VerifyAuditRequest{})
	if err != nil || rep.GetBrokenSeq() != 0 || rep.GetEntries() < 5 || len(rep.GetHeadHash()) != 64 {
		t.Errorf("verify = %v, %v", rep, err)
	}
}

// TestSites: an administrator manages the site registry; other roles may
// not; errors carry their codes.
func TestSites(t *testing.T) {
	f := newFixture(t)
	const oid = "1.2.250.1.71.4.2.7.1"
	steps := []struct {
		name   string
		secret string
		do     func(secret string) error
		want   connect.Code // 0: success
	}{
		{"admin adds", f.admin, func(s string) error {
			_, err := call(t, f.client.AddSite, s, &v1.AddSiteRequest{Site: &v1.Site{Authority: oid, Name: "CHU de Bordeaux", AeTitles: []string{"CHUBX_CT1"}}})
			return err
		}, 0},
		{"clinician may not add", f.doctor, func(s string) error {
			_, err := call(t, f.client.AddSite, s, &v1.AddSiteRequest{Site: &v1.Site{Authority: "1.2.3", Name: "X"}})
			return err
		}, connect.CodePermissionDenied},
		{"added twice", f.admin, func(s string) error {
			_, err := call(t, f.client.AddSite, s, &v1.AddSiteRequest{Site: &v1.Site{Authority: oid, Name: "Autre"}})
			return err
		}, connect.CodeFailedPrecondition},
		{"not an OID", f.admin, func(s string) error {
			_, err := call(t, f.client.AddSite, s, &v1.AddSiteRequest{Site: &v1.Site{Authority: "CHU", Name: "X"}})
			return err
		}, connect.CodeInvalidArgument},
		{"rename", f.admin, func(s string) error {
			_, err := call(t, f.client.RenameSite, s, &v1.RenameSiteRequest{Authority: oid, Name: "CHU de Bordeaux — Pellegrin"})
			return err
		}, 0},
		{"vigilance may not list", f.iv, func(s string) error {
			_, err := call(t, f.client.ListSites, s, &v1.ListSitesRequest{})
			return err
		}, connect.CodePermissionDenied},
		{"remove unknown", f.admin, func(s string) error {
			_, err := call(t, f.client.RemoveSite, s, &v1.RemoveSiteRequest{Authority: "1.2.3"})
			return err
		}, connect.CodeNotFound},
	}
	for _, st := range steps {
		err := st.do(st.secret)
		if got := connect.CodeOf(err); (err == nil) != (st.want == 0) || (err != nil && got != st.want) {
			t.Errorf("%s: %v, want code %v", st.name, err, st.want)
		}
	}
	res, err := call(t, f.client.ListSites, f.admin, &v1.ListSitesRequest{})
	if err != nil || len(res.GetSites()) != 1 || res.GetSites()[0].GetName() != "CHU de Bordeaux — Pellegrin" || res.GetSites()[0].GetAeTitles()[0] != "CHUBX_CT1" {
		t.Errorf("list: %v %v", res, err)
	}
}
