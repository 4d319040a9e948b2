package dosimetry

import (
	"fmt"
	"strings"
	"sync"

	"vigie"
	"vigie/ledger"
)

// The second-level estimates of a dose summary (Summary.Estimates): what
// Vigie estimates beyond the figures the equipment reports, each with its
// method, the source of its coefficients and, for nuclear medicine, the
// reference age of the coefficients; or "non estimée" with the reason.
//
//   - CT: the size-specific dose estimate (SSDE, AAPM Reports 204 and
//     220), the highest of the study's acquisitions (SSDECoefficients);
//   - a patient pregnant or possibly pregnant (the DICOM Pregnancy Status,
//     or a declaration: SummaryOptions.Pregnant): the dose to the uterus /
//     foetus, a range (FoetalCoefficients.Study);
//   - an interventional or fluoroscopy procedure (a projection exam with
//     an air kerma at the reference point): the peak skin dose, a range
//     whose high bound is what follow-up is decided on (SkinModel);
//   - nuclear medicine: per administration, the absorbed dose of the organ
//     the source names as receiving the largest dose (NMCoefficients; the
//     effective dose is Summary.Estimate).
//
// Codes: SSDE is DICOM 113930 (scheme DCM), its method 113988 "Estimated
// from Water Equivalent Diameter" (the diameter the equipment reported,
// AAPM 220) or 113937 "AAPM 204 Effective Diameter Estimated From Patient
// Age" (CID 10023); an organ dose is DICOM 113518 "Organ Dose" (TID 10023),
// the organ given beside it. The foetal dose and the peak skin dose have no
// DICOM summary code that could be verified: they carry codes of Vigie's
// own system (SchemeVigie, SystemVigie), CodeFoetalDose and
// CodePeakSkinDose.

// Kinds of a second-level estimate (DoseEstimate.Kind).
const (
	EstimateSSDE   = "ssde"
	EstimateFoetal = "foetal_dose"
	EstimateSkin   = "peak_skin_dose"
	EstimateOrgan  = "organ_dose"
)

// Codes of the second-level estimates.
const (
	CodeSSDE      = "113930" // Size Specific Dose Estimation (DCM)
	CodeOrganDose = "113518" // Organ Dose (DCM)
	// SSDE methods (DCM, CID 10023).
	CodeSSDEFromWED = "113988" // Estimated from Water Equivalent Diameter
	CodeSSDEFromAge = "113937" // AAPM 204 Effective Diameter Estimated From Patient Age
	// SchemeVigie is Vigie's local coding system in HL7 v2 (a "99zzz"
	// local system of HL7 table 0396), SystemVigie its FHIR URI: used
	// only where no standard code exists.
	SchemeVigie = "99VIGIE"
	SystemVigie = "urn:vigie:dose"
	// CodeFoetalDose is the estimated dose to the uterus / foetus (a
	// range, mGy); CodePeakSkinDose the estimated peak skin dose (a range,
	// mGy), both in SchemeVigie.
	CodeFoetalDose   = "foetal-dose"
	CodePeakSkinDose = "peak-skin-dose"
)

// DoseEstimate is one second-level estimate of a study.
type DoseEstimate struct {
	Kind string // EstimateSSDE, EstimateFoetal, EstimateSkin or EstimateOrgan
	// Code, Scheme and Name are its concept: scheme DCM, or SchemeVigie
	// where DICOM has no code (see above).
	Code, Scheme, Name string
	// Label is its French label in the report's text.
	Label string
	// Value is the estimate, or the high bound of a range (Range; Low is
	// then the low bound, possibly 0: only the high bound is known); 0
	// when not estimated.
	Value, Low float64
	Range      bool
	Unit       string // UCUM
	// MethodCode and MethodName are the method's DICOM code (DCM), when
	// one exists.
	MethodCode, MethodName string
	// Method says, in French, how the estimate was made and the source of
	// its coefficients.
	Method string
	// Site is the organ (French) an organ dose is to; Reference the
	// reference age of the coefficients ("adulte", "enfant de 5 ans").
	Site, Reference string
	// NotEstimated says, in French, why there is no estimate.
	NotEstimated string
}

// Estimated reports whether the estimate has a value.
func (d DoseEstimate) Estimated() bool { return d.Value > 0 }

// Line is the estimate's line in the report's text, in French.
func (d DoseEstimate) Line() string {
	label := upperFirst(d.Label)
	if d.Site != "" {
		label += " (" + d.Site + ")"
	}
	if !d.Estimated() {
		return label + " : non estimée (" + d.NotEstimated + ")"
	}
	v := frNum(d.Value) + " " + frUnit(d.Unit)
	switch {
	case d.Range && d.Low > 0:
		v = "entre " + frNum(d.Low) + " et " + v
	case d.Range:
		v = "au plus " + v
	}
	return label + " : " + v + " (" + d.Method + ")"
}

// SummaryOptions are the models of a summary's estimates.
type SummaryOptions struct {
	// Coefficients and Types make the effective-dose estimate and the
	// nuclear-medicine organ doses (Coefficients nil: neither).
	Coefficients *Coefficients
	Types        *Table
	// SSDE, Foetal and Skin are the size-specific, foetal-dose and
	// skin-dose models (nil: the shipped ones).
	SSDE   *SSDECoefficients
	Foetal *FoetalCoefficients
	Skin   *SkinModel
	// Pregnant, when set, says whether a patient was declared pregnant on
	// a date by other means than the exam's DICOM Pregnancy Status
	// (PregnancyStore.Pregnant). Its error fails the summary: a pregnancy
	// must not be taken for none.
	Pregnant func(k vigie.SourceKey, date string) (bool, error)
}

// shippedTargetRegions are the CT target region codes of the shipped
// coefficients, for a foetal-dose estimate made without Coefficients.
var shippedTargetRegions = sync.OnceValue(func() map[string]string { return DefaultCoefficients().TargetRegions })

// estimates adds the second-level estimates of the study whose counted
// entries are counted to s; nm are the nuclear-medicine estimates of the
// effective-dose estimate (nil: none).
func (o *SummaryOptions) estimates(s *Summary, counted []ledger.Entry, nm []*NMEstimate) error {
	es := make([]*ledger.Entry, len(counted))
	var ct, projection bool
	var rp float64
	for i := range counted {
		e := &counted[i]
		es[i] = e
		switch e.Exam.Domain {
		case ledger.DomainCT:
			ct = ct || e.Exam.CT != nil
		case ledger.DomainProjection:
			projection = true
			rp += e.Counted.RP
		}
	}
	if ct {
		s.Estimates = append(s.Estimates, o.ssde(es))
	}
	pregnant, err := studyPregnant(es, o.Pregnant)
	if err != nil {
		return err
	}
	if pregnant {
		s.Estimates = append(s.Estimates, o.foetal(es))
	}
	if projection && rp > 0 {
		s.Estimates = append(s.Estimates, o.skin(es))
	}
	for _, n := range nm {
		s.Estimates = append(s.Estimates, organDoses(n)...)
	}
	return nil
}

// ssde is the highest SSDE of the study's acquisitions, or why none.
func (o *SummaryOptions) ssde(es []*ledger.Entry) DoseEstimate {
	c := o.SSDE
	if c == nil {
		c = DefaultSSDE()
	}
	out := DoseEstimate{Kind: EstimateSSDE, Code: CodeSSDE, Scheme: "DCM", Name: "Size Specific Dose Estimation",
		Label: "SSDE (dose estimée selon la corpulence) maximale", Unit: "mGy"}
	var best SSDEEstimate
	reason := ""
	for _, e := range es {
		for _, a := range c.Exam(&e.Exam) {
			if a.SSDE > best.SSDE {
				best = a
			}
			// A scout's or a figure-less acquisition's reason says
			// nothing of the study's.
			if reason == "" || (reason == ssdeScout || reason == ssdeNoCTDI) && a.Reason != "" {
				reason = a.Reason
			}
		}
	}
	if !best.Estimated() {
		out.NotEstimated = strings.TrimSuffix(strings.TrimSuffix(reason, " : SSDE non estimée"), " : pas de SSDE")
		if out.NotEstimated == "" {
			out.NotEstimated = "pas d'acquisition mesurée"
		}
		return out
	}
	out.Value = best.SSDE
	f := fmt.Sprintf("facteur %s × CTDIvol %s mGy (fantôme de %s cm)", frNum(round(best.Factor, 3)), frNum(best.CTDIvol), best.Phantom)
	switch best.DiameterFrom {
	case DiameterFromAge:
		out.MethodCode, out.MethodName = CodeSSDEFromAge, "AAPM 204 Effective Diameter Estimated From Patient Age"
		out.Method = fmt.Sprintf("diamètre effectif %s cm d'après l'âge, %s ; source : %s", frNum(best.DiameterCm), f, shortSource(c.AgeSource))
	default:
		out.MethodCode, out.MethodName = CodeSSDEFromWED, "Estimated from Water Equivalent Diameter"
		out.Method = fmt.Sprintf("diamètre équivalent eau %s cm transmis par l'appareil, %s ; source : %s", frNum(best.DiameterCm), f, shortSource(c.Source))
	}
	if best.Vendor > 0 {
		out.Method += fmt.Sprintf(" ; SSDE déclarée par l'appareil %s mGy", frNum(best.Vendor))
	}
	return out
}

// foetal is the dose to the uterus / foetus of the study.
func (o *SummaryOptions) foetal(es []*ledger.Entry) DoseEstimate {
	c := o.Foetal
	if c == nil {
		c = DefaultFoetal()
	}
	regions := shippedTargetRegions()
	if o.Coefficients != nil {
		regions = o.Coefficients.TargetRegions
	}
	region := ""
	if o.Types != nil {
		if m := o.Types.Classify(&es[0].Exam); m.ExamType != NoExamType {
			if et := o.Types.Type(m.ExamType); et != nil {
				region = et.Region
			}
		}
	}
	f := c.Study(es, regions, region)
	out := DoseEstimate{Kind: EstimateFoetal, Code: CodeFoetalDose, Scheme: SchemeVigie, Name: "Estimated dose to the uterus / foetus",
		Label: "dose à l'utérus / au fœtus (patiente enceinte ou susceptible de l'être)", Range: true, Unit: "mGy"}
	if !f.Estimated() {
		out.NotEstimated = strings.TrimPrefix(f.Reason, "non estimée : ")
		return out
	}
	out.Value, out.Low = f.HighmGy, f.LowmGy
	out.Method = "ordre de grandeur, fourchette"
	if f.Reason != "" {
		out.Method += " ; " + f.Reason
	}
	out.Method += " ; source : " + shortSource(f.Source)
	return out
}

// skin is the peak skin dose of the procedure.
func (o *SummaryOptions) skin(es []*ledger.Entry) DoseEstimate {
	m := o.Skin
	if m == nil {
		m = DefaultSkinModel()
	}
	sd := m.Estimate(es)
	out := DoseEstimate{Kind: EstimateSkin, Code: CodePeakSkinDose, Scheme: SchemeVigie, Name: "Estimated peak skin dose",
		Label: "dose maximale à la peau", Range: true, Unit: "mGy"}
	if !sd.Estimated() {
		out.NotEstimated = strings.TrimPrefix(sd.Reason, "pas de carte de dose à la peau : ")
		return out
	}
	out.Value, out.Low = sd.PeakHighmGy, sd.PeakLowmGy
	out.Method = fmt.Sprintf("modèle simplifié, fourchette ; kerma au point de référence %s mGy, %d événement(s)", frNum(round(sd.ReferencemGy, 1)), sd.Events)
	if sd.VendorTotalmGy > 0 {
		out.Method += fmt.Sprintf(", total déclaré par l'appareil %s mGy", frNum(round(sd.VendorTotalmGy, 1)))
	}
	if sd.Incomplete > 0 {
		out.Method += fmt.Sprintf(" ; %d événement(s) sans géométrie complète comptés au point le plus exposé", sd.Incomplete)
	}
	out.Method += " ; rétrodiffusion : " + shortSource(m.Backscatter.Source)
	return out
}

// organDoses are the organ doses of a nuclear-medicine estimate, one per
// administration.
func organDoses(n *NMEstimate) []DoseEstimate {
	var out []DoseEstimate
	for _, a := range n.Administrations {
		d := DoseEstimate{Kind: EstimateOrgan, Code: CodeOrganDose, Scheme: "DCM", Name: "Organ Dose", Unit: "mGy",
			Label: "dose absorbée à l'organe le plus exposé, " + a.Radiopharmaceutical}
		switch {
		case !a.Estimated():
			d.NotEstimated = strings.TrimSuffix(strings.TrimPrefix(a.Reason, "non estimée : "), " : non estimée")
		case a.Organ == "":
			d.NotEstimated = "la source des coefficients ne nomme pas d'organe"
			d.Reference = a.Reference
		default:
			d.Value, d.Site, d.Reference = a.OrganMGy, a.Organ, a.Reference
			d.Method = fmt.Sprintf("activité %s MBq × %s mGy/MBq, coefficient %s ; source : %s", frNum(a.MBq),
				strings.ReplaceAll(fmtNum(a.Coefficient.OrganMGyPerMBq), ".", ","), a.Reference, shortSource(a.Source))
		}
		out = append(out, d)
	}
	return out
}

// shortSource is the citation of a coefficients' source as the report's
// text gives it: the publication, without the tables, comments and
// addresses that follow it in the coefficient file.
func shortSource(s string) string {
	for _, sep := range []string{" : ", " ; ", " (", ", équation", " — ", ", https://", " https://"} {
		if i := strings.Index(s, sep); i > 0 {
			s = s[:i]
		}
	}
	return strings.TrimRight(strings.TrimSpace(s), ",.;") + "."
}
