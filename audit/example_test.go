package audit_test

import (
	"fmt"

	"vigie/audit"
	"vigie/store"
)

// Example records two reads of a patient's identity, answers "who looked
// at this patient", and verifies the chain.
func Example() {
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		panic(err)
	}
	defer db.Close()
	trail, err := audit.Open(db)
	if err != nil {
		panic(err)
	}
	for _, who := range []string{"dr-martin", "iv-team"} {
		_, err := trail.Append(audit.Entry{
			Principal: who, Role: "clinician", Operation: "/vigie.v1.IdentityService/GetIdentity",
			Identities: []string{"I42"}, Purpose: "care", Result: "ok",
		})
		if err != nil {
			panic(err)
		}
	}
	entries, err := trail.ByIdentity("I42", 0)
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		fmt.Println(e.Seq, e.Principal, e.Operation, e.Result)
	}
	rep, err := trail.Verify()
	if err != nil {
		panic(err)
	}
	fmt.Println("verified:", rep.Entries, "broken:", rep.Broken != nil)
	// Output:
	// 2 iv-team /vigie.v1.IdentityService/GetIdentity ok
	// 1 dr-martin /vigie.v1.IdentityService/GetIdentity ok
	// verified: 2 broken: false
}
