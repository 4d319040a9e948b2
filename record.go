package vigie

// Record is one source record's identity traits as a site sent them. Only
// Authority and LocalID are required; every other trait is optional. Every
// door (Connect, CSV, DICOM, HL7, FHIR) turns what it reads into a Record,
// and the matcher, the index and the search read nothing else.
type Record struct {
	Authority string `json:"authority,omitempty"` // assigning authority of LocalID (an OID)
	LocalID   string `json:"local_id,omitempty"`  // the site's patient number (IPP)

	INS    string `json:"ins,omitempty"`     // national identifier (NIR or NIA), 15 characters
	INSOID string `json:"ins_oid,omitempty"` // OID of the INS's assigning authority
	Status string `json:"status,omitempty"`  // PROV, RECUP, VALI or QUAL

	BirthName  string `json:"birth_name,omitempty"`  // nom de naissance
	UsedName   string `json:"used_name,omitempty"`   // nom d'usage (often a spouse's name)
	FirstNames string `json:"first_names,omitempty"` // the list of birth first names, space-separated
	FirstName  string `json:"first_name,omitempty"`  // first first name, or the first name in use
	BirthDate  string `json:"birth_date,omitempty"`  // ISO YYYY-MM-DD, or partial (YYYY-MM, YYYY, 00 parts)
	Sex        string `json:"sex,omitempty"`         // M, F or U (also 1/2, H)
	BirthPlace string `json:"birth_place,omitempty"` // INSEE COG commune code (33063, 2A004) or 99xxx country

	PostalCode string `json:"postal_code,omitempty"`
	City       string `json:"city,omitempty"`
	Address    string `json:"address,omitempty"`
	Phone      string `json:"phone,omitempty"`
	// Email is an e-mail address (HL7 PID-13 with use code NET, FHIR
	// telecom system email, the CSV's email column), stored lower-case. It
	// is often a parent's or a spouse's: evidence that two records are
	// connected, like the phone, not that they are one person.
	Email string `json:"email,omitempty"`

	Attributes []string `json:"attributes,omitempty"` // identity attributes such as DOUT, FICT, ANOM
}

// Key returns the record's source key.
func (r *Record) Key() SourceKey { return SourceKey{Authority: r.Authority, LocalID: r.LocalID} }

// Identity statuses of the French national identity-vigilance reference
// (RNIV). QUAL and VALI identities were checked against a high-trust document.
const (
	StatusPROV  = "PROV"  // provisional
	StatusRECUP = "RECUP" // retrieved from the national INSi service, not checked
	StatusVALI  = "VALI"  // checked against an identity document
	StatusQUAL  = "QUAL"  // retrieved and checked: the INS may be shared
)
