package fhir

import (
	"net/http"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// The IHE profiles Vigie's FHIR door implements (CapabilityStatement
// instantiates).
const (
	PDQmSupplier = "https://profiles.ihe.net/ITI/PDQm/CapabilityStatement/IHE.PDQm.Supplier"
	PIXmManager  = "https://profiles.ihe.net/ITI/PIXm/CapabilityStatement/IHE.PIXm.Manager"
)

// capabilities is the CapabilityStatement of GET /fhir/metadata; dose
// adds the dose summaries (Observation).
func capabilities(dose bool) fm.CapabilityStatement {
	str := fm.SearchParamTypeString
	search := func(name string, typ fm.SearchParamType, doc string) fm.CapabilityStatementRestResourceSearchParam {
		return fm.CapabilityStatementRestResourceSearchParam{Name: name, Type: typ, Documentation: ptr(doc)}
	}
	c := fm.CapabilityStatement{
		Status: fm.PublicationStatusActive, Date: "2026-12-07", Kind: fm.CapabilityStatementKindInstance,
		Name: ptr("Vigie"), Title: ptr("Vigie, index patient régional"),
		Instantiates:   []string{PDQmSupplier, PIXmManager},
		Software:       &fm.CapabilityStatementSoftware{Name: "Vigie"},
		Implementation: &fm.CapabilityStatementImplementation{Description: "Vigie regional patient index: PDQm (ITI-78, ITI-119) and PIXm (ITI-83)"},
		FhirVersion:    fm.FHIRVersion4_0_1, Format: []string{ContentType, "json"},
		Rest: []fm.CapabilityStatementRest{{
			Mode: fm.RestfulCapabilityModeServer,
			Security: &fm.CapabilityStatementRestSecurity{Description: ptr("Authorization: Bearer <Vigie API key or OpenID Connect token>; roles clinician, vigilance, regional_vigilance. " +
				"A clinician without a record of the patient at its sites gives X-Access-Code or X-Break-Glass.")},
			Resource: []fm.CapabilityStatementRestResource{{
				Type: fm.ResourceTypePatient, Profile: ptr(ProfilePatient), SupportedProfile: []string{ProfilePatientINS},
				Interaction: []fm.CapabilityStatementRestResourceInteraction{{Code: fm.TypeRestfulInteractionRead}, {Code: fm.TypeRestfulInteractionSearchType}},
				SearchParam: []fm.CapabilityStatementRestResourceSearchParam{
					search("family", str, "birth name or used name, matched with accents, spelling and phonetic variants"),
					search("given", str, "first names"),
					search("birthdate", fm.SearchParamTypeDate, "YYYY-MM-DD or YYYY, equality only"),
					search("gender", fm.SearchParamTypeToken, "male, female, other, unknown"),
					search("identifier", fm.SearchParamTypeToken, "urn:oid:<assigning authority>|<local id>, or urn:oid:1.2.250.1.213.1.4.8|<INS>"),
					search("address-postalcode", str, "postal code"),
				},
				Operation: []fm.CapabilityStatementRestResourceOperation{
					{Name: "match", Definition: "http://hl7.org/fhir/OperationDefinition/Patient-match"},
					{Name: "ihe-pix", Definition: "https://profiles.ihe.net/ITI/PIXm/OperationDefinition/IHE.PIXm.pix"},
				},
			}},
		}},
	}
	if dose {
		c.Rest[0].Resource = append(c.Rest[0].Resource, fm.CapabilityStatementRestResource{
			Type: fm.ResourceTypeObservation, SupportedProfile: []string{ProfileDoseSummary},
			Documentation: ptr("the dose summary of each exam (HL7 Radiation Dose Summary for Diagnostic Procedures IG); roles clinician, vigilance, regional_vigilance, physicist"),
			Interaction:   []fm.CapabilityStatementRestResourceInteraction{{Code: fm.TypeRestfulInteractionRead}, {Code: fm.TypeRestfulInteractionSearchType}},
			SearchParam: []fm.CapabilityStatementRestResourceSearchParam{
				search("patient", fm.SearchParamTypeReference, "the patient's Vigie identity id, or Patient/<id> (required)"),
				search("subject", fm.SearchParamTypeReference, "the same as patient"),
				search("code", fm.SearchParamTypeToken, "http://loinc.org|73569-6, or 73569-6"),
			},
		})
	}
	return c
}

// metadata answers GET /fhir/metadata.
func (h *handler) metadata(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, capabilities(h.Ledger != nil))
}
