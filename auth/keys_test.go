package auth

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"vigie"
	"vigie/store"
)

func memDB(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestCreateValidation(t *testing.T) {
	keys := NewKeys(memDB(t))
	day := 24 * time.Hour
	tests := []struct {
		name        string
		role        Role
		authorities []string
		keyName     string
		lifetime    time.Duration
		field       string // "" when Create must succeed
	}{
		{"clinician without authority", RoleClinician, nil, "dr-house", 90 * day, "authority"},
		{"vigilance without authority", RoleVigilance, nil, "iv", 90 * day, "authority"},
		{"regional vigilance without authority", RoleRegionalVigilance, nil, "iv-region", 90 * day, ""},
		{"clinician of a site", RoleClinician, []string{"1.2.3"}, "dr-house", 90 * day, ""},
		{"ingest with authority", RoleIngest, []string{"1.2.250.1.71.4.2.1.330781234"}, "pacs-chu-bordeaux", 90 * day, ""},
		{"physicist", RolePhysicist, []string{"1.2.3", "1.2.3", "1.2.4"}, "physique", day, ""},
		{"unknown role", Role("root"), nil, "x", day, "role"},
		{"empty role", Role(""), nil, "x", day, "role"},
		{"ingest without authority", RoleIngest, nil, "pacs", day, "authority"},
		{"physicist without authority", RolePhysicist, []string{}, "phys", day, "authority"},
		{"empty authority", RoleAdmin, []string{""}, "adm", day, "authority"},
		{"spaced authority", RoleIngest, []string{"1.2 3"}, "pacs", day, "authority"},
		{"comma in authority", RoleIngest, []string{"1.2,1.3"}, "pacs", day, "authority"},
		{"no name", RoleAdmin, nil, "", day, "name"},
		{"spaced name", RoleAdmin, nil, " admin", day, "name"},
		{"control char in name", RoleAdmin, nil, "ad\nmin", day, "name"},
		{"long name", RoleAdmin, nil, strings.Repeat("a", 101), day, "name"},
		{"zero lifetime", RoleAdmin, nil, "adm", 0, "expires"},
		{"negative lifetime", RoleAdmin, nil, "adm", -day, "expires"},
		{"too long lifetime", RoleAdmin, nil, "adm", MaxKeyLifetime + day, "expires"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret, key, err := keys.Create(tt.role, tt.authorities, tt.keyName, tt.lifetime)
			if tt.field != "" {
				if vigie.ErrorCode(err) != vigie.EINVALID || vigie.ErrorField(err) != tt.field {
					t.Fatalf("Create = %v, want invalid %s", err, tt.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(secret, KeyPrefix+key.ID+"_") || len(secret) != len(KeyPrefix)+16+1+43 {
				t.Errorf("secret %q does not have the form vgk_<id>_<43 chars>", secret)
			}
			if key.Name != tt.keyName || key.Role != tt.role || !key.Expires.Equal(key.Created.Add(tt.lifetime)) {
				t.Errorf("key = %+v", key)
			}
			got, err := keys.Get(key.ID)
			if err != nil || got.Name != key.Name || len(got.Authorities) != len(key.Authorities) {
				t.Errorf("Get = %+v, %v", got, err)
			}
		})
	}
}

func TestAuthenticateKeys(t *testing.T) {
	db := memDB(t)
	keys := NewKeys(db)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	keys.now = func() time.Time { return now }
	good, goodKey, err := keys.Create(RoleIngest, []string{"1.2.3"}, "pacs", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	revoked, revokedKey, _ := keys.Create(RoleClinician, []string{"1.2.3"}, "gone", 24*time.Hour)
	if _, err := keys.Revoke(revokedKey.ID); err != nil {
		t.Fatal(err)
	}
	short, _, _ := keys.Create(RoleClinician, []string{"1.2.3"}, "short", time.Hour)
	keys.now = func() time.Time { return now.Add(2 * time.Hour) }

	last := "A"
	if strings.HasSuffix(good, "A") {
		last = "B"
	}
	wrongSecret := good[:len(good)-1] + last
	tests := []struct {
		name       string
		credential string
		principal  string // "" when refused
		notMine    bool
		reason     string
	}{
		{"valid", good, "pacs", false, ""},
		{"wrong secret, right id", wrongSecret, "", false, "unknown API key"},
		{"unknown id", KeyPrefix + "0123456789abcdef_" + strings.Repeat("A", 43), "", false, "unknown API key"},
		{"malformed", KeyPrefix + "short", "", false, "malformed"},
		{"id without secret", KeyPrefix + goodKey.ID, "", false, "malformed"},
		{"revoked", revoked, "", false, "revoked"},
		{"expired", short, "", false, "expired"},
		{"a JWT", "eyJhbGciOiJSUzI1NiJ9.e30.sig", "", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := keys.Authenticate(context.Background(), tt.credential)
			switch {
			case tt.principal != "":
				if err != nil || p.Name != tt.principal || p.Role != RoleIngest || p.Method != "api_key" || p.CredentialID != goodKey.ID {
					t.Fatalf("Authenticate = %+v, %v", p, err)
				}
			case tt.notMine:
				if !errors.Is(err, ErrNotMine) {
					t.Fatalf("Authenticate = %v, want ErrNotMine", err)
				}
			default:
				if !errors.Is(err, ErrUnauthenticated) || !strings.Contains(err.Error(), tt.reason) || p != nil {
					t.Fatalf("Authenticate = %+v, %v; want unauthenticated %q", p, err, tt.reason)
				}
			}
		})
	}

	// The secret is stored nowhere: no value of the store holds it or its
	// random part.
	err = db.View(func(txn *store.Txn) error {
		it := txn.NewIterator(store.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, _ := it.Item().ValueCopy(nil)
			for _, s := range []string{good, revoked, short} {
				if bytes.Contains(v, []byte(s[len(KeyPrefix)+17:])) {
					t.Errorf("key %s stores the secret", it.Item().Key())
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestListAndRevoke(t *testing.T) {
	keys := NewKeys(memDB(t))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ids []string
	for i, name := range []string{"a", "b", "c"} {
		keys.now = func() time.Time { return t0.Add(time.Duration(i) * time.Minute) }
		_, k, err := keys.Create(RoleAdmin, nil, name, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, k.ID)
	}
	k, err := keys.Revoke(ids[1])
	if err != nil || k.Revoked.IsZero() {
		t.Fatalf("Revoke = %+v, %v", k, err)
	}
	again, err := keys.Revoke(ids[1])
	if err != nil || !again.Revoked.Equal(k.Revoked) {
		t.Errorf("second Revoke = %+v, %v; want unchanged", again, err)
	}
	if _, err := keys.Revoke("0000000000000000"); vigie.ErrorCode(err) != vigie.ENOTFOUND {
		t.Errorf("Revoke unknown = %v", err)
	}
	list, err := keys.List()
	if err != nil || len(list) != 3 {
		t.Fatalf("List = %v, %v", list, err)
	}
	now := t0.Add(10 * time.Minute)
	for i, want := range []struct {
		name   string
		active bool
	}{{"a", true}, {"b", false}, {"c", true}} {
		if list[i].Name != want.name || list[i].Active(now) != want.active {
			t.Errorf("list[%d] = %s active %v, want %s %v", i, list[i].Name, list[i].Active(now), want.name, want.active)
		}
	}
}

func TestChain(t *testing.T) {
	keys := NewKeys(memDB(t))
	secret, _, _ := keys.Create(RoleRegionalVigilance, nil, "iv", time.Hour)
	chain := Chain{keys}
	if p, err := chain.Authenticate(context.Background(), secret); err != nil || p.Role != RoleRegionalVigilance {
		t.Errorf("Chain with key = %+v, %v", p, err)
	}
	if _, err := chain.Authenticate(context.Background(), "eyJ.x.y"); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("Chain with foreign form = %v, want unauthenticated", err)
	}
}

func TestPrincipalMayActFor(t *testing.T) {
	tests := []struct {
		p    *Principal
		auth string
		want bool
	}{
		{&Principal{Role: RoleIngest, Authorities: []string{"1.2"}}, "1.2", true},
		{&Principal{Role: RoleIngest, Authorities: []string{"1.2"}}, "1.3", false},
		{&Principal{Role: RolePhysicist, Authorities: []string{"1.2"}}, "1.3", false},
		{&Principal{Role: RoleClinician}, "1.3", true},
		{&Principal{Role: RoleVigilance, Authorities: []string{"1.2"}}, "1.3", false},
		{&Principal{Role: RoleVigilance, Authorities: []string{"1.2"}}, "1.2", true},
		{&Principal{Role: RoleRegionalVigilance}, "1.3", true},
		{nil, "1.2", false},
	}
	for _, tt := range tests {
		if got := tt.p.MayActFor(tt.auth); got != tt.want {
			t.Errorf("%+v.MayActFor(%s) = %v", tt.p, tt.auth, got)
		}
	}
}

// TestRevokeAfterCachedAuthentication: a key that authenticated (and so
// sits in the cache) is refused as soon as it is revoked through the same
// Keys; revoked through another Keys on the same store, it is refused once
// the cache stops trusting it.
func TestRevokeAfterCachedAuthentication(t *testing.T) {
	db := memDB(t)
	keys := NewKeys(db)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	keys.now = func() time.Time { return now }
	secret, key, err := keys.Create(RoleClinician, []string{"1.2.3"}, "dr", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Authenticate(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Revoke(key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Authenticate(context.Background(), secret); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("revoked key after a cached authentication: %v, want unauthenticated", err)
	}

	other, okey, _ := keys.Create(RoleClinician, []string{"1.2.3"}, "dr2", 24*time.Hour)
	if _, err := keys.Authenticate(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	elsewhere := NewKeys(db)
	elsewhere.now = keys.now
	if _, err := elsewhere.Revoke(okey.ID); err != nil {
		t.Fatal(err)
	}
	now = now.Add(knownFor)
	if _, err := keys.Authenticate(context.Background(), other); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("key revoked elsewhere, after %s: %v, want unauthenticated", knownFor, err)
	}
}

// TestRevokeConcurrent: revocations racing each other all succeed (the
// key is revoked once), and a revocation racing authentications of the
// key is never undone by an authentication that read the key before it
// (and cached what it read after the revocation did).
func TestRevokeConcurrent(t *testing.T) {
	const racers = 12
	keys := NewKeys(memDB(t))
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	keys.now = func() time.Time { return now }
	for round := range 40 {
		secret, key, err := keys.Create(RoleClinician, []string{"1.2.3"}, "dr", 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		errs := make([]error, racers)
		revoked := make([]Key, racers)
		var start, done sync.WaitGroup
		start.Add(1)
		for i := range racers {
			done.Add(1)
			go func() {
				defer done.Done()
				start.Wait()
				if i%3 == 0 {
					revoked[i], errs[i] = keys.Revoke(key.ID)
				} else {
					_, _ = keys.Authenticate(context.Background(), secret)
				}
			}()
		}
		start.Done()
		done.Wait()
		for i := 0; i < racers; i += 3 {
			if errs[i] != nil || revoked[i].Revoked.IsZero() || !revoked[i].Revoked.Equal(revoked[0].Revoked) {
				t.Fatalf("round %d: revocation %d: %+v, %v", round, i, revoked[i], errs[i])
			}
		}
		if _, err := keys.Authenticate(context.Background(), secret); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("round %d: a key whose revocation was acknowledged: %v, want unauthenticated", round, err)
		}
	}
}
