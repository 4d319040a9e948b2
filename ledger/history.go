package ledger

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// HistoryWarning is the standing warning printed with every patient dose
// history: it is only as complete as the sites that send their exams and as
// right as the identity reconciliation behind it.
const HistoryWarning = "Cet historique ne couvre que les examens transmis par les établissements participants. " +
	"Il dépend du rapprochement des identités par l'index patient régional : un examen rattaché à une autre " +
	"identité, ou réalisé ailleurs, n'y figure pas."

// History is a patient's dose history in the sections of the regional dose
// synthesis. One row is one study (all the dose reports of a study, counted
// once); a study with a radiopharmaceutical report and CT figures (PET/CT,
// SPECT/CT) is one nuclear-medicine row carrying its CT part.
type History struct {
	Warning     string           `json:"warning"`
	Radiology   []RadiologyRow   `json:"radiology"`
	CT          []CTRow          `json:"ct"`
	NM          []NMRow          `json:"nuclear_medicine"`
	Mammography []MammographyRow `json:"mammography"`
}

// RowBase is what every history row carries: when, what, where, and which
// stored exams it sums.
type RowBase struct {
	Date      string       `json:"date"`
	Procedure string       `json:"procedure"`
	Site      string       `json:"site"` // the producing site's assigning authority
	StudyUID  string       `json:"study_uid,omitempty"`
	Sources   []SourceKind `json:"sources"`
	Exams     []string     `json:"exams"` // SOP instance UIDs counted in the row
}

// RadiologyRow is a conventional or interventional radiology study.
type RadiologyRow struct {
	RowBase
	DAPcGycm2     float64 `json:"dap_total_cGycm2"`
	AirKermamGy   float64 `json:"air_kerma_total_mGy"`
	FluoroTimeMin float64 `json:"fluoro_time_min"`
}

// CTRow is a CT study.
type CTRow struct {
	RowBase
	DLPmGycm   float64 `json:"dlp_total_mGycm"`
	CTDIvolmGy float64 `json:"ctdivol_mGy"` // the highest CTDIvol of the study
}

// NMRow is a nuclear-medicine study, with the CT part of a hybrid exam.
type NMRow struct {
	RowBase
	ActivityMBq         float64 `json:"activity_MBq"`
	Radiopharmaceutical string  `json:"radiopharmaceutical"`
	CTDLPmGycm          float64 `json:"ct_dlp_mGycm,omitempty"`
	CTCTDIvolmGy        float64 `json:"ct_ctdivol_mGy,omitempty"`
}

// MammographyRow is a mammography study.
type MammographyRow struct {
	RowBase
	AGDTotalmGy float64 `json:"agd_total_mGy"`
	AGDRightmGy float64 `json:"agd_right_mGy"`
	AGDLeftmGy  float64 `json:"agd_left_mGy"`
}

// History returns the dose history of a set of source records (the member
// records of one regional identity, from the patient index).
func (l *Ledger) History(ctx context.Context, keys []SourceKey) (*History, error) {
	es, err := l.Exams(ctx, keys)
	if err != nil {
		return nil, err
	}
	return BuildHistory(es), nil
}

// BuildHistory groups stored exams into history rows. Excluded entries
// (superseded header figures, conflicts) are left out. A row is one study
// of one source record: a study UID never joins two records' exams (see
// the package doc), so a hybrid exam's NM and CT parts are one row only
// when the same record holds both.
func BuildHistory(es []Entry) *History {
	h := &History{Warning: HistoryWarning}
	type group struct {
		study   string
		entries map[Domain][]*Entry
	}
	groups := map[string]*group{}
	var order []string
	for i := range es {
		e := &es[i]
		if e.Excluded() {
			continue
		}
		k := e.Exam.Key.Authority + "\x00" + e.Exam.Key.LocalID + "\x00" + e.Exam.StudyUID
		if e.Exam.StudyUID == "" {
			k = "sop:" + e.Exam.SOPInstanceUID
		}
		g := groups[k]
		if g == nil {
			g = &group{study: e.Exam.StudyUID, entries: map[Domain][]*Entry{}}
			groups[k] = g
			order = append(order, k)
		}
		g.entries[e.Exam.Domain] = append(g.entries[e.Exam.Domain], e)
	}
	for _, k := range order {
		g := groups[k]
		ct := g.entries[DomainCT]
		if nm := g.entries[DomainNM]; len(nm) > 0 {
			r := NMRow{RowBase: base(g.study, nm)}
			t := sum(nm)
			r.ActivityMBq = t.Activity
			r.Radiopharmaceutical = radiopharmaceutical(nm)
			if len(ct) > 0 {
				c := sum(ct)
				r.CTDLPmGycm, r.CTCTDIvolmGy = c.DLP, c.CTDIvolMax
				addExams(&r.RowBase, ct)
			}
			h.NM = append(h.NM, r)
			ct = nil
		}
		if len(ct) > 0 {
			t := sum(ct)
			h.CT = append(h.CT, CTRow{RowBase: base(g.study, ct), DLPmGycm: t.DLP, CTDIvolmGy: t.CTDIvolMax})
		}
		if p := g.entries[DomainProjection]; len(p) > 0 {
			t := sum(p)
			h.Radiology = append(h.Radiology, RadiologyRow{RowBase: base(g.study, p),
				DAPcGycm2: CGyCm2(t.DAP), AirKermamGy: t.RP, FluoroTimeMin: t.FluoroTime / 60})
		}
		if m := g.entries[DomainMammography]; len(m) > 0 {
			t := sum(m)
			h.Mammography = append(h.Mammography, MammographyRow{RowBase: base(g.study, m),
				AGDTotalmGy: t.AGDTotal(), AGDRightmGy: t.AGDRight, AGDLeftmGy: t.AGDLeft})
		}
	}
	return h
}

func sum(es []*Entry) Totals {
	var t Totals
	for _, e := range es {
		t.add(e.Effective())
	}
	return t
}

func base(study string, es []*Entry) RowBase {
	b := RowBase{StudyUID: study}
	sites := map[string]bool{}
	for _, e := range es {
		x := &e.Exam
		if b.Date == "" || (x.Date != "" && x.Date < b.Date) {
			b.Date = x.Date
		}
		if b.Procedure == "" {
			b.Procedure = x.Procedure
		}
		if !sites[x.Key.Authority] {
			sites[x.Key.Authority] = true
		}
	}
	b.Site = joinKeys(sites)
	addExams(&b, es)
	return b
}

func addExams(b *RowBase, es []*Entry) {
	for _, e := range es {
		b.Exams = append(b.Exams, e.Exam.SOPInstanceUID)
		found := false
		for _, s := range b.Sources {
			found = found || s == e.Exam.Source
		}
		if !found {
			b.Sources = append(b.Sources, e.Exam.Source)
		}
	}
}

func radiopharmaceutical(es []*Entry) string {
	seen := map[string]bool{}
	for _, e := range es {
		if e.Exam.NM == nil {
			continue
		}
		for _, a := range e.Exam.NM.Administrations {
			s := a.Radiopharmaceutical.Meaning
			if s == "" {
				s = a.Radiopharmaceutical.Value
			}
			if n := a.Radionuclide.Meaning; n != "" {
				s += " (" + n + ")"
			}
			if s != "" {
				seen[s] = true
			}
		}
	}
	return joinKeys(seen)
}

func joinKeys(m map[string]bool) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}

// WriteText prints the history as the regional dose synthesis reads: the
// standing warning, then one table per section (French headings, the
// units of the national conventions). Empty sections say so.
func (h *History) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("%s\n", h.Warning)
	f := func(v float64, prec int) string {
		if v == 0 {
			return "-"
		}
		return strconv.FormatFloat(v, 'f', prec, 64)
	}
	section := func(title string, n int, header string, rows func(tw io.Writer)) {
		ew.printf("\n%s\n", title)
		if n == 0 {
			ew.printf("  aucun examen\n")
			return
		}
		tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  "+header)
		rows(tw)
		tw.Flush()
	}
	section("Radiologie conventionnelle et interventionnelle", len(h.Radiology),
		"Date\tActe\tPDS total (cGy.cm²)\tKerma air total (mGy)\tScopie (min)\tÉtablissement", func(tw io.Writer) {
			for _, r := range h.Radiology {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", dash(r.Date), dash(r.Procedure), f(r.DAPcGycm2, 2), f(r.AirKermamGy, 2), f(r.FluoroTimeMin, 1), dash(r.Site))
			}
		})
	section("Scanographie", len(h.CT),
		"Date\tActe\tPDL total (mGy.cm)\tIDSV max (mGy)\tÉtablissement", func(tw io.Writer) {
			for _, r := range h.CT {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", dash(r.Date), dash(r.Procedure), f(r.DLPmGycm, 1), f(r.CTDIvolmGy, 2), dash(r.Site))
			}
		})
	section("Médecine nucléaire", len(h.NM),
		"Date\tActe\tActivité (MBq)\tRadiopharmaceutique / isotope\tPDL TDM (mGy.cm)\tIDSV TDM (mGy)\tÉtablissement", func(tw io.Writer) {
			for _, r := range h.NM {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", dash(r.Date), dash(r.Procedure), f(r.ActivityMBq, 0), dash(r.Radiopharmaceutical), f(r.CTDLPmGycm, 1), f(r.CTCTDIvolmGy, 2), dash(r.Site))
			}
		})
	section("Mammographie", len(h.Mammography),
		"Date\tActe\tDGM totale (mGy)\tDGM droite (mGy)\tDGM gauche (mGy)\tÉtablissement", func(tw io.Writer) {
			for _, r := range h.Mammography {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", dash(r.Date), dash(r.Procedure), f(r.AGDTotalmGy, 2), f(r.AGDRightmGy, 2), f(r.AGDLeftmGy, 2), dash(r.Site))
			}
		})
	return ew.err
}

func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
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
