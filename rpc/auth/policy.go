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

// DefaultPolicy is the table of the roles:
//
//   - ingest submits records and DICOM files;
//   - clinician searches and reads identities and dose histories;
//   - vigilance does all identity operations and reads everything;
//   - physicist reads dose data, runs alerts and NRD surveys of its sites;
//   - admin manages keys and reads the audit trail (AdminService), and
//     reads no patient data; vigilance may query the audit trail too;
//   - every role may ask who it is (SessionService.WhoAmI).
//
// Row-level restrictions (hidden identities for clinicians, a physicist's
// sites, an ingest key's authorities inside a DICOM file) are the handlers'
// business, with Principal.MayActFor; authorities named in a request are
// checked by the Interceptor.
func DefaultPolicy() Policy {
	const (
		I = RoleIngest
		C = RoleClinician
		V = RoleVigilance
		P = RolePhysicist
		A = RoleAdmin
	)
	return Policy{
		c.IdentityServiceResolveRecordProcedure:    {I, V},
		c.IdentityServiceGetIdentityProcedure:      {C, V},
		c.IdentityServiceSearchIdentitiesProcedure: {C, V},
		c.IdentityServiceListReviewsProcedure:      {V},
		c.IdentityServiceDecideReviewProcedure:     {V},
		c.IdentityServiceLinkProcedure:             {V},
		c.IdentityServiceUnlinkProcedure:           {V},
		c.IdentityServiceMergeProcedure:            {V},
		c.IdentityServiceUnmergeProcedure:          {V},
		c.IdentityServiceMarkDistinctProcedure:     {V},
		c.IdentityServiceSetAttributesProcedure:    {V},

		c.DoseServiceGetDoseHistoryProcedure:   {C, V, P},
		c.DoseServiceListExamsProcedure:        {C, V, P},
		c.DoseServiceListAlertsProcedure:       {V, P},
		c.DoseServiceAcknowledgeAlertProcedure: {V, P},
		c.DoseServiceEvaluateNrdProcedure:      {P},
		c.DoseServiceExportNrdSurveyProcedure:  {P},

		c.IngestServiceSubmitDicomProcedure:       {I},
		c.IngestServiceSubmitDicomStreamProcedure: {I},
		STOWProcedure: {I},

		c.AdminServiceCreateApiKeyProcedure: {A},
		c.AdminServiceListApiKeysProcedure:  {A},
		c.AdminServiceRevokeApiKeyProcedure: {A},
		c.AdminServiceQueryAuditProcedure:   {A, V},
		c.AdminServiceVerifyAuditProcedure:  {A},
		c.AdminServiceListSitesProcedure:    {A},
		c.AdminServiceAddSiteProcedure:      {A},
		c.AdminServiceRenameSiteProcedure:   {A},
		c.AdminServiceRemoveSiteProcedure:   {A},

		c.SessionServiceWhoAmIProcedure: {I, C, V, P, A},
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
