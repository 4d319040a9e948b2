package auth

import (
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	c "vigie/rpc/gen/vigie/v1/vigiev1connect"
)

// Policy is the per-procedure role table: which roles may call which
// procedure (a Connect procedure path such as
// /vigie.v1.IdentityService/GetIdentity). A procedure missing from the
// table is refused to every role: a new procedure is closed until someone
// decides who may call it.
type Policy map[string][]Role

// Allows reports whether role may call procedure.
func (p Policy) Allows(procedure string, role Role) bool {
	return slices.Contains(p[procedure], role)
}

// The FHIR operations (package fhir) in the Policy and the audit trail:
// the same roles as the Connect calls they mirror (SearchIdentities,
// GetIdentity); the cross-references of PIXm name every site a patient
// went to, patient data as GetIdentity's sources are.
const (
	FHIRSearchOperation = "GET /fhir/Patient"          // ITI-78 PDQm search
	FHIRReadOperation   = "GET /fhir/Patient/{id}"     // ITI-78 PDQm read
	FHIRMatchOperation  = "POST /fhir/Patient/$match"  // ITI-119 PDQm match
	FHIRPIXOperation    = "GET /fhir/Patient/$ihe-pix" // ITI-83 PIXm query
	// FHIRDoseOperation reads the exams' dose summaries (Radiation Dose
	// Summary IG): the roles of GetDoseHistory.
	FHIRDoseOperation = "GET /fhir/Observation"
)

// DefaultPolicy is the table of the roles (README, "Roles and access"):
//
//   - ingest submits records and DICOM files of its sites;
//   - clinician searches and reads identities and dose histories, of the
//     patients it has a basis for (site, access code, break the glass),
//     and makes access codes of the patients of its sites;
//   - vigilance does all identity operations on the identities holding a
//     record of its sites, and regional_vigilance on every identity;
//     both approve keys and list the break-the-glass accesses;
//   - physicist reads dose data, runs alerts and NRD surveys of its sites;
//   - admin manages keys, sites and reads the audit trail (AdminService),
//     and reads no patient data; vigilance may query the audit trail too
//     (site vigilance the entries about its sites' identities and records:
//     the handler filters);
//   - every role may ask who it is (SessionService.WhoAmI). The sites'
//     names reach every role inside the answers (dose pages, restricted
//     search results), not through the registry itself.
//
// Row-level restrictions (a clinician's basis, vigilance's sites, hidden
// identities, a physicist's sites, an ingest key's authorities inside a
// DICOM file) are the handlers' business (rpc/access.go); authorities
// named in a request are checked by the Interceptor.
func DefaultPolicy() Policy {
	const (
		I = RoleIngest
		C = RoleClinician
		V = RoleVigilance
		P = RolePhysicist
		A = RoleAdmin
		R = RoleRegionalVigilance
	)
	return Policy{
		c.IdentityServiceResolveRecordProcedure:    {I, V, R},
		c.IdentityServiceGetIdentityProcedure:      {C, V, R},
		c.IdentityServiceSearchIdentitiesProcedure: {C, V, R},
		c.IdentityServiceListReviewsProcedure:      {V, R},
		c.IdentityServiceDecideReviewProcedure:     {V, R},
		c.IdentityServiceLinkProcedure:             {V, R},
		c.IdentityServiceUnlinkProcedure:           {V, R},
		c.IdentityServiceMergeProcedure:            {V, R},
		c.IdentityServiceUnmergeProcedure:          {V, R},
		c.IdentityServiceMarkDistinctProcedure:     {V, R},
		c.IdentityServiceSetAttributesProcedure:    {V, R},

		c.DoseServiceGetDoseHistoryProcedure:   {C, V, R, P},
		c.DoseServiceListExamsProcedure:        {C, V, R, P},
		c.DoseServiceListAlertsProcedure:       {V, R, P},
		c.DoseServiceAcknowledgeAlertProcedure: {V, R, P},
		c.DoseServiceEvaluateNrdProcedure:      {P},
		c.DoseServiceExportNrdSurveyProcedure:  {P},
		c.DoseServiceDeclarePregnancyProcedure: {C, V, R, P},

		c.IngestServiceSubmitDicomProcedure:       {I},
		c.IngestServiceSubmitDicomStreamProcedure: {I},
		STOWProcedure: {I},

		FHIRSearchOperation: {C, V, R},
		FHIRReadOperation:   {C, V, R},
		FHIRMatchOperation:  {C, V, R},
		FHIRPIXOperation:    {C, V, R},
		FHIRDoseOperation:   {C, V, R, P},

		c.AdminServiceCreateApiKeyProcedure: {A},
		c.AdminServiceListApiKeysProcedure:  {A},
		c.AdminServiceRevokeApiKeyProcedure: {A},
		c.AdminServiceQueryAuditProcedure:   {A, V, R},
		c.AdminServiceVerifyAuditProcedure:  {A},
		c.AdminServiceListSitesProcedure:    {A},
		c.AdminServiceAddSiteProcedure:      {A},
		c.AdminServiceRenameSiteProcedure:   {A},
		c.AdminServiceRemoveSiteProcedure:   {A},

		c.AdminServiceApproveApiKeyProcedure: {A, V, R},

		c.AccessServiceCreateAccessCodeProcedure:  {C, V, R},
		c.AccessServiceRevokeAccessCodesProcedure: {C, V, R},
		c.AccessServiceListBreakGlassProcedure:    {V, R, A},

		c.SessionServiceWhoAmIProcedure: {I, C, V, R, P, A},
	}
}

// foreignAuthority returns the first assigning authority named in a
// vigie.v1 message that the principal may not act for, or "" when there is
// none. Authorities are named by the authority field of SourceKey and
// SourceRecord messages and by string fields called authority or ending in
// _authority (default_authority).
func foreignAuthority(p *Principal, m proto.Message) string {
	if m == nil || !p.Role.Scoped() {
		return ""
	}
	return walkAuthorities(p, m.ProtoReflect(), 0)
}

func walkAuthorities(p *Principal, m protoreflect.Message, depth int) string {
	if depth > 16 || !m.IsValid() || m.Descriptor().FullName().Parent() != "vigie.v1" {
		return ""
	}
	var bad string
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		name := string(fd.Name())
		switch {
		case fd.Kind() == protoreflect.StringKind && !fd.IsList() && !fd.IsMap() &&
			(name == "authority" || strings.HasSuffix(name, "_authority")):
			if a := v.String(); a != "" && !p.MayActFor(a) {
				bad = a
			}
		case fd.Kind() == protoreflect.MessageKind && fd.IsList():
			l := v.List()
			for i := 0; i < l.Len() && bad == ""; i++ {
				bad = walkAuthorities(p, l.Get(i).Message(), depth+1)
			}
		case fd.Kind() == protoreflect.MessageKind && !fd.IsMap():
			bad = walkAuthorities(p, v.Message(), depth+1)
		}
		return bad == ""
	})
	return bad
}
