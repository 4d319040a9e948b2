package dosimetry

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"vigie/ledger"
)

// PatientBlock is the identity printed at the top of a dose history. The
// caller (who read it from the patient index) gives it; it is printed, never
// logged.
type PatientBlock struct {
	Name      string // as printed: "DUPONT Marie"
	BirthDate string // ISO YYYY-MM-DD
	Sex       string // M, F, O or empty
}

// SectionTotals are the cumulative figures of a history.
type SectionTotals struct {
	DAPcGycm2     float64
	AirKermamGy   float64
	FluoroTimeMin float64
	CTDLPmGycm    float64
	NMActivityMBq float64
	NMCTDLPmGycm  float64
	AGDmGy        float64
}

// HistoryDocument is a patient dose history ready to print: the history of
// the ledger, its cumulative totals and the effective-dose estimate.
type HistoryDocument struct {
	Patient   PatientBlock
	History   *ledger.History
	Totals    SectionTotals
	Estimate  Cumulative
	Generated time.Time
	// SiteNames prints a site's name instead of its assigning authority
	// (an OID) when the caller knows it.
	SiteNames map[string]string
}

// site returns the names of the comma-separated authorities of a row.
func (d *HistoryDocument) site(authorities string) string {
	if len(d.SiteNames) == 0 {
		return authorities
	}
	parts := strings.Split(authorities, ", ")
	for i, a := range parts {
		if n, ok := d.SiteNames[a]; ok && n != "" {
			parts[i] = n
		}
	}
	return strings.Join(parts, ", ")
}

// NewHistoryDocument builds the printable history of a patient from the
// stored exams of their source records (ledger.Exams of the identity's
// members).
func NewHistoryDocument(p PatientBlock, es []ledger.Entry, tab *Table, coef *Coefficients, now time.Time) *HistoryDocument {
	h := ledger.BuildHistory(es)
	d := &HistoryDocument{Patient: p, History: h, Estimate: coef.EstimateAll(es, tab), Generated: now}
	for _, r := range h.Radiology {
		d.Totals.DAPcGycm2 += r.DAPcGycm2
		d.Totals.AirKermamGy += r.AirKermamGy
		d.Totals.FluoroTimeMin += r.FluoroTimeMin
	}
	for _, r := range h.CT {
		d.Totals.CTDLPmGycm += r.DLPmGycm
	}
	for _, r := range h.NM {
		d.Totals.NMActivityMBq += r.ActivityMBq
		d.Totals.NMCTDLPmGycm += r.CTDLPmGycm
	}
	for _, r := range h.Mammography {
		d.Totals.AGDmGy += r.AGDTotalmGy
	}
	return d
}

//go:embed history.html.tmpl
var historyTmpl string

var historyTemplate = template.Must(template.New("history").Funcs(template.FuncMap{
	"num":      frNum,
	"date":     frDate,
	"sex":      frSex,
	"site":     func(s string) string { return s },
	"estimate": func() string { return EstimateLabel },
	"sources": func(s []ledger.SourceKind) string {
		out := make([]string, len(s))
		for i, k := range s {
			out[i] = map[ledger.SourceKind]string{ledger.SourceRDSR: "RDSR", ledger.SourceESR: "SR", ledger.SourceHeader: "en-tête"}[k]
		}
		return strings.Join(out, ", ")
	},
}).Parse(historyTmpl))

// WriteHTML writes the history as a printable French HTML page (A4, print
// stylesheet), laid out like the regional dose synthesis: the patient
// block, the standing warning that the history is not exhaustive, one
// table per section with its cumulative total, and the effective-dose
// estimate with its coefficients' source. Every value is escaped.
func (d *HistoryDocument) WriteHTML(w io.Writer) error {
	t, err := historyTemplate.Clone()
	if err != nil {
		return fmt.Errorf("dosimetry: history HTML: %w", err)
	}
	t.Funcs(template.FuncMap{"site": d.site})
	if err := t.Execute(w, d); err != nil {
		return fmt.Errorf("dosimetry: history HTML: %w", err)
	}
	return nil
}

// frNum formats a figure the French way: comma decimal separator, at most
// two decimals, a narrow no-break space between thousands.
func frNum(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	s := strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteString("\u202f")
		}
		b.WriteRune(c)
	}
	out := b.String()
	if frac != "" {
		out += "," + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

// frDate turns an ISO date into DD/MM/YYYY.
func frDate(s string) string {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.Format("02/01/2006")
	}
	return s
}

func frSex(s string) string {
	switch strings.ToUpper(s) {
	case "F":
		return "Féminin"
	case "M":
		return "Masculin"
	case "O":
		return "Autre"
	case "":
		return "Non renseigné"
	}
	return s
}
