package rpc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/timestamppb"

	"vigie/audit"
	"vigie/auth"
	v1 "vigie/rpc/gen/vigie/v1"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
)

// The authorization matrix (issue 30): every procedure of the vigie.v1
// services × every role × the patient scenarios below. The procedures are
// read from the service descriptors, so that a new procedure without a
// row fails the test; the expected answer of each cell is derived from
// the rules of the README's "Roles and access", written here apart from
// the code that enforces them.

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

// row says how to call one procedure and what it answers.
type row struct {
	roles []auth.Role // who passes the role table
	// req builds the request for a scenario's patient.
	req func(p patients, sc scenario) proto.Message
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
}

func id(p patients, sc scenario) string { return p.ids[sc] }

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
	}
}

// expected is the answer of one cell, by the rules of "Roles and access".
func expected(r row, role auth.Role, sc scenario) string {
	allowed := false
	for _, x := range r.roles {
		allowed = allowed || x == role
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

func TestAuthorizationMatrix(t *testing.T) {
	f := newServerFixture(t)
	ctx := t.Context()
	pats := patients{ids: map[scenario]string{}, recs: map[scenario]*v1.SourceKey{}}
	resolve := func(who, site, local, name, first, birth string) string {
		r, err := f.identity(who).ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: rec(site, local, name, first, birth)}))
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
	if _, err := f.identity("iv-team").SetAttributes(ctx, connect.NewRequest(&v1.SetAttributesRequest{IdentityId: pats.ids[scHidden],
		Add: []string{"OPPO"}, Reason: "opposition du patient"})); err != nil {
		t.Fatal(err)
	}
	f.follow()

	rows := matrixRows()
	var procs []string
	protoregistry.GlobalFiles.RangeFilesByPackage("vigie.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := 0; i < fd.Services().Len(); i++ {
			s := fd.Services().Get(i)
			for j := 0; j < s.Methods().Len(); j++ {
				procs = append(procs, "/"+string(s.FullName())+"/"+string(s.Methods().Get(j).Name()))
			}
		}
		return true
	})
	if len(procs) < 31 {
		t.Fatalf("found %d procedures in the descriptors", len(procs))
	}
	for _, proc := range procs {
		r, ok := rows[proc]
		if !ok {
			t.Errorf("%s has no row in the authorization matrix: decide who may call it and add one", proc)
			continue
		}
		for role, who := range matrixRoles {
			for _, sc := range scenarios {
				if !r.patient && sc != scSite {
					continue // the role alone decides
				}
				got := f.matrixCall(t, proc, who, r.req(pats, sc), sc, pats)
				if want := expected(r, role, sc); got != want {
					t.Errorf("%s × %s × %s: %s, want %s", proc, role, sc, got, want)
				}
				if got == "ok" && role == auth.RoleClinician && r.patient {
					if e := f.lastEntry(t, who); !strings.HasPrefix(e.Basis, string(sc)) {
						t.Errorf("%s × clinician × %s: audit basis %q", proc, sc, e.Basis)
					}
				}
			}
		}
	}
}

// matrixCall calls proc as who with the scenario's headers and returns the
// answer's code ("ok" for a success).
func (f *serverFixture) matrixCall(t *testing.T, proc, who string, msg proto.Message, sc scenario, pats patients) string {
	t.Helper()
	h := http.Header{}
	h.Set("Authorization", "Bearer "+f.tokens[who])
	switch sc {
	case scCode:
		code, _, err := f.api.Access.CreateCode(pats.ids[scCode], "iv-team", 0)
		if err != nil {
			t.Fatal(err)
		}
		h.Set(auth.AccessCodeHeader, code)
	case scGlass, scHidden:
		h.Set(auth.BreakGlassHeader, url.PathEscape("urgence vitale, patient inconscient aux urgences"))
	}
	if msg == nil { // the client stream
		stream := f.ingest(who).SubmitDicomStream(t.Context())
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
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, f.url+proc, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		return "ok"
	}
	var e struct{ Code string }
	if err := json.Unmarshal(b, &e); err != nil || e.Code == "" {
		t.Fatalf("%s as %s: HTTP %d %s", proc, who, resp.StatusCode, b)
	}
	return e.Code
}

// lastEntry is the newest audit entry of a principal.
func (f *serverFixture) lastEntry(t *testing.T, who string) audit.Entry {
	t.Helper()
	entries, err := f.trail.ByUser(who, 1)
	if err != nil || len(entries) == 0 {
		t.Fatalf("audit of %s: %v %v", who, entries, err)
	}
	return entries[0]
}
