package dosimetry

import (
	"fmt"
	"strconv"
	"strings"

	"vigie"
	"vigie/ledger"
)

// Summary is one study's dose summary, as Vigie sends it back to the
// systems that write the exam report (a RIS, a HIS) and serves it to FHIR
// clients: the figures the study's exams count (a header exam superseded
// by the study's dose SR counts nothing), the effective-dose estimate with
// its method, and the text a French exam report carries so that the
// patient's dose can be estimated (arrêté du 22 septembre 2006: the
// equipment, and per kind of exam the dose indicator).
type Summary struct {
	Key       vigie.SourceKey // the source record the exams were sent for
	Study     string          // ledger.StudyOf: the study UID or "sop:" and the SOP instance
	StudyUID  string
	Accession string
	Date      string // ISO YYYY-MM-DD of the first exam
	Time      string // HH:MM:SS
	Modality  string
	Procedure string
	Device    string
	// SOPs are the SOP instances whose figures the summary counts, in
	// the order stored.
	SOPs []string
	// Figures are the dose indicators, in a fixed order (see Figure).
	Figures []Figure
	// Estimate is the effective-dose estimate of the study (nil: none),
	// EstimateMethod says how it was made, in French, and
	// NotEstimated why there is none when the study has figures.
	Estimate       *Figure
	EstimateMethod string
	NotEstimated   string
	// Radiopharmaceuticals are the administered agents (nuclear medicine),
	// by name.
	Radiopharmaceuticals []string
	// Estimates are the second-level estimates of the study (SSDE, dose
	// to the uterus / foetus, peak skin dose, organ doses), each with its
	// method and source or the reason it was not made (see DoseEstimate).
	Estimates []DoseEstimate
}

// Figure is one dose indicator of a summary: its DICOM concept (code value
// and scheme DCM, the codes of the dose SR templates and of the Radiation
// Dose Summary FHIR IG), its French label, its value and UCUM unit.
type Figure struct {
	Code  string // DICOM concept code (scheme DCM)
	Name  string // English meaning of the DICOM code
	Label string // French label, for the report's text
	Value float64
	Unit  string // UCUM
}

// Dose indicator codes (DICOM PS3.16, scheme DCM).
const (
	CodeCTDIvol       = "113830" // Mean CTDIvol (the study's maximum)
	CodeDLPTotal      = "113813" // CT Dose Length Product Total
	CodeDAPTotal      = "113722" // Dose Area Product Total
	CodeRPTotal       = "113725" // Dose (RP) Total
	CodeFluoroTime    = "113730" // Total Fluoro Time
	CodeAGD           = "111637" // Accumulated Average Glandular Dose
	CodeActivity      = "113507" // Administered activity
	CodeEffectiveDose = "113839" // Effective Dose
)

// regionLabels are the French names of the coefficient files' regions.
var regionLabels = map[string]string{
	"head": "tête", "head_neck": "tête et cou", "neck": "cou", "chest": "thorax",
	"abdomen_pelvis": "abdomen-pelvis", "trunk": "tronc", "heart": "cœur",
}

// Summarize makes the dose summary of one study from its stored exams
// (ledger.Ledger.Study: every entry of one record and study). coef and tab
// give the effective-dose estimate (coef nil: none); the second-level
// estimates use the shipped models, and only the DICOM Pregnancy Status
// asks for a foetal dose. It returns false when no exam of the study
// counts (nothing to report).
func Summarize(es []ledger.Entry, coef *Coefficients, tab *Table) (*Summary, bool) {
	s, ok, _ := SummarizeWith(es, SummaryOptions{Coefficients: coef, Types: tab}) // without Pregnant, nothing fails
	return s, ok
}

// SummarizeWith is Summarize with the models of o; its error is
// o.Pregnant's.
func SummarizeWith(es []ledger.Entry, o SummaryOptions) (*Summary, bool, error) {
	coef, tab := o.Coefficients, o.Types
	var s *Summary
	var t ledger.Totals
	var counted []ledger.Entry
	for i := range es {
		e := &es[i]
		if e.Excluded() {
			continue
		}
		x := &e.Exam
		if s == nil {
			s = &Summary{Key: x.Key, Study: ledger.StudyOf(x), StudyUID: x.StudyUID, Date: x.Date, Time: x.Time}
		}
		first := func(dst *string, v string) {
			if *dst == "" {
				*dst = strings.TrimSpace(v)
			}
		}
		first(&s.Accession, x.Accession)
		first(&s.Modality, x.Modality)
		first(&s.Procedure, x.Procedure)
		first(&s.Device, x.Device.String())
		s.SOPs = append(s.SOPs, x.SOPInstanceUID)
		u := e.Counted
		t.DLP += u.DLP
		t.CTDIvolMax = max(t.CTDIvolMax, u.CTDIvolMax, e.Reported.CTDIvolMax)
		t.DAP += u.DAP
		t.RP += u.RP
		t.FluoroTime += u.FluoroTime
		t.AGDLeft += u.AGDLeft
		t.AGDRight += u.AGDRight
		t.AGDBoth += u.AGDBoth
		t.Activity += u.Activity
		if x.NM != nil {
			for _, a := range x.NM.Administrations {
				if n := ledger.RadiopharmaceuticalName(a.Radiopharmaceutical); n != "" && !contains(s.Radiopharmaceuticals, n) {
					s.Radiopharmaceuticals = append(s.Radiopharmaceuticals, n)
				}
			}
		}
		counted = append(counted, *e)
	}
	if s == nil {
		return nil, false, nil
	}
	add := func(code, name, label string, v float64, unit string) {
		if v > 0 {
			s.Figures = append(s.Figures, Figure{Code: code, Name: name, Label: label, Value: v, Unit: unit})
		}
	}
	add(CodeCTDIvol, "Mean CTDIvol", "IDSV (CTDIvol) maximal", t.CTDIvolMax, "mGy")
	add(CodeDLPTotal, "CT Dose Length Product Total", "PDL (produit dose × longueur) total", t.DLP, "mGy.cm")
	add(CodeDAPTotal, "Dose Area Product Total", "PDS (produit dose × surface) total", t.DAP*1e7, "mGy.cm2")
	add(CodeRPTotal, "Dose (RP) Total", "kerma dans l'air au point de référence", t.RP, "mGy")
	add(CodeFluoroTime, "Total Fluoro Time", "durée de scopie", t.FluoroTime, "s")
	add(CodeAGD, "Accumulated Average Glandular Dose", "dose glandulaire moyenne cumulée", t.AGDTotal(), "mGy")
	add(CodeActivity, "Administered activity", "activité administrée", t.Activity, "MBq")
	var nm []*NMEstimate
	if coef != nil {
		c := coef.EstimateAll(counted, tab)
		var methods []string
		for _, e := range c.Exams {
			if e.NM != nil {
				nm = append(nm, e.NM)
			}
			switch {
			case e.Estimated() && e.NM != nil:
				for _, a := range e.NM.Administrations {
					m := fmt.Sprintf("activité × coefficient, %s : %s mSv/MBq (%s), source : %s", a.Radiopharmaceutical,
						strings.ReplaceAll(strconv.FormatFloat(a.Coefficient.MSvPerMBq, 'g', -1, 64), ".", ","), a.Coefficient.Reference, shortSource(a.Source))
					if e.Warning != "" {
						m += " (" + e.Warning + ")"
					}
					if !contains(methods, m) {
						methods = append(methods, m)
					}
				}
			case e.Estimated():
				m := "PDL × k"
				unit := "mSv/(mGy.cm)"
				if e.Method == "dap" {
					m, unit = "PDS × k", "mSv/(Gy.cm²)"
				}
				m += fmt.Sprintf(", k = %s %s", strings.ReplaceAll(strconv.FormatFloat(e.Coefficient, 'g', -1, 64), ".", ","), unit)
				if r := regionLabels[e.Region]; r != "" {
					m += ", région " + r
				}
				if e.AgeBand != "" {
					m += ", coefficient pédiatrique " + e.AgeBand
				}
				if e.Warning != "" {
					m += " (" + e.Warning + ")"
				}
				if !contains(methods, m) {
					methods = append(methods, m)
				}
			case e.Reason != "" && s.NotEstimated == "":
				s.NotEstimated = e.Reason
			}
		}
		if len(methods) > 0 {
			s.Estimate = &Figure{Code: CodeEffectiveDose, Name: "Effective Dose", Label: "dose efficace (" + EstimateLabel + ")", Value: c.MSv, Unit: "mSv"}
			s.EstimateMethod = strings.Join(methods, " ; ")
			if c.NotEstimated > 0 {
				s.EstimateMethod += fmt.Sprintf(" ; %d examen(s) non estimé(s)", c.NotEstimated)
			}
		}
	}
	if err := o.estimates(s, counted, nm); err != nil {
		return nil, false, err
	}
	return s, true, nil
}

// Text is the summary's block for the exam report, in French, one line
// per item: what the report must carry so that the patient's dose can be
// estimated. It names no internal code and no identifier.
func (s *Summary) Text() []string {
	lines := []string{"Informations dosimétriques (arrêté du 22 septembre 2006)"}
	if s.Procedure != "" {
		lines = append(lines, "Examen : "+strings.Join(strings.FieldsFunc(s.Procedure, func(r rune) bool { return r == '^' || r == ' ' }), " "))
	}
	if d := frDate(s.Date); s.Date != "" {
		lines = append(lines, "Date : "+d)
	}
	if s.Device != "" {
		lines = append(lines, "Appareil : "+s.Device)
	}
	if len(s.Radiopharmaceuticals) > 0 {
		lines = append(lines, "Radiopharmaceutique : "+strings.Join(s.Radiopharmaceuticals, ", "))
	}
	for _, f := range s.Figures {
		lines = append(lines, upperFirst(f.Label)+" : "+frNum(f.Value)+" "+frUnit(f.Unit))
	}
	switch {
	case s.Estimate != nil:
		lines = append(lines, fmt.Sprintf("Dose efficace estimée : %s mSv (%s : %s)", frNum(s.Estimate.Value), EstimateLabel, s.EstimateMethod))
	case s.NotEstimated != "":
		lines = append(lines, "Dose efficace : non estimée ("+s.NotEstimated+")")
	}
	for _, d := range s.Estimates {
		lines = append(lines, d.Line())
	}
	return lines
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	return strings.ToUpper(string(r[0])) + string(r[1:])
}

// frUnit writes a UCUM unit as a French report does.
func frUnit(u string) string {
	switch u {
	case "mGy.cm2":
		return "mGy.cm²"
	}
	return u
}
