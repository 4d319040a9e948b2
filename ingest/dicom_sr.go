package ingest

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"vigie/ledger"
)

// code is a coded concept read from a DICOM code sequence item.
type code struct{ Value, Scheme, Meaning string }

// cv is one accepted (code value, coding scheme) pair of a concept.
type cv struct{ v, s string }

// Concepts of the dose templates (PS3.16 TID 10001–10023), each with every
// (value, scheme) pair accepted: the older SRT and the newer SCT codes.
var (
	cXRayDoseReport       = []cv{{"113701", "DCM"}}
	cRadiopharmDoseReport = []cv{{"113500", "DCM"}}
	cProcedureReported    = []cv{{"121058", "DCM"}}
	cProjectionXRay       = []cv{{"113704", "DCM"}}
	cMammographyProc      = []cv{{"71651007", "SCT"}, {"P5-40010", "SRT"}}
	cCTProc               = []cv{{"77477000", "SCT"}, {"P5-08000", "SRT"}}

	cAccumulated = []cv{{"113702", "DCM"}}
	cDAPTotal    = []cv{{"113722", "DCM"}}
	cRPTotal     = []cv{{"113725", "DCM"}}
	cFluoroDAP   = []cv{{"113726", "DCM"}}
	cAcqDAP      = []cv{{"113727", "DCM"}}
	cFluoroRP    = []cv{{"113728", "DCM"}}
	cAcqRP       = []cv{{"113729", "DCM"}}
	cFluoroTime  = []cv{{"113730", "DCM"}}
	cAcqTime     = []cv{{"113855", "DCM"}}
	cFrames      = []cv{{"113731", "DCM"}}
	cEvent       = []cv{{"113706", "DCM"}}
	cEventUID    = []cv{{"113769", "DCM"}}
	cEventType   = []cv{{"113721", "DCM"}}
	cProtocol    = []cv{{"125203", "DCM"}}
	cEventDAP    = []cv{{"122130", "DCM"}}
	cEventRP     = []cv{{"113738", "DCM"}}
	cDuration    = []cv{{"113742", "DCM"}}
	cFluoroscopy = []cv{{"44491008", "SCT"}, {"P5-06000", "SRT"}}

	cAGDAccumulated = []cv{{"111637", "DCM"}}
	cAGDEvent       = []cv{{"111631", "DCM"}}
	cLaterality     = []cv{{"272741003", "SCT"}, {"G-C171", "SRT"}}
	cLeft           = []cv{{"80248007", "SCT"}, {"T-04030", "SRT"}, {"7771000", "SCT"}, {"G-A101", "SRT"}}
	cRight          = []cv{{"73056007", "SCT"}, {"T-04020", "SRT"}, {"24028007", "SCT"}, {"G-A100", "SRT"}}
	cBoth           = []cv{{"63762007", "SCT"}, {"T-04080", "SRT"}, {"51440002", "SCT"}, {"G-A102", "SRT"}}
	cImageView      = []cv{{"111031", "DCM"}}
	cCompression    = []cv{{"111633", "DCM"}}

	cCTAccumulated = []cv{{"113811", "DCM"}}
	cDLPTotal      = []cv{{"113813", "DCM"}}
	cCTAcquisition = []cv{{"113819", "DCM"}}
	cCTDose        = []cv{{"113829", "DCM"}}
	cCTDIvol       = []cv{{"113830", "DCM"}}
	cDLP           = []cv{{"113838", "DCM"}}
	cPhantom       = []cv{{"113835", "DCM"}}
	cTargetRegion  = []cv{{"123014", "DCM"}}
	cCTAcqType     = []cv{{"113820", "DCM"}}
	cSSDE          = []cv{{"113930", "DCM"}}
	cScanLength    = []cv{{"113825", "DCM"}}
	cExposureTime  = []cv{{"113824", "DCM"}}
	cXRaySource    = []cv{{"113831", "DCM"}}
	cSourceID      = []cv{{"113832", "DCM"}}
	cKVP           = []cv{{"113733", "DCM"}}
	cMaxTubeCurr   = []cv{{"113833", "DCM"}}
	cTubeCurrent   = []cv{{"113734", "DCM"}}
	cRotationTime  = []cv{{"113834", "DCM"}}
	cWED           = []cv{{"113987", "DCM"}}

	// Irradiation event geometry and beam (TID 10003A/B/C).
	cPrimaryAngle   = []cv{{"112011", "DCM"}}
	cSecondaryAngle = []cv{{"112012", "DCM"}}
	cTableLong      = []cv{{"113751", "DCM"}}
	cTableLat       = []cv{{"113752", "DCM"}}
	cTableHeight    = []cv{{"113753", "DCM"}}
	cFieldArea      = []cv{{"113790", "DCM"}}
	cFieldHeight    = []cv{{"113788", "DCM"}}
	cFieldWidth     = []cv{{"113789", "DCM"}}
	cSourceIso      = []cv{{"113748", "DCM"}}
	cSourceDetector = []cv{{"113750", "DCM"}}
	cSourceRP       = []cv{{"113737", "DCM"}}
	cXRayFilters    = []cv{{"113771", "DCM"}}
	cFilterMaterial = []cv{{"113757", "DCM"}}
	cFilterMax      = []cv{{"113773", "DCM"}}
	cFilterMin      = []cv{{"113758", "DCM"}}
	cCopper         = []cv{{"C-127F9", "SRT"}, {"C-127F9", "SNM3"}}

	cAdministration = []cv{{"113502", "DCM"}}
	cAdminUID       = []cv{{"113503", "DCM"}}
	cAgent          = []cv{{"349358000", "SCT"}, {"F-61FDB", "SRT"}}
	cRadionuclide   = []cv{{"89457008", "SCT"}, {"C-10072", "SRT"}}
	cActivity       = []cv{{"113507", "DCM"}}
	cAdminStart     = []cv{{"123003", "DCM"}}

	// Siemens' proprietary Radiation Summary Report (Enhanced SR of mobile
	// C-arms such as the Arcadis Varic, which write no RDSR).
	cSiemensRadSummary = []cv{{"C-10", "99SMS_RADSUM"}}
	cSiemensFluoroTime = []cv{{"C-202", "99SMS_RADSUM"}}
	cSiemensDAP        = []cv{{"C-204", "99SMS_RADSUM"}}
	cSiemensAirKerma   = []cv{{"C-210", "99SMS_RADSUM"}}
	cSiemensExposures  = []cv{{"C-200", "99SMS_RADSUM"}}

	cPatientCharacteristics = []cv{{"121118", "DCM"}}
	cAge                    = []cv{{"121033", "DCM"}}
	cHeight                 = []cv{{"8302-2", "LN"}}
	cWeight                 = []cv{{"29463-7", "LN"}}
	cObserverName           = []cv{{"121013", "DCM"}}
	cObserverManufacturer   = []cv{{"121014", "DCM"}}
	cObserverModel          = []cv{{"121015", "DCM"}}
	cObserverSerial         = []cv{{"121016", "DCM"}}
)

func readCode(it elems) code {
	if it == nil {
		return code{}
	}
	return code{
		Value:   strings.TrimSpace(it.str(tCodeValue)),
		Scheme:  strings.TrimSpace(it.str(tCodingScheme)),
		Meaning: strings.TrimSpace(it.str(tCodeMeaning)),
	}
}

// is reports whether c is one of the accepted pairs. SNM3 and SRT share
// their code values (SNOMED RT), so either designator matches an SRT pair.
func (c code) is(pairs []cv) bool {
	for _, p := range pairs {
		if c.Value != p.v {
			continue
		}
		if c.Scheme == p.s || (p.s == "SRT" && (c.Scheme == "SNM3" || c.Scheme == "99SDM")) {
			return true
		}
	}
	return false
}

func (c code) String() string {
	if c.Value == "" && c.Scheme == "" {
		return "(no code)"
	}
	if c.Meaning != "" {
		return fmt.Sprintf("%s %s %q", c.Value, c.Scheme, c.Meaning)
	}
	return c.Value + " " + c.Scheme
}

func (c code) ledger() ledger.Code {
	return ledger.Code{Value: c.Value, Scheme: c.Scheme, Meaning: c.Meaning}
}

// item is one SR content item, read once from the dataset into a tree.
type item struct {
	vt     string // value type: CONTAINER, NUM, CODE, TEXT, UIDREF, DATETIME…
	name   code   // concept name
	text   string // TEXT, UIDREF, DATETIME, DATE, TIME, PNAME value
	value  code   // CODE value
	num    float64
	unit   string // UCUM code of a NUM
	hasNum bool
	kids   []*item
}

// maxSRDepth bounds the content tree: real templates nest about six deep;
// a deeper tree is a malformed (or hostile) file.
const maxSRDepth = 32

func readTree(ds elems, depth int) ([]*item, error) {
	its := ds.items(tContentSeq)
	if len(its) == 0 {
		return nil, nil
	}
	if depth > maxSRDepth {
		return nil, refuse("ContentSequence", "nested more than %d levels deep", maxSRDepth)
	}
	out := make([]*item, 0, len(its))
	for _, e := range its {
		it := &item{vt: strings.ToUpper(e.str(tValueType)), name: readCode(e.first(tConceptNameSeq))}
		switch it.vt {
		case "TEXT":
			it.text = e.str(tTextValue)
		case "UIDREF":
			it.text = e.str(tUIDValue)
		case "DATETIME":
			it.text = e.str(tDateTimeValue)
		case "DATE":
			it.text = e.str(tDateValue)
		case "TIME":
			it.text = e.str(tTimeValue)
		case "PNAME":
			it.text = e.str(tPersonName)
		case "CODE":
			it.value = readCode(e.first(tConceptCodeSeq))
		case "NUM":
			if mv := e.first(tMeasuredValueSeq); mv != nil {
				if f, ok := mv.num(tNumericValue); ok {
					it.num, it.hasNum = f, true
				} else if f, ok := mv.num(tFloatValue); ok {
					it.num, it.hasNum = f, true
				}
				it.unit = readCode(mv.first(tUnitsCodeSeq)).Value
			}
		}
		kids, err := readTree(e, depth+1)
		if err != nil {
			return nil, err
		}
		it.kids = kids
		out = append(out, it)
	}
	return out, nil
}

// child returns the first direct child named by one of pairs.
func (it *item) child(pairs []cv) *item {
	for _, k := range it.kids {
		if k.name.is(pairs) {
			return k
		}
	}
	return nil
}

// find returns the first item named by pairs, depth first, not descending
// into containers named by stop.
func find(items []*item, pairs []cv, stop []cv) *item {
	for _, k := range items {
		if k.name.is(pairs) {
			return k
		}
		if stop != nil && k.name.is(stop) {
			continue
		}
		if f := find(k.kids, pairs, stop); f != nil {
			return f
		}
	}
	return nil
}

// findAll returns every item named by pairs, depth first, not descending
// into containers named by stop.
func findAll(items []*item, pairs []cv, stop []cv, out []*item) []*item {
	for _, k := range items {
		if k.name.is(pairs) {
			out = append(out, k)
			continue
		}
		if stop != nil && k.name.is(stop) {
			continue
		}
		out = findAll(k.kids, pairs, stop, out)
	}
	return out
}

// srReader extracts figures from one SR tree, collecting warnings.
type srReader struct {
	rep *DoseReport
}

func (r *srReader) warn(format string, args ...any) {
	if len(r.rep.Warnings) < 50 {
		r.rep.Warnings = append(r.rep.Warnings, fmt.Sprintf(format, args...))
	}
}

// quantity converts a NUM item; nil when absent, empty or in a unit that is
// not one of dim (with a warning: the figure is skipped, never guessed).
func (r *srReader) quantity(it *item, dim ledger.Dimension) *ledger.Quantity {
	if it == nil || !it.hasNum {
		return nil
	}
	q, err := ledger.NewQuantity(it.num, it.unit, dim)
	if err != nil {
		r.warn("%s: %v; figure skipped", it.name, err)
		return nil
	}
	return &q
}

// addQ adds q to *dst, keeping the raw sum when the raw units agree.
func addQ(dst **ledger.Quantity, q *ledger.Quantity) {
	if q == nil {
		return
	}
	if *dst == nil {
		c := *q
		*dst = &c
		return
	}
	d := *dst
	d.Value += q.Value
	if d.RawUnit == q.RawUnit {
		d.Raw += q.Raw
	} else {
		d.Raw, d.RawUnit = d.Value, d.Unit
	}
}

// readSR reads a dose SR (root already checked) into rep.Exam.
func readSR(ds elems, root code, rep *DoseReport) error {
	tree, err := readTree(ds, 0)
	if err != nil {
		return err
	}
	r := &srReader{rep: rep}
	x := &rep.Exam
	switch {
	case root.is(cRadiopharmDoseReport):
		x.Domain = ledger.DomainNM
	case root.is(cSiemensRadSummary):
		r.siemensSummary(tree)
		return nil
	default:
		x.Domain = r.domain(tree)
	}
	if x.Domain == "" {
		return refuse("ContentSequence", "dose report without a procedure reported (121058 DCM) nor CT or projection dose containers")
	}
	r.context(tree)
	switch x.Domain {
	case ledger.DomainCT:
		r.ct(tree)
	case ledger.DomainProjection, ledger.DomainMammography:
		r.projection(tree)
	case ledger.DomainNM:
		r.nm(tree)
	}
	if x.Modality == "" || x.Modality == "SR" {
		x.Modality = map[ledger.Domain]string{ledger.DomainCT: "CT", ledger.DomainProjection: "DX",
			ledger.DomainMammography: "MG", ledger.DomainNM: "NM"}[x.Domain]
		if x.Domain == ledger.DomainProjection && x.Projection != nil && x.Projection.FluoroTime != nil && x.Projection.FluoroTime.Value > 0 {
			x.Modality = "RF"
		}
	}
	return nil
}

// domain tells the template from the procedure reported, or from the
// content when the report does not say.
func (r *srReader) domain(tree []*item) ledger.Domain {
	if p := find(tree, cProcedureReported, cAccumulated); p != nil {
		switch {
		case p.value.is(cCTProc):
			return ledger.DomainCT
		case p.value.is(cMammographyProc):
			return ledger.DomainMammography
		case p.value.is(cProjectionXRay):
			if find(tree, cAGDAccumulated, nil) != nil || find(tree, cAGDEvent, nil) != nil {
				return ledger.DomainMammography
			}
			return ledger.DomainProjection
		}
	}
	switch {
	case find(tree, cCTAccumulated, nil) != nil || find(tree, cCTAcquisition, nil) != nil:
		return ledger.DomainCT
	case find(tree, cAGDAccumulated, nil) != nil || find(tree, cAGDEvent, nil) != nil:
		return ledger.DomainMammography
	case find(tree, cAccumulated, nil) != nil || find(tree, cEvent, nil) != nil:
		return ledger.DomainProjection
	}
	return ""
}

// context reads the device observer and the patient characteristics, which
// fill what the dataset's own attributes left empty.
func (r *srReader) context(tree []*item) {
	x := &r.rep.Exam
	text := func(pairs []cv) string {
		for _, k := range tree {
			if k.name.is(pairs) {
				return strings.TrimSpace(k.text)
			}
		}
		return ""
	}
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	fill(&x.Device.Manufacturer, text(cObserverManufacturer))
	fill(&x.Device.Model, text(cObserverModel))
	fill(&x.Device.Station, text(cObserverName))
	fill(&x.Device.Serial, text(cObserverSerial))
	pc := find(tree, cPatientCharacteristics, nil)
	if pc == nil {
		return
	}
	if a := pc.child(cAge); a != nil && a.hasNum && x.Patient.Age == "" {
		unit := map[string]string{"a": "Y", "mo": "M", "wk": "W", "d": "D"}[a.unit]
		if unit != "" && a.num >= 0 && a.num < 1000 {
			x.Patient.Age = fmt.Sprintf("%03d%s", int(a.num), unit)
		}
	}
	if x.Patient.Weight == nil {
		x.Patient.Weight = r.quantity(pc.child(cWeight), ledger.DimMass)
	}
	if x.Patient.Height == nil {
		x.Patient.Height = r.quantity(pc.child(cHeight), ledger.DimHeight)
	}
}

// ct reads TID 10011: the accumulated DLP and every irradiation event.
func (r *srReader) ct(tree []*item) {
	c := &ledger.CTDose{}
	for _, acc := range findAll(tree, cCTAccumulated, nil, nil) {
		if q := r.quantity(acc.child(cDLPTotal), ledger.DimDLP); q != nil {
			addQ(&c.DLPTotal, q)
		}
	}
	for _, ev := range findAll(tree, cCTAcquisition, nil, nil) {
		e := ledger.CTEvent{}
		if u := ev.child(cEventUID); u != nil {
			e.UID = strings.TrimSpace(u.text)
		}
		if p := ev.child(cProtocol); p != nil {
			e.Protocol = strings.TrimSpace(p.text)
		}
		if t := ev.child(cTargetRegion); t != nil {
			e.TargetRegion = t.value.ledger()
		}
		if t := ev.child(cCTAcqType); t != nil {
			e.AcquisitionType = t.value.ledger()
		}
		if d := find(ev.kids, cCTDose, nil); d != nil {
			e.CTDIvol = r.quantity(d.child(cCTDIvol), ledger.DimDose)
			e.DLP = r.quantity(d.child(cDLP), ledger.DimDLP)
			if p := d.child(cPhantom); p != nil {
				e.Phantom = p.value.ledger()
			}
		}
		e.SSDE = r.quantity(find(ev.kids, cSSDE, nil), ledger.DimDose)
		e.ScanLength = r.quantity(find(ev.kids, cScanLength, nil), ledger.DimLength)
		e.ExposureTime = r.quantity(find(ev.kids, cExposureTime, nil), ledger.DimTime)
		e.WED = r.quantity(find(ev.kids, cWED, nil), ledger.DimLength)
		for _, src := range findAll(ev.kids, cXRaySource, nil, nil) {
			s := ledger.CTSource{KVP: r.quantity(src.child(cKVP), ledger.DimVoltage),
				MaxCurrent:   r.quantity(src.child(cMaxTubeCurr), ledger.DimCurrent),
				Current:      r.quantity(src.child(cTubeCurrent), ledger.DimCurrent),
				RotationTime: r.quantity(src.child(cRotationTime), ledger.DimTime)}
			if id := src.child(cSourceID); id != nil {
				s.ID = strings.TrimSpace(id.text)
			}
			e.Sources = append(e.Sources, s)
		}
		c.Events = append(c.Events, e)
	}
	r.rep.Exam.CT = c
	if r.rep.Exam.Protocol == "" && len(c.Events) > 0 {
		r.rep.Exam.Protocol = c.Events[len(c.Events)-1].Protocol
	}
}

// projection reads TID 10001: the accumulated data of every plane (summed)
// and every irradiation event; mammography (TID 10005) adds glandular doses
// per breast.
func (r *srReader) projection(tree []*item) {
	x := &r.rep.Exam
	p := &ledger.ProjectionDose{}
	var mg *ledger.MammographyDose
	if x.Domain == ledger.DomainMammography {
		mg = &ledger.MammographyDose{}
	}
	for _, acc := range findAll(tree, cAccumulated, cEvent, nil) {
		p.Planes++
		one := func(pairs []cv, dim ledger.Dimension, dst **ledger.Quantity) {
			addQ(dst, r.quantity(find(acc.kids, pairs, cEvent), dim))
		}
		one(cDAPTotal, ledger.DimDAP, &p.DAPTotal)
		one(cRPTotal, ledger.DimDose, &p.RPTotal)
		one(cFluoroDAP, ledger.DimDAP, &p.FluoroDAP)
		one(cFluoroRP, ledger.DimDose, &p.FluoroRP)
		one(cAcqDAP, ledger.DimDAP, &p.AcqDAP)
		one(cAcqRP, ledger.DimDose, &p.AcqRP)
		one(cFluoroTime, ledger.DimTime, &p.FluoroTime)
		one(cAcqTime, ledger.DimTime, &p.AcqTime)
		if f := find(acc.kids, cFrames, cEvent); f != nil && f.hasNum && f.num >= 0 && f.num < 1e9 {
			p.Frames += int(f.num)
		}
		if mg != nil {
			for _, a := range findAll(acc.kids, cAGDAccumulated, cEvent, nil) {
				q := r.quantity(a, ledger.DimDose)
				switch laterality(a) {
				case "L":
					addQ(&mg.AGDLeft, q)
				case "R":
					addQ(&mg.AGDRight, q)
				default:
					addQ(&mg.AGDBoth, q)
				}
			}
		}
	}
	for _, ev := range findAll(tree, cEvent, nil, nil) {
		uid := ""
		if u := ev.child(cEventUID); u != nil {
			uid = strings.TrimSpace(u.text)
		}
		if mg != nil {
			e := ledger.MammographyEvent{UID: uid, Laterality: laterality(ev),
				AGD: r.quantity(ev.child(cAGDEvent), ledger.DimDose), Thickness: r.quantity(ev.child(cCompression), ledger.DimLength)}
			if v := ev.child(cImageView); v != nil {
				e.View = v.value.ledger()
			}
			mg.Events = append(mg.Events, e)
			continue
		}
		e := ledger.ProjectionEvent{UID: uid, DAP: r.quantity(ev.child(cEventDAP), ledger.DimDAP),
			RP: r.quantity(ev.child(cEventRP), ledger.DimDose)}
		if t := ev.child(cEventType); t != nil {
			e.Type = t.value.ledger()
			e.Fluoro = t.value.is(cFluoroscopy)
		}
		e.Duration = r.quantity(find(ev.kids, cDuration, nil), ledger.DimTime)
		if pr := ev.child(cProtocol); pr != nil {
			e.Protocol = strings.TrimSpace(pr.text)
		}
		e.Geometry = r.geometry(ev)
		p.Events = append(p.Events, e)
	}
	if x.Protocol == "" {
		for _, e := range p.Events {
			if e.Protocol != "" {
				x.Protocol = e.Protocol
				break
			}
		}
	}
	if mg != nil {
		x.Mammography = mg
		return
	}
	x.Projection = p
}

// Units of the geometry figures: each to the fixed unit of
// ledger.Geometry. A figure in another unit is skipped with a warning.
var (
	unitsAngle  = map[string]float64{"deg": 1}
	unitsLength = map[string]float64{"mm": 1, "cm": 10, "m": 1000}
	unitsArea   = map[string]float64{"m2": 1e4, "cm2": 1, "mm2": 0.01}
	unitsKV     = map[string]float64{"kV": 1}
)

// num returns the value of a NUM child in a fixed unit, or nil.
func (r *srReader) num(it *item, units map[string]float64) *float64 {
	if it == nil || !it.hasNum {
		return nil
	}
	f, ok := units[it.unit]
	if !ok {
		r.warn("%s: unit %q not understood; figure skipped", it.name, it.unit)
		return nil
	}
	v := it.num * f
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// geometry reads the geometry of a projection irradiation event (TID
// 10003A/B/C), or nil when it reports none.
func (r *srReader) geometry(ev *item) *ledger.Geometry {
	g := &ledger.Geometry{
		PrimaryAngle:      r.num(find(ev.kids, cPrimaryAngle, nil), unitsAngle),
		SecondaryAngle:    r.num(find(ev.kids, cSecondaryAngle, nil), unitsAngle),
		TableLongitudinal: r.num(find(ev.kids, cTableLong, nil), unitsLength),
		TableLateral:      r.num(find(ev.kids, cTableLat, nil), unitsLength),
		TableHeight:       r.num(find(ev.kids, cTableHeight, nil), unitsLength),
		FieldArea:         r.num(find(ev.kids, cFieldArea, nil), unitsArea),
		FieldHeight:       r.num(find(ev.kids, cFieldHeight, nil), unitsLength),
		FieldWidth:        r.num(find(ev.kids, cFieldWidth, nil), unitsLength),
		SourceToIsocenter: r.num(find(ev.kids, cSourceIso, nil), unitsLength),
		SourceToDetector:  r.num(find(ev.kids, cSourceDetector, nil), unitsLength),
		SourceToRP:        r.num(find(ev.kids, cSourceRP, nil), unitsLength),
		KVP:               r.num(find(ev.kids, cKVP, nil), unitsKV),
	}
	for _, f := range findAll(ev.kids, cXRayFilters, nil, nil) {
		if m := f.child(cFilterMaterial); m == nil || !m.value.is(cCopper) {
			continue
		}
		t := r.num(f.child(cFilterMax), unitsLength)
		if t == nil {
			t = r.num(f.child(cFilterMin), unitsLength)
		}
		if t != nil && (g.CopperFilter == nil || *t > *g.CopperFilter) {
			g.CopperFilter = t
		}
	}
	for _, f := range g.Fields() {
		if *f != nil {
			return g
		}
	}
	return nil
}

// siemensSummary reads Siemens' Radiation Summary Report: cumulative DAP,
// air kerma and fluoroscopy time of the examination, without events.
func (r *srReader) siemensSummary(tree []*item) {
	x := &r.rep.Exam
	x.Domain = ledger.DomainProjection
	p := &ledger.ProjectionDose{Planes: 1}
	p.DAPTotal = r.quantity(find(tree, cSiemensDAP, nil), ledger.DimDAP)
	p.RPTotal = r.quantity(find(tree, cSiemensAirKerma, nil), ledger.DimDose)
	p.FluoroTime = r.quantity(find(tree, cSiemensFluoroTime, nil), ledger.DimTime)
	if f := find(tree, cSiemensExposures, nil); f != nil && f.hasNum && f.num >= 0 && f.num < 1e9 {
		p.Frames = int(f.num)
	}
	x.Projection = p
	if x.Modality == "" || x.Modality == "SR" {
		x.Modality = "RF"
	}
}

// laterality returns L, R or B from the laterality modifier found in it
// (its own, or that of its anatomical structure), or "".
func laterality(it *item) string {
	l := find(it.kids, cLaterality, nil)
	if l == nil {
		return ""
	}
	switch {
	case l.value.is(cLeft):
		return "L"
	case l.value.is(cRight):
		return "R"
	case l.value.is(cBoth):
		return "B"
	}
	return ""
}

// nm reads TID 10021: every radiopharmaceutical administration.
func (r *srReader) nm(tree []*item) {
	n := &ledger.NMDose{}
	for _, ad := range findAll(tree, cAdministration, nil, nil) {
		a := ledger.Administration{Activity: r.quantity(ad.child(cActivity), ledger.DimActivity)}
		if u := ad.child(cAdminUID); u != nil {
			a.UID = strings.TrimSpace(u.text)
		}
		if ag := ad.child(cAgent); ag != nil {
			a.Radiopharmaceutical = ag.value.ledger()
			if rn := ag.child(cRadionuclide); rn != nil {
				a.Radionuclide = rn.value.ledger()
			}
		}
		if a.Radionuclide.IsZero() {
			if rn := ad.child(cRadionuclide); rn != nil {
				a.Radionuclide = rn.value.ledger()
			}
		}
		if s := ad.child(cAdminStart); s != nil {
			a.Start = isoDateTime(s.text)
		}
		n.Administrations = append(n.Administrations, a)
	}
	r.rep.Exam.NM = n
}

// isoDateTime turns a DICOM DT (YYYYMMDDHHMMSS.frac+zone) into
// YYYY-MM-DDTHH:MM:SS, or returns it trimmed when it is not one.
func isoDateTime(dt string) string {
	dt = strings.TrimSpace(dt)
	d := isoDate(dt)
	if d == "" {
		return dt
	}
	if t := isoTime(dt[8:]); t != "" {
		return d + "T" + t
	}
	return d
}

// formatNum prints a raw figure for keys and messages without float noise.
func formatNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
