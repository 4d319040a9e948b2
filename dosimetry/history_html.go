package dosimetry

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"vigie/ledger"
	"vigie/sites"
)

// PatientBlock is the identity printed at the top of every page of a dose
// history. The caller (who read it from the patient index) gives it; it is
// printed, never logged.
type PatientBlock struct {
	BirthName  string // nom de naissance
	UsedName   string // nom d'usage, when it differs
	FirstNames string // prénom(s)
	BirthDate  string // ISO YYYY-MM-DD
	Sex        string // M, F, O or empty
}

// Name is the patient's name as printed: "DUPONT" or "MARTIN (née
// DUPONT)".
func (p PatientBlock) Name() string {
	if p.UsedName != "" && !strings.EqualFold(p.UsedName, p.BirthName) {
		born := "né·e"
		switch strings.ToUpper(p.Sex) {
		case "F":
			born = "née"
		case "M":
			born = "né"
		}
		return strings.TrimSpace(p.UsedName + " (" + born + " " + p.BirthName + ")")
	}
	return p.BirthName
}

// HistoryDocument is a patient's dose history ready to read or print, in
// the format of the regional "historique dosimétrique": the standing
// warning first, the patient block, one section per family of exams
// (newest first, with its cumulative figures), establishments by name.
type HistoryDocument struct {
	Patient   PatientBlock
	History   *ledger.History
	Estimate  Cumulative
	Generated time.Time
	// AccessCode, when set, is a patient access code printed in a box
	// after the patient block, for the patient to pass on to the
	// professionals of other sites.
	AccessCode *PatientCode
}

// PatientCode is an access code made for the patient (auth.Access) and
// when it stops working (printed in its own time zone).
type PatientCode struct {
	Code    string
	Expires time.Time
}

// NewHistoryDocument builds the history of a patient from the stored exams
// of their source records (ledger.Exams of the identity's members); names
// gives the establishments' names (sites.Registry.Names; nil: every
// establishment is shown as sites.Unknown, never as an OID).
func NewHistoryDocument(p PatientBlock, es []ledger.Entry, names sites.Names, tab *Table, coef *Coefficients, now time.Time) *HistoryDocument {
	h := ledger.BuildHistory(es)
	h.NameSites(names.List)
	DefaultSSDE().FillHistory(h, es)
	coef.nm().FillHistory(h, es)
	return &HistoryDocument{Patient: p, History: h, Estimate: coef.EstimateAll(es, tab), Generated: now}
}

// Section titles and figure labels of the regional synthesis.
const (
	TitleRadiology   = "Examens de radiologie conventionnelle et interventionnelle"
	TitleCT          = "Examens de scanographie"
	TitleNM          = "Examens de médecine nucléaire"
	TitleMammography = "Examens de mammographie"
)

//go:embed history.html.tmpl
var historyTmpl string

var historyTemplate = template.Must(template.New("history").Funcs(template.FuncMap{
	"num":      frFigure,
	"date":     frDate,
	"datetime": func(t time.Time) string { return t.Format("02/01/2006 à 15h04") },
	"sex":      frSex,
	"estimate": func() string { return EstimateLabel },
	"titles": func() map[string]string {
		return map[string]string{"radiology": TitleRadiology, "ct": TitleCT, "nm": TitleNM, "mammography": TitleMammography}
	},
}).Parse(historyTmpl))

// WriteHTML writes the history as a printable French HTML page (A4, print
// stylesheet): every printed sheet repeats the patient's identity in its
// header; the warning, the patient block, one table per section with its
// cumulative figures, and the effective-dose estimate with its
// coefficients' source follow. Every value is escaped.
func (d *HistoryDocument) WriteHTML(w io.Writer) error {
	if err := historyTemplate.Execute(w, d); err != nil {
		return fmt.Errorf("dosimetry: history HTML: %w", err)
	}
	return nil
}

// WriteText writes the history as French text, in the order of the
// printed document: warning, patient block, sections (blank where a
// figure is missing, decimal comma).
func (d *HistoryDocument) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	h, p := d.History, d.Patient
	ew.printf("HISTORIQUE DOSIMÉTRIQUE\n\n")
	ew.printf("Avertissement : %s\n\n", h.Warning)
	ew.printf("Patient\n  Nom : %s\n  Prénom(s) : %s\n  Date de naissance : %s\n  Sexe : %s\n",
		p.Name(), p.FirstNames, frDate(p.BirthDate), frSex(p.Sex))
	t := &h.Totals
	section := func(title string, n int, figures [][2]string, header string, rows func(tw io.Writer)) {
		ew.printf("\n%s\n", title)
		if n == 0 {
			ew.printf("  Aucun examen transmis.\n")
			return
		}
		for _, f := range figures {
			ew.printf("  %s : %s\n", f[0], f[1])
		}
		tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  "+header)
		rows(tw)
		tw.Flush()
	}
	section(TitleRadiology, len(h.Radiology), [][2]string{
		{"PDS total (cGy.cm²)", frFigure(t.DAPcGycm2)}, {"Kerma dans l'air total (mGy)", frFigure(t.AirKermamGy)},
		{"Temps total de scopie (min)", frFigure(t.FluoroTimeMin)}},
		"Date\tExamen\tÉtablissement\tPDS (cGy.cm²)\tKerma (mGy)\tScopie (min)", func(tw io.Writer) {
			for _, r := range h.Radiology {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", frDate(r.Date), r.Procedure, r.SiteName,
					frFigure(r.DAPcGycm2), frFigure(r.AirKermamGy), frFigure(r.FluoroTimeMin))
			}
		})
	section(TitleCT, len(h.CT), [][2]string{
		{"PDL total (mGy.cm)", frFigure(t.DLPmGycm)}, {"IDSV total (mGy)", frFigure(t.CTDIvolSummGy)}},
		"Date\tExamen\tÉtablissement\tPDL (mGy.cm)\tIDSV (mGy)\tIDSV max (mGy)\tSSDE max", func(tw io.Writer) {
			for _, r := range h.CT {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", frDate(r.Date), r.Procedure, r.SiteName,
					frFigure(r.DLPmGycm), frFigure(r.CTDIvolSummGy), frFigure(r.CTDIvolmGy), r.SSDE)
			}
		})
	section(TitleNM, len(h.NM), [][2]string{
		{"Activité totale (MBq)", ActivitiesText(t.NMActivities)}, {"PDL total de la partie TDM (mGy.cm)", frFigure(t.NMCTDLPmGycm)},
		{"IDSV total de la partie TDM (mGy)", frFigure(t.NMCTDIvolSummGy)}},
		"Date\tExamen\tÉtablissement\tRadiopharmaceutique / isotope\tActivité (MBq)\tPDL TDM (mGy.cm)\tIDSV TDM (mGy)\tDose efficace (estimation)\tOrgane le plus exposé (estimation)", func(tw io.Writer) {
			for _, r := range h.NM {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", frDate(r.Date), r.Procedure, r.SiteName,
					r.Radiopharmaceutical, ActivitiesText(r.Activities), frFigure(r.CTDLPmGycm), frFigure(r.CTCTDIvolSummGy), r.EffectiveDose, r.OrganDose)
			}
		})
	section(TitleMammography, len(h.Mammography), [][2]string{
		{"Dose glandulaire moyenne cumulée totale (mGy)", frFigure(t.AGDTotalmGy)},
		{"Sein droit (mGy)", frFigure(t.AGDRightmGy)}, {"Sein gauche (mGy)", frFigure(t.AGDLeftmGy)}},
		"Date\tExamen\tÉtablissement\tDGM totale (mGy)\tSein droit (mGy)\tSein gauche (mGy)", func(tw io.Writer) {
			for _, r := range h.Mammography {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", frDate(r.Date), r.Procedure, r.SiteName,
					frFigure(r.AGDTotalmGy), frFigure(r.AGDRightmGy), frFigure(r.AGDLeftmGy))
			}
		})
	ew.printf("\nDose efficace cumulée (%s) : %s mSv. %s\n", EstimateLabel, frFigure(d.Estimate.MSv), d.Estimate.Label)
	ew.printf("\nDocument établi le %s à partir du registre régional des doses Vigie.\n", d.Generated.Format("02/01/2006 à 15:04"))
	return ew.err
}

// ActivitiesText writes activities by radionuclide, never added
// together: "250" for one, "FDG / F 18 : 450 ; MIBI / Tc 99m : 700" for
// several (MBq).
func ActivitiesText(as []ledger.Activity) string {
	if len(as) == 1 {
		return frFigure(as[0].MBq)
	}
	parts := make([]string, 0, len(as))
	for _, a := range as {
		if v := frFigure(a.MBq); v != "" {
			label := a.Label()
			if label == "" {
				label = "non précisé"
			}
			parts = append(parts, label+" : "+v)
		}
	}
	return strings.Join(parts, " ; ")
}

// frFigure formats a dose figure for French readers: blank when the
// reports gave none (0), otherwise as frNum.
func frFigure(v float64) string {
	if v == 0 || math.IsNaN(v) {
		return ""
	}
	return frNum(v)
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

// errWriter keeps the first write error so that WriteText can report it.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return len(p), nil
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, nil
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }
