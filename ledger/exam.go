package ledger

import (
	"fmt"
	"math"
	"strings"

	"vigie"
)

// SourceKind says where an exam's dose figures were read.
type SourceKind string

// Source kinds. An RDSR (X-ray or radiopharmaceutical dose SR) is the
// reference; a legacy Enhanced SR dose report counts as one; image-header
// figures are used only when no SR covers the study.
const (
	SourceRDSR   SourceKind = "rdsr"
	SourceESR    SourceKind = "esr"
	SourceHeader SourceKind = "header"
)

// Domain is the kind of exposure an exam reports, which decides the section
// of the dose history it lands in.
type Domain string

// Domains of the regional dose synthesis.
const (
	DomainCT          Domain = "ct"
	DomainProjection  Domain = "projection" // radiography, fluoroscopy, interventional
	DomainMammography Domain = "mammography"
	DomainNM          Domain = "nm" // nuclear medicine (the CT part of a hybrid exam is a CT exam of the same study)
)

// Code is a coded concept as DICOM carries it (code value, coding scheme,
// meaning). Only value and scheme are ever compared.
type Code struct {
	Value   string `json:"value"`
	Scheme  string `json:"scheme"`
	Meaning string `json:"meaning,omitempty"`
}

// IsZero reports whether c is empty.
func (c Code) IsZero() bool { return c.Value == "" && c.Meaning == "" }

// Device is the modality that produced the exam.
type Device struct {
	Manufacturer string `json:"manufacturer,omitempty"`
	Model        string `json:"model,omitempty"`
	Station      string `json:"station,omitempty"`
	Serial       string `json:"serial,omitempty"`
}

// String is the device as one line: manufacturer, model and station.
func (d Device) String() string {
	var parts []string
	for _, s := range []string{d.Manufacturer, d.Model, d.Station} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " ")
}

// PatientSize is the patient's age and build at the time of the exam, which
// the national dose surveys (IRSN) require beside each indicator.
type PatientSize struct {
	Age    string    `json:"age,omitempty"` // DICOM age string: 045Y, 006M
	Weight *Quantity `json:"weight,omitempty"`
	Height *Quantity `json:"height,omitempty"`
	// Pregnancy is the DICOM Pregnancy Status (0010,21C0) of the exam's
	// dataset: one of the Pregnancy* values, or "" when absent. Stored
	// from row format 3 on.
	Pregnancy string `json:"pregnancy,omitempty"`
}

// Pregnancy statuses (DICOM PS3.3 C.7.1.1, (0010,21C0): 0001 not pregnant,
// 0002 possibly pregnant, 0003 definitely pregnant, 0004 unknown).
const (
	PregnancyNo       = "not_pregnant"
	PregnancyPossible = "possibly_pregnant"
	PregnancyYes      = "pregnant"
	PregnancyUnknown  = "unknown"
)

// PregnancyFromDICOM maps the enumerated value of (0010,21C0) to a
// Pregnancy* status ("" for a value outside the enumeration).
func PregnancyFromDICOM(v int) string {
	switch v {
	case 1:
		return PregnancyNo
	case 2:
		return PregnancyPossible
	case 3:
		return PregnancyYes
	case 4:
		return PregnancyUnknown
	}
	return ""
}

// MayBePregnant reports whether the exam's dataset says the patient is, or
// possibly is, pregnant: both ask for a foetal-dose estimate.
func (p PatientSize) MayBePregnant() bool {
	return p.Pregnancy == PregnancyYes || p.Pregnancy == PregnancyPossible
}

// Exam is one DICOM object's dose report: an RDSR, an Enhanced SR dose
// report, or one image whose header carries a dose figure.
type Exam struct {
	SOPInstanceUID string          `json:"sop_instance_uid"`
	SOPClassUID    string          `json:"sop_class_uid,omitempty"`
	StudyUID       string          `json:"study_uid,omitempty"`
	Accession      string          `json:"accession,omitempty"`
	Date           string          `json:"date,omitempty"` // ISO YYYY-MM-DD
	Time           string          `json:"time,omitempty"` // HH:MM:SS
	Modality       string          `json:"modality,omitempty"`
	Procedure      string          `json:"procedure,omitempty"` // procedure or study description
	Protocol       string          `json:"protocol,omitempty"`
	Device         Device          `json:"device"`
	Patient        PatientSize     `json:"patient"`
	Source         SourceKind      `json:"source"`
	Domain         Domain          `json:"domain"`
	Key            vigie.SourceKey `json:"key"`

	CT          *CTDose          `json:"ct,omitempty"`
	Projection  *ProjectionDose  `json:"projection,omitempty"`
	Mammography *MammographyDose `json:"mammography,omitempty"`
	NM          *NMDose          `json:"nm,omitempty"`
}

// CTDose is the CT part of a report (TID 10011, or the CTDIvol of image
// headers).
type CTDose struct {
	DLPTotal *Quantity `json:"dlp_total,omitempty"`
	Events   []CTEvent `json:"events,omitempty"`
}

// CTEvent is one CT irradiation event (TID 10013).
type CTEvent struct {
	UID             string    `json:"uid,omitempty"`
	Protocol        string    `json:"protocol,omitempty"`
	TargetRegion    Code      `json:"target_region"`
	AcquisitionType Code      `json:"acquisition_type"`
	Phantom         Code      `json:"phantom"`
	CTDIvol         *Quantity `json:"ctdivol,omitempty"`
	DLP             *Quantity `json:"dlp,omitempty"`
	SSDE            *Quantity `json:"ssde,omitempty"`
	// ScanLength (113825, mm) and ExposureTime (113824, s) are the
	// acquisition parameters of TID 10013; Sources are its X-ray sources
	// (two on a dual-source scanner). Stored from layout 3 on: an exam
	// stored before has none.
	ScanLength   *Quantity  `json:"scan_length,omitempty"`
	ExposureTime *Quantity  `json:"exposure_time,omitempty"`
	Sources      []CTSource `json:"sources,omitempty"`
	// WED is the patient's water-equivalent diameter (AAPM Report 220)
	// when the report carries it (mm; stored from row format 3 on).
	WED *Quantity `json:"water_equivalent_diameter,omitempty"`
}

// CTSource is the parameters of one X-ray source of a CT irradiation event
// (TID 10013, CT X-Ray Source Parameters 113831).
type CTSource struct {
	ID           string    `json:"id,omitempty"`
	KVP          *Quantity `json:"kvp,omitempty"`              // 113733, kV
	MaxCurrent   *Quantity `json:"max_tube_current,omitempty"` // 113833, mA
	Current      *Quantity `json:"tube_current,omitempty"`     // 113734, mA (mean)
	RotationTime *Quantity `json:"rotation_time,omitempty"`    // 113834, s (exposure time per rotation)
}

// MAs is the tube current-time product of a source over the event: its
// mean tube current times the event's exposure time, or 0 when either is
// missing.
func (ev *CTEvent) MAs(src *CTSource) float64 {
	if src.Current == nil || ev.ExposureTime == nil {
		return 0
	}
	return src.Current.Value * ev.ExposureTime.Value
}

// ProjectionDose is a projection radiography, fluoroscopy or interventional
// report (TID 10001/10002/10004), totals summed over acquisition planes.
type ProjectionDose struct {
	Planes     int               `json:"planes,omitempty"`
	DAPTotal   *Quantity         `json:"dap_total,omitempty"`
	RPTotal    *Quantity         `json:"rp_total,omitempty"`
	FluoroDAP  *Quantity         `json:"fluoro_dap,omitempty"`
	FluoroRP   *Quantity         `json:"fluoro_rp,omitempty"`
	AcqDAP     *Quantity         `json:"acquisition_dap,omitempty"`
	AcqRP      *Quantity         `json:"acquisition_rp,omitempty"`
	FluoroTime *Quantity         `json:"fluoro_time,omitempty"`
	AcqTime    *Quantity         `json:"acquisition_time,omitempty"`
	Frames     int               `json:"frames,omitempty"`
	Events     []ProjectionEvent `json:"events,omitempty"`
}

// ProjectionEvent is one projection irradiation event (TID 10003).
type ProjectionEvent struct {
	UID      string    `json:"uid,omitempty"`
	Type     Code      `json:"type"`
	Protocol string    `json:"protocol,omitempty"`
	DAP      *Quantity `json:"dap,omitempty"`
	RP       *Quantity `json:"rp,omitempty"`
	// Duration is the irradiation duration; Fluoro says whether it counts
	// as fluoroscopy time (else acquisition time).
	Duration *Quantity `json:"duration,omitempty"`
	Fluoro   bool      `json:"fluoro,omitempty"`
	// Geometry is the event's irradiation geometry (TID 10003A/B/C), the
	// input of the skin-dose map; stored from row format 3 on.
	Geometry *Geometry `json:"geometry,omitempty"`
}

// Geometry is the geometry and beam quality of one projection irradiation
// event, in fixed units; a nil field was not reported.
type Geometry struct {
	PrimaryAngle      *float64 `json:"primary_angle_deg,omitempty"`   // 112011, LAO positive
	SecondaryAngle    *float64 `json:"secondary_angle_deg,omitempty"` // 112012, cranial positive
	TableLongitudinal *float64 `json:"table_longitudinal_mm,omitempty"`
	TableLateral      *float64 `json:"table_lateral_mm,omitempty"`
	TableHeight       *float64 `json:"table_height_mm,omitempty"`
	FieldArea         *float64 `json:"field_area_cm2,omitempty"`     // 113790, at the image receptor
	FieldHeight       *float64 `json:"field_height_mm,omitempty"`    // 113788
	FieldWidth        *float64 `json:"field_width_mm,omitempty"`     // 113789
	SourceToIsocenter *float64 `json:"source_iso_mm,omitempty"`      // 113748
	SourceToDetector  *float64 `json:"source_detector_mm,omitempty"` // 113750
	SourceToRP        *float64 `json:"source_rp_mm,omitempty"`       // 113737
	KVP               *float64 `json:"kvp,omitempty"`                // 113733
	CopperFilter      *float64 `json:"cu_filter_mm,omitempty"`       // 113771: thickest copper filter
}

// Fields lists the geometry's values in their stored order.
func (g *Geometry) Fields() [13]**float64 {
	return [13]**float64{&g.PrimaryAngle, &g.SecondaryAngle, &g.TableLongitudinal, &g.TableLateral, &g.TableHeight,
		&g.FieldArea, &g.FieldHeight, &g.FieldWidth, &g.SourceToIsocenter, &g.SourceToDetector, &g.SourceToRP,
		&g.KVP, &g.CopperFilter}
}

// MammographyDose is a mammography report (TID 10005, or image headers).
type MammographyDose struct {
	AGDLeft   *Quantity          `json:"agd_left,omitempty"`
	AGDRight  *Quantity          `json:"agd_right,omitempty"`
	AGDBoth   *Quantity          `json:"agd_both,omitempty"` // laterality "both breasts" or unstated
	Thickness *Quantity          `json:"thickness,omitempty"`
	Events    []MammographyEvent `json:"events,omitempty"`
}

// MammographyEvent is one mammography exposure: its view and breast.
type MammographyEvent struct {
	UID        string    `json:"uid,omitempty"`
	Laterality string    `json:"laterality,omitempty"` // L, R, B or empty
	View       Code      `json:"view"`
	AGD        *Quantity `json:"agd,omitempty"`
	Thickness  *Quantity `json:"thickness,omitempty"`
}

// NMDose is a radiopharmaceutical report (TID 10021, or the
// RadiopharmaceuticalInformationSequence of PET/NM images).
type NMDose struct {
	Administrations []Administration `json:"administrations,omitempty"`
}

// Administration is one radiopharmaceutical administration (TID 10022).
type Administration struct {
	UID                 string    `json:"uid,omitempty"`
	Radiopharmaceutical Code      `json:"radiopharmaceutical"`
	Radionuclide        Code      `json:"radionuclide"`
	Activity            *Quantity `json:"activity,omitempty"`
	Start               string    `json:"start,omitempty"` // ISO date-time
}

// Validate checks what the ledger needs to store an exam: its SOP instance,
// its source record, a known source kind and domain, and finite figures.
func (e *Exam) Validate() error {
	switch {
	case e == nil:
		return vigie.Invalid("exam", "is missing")
	case strings.TrimSpace(e.SOPInstanceUID) == "":
		return vigie.Invalid("sop_instance_uid", "is required: it is the exam's de-duplication key")
	case strings.ContainsRune(e.SOPInstanceUID, 0) || strings.ContainsRune(e.StudyUID, 0):
		return vigie.Invalid("sop_instance_uid", "contains a NUL byte")
	case strings.TrimSpace(e.Key.Authority) == "":
		return vigie.Invalid("authority", "is required: the exam is keyed by its source record")
	case strings.TrimSpace(e.Key.LocalID) == "":
		return vigie.Invalid("local_id", "is required: the exam is keyed by its source record")
	case strings.ContainsRune(e.Key.Authority, 0) || strings.ContainsRune(e.Key.LocalID, 0):
		return vigie.Invalid("local_id", "contains a NUL byte")
	case strings.ContainsRune(e.Date, 0):
		return vigie.Invalid("date", "contains a NUL byte: it is part of the exam's key")
	}
	switch e.Source {
	case SourceRDSR, SourceESR, SourceHeader:
	default:
		return vigie.Invalid("source", "%q is not rdsr, esr or header", e.Source)
	}
	switch e.Domain {
	case DomainCT, DomainProjection, DomainMammography, DomainNM:
	default:
		return vigie.Invalid("domain", "%q is not ct, projection, mammography or nm", e.Domain)
	}
	var bad error
	e.eachQuantity(func(field string, q *Quantity) {
		if bad == nil && (math.IsNaN(q.Value) || math.IsInf(q.Value, 0) || math.IsNaN(q.Raw) || math.IsInf(q.Raw, 0)) {
			bad = vigie.Invalid(field, "%v (%v %s) is not a finite number", q.Value, q.Raw, q.RawUnit)
		}
	})
	return bad
}

// eachQuantity calls fn with every figure of the exam and its field name:
// a dose figure that is not a number would poison every sum it enters.
func (e *Exam) eachQuantity(fn func(field string, q *Quantity)) {
	put := func(field string, q *Quantity) {
		if q != nil {
			fn(field, q)
		}
	}
	put("patient.weight", e.Patient.Weight)
	put("patient.height", e.Patient.Height)
	if c := e.CT; c != nil {
		put("ct.dlp_total", c.DLPTotal)
		for i := range c.Events {
			ev := &c.Events[i]
			p := fmt.Sprintf("ct.events[%d].", i)
			put(p+"ctdivol", ev.CTDIvol)
			put(p+"dlp", ev.DLP)
			put(p+"ssde", ev.SSDE)
			put(p+"scan_length", ev.ScanLength)
			put(p+"exposure_time", ev.ExposureTime)
			put(p+"water_equivalent_diameter", ev.WED)
			for j := range ev.Sources {
				src := &ev.Sources[j]
				sp := fmt.Sprintf("%ssources[%d].", p, j)
				put(sp+"kvp", src.KVP)
				put(sp+"max_tube_current", src.MaxCurrent)
				put(sp+"tube_current", src.Current)
				put(sp+"rotation_time", src.RotationTime)
			}
		}
	}
	if pr := e.Projection; pr != nil {
		for _, f := range []struct {
			name string
			q    *Quantity
		}{{"dap_total", pr.DAPTotal}, {"rp_total", pr.RPTotal}, {"fluoro_dap", pr.FluoroDAP}, {"fluoro_rp", pr.FluoroRP},
			{"acquisition_dap", pr.AcqDAP}, {"acquisition_rp", pr.AcqRP}, {"fluoro_time", pr.FluoroTime}, {"acquisition_time", pr.AcqTime}} {
			put("projection."+f.name, f.q)
		}
		for i := range pr.Events {
			ev := &pr.Events[i]
			p := fmt.Sprintf("projection.events[%d].", i)
			put(p+"dap", ev.DAP)
			put(p+"rp", ev.RP)
			put(p+"duration", ev.Duration)
			if g := ev.Geometry; g != nil {
				for j, f := range g.Fields() {
					if *f != nil && (math.IsNaN(**f) || math.IsInf(**f, 0)) {
						fn(fmt.Sprintf("%sgeometry[%d]", p, j), &Quantity{Value: **f, Raw: **f})
					}
				}
			}
		}
	}
	if m := e.Mammography; m != nil {
		put("mammography.agd_left", m.AGDLeft)
		put("mammography.agd_right", m.AGDRight)
		put("mammography.agd_both", m.AGDBoth)
		put("mammography.thickness", m.Thickness)
		for i := range m.Events {
			p := fmt.Sprintf("mammography.events[%d].", i)
			put(p+"agd", m.Events[i].AGD)
			put(p+"thickness", m.Events[i].Thickness)
		}
	}
	if n := e.NM; n != nil {
		for i := range n.Administrations {
			put(fmt.Sprintf("nm.administrations[%d].activity", i), n.Administrations[i].Activity)
		}
	}
}

// Totals are an exam's dose figures in canonical units, as the dose history
// adds them up. Zero means "none reported".
type Totals struct {
	DLP        float64 `json:"dlp_mGycm,omitempty"`
	CTDIvolMax float64 `json:"ctdivol_max_mGy,omitempty"`
	DAP        float64 `json:"dap_Gym2,omitempty"`
	RP         float64 `json:"rp_mGy,omitempty"`
	FluoroTime float64 `json:"fluoro_time_s,omitempty"`
	AcqTime    float64 `json:"acquisition_time_s,omitempty"`
	AGDLeft    float64 `json:"agd_left_mGy,omitempty"`
	AGDRight   float64 `json:"agd_right_mGy,omitempty"`
	AGDBoth    float64 `json:"agd_both_mGy,omitempty"`
	Activity   float64 `json:"activity_MBq,omitempty"`
}

// AGDTotal is the glandular dose summed over both breasts.
func (t Totals) AGDTotal() float64 { return t.AGDLeft + t.AGDRight + t.AGDBoth }

// add adds u to t (CTDIvol takes the maximum: it is not additive).
func (t *Totals) add(u Totals) {
	t.DLP += u.DLP
	t.CTDIvolMax = max(t.CTDIvolMax, u.CTDIvolMax)
	t.DAP += u.DAP
	t.RP += u.RP
	t.FluoroTime += u.FluoroTime
	t.AcqTime += u.AcqTime
	t.AGDLeft += u.AGDLeft
	t.AGDRight += u.AGDRight
	t.AGDBoth += u.AGDBoth
	t.Activity += u.Activity
}

// sub removes u from t, never going below zero (a vendor total rounded
// below the sum of its events must not turn into a negative dose).
func (t *Totals) sub(u Totals) {
	s := func(a, b float64) float64 { return max(a-b, 0) }
	t.DLP = s(t.DLP, u.DLP)
	t.DAP = s(t.DAP, u.DAP)
	t.RP = s(t.RP, u.RP)
	t.FluoroTime = s(t.FluoroTime, u.FluoroTime)
	t.AcqTime = s(t.AcqTime, u.AcqTime)
	t.AGDLeft = s(t.AGDLeft, u.AGDLeft)
	t.AGDRight = s(t.AGDRight, u.AGDRight)
	t.AGDBoth = s(t.AGDBoth, u.AGDBoth)
	t.Activity = s(t.Activity, u.Activity)
}

func val(q *Quantity) float64 {
	if q == nil {
		return 0
	}
	return q.Value
}

// Totals returns the exam's figures as reported: the accumulated totals of
// the report, or the sum of its events when it gives no total.
func (e *Exam) Totals() Totals {
	var t Totals
	if c := e.CT; c != nil {
		var sum float64
		for _, ev := range c.Events {
			sum += val(ev.DLP)
			t.CTDIvolMax = max(t.CTDIvolMax, val(ev.CTDIvol))
		}
		t.DLP = sum
		if c.DLPTotal != nil {
			t.DLP = c.DLPTotal.Value
		}
	}
	if p := e.Projection; p != nil {
		var dap, rp float64
		for _, ev := range p.Events {
			dap += val(ev.DAP)
			rp += val(ev.RP)
		}
		t.DAP, t.RP = dap, rp
		if p.DAPTotal != nil {
			t.DAP = p.DAPTotal.Value
		}
		if p.RPTotal != nil {
			t.RP = p.RPTotal.Value
		}
		t.FluoroTime = val(p.FluoroTime)
		t.AcqTime = val(p.AcqTime)
	}
	if m := e.Mammography; m != nil {
		if m.AGDLeft != nil || m.AGDRight != nil || m.AGDBoth != nil {
			t.AGDLeft, t.AGDRight, t.AGDBoth = val(m.AGDLeft), val(m.AGDRight), val(m.AGDBoth)
		} else {
			for _, ev := range m.Events {
				t.addAGD(ev.Laterality, val(ev.AGD))
			}
		}
	}
	if n := e.NM; n != nil {
		for _, a := range n.Administrations {
			t.Activity += val(a.Activity)
		}
	}
	return t
}

func (t *Totals) addAGD(laterality string, v float64) {
	switch laterality {
	case "L":
		t.AGDLeft += v
	case "R":
		t.AGDRight += v
	default:
		t.AGDBoth += v
	}
}

// eventFigures returns, for each irradiation event (or administration) with
// a UID, the figures it contributes, so that a later report repeating the
// event can have them taken out of its totals.
func (e *Exam) eventFigures() map[string]Totals {
	m := map[string]Totals{}
	put := func(uid string, t Totals) {
		if uid == "" {
			return
		}
		old := m[uid]
		old.add(t)
		m[uid] = old
	}
	if c := e.CT; c != nil {
		for _, ev := range c.Events {
			put(ev.UID, Totals{DLP: val(ev.DLP)})
		}
	}
	if p := e.Projection; p != nil {
		for _, ev := range p.Events {
			t := Totals{DAP: val(ev.DAP), RP: val(ev.RP)}
			if ev.Fluoro {
				t.FluoroTime = val(ev.Duration)
			} else {
				t.AcqTime = val(ev.Duration)
			}
			put(ev.UID, t)
		}
	}
	if mg := e.Mammography; mg != nil {
		for _, ev := range mg.Events {
			var t Totals
			t.addAGD(ev.Laterality, val(ev.AGD))
			put(ev.UID, t)
		}
	}
	if n := e.NM; n != nil {
		for _, a := range n.Administrations {
			put(a.UID, Totals{Activity: val(a.Activity)})
		}
	}
	return m
}

// ViewDose is the glandular dose accumulated over the exposures of one
// breast in one view (e.g. left CC).
type ViewDose struct {
	Laterality string  `json:"laterality"` // L, R, B or empty
	View       string  `json:"view"`       // view meaning or code
	AGD        float64 `json:"agd_mGy"`
	Exposures  int     `json:"exposures"`
}

// PerView accumulates the exposures' glandular doses per breast and view,
// in the order the views first appear.
func (m *MammographyDose) PerView() []ViewDose {
	var out []ViewDose
	idx := map[[2]string]int{}
	for _, e := range m.Events {
		v := e.View.Meaning
		if v == "" {
			v = e.View.Value
		}
		k := [2]string{e.Laterality, v}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, ViewDose{Laterality: e.Laterality, View: v})
		}
		out[i].AGD += val(e.AGD)
		out[i].Exposures++
	}
	return out
}
