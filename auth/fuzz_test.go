package auth

import (
	"context"
	"errors"
	"testing"
	"time"

	"vigie/auth/authtest"
)

// FuzzOIDCAuthenticate: no credential makes the verifier panic, and none
// that the provider did not sign authenticates.
func FuzzOIDCAuthenticate(f *testing.F) {
	issuer := authtest.NewIssuer(f, map[string]any{"vigie_role": "clinician", "vigie_authorities": "1.2.3"})
	o, err := NewOIDC(context.Background(), OIDCConfig{Issuer: issuer.URL, Audience: authtest.ClientID})
	if err != nil {
		f.Fatal(err)
	}
	good := issuer.Token(f)
	f.Add(good[:len(good)-2])
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	f.Add("..")
	f.Add("vgk_0123456789abcdef_x")
	f.Fuzz(func(t *testing.T, cred string) {
		if cred == good {
			return
		}
		p, err := o.Authenticate(context.Background(), cred)
		if err == nil || p != nil {
			t.Fatalf("random credential %q authenticated as %+v", cred, p)
		}
		if !errors.Is(err, ErrUnauthenticated) && !errors.Is(err, ErrNotMine) {
			t.Fatalf("credential %q: error %v is neither unauthenticated nor not-mine", cred, err)
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
