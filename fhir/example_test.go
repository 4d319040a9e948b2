package fhir_test

import (
	ctx "context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"vigie"
	"vigie/audit"
	"vigie/auth"
	"vigie/fhir"
	"vigie/matcher"
	"vigie/mpi"
	"vigie/rpc"
	"vigie/search"
	"vigie/store"
)

// The FHIR door is mounted on the API server through rpc.Server.Doors, so
// that it shares the API's keys, roles, audit and access checks; a client
// then reads the index in FHIR R4 under /fhir.
func ExampleServer() {
	db, _ := store.Open("", store.Options{InMemory: true})
	defer db.Close()
	ix, _ := mpi.Open(db, matcher.DefaultModel(), mpi.Options{})
	defer ix.Close()
	sx, _ := search.Open("", ix.Model(), search.Options{})
	defer sx.Close()
	trail, _ := audit.Open(db)
	keys := auth.NewKeys(db)
	key, _, _ := keys.Create(auth.RoleRegionalVigilance, nil, "iv-team", time.Hour)
	res, _ := ix.Resolve(ctx.Background(), vigie.Record{Authority: "1.2.250.1.999.1", LocalID: "000123", BirthName: "MARTIN",
		FirstNames: "MARIE", FirstName: "MARIE", BirthDate: "1956-03-14", Sex: "F"}, mpi.System)

	api := &rpc.Server{Index: ix, Search: sx, Keys: keys, Trail: trail,
		Doors: map[string]rpc.Door{fhir.Path: &fhir.Server{Index: ix, Search: sx}}}
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/fhir/Patient/"+res.Identity.String(), nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, _ := http.DefaultClient.Do(req)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"))
	fmt.Println(string(b)[:96])
	// Output:
	// 200 OK application/fhir+json; charset=utf-8
	// {"id":"1","meta":{"profile":["https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient"]}
}
