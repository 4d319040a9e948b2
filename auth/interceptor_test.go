package auth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"vigie/audit"
	v1 "vigie/rpc/gen/vigie/v1"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
	"vigie/store"
)

// fakeIdentities is a trivial IdentityService: GetIdentity answers a fixed
// identity (one source record at authority 1.2.3) for any id but "missing";
// ResolveRecord answers identity I-new.
type fakeIdentities struct {
	vigiev1connect.UnimplementedIdentityServiceHandler
}

func (fakeIdentities) GetIdentity(ctx context.Context, req *connect.Request[v1.GetIdentityRequest]) (*connect.Response[v1.GetIdentityResponse], error) {
	if req.Msg.GetIdentityId() == "missing" {
		return nil, connect.NewError(connect.CodeNotFound, errors.New("identity missing not found"))
	}
	site := "CHU"
	if p, ok := PrincipalFrom(ctx); ok {
		site += " " + p.Name
	}
	audit.Touch(ctx, "I-touched-by-handler")
	return connect.NewResponse(&v1.GetIdentityResponse{Identity: &v1.Identity{
		Id:      req.Msg.GetIdentityId(),
		Golden:  &v1.SourceRecord{BirthName: "MARTIN", FirstName: "Claire"},
		Sources: []*v1.SourceKey{{Authority: "1.2.3", LocalId: "IPP42", Site: site}},
	}}), nil
}

func (fakeIdentities) ResolveRecord(_ context.Context, req *connect.Request[v1.ResolveRecordRequest]) (*connect.Response[v1.ResolveRecordResponse], error) {
	return connect.NewResponse(&v1.ResolveRecordResponse{IdentityId: "I-new", Decision: v1.Decision_DECISION_NEW_IDENTITY}), nil
}

// fakeIngest counts the files of a stream.
type fakeIngest struct {
	vigiev1connect.UnimplementedIngestServiceHandler
}

func (fakeIngest) SubmitDicomStream(_ context.Context, s *connect.ClientStream[v1.SubmitDicomStreamRequest]) (*connect.Response[v1.SubmitDicomStreamResponse], error) {
	out := &v1.SubmitDicomStreamResponse{}
	for s.Receive() {
		out.Outcomes = append(out.Outcomes, &v1.DicomOutcome{Filename: s.Msg().GetFilename(), Status: v1.DicomStatus_DICOM_STATUS_STORED, IdentityId: "I-" + s.Msg().GetFilename()})
		out.Stored++
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

type fixture struct {
	url    string
	client *http.Client
	keys   *Keys
	trail  *audit.Log
	tokens map[string]string // name → secret
}

// newFixture serves the fake handlers behind the interceptor on loopback,
// over HTTP/1.1 and h2c, with keys for every role.
func newFixture(t *testing.T, trailDB *store.DB) *fixture {
	t.Helper()
	db := memDB(t)
	keys := NewKeys(db)
	if trailDB == nil {
		trailDB = db
	}
	trail, err := audit.Open(trailDB)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{keys: keys, trail: trail, tokens: map[string]string{}}
	for _, k := range []struct {
		name string
		role Role
		auth []string
	}{
		{"pacs-bdx", RoleIngest, []string{"1.2.3"}},
		{"dr-martin", RoleClinician, []string{"1.2.3"}},
		{"iv-team", RoleRegionalVigilance, nil},
		{"revoked-key", RoleClinician, []string{"1.2.3"}},
	} {
		secret, key, err := keys.Create(k.role, k.auth, k.name, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[k.name] = secret
		if k.name == "revoked-key" {
			if _, err := keys.Revoke(key.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	ic := connect.WithInterceptors(NewInterceptor(keys, DefaultPolicy(), trail, nil))
	mux := http.NewServeMux()
	mux.Handle(vigiev1connect.NewIdentityServiceHandler(fakeIdentities{}, ic))
	mux.Handle(vigiev1connect.NewIngestServiceHandler(fakeIngest{}, ic))
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	f.url, f.client = srv.URL, &http.Client{Transport: tr}
	t.Cleanup(tr.CloseIdleConnections)
	return f
}

// as returns a request header for the named key ("" for none) and purpose.
func (f *fixture) as(name, purpose string) http.Header {
	h := http.Header{}
	if name != "" {
		secret, ok := f.tokens[name]
		if !ok {
			secret = name // a raw credential
		}
		h.Set("Authorization", "Bearer "+secret)
	}
	if purpose != "" {
		h.Set(PurposeHeader, purpose)
	}
	return h
}

func TestInterceptorEndToEnd(t *testing.T) {
	f := newFixture(t, nil)
	protocols := []struct {
		name string
		opts []connect.ClientOption
	}{{"connect", nil}, {"grpc", []connect.ClientOption{connect.WithGRPC()}}, {"grpcweb", []connect.ClientOption{connect.WithGRPCWeb()}}}
	get := func(opts []connect.ClientOption, h http.Header, id string) error {
		req := connect.NewRequest(&v1.GetIdentityRequest{IdentityId: id})
		for k, v := range h {
			req.Header()[k] = v
		}
		_, err := vigiev1connect.NewIdentityServiceClient(f.client, f.url, opts...).GetIdentity(context.Background(), req)
		return err
	}
	resolve := func(opts []connect.ClientOption, h http.Header, authority string) error {
		req := connect.NewRequest(&v1.ResolveRecordRequest{Record: &v1.SourceRecord{Authority: authority, LocalId: "IPP7", BirthName: "DURAND"}})
		for k, v := range h {
			req.Header()[k] = v
		}
		_, err := vigiev1connect.NewIdentityServiceClient(f.client, f.url, opts...).ResolveRecord(context.Background(), req)
		return err
	}
	tests := []struct {
		name    string
		call    func(opts []connect.ClientOption) error
		code    connect.Code // 0 for OK
		reason  string
		audited *audit.Entry // the entry expected, nil when none
	}{
		{"no credential", func(o []connect.ClientOption) error { return get(o, f.as("", ""), "I1") },
			connect.CodeUnauthenticated, "missing bearer", nil},
		{"garbage credential", func(o []connect.ClientOption) error { return get(o, f.as("not-a-key", ""), "I1") },
			connect.CodeUnauthenticated, "unknown form", nil},
		{"unknown key", func(o []connect.ClientOption) error {
			return get(o, f.as(KeyPrefix+"0123456789abcdef_"+strings.Repeat("x", 43), ""), "I1")
		}, connect.CodeUnauthenticated, "unknown API key", nil},
		{"revoked key", func(o []connect.ClientOption) error { return get(o, f.as("revoked-key", ""), "I1") },
			connect.CodeUnauthenticated, "revoked", nil},
		{"ingest may not read identities", func(o []connect.ClientOption) error { return get(o, f.as("pacs-bdx", ""), "I1") },
			connect.CodePermissionDenied, "may not call", &audit.Entry{Principal: "pacs-bdx", Role: "ingest", Result: "permission_denied",
				Operation: vigiev1connect.IdentityServiceGetIdentityProcedure, Identities: []string{"I1"}}},
		{"clinician reads an identity", func(o []connect.ClientOption) error { return get(o, f.as("dr-martin", "care"), "I1") },
			0, "", &audit.Entry{Principal: "dr-martin", Role: "clinician", Result: "ok", Purpose: "care",
				Operation:  vigiev1connect.IdentityServiceGetIdentityProcedure,
				Identities: []string{"I-touched-by-handler", "I1"}, Records: []audit.Record{{Authority: "1.2.3", LocalID: "IPP42"}}}},
		{"handler error is audited with its code", func(o []connect.ClientOption) error { return get(o, f.as("iv-team", ""), "missing") },
			connect.CodeNotFound, "missing not found", &audit.Entry{Principal: "iv-team", Role: "regional_vigilance", Result: "not_found",
				Operation: vigiev1connect.IdentityServiceGetIdentityProcedure, Identities: []string{"missing"}}},
		{"ingest resolves its own record", func(o []connect.ClientOption) error { return resolve(o, f.as("pacs-bdx", ""), "1.2.3") },
			0, "", &audit.Entry{Principal: "pacs-bdx", Role: "ingest", Result: "ok",
				Operation:  vigiev1connect.IdentityServiceResolveRecordProcedure,
				Identities: []string{"I-new"}, Records: []audit.Record{{Authority: "1.2.3", LocalID: "IPP7"}}}},
		{"ingest may not resolve another authority's record", func(o []connect.ClientOption) error { return resolve(o, f.as("pacs-bdx", ""), "9.9.9") },
			connect.CodePermissionDenied, `assigning authority "9.9.9"`, &audit.Entry{Principal: "pacs-bdx", Role: "ingest", Result: "permission_denied",
				Operation: vigiev1connect.IdentityServiceResolveRecordProcedure, Records: []audit.Record{{Authority: "9.9.9", LocalID: "IPP7"}}}},
		{"clinician may not resolve", func(o []connect.ClientOption) error { return resolve(o, f.as("dr-martin", ""), "1.2.3") },
			connect.CodePermissionDenied, "may not call", &audit.Entry{Principal: "dr-martin", Role: "clinician", Result: "permission_denied",
				Operation: vigiev1connect.IdentityServiceResolveRecordProcedure, Records: []audit.Record{{Authority: "1.2.3", LocalID: "IPP7"}}}},
		{"unimplemented procedure still audited", func(o []connect.ClientOption) error {
			req := connect.NewRequest(&v1.MergeRequest{SurvivorIdentityId: "I1", MergedIdentityId: "I2", Reason: "dup"})
			req.Header().Set("Authorization", "Bearer "+f.tokens["iv-team"])
			_, err := vigiev1connect.NewIdentityServiceClient(f.client, f.url, o...).Merge(context.Background(), req)
			return err
		}, connect.CodeUnimplemented, "", &audit.Entry{Principal: "iv-team", Role: "regional_vigilance", Result: "unimplemented",
			Operation: vigiev1connect.IdentityServiceMergeProcedure, Identities: []string{"I1", "I2"}}},
	}
	for _, p := range protocols {
		for _, tt := range tests {
			t.Run(p.name+"/"+tt.name, func(t *testing.T) {
				before, _ := f.trail.Head()
				err := tt.call(p.opts)
				if connect.CodeOf(err) != tt.code && !(tt.code == 0 && err == nil) {
					t.Fatalf("error = %v, want code %v", err, tt.code)
				}
				if tt.code != 0 && !strings.Contains(err.Error(), tt.reason) {
					t.Errorf("error %q does not say %q", err, tt.reason)
				}
				after, _ := f.trail.Head()
				if tt.audited == nil {
					if after != before {
						t.Errorf("%d audit entries written, want none", after-before)
					}
					return
				}
				if after != before+1 {
					t.Fatalf("%d audit entries written, want 1", after-before)
				}
				e, err := f.trail.Get(after)
				if err != nil {
					t.Fatal(err)
				}
				want := tt.audited
				if e.Principal != want.Principal || e.Role != want.Role || e.Result != want.Result || e.Operation != want.Operation ||
					e.Purpose != want.Purpose || !slices.Equal(e.Identities, want.Identities) || !slices.Equal(e.Records, want.Records) ||
					!strings.HasPrefix(e.Client, "127.0.0.1:") || !strings.HasPrefix(e.Credential, "api_key:") || len(e.Credential) != len("api_key:")+16 {
					t.Errorf("audit entry = %+v\nwant           %+v", e, *want)
				}
			})
		}
	}

	// Who looked at I1: the refused ingest key and the clinician, per protocol.
	who, err := f.trail.ByIdentity("I1", 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range who {
		names = append(names, e.Principal+":"+e.Result)
	}
	if len(who) != 3*3 || !slices.Contains(names, "dr-martin:ok") || !slices.Contains(names, "pacs-bdx:permission_denied") {
		t.Errorf("ByIdentity(I1) = %v", names)
	}
	if rep, err := f.trail.Verify(); err != nil || rep.Broken != nil {
		t.Errorf("Verify = %+v, %v", rep.Broken, err)
	}
}

func TestInterceptorStreaming(t *testing.T) {
	f := newFixture(t, nil)
	send := func(opts []connect.ClientOption, key string, authorities ...string) (*v1.SubmitDicomStreamResponse, error) {
		s := vigiev1connect.NewIngestServiceClient(f.client, f.url, opts...).SubmitDicomStream(context.Background())
		s.RequestHeader().Set("Authorization", "Bearer "+f.tokens[key])
		for i, a := range authorities {
			if err := s.Send(&v1.SubmitDicomStreamRequest{File: []byte("DICM"), Filename: string(rune('a' + i)), DefaultAuthority: a}); err != nil && !errors.Is(err, io.EOF) {
				break
			}
		}
		resp, err := s.CloseAndReceive()
		if err != nil {
			return nil, err
		}
		return resp.Msg, nil
	}
	for _, p := range []struct {
		name string
		opts []connect.ClientOption
	}{{"connect", nil}, {"grpc", []connect.ClientOption{connect.WithGRPC()}}} {
		t.Run(p.name, func(t *testing.T) {
			resp, err := send(p.opts, "pacs-bdx", "1.2.3", "1.2.3", "")
			if err != nil || resp.GetStored() != 3 {
				t.Fatalf("own stream = %v, %v", resp, err)
			}
			seq, _ := f.trail.Head()
			e, _ := f.trail.Get(seq)
			if e.Result != "ok" || e.Operation != vigiev1connect.IngestServiceSubmitDicomStreamProcedure || !slices.Equal(e.Identities, []string{"I-a", "I-b", "I-c"}) {
				t.Errorf("entry = %+v", e)
			}
			if _, err := send(p.opts, "pacs-bdx", "1.2.3", "6.6.6"); connect.CodeOf(err) != connect.CodePermissionDenied {
				t.Errorf("foreign authority in a stream = %v, want permission_denied", err)
			}
			seq2, _ := f.trail.Head()
			if e, _ := f.trail.Get(seq2); seq2 != seq+1 || e.Result != "permission_denied" {
				t.Errorf("refused stream entry = %+v", e)
			}
			if _, err := send(p.opts, "dr-martin", "1.2.3"); connect.CodeOf(err) != connect.CodePermissionDenied {
				t.Errorf("clinician stream = %v, want permission_denied", err)
			}
			if _, err := send(p.opts, "no-such-key", "1.2.3"); connect.CodeOf(err) != connect.CodeUnauthenticated {
				t.Errorf("stream without key = %v, want unauthenticated", err)
			}
		})
	}
}

// TestInterceptorFailsClosed: when the audit trail cannot be written, the
// response is withheld.
func TestInterceptorFailsClosed(t *testing.T) {
	trailDB := memDB(t)
	f := newFixture(t, trailDB)
	trailDB.Close()
	req := connect.NewRequest(&v1.GetIdentityRequest{IdentityId: "I1"})
	req.Header().Set("Authorization", "Bearer "+f.tokens["dr-martin"])
	resp, err := vigiev1connect.NewIdentityServiceClient(f.client, f.url).GetIdentity(context.Background(), req)
	if connect.CodeOf(err) != connect.CodeInternal || resp != nil || !strings.Contains(err.Error(), "audit trail unavailable") {
		t.Errorf("GetIdentity with a broken trail = %v, %v; want internal and no response", resp, err)
	}
}

func TestBearer(t *testing.T) {
	tests := []struct {
		header, want string
		ok           bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer  abc ", "abc", true},
		{"Basic abc", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := bearer(tt.header)
		if got != tt.want || ok != tt.ok {
			t.Errorf("bearer(%q) = %q %v", tt.header, got, ok)
		}
	}
}

// A stream answers before its audit entry is appended: on a store synced
// in groups, the answer waits for a sync, and none leaves when the store
// cannot make what it acknowledges durable.
func TestInterceptorStreamWaitsForDurability(t *testing.T) {
	f := newFixture(t, nil)
	syncs := 0
	f.trail.SetSync(func() error { syncs++; return nil })
	s := vigiev1connect.NewIngestServiceClient(f.client, f.url).SubmitDicomStream(context.Background())
	s.RequestHeader().Set("Authorization", "Bearer "+f.tokens["pacs-bdx"])
	if err := s.Send(&v1.SubmitDicomStreamRequest{File: []byte("DICM"), Filename: "a", DefaultAuthority: "1.2.3"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CloseAndReceive(); err != nil {
		t.Fatal(err)
	}
	if syncs < 2 {
		t.Errorf("%d syncs for a stream's answer and its audit entry, want 2", syncs)
	}

	f.trail.SetSync(func() error { return errors.New("disk gone") })
	s = vigiev1connect.NewIngestServiceClient(f.client, f.url).SubmitDicomStream(context.Background())
	s.RequestHeader().Set("Authorization", "Bearer "+f.tokens["pacs-bdx"])
	if err := s.Send(&v1.SubmitDicomStreamRequest{File: []byte("DICM"), Filename: "a", DefaultAuthority: "1.2.3"}); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	if resp, err := s.CloseAndReceive(); connect.CodeOf(err) != connect.CodeUnavailable {
		t.Fatalf("stream on a store that cannot sync = %v, %v; want unavailable", resp, err)
	}
}
