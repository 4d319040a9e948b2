package ledger

import (
	"regexp"
	"strings"
)

// Radiopharmaceuticals and radionuclides come as DICOM coded concepts
// whose meanings carry the DICOM superscript markup ("Fluorodeoxyglucose
// F^18^", "^18^Fluorine", "^99m^Technetium"). A clinician reads
// "FDG / F 18": the names below turn the meanings into that.

// nuclideSymbols maps the element names of the DICOM radionuclide context
// group (CID 18) to their chemical symbols.
var nuclideSymbols = map[string]string{
	"fluorine": "F", "technetium": "Tc", "iodine": "I", "gallium": "Ga", "indium": "In", "thallium": "Tl",
	"lutetium": "Lu", "rubidium": "Rb", "yttrium": "Y", "carbon": "C", "nitrogen": "N", "oxygen": "O",
	"xenon": "Xe", "krypton": "Kr", "radium": "Ra", "samarium": "Sm", "strontium": "Sr", "copper": "Cu",
	"zirconium": "Zr", "chromium": "Cr", "erbium": "Er", "rhenium": "Re", "holmium": "Ho", "cobalt": "Co",
	"selenium": "Se", "phosphorus": "P", "actinium": "Ac", "lead": "Pb", "bismuth": "Bi", "terbium": "Tb",
	"scandium": "Sc",
}

// pharmaAbbrev gives the name clinicians use for the radiopharmaceuticals
// whose DICOM meaning is long (CID 25 and CID 4021 meanings, lower case,
// markup removed).
var pharmaAbbrev = map[string]string{
	"fluorodeoxyglucose":      "FDG",
	"fludeoxyglucose":         "FDG",
	"sodium fluoride":         "NaF",
	"fluorocholine":           "Fluorocholine",
	"fluoroestradiol":         "FES",
	"fluorodopa":              "F-DOPA",
	"fluciclovine":            "Fluciclovine",
	"florbetapir":             "Florbetapir",
	"psma-11":                 "PSMA-11",
	"gallium psma-11":         "PSMA-11",
	"medronate":               "MDP",
	"oxidronate":              "HMDP",
	"sestamibi":               "MIBI",
	"technetium sestamibi":    "MIBI",
	"technetium tetrofosmin":  "Tétrofosmine",
	"technetium medronate":    "MDP",
	"tetrofosmin":             "Tétrofosmine",
	"macroaggregated albumin": "MAA",
	"pertechnetate":           "Pertechnétate",
	"sodium pertechnetate":    "Pertechnétate",
	"iobenguane":              "MIBG",
	"dotatate":                "DOTATATE",
	"dotatoc":                 "DOTATOC",
}

var (
	// "^18^Fluorine", "^99m^Technetium"
	nuclidePrefix = regexp.MustCompile(`^\^(\d+m?)\^\s*([A-Za-z]+)$`)
	// "F^18^", "Tc^99m^", "Tc-99m", "F-18", "F 18", "18F"
	nuclideSymbol = regexp.MustCompile(`^([A-Z][a-z]?)[\s-]?\^?(\d+m?)\^?$`)
	massFirst     = regexp.MustCompile(`^(\d+m?)[\s-]?([A-Z][a-z]?)$`)
	// "99m Technetium", "18-Fluorine" (a Siemens NM header's private code)
	massFirstName = regexp.MustCompile(`^(\d+m?)[\s-]*([A-Za-z]{3,})$`)
	// a radionuclide inside a radiopharmaceutical's meaning
	embeddedNuclide = regexp.MustCompile(`\(?\b[A-Z][a-z]?\^\d+m?\^\)?|\(?\^\d+m?\^[A-Za-z]+\)?`)
	markup          = regexp.MustCompile(`\^(\d+m?)\^`)
)

// RadionuclideName returns a radionuclide as people write it: "F 18",
// "Tc 99m". A meaning it does not recognise is returned with its markup
// removed; an empty code gives "".
func RadionuclideName(c Code) string {
	s := strings.TrimSpace(c.Meaning)
	if s == "" {
		s = strings.TrimSpace(c.Value)
	}
	if m := nuclidePrefix.FindStringSubmatch(s); m != nil {
		if sym, ok := nuclideSymbols[strings.ToLower(m[2])]; ok {
			return sym + " " + m[1]
		}
		return m[2] + " " + m[1]
	}
	if m := nuclideSymbol.FindStringSubmatch(s); m != nil {
		return m[1] + " " + m[2]
	}
	if m := massFirst.FindStringSubmatch(s); m != nil {
		return m[2] + " " + m[1]
	}
	if m := massFirstName.FindStringSubmatch(s); m != nil {
		if sym, ok := nuclideSymbols[strings.ToLower(m[2])]; ok {
			return sym + " " + m[1]
		}
	}
	return strings.TrimSpace(markup.ReplaceAllString(s, "$1"))
}

// RadiopharmaceuticalName returns a radiopharmaceutical as people write it
// ("FDG" for "Fluorodeoxyglucose F^18^"), without the radionuclide its
// meaning may end with (the history shows it beside).
func RadiopharmaceuticalName(c Code) string {
	s := strings.TrimSpace(c.Meaning)
	if s == "" {
		s = strings.TrimSpace(c.Value)
	}
	base := strings.Join(strings.Fields(embeddedNuclide.ReplaceAllString(s, " ")), " ")
	if base == "" {
		base = s
	}
	if a, ok := pharmaAbbrev[strings.ToLower(base)]; ok {
		return a
	}
	return strings.TrimSpace(markup.ReplaceAllString(base, "$1"))
}
