package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"testing"
	"time"
)

// FuzzOIDCAuthenticate: no credential makes the verifier panic, and none
// that was not signed by the configured key authenticates.
func FuzzOIDCAuthenticate(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	o, err := NewOIDC(OIDCConfig{Issuer: "https://idp", Audience: "vigie", Keys: StaticKeys{"k": &key.PublicKey}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("eyJhbGciOiJFUzI1NiIsImtpZCI6ImsifQ.eyJpc3MiOiJodHRwczovL2lkcCJ9.AAAA")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	f.Add("..")
	f.Add("vgk_0123456789abcdef_x")
	f.Fuzz(func(t *testing.T, cred string) {
		p, err := o.Authenticate(context.Background(), cred)
		if err == nil || p != nil {
			t.Fatalf("random credential %q authenticated as %+v", cred, p)
		}
		if !errors.Is(err, ErrUnauthenticated) && !errors.Is(err, ErrNotMine) {
			t.Fatalf("credential %q: error %v is neither unauthenticated nor not-mine", cred, err)
		}
	})
}

// FuzzParseJWKS: no document makes the parser panic, and every key it
// returns is of a supported kind.
func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[{"kty":"EC","kid":"a","crv":"P-256","x":"AQ","y":"AQ"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","kid":"r","n":"AQAB","e":"AQAB"}]}`))
	f.Add([]byte(`{"keys":null}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		keys, err := ParseJWKS(doc)
		if err != nil {
			return
		}
		for kid, k := range keys {
			if _, err := keys.Key(context.Background(), kid); err != nil || k == nil {
				t.Fatalf("key %q unusable", kid)
			}
		}
	})
}

// FuzzKeysAuthenticate: no credential makes the API key check panic, and
// none but the real secret authenticates.
func FuzzKeysAuthenticate(f *testing.F) {
	keys := NewKeys(memDB(f))
	secret, _, err := keys.Create(RoleAdmin, nil, "fuzz", time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(secret[:len(secret)-1])
	f.Add(KeyPrefix)
	f.Add(KeyPrefix + "_")
	f.Add(secret[:20])
	f.Fuzz(func(t *testing.T, cred string) {
		p, err := keys.Authenticate(context.Background(), cred)
		if (err == nil) != (cred == secret) || (err == nil && p.Name != "fuzz") {
			t.Fatalf("credential %q: %+v, %v", cred, p, err)
		}
	})
}

// FuzzBearer: the Authorization header parser never panics and never
// returns a credential with surrounding spaces.
func FuzzBearer(f *testing.F) {
	f.Add("Bearer abc")
	f.Add("bearer\t abc")
	f.Fuzz(func(t *testing.T, h string) {
		cred, ok := bearer(h)
		if ok && (cred == "" || cred[0] == ' ' || cred[len(cred)-1] == ' ') {
			t.Fatalf("bearer(%q) = %q", h, cred)
		}
	})
}
