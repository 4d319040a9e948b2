package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"connectrpc.com/connect"

	"vigie/audit"
	v1 "vigie/rpc/gen/vigie/v1"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
	"vigie/store"
)

func BenchmarkKeysAuthenticate(b *testing.B) {
	keys := NewKeys(memDB(b))
	secret, _, err := keys.Create(RoleClinician, []string{"1.2.3"}, "bench", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := keys.Authenticate(ctx, secret); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetIdentity measures a GetIdentity call over loopback HTTP/1.1
// (Connect protocol) with and without the interceptor (in-memory store, so
// that the audit's fsync is not counted: BenchmarkAppend in audit
// measures that).
func BenchmarkGetIdentity(b *testing.B) {
	for _, withInterceptor := range []bool{false, true} {
		name := "bare"
		if withInterceptor {
			name = "interceptor"
		}
		b.Run(name, func(b *testing.B) {
			db := memDB(b)
			keys := NewKeys(db)
			secret, _, _ := keys.Create(RoleClinician, []string{"1.2.3"}, "bench", time.Hour)
			trail, err := audit.Open(db)
			if err != nil {
				b.Fatal(err)
			}
			var opts []connect.HandlerOption
			if withInterceptor {
				opts = append(opts, connect.WithInterceptors(NewInterceptor(keys, DefaultPolicy(), trail, nil)))
			}
			mux := http.NewServeMux()
			mux.Handle(vigiev1connect.NewIdentityServiceHandler(fakeIdentities{}, opts...))
			srv := httptest.NewServer(mux)
			defer srv.Close()
			client := vigiev1connect.NewIdentityServiceClient(srv.Client(), srv.URL)
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				req := connect.NewRequest(&v1.GetIdentityRequest{IdentityId: "I1"})
				req.Header().Set("Authorization", "Bearer "+secret)
				if _, err := client.GetIdentity(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGetIdentityParallelSynced: 16 concurrent clients per core over
// loopback, with the audit trail on a synced on-disk store: the cost a
// client sees once audit appends share their syncs (group commit).
func BenchmarkGetIdentityParallelSynced(b *testing.B) {
	db, err := store.Open(b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	keys := NewKeys(db)
	secret, _, _ := keys.Create(RoleClinician, []string{"1.2.3"}, "bench", time.Hour)
	trail, err := audit.Open(db)
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(vigiev1connect.NewIdentityServiceHandler(fakeIdentities{}, connect.WithInterceptors(NewInterceptor(keys, DefaultPolicy(), trail, nil))))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	defer tr.CloseIdleConnections()
	client := vigiev1connect.NewIdentityServiceClient(&http.Client{Transport: tr}, srv.URL)
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := connect.NewRequest(&v1.GetIdentityRequest{IdentityId: "I1"})
			req.Header().Set("Authorization", "Bearer "+secret)
			if _, err := client.GetIdentity(context.Background(), req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
