package dosimetry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"vigie"
	"vigie/ledger"
)

// Alert kinds.
const (
	AlertNRD        = "nrd_exceeded"    // one exam above k × NRD
	AlertAirKerma   = "air_kerma"       // air kerma at the reference point at or above a level
	AlertDAP        = "dap"             // DAP at or above the site value
	AlertCTDLP      = "ct_dlp"          // CT DLP above the site value
	AlertCTDIvol    = "ct_ctdivol"      // CT CTDIvol above the site value
	AlertCumulative = "cumulative_dose" // cumulative effective-dose estimate over the window
	AlertRepeatCT   = "repeat_ct"       // CT of the same region within N days
	AlertFoetalDose = "foetal_dose"     // estimated foetal dose of a pregnant patient's exam at or above a level
	AlertSkinDose   = "peak_skin_dose"  // estimated peak skin dose (high bound) at or above a level, map attached
)

// AttachmentSkinMap names the skin-dose map (PNG) attached to a peak skin
// dose alert (AlertStore.Attachment).
const AttachmentSkinMap = "carte_dose_peau.png"

// Thresholds are the per-exam thresholds; zero turns a rule off (in
// AlertConfig.ExamTypes, zero keeps the site value).
type Thresholds struct {
	// NRDFactor is k of "single exam above k × NRD" (adults, indicators
	// with an NRD value only).
	NRDFactor float64 `json:"nrd_factor"`
	// DAPGycm2 is the DAP (Gy.cm²) of a projection exam from which skin
	// effects are followed up.
	DAPGycm2 float64 `json:"dap_Gycm2"`
	// CTDLPmGycm is the site value of the total DLP of a CT exam.
	CTDLPmGycm float64 `json:"ct_dlp_mGycm"`
	// CTDIvolHeadmGy and CTDIvolBodymGy are the site values of the CTDIvol
	// of one acquisition, on the 16 cm (head) and 32 cm (body) phantom.
	CTDIvolHeadmGy float64 `json:"ct_ctdivol_head_mGy"`
	CTDIvolBodymGy float64 `json:"ct_ctdivol_body_mGy"`
}

// AlertConfig are the alert thresholds of a site.
type AlertConfig struct {
	Thresholds
	// AirKermamGy are the levels of air kerma at the reference point (mGy)
	// from which an interventional exam raises an alert, ascending.
	AirKermamGy []float64 `json:"air_kerma_mGy"`
	// CumulativemSv over CumulativeWindowDays: the cumulative effective-dose
	// estimate of one patient.
	CumulativemSv        float64 `json:"cumulative_effective_dose_mSv"`
	CumulativeWindowDays int     `json:"cumulative_window_days"`
	// RepeatCTDays: a CT of the same region as an earlier CT of the same
	// patient within this many days raises an alert.
	RepeatCTDays int `json:"repeat_ct_days"`
	// FoetalDosemGy: the estimated foetal dose (high bound) of a pregnant
	// patient's exam from which the site's physicist is alerted.
	FoetalDosemGy float64 `json:"foetal_dose_mGy"`
	// SkinDosemGy: the estimated peak skin dose (high bound) of an
	// interventional procedure from which skin effects are followed up.
	SkinDosemGy float64 `json:"peak_skin_dose_mGy"`
	// ExamTypes override Thresholds per exam type (fields left zero keep
	// the site value).
	ExamTypes map[string]Thresholds `json:"exam_types,omitempty"`
	Note      string                `json:"note,omitempty"`
}

// DefaultAlertConfig returns the defaults:
//   - air kerma at the reference point 3 000 and 5 000 mGy (the levels of
//     the issue; 5 Gy is also NCRP Report 168's substantial radiation
//     dose level), DAP 500 Gy.cm² (NCRP Report 168);
//   - CTDIvol 80 mGy on the head phantom and 50 mGy on the body phantom
//     (AAPM CT Dose Check notification values, 2011);
//   - single exam above 2 × NRD, cumulative estimate 100 mSv over 365
//     days, repeated CT of a region within 30 days, CT DLP off: Vigie's
//     choices, for the site to set;
//   - peak skin dose 3 000 mGy: the first follow-up level of the issue
//     (the air-kerma level above), applied to the skin-dose estimate's
//     high bound;
//   - foetal dose 20 mGy: Vigie's choice, a physicist's review level a
//     fifth of the 100 mGy below which ICRP Publication 84 finds no
//     reason to terminate a pregnancy on radiation grounds, low enough
//     that a review comes well before that level is in question.
func DefaultAlertConfig() *AlertConfig {
	return &AlertConfig{
		Thresholds:           Thresholds{NRDFactor: 2, DAPGycm2: 500, CTDIvolHeadmGy: 80, CTDIvolBodymGy: 50},
		AirKermamGy:          []float64{3000, 5000},
		CumulativemSv:        100,
		CumulativeWindowDays: 365,
		RepeatCTDays:         30,
		FoetalDosemGy:        20,
		SkinDosemGy:          3000,
		Note: "Seuils par défaut : kerma 3 et 5 Gy, PDS 500 Gy.cm2 (NCRP 168), CTDIvol 80/50 mGy (AAPM Dose Check) ; " +
			"facteur NRD 2, cumul 100 mSv sur 365 jours, TDM répétée sous 30 jours : choix de Vigie, à régler par le site ; " +
			"dose maximale à la peau estimée 3 Gy (borne haute) ; dose au fœtus estimée 20 mGy (borne haute ; la CIPR 84 " +
			"ne retient aucune raison d'interrompre une grossesse en dessous de 100 mGy) : choix de Vigie, à régler par le physicien.",
	}
}

// JSON returns the configuration as the file LoadAlertConfig reads.
func (c *AlertConfig) JSON() ([]byte, error) { return json.MarshalIndent(c, "", "  ") }

// LoadAlertConfig reads an alert configuration (JSON, the fields of
// AlertConfig) over the defaults: a field absent from the file keeps its
// default. Errors are EINVALID and name the field.
func LoadAlertConfig(r io.Reader) (*AlertConfig, error) {
	c := DefaultAlertConfig()
	dec := json.NewDecoder(io.LimitReader(r, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return nil, fmt.Errorf("dosimetry: alert config: %w", vigie.Invalid("config", "is not valid JSON of the alert configuration: %v", err))
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("dosimetry: alert config: %w", err)
	}
	return c, nil
}

// Validate checks the thresholds.
func (c *AlertConfig) Validate() error {
	check := func(prefix string, t Thresholds) error {
		for _, f := range []struct {
			name string
			v    float64
		}{{"nrd_factor", t.NRDFactor}, {"dap_Gycm2", t.DAPGycm2}, {"ct_dlp_mGycm", t.CTDLPmGycm},
			{"ct_ctdivol_head_mGy", t.CTDIvolHeadmGy}, {"ct_ctdivol_body_mGy", t.CTDIvolBodymGy}} {
			if f.v < 0 || math.IsNaN(f.v) || math.IsInf(f.v, 0) {
				return vigie.Invalid(prefix+f.name, "%v must be positive (0 turns the rule off)", f.v)
			}
		}
		if t.NRDFactor != 0 && t.NRDFactor < 1 {
			return vigie.Invalid(prefix+"nrd_factor", "%v is below 1: an exam under the NRD is not an alert", t.NRDFactor)
		}
		return nil
	}
	if err := check("", c.Thresholds); err != nil {
		return err
	}
	for i, v := range c.AirKermamGy {
		if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) || (i > 0 && v <= c.AirKermamGy[i-1]) {
			return vigie.Invalid(fmt.Sprintf("air_kerma_mGy[%d]", i), "%v: levels must be positive and ascending", v)
		}
	}
	if c.CumulativemSv < 0 || math.IsNaN(c.CumulativemSv) {
		return vigie.Invalid("cumulative_effective_dose_mSv", "%v must be positive (0 turns the rule off)", c.CumulativemSv)
	}
	if c.CumulativemSv > 0 && (c.CumulativeWindowDays < 1 || c.CumulativeWindowDays > 3660) {
		return vigie.Invalid("cumulative_window_days", "%d must be between 1 and 3660 days", c.CumulativeWindowDays)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"foetal_dose_mGy", c.FoetalDosemGy}, {"peak_skin_dose_mGy", c.SkinDosemGy}} {
		if f.v < 0 || math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return vigie.Invalid(f.name, "%v must be positive (0 turns the rule off)", f.v)
		}
	}
	if c.RepeatCTDays < 0 || c.RepeatCTDays > 3660 {
		return vigie.Invalid("repeat_ct_days", "%d must be between 0 (off) and 3660 days", c.RepeatCTDays)
	}
	for k, t := range c.ExamTypes {
		if err := check("exam_types."+k+".", t); err != nil {
			return err
		}
	}
	return nil
}

// thresholds returns the thresholds of an exam type (site values
// overridden by the exam type's non-zero fields).
func (c *AlertConfig) thresholds(examType string) Thresholds {
	t := c.Thresholds
	o, ok := c.ExamTypes[examType]
	if !ok {
		return t
	}
	for _, p := range []struct{ dst, src *float64 }{{&t.NRDFactor, &o.NRDFactor}, {&t.DAPGycm2, &o.DAPGycm2},
		{&t.CTDLPmGycm, &o.CTDLPmGycm}, {&t.CTDIvolHeadmGy, &o.CTDIvolHeadmGy}, {&t.CTDIvolBodymGy, &o.CTDIvolBodymGy}} {
		if *p.src != 0 {
			*p.dst = *p.src
		}
	}
	return t
}

// Ack is one acknowledgement of an alert.
type Ack struct {
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	Comment string    `json:"comment"`
}

// Alert is one raised alert. It names the source record and the exam, never
// the patient's name.
type Alert struct {
	ID       string          `json:"id"`
	Kind     string          `json:"kind"`
	Site     string          `json:"site"`
	Key      vigie.SourceKey `json:"key"`
	Identity string          `json:"identity,omitempty"` // regional identity, for per-patient rules
	SOP      string          `json:"sop_instance_uid"`
	StudyUID string          `json:"study_uid,omitempty"`
	Date     string          `json:"date"`
	ExamType string          `json:"exam_type,omitempty"`
	// Indicator, Value, Threshold and Unit are the figure that crossed the
	// threshold.
	Indicator string  `json:"indicator"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	Unit      string  `json:"unit"`
	// Estimate marks a figure that is an effective-dose estimate.
	Estimate bool `json:"estimate,omitempty"`
	// Related is the other exam of a repeated-CT alert.
	Related string `json:"related_sop,omitempty"`
	// Attachment names what is stored with the alert (AttachmentSkinMap),
	// read with AlertStore.Attachment; attachment is its content until
	// the alert is stored.
	Attachment string `json:"attachment,omitempty"`
	attachment []byte
	Message    string    `json:"message"`
	RaisedAt   time.Time `json:"raised_at"`
	Acks       []Ack     `json:"acks,omitempty"`
}

// Acknowledged reports whether someone acknowledged the alert.
func (a *Alert) Acknowledged() bool { return len(a.Acks) > 0 }

// alertID is the alert's identity: the same rule on the same exam (and the
// same indicator or level) always gives the same ID, which makes a scan
// idempotent.
func alertID(kind, subject, sop, detail string) string {
	h := sha256.Sum256([]byte(kind + "\x00" + subject + "\x00" + sop + "\x00" + detail))
	return hex.EncodeToString(h[:8])
}

// Identities tells which regional identity a source record belongs to, and
// the source records of an identity (the patient index).
type Identities interface {
	IdentityOf(ctx context.Context, k vigie.SourceKey) (string, error)
	Members(ctx context.Context, identity string) ([]vigie.SourceKey, error)
}

// PatientExams returns the stored exams of a set of source records
// (*ledger.Ledger).
type PatientExams interface {
	Exams(ctx context.Context, keys []vigie.SourceKey) ([]ledger.Entry, error)
}

// historyReader is a PatientExams that reads many patients' histories at
// once and takes the exams the caller already holds (*ledger.Ledger: see
// ledger.Histories).
type historyReader interface {
	Histories(ctx context.Context, patients [][]vigie.SourceKey, have func(sop string) *ledger.Entry, fn func(i int, es []*ledger.Entry) error) error
}

// StudyIndex gives the source records that have exams under a study UID
// (*ledger.Ledger).
type StudyIndex interface {
	StudyRecords(ctx context.Context, study string) ([]vigie.SourceKey, error)
}

// Scanner applies the alert rules to stored exams. One scanner runs one
// scan at a time (it keeps the scan's classification cache).
type Scanner struct {
	Types  *Table
	NRD    *NRDTable
	Coef   *Coefficients
	Config *AlertConfig
	// Identities groups source records into patients for the per-patient
	// rules; without it each source record is a patient.
	Identities Identities
	// History reads a patient's exams at every site for the per-patient
	// rules; without it they see only the exams of the scan.
	History PatientExams
	// Age, when set, gives a patient's age on an exam date when the DICOM
	// header gives none (the k × NRD rule applies to adults only).
	Age func(k vigie.SourceKey, date string) (float64, bool)
	// Studies lists the source records of a study for the
	// identity-vigilance rule (*ledger.Ledger); without it, a Source that
	// has the method is asked, and otherwise only the scan's own exams
	// tell which records share a study.
	Studies StudyIndex
	// Foetal and Skin are the foetal-dose coefficients and the skin-dose
	// model (nil: the shipped ones).
	Foetal *FoetalCoefficients
	Skin   *SkinModel
	// Pregnant, when set, says whether a patient was declared pregnant on
	// a date by other means than the exam's DICOM Pregnancy Status (an
	// order, a user). An error (the declarations could not be read) fails
	// the scan: a pregnancy must not be taken for none.
	Pregnant func(k vigie.SourceKey, date string) (bool, error)

	ev    *Evaluator
	cache map[string][]assignment
}

// examType returns the exam type of an exam, or nil (unmapped or kept out
// of surveys), from the scan's classification cache.
func (s *Scanner) examType(x *ledger.Exam) *ExamType {
	as := s.ev.assign(x, s.cache)
	if len(as) == 0 {
		return nil
	}
	return s.Types.Type(as[0].examType)
}

// ScanQuery selects the exams a scan examines (empty: all).
type ScanQuery struct {
	Site string `json:"site,omitempty"`
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// ScanResult counts what a scan did.
type ScanResult struct {
	Exams    int `json:"exams"`
	Patients int `json:"patients"`
	Raised   int `json:"raised"` // new alerts stored
	Known    int `json:"known"`  // alerts already stored by an earlier scan
	// Unindexed counts source records the patient index does not know:
	// each is taken as its own patient by the per-patient rules.
	Unindexed int `json:"unindexed"`
}

// Scan examines the exams the query selects and stores the alerts they
// raise. It is idempotent: an alert already stored is not raised again.
func (s *Scanner) Scan(ctx context.Context, src Source, store *AlertStore, q ScanQuery) (ScanResult, error) {
	var res ScanResult
	alerts, err := s.Check(ctx, src, q, &res)
	if err != nil {
		return res, err
	}
	n, err := store.RaiseAll(ctx, alerts)
	res.Raised, res.Known = n, len(alerts)-n
	if err != nil {
		return res, fmt.Errorf("dosimetry: scan: %w", err)
	}
	return res, nil
}

// Check returns the alerts the selected exams raise, without storing them.
func (s *Scanner) Check(ctx context.Context, src Source, q ScanQuery, res *ScanResult) ([]Alert, error) {
	if s.Types == nil || s.NRD == nil || s.Coef == nil || s.Config == nil {
		return nil, vigie.Errorf(vigie.EINVALID, "dosimetry: scan: the scanner needs a mapping table, an NRD table, coefficients and a configuration")
	}
	if res == nil {
		res = &ScanResult{}
	}
	for _, d := range []struct{ f, v string }{{"from", q.From}, {"to", q.To}} {
		if d.v != "" && !isISODate(d.v) {
			return nil, vigie.Invalid(d.f, "%q is not a date YYYY-MM-DD", d.v)
		}
	}
	s.ev = &Evaluator{Types: s.Types, NRD: s.NRD}
	s.cache = map[string][]assignment{}
	var out []Alert
	patients := map[vigie.SourceKey][]*ledger.Entry{}
	// The per-exam rules apply to a study's figures: an interventional
	// procedure reported in a cumulative RDSR and its continuation counts
	// each event once in each report's counted figures, so only their sum
	// is the procedure's.
	type studyKey struct {
		key    vigie.SourceKey
		study  string
		domain ledger.Domain
	}
	studies := map[studyKey][]*ledger.Entry{}
	var order []studyKey
	// The identity-vigilance rules: a report stored as a conflict, and a
	// study UID under several source records.
	type shared struct {
		last *ledger.Exam
		recs map[vigie.SourceKey]bool
	}
	studyRecs := map[string]*shared{}
	var studyOrder []string
	err := each(ctx, src, q.Site, q.From, q.To, func(e *ledger.Entry) error {
		x := &e.Exam
		if (q.Site != "" && x.Key.Authority != q.Site) ||
			(q.From != "" && x.Date < q.From) || (q.To != "" && x.Date > q.To) {
			return nil
		}
		if e.Conflict != "" {
			out = append(out, ConflictAlert(e))
			return nil
		}
		if x.StudyUID != "" {
			sh := studyRecs[x.StudyUID]
			if sh == nil {
				sh = &shared{recs: map[vigie.SourceKey]bool{}}
				studyRecs[x.StudyUID] = sh
				studyOrder = append(studyOrder, x.StudyUID)
			}
			sh.last, sh.recs[x.Key] = x, true
		}
		if e.Excluded() {
			return nil
		}
		res.Exams++
		k := studyKey{x.Key, ledger.StudyOf(x), x.Domain}
		if _, ok := studies[k]; !ok {
			order = append(order, k)
		}
		studies[k] = append(studies[k], e)
		if s.Config.CumulativemSv > 0 || s.Config.RepeatCTDays > 0 {
			patients[x.Key] = append(patients[x.Key], e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dosimetry: scan: %w", err)
	}
	for _, k := range order {
		es := studies[k]
		sort.SliceStable(es, func(i, j int) bool {
			a, b := &es[i].Exam, &es[j].Exam
			if a.Date+a.Time != b.Date+b.Time {
				return a.Date+a.Time < b.Date+b.Time
			}
			return a.SOPInstanceUID < b.SOPInstanceUID
		})
		als, err := s.studyAlerts(es)
		if err != nil {
			return nil, err
		}
		out = append(out, als...)
	}
	idx := s.Studies
	if idx == nil {
		idx, _ = src.(StudyIndex)
	}
	for _, study := range studyOrder {
		sh := studyRecs[study]
		var recs []vigie.SourceKey
		if idx != nil {
			var err error
			if recs, err = idx.StudyRecords(ctx, study); err != nil {
				return nil, fmt.Errorf("dosimetry: scan: %w", err)
			}
		} else {
			for k := range sh.recs {
				recs = append(recs, k)
			}
		}
		if len(recs) > 1 {
			out = append(out, SharedStudyAlert(sh.last, recs))
		}
	}
	pa, err := s.patientAlerts(ctx, patients, res)
	if err != nil {
		return nil, err
	}
	return append(out, pa...), nil
}

// newAlert returns an alert on the study of an exam; its ID names the
// rule, the source record, the study and the detail (indicator, level).
func newAlert(kind string, e *ledger.Entry, examType, detail string) Alert {
	x := &e.Exam
	return Alert{ID: alertID(kind, x.Key.String(), ledger.StudyOf(x), detail), Kind: kind, Site: x.Key.Authority,
		Key: x.Key, SOP: x.SOPInstanceUID, StudyUID: x.StudyUID, Date: x.Date, ExamType: examType}
}

// studyAlerts applies the per-exam rules to the entries of one study and
// domain of one source record, oldest first.
func (s *Scanner) studyAlerts(es []*ledger.Entry) ([]Alert, error) {
	e := es[0]
	x := &e.Exam
	ev := s.ev
	var out []Alert
	as := ev.assign(x, s.cache)
	examType := ""
	if len(as) > 0 {
		examType = as[0].examType
	}
	th := s.Config.thresholds(examType)
	var t ledger.Totals
	for _, en := range es {
		c := en.Effective()
		t.DLP += c.DLP
		t.DAP += c.DAP
		t.RP += c.RP
	}
	// Single exam above k × NRD: adults, indicators with an NRD value.
	age, ok := AgeYears(x.Patient.Age)
	if !ok && s.Age != nil {
		age, ok = s.Age(x.Key, x.Date)
	}
	if ok && age >= s.NRD.Survey.AdultAge {
		for _, a := range as {
			k := s.Config.thresholds(a.examType).NRDFactor
			if k == 0 {
				continue
			}
			entries := s.NRD.entries(a.examType, Adult)
			var inds []IndicatorUnit
			for _, n := range entries {
				inds = append(inds, IndicatorUnit{n.Indicator, n.Unit})
			}
			if len(inds) == 0 {
				continue
			}
			st := &study{entries: es, event: a.event}
			if et := s.Types.Type(a.examType); et.Kind == KindRadiography && a.event < 0 {
				// Header images: each is a projection; judge the highest.
				top := es[0]
				for _, en := range es[1:] {
					if en.Effective().DAP > top.Effective().DAP {
						top = en
					}
				}
				st.entries = []*ledger.Entry{top}
			}
			r, why := ev.measure(s.Types.Type(a.examType), st, inds)
			if why != "" {
				continue
			}
			for i, n := range entries {
				if n.NRD == nil || !(r.Values[i] > k**n.NRD) {
					continue
				}
				al := newAlert(AlertNRD, e, a.examType, a.examType+"/"+string(n.Indicator))
				al.Indicator, al.Value, al.Threshold, al.Unit = string(n.Indicator), r.Values[i], k**n.NRD, n.Unit
				al.Message = fmt.Sprintf("%s : %s %s %s, au-dessus de %s × NRD (%s %s)", s.Types.Type(a.examType).Label,
					n.Indicator, fmtNum(r.Values[i]), n.Unit, fmtNum(k), fmtNum(*n.NRD), n.Unit)
				out = append(out, al)
			}
		}
	}
	switch x.Domain {
	case ledger.DomainProjection:
		for _, level := range s.Config.AirKermamGy {
			if t.RP >= level {
				al := newAlert(AlertAirKerma, e, examType, fmtNum(level))
				al.Indicator, al.Value, al.Threshold, al.Unit = "kar", t.RP, level, "mGy"
				al.Message = fmt.Sprintf("kerma au point de référence %s mGy ≥ %s mGy : suivi des effets cutanés", fmtNum(round(t.RP, 1)), fmtNum(level))
				out = append(out, al)
			}
		}
		if gycm2 := t.DAP * 1e4; th.DAPGycm2 > 0 && gycm2 >= th.DAPGycm2 {
			al := newAlert(AlertDAP, e, examType, "")
			al.Indicator, al.Value, al.Threshold, al.Unit = "pds", round(gycm2, 3), th.DAPGycm2, "Gy.cm2"
			al.Message = fmt.Sprintf("PDS %s Gy.cm² ≥ %s Gy.cm² (seuil du site) : suivi des effets cutanés", fmtNum(round(gycm2, 1)), fmtNum(th.DAPGycm2))
			out = append(out, al)
		}
	case ledger.DomainCT:
		if th.CTDLPmGycm > 0 && t.DLP > th.CTDLPmGycm {
			al := newAlert(AlertCTDLP, e, examType, "")
			al.Indicator, al.Value, al.Threshold, al.Unit = "dlp", t.DLP, th.CTDLPmGycm, "mGy.cm"
			al.Message = fmt.Sprintf("PDL total %s mGy.cm > %s mGy.cm (seuil du site)", fmtNum(round(t.DLP, 1)), fmtNum(th.CTDLPmGycm))
			out = append(out, al)
		}
		{
			var head, body float64
			for _, en := range es {
				if en.Exam.CT == nil {
					continue
				}
				for i := range en.Exam.CT.Events {
					ce := &en.Exam.CT.Events[i]
					if ce.CTDIvol == nil || IsScout(ce) {
						continue
					}
					if ce.Phantom.Value == "113690" {
						head = max(head, ce.CTDIvol.Value)
					} else {
						body = max(body, ce.CTDIvol.Value)
					}
				}
			}
			for _, p := range []struct {
				name     string
				v, limit float64
			}{{"tête (16 cm)", head, th.CTDIvolHeadmGy}, {"corps (32 cm)", body, th.CTDIvolBodymGy}} {
				if p.limit > 0 && p.v > p.limit {
					al := newAlert(AlertCTDIvol, e, examType, p.name)
					al.Indicator, al.Value, al.Threshold, al.Unit = "ctdivol", p.v, p.limit, "mGy"
					al.Message = fmt.Sprintf("CTDIvol %s mGy > %s mGy (seuil du site, fantôme %s)", fmtNum(round(p.v, 2)), fmtNum(p.limit), p.name)
					out = append(out, al)
				}
			}
		}
	}
	if x.Domain == ledger.DomainProjection && s.Config.SkinDosemGy > 0 {
		if al, ok := s.skinAlert(es, examType); ok {
			out = append(out, al)
		}
	}
	if s.Config.FoetalDosemGy > 0 {
		pregnant, err := studyPregnant(es, s.Pregnant)
		if err != nil {
			return nil, err
		}
		if pregnant {
			if al, ok := s.foetalAlert(es, examType); ok {
				out = append(out, al)
			}
		}
	}
	return out, nil
}

// skinAlert is the peak-skin-dose rule on one procedure: the estimate's
// high bound at or above the level, with the skin map attached.
func (s *Scanner) skinAlert(es []*ledger.Entry, examType string) (Alert, bool) {
	m := s.Skin
	if m == nil {
		m = DefaultSkinModel()
	}
	sd := m.Estimate(es)
	level := s.Config.SkinDosemGy
	if !sd.Estimated() || sd.PeakHighmGy < level {
		return Alert{}, false
	}
	al := newAlert(AlertSkinDose, es[0], examType, "")
	al.Indicator, al.Value, al.Threshold, al.Unit, al.Estimate = "psd", round(sd.PeakHighmGy, 1), level, "mGy", true
	al.Message = fmt.Sprintf("%s ≥ %s mGy : suivi des effets cutanés (carte de dose à la peau jointe)", sd.Text(), frNum(level))
	var b bytes.Buffer
	if err := sd.PNG(&b, level, 4); err == nil {
		al.Attachment, al.attachment = AttachmentSkinMap, b.Bytes()
	} else {
		al.Message += " ; carte non disponible : tous les événements sont sans géométrie"
	}
	return al, true
}

// studyPregnant reports whether the patient of a study is, or may be,
// pregnant: by a report's DICOM Pregnancy Status, or declared so for the
// study's date (declared may be nil: reports only).
func studyPregnant(es []*ledger.Entry, declared func(k vigie.SourceKey, date string) (bool, error)) (bool, error) {
	for _, e := range es {
		if e.Exam.Patient.MayBePregnant() {
			return true, nil
		}
		if declared == nil {
			continue
		}
		if p, err := declared(e.Exam.Key, e.Exam.Date); err != nil || p {
			return p, err
		}
	}
	return false, nil
}

// foetalAlert is the foetal-dose rule on one study of a pregnant patient:
// the estimate's high bound, summed over the study's reports, at or above
// the level.
func (s *Scanner) foetalAlert(es []*ledger.Entry, examType string) (Alert, bool) {
	c := s.Foetal
	if c == nil {
		c = DefaultFoetal()
	}
	region := ""
	if et := s.Types.Type(examType); et != nil {
		region = et.Region
	}
	sum := c.Study(es, s.Coef.TargetRegions, region)
	level := s.Config.FoetalDosemGy
	if !(sum.HighmGy >= level) {
		return Alert{}, false
	}
	al := newAlert(AlertFoetalDose, es[0], examType, "")
	al.Indicator, al.Value, al.Threshold, al.Unit, al.Estimate = "foetal_dose", round(sum.HighmGy, 2), level, "mGy", true
	al.Message = fmt.Sprintf("patiente déclarée enceinte : dose au fœtus estimée entre %s et %s mGy ≥ %s mGy (seuil du site) : avis du physicien médical",
		frNum(round(sum.LowmGy, 2)), frNum(round(sum.HighmGy, 2)), frNum(level))
	return al, true
}

// patientAlerts applies the per-patient rules (cumulative effective-dose
// estimate, repeated CT) to the patients of the scanned exams.
func (s *Scanner) patientAlerts(ctx context.Context, seen map[vigie.SourceKey][]*ledger.Entry, res *ScanResult) ([]Alert, error) {
	if len(seen) == 0 {
		return nil, nil
	}
	// Group the scanned source records by patient: a regional identity,
	// or the source record itself when there is no index or the index
	// does not know it. Map keys carry a prefix so the two never collide.
	type patient struct {
		identity string // "" when the patient is a lone source record
		keys     []vigie.SourceKey
		entries  []*ledger.Entry
	}
	pats := map[string]*patient{}
	keys := make([]vigie.SourceKey, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	for _, k := range keys {
		identity := ""
		if s.Identities != nil {
			got, err := s.Identities.IdentityOf(ctx, k)
			switch {
			case vigie.ErrorCode(err) == vigie.ENOTFOUND:
				res.Unindexed++
			case err != nil:
				return nil, fmt.Errorf("dosimetry: scan: identity of %s: %w", k, err)
			default:
				identity = got
			}
		}
		pk := "src:" + k.String()
		if identity != "" {
			pk = "id:" + identity
		}
		p := pats[pk]
		if p == nil {
			p = &patient{identity: identity}
			pats[pk] = p
		}
		p.keys = append(p.keys, k)
		p.entries = append(p.entries, seen[k]...)
	}
	ids := make([]string, 0, len(pats))
	for id := range pats {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	res.Patients = len(ids)
	var out []Alert
	alerts := func(id string, es []*ledger.Entry) {
		identity := pats[id].identity
		out = append(out, s.cumulative(identity, id, es)...)
		out = append(out, s.repeatCT(identity, id, es)...)
	}
	if s.History == nil {
		for _, id := range ids {
			alerts(id, pats[id].entries)
		}
		return out, nil
	}
	members := make([][]vigie.SourceKey, len(ids))
	for i, id := range ids {
		p := pats[id]
		members[i] = p.keys
		if p.identity != "" {
			m, err := s.Identities.Members(ctx, p.identity)
			if err != nil {
				return nil, fmt.Errorf("dosimetry: scan: members of %s: %w", p.identity, err)
			}
			members[i] = m
		}
	}
	if hr, ok := s.History.(historyReader); ok {
		// One read of every history, the scanned exams not read again.
		have := map[string]*ledger.Entry{}
		for _, es := range seen {
			for _, e := range es {
				have[e.Exam.SOPInstanceUID] = e
			}
		}
		err := hr.Histories(ctx, members, func(sop string) *ledger.Entry { return have[sop] }, func(i int, es []*ledger.Entry) error {
			alerts(ids[i], es)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("dosimetry: scan: histories: %w", err)
		}
		return out, nil
	}
	for i, id := range ids {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := s.History.Exams(ctx, members[i])
		if err != nil {
			return nil, fmt.Errorf("dosimetry: scan: history of %s: %w", id, err)
		}
		es := make([]*ledger.Entry, len(h))
		for j := range h {
			es[j] = &h[j]
		}
		alerts(id, es)
	}
	return out, nil
}

// dated is an exam of a patient with its day number.
type dated struct {
	e   *ledger.Entry
	day int
}

func byDate(es []*ledger.Entry) []dated {
	out := make([]dated, 0, len(es))
	for _, e := range es {
		if e.Excluded() {
			continue
		}
		d, err := time.Parse("2006-01-02", e.Exam.Date)
		if err != nil {
			continue
		}
		out = append(out, dated{e, int(d.Unix() / 86400)})
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := &out[i].e.Exam, &out[j].e.Exam
		if a.Date+a.Time != b.Date+b.Time {
			return a.Date+a.Time < b.Date+b.Time
		}
		return a.SOPInstanceUID < b.SOPInstanceUID
	})
	return out
}

// cumulative raises an alert on the exam that brings a patient's
// effective-dose estimate over the rolling window to the threshold or
// above (the window ends on that exam's day and spans CumulativeWindowDays
// days). Later exams above the threshold raise nothing new until the sum
// falls below it again.
func (s *Scanner) cumulative(identity, subject string, es []*ledger.Entry) []Alert {
	c := s.Config
	if c.CumulativemSv <= 0 {
		return nil
	}
	ds := byDate(es)
	est := make([]float64, len(ds))
	for i, d := range ds {
		x := &d.e.Exam
		age, ok := AgeYears(x.Patient.Age)
		if !ok && s.Age != nil {
			age, ok = s.Age(x.Key, x.Date)
		}
		if e := s.Coef.estimate(d.e, s.examType(x), age, ok); e.Estimated() {
			est[i] = e.MSv
		}
	}
	var out []Alert
	sum, lo := 0.0, 0
	for i, d := range ds {
		sum += est[i]
		for ds[lo].day <= d.day-c.CumulativeWindowDays {
			sum -= est[lo]
			lo++
		}
		if est[i] > 0 && sum >= c.CumulativemSv && sum-est[i] < c.CumulativemSv {
			a := newAlert(AlertCumulative, d.e, "", "")
			a.ID = alertID(AlertCumulative, subject, d.e.Exam.SOPInstanceUID, "")
			a.Identity = identity
			a.Indicator, a.Value, a.Threshold, a.Unit, a.Estimate = "effective_dose_estimate", round(sum, 2), c.CumulativemSv, "mSv", true
			a.Message = fmt.Sprintf("dose efficace cumulée %s mSv sur %d jours ≥ %s mSv (%s par PDL × k, PDS × coefficient et activité × coefficient du radiopharmaceutique, non mesurée)",
				fmtNum(round(sum, 1)), c.CumulativeWindowDays, fmtNum(c.CumulativemSv), EstimateLabel)
			out = append(out, a)
		}
	}
	return out
}

// repeatCT raises an alert on a CT exam of a region already examined by CT
// within RepeatCTDays days (another study of the same patient).
func (s *Scanner) repeatCT(identity, subject string, es []*ledger.Entry) []Alert {
	n := s.Config.RepeatCTDays
	if n <= 0 {
		return nil
	}
	type ct struct {
		dated
		region, study string
	}
	var cts []ct
	for _, d := range byDate(es) {
		x := &d.e.Exam
		if x.Domain != ledger.DomainCT {
			continue
		}
		region := ""
		if et := s.examType(x); et != nil {
			region = et.Region
		}
		if region == "" {
			region = s.Coef.ctRegion(x)
		}
		if region == "" {
			continue
		}
		st := x.StudyUID
		if st == "" {
			st = "sop:" + x.SOPInstanceUID
		}
		cts = append(cts, ct{d, region, st})
	}
	var out []Alert
	for i := range cts {
		for j := i - 1; j >= 0 && cts[i].day-cts[j].day <= n; j-- {
			if cts[j].region != cts[i].region || cts[j].study == cts[i].study {
				continue
			}
			a := newAlert(AlertRepeatCT, cts[i].e, "", cts[i].region)
			a.ID = alertID(AlertRepeatCT, subject, cts[i].e.Exam.SOPInstanceUID, cts[i].region)
			a.Identity = identity
			days := cts[i].day - cts[j].day
			a.Indicator, a.Value, a.Threshold, a.Unit = "days", float64(days), float64(n), "j"
			a.Related = cts[j].e.Exam.SOPInstanceUID
			a.Message = fmt.Sprintf("scanographie de la même région (%s) %d jour(s) après celle du %s", cts[i].region, days, cts[j].e.Exam.Date)
			out = append(out, a)
			break
		}
	}
	return out
}

func round(v float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	return math.Round(v*p) / p
}

// KindLabel is the French label of an alert kind.
func KindLabel(kind string) string {
	switch kind {
	case AlertNRD:
		return "Examen au-dessus de k × NRD"
	case AlertAirKerma:
		return "Kerma au point de référence"
	case AlertDAP:
		return "PDS élevé"
	case AlertCTDLP:
		return "PDL élevé"
	case AlertCTDIvol:
		return "CTDIvol élevé"
	case AlertCumulative:
		return "Dose efficace cumulée (estimation)"
	case AlertRepeatCT:
		return "Scanographie répétée"
	case AlertFoetalDose:
		return "Dose au fœtus (estimation)"
	case AlertSkinDose:
		return "Dose maximale à la peau (estimation)"
	case AlertSharedStudy:
		return "Identitovigilance : examen partagé entre dossiers"
	case AlertConflict:
		return "Identitovigilance : rapport reçu deux fois pour des dossiers différents"
	}
	return strings.ReplaceAll(kind, "_", " ")
}
