package mpi_test

import (
	"context"
	"fmt"

	"vigie"
	"vigie/matcher"
	"vigie/mpi"
	"vigie/store"
)

// Two sites send records of the same patient: the second is linked to the
// identity the first created; a person then takes it out again.
func ExampleIndex_Resolve() {
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		panic(err)
	}
	defer db.Close()
	ix, err := mpi.Open(db, matcher.DefaultModel(), mpi.Options{})
	if err != nil {
		panic(err)
	}
	defer ix.Close()
	ctx := context.Background()

	a := vigie.Record{Authority: "1.2.250.1.1", LocalID: "IPP1", BirthName: "LAFFITTE", FirstName: "Bernadette",
		BirthDate: "1948-03-17", Sex: "F", BirthPlace: "33063", PostalCode: "33000"}
	b := a
	b.Authority, b.LocalID, b.BirthName = "1.2.250.1.2", "77", "Laffitte"

	ra, _ := ix.Resolve(ctx, a, mpi.System)
	rb, _ := ix.Resolve(ctx, b, mpi.System)
	fmt.Println(ra.Decision, rb.Decision, ra.Identity == rb.Identity)

	id, _ := ix.Unlink(ctx, rb.Key, "vigilance", "homonym, checked by phone")
	again, _ := ix.Resolve(ctx, b, mpi.System)
	fmt.Println(again.Decision, again.Identity == id)
	// Output:
	// new linked true
	// unchanged true
}
