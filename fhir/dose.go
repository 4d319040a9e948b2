package fhir

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"vigie"
	"vigie/audit"
	"vigie/dosimetry"
	"vigie/ledger"
)

// The dose summaries of the exams, as the HL7 Radiation Dose Summary for
// Diagnostic Procedures IG shapes them: one Observation per exam (a source
// record's study), profile radiation-dose-summary, code LOINC 73569-6,
// its subject the patient's regional identity, partOf and focus the
// ImagingStudy by its Study Instance UID, identifier the SOP instance of
// the exam's first dose object, and one component per dose indicator,
// coded in DICOM (DCM) with a UCUM quantity (dosimetry.Summary gives the
// figures; the effective-dose estimate is a component too, its method in
// a note, in French). The second-level estimates (dosimetry.DoseEstimate)
// are components as well, which the IG's open component slicing allows:
// SSDE (DCM 113930, a Quantity), the organ dose of nuclear medicine (DCM
// 113518, the organ in code.text), the dose to the uterus / foetus and the
// peak skin dose (ranges: valueRange, coded in dosimetry.SystemVigie, as
// DICOM has no summary code for them); an estimate not made has a
// dataAbsentReason whose text is the reason; the methods and sources are
// in the text note (Summary.Text).
//
//	GET /fhir/Observation?patient=<id>[&code=73569-6]  searchset Bundle of a patient's summaries, oldest exam first
//	GET /fhir/Observation/<id>                          one summary (its id: the SOP instance of the exam's first dose object)
const (
	ProfileDoseSummary = "http://hl7.org/fhir/uv/radiation-dose-summary/StructureDefinition/radiation-dose-summary"
	SystemLOINC        = "http://loinc.org"
	SystemDICOM        = "http://dicom.nema.org/resources/ontology/DCM"
	SystemUCUM         = "http://unitsofmeasure.org"
	SystemDICOMUID     = "urn:dicom:uid"
	// CodeDoseSummary is LOINC 73569-6, Radiation exposure and protection
	// information [Description] Document Diagnostic imaging.
	CodeDoseSummary = "73569-6"
)

// doseObservation is the Observation of one exam's summary. es are the
// study's entries (to name its first dose object and tell a corrected
// summary), subject the patient's identity.
func doseObservation(s *dosimetry.Summary, es []ledger.Entry, subject vigie.IdentityID) fm.Observation {
	o := fm.Observation{Id: ptr(s.SOPs[0]), Meta: &fm.Meta{Profile: []string{ProfileDoseSummary}},
		Status: fm.ObservationStatusFinal,
		Code: fm.CodeableConcept{Coding: []fm.Coding{{System: ptr(SystemLOINC), Code: ptr(CodeDoseSummary),
			Display: ptr("Radiation exposure and protection information [Description] Document Diagnostic imaging")}}},
		Subject: &fm.Reference{Reference: ptr("Patient/" + subject.String())},
		Identifier: []fm.Identifier{{Type: &fm.CodeableConcept{Text: ptr("SOP Instance UID")},
			System: ptr(SystemDICOMUID), Value: ptr("urn:oid:" + s.SOPs[0])}}}
	if len(es) > 1 {
		// Figures changed after the first dose object (a dose SR after
		// the image headers, a continued report).
		o.Status = fm.ObservationStatusAmended
	}
	if s.StudyUID != "" {
		study := fm.Reference{Type: ptr("ImagingStudy"), Identifier: &fm.Identifier{System: ptr(SystemDICOMUID), Value: ptr("urn:oid:" + s.StudyUID)}}
		o.PartOf, o.Focus = []fm.Reference{study}, []fm.Reference{study}
	}
	if s.Date != "" {
		dt := s.Date
		if s.Time != "" {
			dt += "T" + s.Time
		}
		o.EffectiveDateTime = &dt
	}
	if s.Device != "" {
		o.Device = &fm.Reference{Display: ptr(s.Device)}
	}
	component := func(f dosimetry.Figure) fm.ObservationComponent {
		return fm.ObservationComponent{Code: fm.CodeableConcept{Coding: []fm.Coding{{System: ptr(SystemDICOM), Code: ptr(f.Code), Display: ptr(f.Name)}}},
			ValueQuantity: &fm.Quantity{Value: ptr(json.Number(nmNumber(f.Value))), Unit: ptr(f.Unit), System: ptr(SystemUCUM), Code: ptr(f.Unit)}}
	}
	for _, f := range s.Figures {
		o.Component = append(o.Component, component(f))
	}
	if s.Estimate != nil {
		o.Component = append(o.Component, component(*s.Estimate))
		o.Note = append(o.Note, fm.Annotation{Text: "Dose efficace estimée (" + dosimetry.EstimateLabel + ") : " + s.EstimateMethod})
	} else if s.NotEstimated != "" {
		o.Note = append(o.Note, fm.Annotation{Text: "Dose efficace non estimée : " + s.NotEstimated})
	}
	for _, d := range s.Estimates {
		o.Component = append(o.Component, estimateComponent(d))
	}
	o.Note = append(o.Note, fm.Annotation{Text: strings.Join(s.Text(), "\n")})
	return o
}

// SystemDataAbsentReason is the code system of a component's
// dataAbsentReason.
const SystemDataAbsentReason = "http://terminology.hl7.org/CodeSystem/data-absent-reason"

// estimateComponent is the component of a second-level estimate.
func estimateComponent(d dosimetry.DoseEstimate) fm.ObservationComponent {
	system := SystemDICOM
	if d.Scheme == dosimetry.SchemeVigie {
		system = dosimetry.SystemVigie
	}
	c := fm.ObservationComponent{Code: fm.CodeableConcept{Coding: []fm.Coding{{System: ptr(system), Code: ptr(d.Code), Display: ptr(d.Name)}}}}
	if d.Site != "" {
		c.Code.Text = ptr(d.Name + " : " + d.Site)
	}
	q := func(v float64) *fm.Quantity {
		return &fm.Quantity{Value: ptr(json.Number(nmNumber(v))), Unit: ptr(d.Unit), System: ptr(SystemUCUM), Code: ptr(d.Unit)}
	}
	switch {
	case !d.Estimated():
		c.DataAbsentReason = &fm.CodeableConcept{Coding: []fm.Coding{{System: ptr(SystemDataAbsentReason), Code: ptr("unknown"), Display: ptr("Unknown")}},
			Text: ptr("non estimée : " + d.NotEstimated)}
	case d.Range:
		c.ValueRange = &fm.Range{High: q(d.Value)}
		if d.Low > 0 {
			c.ValueRange.Low = q(d.Low)
		}
	default:
		c.ValueQuantity = q(d.Value)
	}
	return c
}

// summaries groups a patient's exams by source record and study and makes
// each one's summary, oldest exam first.
func (h *handler) summaries(ctx context.Context, es []ledger.Entry) ([]*dosimetry.Summary, [][]ledger.Entry, error) {
	var order []string
	groups := map[string][]ledger.Entry{}
	for _, e := range es {
		if e.Conflict != "" {
			continue
		}
		k := e.Exam.Key.Authority + "\x00" + e.Exam.Key.LocalID + "\x00" + ledger.StudyOf(&e.Exam)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], e)
	}
	var sums []*dosimetry.Summary
	var of [][]ledger.Entry
	opts := dosimetry.SummaryOptions{Coefficients: h.Coefficients, Types: h.ExamTypes}
	if h.Pregnancies != nil {
		opts.Pregnant = h.Pregnancies.Pregnant(ctx)
	}
	for _, k := range order {
		s, ok, err := dosimetry.SummarizeWith(groups[k], opts)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			sums = append(sums, s)
			of = append(of, groups[k])
		}
	}
	return sums, of, nil
}

// searchDose answers GET /fhir/Observation: the dose summaries of the
// exams of one patient (patient, required: a Vigie identity id, or
// Patient/<id>); code, when given, must be LOINC 73569-6.
func (h *handler) searchDose(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "patient", "subject", "code", "_format":
		default:
			h.fail(w, r, bad(k, "is not a search parameter of Observation here: patient (or subject) and code are"), nil)
			return
		}
	}
	param := "patient"
	raw := q.Get("patient")
	if raw == "" {
		param, raw = "subject", q.Get("subject")
	}
	if raw == "" {
		h.fail(w, r, bad("patient", "is required: the dose summaries are searched by patient"), nil)
		return
	}
	if c := q.Get("code"); c != "" && c != CodeDoseSummary && c != SystemLOINC+"|"+CodeDoseSummary {
		writeJSON(w, http.StatusOK, fm.Bundle{Type: fm.BundleTypeSearchset, Total: ptr(0)})
		return
	}
	id, err := vigie.ParseIdentityID(strings.TrimPrefix(raw, "Patient/"))
	if err != nil {
		h.fail(w, r, bad(param, "%q is not a Vigie identity id (a number, or Patient/ and a number)", raw), nil)
		return
	}
	ident, err := h.Index.Get(ctx, id)
	if err != nil {
		h.fail(w, r, err, map[string]string{"": param})
		return
	}
	if _, err := h.gate.Patient(ctx, &ident, id); err != nil {
		h.fail(w, r, err, map[string]string{"": param})
		return
	}
	audit.Touch(ctx, ident.ID.String())
	es, err := h.Ledger.Exams(ctx, ident.Members)
	if err != nil {
		h.fail(w, r, err, nil)
		return
	}
	sums, of, err := h.summaries(ctx, es)
	if err != nil {
		h.fail(w, r, err, nil)
		return
	}
	base := baseURL(r)
	b := fm.Bundle{Type: fm.BundleTypeSearchset, Total: ptr(len(sums))}
	for i, s := range sums {
		audit.TouchRecord(ctx, s.Key.Authority, s.Key.LocalID)
		res, err := json.Marshal(doseObservation(s, of[i], ident.ID))
		if err != nil {
			h.fail(w, r, err, nil)
			return
		}
		b.Entry = append(b.Entry, fm.BundleEntry{FullUrl: ptr(base + "/Observation/" + s.SOPs[0]), Resource: res,
			Search: &fm.BundleEntrySearch{Mode: ptr(fm.SearchEntryModeMatch)}})
	}
	writeJSON(w, http.StatusOK, b)
}

// readDose answers GET /fhir/Observation/{id}: the dose summary of the
// exam whose first dose object is the SOP instance id.
func (h *handler) readDose(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sop := r.PathValue("id")
	if sop == "" || len(sop) > 64 || strings.Trim(sop, "0123456789.") != "" {
		h.fail(w, r, bad("id", "%q is not the id of a dose summary (a SOP instance UID: digits and dots)", clipText(sop)), nil)
		return
	}
	notFound := &problem{status: http.StatusNotFound, code: fm.IssueTypeNotFound, param: "id", msg: "no dose summary has this id"}
	e, err := h.Ledger.Get(ctx, sop)
	if err != nil {
		if vigie.ErrorCode(err) == vigie.ENOTFOUND {
			err = notFound
		}
		h.fail(w, r, err, nil)
		return
	}
	k := e.Exam.Key
	id, err := h.Index.IdentityOf(ctx, k.Authority, k.LocalID)
	if err != nil {
		if vigie.ErrorCode(err) == vigie.ENOTFOUND {
			err = notFound
		}
		h.fail(w, r, err, nil)
		return
	}
	ident, err := h.Index.Get(ctx, id)
	if err != nil {
		h.fail(w, r, err, map[string]string{"": "id"})
		return
	}
	if _, err := h.gate.Patient(ctx, &ident, id); err != nil {
		if vigie.ErrorCode(err) == vigie.ENOTFOUND {
			err = notFound // the patient's id is not the caller's to learn
		}
		h.fail(w, r, err, map[string]string{"": "id"})
		return
	}
	audit.Touch(ctx, ident.ID.String())
	audit.TouchRecord(ctx, k.Authority, k.LocalID)
	es, err := h.Ledger.Study(ctx, k, ledger.StudyOf(&e.Exam))
	if err != nil {
		h.fail(w, r, err, nil)
		return
	}
	sums, of, err := h.summaries(ctx, es)
	if err != nil {
		h.fail(w, r, err, nil)
		return
	}
	if len(sums) != 1 || sums[0].SOPs[0] != sop {
		h.fail(w, r, notFound, nil)
		return
	}
	writeJSON(w, http.StatusOK, doseObservation(sums[0], of[0], ident.ID))
}

func clipText(s string) string {
	if len(s) > 40 {
		return strings.ToValidUTF8(s[:40], "") + "…"
	}
	return s
}

// nmNumber writes a figure as a JSON number: at most four decimals.
func nmNumber(v float64) string {
	return strconv.FormatFloat(math.Round(v*1e4)/1e4, 'f', -1, 64)
}
