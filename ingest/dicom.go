package ingest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/suyashkumar/dicom/pkg/tag"

	"vigie"
	"vigie/ledger"
	"vigie/matcher"
)

// DICOMOptions tune ParseDICOM.
type DICOMOptions struct {
	// Authority is the producing site's assigning authority (an OID), used
	// for PatientID when the file names no IssuerOfPatientID.
	Authority string
}

// DoseReport is what Vigie extracts from one DICOM file: the patient as the
// producing site knows them, and the exam with its dose figures.
type DoseReport struct {
	// Patient is the source record of the producing site: Authority and
	// LocalID key it (IssuerOfPatientID or the configured site authority,
	// and PatientID).
	Patient vigie.Record `json:"patient"`
	// OtherIDs are the OtherPatientIDsSequence entries (the INS among them
	// is also in Patient.INS).
	OtherIDs []OtherID `json:"other_ids,omitempty"`
	// Exam is the exam and its dose figures, keyed by the same source record.
	Exam ledger.Exam `json:"exam"`
	// SOPClass names the object's SOP class.
	SOPClass string `json:"sop_class"`
	// Warnings are what the extractor read but could not use (an unknown
	// unit, an implausible value), for the physicist checking a new file.
	Warnings []string `json:"warnings,omitempty"`
}

// OtherID is one identifier of OtherPatientIDsSequence.
type OtherID struct {
	ID     string `json:"id"`
	Issuer string `json:"issuer,omitempty"`
}

// INS OIDs: the national health identifier (NIR, NIA) and its test
// ranges. An other-patient-id under one of them is the patient's INS.
var insOIDs = map[string]bool{
	"1.2.250.1.213.1.4.8": true, "1.2.250.1.213.1.4.9": true,
	"1.2.250.1.213.1.4.10": true, "1.2.250.1.213.1.4.11": true,
}

// SOP classes.
const (
	sopRDSR        = "1.2.840.10008.5.1.4.1.1.88.67"
	sopRRDSR       = "1.2.840.10008.5.1.4.1.1.88.68"
	sopEnhancedSR  = "1.2.840.10008.5.1.4.1.1.88.22"
	sopPatientDose = "1.2.840.10008.5.1.4.1.1.88.73"
	sopSRPrefix    = "1.2.840.10008.5.1.4.1.1.88."
)

// classNames name the SOP classes Vigie reads, and a few it refuses, in
// messages.
var classNames = map[string]string{
	"1.2.840.10008.5.1.4.1.1.1":      "CR Image",
	"1.2.840.10008.5.1.4.1.1.1.1":    "DX Image For Presentation",
	"1.2.840.10008.5.1.4.1.1.1.1.1":  "DX Image For Processing",
	"1.2.840.10008.5.1.4.1.1.1.2":    "MG Image For Presentation",
	"1.2.840.10008.5.1.4.1.1.1.2.1":  "MG Image For Processing",
	"1.2.840.10008.5.1.4.1.1.1.3":    "Intra-oral Image For Presentation",
	"1.2.840.10008.5.1.4.1.1.1.3.1":  "Intra-oral Image For Processing",
	"1.2.840.10008.5.1.4.1.1.2":      "CT Image",
	"1.2.840.10008.5.1.4.1.1.2.1":    "Enhanced CT Image",
	"1.2.840.10008.5.1.4.1.1.2.2":    "Legacy Converted Enhanced CT Image",
	"1.2.840.10008.5.1.4.1.1.7":      "Secondary Capture",
	"1.2.840.10008.5.1.4.1.1.12.1":   "XA Image",
	"1.2.840.10008.5.1.4.1.1.12.1.1": "Enhanced XA Image",
	"1.2.840.10008.5.1.4.1.1.12.2":   "RF Image",
	"1.2.840.10008.5.1.4.1.1.12.2.1": "Enhanced RF Image",
	"1.2.840.10008.5.1.4.1.1.13.1.3": "Breast Tomosynthesis Image",
	"1.2.840.10008.5.1.4.1.1.13.1.4": "Breast Projection Image For Presentation",
	"1.2.840.10008.5.1.4.1.1.13.1.5": "Breast Projection Image For Processing",
	"1.2.840.10008.5.1.4.1.1.20":     "NM Image",
	"1.2.840.10008.5.1.4.1.1.128":    "PET Image",
	"1.2.840.10008.5.1.4.1.1.130":    "Enhanced PET Image",
	"1.2.840.10008.5.1.4.1.1.128.1":  "Legacy Converted Enhanced PET Image",
	"1.2.840.10008.5.1.4.1.1.88.67":  "X-Ray Radiation Dose SR",
	"1.2.840.10008.5.1.4.1.1.88.68":  "Radiopharmaceutical Radiation Dose SR",
	"1.2.840.10008.5.1.4.1.1.88.22":  "Enhanced SR",
	"1.2.840.10008.5.1.4.1.1.88.73":  "Patient Radiation Dose SR",
	"1.2.840.10008.5.1.4.1.1.88.11":  "Basic Text SR",
	"1.2.840.10008.5.1.4.1.1.88.33":  "Comprehensive SR",
	"1.2.840.10008.5.1.4.1.1.88.34":  "Comprehensive 3D SR",
	"1.2.840.10008.5.1.4.1.1.4":      "MR Image",
	"1.2.840.10008.5.1.4.1.1.6.1":    "US Image",
	"1.2.840.10008.5.1.4.1.1.481.2":  "RT Dose",
	"1.2.840.10008.5.1.4.1.1.7.1":    "Multi-frame Single Bit Secondary Capture",
	"1.2.840.10008.5.1.4.1.1.7.2":    "Multi-frame Grayscale Byte Secondary Capture",
	"1.2.840.10008.5.1.4.1.1.7.3":    "Multi-frame Grayscale Word Secondary Capture",
	"1.2.840.10008.5.1.4.1.1.7.4":    "Multi-frame True Color Secondary Capture",
	"1.2.840.10008.5.1.4.1.1.88.3":   "Comprehensive SR Trial (retired)",
	"1.2.840.10008.5.1.4.1.1.481.1":  "RT Image",
	"1.2.840.10008.5.1.4.1.1.4.1":    "Enhanced MR Image",
	"1.2.840.10008.5.1.4.1.1.104.1":  "Encapsulated PDF",
	"1.2.840.10008.5.1.4.1.1.88.59":  "Key Object Selection",
}

// headerClasses are the image classes whose dose tags are read.
var headerClasses = map[string]bool{
	"1.2.840.10008.5.1.4.1.1.1": true, "1.2.840.10008.5.1.4.1.1.1.1": true, "1.2.840.10008.5.1.4.1.1.1.1.1": true,
	"1.2.840.10008.5.1.4.1.1.1.2": true, "1.2.840.10008.5.1.4.1.1.1.2.1": true,
	"1.2.840.10008.5.1.4.1.1.1.3": true, "1.2.840.10008.5.1.4.1.1.1.3.1": true,
	"1.2.840.10008.5.1.4.1.1.2": true, "1.2.840.10008.5.1.4.1.1.2.1": true, "1.2.840.10008.5.1.4.1.1.2.2": true,
	"1.2.840.10008.5.1.4.1.1.7":    true,
	"1.2.840.10008.5.1.4.1.1.12.1": true, "1.2.840.10008.5.1.4.1.1.12.1.1": true,
	"1.2.840.10008.5.1.4.1.1.12.2": true, "1.2.840.10008.5.1.4.1.1.12.2.1": true,
	"1.2.840.10008.5.1.4.1.1.13.1.3": true, "1.2.840.10008.5.1.4.1.1.13.1.4": true, "1.2.840.10008.5.1.4.1.1.13.1.5": true,
	"1.2.840.10008.5.1.4.1.1.20": true, "1.2.840.10008.5.1.4.1.1.128": true, "1.2.840.10008.5.1.4.1.1.130": true,
	"1.2.840.10008.5.1.4.1.1.128.1": true,
}

// ReadsSOPClass reports whether Vigie reads dose figures from objects of
// the SOP class uid: the dose SRs (X-ray, radiopharmaceutical, and the
// Enhanced and Comprehensive SRs some modalities put theirs in) and the
// image classes whose headers carry dose. A DICOM receiver accepts these
// in negotiation and no other (a Patient Radiation Dose SR is refused:
// see ParseDICOM).
func ReadsSOPClass(uid string) bool {
	return (strings.HasPrefix(uid, sopSRPrefix) && uid != sopPatientDose) || headerClasses[uid]
}

func className(uid string) string {
	if n := classNames[uid]; n != "" {
		return n
	}
	return uid
}

// refuse returns the EINVALID error of a file Vigie will not ingest.
func refuse(field, format string, args ...any) error {
	return vigie.Invalid(field, format, args...)
}

// ErrNoDoseData marks the refusal of a well-formed object that simply
// carries no dose data (an MR image, a CT slice without CTDIvol, a report
// that is not a dose report), so that a bulk ingestion can count those
// apart from malformed files: errors.Is(err, ErrNoDoseData). The error is
// still an EINVALID *vigie.Error naming the field and the reason.
var ErrNoDoseData = errors.New("no dose data")

type noDoseError struct{ err error }

func (e noDoseError) Error() string   { return e.err.Error() }
func (e noDoseError) Unwrap() []error { return []error{e.err, ErrNoDoseData} }

// noDose is refuse for an object without dose data.
func noDose(field, format string, args ...any) error {
	return noDoseError{refuse(field, format, args...)}
}

// ParseDICOMFile reads one DICOM Part-10 file (see ParseDICOM); errors name
// the file.
func ParseDICOMFile(path string, opts DICOMOptions) (*DoseReport, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ingest: %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("ingest: %s: %w", path, err)
	}
	rep, err := ParseDICOM(f, st.Size(), opts)
	if err != nil {
		return nil, fmt.Errorf("ingest: %s: %w", path, err)
	}
	return rep, nil
}

// headPrefix is how much of a large file ParseDICOM reads first.
var headPrefix int64 = 16 << 20

// ParseDICOM reads a DICOM Part-10 object of size bytes into the DICOM
// library's data model (see readDataset; pixel data skipped) and extracts
// the patient and the exam's dose figures: from an X-ray or radiopharmaceutical radiation dose SR, a legacy Enhanced SR dose
// report, or the dose tags of an image header. Content items are matched on
// code value and coding scheme (SRT and SCT both accepted), never on
// meaning text, and every figure is converted from its own unit code.
//
// Refused with an EINVALID *vigie.Error naming the reason: a malformed or
// truncated file, an unsupported SOP class, an SR that is not a dose
// report, an image without dose tags, a file without PatientID.
func ParseDICOM(r io.Reader, size int64, opts DICOMOptions) (rep *DoseReport, err error) {
	defer func() {
		// Defence in depth: whatever in the reading or the extraction
		// panics on a malformed file refuses that file, never crashes an
		// ingestion of thousands.
		if p := recover(); p != nil {
			rep, err = nil, refuse("file", "malformed DICOM: the parser failed (%v)", p)
		}
	}()
	if size < 132 {
		return nil, refuse("file", "malformed DICOM: %d bytes is too short for a Part-10 file (128-byte preamble and DICM)", size)
	}
	// Read the object into memory (the reader slices it, never allocating
	// from announced lengths). A large one is first read only up to
	// headPrefix: the pixel data that makes it large is never needed, and
	// two workers must not hold two 500 MB enhanced CT series.
	limit, partial := size, false
	if size > headPrefix {
		limit, partial = headPrefix, true
	}
	data := make([]byte, limit)
	if n, err := io.ReadFull(r, data); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, refuse("file", "truncated: %d of %d bytes", n, size)
		}
		return nil, refuse("file", "cannot read: %v", err)
	}
	if string(data[128:132]) != "DICM" {
		return nil, refuse("file", "not a DICOM Part-10 file: no DICM marker after the 128-byte preamble")
	}
	ds, err := readDataset(data, partial, size)
	if err != nil && partial {
		// The attributes did not all fit in the prefix: read the rest (as
		// it comes: size may be a caller's claim, not an allocation).
		rest, rerr := io.ReadAll(io.LimitReader(r, size-limit))
		if rerr != nil {
			return nil, refuse("file", "cannot read: %v", rerr)
		}
		if int64(len(rest)) < size-limit {
			return nil, refuse("file", "truncated: %d of %d bytes", limit+int64(len(rest)), size)
		}
		ds, err = readDataset(append(data, rest...), false, size)
	}
	if err != nil {
		return nil, err
	}
	return extract(ds, opts)
}

func extract(ds elems, opts DICOMOptions) (*DoseReport, error) {
	sop := ds.str(tSOPClass)
	if sop == "" {
		sop = ds.str(tMediaSOPClass)
	}
	if sop == "" {
		return nil, refuse("SOPClassUID", "absent: cannot tell what kind of object this is")
	}
	rep := &DoseReport{SOPClass: className(sop)}
	x := &rep.Exam
	x.SOPClassUID = sop
	x.SOPInstanceUID = ds.str(tSOPInstance)
	if x.SOPInstanceUID == "" {
		return nil, refuse("SOPInstanceUID", "absent: it is the exam's de-duplication key")
	}

	// What kind of object, before looking at the patient: a file Vigie does
	// not take is refused for that reason first.
	var fill func() error
	switch {
	case strings.HasPrefix(sop, sopSRPrefix):
		if sop == sopPatientDose {
			return nil, noDose("SOPClassUID", "Patient Radiation Dose SR (%s) is not supported: send the X-Ray or Radiopharmaceutical Radiation Dose SR it was derived from", sop)
		}
		root := readCode(ds.first(tConceptNameSeq))
		switch {
		case root.is(cXRayDoseReport) || root.is(cRadiopharmDoseReport) || root.is(cSiemensRadSummary):
		case sop == sopRDSR || sop == sopRRDSR:
			return nil, noDose("ConceptNameCodeSequence", "%s whose root concept is %s, not a dose report (113701 DCM or 113500 DCM)", rep.SOPClass, root)
		default:
			return nil, noDose("ConceptNameCodeSequence", "not a dose report: this %s's root concept is %s (a dose report's is 113701 DCM, 113500 DCM or Siemens' C-10 99SMS_RADSUM)", rep.SOPClass, root)
		}
		x.Source = ledger.SourceRDSR
		if sop != sopRDSR && sop != sopRRDSR {
			x.Source = ledger.SourceESR
		}
		fill = func() error { return readSR(ds, root, rep) }
	case headerClasses[sop]:
		x.Source = ledger.SourceHeader
		fill = func() error { return readHeader(ds, rep) }
	default:
		return nil, noDose("SOPClassUID", "unsupported SOP class %s: neither a dose report nor an image that carries dose tags", className(sop))
	}

	if err := readPatient(ds, opts, rep); err != nil {
		return nil, err
	}
	readExam(ds, x)
	if err := fill(); err != nil {
		return nil, err
	}
	if x.Procedure == "" {
		// Some modalities leave the study description empty: the protocol
		// (or the series) is the best name of the act left.
		x.Procedure = x.Protocol
		if x.Procedure == "" {
			x.Procedure = strings.TrimSpace(ds.str(tSeriesDescription))
		}
	}
	x.Key = vigie.SourceKey{Authority: rep.Patient.Authority, LocalID: rep.Patient.LocalID}
	for _, f := range []struct{ name, v string }{
		{"SOPInstanceUID", x.SOPInstanceUID}, {"StudyInstanceUID", x.StudyUID},
		{"PatientID", x.Key.LocalID}, {"IssuerOfPatientID", x.Key.Authority},
	} {
		if strings.ContainsFunc(f.v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return nil, refuse(f.name, "contains control characters")
		}
	}
	if x.Key.Authority != "" {
		if err := x.Validate(); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// readPatient reads the patient's identity as the producing site knows it.
func readPatient(ds elems, opts DICOMOptions, rep *DoseReport) error {
	p := &rep.Patient
	p.LocalID = strings.TrimSpace(ds.str(tPatientID))
	if p.LocalID == "" {
		return refuse("PatientID", "absent or empty: the exam cannot be attached to a patient")
	}
	p.Authority = issuer(ds)
	if p.Authority == "" {
		p.Authority = opts.Authority
	}
	if p.Authority == "" {
		rep.Warnings = append(rep.Warnings, "no IssuerOfPatientID and no site authority configured: the patient id has no assigning authority")
	}
	for _, it := range ds.items(tOtherIDsSeq) {
		id := strings.TrimSpace(it.str(tPatientID))
		if id == "" {
			continue
		}
		iss := issuer(it)
		rep.OtherIDs = append(rep.OtherIDs, OtherID{ID: id, Issuer: iss})
		if insOIDs[iss] && p.INS == "" {
			p.INS, p.INSOID = id, iss
		}
	}
	splitName(ds.str(tPatientName), p)
	p.BirthDate = isoDate(ds.str(tBirthDate))
	switch strings.ToUpper(ds.str(tSex)) {
	case "M":
		p.Sex = "M"
	case "F":
		p.Sex = "F"
	case "O":
		p.Sex = "U"
	}
	rep.Warnings = append(rep.Warnings, dropInvalidTraits(p)...)
	return nil
}

// dropInvalidTraits clears the optional traits the patient index would
// refuse (an anonymised birth date 9999-01-01, in the future; an INS whose
// key does not match is kept, unused, with a warning; a name holding control characters or over its
// limit), so that the exam still reaches the ledger under its source
// record; each drop is a warning that names the trait, never its value.
// It asks matcher.Admit, the index's own door, and leaves p cleaned as the
// index will store it. A birth date that cannot be read is kept (the
// index keeps it verbatim and does not match on it), with a warning.
func dropInvalidTraits(p *vigie.Record) []string {
	var warnings []string
	for range 8 {
		if p.Authority == "" {
			return warnings // refused later, for want of an authority
		}
		prep, err := matcher.Admit(p)
		if err == nil {
			if bad, _ := prep.DateInvalid(); bad {
				warnings = append(warnings, "patient trait birth_date unreadable: kept as sent, not used for matching")
			}
			// An invalid INS is kept: the index stores it verbatim and
			// does not use it as evidence.
			if err := matcher.InvalidINS(p); err != nil {
				warnings = append(warnings, "patient trait "+vigie.ErrorField(err)+" kept but not used: the patient index sets it aside as invalid")
			}
			return warnings
		}
		field := vigie.ErrorField(err)
		switch field {
		case "birth_date":
			p.BirthDate = ""
		case "sex":
			p.Sex = ""
		case "ins", "ins_oid":
			p.INS, p.INSOID = "", ""
		case "birth_name", "used_name":
			p.BirthName, p.UsedName = "", ""
		case "first_names", "first_name":
			p.FirstNames, p.FirstName = "", ""
		default:
			return warnings // authority or local id: the index will say why
		}
		warnings = append(warnings, "patient trait "+field+" dropped: the patient index would refuse it")
	}
	return warnings
}

// issuer returns the assigning authority of a patient id: the ISO universal
// entity id of its qualifiers when given, else IssuerOfPatientID.
func issuer(ds elems) string {
	if q := ds.first(tIssuerQualifiers); q != nil {
		if u := strings.TrimSpace(q.str(tUniversalEntityID)); u != "" {
			return u
		}
	}
	return strings.TrimSpace(ds.str(tIssuer))
}

// splitName splits a DICOM person name (family^given^middle^prefix^suffix,
// first component group only) into birth name and first names.
func splitName(pn string, p *vigie.Record) {
	if i := strings.IndexByte(pn, '='); i >= 0 {
		pn = pn[:i]
	}
	parts := strings.Split(pn, "^")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	p.BirthName = parts[0]
	var first []string
	for _, s := range parts[1:min(len(parts), 3)] {
		first = append(first, strings.Fields(s)...)
	}
	p.FirstNames = strings.Join(first, " ")
	if len(first) > 0 {
		p.FirstName = first[0]
	}
}

// isoDate turns a DICOM DA (YYYYMMDD, or the old YYYY.MM.DD) into ISO
// YYYY-MM-DD; anything else is returned empty.
func isoDate(da string) string {
	da = strings.ReplaceAll(strings.TrimSpace(da), ".", "")
	if len(da) < 8 {
		return ""
	}
	for _, c := range da[:8] {
		if c < '0' || c > '9' {
			return ""
		}
	}
	return da[:4] + "-" + da[4:6] + "-" + da[6:8]
}

// isoTime turns a DICOM TM (HHMMSS.frac) into HH:MM:SS.
func isoTime(tm string) string {
	tm = strings.ReplaceAll(strings.TrimSpace(tm), ":", "")
	if len(tm) < 4 {
		return ""
	}
	for _, c := range tm[:min(6, len(tm))] {
		if c < '0' || c > '9' {
			return ""
		}
	}
	s := tm[:2] + ":" + tm[2:4]
	if len(tm) >= 6 {
		s += ":" + tm[4:6]
	} else {
		s += ":00"
	}
	return s
}

// readExam reads the exam's descriptive attributes.
func readExam(ds elems, x *ledger.Exam) {
	x.StudyUID = ds.str(tStudyUID)
	x.Accession = ds.str(tAccession)
	x.Modality = ds.str(tModality)
	for _, t := range [][2]tag.Tag{{tStudyDate, tStudyTime}, {tAcquisitionDate, tAcquisitionTime}, {tContentDate, tContentTime}, {tSeriesDate, tStudyTime}} {
		if d := isoDate(ds.str(t[0])); d != "" {
			x.Date = d
			x.Time = isoTime(ds.str(t[1]))
			break
		}
	}
	for _, t := range []tag.Tag{tStudyDescription, tRequestedProcDesc, tPPSDescription} {
		if s := strings.TrimSpace(ds.str(t)); s != "" {
			x.Procedure = s
			break
		}
	}
	x.Protocol = strings.TrimSpace(ds.str(tProtocolName))
	x.Device = ledger.Device{
		Manufacturer: strings.TrimSpace(ds.str(tManufacturer)),
		Model:        strings.TrimSpace(ds.str(tModel)),
		Station:      strings.TrimSpace(ds.str(tStationName)),
		Serial:       strings.TrimSpace(ds.str(tSerial)),
	}
	x.Patient.Age = strings.TrimSpace(ds.str(tPatientAge))
	if v, ok := ds.num(tPregnancyStatus); ok {
		x.Patient.Pregnancy = ledger.PregnancyFromDICOM(int(v))
	}
	if w, ok := ds.num(tPatientWeight); ok && w > 0 {
		if q, err := ledger.NewQuantity(w, "kg", ledger.DimMass); err == nil {
			x.Patient.Weight = &q
		}
	}
	if h, ok := ds.num(tPatientSize); ok && h > 0 {
		if q, err := ledger.NewQuantity(h, "m", ledger.DimHeight); err == nil {
			x.Patient.Height = &q
		}
	}
}
