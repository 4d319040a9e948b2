package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/chromedp/chromedp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/timestamppb"

	"vigie/audit"
	"vigie/auth"
	"vigie/dosimetry"
	"vigie/fhir"
	"vigie/ledger"
	"vigie/matcher"
	"vigie/mpi"
	"vigie/rpc"
	"vigie/rpc/admin"
	v1 "vigie/rpc/gen/vigie/v1"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
	"vigie/search"
	"vigie/store"
	"vigie/web"
)

// The authorization matrix (issue 30), in one table: every door of the
// server — every procedure of the vigie.v1 services, every route of the
// role table (STOW-RS), every FHIR route, every page of the console, and
// the server's other routes (health, metrics, sign-in, reflection) — ×
// every role × the patient scenarios below. The doors are enumerated from
// what the server registers (the service descriptors, auth.DefaultPolicy,
// rpc.Server.Routes, fhir.Server.Routes, the pages the console registers
// in the browser), so
// that a new one without a row fails the test, and a row whose door is
// gone fails it too. The expected answer of each cell is derived from the
// rules of the README's "Roles and access", written here apart from the
// code that enforces them. It lives beside the console because the
// console's cells are read in a real browser, as a user sees them.

// Assigning authorities of the matrix's two sites.
const (
	siteA = "1.2.250.1.213.1.1.1.3"
	siteB = "1.2.250.1.213.1.1.1.9"
)

// scenario is a patient and the basis the caller gives.
type scenario string

const (
	scSite   scenario = "site"        // patient recorded at site A only; no header
	scNone   scenario = "none"        // patient recorded at site B only; no header
	scCode   scenario = "code"        // the same, with its access code
	scGlass  scenario = "break_glass" // the same, with a break-the-glass reason
	scHidden scenario = "hidden"      // hidden patient of site A, with a break-the-glass reason
)

var scenarios = []scenario{scSite, scNone, scCode, scGlass, scHidden}

// The principals of the matrix, one per role: clinician and vigilance
// belong to site A.
var matrixRoles = map[auth.Role]string{
	auth.RoleIngest:            "pacs-a",
	auth.RoleClinician:         "dr-a",
	auth.RoleVigilance:         "iv-a",
	auth.RoleRegionalVigilance: "iv-team",
	auth.RolePhysicist:         "physicist-a",
	auth.RoleAdmin:             "admin",
}

// patients are the fixture's identities and records of the scenarios.
type patients struct {
	ids  map[scenario]string
	recs map[scenario]*v1.SourceKey
}

// row says how to call one door and what it answers. Exactly one of req,
// fhir and page is set: the door is a Connect procedure, an HTTP route
// (FHIR, STOW-RS) or a console page.
type row struct {
	roles []auth.Role // who passes the role table (who is shown the page)
	// req builds the Connect request for a scenario's patient.
	req func(p patients, sc scenario) proto.Message
	// http builds the HTTP request of a route for a scenario's patient.
	http func(p patients, sc scenario) (method, path, body string)
	// page is the argument of a console page's fragment (#/name/arg) for
	// a scenario's patient.
	page func(p patients, sc scenario) string
	// patient: the answer depends on the access to the scenario's
	// patient (otherwise the role alone decides).
	patient bool
	// names a record of the scenario's patient: a scoped role (vigilance,
	// physicist) naming a site-B record is refused by the interceptor.
	namesRecord bool
	// siteOnly: a code or break the glass is not a basis (making codes).
	siteOnly bool
	// ok is the answer once access is granted ("ok", or the validation
	// error of a request built to stop right after the access checks).
	ok string
	// denied is the answer to a role not in roles (default
	// permission_denied).
	denied string
}

func id(p patients, sc scenario) string { return p.ids[sc] }

func noArg(patients, scenario) string { return "" }

func matrixRows() map[string]row {
	const (
		I = auth.RoleIngest
		C = auth.RoleClinician
		V = auth.RoleVigilance
		R = auth.RoleRegionalVigilance
		P = auth.RolePhysicist
		A = auth.RoleAdmin
	)
	since := timestamppb.New(time.Now().Add(-time.Hour))
	return map[string]row{
		vigiev1connect.IdentityServiceResolveRecordProcedure: {roles: []auth.Role{I, V, R}, ok: "ok",
			req: func(patients, scenario) proto.Message {
				return &v1.ResolveRecordRequest{Record: &v1.SourceRecord{Authority: siteA, LocalId: "M1"}}
			}},
		vigiev1connect.IdentityServiceGetIdentityProcedure: {roles: []auth.Role{C, V, R}, patient: true, ok: "ok",
			req: func(p patients, sc scenario) proto.Message { return &v1.GetIdentityRequest{IdentityId: id(p, sc)} }},
		vigiev1connect.IdentityServiceSearchIdentitiesProcedure: {roles: []auth.Role{C, V, R}, ok: "ok",
			req: func(patients, scenario) proto.Message {
				return &v1.SearchIdentitiesRequest{Traits: &v1.SearchTraits{Name: "MATRICE"}}
			}},
		vigiev1connect.IdentityServiceListReviewsProcedure: {roles: []auth.Role{V, R}, ok: "ok",
			req: func(patients, scenario) proto.Message { return &v1.ListReviewsRequest{} }},
		vigiev1connect.IdentityServiceDecideReviewProcedure: {roles: []auth.Role{V, R}, ok: "not_found",
			req: func(patients, scenario) proto.Message {
				return &v1.DecideReviewRequest{ReviewId: "999999", Reason: "r", Outcome: v1.ReviewOutcome_REVIEW_OUTCOME_LINK}
			}},
		vigiev1connect.IdentityServiceLinkProcedure: {roles: []auth.Role{V, R}, patient: true, ok: "invalid_argument",
			req: func(p patients, sc scenario) proto.Message {
				return &v1.LinkRequest{Record: p.recs[scSite], TargetIdentityId: id(p, sc)}
			}},
		vigiev1connect.IdentityServiceUnlinkProcedure: {roles: []auth.Role{V, R}, patient: true, namesRecord: true, ok: "invalid_argument",
			req: func(p patients, sc scenario) proto.Message { return &v1.UnlinkRequest{Record: p.recs[sc]} }},
		vigiev1connect.IdentityServiceMergeProcedure: {roles: []auth.Role{V, R}, patient: true, ok: "invalid_argument",
			req: func(p patients, sc scenario) proto.Message {
				return &v1.MergeRequest{SurvivorIdentityId: id(p, scSite), MergedIdentityId: id(p, sc)}
			}},
		vigiev1connect.IdentityServiceUnmergeProcedure: {roles: []auth.Role{V, R}, ok: "not_found",
			req: func(patients, scenario) proto.Message { return &v1.UnmergeRequest{MergeEventId: "999999"} }},
		vigiev1connect.IdentityServiceMarkDistinctProcedure: {roles: []auth.Role{V, R}, patient: true, ok: "invalid_argument",
			req: func(p patients, sc scenario) proto.Message {
				return &v1.MarkDistinctRequest{FirstIdentityId: id(p, sc), SecondIdentityId: id(p, sc)}
			}},
		vigiev1connect.IdentityServiceSetAttributesProcedure: {roles: []auth.Role{V, R}, patient: true, ok: "invalid_argument",
			req: func(p patients, sc scenario) proto.Message { return &v1.SetAttributesRequest{IdentityId: id(p, sc)} }},

		vigiev1connect.DoseServiceGetDoseHistoryProcedure: {roles: []auth.Role{C, V, R, P}, patient: true, ok: "ok",
			req: func(p patients, sc scenario) proto.Message { return &v1.GetDoseHistoryRequest{IdentityId: id(p, sc)} }},
		vigiev1connect.DoseServiceListExamsProcedure: {roles: []auth.Role{C, V, R, P}, patient: true, namesRecord: true, ok: "ok",
			req: func(p patients, sc scenario) proto.Message { return &v1.ListExamsRequest{Record: p.recs[sc]} }},
		vigiev1connect.DoseServiceListAlertsProcedure: {roles: []auth.Role{V, R, P}, ok: "ok",
			req: func(patients, scenario) proto.Message { return &v1.ListAlertsRequest{} }},
		vigiev1connect.DoseServiceAcknowledgeAlertProcedure: {roles: []auth.Role{V, R, P}, ok: "not_found",
			req: func(patients, scenario) proto.Message {
				return &v1.AcknowledgeAlertRequest{AlertId: "nope", Comment: "vu"}
			}},
		vigiev1connect.DoseServiceDeclarePregnancyProcedure: {roles: []auth.Role{C, V, R, P}, patient: true, ok: "invalid_argument", // the start date
			req: func(p patients, sc scenario) proto.Message {
				return &v1.DeclarePregnancyRequest{IdentityId: id(p, sc), StartDate: "bientôt", Reason: "matrice"}
			}},
		vigiev1connect.DoseServiceEvaluateNrdProcedure: {roles: []auth.Role{P}, ok: "ok",
			req: func(patients, scenario) proto.Message {
				return &v1.EvaluateNrdRequest{Site: siteA, Since: "2024-01-01", Until: "2024-12-31"}
			}},
		vigiev1connect.DoseServiceExportNrdSurveyProcedure: {roles: []auth.Role{P}, ok: "invalid_argument", // unknown exam type
			req: func(patients, scenario) proto.Message {
				return &v1.ExportNrdSurveyRequest{Site: siteA, Device: "d", ExamType: "t", Since: "2024-01-01", Until: "2024-12-31"}
			}},

		vigiev1connect.IngestServiceSubmitDicomProcedure: {roles: []auth.Role{I}, ok: "invalid_argument",
			req: func(patients, scenario) proto.Message { return &v1.SubmitDicomRequest{Filename: "x.dcm"} }},
		vigiev1connect.IngestServiceSubmitDicomStreamProcedure: {roles: []auth.Role{I}, ok: "ok",
			req: func(patients, scenario) proto.Message { return nil }},

		vigiev1connect.AdminServiceCreateApiKeyProcedure: {roles: []auth.Role{A}, ok: "invalid_argument",
			req: func(patients, scenario) proto.Message { return &v1.CreateApiKeyRequest{Role: "clinician"} }},
		vigiev1connect.AdminServiceListApiKeysProcedure: {roles: []auth.Role{A}, ok: "ok",
			req: func(patients, scenario) proto.Message { return &v1.ListApiKeysRequest{} }},
		vigiev1connect.AdminServiceRevokeApiKeyProcedure: {roles: []auth.Role{A}, ok: "not_found",
			req: func(patients, scenario) proto.Message { return &v1.RevokeApiKeyRequest{Id: "0000000000000000"} }},
		vigiev1connect.AdminServiceQueryAuditProcedure: {roles: []auth.Role{A, V, R}, ok: "ok",
			req: func(p patients, sc scenario) proto.Message { return &v1.QueryAuditRequest{Principal: "dr-a"} }},
		vigiev1connect.AdminServiceVerifyAuditProcedure: {roles: []auth.Role{A}, ok: "ok",
			req: func(patients, scenario) proto.Message { return &v1.VerifyAuditRequest{} }},
		vigiev1connect.AdminServiceApproveApiKeyProcedure: {roles: []auth.Role{A, V, R}, ok: "not_found",
			req: func(patients, scenario) proto.Message { return &v1.ApproveApiKeyRequest{Id: "0000000000000000"} }},
		// The site registry: admin only (the other roles read the names
		// inside the answers). The calls change nothing: a site without a
		// name, and an authority nobody registered.
		vigiev1connect.AdminServiceListSitesProcedure: {roles: []auth.Role{A}, ok: "ok",
			req: func(patients, scenario) proto.Message { return &v1.ListSitesRequest{} }},
		vigiev1connect.AdminServiceAddSiteProcedure: {roles: []auth.Role{A}, ok: "invalid_argument",
			req: func(patients, scenario) proto.Message { return &v1.AddSiteRequest{Site: &v1.Site{Authority: siteA}} }},
		vigiev1connect.AdminServiceRenameSiteProcedure: {roles: []auth.Role{A}, ok: "not_found",
			req: func(patients, scenario) proto.Message {
				return &v1.RenameSiteRequest{Authority: "1.2.250.1.71.4.2.7.999", Name: "Nulle part"}
			}},
		vigiev1connect.AdminServiceRemoveSiteProcedure: {roles: []auth.Role{A}, ok: "not_found",
			req: func(patients, scenario) proto.Message {
				return &v1.RemoveSiteRequest{Authority: "1.2.250.1.71.4.2.7.999"}
			}},

		vigiev1connect.AccessServiceCreateAccessCodeProcedure: {roles: []auth.Role{C, V, R}, patient: true, siteOnly: true, ok: "ok",
			req: func(p patients, sc scenario) proto.Message { return &v1.CreateAccessCodeRequest{IdentityId: id(p, sc)} }},
		// Revoking would spend the codes of the code scenario: a patient
		// of no scenario stands in (the answer is the same as for none).
		vigiev1connect.AccessServiceRevokeAccessCodesProcedure: {roles: []auth.Role{C, V, R}, patient: true, siteOnly: true, ok: "ok",
			req: func(p patients, sc scenario) proto.Message {
				if sc == scCode || sc == scNone || sc == scGlass {
					return &v1.RevokeAccessCodesRequest{IdentityId: p.ids["other-b"]}
				}
				return &v1.RevokeAccessCodesRequest{IdentityId: id(p, sc)}
			}},
		vigiev1connect.AccessServiceListBreakGlassProcedure: {roles: []auth.Role{V, R, A}, ok: "ok",
			req: func(patients, scenario) proto.Message { return &v1.ListBreakGlassRequest{Since: since} }},

		vigiev1connect.SessionServiceWhoAmIProcedure: {roles: []auth.Role{I, C, V, R, P, A}, ok: "ok",
			req: func(patients, scenario) proto.Message { return &v1.WhoAmIRequest{} }},

		// STOW-RS, the role table's HTTP route: a body that is not a
		// multipart of DICOM files stops right after the checks.
		auth.STOWProcedure: {roles: []auth.Role{I}, ok: "unsupported_media_type",
			http: func(patients, scenario) (string, string, string) { return "POST", rpc.STOWPath, "{}" }},

		auth.STOWProcedure + "/{study}": {roles: []auth.Role{I}, ok: "unsupported_media_type",
			http: func(patients, scenario) (string, string, string) { return "POST", rpc.STOWPath + "/1.2.3", "{}" }},

		// The online backup, the whole store (encrypted when vigie serve
		// has a backup key): administrators only, as operators of the
		// service.
		admin.BackupPath: {roles: []auth.Role{A}, ok: "ok",
			http: func(patients, scenario) (string, string, string) { return "GET", admin.BackupPath, "" }},

		// The server's other routes carry no patient data: health,
		// readiness, the sign-in's configuration, the console's page, gRPC
		// health and reflection (the schema) answer every caller; the
		// metrics only their own token, never an API key.
		"GET /healthz": {roles: []auth.Role{I, C, V, R, P, A}, ok: "ok",
			http: func(patients, scenario) (string, string, string) { return "GET", "/healthz", "" }},
		"GET /readyz": {roles: []auth.Role{I, C, V, R, P, A}, ok: "ok",
			http: func(patients, scenario) (string, string, string) { return "GET", "/readyz", "" }},
		"/auth/": {roles: []auth.Role{I, C, V, R, P, A}, ok: "ok",
			http: func(patients, scenario) (string, string, string) { return "GET", auth.SignInConfigPath, "" }},
		"/": {roles: []auth.Role{I, C, V, R, P, A}, ok: "ok",
			http: func(patients, scenario) (string, string, string) { return "GET", "/", "" }},
		"GET /metrics": {denied: "unauthenticated",
			http: func(patients, scenario) (string, string, string) { return "GET", "/metrics", "" }},
		"/grpc.health.v1.Health/": {roles: []auth.Role{I, C, V, R, P, A}, ok: "ok",
			http: func(patients, scenario) (string, string, string) { return "POST", "/grpc.health.v1.Health/Check", "{}" }},
		// Reflection is a bidirectional stream: HTTP/2 only (the
		// test's client speaks HTTP/1.1), and no key is asked.
		"/grpc.reflection.v1.ServerReflection/": {roles: []auth.Role{I, C, V, R, P, A}, ok: "http_version_not_supported",
			http: func(patients, scenario) (string, string, string) {
				return "POST", "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "{}"
			}},
		"/grpc.reflection.v1alpha.ServerReflection/": {roles: []auth.Role{I, C, V, R, P, A}, ok: "http_version_not_supported",
			http: func(patients, scenario) (string, string, string) {
				return "POST", "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", "{}"
			}},

		// The FHIR door: the same rules as the Connect calls each mirrors.
		// The CapabilityStatement and the answer to a path not served
		// carry no patient data and answer everyone.
		"GET /fhir/metadata": {roles: []auth.Role{I, C, V, R, P, A}, ok: "ok",
			http: func(patients, scenario) (string, string, string) { return "GET", "/fhir/metadata", "" }},
		"/fhir/": {roles: []auth.Role{I, C, V, R, P, A}, ok: "not_found",
			http: func(patients, scenario) (string, string, string) { return "GET", "/fhir/Encounter", "" }},
		auth.FHIRSearchOperation: {roles: []auth.Role{C, V, R}, ok: "ok",
			http: func(patients, scenario) (string, string, string) { return "GET", "/fhir/Patient?family=MATRICE", "" }},
		auth.FHIRMatchOperation: {roles: []auth.Role{C, V, R}, ok: "ok",
			http: func(patients, scenario) (string, string, string) {
				return "POST", "/fhir/Patient/$match",
					`{"resourceType":"Patient","name":[{"family":"MATRICE","given":["ALIX"]}],"birthDate":"1971-03-04"}`
			}},
		auth.FHIRReadOperation: {roles: []auth.Role{C, V, R}, patient: true, ok: "ok",
			http: func(p patients, sc scenario) (string, string, string) { return "GET", "/fhir/Patient/" + id(p, sc), "" }},
		// The dose summaries read what the dose history reads.
		auth.FHIRDoseOperation: {roles: []auth.Role{C, V, R, P}, patient: true, ok: "ok",
			http: func(p patients, sc scenario) (string, string, string) {
				return "GET", "/fhir/Observation?patient=" + id(p, sc), ""
			}},
		// One summary by its id (an exam's first dose object): the role
		// table decides first; an id no exam holds is then "not found".
		"GET /fhir/Observation/{id}": {roles: []auth.Role{C, V, R, P}, ok: "not_found",
			http: func(patients, scenario) (string, string, string) {
				return "GET", "/fhir/Observation/1.2.826.0.1.3680043.2.1143.999", ""
			}},
		// PIXm names the patient by a source record: a site-B record for
		// vigilance of site A is a record it does not know.
		auth.FHIRPIXOperation: {roles: []auth.Role{C, V, R}, patient: true, ok: "ok",
			http: func(p patients, sc scenario) (string, string, string) {
				k := p.recs[sc]
				return "GET", "/fhir/Patient/$ihe-pix?sourceIdentifier=" + url.QueryEscape("urn:oid:"+k.GetAuthority()+"|"+k.GetLocalId()), ""
			}},

		// The console's pages, as a user sees them: shown with the
		// patient, the form asking for a basis, "not found", or not
		// offered at all (see pageOutcome).
		"#/recherche":      {roles: []auth.Role{C, V, R}, ok: "ok", page: noArg},
		"#/revue":          {roles: []auth.Role{V, R}, ok: "ok", page: noArg},
		"#/analyse":        {roles: []auth.Role{V, R, P}, ok: "ok", page: noArg},
		"#/administration": {roles: []auth.Role{A}, ok: "ok", page: noArg},
		"#/identite":       {roles: []auth.Role{C, V, R}, patient: true, ok: "ok", page: id},
		"#/dose":           {roles: []auth.Role{C, V, R, P}, patient: true, ok: "ok", page: id},
	}
}

// expected is the answer of one cell, by the rules of "Roles and access".
func expected(r row, role auth.Role, sc scenario) string {
	allowed := false
	for _, x := range r.roles {
		allowed = allowed || x == role
	}
	if !allowed && r.denied != "" {
		return r.denied
	}
	if !allowed {
		return "permission_denied"
	}
	if !r.patient {
		return r.ok
	}
	outOfSite := sc == scNone || sc == scCode || sc == scGlass
	switch role {
	case auth.RoleRegionalVigilance:
		return r.ok // every identity, hidden ones included
	case auth.RoleVigilance, auth.RolePhysicist:
		switch {
		case outOfSite && r.namesRecord:
			return "permission_denied" // the request names another site's record
		case outOfSite:
			return "not_found" // not even known to exist
		case sc == scHidden && role == auth.RolePhysicist:
			return "not_found"
		}
		return r.ok
	case auth.RoleClinician:
		switch {
		case sc == scHidden:
			return "not_found" // invisible, even breaking the glass
		case sc == scSite:
			return r.ok
		case sc == scNone, r.siteOnly:
			return "permission_denied"
		}
		return r.ok // code or break the glass
	}
	return "permission_denied"
}

// pageOutcome is what a user sees of a console page when the API answers
// expected: a page of a procedure the role may not call is not offered
// ("absent"); a clinician without a basis is asked for one ("basis").
func pageOutcome(r row, role auth.Role, expected string) string {
	switch {
	case expected == "permission_denied" && !slices.Contains(r.roles, role):
		return "absent"
	case expected == "permission_denied":
		return "basis"
	}
	return expected
}

// matrixServer is the whole server as `vigie serve` mounts it: the
// Connect services, STOW-RS, the FHIR door and the console, over an
// in-memory store, with one key per role.
type matrixServer struct {
	url    string
	client *http.Client
	tokens map[string]string
	api    *rpc.Server
	trail  *audit.Log
	fhir   *fhir.Server
	follow func()
}

func newMatrixServer(t *testing.T) *matrixServer {
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
	sx, err := search.Open("", ix.Model(), search.Options{Population: func() int { return max(ix.Count(), 10000) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sx.Close() })
	trail, err := audit.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	keys := auth.NewKeys(db)
	m := &matrixServer{tokens: map[string]string{}, trail: trail, fhir: &fhir.Server{Index: ix, Search: sx}}
	m.follow = func() {
		if _, err := sx.CatchUp(context.Background(), ix); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []struct {
		name string
		role auth.Role
		auth []string
	}{
		{"pacs-a", auth.RoleIngest, []string{siteA}},
		{"pacs-b", auth.RoleIngest, []string{siteB}},
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
		m.tokens[k.name] = secret
	}
	m.api = &rpc.Server{Index: ix, Search: sx, Ledger: ledger.Open(db), Alerts: dosimetry.OpenAlerts(db), Keys: keys, Trail: trail,
		NoLimits: true, Console: web.Handler(), Doors: map[string]rpc.Door{fhir.Path: m.fhir}}
	m.fhir.Ledger = m.api.Ledger // the dose summaries' routes exist only with a ledger
	// vigie serve mounts the online backup beside the server's routes
	// (cmd/vigie/serve.go).
	mux := http.NewServeMux()
	mux.Handle("/", m.api.Handler())
	mux.Handle(admin.BackupPath, &admin.Backup{DB: db, Authenticator: keys, Trail: trail, Key: make([]byte, 32)}) // sent encrypted only
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	m.url, m.client = srv.URL, srv.Client()
	return m
}

func TestAuthorizationMatrix(t *testing.T) {
	m := newMatrixServer(t)
	ctx := t.Context()
	pats := patients{ids: map[scenario]string{}, recs: map[scenario]*v1.SourceKey{}}
	resolve := func(who, site, local, name, first, birth string) string {
		r, err := vigiev1connect.NewIdentityServiceClient(m.client, m.url, connect.WithInterceptors(bearer(m.tokens[who]))).
			ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: &v1.SourceRecord{Authority: site, LocalId: local,
				BirthName: name, FirstNames: first, BirthDate: birth, Sex: "F"}}))
		if err != nil {
			t.Fatal(err)
		}
		return r.Msg.GetIdentityId()
	}
	pats.ids[scSite], pats.recs[scSite] = resolve("pacs-a", siteA, "MA1", "MATRICE", "ALIX", "1971-03-04"), &v1.SourceKey{Authority: siteA, LocalId: "MA1"}
	b := resolve("pacs-b", siteB, "MB1", "ZUBIRI", "OIHANA", "1985-11-23")
	for _, sc := range []scenario{scNone, scCode, scGlass} {
		pats.ids[sc], pats.recs[sc] = b, &v1.SourceKey{Authority: siteB, LocalId: "MB1"}
	}
	pats.ids[scHidden], pats.recs[scHidden] = resolve("pacs-a", siteA, "MH1", "KOWALSKA", "JOANNA", "1992-07-15"), &v1.SourceKey{Authority: siteA, LocalId: "MH1"}
	pats.ids["other-b"] = resolve("pacs-b", siteB, "MB2", "OYARZABAL", "PELLO", "1964-02-09")
	names := map[scenario]string{scSite: "MATRICE", scNone: "ZUBIRI", scCode: "ZUBIRI", scGlass: "ZUBIRI", scHidden: "KOWALSKA"}
	iv := vigiev1connect.NewIdentityServiceClient(m.client, m.url, connect.WithInterceptors(bearer(m.tokens["iv-team"])))
	if _, err := iv.SetAttributes(ctx, connect.NewRequest(&v1.SetAttributesRequest{IdentityId: pats.ids[scHidden],
		Add: []string{"OPPO"}, Reason: "opposition du patient"})); err != nil {
		t.Fatal(err)
	}
	m.follow()

	// The doors the server registers. The console's pages are those its
	// scripts register, read in the browser.
	rows := matrixRows()
	doors := map[string]string{} // door → kind
	protoregistry.GlobalFiles.RangeFilesByPackage("vigie.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := 0; i < fd.Services().Len(); i++ {
			s := fd.Services().Get(i)
			for j := 0; j < s.Methods().Len(); j++ {
				doors["/"+string(s.FullName())+"/"+string(s.Methods().Get(j).Name())] = "procedure"
			}
		}
		return true
	})
	for op := range auth.DefaultPolicy() {
		if doors[op] == "" {
			doors[op] = "role table entry"
		}
	}
	for _, route := range m.fhir.Routes() {
		doors[route] = "FHIR route"
	}
	// The server's own routes; a Connect service's prefix stands for its
	// procedures, enumerated above.
	// The one route vigie serve mounts outside rpc.Server (a hand-kept
	// line: cmd/vigie/serve.go registers it).
	doors[admin.BackupPath] = "vigie serve route"
	for _, route := range m.api.Routes() {
		if strings.HasPrefix(route, "/vigie.v1.") && strings.HasSuffix(route, "/") {
			continue
		}
		if doors[route] == "" {
			doors[route] = "server route"
		}
	}
	br := newBrowser(t)
	tabs := map[auth.Role]context.Context{}
	for role, who := range matrixRoles {
		tabs[role] = br.tab(t)
		signIn(t, tabs[role], m.url, m.tokens[who])
	}
	var pages []string
	run(t, tabs[auth.RoleAdmin], "the console's pages", chromedp.Evaluate(`Object.keys(V.state.pages)`, &pages))
	for _, p := range pages {
		doors["#/"+p] = "console page"
	}
	if n := len(doors); n < 31+1+6+6+8 {
		t.Fatalf("found %d doors: %v", n, doors)
	}
	for door, kind := range doors {
		if _, ok := rows[door]; !ok {
			t.Errorf("%s %s has no row in the authorization matrix: decide who may use it and add one", kind, door)
		}
	}
	for door := range rows {
		if doors[door] == "" {
			t.Errorf("the authorization matrix has a row for %s, which the server no longer registers", door)
		}
	}

	for door, r := range rows {
		if doors[door] == "" {
			continue
		}
		for role, who := range matrixRoles {
			for _, sc := range scenarios {
				if !r.patient && sc != scSite {
					continue // the role alone decides
				}
				want := expected(r, role, sc)
				var got string
				switch {
				case r.page != nil:
					want = pageOutcome(r, role, want)
					got = m.pageCell(t, tabs[role], door, r.page(pats, sc), sc, pats, names[sc])
				case r.http != nil:
					method, path, body := r.http(pats, sc)
					got = m.httpCell(t, who, method, path, body, sc, pats)
				default:
					got = m.connectCell(t, door, who, r.req(pats, sc), sc, pats)
				}
				if got != want {
					t.Errorf("%s × %s × %s: %s, want %s", door, role, sc, got, want)
				}
				if got == "ok" && role == auth.RoleClinician && r.patient {
					if e := m.lastEntry(t, who); !strings.HasPrefix(e.Basis, string(sc)) {
						t.Errorf("%s × clinician × %s: audit basis %q", door, sc, e.Basis)
					}
				}
			}
		}
	}
	br.checkErrors(t)
}

// basisHeaders are the headers of a scenario's basis: a fresh access code
// of the patient, or a break-the-glass reason.
func (m *matrixServer) basisHeaders(t *testing.T, sc scenario, pats patients) http.Header {
	t.Helper()
	h := http.Header{}
	switch sc {
	case scCode:
		code, _, err := m.api.Access.CreateCode(pats.ids[scCode], "iv-team", 0)
		if err != nil {
			t.Fatal(err)
		}
		h.Set(auth.AccessCodeHeader, code)
	case scGlass, scHidden:
		h.Set(auth.BreakGlassHeader, url.PathEscape(glassReason))
	}
	return h
}

const glassReason = "urgence vitale, patient inconscient aux urgences"

// connectCell calls proc as who with the scenario's headers and returns
// the answer's code ("ok" for a success).
func (m *matrixServer) connectCell(t *testing.T, proc, who string, msg proto.Message, sc scenario, pats patients) string {
	t.Helper()
	h := m.basisHeaders(t, sc, pats)
	if msg == nil { // the client stream
		stream := vigiev1connect.NewIngestServiceClient(m.client, m.url).SubmitDicomStream(t.Context())
		stream.RequestHeader().Set("Authorization", "Bearer "+m.tokens[who])
		_, err := stream.CloseAndReceive()
		if err != nil {
			return connect.CodeOf(err).String()
		}
		return "ok"
	}
	body, err := protojson.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	h.Set("Content-Type", "application/json")
	status, b := m.do(t, who, http.MethodPost, proc, bytes.NewReader(body), h)
	if status == http.StatusOK {
		return "ok"
	}
	var e struct{ Code string }
	if err := json.Unmarshal(b, &e); err != nil || e.Code == "" {
		t.Fatalf("%s as %s: HTTP %d %s", proc, who, status, b)
	}
	return e.Code
}

// httpCell sends one request of an HTTP route (FHIR, STOW-RS) as who and
// returns the answer's status as a code.
func (m *matrixServer) httpCell(t *testing.T, who, method, path, body string, sc scenario, pats patients) string {
	t.Helper()
	h := m.basisHeaders(t, sc, pats)
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
		h.Set("Content-Type", "application/json")
		if strings.HasPrefix(path, "/fhir/") {
			h.Set("Content-Type", fhir.ContentType)
		}
	}
	status, _ := m.do(t, who, method, path, rd, h)
	switch status {
	case http.StatusOK:
		return "ok"
	case http.StatusBadRequest:
		return "invalid_argument"
	case http.StatusUnauthorized:
		return "unauthenticated"
	case http.StatusForbidden:
		return "permission_denied"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case http.StatusHTTPVersionNotSupported:
		return "http_version_not_supported"
	}
	return fmt.Sprintf("HTTP %d", status)
}

func (m *matrixServer) do(t *testing.T, who, method, path string, body io.Reader, h http.Header) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, m.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	req.Header.Set("Authorization", "Bearer "+m.tokens[who])
	resp, err := m.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// pageCell opens a console page in the role's signed-in tab, with the
// scenario's basis given as the basis form keeps it (the form itself is
// TestConsoleCareRelationship's), and says what the page shows: "ok"
// (the page, with the patient's name for a patient's page), "basis" (the
// form asking for a code or a reason), "not_found" (the console's
// "Introuvable"), "absent" (the page is not offered: another page, or
// none, is shown), or the error shown.
func (m *matrixServer) pageCell(t *testing.T, tab context.Context, door, arg string, sc scenario, pats patients, name string) string {
	t.Helper()
	fragment := door
	if arg != "" {
		fragment += "/" + arg
	}
	basis := "null"
	switch sc {
	case scCode:
		code, _, err := m.api.Access.CreateCode(pats.ids[scCode], "iv-team", 0)
		if err != nil {
			t.Fatal(err)
		}
		basis = fmt.Sprintf(`{code: %q}`, code)
	case scGlass, scHidden:
		basis = fmt.Sprintf(`{reason: %q}`, glassReason)
	}
	var seen struct {
		Hash, Heading, Alert, Text string
		Basis                      bool
	}
	run(t, tab, door+" "+string(sc),
		chromedp.Evaluate(fmt.Sprintf(`V.state.basis = {}; if (%[1]s) V.state.basis[%[2]q] = %[1]s;
			history.replaceState(null, '', %[3]q); V.route();`, basis, arg, fragment), nil),
		waitJS(`document.body.dataset.ready || !document.getElementById('alert').hidden`),
		chromedp.Evaluate(`({hash: location.hash, heading: (document.querySelector('#page h1') || {}).textContent || '',
			alert: document.getElementById('alert').hidden ? '' : document.getElementById('alert').textContent,
			text: document.getElementById('page').innerText, basis: !!document.getElementById('basis')})`, &seen))
	switch {
	case !strings.HasPrefix(seen.Hash, door) || seen.Heading == "Jeton d'alimentation" || seen.Heading == "Aucune page":
		return "absent"
	case seen.Basis:
		if strings.Contains(strings.ToUpper(seen.Text), name) {
			return "basis, with the patient's name"
		}
		return "basis"
	case strings.HasPrefix(seen.Alert, "Introuvable"):
		if strings.Contains(strings.ToUpper(seen.Text), name) {
			return "not_found, with the patient's name"
		}
		return "not_found"
	case seen.Alert != "":
		return "alert: " + seen.Alert
	case arg != "" && !strings.Contains(strings.ToUpper(seen.Text), name):
		return "shown without the patient's name"
	}
	return "ok"
}

// lastEntry is the newest audit entry of a principal.
func (m *matrixServer) lastEntry(t *testing.T, who string) audit.Entry {
	t.Helper()
	entries, err := m.trail.ByUser(who, 1)
	if err != nil || len(entries) == 0 {
		t.Fatalf("audit of %s: %v %v", who, entries, err)
	}
	return entries[0]
}
