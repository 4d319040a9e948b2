package dosimetry

import (
	_ "embed"
	"fmt"
	"io"
	"math"
	"strings"

	"vigie/ledger"
)

// SSDEFit is the exponential fit of AAPM Report 204 for one CTDI phantom:
// f = A·exp(−B·D), D in cm, valid from MinCm to MaxCm (the span of the
// report's tables: no extrapolation).
type SSDEFit struct {
	A     float64 `json:"a"`
	B     float64 `json:"b"`
	MinCm float64 `json:"diameter_min_cm"`
	MaxCm float64 `json:"diameter_max_cm"`
}

// Factor returns f for a diameter in cm, or false outside the fit's span.
func (f SSDEFit) Factor(dcm float64) (float64, bool) {
	if !(dcm >= f.MinCm && dcm <= f.MaxCm) {
		return 0, false
	}
	return f.A * math.Exp(-f.B*dcm), true
}

// SSDECoefficients are the size-specific conversion factors and their
// source (ssde_coefficients.json, replaceable by the site's physicist).
type SSDECoefficients struct {
	Source       string  `json:"source"`
	Verification string  `json:"verification,omitempty"`
	Body         SSDEFit `json:"phantom_32cm"`
	Head         SSDEFit `json:"phantom_16cm"`
	// AgeTable gives an effective diameter by age (AAPM 204 Table 3) when
	// the physicist fills it, with AgeSource; empty: no age-based SSDE.
	AgeTable []struct {
		BelowYears float64 `json:"below_years"`
		DiameterCm float64 `json:"diameter_cm"`
	} `json:"age_table"`
	AgeSource string `json:"age_table_source"`
	Note      string `json:"note,omitempty"`
}

//go:embed ssde_coefficients.json
var defaultSSDEJSON []byte

// DefaultSSDE returns the embedded SSDE coefficients (shared, read-only).
func DefaultSSDE() *SSDECoefficients { return shippedSSDECoefficients() }

// shippedSSDECoefficients parses the embedded file once.
var shippedSSDECoefficients = loadEmbeddedOnce(defaultSSDEJSON, LoadSSDE)

// LoadSSDE reads and validates an SSDE coefficients file.
func LoadSSDE(r io.Reader) (*SSDECoefficients, error) {
	const file coefficientFile = "SSDE coefficients"
	c, err := decodeCoefficientFile[SSDECoefficients](r, file, "ssde", "SSDE")
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(c.Source) == "" {
		return nil, file.invalid("source", "is required: an estimate names its coefficients' source")
	}
	for name, f := range map[string]SSDEFit{"phantom_32cm": c.Body, "phantom_16cm": c.Head} {
		if !(f.A > 0 && f.B > 0 && f.MinCm > 0 && f.MaxCm > f.MinCm && f.MaxCm < 100) {
			return nil, file.invalid(name, "a, b and the diameter span must be positive and ascending")
		}
	}
	if len(c.AgeTable) > 0 && strings.TrimSpace(c.AgeSource) == "" {
		return nil, file.invalid("age_table_source", "is required with an age table")
	}
	for i, a := range c.AgeTable {
		if a.BelowYears <= 0 || a.DiameterCm <= 0 || (i > 0 && a.BelowYears <= c.AgeTable[i-1].BelowYears) {
			return nil, file.invalid(fmt.Sprintf("age_table[%d]", i), "ages must ascend and diameters be positive")
		}
	}
	return c, nil
}

// Diameter sources of an SSDE.
const (
	DiameterReported = "dw_rapport" // water-equivalent diameter carried by the dose report
	DiameterFromAge  = "age"        // AAPM 204 Table 3, from the patient's age
)

// SSDEEstimate is the size-specific dose estimate of one CT acquisition.
type SSDEEstimate struct {
	EventUID   string  `json:"event_uid,omitempty"`
	CTDIvol    float64 `json:"ctdivol_mGy"`
	Phantom    string  `json:"phantom_cm,omitempty"` // "32" or "16"
	DiameterCm float64 `json:"diameter_cm,omitempty"`
	// DiameterFrom is DiameterReported or DiameterFromAge.
	DiameterFrom string  `json:"diameter_from,omitempty"`
	Factor       float64 `json:"factor,omitempty"`
	SSDE         float64 `json:"ssde_mGy,omitempty"`
	// Vendor is the SSDE the report itself carries (113930), 0 if none.
	Vendor float64 `json:"vendor_ssde_mGy,omitempty"`
	// Reason says, in French, why there is no estimate.
	Reason string `json:"reason,omitempty"`
}

// Estimated reports whether the acquisition has an SSDE.
func (s SSDEEstimate) Estimated() bool { return s.SSDE > 0 }

// Label is the estimate as the synthesis prints it: "12,3 mGy" with
// "(estimée d'après l'âge)" when the diameter came from the age.
func (s SSDEEstimate) Label() string {
	if !s.Estimated() {
		return ""
	}
	l := frFigure(round(s.SSDE, 2)) + " mGy"
	if s.DiameterFrom == DiameterFromAge {
		l += " (estimée d'après l'âge)"
	}
	return l
}

// Reasons an acquisition gets no SSDE.
const (
	ssdeNoCTDI     = "pas de CTDIvol : SSDE non estimée"
	ssdeScout      = "radiographie de repérage : pas de SSDE"
	ssdeNoPhantom  = "fantôme du CTDIvol non précisé (16 ou 32 cm) : SSDE non estimée"
	ssdeNoDiameter = "diamètre du patient non transmis et pas de table par âge vérifiée : SSDE non estimée"
	ssdeOutOfRange = "diamètre hors de l'étendue des tableaux de l'AAPM 204 : SSDE non estimée"
)

// Event returns the SSDE of one acquisition of an exam whose patient is
// age years old (ageKnown false: unknown).
func (c *SSDECoefficients) Event(ev *ledger.CTEvent, age float64, ageKnown bool) SSDEEstimate {
	out := SSDEEstimate{EventUID: ev.UID}
	if ev.SSDE != nil {
		out.Vendor = ev.SSDE.Value
	}
	if ev.CTDIvol == nil || ev.CTDIvol.Value <= 0 {
		out.Reason = ssdeNoCTDI
		return out
	}
	out.CTDIvol = ev.CTDIvol.Value
	if IsScout(ev) {
		out.Reason = ssdeScout
		return out
	}
	var fit SSDEFit
	switch out.Phantom = phantomCM(ev.Phantom); out.Phantom {
	case "32":
		fit = c.Body
	case "16":
		fit = c.Head
	default:
		out.Reason = ssdeNoPhantom
		return out
	}
	switch {
	case ev.WED != nil && ev.WED.Value > 0:
		out.DiameterCm, out.DiameterFrom = ev.WED.Value/10, DiameterReported
	case ageKnown:
		for _, a := range c.AgeTable {
			if age < a.BelowYears {
				out.DiameterCm, out.DiameterFrom = a.DiameterCm, DiameterFromAge
				break
			}
		}
	}
	if out.DiameterFrom == "" {
		out.Reason = ssdeNoDiameter
		return out
	}
	f, ok := fit.Factor(out.DiameterCm)
	if !ok {
		out.Reason = ssdeOutOfRange
		return out
	}
	out.Factor, out.SSDE = f, f*out.CTDIvol
	return out
}

// Exam returns the SSDE of every acquisition of a CT exam, in order.
func (c *SSDECoefficients) Exam(x *ledger.Exam) []SSDEEstimate {
	if x.CT == nil {
		return nil
	}
	age, ok := AgeYears(x.Patient.Age)
	out := make([]SSDEEstimate, len(x.CT.Events))
	for i := range x.CT.Events {
		out[i] = c.Event(&x.CT.Events[i], age, ok)
	}
	return out
}

// entriesBySOP indexes the stored exams a history was built from by
// their SOP Instance UID (a history row lists its exams by it).
func entriesBySOP(es []ledger.Entry) map[string]*ledger.Entry {
	bySOP := make(map[string]*ledger.Entry, len(es))
	for i := range es {
		bySOP[es[i].Exam.SOPInstanceUID] = &es[i]
	}
	return bySOP
}

// NoSSDE is what the synthesis prints for a CT study without an SSDE.
const NoSSDE = "non estimée"

// FillHistory sets the SSDE of each CT row of h (the highest of its
// acquisitions', or NoSSDE) from the stored exams es it was built from.
func (c *SSDECoefficients) FillHistory(h *ledger.History, es []ledger.Entry) {
	if len(h.CT) == 0 {
		return
	}
	bySOP := entriesBySOP(es)
	for i := range h.CT {
		r := &h.CT[i]
		var best SSDEEstimate
		for _, sop := range r.Exams {
			e := bySOP[sop]
			if e == nil {
				continue
			}
			for _, s := range c.Exam(&e.Exam) {
				if s.SSDE > best.SSDE {
					best = s
				}
			}
		}
		r.SSDE = best.Label()
		if r.SSDE == "" {
			r.SSDE = NoSSDE
		}
	}
}
