package hl7

import (
	"math"
	"strconv"
	"strings"
	"time"

	"vigie"
	"vigie/dosimetry"
	"vigie/mpi"
)

// Dose reports: for each exam (a source record's study) whose dose figures
// changed, Vigie sends the subscribed systems (a RIS or a HIS that writes
// the exam report) an HL7 v2.5 ORU^R01 carrying the study's dose summary
// (dosimetry.Summary):
//
//	MSH  ORU^R01^ORU_R01, MSH-10 the report's control id
//	PID  PID-3: the patient's IPP of the subscriber's establishment first
//	     (Subscriber.Authority) when the patient index knows it, the
//	     regional identifier, the other IPPs and the INS; the traits of
//	     the golden record as in the identity notifications
//	OBR  OBR-3 and OBR-18 the accession number, OBR-4 LOINC 73569-6
//	     (radiation exposure and protection information), OBR-7 the
//	     exam's date and time, OBR-22 when the report was made, OBR-25 F
//	     (final) for the first report of the exam, C (corrected) after
//	OBX  one per identifier and figure, OBX-11 as OBR-25:
//	     110180^Study Instance UID^DCM (ST), 121022^Accession Number^DCM;
//	     the dose indicators (NM, OBX-3 their DICOM code, scheme DCM, as
//	     in the dose SR templates and the Radiation Dose Summary FHIR IG;
//	     OBX-6 their UCUM unit): 113830 mean CTDIvol (the study's
//	     maximum, mGy), 113813 DLP total (mGy.cm), 113722 DAP total
//	     (mGy.cm2), 113725 dose at the reference point (mGy), 113730
//	     fluoroscopy time (s), 111637 average glandular dose (mGy),
//	     113507 administered activity (MBq); 113839 the effective-dose
//	     estimate (mSv) with its method in OBX-17;
//	     the second-level estimates (dosimetry.DoseEstimate), each with
//	     its method in OBX-17 (a DICOM code where one exists, its French
//	     text in CWE-9): 113930 SSDE (NM, mGy; method 113988 or 113937,
//	     DCM); the dose to the uterus / foetus and the peak skin dose,
//	     ranges (SN "^low^-^high", or "<=^high" when only the high
//	     bound is known; mGy) coded in Vigie's local system
//	     99VIGIE (foetal-dose, peak-skin-dose: DICOM has no summary code
//	     for them); 113518 organ dose (NM, mGy) and, with the same OBX-4
//	     sub-ID, 363698007^Finding site^SCT (CWE, the organ's French name
//	     as text); an estimate not made has an empty OBX-5, OBX-11 X and
//	     its reason in an NTE after it;
//	     then a TX block, OBX-3 73569-6^...^LN, one repetition per line:
//	     the French text for the exam report (Summary.Text).

// QueueDose is Pending.Queue of a dose report.
const QueueDose = "dose"

// Kind of a dose report in Pending.Kind and the audit trail.
const KindDoseReport = "ORU^R01"

// LOINC 73569-6: Radiation exposure and protection information
// [Description] Document Diagnostic imaging; the code of the Radiation
// Dose Summary IG's Observation.
const (
	LOINCDoseSummary = "73569-6"
	loincDoseName    = "Radiation exposure and protection information"
)

// DoseReport is what BuildDoseReport needs besides the summary.
type DoseReport struct {
	Summary *dosimetry.Summary
	// Identity is the patient's identity (nil: the record is not in the
	// patient index; PID-3 then carries the exam's own IPP only).
	Identity *mpi.Snapshot
	// TraitsHidden leaves the traits out of PID (identifiers only): the
	// identity is hidden (CACH) or the patient objects to the sharing of
	// their data (OPPO), and the report goes back to the exam's own site.
	TraitsHidden bool
	// Corrected says the exam was reported before: OBR-25 and OBX-11 C.
	Corrected bool
}

// BuildDoseReport writes r as an HL7 v2.5 ORU^R01 (ER7, UTF-8) for the
// subscriber s; control is MSH-10.
func BuildDoseReport(r DoseReport, s Subscriber, control string, now time.Time) []byte {
	d := outDelims
	e := d.Encode
	sum := r.Summary
	ts := now.UTC().Format("20060102150405")
	join := func(sep byte, parts ...string) string {
		return strings.TrimRight(strings.Join(parts, string(sep)), string(sep))
	}
	hd := func(ns, oid string) string { return join('&', e(ns), e(oid), "ISO") }
	status := "F"
	if r.Corrected {
		status = "C"
	}
	examTS := strings.ReplaceAll(sum.Date, "-", "") + strings.ReplaceAll(sum.Time, ":", "")
	lines := []string{
		strings.Join([]string{"MSH", "^~\\&", "VIGIE", join('^', "VIGIE", e(s.RegionalOID), "ISO"),
			e(s.Name), e(s.Name), ts, "", "ORU^R01^ORU_R01", e(control), "P", "2.5", "", "", "", "", "FRA", "UNICODE UTF-8"}, "|"),
	}
	// PID
	if r.Identity != nil {
		id := r.Identity
		regional := join('^', id.ID.String(), "", "", hd("VIGIE", s.RegionalOID), "PI")
		snap := *id
		if r.TraitsHidden {
			snap.Golden = vigie.Record{}
		}
		lines = append(lines, pidSegmentFirst(snap, regional, hd, s.Authority))
	} else {
		lines = append(lines, "PID|1||"+join('^', e(sum.Key.LocalID), "", "", hd("", sum.Key.Authority), "PI"))
	}
	// OBR
	obr := make([]string, 26)
	obr[0], obr[1] = "OBR", "1"
	obr[3] = e(sum.Accession)
	obr[4] = join('^', LOINCDoseSummary, loincDoseName, "LN")
	obr[7] = examTS
	obr[18] = e(sum.Accession)
	obr[22] = ts
	obr[25] = status
	lines = append(lines, strings.Join(obr, "|"))
	n := 0
	obxSub := func(typ, code, sub, value, units, st, method string) {
		n++
		f := make([]string, 18)
		f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[11], f[14], f[17] = "OBX", strconv.Itoa(n), typ, code, sub, value, units, st, examTS, method
		lines = append(lines, strings.TrimRight(strings.Join(f, "|"), "|"))
	}
	obx := func(typ, code, value, units, method string) { obxSub(typ, code, "", value, units, status, method) }
	if sum.StudyUID != "" {
		obx("ST", "110180^Study Instance UID^DCM", e(sum.StudyUID), "", "")
	}
	if sum.Accession != "" {
		obx("ST", "121022^Accession Number^DCM", e(sum.Accession), "", "")
	}
	figure := func(f dosimetry.Figure, method string) {
		obx("NM", join('^', f.Code, e(f.Name), "DCM"), nmValue(f.Value), join('^', e(f.Unit), e(f.Unit), "UCUM"), method)
	}
	for _, f := range sum.Figures {
		figure(f, "")
	}
	if sum.Estimate != nil {
		figure(*sum.Estimate, join('^', "", e(sum.EstimateMethod)))
	}
	organs := 0
	for _, d := range sum.Estimates {
		code := join('^', d.Code, e(d.Name), d.Scheme)
		units := join('^', e(d.Unit), e(d.Unit), "UCUM")
		sub := ""
		if d.Kind == dosimetry.EstimateOrgan {
			organs++
			sub = strconv.Itoa(organs)
		}
		if !d.Estimated() {
			obxSub("NM", code, sub, "", units, "X", "")
			lines = append(lines, "NTE|1||"+e("non estimée : "+d.NotEstimated))
			continue
		}
		typ, value := "NM", nmValue(d.Value)
		switch {
		case d.Range && d.Low > 0:
			typ, value = "SN", join('^', "", nmValue(d.Low), "-", nmValue(d.Value))
		case d.Range: // only the high bound is known
			typ, value = "SN", join('^', "<=", nmValue(d.Value))
		}
		method := join('^', "", "", "", "", "", "", "", "", e(d.Method))
		if d.MethodCode != "" {
			method = join('^', d.MethodCode, e(d.MethodName), "DCM", "", "", "", "", "", e(d.Method))
		}
		obxSub(typ, code, sub, value, units, status, method)
		if d.Site != "" {
			obxSub("CWE", "363698007^Finding site^SCT", sub, join('^', "", e(d.Site)), "", status, "")
		}
	}
	text := sum.Text()
	for i := range text {
		text[i] = e(text[i])
	}
	obx("TX", join('^', LOINCDoseSummary, loincDoseName, "LN"), strings.Join(text, "~"), "", "")
	return []byte(strings.Join(lines, "\r") + "\r")
}

// nmValue writes a figure as an HL7 NM: a dot, at most four decimals.
func nmValue(v float64) string {
	return strconv.FormatFloat(math.Round(v*1e4)/1e4, 'f', -1, 64)
}
