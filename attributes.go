package vigie

import "slices"

// Identity attributes (HL7 table 0445, French extension, as the RNIV uses
// them), plus OPPO. They are set on a record by its site or on an identity
// by identity-vigilance staff, and change how it may be matched and shown.
const (
	AttrDoubtful      = "DOUT" // identité douteuse
	AttrFictitious    = "FICT" // identité fictive
	AttrHomonymDoubt  = "HOMD" // homonyme détecté
	AttrHomonymAttest = "HOMA" // homonyme avéré: never linked automatically
	AttrPotentialDupl = "DPOT" // doublon potentiel
	AttrAttestedDupl  = "DOUA" // doublon avéré
	AttrPotentialColl = "COLP" // collision potentielle
	AttrAttestedColl  = "COLV" // collision avérée
	AttrHidden        = "CACH" // identité cachée (confidential)
	AttrAnonymous     = "ANOM" // identité anonyme
	AttrUsurpation    = "USUR" // usurpation suspectée
	AttrInvalid       = "INVA" // identité invalide
	AttrDeactivated   = "DESA" // identité désactivée
	AttrObjection     = "OPPO" // the patient objects to the sharing of their data (no code in the table)
)

// Attributes are every identity attribute the index accepts, in the order
// they are listed to people.
var Attributes = []string{
	AttrDoubtful, AttrFictitious, AttrHomonymDoubt, AttrHomonymAttest,
	AttrPotentialDupl, AttrAttestedDupl, AttrPotentialColl, AttrAttestedColl,
	AttrHidden, AttrAnonymous, AttrUsurpation, AttrInvalid, AttrDeactivated,
	AttrObjection,
}

// HiddenAttributes keep an identity out of clinical search and reads: the
// identity is confidential (CACH) or the patient objects (OPPO).
var HiddenAttributes = []string{AttrHidden, AttrObjection}

// Hidden reports whether attrs hold an attribute that hides the identity.
func Hidden(attrs []string) bool {
	for _, a := range attrs {
		if slices.Contains(HiddenAttributes, a) {
			return true
		}
	}
	return false
}
