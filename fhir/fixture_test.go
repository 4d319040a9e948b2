package fhir_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

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

// Assigning authorities of the fixture's two sites.
const (
	siteA = "1.2.250.1.213.1.1.1.3"
	siteB = "1.2.250.1.213.1.1.1.9"
)

// A valid INS (key 89) of a woman born in March 1979.
const insMarie = "279035121518989"

// fixture serves rpc.Server with the FHIR door over an in-memory store
// and search index, with one API key per role, and the patients of the
// scenarios:
//
//	shared: a record at site A (QUAL INS) and one at site B, one identity
//	siteB:  a record at site B only
//	hidden: a record at site A, identity hidden (CACH)
type fixture struct {
	url    string
	tokens map[string]string
	trail  *audit.Log
	index  *mpi.Index
	search *search.Index
	keys   *auth.Keys
	ids    map[string]string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ix, err := mpi.Open(db, matcher.DefaultModel(), mpi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	trail, err := audit.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	keys := auth.NewKeys(db)
	sx, err := search.Open("", ix.Model(), search.Options{Population: func() int { return max(ix.Count(), 10000) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sx.Close() })
	f := &fixture{tokens: map[string]string{}, trail: trail, index: ix, search: sx, keys: keys, ids: map[string]string{}}
	for _, k := range []struct {
		name string
		role auth.Role
		auth []string
	}{
		{"pacs-a", auth.RoleIngest, []string{siteA}},
		{"dr-a", auth.RoleClinician, []string{siteA}},
		{"iv-a", auth.RoleVigilance, []string{siteA}},
		{"iv-team", auth.RoleRegionalVigilance, nil},
		{"physicist-a", auth.RolePhysicist, []string{siteA}},
		{"admin", auth.RoleAdmin, nil},
	} {
		secret, _, err := keys.Create(k.role, k.auth, k.name, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[k.name] = secret
	}
	ctx := context.Background()
	resolve := func(r vigie.Record) vigie.IdentityID {
		res, err := ix.Resolve(ctx, r, mpi.System)
		if err != nil {
			t.Fatal(err)
		}
		return res.Identity
	}
	marie := vigie.Record{Authority: siteA, LocalID: "A-100", INS: insMarie, INSOID: matcher.OIDINSNIR, Status: "QUAL",
		BirthName: "DUPONT", UsedName: "MARTIN", FirstNames: "MARIE CLAIRE", FirstName: "MARIE", BirthDate: "1979-03-14", Sex: "F",
		BirthPlace: "33063", PostalCode: "33000", City: "BORDEAUX"}
	f.ids["shared"] = resolve(marie).String()
	marieB := marie
	marieB.Authority, marieB.LocalID = siteB, "B-7"
	if got := resolve(marieB).String(); got != f.ids["shared"] {
		t.Fatalf("the fixture's second record of DUPONT went to identity %s, not %s", got, f.ids["shared"])
	}
	f.ids["siteB"] = resolve(vigie.Record{Authority: siteB, LocalID: "B-8", BirthName: "LEROY", FirstNames: "JEAN PIERRE", FirstName: "JEAN",
		BirthDate: "1948-11-02", Sex: "M", PostalCode: "87000"}).String()
	hidden := resolve(vigie.Record{Authority: siteA, LocalID: "A-200", BirthName: "BERNARD", FirstNames: "LUCIE", FirstName: "LUCIE",
		BirthDate: "1990-06-01", Sex: "F"})
	if _, err := ix.ChangeAttributes(ctx, hidden, []string{vigie.AttrHidden}, nil, "iv-a", "patient's request"); err != nil {
		t.Fatal(err)
	}
	f.ids["hidden"] = hidden.String()
	// Homonyms for paging: 25 GARNIER at site A.
	for i := range 25 {
		resolve(vigie.Record{Authority: siteA, LocalID: fmt.Sprintf("G-%d", i), BirthName: "GARNIER", FirstNames: fmt.Sprintf("PAUL%c", 'A'+i),
			FirstName: fmt.Sprintf("PAUL%c", 'A'+i), BirthDate: fmt.Sprintf("19%02d-01-%02d", 40+i, 1+i), Sex: "M"})
	}
	if _, err := sx.CatchUp(ctx, ix); err != nil {
		t.Fatal(err)
	}
	api := &rpc.Server{Index: ix, Search: sx, Keys: keys, Trail: trail, NoLimits: true,
		Doors: map[string]rpc.Door{fhir.Path: &fhir.Server{Index: ix, Search: sx}}}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

// call sends one request as who ("" without a token) with extra headers
// and returns the status and the body checked against the R4 structure.
func (f *fixture) call(t testing.TB, who, method, path, body string, headers ...string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if who != "" {
		req.Header.Set("Authorization", "Bearer "+f.tokens[who])
	}
	if body != "" {
		req.Header.Set("Content-Type", fhir.ContentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, fhir.ContentType) {
		t.Fatalf("%s %s: Content-Type %q, want %s; body %s", method, path, ct, fhir.ContentType, b)
	}
	return resp.StatusCode, checkR4(t, b)
}

// checkR4 checks a resource against the R4 structure as the FHIR model
// package declares it: every element is one of its type's (unknown
// elements refused), every code of a required binding one of its value
// set's, the resources inside a Bundle or Parameters checked the same way.
// It returns the resource as a map for the tests' assertions.
func checkR4(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	if err := strictR4(m); err != nil {
		t.Fatalf("not an R4 resource: %v\n%s", err, b)
	}
	return m
}

func strictR4(m map[string]any) error {
	rt, _ := m["resourceType"].(string)
	var target any
	switch rt {
	case "Patient":
		target = new(fm.Patient)
	case "Bundle":
		target = new(fm.Bundle)
	case "OperationOutcome":
		target = new(fm.OperationOutcome)
	case "Parameters":
		target = new(fm.Parameters)
	case "CapabilityStatement":
		target = new(fm.CapabilityStatement)
	case "Observation":
		target = new(fm.Observation)
	default:
		return fmt.Errorf("resourceType %q is not one Vigie serves", rt)
	}
	rest := map[string]any{}
	for k, v := range m {
		if k != "resourceType" {
			rest[k] = v
		}
	}
	b, _ := json.Marshal(rest)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(target); err != nil {
		return fmt.Errorf("%s: %w", rt, err)
	}
	// The resources inside.
	var inner []any
	if entries, ok := m["entry"].([]any); ok {
		for _, e := range entries {
			inner = append(inner, e.(map[string]any)["resource"])
		}
	}
	if params, ok := m["parameter"].([]any); ok {
		for _, p := range params {
			if r, ok := p.(map[string]any)["resource"]; ok {
				inner = append(inner, r)
			}
		}
	}
	for _, r := range inner {
		rm, ok := r.(map[string]any)
		if !ok {
			return fmt.Errorf("%s holds an entry without a resource", rt)
		}
		if err := strictR4(rm); err != nil {
			return err
		}
	}
	return nil
}

// issue returns the first issue of an OperationOutcome: its code and
// expression (empty when none).
func issue(t testing.TB, m map[string]any) (code, expression, diagnostics string) {
	t.Helper()
	if m["resourceType"] != "OperationOutcome" {
		t.Fatalf("want an OperationOutcome, got %v", m)
	}
	is := m["issue"].([]any)[0].(map[string]any)
	code, _ = is["code"].(string)
	diagnostics, _ = is["diagnostics"].(string)
	if ex, ok := is["expression"].([]any); ok && len(ex) > 0 {
		expression = ex[0].(string)
	}
	return code, expression, diagnostics
}

// entryIDs are the ids of a Bundle's Patients, in order.
func entryIDs(m map[string]any) []string {
	var out []string
	entries, _ := m["entry"].([]any)
	for _, e := range entries {
		out = append(out, e.(map[string]any)["resource"].(map[string]any)["id"].(string))
	}
	return out
}

// entryOf returns the entry of identity id in a Bundle, or nil.
func entryOf(m map[string]any, id string) map[string]any {
	entries, _ := m["entry"].([]any)
	for _, e := range entries {
		em := e.(map[string]any)
		if em["resource"].(map[string]any)["id"] == id {
			return em
		}
	}
	return nil
}

// audited reports whether the trail holds an entry of principal on
// operation with the result, naming identity.
func (f *fixture) audited(t testing.TB, principal, operation, result, identity string) bool {
	t.Helper()
	entries, err := f.trail.ByUser(principal, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Operation == operation && e.Result == result && (identity == "" || contains(e.Identities, identity)) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
