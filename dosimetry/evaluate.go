package dosimetry

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"vigie"
	"vigie/ledger"
)

// Source is where evaluations and alert scans read stored exams:
// *ledger.Ledger, or a test's slice (Entries). fn may keep the entry it is
// given after it returns: each call must get its own (ledger.Each decodes
// every entry into a new value).
type Source interface {
	Each(ctx context.Context, fn func(*ledger.Entry) error) error
}

// SiteSource is a Source that can also read the exams of one site alone
// over a period (*ledger.Ledger: rows clustered by site and date).
// Evaluate and Scanner.Check use it when the query names a site, so that a
// site's year does not cost a walk over the whole regional ledger. from and
// to are ISO dates, both inclusive, empty for no bound; the source may
// give more exams than the period (the callers filter), never fewer.
type SiteSource interface {
	Source
	EachSite(ctx context.Context, authority, from, to string, fn func(*ledger.Entry) error) error
}

// each walks the exams of site (all sites when empty), through the site
// index when src has one.
func each(ctx context.Context, src Source, site, from, to string, fn func(*ledger.Entry) error) error {
	if ss, ok := src.(SiteSource); ok && site != "" {
		return ss.EachSite(ctx, site, from, to, fn)
	}
	return src.Each(ctx, fn)
}

// Entries is a Source over entries held in memory.
type Entries []ledger.Entry

// Each calls fn for every entry.
func (es Entries) Each(ctx context.Context, fn func(*ledger.Entry) error) error {
	for i := range es {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(&es[i]); err != nil {
			return err
		}
	}
	return nil
}

// Query selects the evaluations to compute. Empty fields select every
// value; From and To are ISO dates, both inclusive.
type Query struct {
	Site       string     `json:"site,omitempty"`   // assigning authority of the producing site
	Device     string     `json:"device,omitempty"` // DeviceID
	ExamType   string     `json:"exam_type,omitempty"`
	From       string     `json:"from,omitempty"`
	To         string     `json:"to,omitempty"`
	Population Population `json:"population,omitempty"` // default adult
}

// DeviceID names a device in evaluations: manufacturer, model, station,
// and the serial number when given.
func DeviceID(d ledger.Device) string {
	s := d.String()
	if d.Serial != "" {
		s += " #" + d.Serial
	}
	if s == "" {
		return "(appareil inconnu)"
	}
	return s
}

// Evaluator computes NRD evaluations.
type Evaluator struct {
	Types *Table
	NRD   *NRDTable
	// Sex, when set, gives the sex (M, F, O) of a source record: the ledger
	// does not keep it, the patient index does. The IRSN export leaves the
	// column empty without it.
	Sex func(vigie.SourceKey) string
	// Age, when set, gives a patient's age in years on an exam date (from
	// the birth date the patient index keeps) for exams whose DICOM header
	// gives no age; without it such patients are left out of surveys.
	Age func(k vigie.SourceKey, date string) (float64, bool)
}

// Record is one patient's exam in a survey. It carries no identifier of
// the patient beyond what the evaluation needs to count patients once.
type Record struct {
	Key       vigie.SourceKey `json:"-"`
	SOP       string          `json:"sop_instance_uid"`
	StudyUID  string          `json:"study_uid,omitempty"`
	Date      string          `json:"date"`
	Sex       string          `json:"sex,omitempty"`
	AgeYears  float64         `json:"age_years"`
	WeightKg  float64         `json:"weight_kg,omitempty"`
	HeightM   float64         `json:"height_m,omitempty"`
	Values    []float64       `json:"values"` // one per Evaluation.Indicators, in its unit; NaN when missing
	Phantom   string          `json:"ctdi_phantom_cm,omitempty"`
	Thickness float64         `json:"breast_thickness_mm,omitempty"`
	Agent     string          `json:"radiopharmaceutical,omitempty"`
}

// Stat is the distribution of one indicator over a survey and its
// comparison with the reference levels.
type Stat struct {
	IndicatorUnit
	N        int      `json:"n"`
	Median   float64  `json:"median"`
	Q1       float64  `json:"q1"`
	Q3       float64  `json:"q3"`
	Min      float64  `json:"min"`
	Max      float64  `json:"max"`
	NRD      *float64 `json:"nrd,omitempty"`
	VGD      *float64 `json:"vgd,omitempty"`
	AboveNRD bool     `json:"above_nrd"` // the median is above the NRD: corrective action is required
	AboveVGD bool     `json:"above_vgd"` // the median is above the guide value: optimisation is possible
	// Note is NoNRD, then the table's note, when there is no NRD.
	Note string `json:"note,omitempty"`
	// Source says where the NRD and VGD come from (NRDEntry.Cited).
	Source string `json:"source,omitempty"`
}

// Evaluation is the survey of one site, device and exam type over a period.
type Evaluation struct {
	Site       string     `json:"site"`
	Device     string     `json:"device"`
	ExamType   string     `json:"exam_type"`
	Label      string     `json:"label"`
	Kind       Kind       `json:"kind"`
	Population Population `json:"population"`
	// Class is the paediatric class of a child survey ("1–5 ans"), when
	// the NRD table splits the exam type's children into classes.
	Class string `json:"class,omitempty"`
	From  string `json:"from,omitempty"`
	To    string `json:"to,omitempty"`
	// Patients is the number of patients counted in the survey (one exam
	// each: their first of the period that could be measured).
	Patients   int             `json:"patients"`
	Indicators []IndicatorUnit `json:"indicators"`
	Stats      []Stat          `json:"stats"`
	Valid      bool            `json:"valid"`
	// Reasons say why the survey is not valid (empty when it is).
	Reasons []string `json:"reasons,omitempty"`
	// Excluded counts the patients left out, by reason.
	Excluded   map[string]int `json:"excluded,omitempty"`
	WeightBand *WeightBand    `json:"weight_band_kg,omitempty"`
	Records    []Record       `json:"records"`
}

// groupKey is a survey: site, device and exam type.
type groupKey struct{ site, device, examType string }

// study is the entries of one study of one patient in one survey.
type study struct {
	key     string // date and time, for ordering
	uid     string
	entries []*ledger.Entry
	event   int // radiography: index of the projection event, -1 for the exam total
}

// Evaluate computes the evaluations the query selects, one per site,
// device and exam type with at least one exam, in that order (and, for
// children, one per paediatric class of the NRD table).
//
// Counting rules:
//   - one exam per patient (source record): the first study of the period
//     whose indicators can be measured; the entries of a study are merged
//     (event UIDs counted once), superseded header figures are left out;
//   - radiography: the PDS of one projection, the first projection event
//     whose own protocol (alone, else with the exam's description)
//     classifies to the exam type; an event without a protocol takes the
//     exam's type, so of an exam whose projections are not described the
//     first one counts (a header image is one projection);
//   - CT: CTDIvol and DLP of the single helix covering the named region
//     (CTHelix);
//   - mammography: mean glandular dose per view, the mean of the exposures;
//   - interventional: the study's DAP, air kerma at the reference point and
//     fluoroscopy time; nuclear medicine: the study's administered activity;
//   - patients of the other population are not counted; an adult survey of
//     an exam type with a weight band counts only adults whose weight is
//     known and in the band.
func (ev *Evaluator) Evaluate(ctx context.Context, src Source, q Query) ([]*Evaluation, error) {
	if ev.Types == nil || ev.NRD == nil {
		return nil, vigie.Errorf(vigie.EINVALID, "dosimetry: evaluate: the evaluator needs a mapping table and an NRD table")
	}
	if q.Population == "" {
		q.Population = Adult
	}
	if q.Population != Adult && q.Population != Child {
		return nil, vigie.Invalid("population", "%q is not adult or child", q.Population)
	}
	for _, d := range []struct{ f, v string }{{"from", q.From}, {"to", q.To}} {
		if d.v != "" && !isISODate(d.v) {
			return nil, vigie.Invalid(d.f, "%q is not a date YYYY-MM-DD", d.v)
		}
	}
	if q.ExamType != "" && ev.Types.Type(q.ExamType) == nil {
		return nil, vigie.Invalid("exam_type", "%q is not an exam type of the mapping table", q.ExamType)
	}
	groups := map[groupKey]map[vigie.SourceKey]map[string]*study{}
	cache := map[string][]assignment{}
	err := each(ctx, src, q.Site, q.From, q.To, func(e *ledger.Entry) error {
		x := &e.Exam
		if e.Excluded() || (q.Site != "" && x.Key.Authority != q.Site) {
			return nil
		}
		if (q.From != "" && x.Date < q.From) || (q.To != "" && x.Date > q.To) {
			return nil
		}
		dev := DeviceID(x.Device)
		if q.Device != "" && dev != q.Device {
			return nil
		}
		for _, a := range ev.assign(x, cache) {
			if q.ExamType != "" && a.examType != q.ExamType {
				continue
			}
			g := groupKey{x.Key.Authority, dev, a.examType}
			pats := groups[g]
			if pats == nil {
				pats = map[vigie.SourceKey]map[string]*study{}
				groups[g] = pats
			}
			sts := pats[x.Key]
			if sts == nil {
				sts = map[string]*study{}
				pats[x.Key] = sts
			}
			sk := x.StudyUID
			if sk == "" {
				sk = "sop:" + x.SOPInstanceUID
			}
			s := sts[sk]
			d := x.Date + "T" + x.Time
			if s == nil {
				s = &study{key: d, uid: sk, event: a.event}
				sts[sk] = s
			}
			if d < s.key {
				s.key = d
			}
			s.entries = append(s.entries, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dosimetry: evaluate: %w", err)
	}
	keys := make([]groupKey, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.site != b.site {
			return a.site < b.site
		}
		if a.device != b.device {
			return a.device < b.device
		}
		return a.examType < b.examType
	})
	out := make([]*Evaluation, 0, len(keys))
	for _, k := range keys {
		out = append(out, ev.evaluate(k, groups[k], q)...)
	}
	return out, nil
}

// assignment is one survey an exam feeds: the exam type and, for
// radiography, the projection event measured (-1: the exam total).
type assignment struct {
	examType string
	event    int
}

// assign returns the surveys an exam feeds. The answer depends only on
// the exam's modality, domain, descriptions, acquisition protocols and
// regions, so it is cached under those raw strings: a site's exams repeat
// a few hundred descriptions, and folding text costs more than a lookup.
func (ev *Evaluator) assign(x *ledger.Exam, cache map[string][]assignment) []assignment {
	ck := rawSignature(x)
	if as, ok := cache[ck]; ok {
		return as
	}
	as := ev.assignUncached(x)
	if len(cache) < 100000 {
		cache[ck] = as
	}
	return as
}

func (ev *Evaluator) assignUncached(x *ledger.Exam) []assignment {
	m := ev.Types.classify(x, ExamText(x), "")
	if m.ExamType == NoExamType {
		return nil
	}
	et := ev.Types.Type(m.ExamType)
	if x.Domain != ledger.DomainProjection || x.Projection == nil || len(x.Projection.Events) == 0 ||
		(et != nil && et.Kind == KindInterventional) {
		if m.ExamType == "" {
			return nil
		}
		return []assignment{{m.ExamType, -1}}
	}
	// Radiography: each projection is classified by its own protocol;
	// an exam feeds each type once, with its first projection of it.
	var out []assignment
	var base string
	for i, pe := range x.Projection.Events {
		t := m.ExamType
		if strings.TrimSpace(pe.Protocol) != "" {
			// The projection's own protocol first ("Thorax Lat"), then
			// with the exam's text for protocols that do not name the
			// region ("PA" in a "RADIO THORAX" exam).
			t = ev.Types.classify(x, "", pe.Protocol).ExamType
			if t == "" {
				if base == "" {
					base = examText(x, false)
				}
				t = ev.Types.classify(x, base, pe.Protocol).ExamType
			}
		}
		if t == "" || t == NoExamType {
			continue
		}
		if pt := ev.Types.Type(t); pt == nil || pt.Kind != KindRadiography {
			continue
		}
		dup := false
		for _, a := range out {
			dup = dup || a.examType == t
		}
		if !dup {
			out = append(out, assignment{t, i})
		}
	}
	return out
}

// rawSignature is everything classification reads from an exam, unfolded.
func rawSignature(x *ledger.Exam) string {
	var b strings.Builder
	for _, s := range []string{x.Modality, string(x.Domain), x.Procedure, x.Protocol} {
		b.WriteString(s)
		b.WriteByte(0)
	}
	if c := x.CT; c != nil {
		for i := range c.Events {
			ev := &c.Events[i]
			b.WriteString(ev.Protocol)
			b.WriteByte(1)
			b.WriteString(ev.TargetRegion.Value)
			b.WriteByte(1)
			b.WriteString(ev.AcquisitionType.Value)
			b.WriteString(ev.AcquisitionType.Meaning)
			b.WriteByte(2)
		}
	}
	b.WriteByte(0)
	if p := x.Projection; p != nil {
		for _, ev := range p.Events {
			b.WriteString(ev.Protocol)
			b.WriteByte(2)
		}
	}
	b.WriteByte(0)
	if n := x.NM; n != nil {
		for _, a := range n.Administrations {
			b.WriteString(a.Radiopharmaceutical.Meaning)
			b.WriteByte(2)
		}
	}
	return b.String()
}

// evaluate computes the evaluations of one survey group: one, or one per
// paediatric class when the child entries of the exam type have classes.
func (ev *Evaluator) evaluate(k groupKey, pats map[vigie.SourceKey]map[string]*study, q Query) []*Evaluation {
	et := ev.Types.Type(k.examType)
	base := Evaluation{Site: k.site, Device: k.device, ExamType: k.examType, Label: et.Label, Kind: et.Kind,
		Population: q.Population, From: q.From, To: q.To}
	entries := ev.NRD.entries(k.examType, q.Population)
	seen := map[IndicatorUnit]bool{}
	for _, n := range entries {
		iu := IndicatorUnit{n.Indicator, n.Unit}
		if !seen[iu] {
			seen[iu] = true
			base.Indicators = append(base.Indicators, iu)
		}
	}
	if len(base.Indicators) == 0 {
		base.Indicators = append(base.Indicators, defaultIndicators[et.Kind]...)
	}
	if q.Population == Adult {
		base.WeightBand = ev.NRD.weightBand(k.examType)
	}
	recs, excluded := ev.records(et, pats, q, base.Indicators, base.WeightBand)

	// Paediatric classes, in file order.
	type class struct {
		label   string
		age, w  *Band
		entries []*NRDEntry
	}
	var classes []*class
	byLabel := map[string]*class{}
	for _, n := range entries {
		l := n.Class()
		if l == "" {
			continue
		}
		c := byLabel[l]
		if c == nil {
			c = &class{label: l, age: n.AgeBand, w: n.WeightBand}
			byLabel[l] = c
			classes = append(classes, c)
		}
		c.entries = append(c.entries, n)
	}
	if len(classes) == 0 {
		e := base
		e.Excluded = excluded
		ev.finish(&e, recs, entries)
		return []*Evaluation{&e}
	}
	out := make([]*Evaluation, 0, len(classes))
	for _, c := range classes {
		e := base
		e.Class = c.label
		e.Excluded = map[string]int{}
		for why, n := range excluded {
			e.Excluded[why] = n
		}
		var in []Record
		for _, r := range recs {
			if (c.age == nil || c.age.contains(r.AgeYears)) && (c.w == nil || (r.WeightKg > 0 && c.w.contains(r.WeightKg))) {
				in = append(in, r)
			}
		}
		if n := len(recs) - len(in); n > 0 {
			e.Excluded["enfants d'une autre classe d'âge ou de poids"] = n
		}
		ev.finish(&e, in, c.entries)
		out = append(out, &e)
	}
	return out
}

// records picks each patient's exam for a survey: their first study that
// can be measured, of the population, in the weight band when there is
// one. It counts the patients left out by reason.
func (ev *Evaluator) records(et *ExamType, pats map[vigie.SourceKey]map[string]*study, q Query, inds []IndicatorUnit, band *WeightBand) ([]Record, map[string]int) {
	excluded := map[string]int{}
	// Patients in a stable order, so that the records (and the export)
	// come out the same every time.
	pkeys := make([]vigie.SourceKey, 0, len(pats))
	for pk := range pats {
		pkeys = append(pkeys, pk)
	}
	sort.Slice(pkeys, func(i, j int) bool {
		if pkeys[i].Authority != pkeys[j].Authority {
			return pkeys[i].Authority < pkeys[j].Authority
		}
		return pkeys[i].LocalID < pkeys[j].LocalID
	})
	var recs []Record
	otherPop := 0
	for _, pk := range pkeys {
		sts := make([]*study, 0, len(pats[pk]))
		for _, s := range pats[pk] {
			sts = append(sts, s)
		}
		sort.Slice(sts, func(i, j int) bool {
			if sts[i].key != sts[j].key {
				return sts[i].key < sts[j].key
			}
			return sts[i].uid < sts[j].uid
		})
		var rec *Record
		var why string
		for _, s := range sts {
			r, reason := ev.measure(et, s, inds)
			if reason == "" {
				rec = r
				break
			}
			if why == "" {
				why = reason
			}
		}
		if rec == nil {
			excluded[why]++
			continue
		}
		rec.Key = pk
		if ev.Sex != nil {
			rec.Sex = ev.Sex(pk)
		}
		if math.IsNaN(rec.AgeYears) && ev.Age != nil {
			if a, ok := ev.Age(pk, rec.Date); ok && a >= 0 {
				rec.AgeYears = a
			}
		}
		switch {
		case math.IsNaN(rec.AgeYears):
			excluded["âge inconnu"]++
			continue
		case (rec.AgeYears >= ev.NRD.Survey.AdultAge) != (q.Population == Adult):
			otherPop++
			continue
		}
		if band != nil {
			if rec.WeightKg == 0 {
				excluded["poids inconnu (bande de poids requise)"]++
				continue
			}
			if rec.WeightKg < band.Min || rec.WeightKg > band.Max {
				excluded[fmt.Sprintf("poids hors de la bande %s–%s kg", fmtNum(band.Min), fmtNum(band.Max))]++
				continue
			}
		}
		recs = append(recs, *rec)
	}
	if otherPop > 0 {
		other := "enfants"
		if q.Population == Child {
			other = "adultes"
		}
		excluded[other+" (autre population)"] = otherPop
	}
	return recs, excluded
}

// finish computes an evaluation's statistics, its comparison with the
// entries' reference levels and its validity.
func (ev *Evaluator) finish(e *Evaluation, recs []Record, entries []*NRDEntry) {
	e.Records = recs
	e.Patients = len(recs)
	for i, iu := range e.Indicators {
		vals := make([]float64, 0, len(recs))
		for _, r := range recs {
			if v := r.Values[i]; !math.IsNaN(v) {
				vals = append(vals, v)
			}
		}
		st := Stat{IndicatorUnit: iu, N: len(vals)}
		if len(vals) > 0 {
			sort.Float64s(vals)
			st.Min, st.Max = vals[0], vals[len(vals)-1]
			st.Q1, st.Median, st.Q3 = Quantile(vals, 0.25), Quantile(vals, 0.5), Quantile(vals, 0.75)
		}
		for _, n := range entries {
			if n.Indicator == iu.Indicator && n.Unit == iu.Unit {
				st.NRD, st.VGD, st.Note = n.NRD, n.VGD, n.Note
				if n.NRD != nil || n.VGD != nil {
					st.Source = n.Cited(ev.NRD)
				}
			}
		}
		if st.NRD == nil {
			st.Note = strings.TrimSuffix(NoNRD+" : "+st.Note, " : ")
		}
		if st.N > 0 {
			st.AboveNRD = st.NRD != nil && st.Median > *st.NRD
			st.AboveVGD = st.VGD != nil && st.Median > *st.VGD
		}
		e.Stats = append(e.Stats, st)
	}
	min := ev.NRD.Survey.MinAdults
	who := "adultes"
	if e.Population == Child {
		min, who = ev.NRD.Survey.MinChildren, "enfants"
	}
	if e.Patients < min {
		r := fmt.Sprintf("%d %s retenus, il en faut au moins %d (décision ASN 2019-DC-0667)", e.Patients, who, min)
		if e.WeightBand != nil {
			r += fmt.Sprintf(" dans la bande de poids %s–%s kg", fmtNum(e.WeightBand.Min), fmtNum(e.WeightBand.Max))
		}
		if e.Class != "" {
			r += " dans la classe " + e.Class
		}
		e.Reasons = append(e.Reasons, r)
	}
	e.Valid = len(e.Reasons) == 0
	if len(e.Excluded) == 0 {
		e.Excluded = nil
	}
}

// measure reads a study's indicators for a survey, or says why it cannot.
func (ev *Evaluator) measure(et *ExamType, s *study, inds []IndicatorUnit) (*Record, string) {
	first := &s.entries[0].Exam
	r := &Record{SOP: first.SOPInstanceUID, StudyUID: first.StudyUID, Date: first.Date, AgeYears: math.NaN()}
	for _, en := range s.entries {
		x := &en.Exam
		if a, ok := AgeYears(x.Patient.Age); ok && math.IsNaN(r.AgeYears) {
			r.AgeYears = a
		}
		if w := x.Patient.Weight; w != nil && w.Value > 0 && r.WeightKg == 0 {
			r.WeightKg = w.Value
		}
		if h := x.Patient.Height; h != nil && h.Value > 0 && r.HeightM == 0 {
			r.HeightM = h.Value
		}
	}
	canon := map[Indicator]float64{}
	var tot ledger.Totals
	for _, en := range s.entries {
		t := en.Effective()
		tot.DLP += t.DLP
		tot.DAP += t.DAP
		tot.RP += t.RP
		tot.FluoroTime += t.FluoroTime
		tot.Activity += t.Activity
	}
	switch et.Kind {
	case KindRadiography:
		x := first
		if s.event >= 0 {
			pe := x.Projection.Events[s.event]
			if pe.DAP == nil {
				return nil, "PDS de l'incidence non renseigné"
			}
			canon[IndPDS] = pe.DAP.Value
		} else {
			// An exam without projection events is one image, one
			// projection: several images of the study are several
			// projections, of which the first with a PDS counts.
			for _, en := range s.entries {
				if d := en.Effective().DAP; d > 0 {
					canon[IndPDS] = d
					break
				}
			}
			if canon[IndPDS] <= 0 {
				return nil, "PDS non renseigné"
			}
		}
	case KindCT:
		h, why := CTHelix(mergeCTEvents(s.entries), et)
		if h == nil {
			return nil, why
		}
		if h.CTDIvol != nil {
			canon[IndCTDIvol] = h.CTDIvol.Value
		}
		if h.DLP != nil {
			canon[IndDLP] = h.DLP.Value
		}
		r.Phantom = phantomCM(h.Phantom)
	case KindMammography:
		agd, th, why := perView(s.entries)
		if why != "" {
			return nil, why
		}
		canon[IndAGD], r.Thickness = agd, th
	case KindInterventional:
		if tot.DAP <= 0 && tot.RP <= 0 {
			return nil, "ni PDS ni kerma au point de référence"
		}
		canon[IndPDS], canon[IndKar], canon[IndFluoroTime] = tot.DAP, tot.RP, tot.FluoroTime
	case KindNM:
		if tot.Activity <= 0 {
			return nil, "activité administrée non renseignée"
		}
		canon[IndActivity] = tot.Activity
		if r.WeightKg > 0 {
			canon[IndActivityPerKg] = tot.Activity / r.WeightKg
		}
		r.Agent = agents(s.entries)
	}
	r.Values = make([]float64, len(inds))
	for i, iu := range inds {
		v, ok := canon[iu.Indicator]
		if !ok {
			return nil, fmt.Sprintf("indicateur %s non renseigné", iu.Indicator)
		}
		r.Values[i] = convert(iu.Indicator, v, iu.Unit)
	}
	return r, ""
}

// mergeCTEvents returns the CT events of a study's entries, each event UID
// once (a continued RDSR repeats the events of the one before).
func mergeCTEvents(es []*ledger.Entry) []ledger.CTEvent {
	var out []ledger.CTEvent
	seen := map[string]bool{}
	for _, en := range es {
		if en.Exam.CT == nil {
			continue
		}
		for _, e := range en.Exam.CT.Events {
			if e.UID != "" {
				if seen[e.UID] {
					continue
				}
				seen[e.UID] = true
			}
			out = append(out, e)
		}
	}
	return out
}

// CTHelix returns the CT irradiation event whose CTDIvol and DLP an NRD
// survey of the exam type takes, or nil and the reason none can be taken.
//
// IRSN requires the figures of a single helix covering exactly the named
// region (a TAP done as a thorax helix plus an abdomen-pelvis helix would
// count the abdomen twice, so it is not summed). The rule:
//  1. scouts (acquisition type 113805, constant angle) never count; nor do
//     stationary acquisitions (113806: bolus-tracking monitoring) when a
//     helical or sequenced acquisition exists;
//  2. among the remaining events carrying a dose, those whose target region
//     code is one of the exam type's TargetRegions are the candidates, and
//     the one with the highest DLP is taken (the diagnostic helix of a
//     multi-phase exam, never a partial one);
//  3. with no region-coded candidate, an exam with exactly one remaining
//     event takes it (one helix covers the region the exam is named after);
//  4. otherwise the exam is left out of the survey: it has several
//     acquisitions and none is coded as covering the region.
func CTHelix(events []ledger.CTEvent, et *ExamType) (*ledger.CTEvent, string) {
	var acq, stationary []*ledger.CTEvent
	for i := range events {
		e := &events[i]
		if IsScout(e) || (e.CTDIvol == nil && e.DLP == nil) {
			continue
		}
		if e.AcquisitionType.Value == "113806" {
			stationary = append(stationary, e)
			continue
		}
		acq = append(acq, e)
	}
	if len(acq) == 0 {
		acq = stationary
	}
	if len(acq) == 0 {
		return nil, "aucune acquisition scanographique dosimétrée hors topogramme"
	}
	var best *ledger.CTEvent
	for _, e := range acq {
		if contains(et.TargetRegions, e.TargetRegion.Value) && (best == nil || dlp(e) > dlp(best)) {
			best = e
		}
	}
	if best != nil {
		return best, ""
	}
	if len(acq) == 1 {
		return acq[0], ""
	}
	return nil, "plusieurs hélices, aucune codée comme couvrant la région"
}

func dlp(e *ledger.CTEvent) float64 {
	if e.DLP == nil {
		return 0
	}
	return e.DLP.Value
}

func phantomCM(c ledger.Code) string {
	switch c.Value {
	case "113690":
		return "16"
	case "113691":
		return "32"
	}
	return ""
}

// perView returns the mean glandular dose per view (the mean over the
// exposures) and the mean compressed breast thickness of a mammography
// study. A header exam without events is one exposure.
func perView(es []*ledger.Entry) (agd, thickness float64, why string) {
	var n, nt int
	seen := map[string]bool{}
	for _, en := range es {
		m := en.Exam.Mammography
		if m == nil {
			continue
		}
		if len(m.Events) == 0 && en.Exam.Source == ledger.SourceHeader {
			if v := en.Effective().AGDTotal(); v > 0 {
				agd += v
				n++
			}
			if m.Thickness != nil {
				thickness += m.Thickness.Value
				nt++
			}
			continue
		}
		for _, ev := range m.Events {
			if ev.UID != "" {
				if seen[ev.UID] {
					continue
				}
				seen[ev.UID] = true
			}
			if ev.AGD != nil {
				agd += ev.AGD.Value
				n++
			}
			if ev.Thickness != nil {
				thickness += ev.Thickness.Value
				nt++
			}
		}
	}
	if n == 0 {
		return 0, 0, "aucune dose glandulaire par incidence"
	}
	if nt > 0 {
		thickness /= float64(nt)
	}
	return agd / float64(n), thickness, ""
}

func agents(es []*ledger.Entry) string {
	seen := map[string]bool{}
	var out []string
	for _, en := range es {
		if en.Exam.NM == nil {
			continue
		}
		for _, a := range en.Exam.NM.Administrations {
			s := a.Radiopharmaceutical.Meaning
			if s == "" {
				s = a.Radiopharmaceutical.Value
			}
			if s != "" && !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return strings.Join(out, ", ")
}

// Quantile returns the p-quantile of sorted values by linear interpolation
// between order statistics (the method of R's default type 7 and of most
// spreadsheets): h = (n-1)p, x[⌊h⌋] + (h-⌊h⌋)(x[⌊h⌋+1]-x[⌊h⌋]). The median
// of an even count is the mean of the two middle values.
func Quantile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	h := float64(n-1) * p
	lo := int(math.Floor(h))
	if lo >= n-1 {
		return sorted[n-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// AgeYears reads a DICOM age string (nnnD, nnnW, nnnM, nnnY) in years.
func AgeYears(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if len(s) < 2 {
		return 0, false
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n < 0 {
		return 0, false
	}
	switch s[len(s)-1] {
	case 'Y', 'y':
		return float64(n), true
	case 'M', 'm':
		return float64(n) / 12, true
	case 'W', 'w':
		return float64(n) * 7 / 365.25, true
	case 'D', 'd':
		return float64(n) / 365.25, true
	}
	return 0, false
}

func isISODate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	for i, c := range s {
		if i != 4 && i != 7 && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
