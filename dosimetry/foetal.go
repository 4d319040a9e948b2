package dosimetry

import (
	_ "embed"
	"fmt"
	"io"
	"math"
	"strings"

	"vigie/ledger"
)

// FoetalRatio is a range of foetal dose per CTDIvol for the acquisitions
// of some regions.
type FoetalRatio struct {
	Low     float64  `json:"low"`
	High    float64  `json:"high"`
	Regions []string `json:"regions"`
	// Codes are target region code values of the ratio besides those of
	// its regions (a whole-body acquisition has no effective-dose region).
	Codes []string `json:"codes,omitempty"`
}

// FoetalCoefficients are the coefficients of the foetal-dose estimate
// (foetal_dose_coefficients.json): per CTDIvol for CT, per MBq and stage
// of pregnancy for nuclear medicine, each set with its source.
type FoetalCoefficients struct {
	Label string `json:"label"`
	CT    struct {
		Source   string      `json:"source"`
		InBeam   FoetalRatio `json:"in_beam"`
		NearBeam FoetalRatio `json:"near_beam"`
		Note     string      `json:"note,omitempty"`
	} `json:"ct"`
	NM struct {
		Source               string   `json:"source"`
		Stages               []string `json:"stages"`
		Radiopharmaceuticals []struct {
			Name         string             `json:"name"`         // as ledger.RadiopharmaceuticalName prints it
			Radionuclide string             `json:"radionuclide"` // as ledger.RadionuclideName prints it
			PerMBq       map[string]float64 `json:"mGy_per_MBq"`  // by stage
		} `json:"radiopharmaceuticals"`
		Note string `json:"note,omitempty"`
	} `json:"nm"`
}

//go:embed foetal_dose_coefficients.json
var defaultFoetalJSON []byte

// DefaultFoetal returns the embedded foetal-dose coefficients (shared,
// read-only).
func DefaultFoetal() *FoetalCoefficients { return shippedFoetalCoefficients() }

// shippedFoetalCoefficients parses the embedded file once.
var shippedFoetalCoefficients = loadEmbeddedOnce(defaultFoetalJSON, LoadFoetal)

// LoadFoetal reads and validates a foetal-dose coefficients file.
func LoadFoetal(r io.Reader) (*FoetalCoefficients, error) {
	const file coefficientFile = "foetal-dose coefficients"
	bad := file.invalid
	c, err := decodeCoefficientFile[FoetalCoefficients](r, file, "foetal", "foetal-dose")
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(c.CT.Source) == "" || strings.TrimSpace(c.NM.Source) == "" {
		return nil, bad("source", "is required for ct and nm: an estimate names its coefficients' source")
	}
	for name, r := range map[string]FoetalRatio{"ct.in_beam": c.CT.InBeam, "ct.near_beam": c.CT.NearBeam} {
		if !(r.Low > 0 && r.High >= r.Low && r.High <= 2) {
			return nil, bad(name, "low %v and high %v must satisfy 0 < low ≤ high ≤ 2", r.Low, r.High)
		}
	}
	for i, p := range c.NM.Radiopharmaceuticals {
		for _, s := range c.NM.Stages {
			v, ok := p.PerMBq[s]
			if !ok || !(v > 0 && v < 1) || math.IsNaN(v) {
				return nil, bad(fmt.Sprintf("nm.radiopharmaceuticals[%d].%s", i, s), "needs a coefficient 0 < mGy/MBq < 1 for every stage")
			}
		}
		if len(p.PerMBq) != len(c.NM.Stages) {
			return nil, bad(fmt.Sprintf("nm.radiopharmaceuticals[%d]", i), "has a stage not listed in nm.stages")
		}
	}
	return c, nil
}

// FoetalPart is the estimate of one CT acquisition or one administration.
type FoetalPart struct {
	UID     string  `json:"uid,omitempty"` // irradiation event or administration UID
	What    string  `json:"what"`          // protocol or radiopharmaceutical
	LowmGy  float64 `json:"low_mGy,omitempty"`
	HighmGy float64 `json:"high_mGy,omitempty"`
	// Reason says, in French, why the part has no estimate.
	Reason string `json:"reason,omitempty"`
	// Scout marks a CT localizer (constant-angle acquisition).
	Scout bool `json:"scout,omitempty"`
}

// FoetalEstimate is the estimated dose to the uterus / foetus of one exam:
// a range, the sum of its parts' ranges.
type FoetalEstimate struct {
	SOP     string       `json:"sop_instance_uid"`
	Date    string       `json:"date"`
	LowmGy  float64      `json:"low_mGy"`
	HighmGy float64      `json:"high_mGy"`
	Parts   []FoetalPart `json:"parts,omitempty"`
	// Reason says why the exam has no estimate, or why it is partial.
	Reason string `json:"reason,omitempty"`
	Source string `json:"source,omitempty"`
}

// Estimated reports whether any part of the exam was estimated.
func (f FoetalEstimate) Estimated() bool { return f.HighmGy > 0 }

// Reasons of the foetal-dose estimate.
const (
	foetalNotEstimated = "non estimée"
	foetalOutOfBeam    = "non estimée : région éloignée de l'utérus, la source ne donne pas de rapport pour elle"
	foetalUnknownReg   = "non estimée : région anatomique de l'acquisition inconnue"
	foetalNoCTDI       = "non estimée : pas de CTDIvol"
	foetalNoCoef       = "non estimée : pas de coefficient publié vérifié pour ce radiopharmaceutique"
	foetalNoActivity   = "non estimée : activité administrée inconnue"
	foetalProjection   = "non estimée : radiologie de projection et mammographie, pas de coefficient livré"
)

// Estimate returns the foetal-dose estimate of one exam. regions maps CT
// target region codes to regions (Coefficients.TargetRegions);
// examRegion, the exam type's region, is used for an acquisition whose
// code is not mapped.
func (c *FoetalCoefficients) Estimate(x *ledger.Exam, regions map[string]string, examRegion string) FoetalEstimate {
	out := FoetalEstimate{SOP: x.SOPInstanceUID, Date: x.Date}
	missing := 0
	switch x.Domain {
	case ledger.DomainCT:
		out.Source = c.CT.Source
		if x.CT == nil {
			break
		}
		for i := range x.CT.Events {
			ev := &x.CT.Events[i]
			p := FoetalPart{UID: ev.UID, What: ev.Protocol, Scout: IsScout(ev)}
			region, ok := regions[ev.TargetRegion.Value]
			if !ok {
				region = examRegion
			}
			var r *FoetalRatio
			switch {
			case slicesContain(c.CT.InBeam.Codes, ev.TargetRegion.Value):
				r, region = &c.CT.InBeam, "whole_body"
			case slicesContain(c.CT.InBeam.Regions, region):
				r = &c.CT.InBeam
			case slicesContain(c.CT.NearBeam.Regions, region):
				r = &c.CT.NearBeam
			}
			switch {
			case ev.CTDIvol == nil || ev.CTDIvol.Value <= 0:
				p.Reason = foetalNoCTDI
			case region == "":
				p.Reason = foetalUnknownReg
			case r == nil:
				p.Reason = foetalOutOfBeam
			default:
				p.LowmGy, p.HighmGy = r.Low*ev.CTDIvol.Value, r.High*ev.CTDIvol.Value
			}
			out.add(p, &missing)
		}
	case ledger.DomainNM:
		out.Source = c.NM.Source
		if x.NM == nil {
			break
		}
		for _, a := range x.NM.Administrations {
			name, nuc := ledger.RadiopharmaceuticalName(a.Radiopharmaceutical), ledger.RadionuclideName(a.Radionuclide)
			p := FoetalPart{UID: a.UID, What: strings.TrimSpace(name + " " + nuc)}
			var per map[string]float64
			for _, rp := range c.NM.Radiopharmaceuticals {
				if strings.EqualFold(rp.Name, name) && strings.EqualFold(rp.Radionuclide, nuc) {
					per = rp.PerMBq
				}
			}
			switch {
			case per == nil:
				p.Reason = foetalNoCoef
			case a.Activity == nil || a.Activity.Value <= 0:
				p.Reason = foetalNoActivity
			default:
				lo, hi := math.Inf(1), 0.0
				for _, s := range c.NM.Stages {
					lo, hi = min(lo, per[s]), max(hi, per[s])
				}
				p.LowmGy, p.HighmGy = lo*a.Activity.Value, hi*a.Activity.Value
			}
			out.add(p, &missing)
		}
	default:
		out.Reason = foetalProjection
		return out
	}
	switch {
	case !out.Estimated() && out.Reason == "":
		out.Reason = foetalNotEstimated
		if len(out.Parts) > 0 {
			out.Reason = out.Parts[0].Reason
		}
	case missing > 0:
		out.Reason = fmt.Sprintf("estimation partielle : %d acquisition(s) ou administration(s) non estimée(s)", missing)
	}
	return out
}

// Study returns the estimate of one study from its reports (a report and
// its continuations): each event or administration UID counts once, as a
// continued report repeats the events of the first. Reason says why there
// is none, or that the estimate is partial.
func (c *FoetalCoefficients) Study(es []*ledger.Entry, regions map[string]string, examRegion string) FoetalEstimate {
	var out FoetalEstimate
	seen := map[string]bool{}
	missing, scouts, firstReason := 0, 0, ""
	for _, e := range es {
		f := c.Estimate(&e.Exam, regions, examRegion)
		if out.SOP == "" {
			out.SOP, out.Date, out.Source = f.SOP, f.Date, f.Source
		}
		if len(f.Parts) == 0 && firstReason == "" {
			firstReason = f.Reason
		}
		for _, p := range f.Parts {
			if p.UID != "" {
				if seen[p.UID] {
					continue
				}
				seen[p.UID] = true
			}
			if p.Reason != "" && firstReason == "" {
				firstReason = p.Reason
			}
			if p.Scout && p.Reason == foetalNoCTDI {
				// A localizer the report gives no CTDIvol for: said as
				// such, not as a missing acquisition.
				scouts++
				out.Parts = append(out.Parts, p)
				continue
			}
			out.add(p, &missing)
		}
	}
	switch {
	case !out.Estimated():
		out.Reason = firstReason
		if out.Reason == "" {
			out.Reason = foetalNotEstimated
		}
	case missing > 0:
		out.Reason = fmt.Sprintf("estimation partielle : %d acquisition(s) ou administration(s) non estimée(s)", missing)
	}
	if scouts > 0 && out.Estimated() {
		s := fmt.Sprintf("%d radiographie(s) de repérage sans CTDIvol non comptée(s)", scouts)
		if out.Reason != "" {
			s = out.Reason + " ; " + s
		}
		out.Reason = s
	}
	return out
}

func (f *FoetalEstimate) add(p FoetalPart, missing *int) {
	f.Parts = append(f.Parts, p)
	if p.Reason != "" {
		*missing++
		return
	}
	f.LowmGy += p.LowmGy
	f.HighmGy += p.HighmGy
}

func slicesContain(s []string, v string) bool {
	for _, x := range s {
		if x == v && v != "" {
			return true
		}
	}
	return false
}

// Text is the estimate in French: "entre 5,7 et 10 mGy" or its reason.
func (f FoetalEstimate) Text() string {
	if !f.Estimated() {
		return f.Reason
	}
	s := fmt.Sprintf("entre %s et %s mGy", frNum(round(f.LowmGy, 2)), frNum(round(f.HighmGy, 2)))
	if f.Reason != "" {
		s += " (" + f.Reason + ")"
	}
	return s
}
