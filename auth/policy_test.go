package auth

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	v1 "vigie/rpc/gen/vigie/v1"
	c "vigie/rpc/gen/vigie/v1/vigiev1connect"
)

// TestDefaultPolicyCoversEveryProcedure: each procedure of the generated
// services is in the table with at least one role, admin reads no patient
// data, and the table names no procedure that does not exist.
func TestDefaultPolicyCoversEveryProcedure(t *testing.T) {
	pol := DefaultPolicy()
	var procs []string
	for _, fd := range []protoreflect.FileDescriptor{v1.File_vigie_v1_identity_proto, v1.File_vigie_v1_dose_proto, v1.File_vigie_v1_ingest_proto, v1.File_vigie_v1_admin_proto, v1.File_vigie_v1_session_proto, v1.File_vigie_v1_access_proto} {
		for i := 0; i < fd.Services().Len(); i++ {
			s := fd.Services().Get(i)
			for j := 0; j < s.Methods().Len(); j++ {
				procs = append(procs, "/"+string(s.FullName())+"/"+string(s.Methods().Get(j).Name()))
			}
		}
	}
	// 29 (AccessService and ApproveApiKey included), the site
	// registry's four (AdminService ListSites, AddSite, RenameSite,
	// RemoveSite) and DoseService.DeclarePregnancy.
	if len(procs) != 34 {
		t.Errorf("found %d procedures, want 34", len(procs))
	}
	for _, p := range procs {
		if len(pol[p]) == 0 {
			t.Errorf("%s is in no role", p)
		}
		if isAdmin := strings.HasPrefix(p, "/vigie.v1.AdminService/") || strings.HasPrefix(p, "/vigie.v1.SessionService/") ||
			p == "/vigie.v1.AccessService/ListBreakGlass"; pol.Allows(p, RoleAdmin) != isAdmin {
			t.Errorf("admin may call %s: %v, want %v (admin reads no patient data)", p, !isAdmin, isAdmin)
		}
	}
	// The plain HTTP doors: STOW-RS and the FHIR operations, which read
	// patients as SearchIdentities and GetIdentity do.
	http := []string{STOWProcedure, FHIRSearchOperation, FHIRReadOperation, FHIRMatchOperation, FHIRPIXOperation, FHIRDoseOperation}
	if !slices.Equal(pol[FHIRDoseOperation], pol["/vigie.v1.DoseService/GetDoseHistory"]) {
		t.Errorf("%s is open to %v, GetDoseHistory to %v: the FHIR dose summaries read what the dose history reads", FHIRDoseOperation, pol[FHIRDoseOperation], pol["/vigie.v1.DoseService/GetDoseHistory"])
	}
	for _, p := range http[1 : len(http)-1] {
		if !slices.Equal(pol[p], pol["/vigie.v1.IdentityService/GetIdentity"]) {
			t.Errorf("%s is open to %v, GetIdentity to %v: the FHIR doors read what GetIdentity reads", p, pol[p], pol["/vigie.v1.IdentityService/GetIdentity"])
		}
	}
	for p := range pol {
		if !slices.Contains(procs, p) && !slices.Contains(http, p) {
			t.Errorf("policy names unknown procedure %s", p)
		}
	}
}

func TestDefaultPolicy(t *testing.T) {
	pol := DefaultPolicy()
	tests := []struct {
		proc string
		role Role
		want bool
	}{
		{c.IdentityServiceResolveRecordProcedure, RoleIngest, true},
		{c.IdentityServiceResolveRecordProcedure, RoleClinician, false},
		{c.IdentityServiceGetIdentityProcedure, RoleClinician, true},
		{c.IdentityServiceGetIdentityProcedure, RoleIngest, false},
		{c.IdentityServiceGetIdentityProcedure, RolePhysicist, false},
		{c.IdentityServiceSearchIdentitiesProcedure, RoleVigilance, true},
		{c.IdentityServiceMergeProcedure, RoleVigilance, true},
		{c.IdentityServiceMergeProcedure, RoleClinician, false},
		{c.IdentityServiceDecideReviewProcedure, RoleClinician, false},
		{c.IdentityServiceSetAttributesProcedure, RoleVigilance, true},
		{c.DoseServiceGetDoseHistoryProcedure, RoleClinician, true},
		{c.DoseServiceGetDoseHistoryProcedure, RoleIngest, false},
		{c.DoseServiceEvaluateNrdProcedure, RolePhysicist, true},
		{c.DoseServiceEvaluateNrdProcedure, RoleClinician, false},
		{c.DoseServiceAcknowledgeAlertProcedure, RolePhysicist, true},
		{c.IngestServiceSubmitDicomProcedure, RoleIngest, true},
		{c.IngestServiceSubmitDicomStreamProcedure, RoleVigilance, false},
		{STOWProcedure, RoleIngest, true},
		{STOWProcedure, RoleClinician, false},
		{c.AdminServiceCreateApiKeyProcedure, RoleAdmin, true},
		{c.AdminServiceCreateApiKeyProcedure, RoleVigilance, false},
		{c.AdminServiceQueryAuditProcedure, RoleVigilance, true},
		{c.AdminServiceQueryAuditProcedure, RoleClinician, false},
		{"/vigie.v1.IdentityService/NoSuchThing", RoleVigilance, false},
		{"/grpc.health.v1.Health/Check", RoleAdmin, false},
	}
	for _, tt := range tests {
		if got := pol.Allows(tt.proc, tt.role); got != tt.want {
			t.Errorf("Allows(%s, %s) = %v, want %v", tt.proc, tt.role, got, tt.want)
		}
	}
}

func TestForeignAuthority(t *testing.T) {
	ingest := &Principal{Name: "pacs", Role: RoleIngest, Authorities: []string{"1.2.3"}}
	phys := &Principal{Name: "phys", Role: RolePhysicist, Authorities: []string{"1.2.3"}}
	vig := &Principal{Name: "iv", Role: RoleRegionalVigilance}
	tests := []struct {
		name string
		p    *Principal
		msg  proto.Message
		want string
	}{
		{"own record", ingest, &v1.ResolveRecordRequest{Record: &v1.SourceRecord{Authority: "1.2.3", LocalId: "1"}}, ""},
		{"foreign record", ingest, &v1.ResolveRecordRequest{Record: &v1.SourceRecord{Authority: "9.9", LocalId: "1"}}, "9.9"},
		{"foreign default authority", ingest, &v1.SubmitDicomRequest{DefaultAuthority: "9.8"}, "9.8"},
		{"empty default authority", ingest, &v1.SubmitDicomRequest{}, ""},
		{"foreign key in a list", phys, &v1.SearchIdentitiesRequest{LocalIds: []*v1.SourceKey{{Authority: "1.2.3", LocalId: "a"}, {Authority: "7.7", LocalId: "b"}}}, "7.7"},
		{"foreign record of ListExams", phys, &v1.ListExamsRequest{Record: &v1.SourceKey{Authority: "7.6", LocalId: "b"}}, "7.6"},
		{"unscoped role", vig, &v1.ResolveRecordRequest{Record: &v1.SourceRecord{Authority: "9.9"}}, ""},
		{"nil message", ingest, nil, ""},
	}
	for _, tt := range tests {
		if got := foreignAuthority(tt.p, tt.msg); got != tt.want {
			t.Errorf("%s: foreignAuthority = %q, want %q", tt.name, got, tt.want)
		}
	}
}
