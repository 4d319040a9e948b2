package fhir

import (
	"slices"
	"strings"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"vigie"
	"vigie/matcher"
)

// The systems and profiles of FR Core (Interop'Santé) and HL7 that a
// Patient uses.
const (
	ProfilePatient    = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient"
	ProfilePatientINS = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient-ins"
	// ExtIdentityReliability carries the identity's status (RNIV:
	// PROV, RECUP, VALI, QUAL) in its identityStatus sub-extension.
	ExtIdentityReliability = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability"
	SystemIdentityStatus   = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0445"
	// SystemFRIdentifierType codes the INS identifiers (INS-NIR, INS-NIA).
	SystemFRIdentifierType = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"
	// SystemIdentifierType codes the local identifiers (PI: the IPP).
	SystemIdentifierType = "http://terminology.hl7.org/CodeSystem/v2-0203"
	// ExtBirthPlace and ExtINSEECode carry the birthplace's INSEE code.
	ExtBirthPlace = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"
	ExtINSEECode  = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-address-insee-code"
	// ExtMatchGrade is the grade of a $match candidate.
	ExtMatchGrade = "http://hl7.org/fhir/StructureDefinition/match-grade"
	// SystemObservationValue codes REDACTED, on a Patient shown in part
	// to a caller without a basis to read the patient.
	SystemObservationValue = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
)

// statusQualified is the identity status under which the INS may be
// shared (identity-vigilance rules: retrieved from INSi and checked
// against a high-trust document).
const statusQualified = "QUAL"

// OIDSystem is the FHIR identifier system of an assigning authority.
func OIDSystem(oid string) string { return "urn:oid:" + oid }

// isINSOID reports whether oid names an INS authority.
func isINSOID(oid string) bool {
	switch oid {
	case matcher.OIDINSNIR, matcher.OIDINSNIA, matcher.OIDINSNIRTest, matcher.OIDINSNIRDemo:
		return true
	}
	return false
}

// localIdentifier is a source record's identifier: the IPP under its
// authority's OID.
func localIdentifier(k vigie.SourceKey) fm.Identifier {
	return fm.Identifier{Use: ptr(fm.IdentifierUseUsual),
		Type:   &fm.CodeableConcept{Coding: []fm.Coding{{System: ptr(SystemIdentifierType), Code: ptr("PI")}}},
		System: ptr(OIDSystem(k.Authority)), Value: ptr(k.LocalID)}
}

// insIdentifier is a qualified INS, or false when r has none to share.
func insIdentifier(r *vigie.Record) (fm.Identifier, bool) {
	if r.INS == "" || r.Status != statusQualified {
		return fm.Identifier{}, false
	}
	oid := r.INSOID
	if oid == "" {
		oid = matcher.OIDINSNIR
	}
	typ := "INS-NIR"
	if oid == matcher.OIDINSNIA {
		typ = "INS-NIA"
	}
	return fm.Identifier{Use: ptr(fm.IdentifierUseOfficial),
		Type:   &fm.CodeableConcept{Coding: []fm.Coding{{System: ptr(SystemFRIdentifierType), Code: ptr(typ)}}},
		System: ptr(OIDSystem(oid)), Value: ptr(r.INS)}, true
}

// patient is the FR Core-shaped Patient of an identity: its golden record's
// traits, and the identifiers of its member records (records, parallel to
// keys; a record not read is given by its key alone).
func patient(id vigie.IdentityID, golden *vigie.Record, keys []vigie.SourceKey, records []vigie.Record) fm.Patient {
	p := fm.Patient{Id: ptr(id.String()), Active: ptr(true), Meta: &fm.Meta{Profile: []string{ProfilePatient}}}
	seenINS := map[string]bool{}
	addINS := func(r *vigie.Record) {
		if ins, ok := insIdentifier(r); ok && !seenINS[*ins.System+"|"+r.INS] {
			seenINS[*ins.System+"|"+r.INS] = true
			p.Identifier = append(p.Identifier, ins)
		}
	}
	for i, k := range keys {
		p.Identifier = append(p.Identifier, localIdentifier(k))
		if i < len(records) {
			addINS(&records[i])
		}
	}
	if len(records) == 0 {
		addINS(golden)
	}
	if len(seenINS) > 0 {
		p.Meta.Profile = append(p.Meta.Profile, ProfilePatientINS)
	}
	if golden.Status != "" {
		p.Extension = append(p.Extension, fm.Extension{Url: ExtIdentityReliability, Extension: []fm.Extension{{
			Url: "identityStatus", ValueCoding: &fm.Coding{System: ptr(SystemIdentityStatus), Code: ptr(golden.Status)}}}})
	}
	if golden.BirthPlace != "" {
		p.Extension = append(p.Extension, fm.Extension{Url: ExtBirthPlace, ValueAddress: &fm.Address{
			Extension: []fm.Extension{{Url: ExtINSEECode, ValueCoding: &fm.Coding{Code: ptr(golden.BirthPlace)}}}}})
	}
	p.Name = names(golden)
	p.Gender = gender(golden.Sex)
	p.BirthDate = birthDate(golden.BirthDate)
	if golden.Phone != "" {
		p.Telecom = append(p.Telecom, fm.ContactPoint{System: ptr(fm.ContactPointSystemPhone), Value: ptr(golden.Phone)})
	}
	if golden.Email != "" {
		p.Telecom = append(p.Telecom, fm.ContactPoint{System: ptr(fm.ContactPointSystemEmail), Value: ptr(golden.Email)})
	}
	if golden.Address != "" || golden.PostalCode != "" || golden.City != "" {
		a := fm.Address{}
		if golden.Address != "" {
			a.Line = []string{golden.Address}
		}
		if golden.PostalCode != "" {
			a.PostalCode = ptr(golden.PostalCode)
		}
		if golden.City != "" {
			a.City = ptr(golden.City)
		}
		p.Address = []fm.Address{a}
	}
	return p
}

// restricted is what a caller without a basis sees of a candidate, as the
// Connect search shows it: names, sex and birth year, marked REDACTED; no
// identifier, birth date, address, phone, e-mail or INS.
func restricted(id string, golden *vigie.Record) fm.Patient {
	p := fm.Patient{Id: ptr(id), Meta: &fm.Meta{Profile: []string{ProfilePatient},
		Security: []fm.Coding{{System: ptr(SystemObservationValue), Code: ptr("REDACTED"), Display: ptr("redacted")}}}}
	p.Name = names(&vigie.Record{BirthName: golden.BirthName, UsedName: golden.UsedName, FirstNames: golden.FirstNames, FirstName: golden.FirstName})
	p.Gender = gender(golden.Sex)
	if len(golden.BirthDate) >= 4 && isYear(golden.BirthDate[:4]) {
		p.BirthDate = ptr(golden.BirthDate[:4])
	}
	return p
}

func isYear(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(s) == 4
}

// names are the birth name with the birth first names (use official) and
// the name and first name in use (use usual), as FR Core has them.
func names(r *vigie.Record) []fm.HumanName {
	var out []fm.HumanName
	official := strings.Fields(r.FirstNames)
	if len(official) == 0 && r.FirstName != "" {
		official = []string{r.FirstName}
	}
	if r.BirthName != "" || len(official) > 0 {
		n := fm.HumanName{Use: ptr(fm.NameUseOfficial), Given: official}
		if r.BirthName != "" {
			n.Family = ptr(r.BirthName)
		}
		out = append(out, n)
	}
	if r.UsedName != "" || r.FirstName != "" && r.UsedName != r.BirthName {
		n := fm.HumanName{Use: ptr(fm.NameUseUsual)}
		if r.UsedName != "" {
			n.Family = ptr(r.UsedName)
		}
		if r.FirstName != "" {
			n.Given = []string{r.FirstName}
		}
		if r.UsedName != "" || !slices.Equal(n.Given, official[:min(1, len(official))]) {
			out = append(out, n)
		}
	}
	return out
}

func gender(sex string) *fm.AdministrativeGender {
	switch strings.ToUpper(sex) {
	case "M":
		return ptr(fm.AdministrativeGenderMale)
	case "F":
		return ptr(fm.AdministrativeGenderFemale)
	case "U":
		return ptr(fm.AdministrativeGenderUnknown)
	}
	return nil
}

// birthDate is a stored birth date as a FHIR date, nil when it is not a
// calendar date (kept as sent, never shown as if it were one).
func birthDate(s string) *string {
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return nil
	}
	return &s
}
