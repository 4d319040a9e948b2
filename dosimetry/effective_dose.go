package dosimetry

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"math"
	"strings"

	"vigie/ledger"
)

// EstimateLabel is printed beside every effective-dose figure Vigie shows:
// the figure is an estimate from generic coefficients, never a measured or
// individual dose.
const EstimateLabel = "estimation"

// CoefficientSet is one family of effective-dose coefficients with its
// source. A nil value is a region whose coefficient is not shipped.
type CoefficientSet struct {
	Unit      string              `json:"unit"`
	Source    string              `json:"source"`
	ExamTypes map[string]*float64 `json:"exam_types,omitempty"`
	Regions   map[string]*float64 `json:"regions"`
	Note      string              `json:"note,omitempty"`
}

// Coefficients are the coefficients of the effective-dose estimate: CT
// k-factors (mSv per mGy.cm of DLP) and DAP coefficients (mSv per Gy.cm²),
// by body region, and the CT target region codes of each region. The
// shipped set is effective_dose_coefficients.json; a physicist may load a
// completed one with LoadCoefficients.
type Coefficients struct {
	Label         string            `json:"label"`
	CT            CoefficientSet    `json:"ct"`
	CTPaediatric  PaediatricSet     `json:"ct_paediatric"`
	DAP           CoefficientSet    `json:"dap"`
	TargetRegions map[string]string `json:"target_regions"`
	// NM are the nuclear-medicine coefficients per radiopharmaceutical
	// (nil: the shipped nm_dose_coefficients.tsv).
	NM *NMCoefficients `json:"-"`
}

// nm returns the nuclear-medicine coefficients the estimate uses.
func (c *Coefficients) nm() *NMCoefficients {
	if c.NM != nil {
		return c.NM
	}
	return DefaultNMCoefficients()
}

// PaediatricSet are the CT k-factors of children by age band. A child's
// CT is estimated with its band's coefficient (the band is the first whose
// BelowYears is above the age); an age from the last band to
// AdultFromYears, a region the band lacks, or a projection exam of a child
// get no estimate ("pas d'estimation pour cet âge"), never the adult
// coefficient.
type PaediatricSet struct {
	Source         string  `json:"source"`
	AdultFromYears float64 `json:"adult_from_years"`
	Bands          []struct {
		Label      string              `json:"label"`
		BelowYears float64             `json:"below_years"`
		Regions    map[string]*float64 `json:"regions"`
	} `json:"bands"`
	Note string `json:"note,omitempty"`
}

// NoEstimateForAge is the reason given for an exam of a patient whose age
// has no coefficient.
const NoEstimateForAge = "pas d'estimation pour cet âge"

//go:embed effective_dose_coefficients.json
var defaultCoefficientsJSON []byte

// DefaultCoefficientsJSON returns the embedded coefficients file, for the
// physicist to complete and load back.
func DefaultCoefficientsJSON() []byte { return bytes.Clone(defaultCoefficientsJSON) }

// DefaultCoefficients returns the embedded coefficients.
func DefaultCoefficients() *Coefficients {
	return mustLoadEmbedded(defaultCoefficientsJSON, LoadCoefficients)
}

// LoadCoefficients reads and validates a coefficients file.
func LoadCoefficients(r io.Reader) (*Coefficients, error) {
	const file coefficientFile = "coefficients"
	c, err := decodeCoefficientFile[Coefficients](r, file, "coefficients", "coefficients")
	if err != nil {
		return nil, err
	}
	for _, s := range []struct {
		name, unit string
		set        *CoefficientSet
	}{{"ct", "mSv/(mGy.cm)", &c.CT}, {"dap", "mSv/(Gy.cm2)", &c.DAP}} {
		if s.set.Unit != s.unit {
			return nil, file.invalid(s.name+".unit", "%q must be %s", s.set.Unit, s.unit)
		}
		if strings.TrimSpace(s.set.Source) == "" {
			return nil, file.invalid(s.name+".source", "is required: an estimate names its coefficients' source")
		}
		for _, m := range []struct {
			f string
			m map[string]*float64
		}{{"regions", s.set.Regions}, {"exam_types", s.set.ExamTypes}} {
			for k, v := range m.m {
				if v != nil && (*v <= 0 || *v > 1 || math.IsNaN(*v)) {
					return nil, file.invalid(s.name+"."+m.f+"."+k, "%v is not a coefficient (0 < k ≤ 1)", *v)
				}
			}
		}
	}
	if c.CTPaediatric.AdultFromYears == 0 {
		// A file without paediatric coefficients: children get no
		// estimate, never the adult coefficient.
		c.CTPaediatric.AdultFromYears = 18
	}
	if c.CTPaediatric.AdultFromYears < 0 || c.CTPaediatric.AdultFromYears > 25 {
		return nil, file.invalid("ct_paediatric.adult_from_years", "%v is not an age of adulthood", c.CTPaediatric.AdultFromYears)
	}
	for i, b := range c.CTPaediatric.Bands {
		if b.BelowYears <= 0 || (i > 0 && b.BelowYears <= c.CTPaediatric.Bands[i-1].BelowYears) || b.BelowYears > c.CTPaediatric.AdultFromYears {
			return nil, file.invalid(fmt.Sprintf("ct_paediatric.bands[%d].below_years", i), "%v: bands must ascend below adult_from_years", b.BelowYears)
		}
		for k, v := range b.Regions {
			if v != nil && (*v <= 0 || *v > 1 || math.IsNaN(*v)) {
				return nil, file.invalid("ct_paediatric.bands."+k, "%v is not a coefficient (0 < k ≤ 1)", *v)
			}
		}
	}
	if len(c.CTPaediatric.Bands) > 0 && strings.TrimSpace(c.CTPaediatric.Source) == "" {
		return nil, file.invalid("ct_paediatric.source", "is required: an estimate names its coefficients' source")
	}
	for code, reg := range c.TargetRegions {
		if _, ok := c.CT.Regions[reg]; !ok {
			return nil, file.invalid("target_regions."+code, "%q is not a region of ct.regions", reg)
		}
	}
	return c, nil
}

// Source returns the sources of the coefficient sets (CT, DAP, nuclear
// medicine), for printing beside an estimate.
func (c *Coefficients) Source() string {
	return "PDL : " + c.CT.Source + " PDS : " + c.DAP.Source + " Activité (médecine nucléaire) : " + c.nm().Source() + "."
}

// ExamEstimate is the effective-dose estimate of one exam.
type ExamEstimate struct {
	SOP         string  `json:"sop_instance_uid"`
	Date        string  `json:"date"`
	MSv         float64 `json:"effective_dose_estimate_mSv"`
	Method      string  `json:"method,omitempty"` // "dlp", "dap" or "activity"
	Region      string  `json:"region,omitempty"`
	Coefficient float64 `json:"coefficient,omitempty"`
	// Reason says why an exam with dose figures has no estimate.
	Reason string `json:"reason,omitempty"`
	// AgeBand is the paediatric band whose coefficient was used ("" for
	// an adult); Warning says the age was unknown (adult coefficients).
	AgeBand string `json:"age_band,omitempty"`
	Warning string `json:"warning,omitempty"`
	// NM is the nuclear-medicine estimate (method "activity"): one per
	// administration, with the organ receiving the largest dose.
	NM *NMEstimate `json:"nuclear_medicine,omitempty"`
}

// Estimated reports whether the exam has an estimate.
func (e ExamEstimate) Estimated() bool { return e.Method != "" }

// Estimate returns the effective-dose estimate of one stored exam from the
// figures it counts (superseded and repeated figures are not counted):
//   - CT: counted DLP × k of the region, the region being the exam type's,
//     else the region of the target region code of its highest-DLP
//     acquisition other than a scout;
//   - projection: counted DAP (Gy.cm²) × the coefficient of the exam type,
//     else of its region;
//   - nuclear medicine: each administered activity × the effective-dose
//     coefficient of its radiopharmaceutical at the patient's reference
//     age (NMCoefficients.Exam), when every administration has one;
//   - mammography has no estimate (Reason says so);
//   - a child (the DICOM age below CTPaediatric.AdultFromYears) gets its
//     age band's CT coefficient, or no estimate (NoEstimateForAge) where
//     the shipped source gives none; an unknown age takes the adult
//     coefficient with a Warning.
func (c *Coefficients) Estimate(e *ledger.Entry, tab *Table) ExamEstimate {
	var et *ExamType
	if tab != nil {
		if m := tab.Classify(&e.Exam); m.ExamType != NoExamType {
			et = tab.Type(m.ExamType)
		}
	}
	age, ok := AgeYears(e.Exam.Patient.Age)
	return c.estimate(e, et, age, ok)
}

// estimate is Estimate for an exam whose exam type (nil: none) and
// patient's age (known or not) are given.
func (c *Coefficients) estimate(e *ledger.Entry, et *ExamType, age float64, ageKnown bool) ExamEstimate {
	x := &e.Exam
	out := ExamEstimate{SOP: x.SOPInstanceUID, Date: x.Date}
	t := e.Effective()
	child := ageKnown && age < c.CTPaediatric.AdultFromYears
	if !ageKnown && (t.DLP > 0 || t.DAP > 0) {
		out.Warning = "âge inconnu : coefficients adulte"
	}
	switch x.Domain {
	case ledger.DomainCT:
		if t.DLP <= 0 {
			return out
		}
		region := ""
		if et != nil {
			region = et.Region
		}
		if region == "" {
			region = c.ctRegion(x)
		}
		k := c.CT.Regions[region]
		if child {
			k = nil
			for _, b := range c.CTPaediatric.Bands {
				if age < b.BelowYears {
					k, out.AgeBand = b.Regions[region], b.Label
					break
				}
			}
			if k == nil {
				out.AgeBand = ""
				out.Reason = fmt.Sprintf("%s (%s ans, région %s) : la source des coefficients n'en donne pas", NoEstimateForAge, fmtNum(round(age, 1)), region)
				return out
			}
		}
		if k == nil {
			out.Reason = "région scanographique inconnue : PDL non converti"
			return out
		}
		out.Method, out.Region, out.Coefficient, out.MSv = "dlp", region, *k, t.DLP**k
	case ledger.DomainProjection:
		if t.DAP <= 0 {
			return out
		}
		if child {
			out.Reason = fmt.Sprintf("%s (%s ans) : pas de coefficient PDS pédiatrique", NoEstimateForAge, fmtNum(round(age, 1)))
			return out
		}
		var k *float64
		region := ""
		if et != nil {
			k = c.DAP.ExamTypes[et.Code]
			region = et.Region
			if k == nil {
				k = c.DAP.Regions[region]
			}
		}
		if k == nil {
			out.Reason = "pas de coefficient PDS pour cet examen : non estimé"
			return out
		}
		gycm2 := t.DAP * 1e4
		out.Method, out.Region, out.Coefficient, out.MSv = "dap", region, *k, gycm2**k
	case ledger.DomainNM:
		n := c.nm().examAt(e, age, ageKnown)
		switch {
		case n.Estimated():
			out.Method, out.MSv, out.Warning, out.NM = "activity", n.MSv, n.Warning, &n
			if len(n.Administrations) == 1 {
				row := n.Administrations[0].Coefficient
				out.Coefficient = row.MSvPerMBq
				if row.BelowYears != 0 {
					out.AgeBand = row.Reference
				}
			}
		case n.Reason != "":
			out.Reason, out.NM = n.Reason, &n
		}
	case ledger.DomainMammography:
		out.Reason = "mammographie : pas d'estimation de dose efficace"
	}
	return out
}

// ctRegion returns the region of the highest-DLP acquisition of an exam
// whose target region code the coefficients know.
func (c *Coefficients) ctRegion(x *ledger.Exam) string {
	if x.CT == nil {
		return ""
	}
	best, bestDLP := "", -1.0
	for i := range x.CT.Events {
		ev := &x.CT.Events[i]
		if IsScout(ev) {
			continue
		}
		if r, ok := c.TargetRegions[ev.TargetRegion.Value]; ok && dlp(ev) > bestDLP {
			best, bestDLP = r, dlp(ev)
		}
	}
	return best
}

// Cumulative is the effective-dose estimate of a set of exams.
type Cumulative struct {
	MSv float64 `json:"effective_dose_estimate_mSv"`
	// Exams are the per-exam estimates, in the order given.
	Exams []ExamEstimate `json:"exams"`
	// NotEstimated counts the exams with dose figures but no estimate.
	NotEstimated int    `json:"not_estimated"`
	Label        string `json:"label"`
	Source       string `json:"source"`
}

// EstimateAll sums the estimates of a set of stored exams.
func (c *Coefficients) EstimateAll(es []ledger.Entry, tab *Table) Cumulative {
	out := Cumulative{Label: c.Label, Source: c.Source()}
	for i := range es {
		if es[i].Excluded() {
			continue
		}
		e := c.Estimate(&es[i], tab)
		out.Exams = append(out.Exams, e)
		if e.Estimated() {
			out.MSv += e.MSv
		} else if e.Reason != "" {
			out.NotEstimated++
		}
	}
	return out
}
