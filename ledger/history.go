package ledger

import (
	"context"
	"slices"
	"sort"
	"strings"

	"vigie"
)

// HistoryWarning is the standing warning printed first with every patient
// dose history: it is not exhaustive, it holds only the exams of member
// establishments from the day each joined, and it is only as right as the
// reconciliation of the patient's identities behind it.
const HistoryWarning = "Cet historique n'est pas exhaustif. Il ne recense que les examens réalisés dans les établissements " +
	"adhérents au registre régional, et seulement depuis la date d'adhésion de chacun. Il dépend du rapprochement " +
	"des identités du patient par l'index patient régional : un examen enregistré sous une autre identité non " +
	"rapprochée, ou réalisé ailleurs, n'y figure pas."

// History is a patient's dose history in the sections of the regional dose
// synthesis, newest exam first in each section, with each section's
// cumulative figures. One row is one study (all the dose reports of a
// study, counted once); a study with a radiopharmaceutical report and CT
// figures (PET/CT, SPECT/CT) is one nuclear-medicine row carrying its CT
// part. A figure of 0 is a figure the reports did not give: it is shown
// blank, never as 0.
type History struct {
	Warning     string           `json:"warning"`
	Radiology   []RadiologyRow   `json:"radiology"`
	CT          []CTRow          `json:"ct"`
	NM          []NMRow          `json:"nuclear_medicine"`
	Mammography []MammographyRow `json:"mammography"`
	Totals      HistoryTotals    `json:"totals"`
}

// HistoryTotals are the cumulative figures of each section.
type HistoryTotals struct {
	DAPcGycm2     float64 `json:"dap_total_cGycm2"`
	AirKermamGy   float64 `json:"air_kerma_total_mGy"`
	FluoroTimeMin float64 `json:"fluoro_time_min"`
	DLPmGycm      float64 `json:"dlp_total_mGycm"`
	// CTDIvolSummGy is the IDSV total of the CT section: the sum of the
	// CTDIvol of every acquisition, as the regional synthesis reads.
	CTDIvolSummGy float64 `json:"ctdivol_total_mGy"`
	// NMActivities is the activity administered per radionuclide:
	// activities of different isotopes are never added together.
	NMActivities    []Activity `json:"nm_activities"`
	NMCTDLPmGycm    float64    `json:"nm_ct_dlp_mGycm"`
	NMCTDIvolSummGy float64    `json:"nm_ct_ctdivol_total_mGy"`
	AGDTotalmGy     float64    `json:"agd_total_mGy"`
	AGDRightmGy     float64    `json:"agd_right_mGy"`
	AGDLeftmGy      float64    `json:"agd_left_mGy"`
}

// Activity is an administered activity of one radiopharmaceutical and
// radionuclide, named for people ("FDG", "F 18").
type Activity struct {
	Radiopharmaceutical string  `json:"radiopharmaceutical"`
	Radionuclide        string  `json:"radionuclide"`
	MBq                 float64 `json:"activity_MBq"`
}

// Label is "FDG / F 18": the radiopharmaceutical and the radionuclide,
// either alone when the other is unknown.
func (a Activity) Label() string {
	switch {
	case a.Radiopharmaceutical == "":
		return a.Radionuclide
	case a.Radionuclide == "" || a.Radionuclide == a.Radiopharmaceutical:
		return a.Radiopharmaceutical
	}
	return a.Radiopharmaceutical + " / " + a.Radionuclide
}

// RowBase is what every history row carries: when, what, where, and which
// stored exams it sums.
type RowBase struct {
	Date      string `json:"date"`
	Procedure string `json:"procedure"`
	Site      string `json:"site"` // the producing site's assigning authority
	// SiteName is the establishment's name, set by NameSites (never the
	// OID: see package sites).
	SiteName string       `json:"site_name,omitempty"`
	StudyUID string       `json:"study_uid,omitempty"`
	Sources  []SourceKind `json:"sources"`
	Exams    []string     `json:"exams"` // SOP instance UIDs counted in the row
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
	// CTDIvolSummGy is the IDSV total: the sum of the CTDIvol of the
	// study's acquisitions (irradiation events of its dose reports, each
	// once). 0 when only image headers gave CTDIvol: images repeat their
	// acquisition's value, so their sum would not be the acquisitions'.
	CTDIvolSummGy float64 `json:"ctdivol_total_mGy"`
	// SSDE is the size-specific dose estimate beside CTDIvol: the
	// highest SSDE of the study's acquisitions, as the dose service
	// prints it ("12,3 mGy", possibly "(estimée d'après l'âge)"), or its
	// reason for none. BuildHistory leaves it empty: package dosimetry
	// fills it from its coefficients.
	SSDE string `json:"ssde,omitempty"`
}

// NMRow is a nuclear-medicine study, with the CT part of a hybrid exam.
type NMRow struct {
	RowBase
	// ActivityMBq is the activity administered when the study used one
	// radionuclide; with several it is 0 and Activities gives each.
	ActivityMBq float64 `json:"activity_MBq"`
	// Radiopharmaceutical is the study's activities' labels ("FDG / F 18").
	Radiopharmaceutical string     `json:"radiopharmaceutical"`
	Activities          []Activity `json:"activities"`
	CTDLPmGycm          float64    `json:"ct_dlp_mGycm,omitempty"`
	CTCTDIvolmGy        float64    `json:"ct_ctdivol_mGy,omitempty"`
	CTCTDIvolSummGy     float64    `json:"ct_ctdivol_total_mGy,omitempty"`
	// EffectiveDose and OrganDose are the estimates from the
	// radiopharmaceuticals' published dose coefficients, as the dose
	// service prints them ("7,49 mSv (adulte)", "vessie : 63,04 mGy"), or
	// "non estimée" with the reason. BuildHistory leaves them empty:
	// package dosimetry fills them from its coefficients.
	EffectiveDose string `json:"effective_dose_estimate,omitempty"`
	OrganDose     string `json:"organ_dose_estimate,omitempty"`
}

// MammographyRow is a mammography study.
type MammographyRow struct {
	RowBase
	AGDTotalmGy float64 `json:"agd_total_mGy"`
	AGDRightmGy float64 `json:"agd_right_mGy"`
	AGDLeftmGy  float64 `json:"agd_left_mGy"`
}

// NameSites sets each row's SiteName from its authorities (name returns
// the establishments' names of a comma-separated list: sites.Names.List).
func (h *History) NameSites(name func(authorities string) string) {
	for i := range h.Radiology {
		h.Radiology[i].SiteName = name(h.Radiology[i].Site)
	}
	for i := range h.CT {
		h.CT[i].SiteName = name(h.CT[i].Site)
	}
	for i := range h.NM {
		h.NM[i].SiteName = name(h.NM[i].Site)
	}
	for i := range h.Mammography {
		h.Mammography[i].SiteName = name(h.Mammography[i].Site)
	}
}

// History returns the dose history of a set of source records (the member
// records of one regional identity, from the patient index).
func (l *Ledger) History(ctx context.Context, keys []vigie.SourceKey) (*History, error) {
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
			r.Activities = activities(nm)
			labels := make([]string, len(r.Activities))
			for i, a := range r.Activities {
				labels[i] = a.Label()
			}
			r.Radiopharmaceutical = strings.Join(labels, ", ")
			if len(r.Activities) == 1 {
				r.ActivityMBq = r.Activities[0].MBq
			}
			if len(ct) > 0 {
				c := sum(ct)
				r.CTDLPmGycm, r.CTCTDIvolmGy, r.CTCTDIvolSummGy = c.DLP, c.CTDIvolMax, ctdivolSum(ct)
				addExams(&r.RowBase, ct)
			}
			h.NM = append(h.NM, r)
			ct = nil
		}
		if len(ct) > 0 {
			t := sum(ct)
			h.CT = append(h.CT, CTRow{RowBase: base(g.study, ct), DLPmGycm: t.DLP, CTDIvolmGy: t.CTDIvolMax, CTDIvolSummGy: ctdivolSum(ct)})
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
	h.newestFirst()
	h.Totals = h.Sum()
	return h
}

// newestFirst orders each section newest exam first (rows of one date by
// study, for a stable order).
func (h *History) newestFirst() {
	less := func(a, b *RowBase) int {
		if a.Date != b.Date {
			return strings.Compare(b.Date, a.Date)
		}
		return strings.Compare(a.StudyUID, b.StudyUID)
	}
	slices.SortStableFunc(h.Radiology, func(a, b RadiologyRow) int { return less(&a.RowBase, &b.RowBase) })
	slices.SortStableFunc(h.CT, func(a, b CTRow) int { return less(&a.RowBase, &b.RowBase) })
	slices.SortStableFunc(h.NM, func(a, b NMRow) int { return less(&a.RowBase, &b.RowBase) })
	slices.SortStableFunc(h.Mammography, func(a, b MammographyRow) int { return less(&a.RowBase, &b.RowBase) })
}

// Sum returns the cumulative figures of the history's rows (BuildHistory
// sets Totals to it; a caller showing part of the rows sums those).
func (h *History) Sum() HistoryTotals {
	var tot HistoryTotals
	t := &tot
	for _, r := range h.Radiology {
		t.DAPcGycm2 += r.DAPcGycm2
		t.AirKermamGy += r.AirKermamGy
		t.FluoroTimeMin += r.FluoroTimeMin
	}
	for _, r := range h.CT {
		t.DLPmGycm += r.DLPmGycm
		t.CTDIvolSummGy += r.CTDIvolSummGy
	}
	byIsotope := map[Activity]float64{}
	var order []Activity
	for _, r := range h.NM {
		t.NMCTDLPmGycm += r.CTDLPmGycm
		t.NMCTDIvolSummGy += r.CTCTDIvolSummGy
		for _, a := range r.Activities {
			k := Activity{Radiopharmaceutical: a.Radiopharmaceutical, Radionuclide: a.Radionuclide}
			if _, ok := byIsotope[k]; !ok {
				order = append(order, k)
			}
			byIsotope[k] += a.MBq
		}
	}
	for _, k := range order {
		k.MBq = byIsotope[k]
		t.NMActivities = append(t.NMActivities, k)
	}
	for _, r := range h.Mammography {
		t.AGDTotalmGy += r.AGDTotalmGy
		t.AGDRightmGy += r.AGDRightmGy
		t.AGDLeftmGy += r.AGDLeftmGy
	}
	return tot
}

// ctdivolSum is the IDSV total of a study's CT reports: the CTDIvol of
// each irradiation event of its dose SRs, an event repeated by a continued
// report once, a report the ledger does not count (every event repeated)
// not at all. Image headers are left out (see CTRow.CTDIvolSummGy).
func ctdivolSum(es []*Entry) float64 {
	seen := map[string]bool{}
	var s float64
	for _, e := range es {
		if e.Exam.Source == SourceHeader || e.Exam.CT == nil {
			continue
		}
		if ok, _ := e.Counting(); !ok {
			continue
		}
		for _, ev := range e.Exam.CT.Events {
			if ev.UID != "" {
				if seen[ev.UID] {
					continue
				}
				seen[ev.UID] = true
			}
			s += val(ev.CTDIvol)
		}
	}
	return s
}

// activities returns a study's administered activities by
// radiopharmaceutical and radionuclide, named for people, each
// administration once (by its UID). Reports the ledger does not count are
// left out; a report counted without administrations (its activity given
// as a total only) adds its counted activity under "".
func activities(es []*Entry) []Activity {
	seen := map[string]bool{}
	byKey := map[Activity]float64{}
	var order []Activity
	add := func(k Activity, mbq float64) {
		if _, ok := byKey[k]; !ok {
			order = append(order, k)
		}
		byKey[k] += mbq
	}
	for _, e := range es {
		if ok, _ := e.Counting(); !ok {
			continue
		}
		var from float64
		if e.Exam.NM != nil {
			for _, a := range e.Exam.NM.Administrations {
				if a.UID != "" {
					if seen[a.UID] {
						continue
					}
					seen[a.UID] = true
				}
				add(Activity{Radiopharmaceutical: RadiopharmaceuticalName(a.Radiopharmaceutical), Radionuclide: RadionuclideName(a.Radionuclide)}, val(a.Activity))
				from += val(a.Activity)
			}
		}
		if rest := e.Effective().Activity - from; from == 0 && rest > 0 {
			add(Activity{}, rest)
		}
	}
	out := make([]Activity, 0, len(order))
	for _, k := range order {
		k.MBq = byKey[k]
		out = append(out, k)
	}
	return out
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

func joinKeys(m map[string]bool) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}
