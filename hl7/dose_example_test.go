package hl7_test

import (
	"fmt"
	"strings"
	"time"

	"vigie"
	"vigie/dosimetry"
	"vigie/hl7"
	"vigie/ledger"
)

// The dose report of a chest CT as the RIS receives it: its PID (the
// exam's IPP here: the record is not in a patient index), OBR, an OBX per
// figure, the size-specific dose estimate (the scanner reported a
// water-equivalent diameter of 28 cm) and the French text block.
func ExampleBuildDoseReport() {
	q := func(v float64, d ledger.Dimension) *ledger.Quantity {
		return &ledger.Quantity{Value: v, Unit: string(d), Raw: v, RawUnit: string(d)}
	}
	exam := ledger.Exam{SOPInstanceUID: "1.2.3.4", StudyUID: "1.2.3", Accession: "ACC42", Date: "2026-03-02", Time: "09:15:00",
		Modality: "CT", Procedure: "Scanner thoracique", Device: ledger.Device{Manufacturer: "ACME", Model: "CT9"},
		Source: ledger.SourceRDSR, Domain: ledger.DomainCT, Key: vigie.SourceKey{Authority: "1.2.250.1.999.101", LocalID: "IPP7"},
		CT: &ledger.CTDose{DLPTotal: q(400, ledger.DimDLP), Events: []ledger.CTEvent{{UID: "e1", CTDIvol: q(8, ledger.DimDose), DLP: q(400, ledger.DimDLP),
			Phantom: ledger.Code{Value: "113691", Scheme: "DCM", Meaning: "IEC Body Dosimetry Phantom"}, WED: q(280, ledger.DimLength)}}}}
	entry := ledger.Entry{Exam: exam, Reported: exam.Totals(), Counted: exam.Totals()}
	sum, _ := dosimetry.Summarize([]ledger.Entry{entry}, nil, nil)
	msg := hl7.BuildDoseReport(hl7.DoseReport{Summary: sum}, hl7.Subscriber{Name: "RIS_A", RegionalOID: "1.2.250.1.999.1.99"},
		"VD1", time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	for seg := range strings.SplitSeq(strings.TrimSuffix(string(msg), "\r"), "\r") {
		if strings.HasPrefix(seg, "OBX") {
			seg = strings.ReplaceAll(seg, "~", "\n    ~") // the text block's lines, one per repetition
		}
		fmt.Println(seg)
	}
	// Output:
	// MSH|^~\&|VIGIE|VIGIE^1.2.250.1.999.1.99^ISO|RIS_A|RIS_A|20260302100000||ORU^R01^ORU_R01|VD1|P|2.5|||||FRA|UNICODE UTF-8
	// PID|1||IPP7^^^&1.2.250.1.999.101&ISO^PI
	// OBR|1||ACC42|73569-6^Radiation exposure and protection information^LN|||20260302091500|||||||||||ACC42||||20260302100000|||F
	// OBX|1|ST|110180^Study Instance UID^DCM||1.2.3||||||F|||20260302091500
	// OBX|2|ST|121022^Accession Number^DCM||ACC42||||||F|||20260302091500
	// OBX|3|NM|113830^Mean CTDIvol^DCM||8|mGy^mGy^UCUM|||||F|||20260302091500
	// OBX|4|NM|113813^CT Dose Length Product Total^DCM||400|mGy.cm^mGy.cm^UCUM|||||F|||20260302091500
	// OBX|5|NM|113930^Size Specific Dose Estimation^DCM||10.5996|mGy^mGy^UCUM|||||F|||20260302091500|||113988^Estimated from Water Equivalent Diameter^DCM^^^^^^diamètre équivalent eau 28 cm transmis par l'appareil, facteur 1,33 × CTDIvol 8 mGy (fantôme de 32 cm) ; source : AAPM Report No. 204.
	// OBX|6|TX|73569-6^Radiation exposure and protection information^LN||Informations dosimétriques (arrêté du 22 septembre 2006)
	//     ~Examen : Scanner thoracique
	//     ~Date : 02/03/2026
	//     ~Appareil : ACME CT9
	//     ~IDSV (CTDIvol) maximal : 8 mGy
	//     ~PDL (produit dose × longueur) total : 400 mGy.cm
	//     ~SSDE (dose estimée selon la corpulence) maximale : 10,6 mGy (diamètre équivalent eau 28 cm transmis par l'appareil, facteur 1,33 × CTDIvol 8 mGy (fantôme de 32 cm) ; source : AAPM Report No. 204.)||||||F|||20260302091500
}
