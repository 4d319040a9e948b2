package dosimetry

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"vigie"
)

// WriteIRSN writes the per-patient file of a valid survey, the file a site
// sends to IRSN for the national NRD update: CSV (RFC 4180, comma
// separator, '.' decimal point, UTF-8), one header line, then one line
// per patient in the order of Evaluation.Records. It carries no patient
// identifier: IRSN needs none, and health data leaves the site only as
// needed.
//
// Columns, in this order:
//
//	numero              1, 2, 3 … the patient's rank in the survey
//	date_examen         date of the exam, YYYY-MM-DD
//	sexe                M, F or O; empty when the patient index did not give it
//	age_ans             age in years at the exam (DICOM PatientAge; months,
//	                    weeks and days converted, two decimals at most)
//	poids_kg            weight in kg (DICOM PatientWeight); empty if unknown
//	taille_cm           height in cm (DICOM PatientSize × 100); empty if unknown
//	<indicator>_<unit>  one column per indicator of the exam type, in the
//	                    unit of the NRD table: pds_mGy.cm2 (radiography, one
//	                    projection), ctdivol_mGy and dlp_mGy.cm (the one CT
//	                    helix covering the region), agd_mGy (mean glandular
//	                    dose per view), pds_Gy.cm2, kar_mGy and fluoro_time_min
//	                    (interventional), activity_MBq and
//	                    activity_per_kg_MBq/kg (nuclear medicine)
//	fantome_cm          CT only: CTDI phantom diameter, 16 (head) or 32 (body)
//	epaisseur_sein_mm   mammography only: mean compressed breast thickness
//	radiopharmaceutique nuclear medicine only: the radiopharmaceutical, as
//	                    people write it (DICOM superscript markup removed:
//	                    "Fluorodeoxyglucose F^18^" is written
//	                    "Fluorodeoxyglucose F18")
//
// Format followed: this layout is Vigie's own. The collection format IRSN
// publishes for the NRD surveys (nrd.irsn.fr, « Transmission des
// données ») could not be consulted when it was written, so it is not
// claimed to match it column for column. What it does follow is the data
// list of decision ASN 2019-DC-0667 (per patient: sex, age, weight,
// height and the exam's dose indicator in the unit of the NRD tables:
// PDS in mGy.cm² for radiography, CTDIvol and DLP of one helix for CT,
// mean glandular dose for mammography, PDS, air kerma at the reference
// point and fluoroscopy time for interventional practices, administered
// activity for nuclear medicine). Check the site's file against IRSN's
// current template before sending it.
//
// An invalid survey is refused with an EINVALID error giving its reasons.
func WriteIRSN(w io.Writer, e *Evaluation) error {
	if e == nil {
		return vigie.Invalid("survey", "is missing")
	}
	if !e.Valid {
		label := e.Label
		if e.Class != "" {
			label += " " + e.Class
		}
		return fmt.Errorf("dosimetry: IRSN export: %w", vigie.Invalid("survey",
			"%s (%s, %s) is not a valid survey, IRSN would reject it: %s",
			label, e.Site, e.Device, strings.Join(e.Reasons, "; ")))
	}
	cols := []string{"numero", "date_examen", "sexe", "age_ans", "poids_kg", "taille_cm"}
	for _, iu := range e.Indicators {
		cols = append(cols, string(iu.Indicator)+"_"+iu.Unit)
	}
	kind := e.Kind
	switch kind {
	case KindCT:
		cols = append(cols, "fantome_cm")
	case KindMammography:
		cols = append(cols, "epaisseur_sein_mm")
	case KindNM:
		cols = append(cols, "radiopharmaceutique")
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(cols); err != nil {
		return fmt.Errorf("dosimetry: IRSN export: %w", err)
	}
	for i, r := range e.Records {
		row := []string{strconv.Itoa(i + 1), r.Date, r.Sex, num(r.AgeYears, 2), num(r.WeightKg, 1), num(r.HeightM*100, 0)}
		for _, v := range r.Values {
			row = append(row, num(v, 4))
		}
		switch kind {
		case KindCT:
			row = append(row, r.Phantom)
		case KindMammography:
			row = append(row, num(r.Thickness, 0))
		case KindNM:
			row = append(row, strings.ReplaceAll(r.Agent, "^", ""))
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("dosimetry: IRSN export: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("dosimetry: IRSN export: %w", err)
	}
	return nil
}

// num formats v rounded to at most decimals digits, empty for zero (not
// given) or NaN.
func num(v float64, decimals int) string {
	if v == 0 || math.IsNaN(v) {
		return ""
	}
	p := math.Pow(10, float64(decimals))
	return strconv.FormatFloat(math.Round(v*p)/p, 'f', -1, 64)
}
