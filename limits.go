package vigie

// The bounds Vigie puts on what it is sent, in one table: every door (the
// API, the identity CSV import, DICOM files, HL7 v2) checks
// the same numbers, and the README's "Limits" section lists them (a test
// keeps the two in step). A value over its bound is refused with an
// EINVALID error naming the field and the bound, before anything is
// stored: an oversized value is a bug or an attack, never a patient, and
// letting it in would make every later search, comparison and answer pay
// for it.
//
// Text bounds count characters (Unicode code points after the record's
// text is cleaned and put in NFC, see matcher.Clean), so that JOSÉ costs
// the same whether sent composed or not; identifiers and request sizes
// count bytes, since they are keys and buffers.
const (
	// MaxNameChars bounds a birth name, a used name and a first name: the
	// French national identity rules (RNIV, INS traits) allow 100
	// characters.
	MaxNameChars = 100
	// MaxFirstNamesChars bounds the list of birth first names. The INS
	// list holds 100 characters; feeds write it with commas or double
	// spaces, hence the margin.
	MaxFirstNamesChars = 200
	// MaxKeyBytes bounds an assigning authority and a local id: they are
	// parts of store keys.
	MaxKeyBytes = 256
	// MaxINSChars bounds an INS as sent (15 digits or 13 and a key,
	// possibly spaced: 1 84 05 75 123 456 78).
	MaxINSChars = 32
	// MaxOIDChars bounds the OID of the INS's authority (an OID is at most
	// 64 characters in HL7 and DICOM).
	MaxOIDChars = 64
	// MaxCodeChars bounds the short coded traits: status, sex, birth
	// place, postal code, birth date as written, and each identity
	// attribute.
	MaxCodeChars = 32
	// MaxPhoneChars bounds a phone number as written.
	MaxPhoneChars = 32
	// MaxEmailChars bounds an e-mail address: 254 is the longest address
	// SMTP carries (RFC 5321's 256-character path less its brackets).
	MaxEmailChars = 254
	// MaxCityChars bounds a city name.
	MaxCityChars = 100
	// MaxAddressChars bounds an address line.
	MaxAddressChars = 250
	// MaxAttributes bounds how many identity attributes one record or one
	// change carries (there are about ten codes).
	MaxAttributes = 16
	// MaxReasonChars bounds the reason of a correction, kept in the
	// identity's history.
	MaxReasonChars = 1000

	// MaxRequestBytes bounds a request message of the identity, dose,
	// admin and session services: the largest legitimate one, a record
	// with every trait at its bound, is under 8 KiB even in four-byte
	// characters.
	MaxRequestBytes = 64 << 10
	// MaxDicomBytes bounds one submitted DICOM file (SubmitDicom, STOW-RS):
	// dose reports are small, but header-only images carry pixel data.
	MaxDicomBytes = 64 << 20
	// MaxCSVLineBytes bounds a line of an identity CSV, and a record whose
	// quoted fields span lines: a row holding every trait at its bound is
	// under 3 KiB.
	MaxCSVLineBytes = 64 << 10
	// MaxHL7MessageBytes bounds one HL7 v2 message received over MLLP: an
	// identity message with every segment PAM-FR defines is a few
	// kilobytes.
	MaxHL7MessageBytes = 1 << 20
	// MaxDICOMInstanceBytes bounds one instance received by C-STORE. It is
	// written to a temporary file as it arrives, never held in memory, so
	// the bound is the temporary folder's, not the heap's: a multi-frame
	// image with dose in its header may be large, and the associations
	// served at once (32) times this bound is the most the folder holds.
	MaxDICOMInstanceBytes = 2 << 30
)

// Limit describes one bound for the table of limits.
type Limit struct {
	Field string // the field or request named in the refusal
	Max   int
	Unit  string // "characters", "bytes" or "entries"
	Door  string // where it is checked
}

// Limits is the table of every bound above, in the order the README lists
// them.
var Limits = []Limit{
	{"birth_name, used_name, first_name", MaxNameChars, "characters", "every record (API, CSV, DICOM)"},
	{"first_names", MaxFirstNamesChars, "characters", "every record"},
	{"authority, local_id", MaxKeyBytes, "bytes", "every record"},
	{"ins", MaxINSChars, "characters", "every record"},
	{"ins_oid", MaxOIDChars, "characters", "every record"},
	{"status, sex, birth_date, birth_place, postal_code, attributes (each)", MaxCodeChars, "characters", "every record"},
	{"phone", MaxPhoneChars, "characters", "every record"},
	{"email", MaxEmailChars, "characters", "every record"},
	{"city", MaxCityChars, "characters", "every record"},
	{"address", MaxAddressChars, "characters", "every record"},
	{"attributes", MaxAttributes, "entries", "every record, SetAttributes (add, remove)"},
	{"reason", MaxReasonChars, "characters", "corrections (merge, unmerge, move, mark distinct, attributes)"},
	{"request", MaxRequestBytes, "bytes", "every API call but DICOM submissions"},
	{"file", MaxDicomBytes, "bytes", "SubmitDicom, SubmitDicomStream, STOW-RS"},
	{"row (CSV)", MaxCSVLineBytes, "bytes", "identity CSV: a line, or a row whose quoted fields span lines"},
	{"message (HL7)", MaxHL7MessageBytes, "bytes", "HL7 v2 over MLLP: one message"},
	{"instance (C-STORE)", MaxDICOMInstanceBytes, "bytes", "DICOM C-STORE: one instance (in a temporary file, not in memory)"},
}
