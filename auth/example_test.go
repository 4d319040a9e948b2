package auth_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"vigie/auth"
	"vigie/store"
)

// ExampleKeys_Create makes an API key for a PACS that submits dose reports
// for one hospital's assigning authority, then authenticates a call with it.
func ExampleKeys_Create() {
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		panic(err)
	}
	defer db.Close()
	keys := auth.NewKeys(db)

	secret, key, err := keys.Create(auth.RoleIngest, []string{"1.2.250.1.71.4.2.1.330781234"}, "pacs-chu-bordeaux", 90*24*time.Hour)
	if err != nil {
		panic(err)
	}
	// The secret is shown once; the store keeps its SHA-256 only.
	fmt.Println(strings.HasPrefix(secret, "vgk_"+key.ID+"_"))

	// What the interceptor does with "Authorization: Bearer <secret>".
	p, err := keys.Authenticate(context.Background(), secret)
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Name, p.Role, p.MayActFor("1.2.250.1.71.4.2.1.330781234"), p.MayActFor("1.2.250.1.71.4.2.1.870000001"))

	// Revoked, it proves nothing.
	if _, err := keys.Revoke(key.ID); err != nil {
		panic(err)
	}
	_, err = keys.Authenticate(context.Background(), secret)
	fmt.Println(err)
	// Output:
	// true
	// pacs-chu-bordeaux ingest true false
	// API key revoked
}
