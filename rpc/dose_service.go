package rpc

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"vigie"
	"vigie/audit"
	"vigie/auth"
	"vigie/dosimetry"
	"vigie/ledger"
	"vigie/mpi"
	vigiev1 "vigie/rpc/gen/vigie/v1"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
	"vigie/sites"
)

// DoseService serves vigie.v1.DoseService over the dose ledger, the patient
// index (which records make up an identity), the dose alerts and the NRD
// tables. Sites are assigning authorities: a physicist sees the exams,
// alerts and surveys of its own authorities only; a clinician does not see
// hidden identities nor those of patients who objected.
type DoseService struct {
	Index  *mpi.Index
	Ledger *ledger.Ledger
	Alerts *dosimetry.AlertStore
	// Sites names the establishments (nil: each is shown as
	// sites.Unknown, never as its OID).
	Sites *sites.Registry
	// Types and NRD default to the shipped tables.
	Types *dosimetry.Table
	NRD   *dosimetry.NRDTable
	// Gate decides who reads which patient (access.go); nil is a Gate
	// without access codes nor break-the-glass.
	Gate *Gate
	// NM are the nuclear-medicine dose coefficients of the history's
	// estimates (nil: the shipped table).
	NM *dosimetry.NMCoefficients
}

func (s *DoseService) gate() *Gate {
	if s.Gate == nil {
		return &Gate{}
	}
	return s.Gate
}

var _ vigiev1connect.DoseServiceHandler = (*DoseService)(nil)

const (
	defaultPage = 100
	maxPage     = 1000
)

func (s *DoseService) tables() (*dosimetry.Table, *dosimetry.NRDTable) {
	t, n := s.Types, s.NRD
	if t == nil {
		t = dosimetry.DefaultTable()
	}
	if n == nil {
		n = dosimetry.DefaultNRD()
	}
	return t, n
}

// checkDate validates an optional ISO date field.
func checkDate(field, v string, required bool) error {
	if v == "" {
		if required {
			return vigie.Invalid(field, "a date YYYY-MM-DD is required")
		}
		return nil
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		return vigie.Invalid(field, "%q is not a date YYYY-MM-DD", v)
	}
	return nil
}

func checkPeriod(since, until string, required bool) error {
	if err := checkDate("since", since, required); err != nil {
		return err
	}
	if err := checkDate("until", until, required); err != nil {
		return err
	}
	if since != "" && until != "" && since > until {
		return vigie.Invalid("until", "%s is before since %s", until, since)
	}
	return nil
}

func inPeriod(date, since, until string) bool {
	return (since == "" || date >= since) && (until == "" || date <= until)
}

// page reads a page size and an offset token.
func page(size int32, token string) (int, int, error) {
	n := int(size)
	if n == 0 {
		n = defaultPage
	}
	if n < 0 || n > maxPage {
		return 0, 0, vigie.Invalid("page_size", "%d is not between 1 and %d", size, maxPage)
	}
	off := 0
	if token != "" {
		v, err := strconv.Atoi(token)
		if err != nil || v < 0 {
			return 0, 0, vigie.Invalid("page_token", "%q is not a page token from this service", token)
		}
		off = v
	}
	return n, off, nil
}

// members returns the live identity behind id and the source records of it
// the caller may read, once the Gate has found its basis (a clinician's
// site, code or break the glass; vigilance's sites): all of them, except
// for a physicist, who reads the records of its own sites only.
// restricted says that some were left out.
func (s *DoseService) members(ctx context.Context, field, v string) (vigie.Identity, []vigie.SourceKey, bool, error) {
	id, err := parseID(field, v)
	if err != nil {
		return vigie.Identity{}, nil, false, err
	}
	ident, err := s.Index.Get(ctx, id)
	if err != nil {
		return vigie.Identity{}, nil, false, err
	}
	if _, err := s.gate().Patient(ctx, &ident, id); err != nil {
		return vigie.Identity{}, nil, false, err
	}
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return vigie.Identity{}, nil, false, denied("", "no authenticated principal")
	}
	var keys []vigie.SourceKey
	restricted := false
	for _, m := range ident.Members {
		if p.Role == auth.RolePhysicist && !p.HasSite(m.Authority) {
			restricted = true
			continue
		}
		keys = append(keys, m)
	}
	audit.Touch(ctx, ident.ID.String())
	if ident.ID != id {
		audit.Touch(ctx, id.String())
	}
	for _, k := range keys {
		audit.TouchRecord(ctx, k.Authority, k.LocalID)
	}
	return ident, keys, restricted, nil
}

// opt returns a figure for an optional field: absent when zero (not
// reported), otherwise rounded to 12 significant digits so that unit
// conversions show 163.3 and not 163.30000000000004.
func opt(v float64) *float64 {
	if v == 0 {
		return nil
	}
	if r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64); err == nil {
		v = r
	}
	return &v
}

// GetDoseHistory returns an identity's exams, one section per kind.
func (s *DoseService) GetDoseHistory(ctx context.Context, req *connect.Request[vigiev1.GetDoseHistoryRequest]) (*connect.Response[vigiev1.GetDoseHistoryResponse], error) {
	m := req.Msg
	if err := checkPeriod(m.GetSince(), m.GetUntil(), false); err != nil {
		return nil, ConnectError(err)
	}
	ident, keys, restricted, err := s.members(ctx, "identity_id", m.GetIdentityId())
	if err != nil {
		return nil, ConnectError(err)
	}
	es, err := s.Ledger.Exams(ctx, keys)
	if err != nil {
		return nil, ConnectError(err)
	}
	h := ledger.BuildHistory(es)
	nm := s.NM
	if nm == nil {
		nm = dosimetry.DefaultNMCoefficients()
	}
	nm.FillHistory(h, es)
	names, err := s.siteNames(ctx)
	if err != nil {
		return nil, ConnectError(err)
	}
	h.NameSites(names.List)
	since, until := m.GetSince(), m.GetUntil()
	g := ident.Golden
	out := &vigiev1.DoseHistory{IdentityId: ident.ID.String(), Warnings: []string{h.Warning},
		Patient: &vigiev1.PatientBlock{BirthName: g.BirthName, UsedName: g.UsedName, FirstNames: g.FirstNames, BirthDate: g.BirthDate, Sex: g.Sex}}
	if restricted {
		out.Warnings = append(out.Warnings, "Seuls les examens des établissements de l'appelant sont montrés.")
	}
	if slices.Contains(ident.Attributes, vigie.AttrDoubtful) || slices.Contains(ident.Attributes, vigie.AttrPotentialColl) {
		out.Warnings = append(out.Warnings, "L'identité est douteuse ou en collision potentielle : l'historique peut mêler ou omettre des examens.")
	}
	// Rows come newest first; the totals are those of the rows shown.
	var shown ledger.History
	for _, r := range h.Radiology {
		if inPeriod(r.Date, since, until) {
			shown.Radiology = append(shown.Radiology, r)
			out.Radiology = append(out.Radiology, &vigiev1.RadiologyRow{Date: r.Date, Procedure: r.Procedure,
				DapTotalCgyCm2: opt(r.DAPcGycm2), AirKermaTotalMgy: opt(r.AirKermamGy), FluoroTimeMin: opt(r.FluoroTimeMin),
				Site: r.SiteName, ExamId: firstExam(r.Exams), Interventional: r.FluoroTimeMin > 0 || r.AirKermamGy > 0})
		}
	}
	for _, r := range h.CT {
		if inPeriod(r.Date, since, until) {
			shown.CT = append(shown.CT, r)
			out.Ct = append(out.Ct, &vigiev1.CtRow{Date: r.Date, Procedure: r.Procedure, DlpTotalMgyCm: opt(r.DLPmGycm),
				CtdivolMgy: opt(r.CTDIvolmGy), CtdivolTotalMgy: opt(r.CTDIvolSummGy), Site: r.SiteName, ExamId: firstExam(r.Exams)})
		}
	}
	for _, r := range h.NM {
		if inPeriod(r.Date, since, until) {
			shown.NM = append(shown.NM, r)
			out.NuclearMedicine = append(out.NuclearMedicine, &vigiev1.NuclearMedicineRow{Date: r.Date, Procedure: r.Procedure,
				ActivityMbq: opt(r.ActivityMBq), Radiopharmaceutical: r.Radiopharmaceutical, DlpTotalMgyCm: opt(r.CTDLPmGycm),
				CtdivolMgy: opt(r.CTCTDIvolmGy), CtCtdivolTotalMgy: opt(r.CTCTDIvolSummGy), Activities: activitiesProto(r.Activities),
				Site: r.SiteName, ExamId: firstExam(r.Exams), EffectiveDoseEstimate: r.EffectiveDose, OrganDoseEstimate: r.OrganDose})
		}
	}
	for _, r := range h.Mammography {
		if inPeriod(r.Date, since, until) {
			shown.Mammography = append(shown.Mammography, r)
			out.Mammography = append(out.Mammography, &vigiev1.MammographyRow{Date: r.Date, Procedure: r.Procedure,
				AgdTotalMgy: opt(r.AGDTotalmGy), AgdRightMgy: opt(r.AGDRightmGy), AgdLeftMgy: opt(r.AGDLeftmGy),
				Site: r.SiteName, ExamId: firstExam(r.Exams)})
		}
	}
	t := shown.Sum()
	out.Totals = &vigiev1.DoseHistoryTotals{DapTotalCgyCm2: opt(t.DAPcGycm2), AirKermaTotalMgy: opt(t.AirKermamGy),
		FluoroTimeMin: opt(t.FluoroTimeMin), DlpTotalMgyCm: opt(t.DLPmGycm), CtdivolTotalMgy: opt(t.CTDIvolSummGy),
		NmActivities: activitiesProto(t.NMActivities), NmCtDlpTotalMgyCm: opt(t.NMCTDLPmGycm), NmCtCtdivolTotalMgy: opt(t.NMCTDIvolSummGy),
		AgdTotalMgy: opt(t.AGDTotalmGy), AgdRightMgy: opt(t.AGDRightmGy), AgdLeftMgy: opt(t.AGDLeftmGy)}
	return connect.NewResponse(&vigiev1.GetDoseHistoryResponse{History: out}), nil
}

// siteNames reads the site registry (every establishment Unknown without
// one).
func (s *DoseService) siteNames(ctx context.Context) (sites.Names, error) {
	if s.Sites == nil {
		return nil, nil
	}
	return s.Sites.Names(ctx)
}

func activitiesProto(as []ledger.Activity) []*vigiev1.IsotopeActivity {
	out := make([]*vigiev1.IsotopeActivity, 0, len(as))
	for _, a := range as {
		out = append(out, &vigiev1.IsotopeActivity{Radiopharmaceutical: a.Radiopharmaceutical, Radionuclide: a.Radionuclide,
			Label: a.Label(), ActivityMbq: a.MBq})
	}
	return out
}

func firstExam(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}

// modalityOf is the section of the dose synthesis an exam belongs to.
func modalityOf(e *ledger.Entry) vigiev1.Modality {
	switch e.Exam.Domain {
	case ledger.DomainCT:
		return vigiev1.Modality_MODALITY_CT
	case ledger.DomainMammography:
		return vigiev1.Modality_MODALITY_MAMMOGRAPHY
	case ledger.DomainNM:
		return vigiev1.Modality_MODALITY_NUCLEAR_MEDICINE
	case ledger.DomainProjection:
		switch strings.ToUpper(e.Exam.Modality) {
		case "XA", "RF":
			return vigiev1.Modality_MODALITY_INTERVENTIONAL
		}
		if e.Reported.FluoroTime > 0 || e.Reported.RP > 0 {
			return vigiev1.Modality_MODALITY_INTERVENTIONAL
		}
		return vigiev1.Modality_MODALITY_RADIOGRAPHY
	}
	return vigiev1.Modality_MODALITY_UNSPECIFIED
}

// examToProto converts a stored exam with the figures it reported.
func examToProto(e *ledger.Entry, identity string, names sites.Names) *vigiev1.Exam {
	x := &e.Exam
	t := e.Reported
	out := &vigiev1.Exam{Id: x.SOPInstanceUID, Record: &vigiev1.SourceKey{Authority: x.Key.Authority, LocalId: x.Key.LocalID},
		IdentityId: identity, Site: names.Of(x.Key.Authority), Device: x.Device.String(), Modality: modalityOf(e), Date: x.Date,
		Procedure: x.Procedure, StudyInstanceUid: x.StudyUID, SopInstanceUid: x.SOPInstanceUID,
		DapTotalCgyCm2: opt(ledger.CGyCm2(t.DAP)), AirKermaTotalMgy: opt(t.RP), FluoroTimeMin: opt(t.FluoroTime / 60),
		DlpTotalMgyCm: opt(t.DLP), CtdivolMgy: opt(t.CTDIvolMax), ActivityMbq: opt(t.Activity),
		AgdTotalMgy: opt(t.AGDTotal()), AgdRightMgy: opt(t.AGDRight), AgdLeftMgy: opt(t.AGDLeft)}
	if x.Procedure == "" {
		out.Procedure = x.Protocol
	}
	if x.NM != nil {
		var names []string
		for _, a := range x.NM.Administrations {
			n := a.Radiopharmaceutical.Meaning
			if n == "" {
				n = a.Radiopharmaceutical.Value
			}
			if n != "" && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		out.Radiopharmaceutical = strings.Join(names, ", ")
	}
	if age, ok := dosimetry.AgeYears(x.Patient.Age); ok {
		out.PatientAgeYears = &age
	}
	if w := x.Patient.Weight; w != nil && w.Value > 0 {
		out.PatientWeightKg = &w.Value
	}
	if h := x.Patient.Height; h != nil && h.Value > 0 {
		out.PatientHeightM = &h.Value
	}
	return out
}

// ListExams pages through exams by identity, record or site. Listing a
// whole site is for vigilance staff and the site's physicists: a clinician
// reads the exams of a patient.
func (s *DoseService) ListExams(ctx context.Context, req *connect.Request[vigiev1.ListExamsRequest]) (*connect.Response[vigiev1.ListExamsResponse], error) {
	m := req.Msg
	if err := checkPeriod(m.GetSince(), m.GetUntil(), false); err != nil {
		return nil, ConnectError(err)
	}
	size, off, err := page(m.GetPageSize(), m.GetPageToken())
	if err != nil {
		return nil, ConnectError(err)
	}
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return nil, ConnectError(denied("", "no authenticated principal"))
	}
	var entries []ledger.Entry
	identityOf := map[vigie.SourceKey]string{}
	switch {
	case m.GetIdentityId() != "":
		ident, keys, _, err := s.members(ctx, "identity_id", m.GetIdentityId())
		if err != nil {
			return nil, ConnectError(err)
		}
		for _, k := range keys {
			identityOf[k] = ident.ID.String()
		}
		if entries, err = s.Ledger.Exams(ctx, keys); err != nil {
			return nil, ConnectError(err)
		}
	case m.GetRecord() != nil:
		k, err := sourceKey("record", m.GetRecord())
		if err != nil {
			return nil, ConnectError(err)
		}
		// Fails closed: the record's identity decides who reads its exams,
		// and any error finding it refuses (issue 30: a failed lookup
		// used to skip the hidden-patient check).
		id, err := s.Index.IdentityOf(ctx, k.Authority, k.LocalID)
		if err != nil {
			if vigie.ErrorCode(err) == vigie.ENOTFOUND {
				err = vigie.Errorf(vigie.ENOTFOUND, "record %s is not in the index", k)
			}
			return nil, ConnectError(err)
		}
		ident, err := s.Index.Get(ctx, id)
		if err != nil {
			return nil, ConnectError(err)
		}
		if _, err := s.gate().Patient(ctx, &ident, id); err != nil {
			return nil, ConnectError(err)
		}
		if p.Role == auth.RolePhysicist && !p.HasSite(k.Authority) {
			return nil, ConnectError(vigie.Errorf(vigie.ENOTFOUND, "record %s is not in the index", k))
		}
		identityOf[k] = id.String()
		audit.Touch(ctx, id.String())
		audit.TouchRecord(ctx, k.Authority, k.LocalID)
		if entries, err = s.Ledger.Exams(ctx, []vigie.SourceKey{k}); err != nil {
			return nil, ConnectError(err)
		}
	case m.GetSite() != "":
		if p.Role != auth.RolePhysicist && !p.Role.SeesHidden() {
			return nil, ConnectError(vigie.Errorf(vigie.EPERMISSION, "site: a clinician lists the exams of a patient (identity_id or record), not of a whole site"))
		}
		if !p.MayActFor(m.GetSite()) {
			return nil, ConnectError(vigie.Errorf(vigie.EPERMISSION, "site: %s %q does not act for %q", p.Role, p.Name, m.GetSite()))
		}
		// The site's rows are clustered by date: the period is one
		// contiguous read, not a walk over the regional ledger.
		err := s.Ledger.EachSite(ctx, m.GetSite(), m.GetSince(), m.GetUntil(), func(e *ledger.Entry) error {
			entries = append(entries, *e)
			return nil
		})
		if err != nil {
			return nil, ConnectError(err)
		}
	default:
		return nil, ConnectError(vigie.Invalid("identity_id", "one of identity_id, record or site is required"))
	}
	// Filter, newest first, then page.
	entries = slices.DeleteFunc(entries, func(e ledger.Entry) bool {
		return !inPeriod(e.Exam.Date, m.GetSince(), m.GetUntil()) ||
			(m.GetModality() != vigiev1.Modality_MODALITY_UNSPECIFIED && modalityOf(&e) != m.GetModality()) ||
			(m.GetSite() != "" && e.Exam.Key.Authority != m.GetSite())
	})
	slices.SortStableFunc(entries, func(a, b ledger.Entry) int {
		return strings.Compare(b.Exam.Date+b.Exam.Time+b.Exam.SOPInstanceUID, a.Exam.Date+a.Exam.Time+a.Exam.SOPInstanceUID)
	})
	out := &vigiev1.ListExamsResponse{}
	if off < len(entries) {
		end := min(off+size, len(entries))
		names, err := s.siteNames(ctx)
		if err != nil {
			return nil, ConnectError(err)
		}
		for i := off; i < end; i++ {
			e := &entries[i]
			id, ok := identityOf[e.Exam.Key]
			if !ok {
				if v, err := s.Index.IdentityOf(ctx, e.Exam.Key.Authority, e.Exam.Key.LocalID); err == nil {
					id = v.String()
				}
				identityOf[e.Exam.Key] = id
			}
			out.Exams = append(out.Exams, examToProto(e, id, names))
			audit.TouchRecord(ctx, e.Exam.Key.Authority, e.Exam.Key.LocalID)
		}
		if end < len(entries) {
			out.NextPageToken = strconv.Itoa(end)
		}
	}
	return connect.NewResponse(out), nil
}

// NewAlertWatch returns the alert evaluation of exams as they arrive (see
// dosimetry.AlertWatch) over the patient index: per-patient rules group a
// patient's source records through it, and ages the DICOM header lacks
// come from the latest version of the record. cfg nil: the defaults;
// coef nil: the shipped effective-dose coefficients. Hook it with
// led.OnStored(w.Stored) and run w.Run.
func NewAlertWatch(ix *mpi.Index, led *ledger.Ledger, alerts *dosimetry.AlertStore, cfg *dosimetry.AlertConfig, coef *dosimetry.Coefficients, log *slog.Logger) *dosimetry.AlertWatch {
	if cfg == nil {
		cfg = dosimetry.DefaultAlertConfig()
	}
	if coef == nil {
		coef = dosimetry.DefaultCoefficients()
	}
	types, nrd := dosimetry.DefaultTable(), dosimetry.DefaultNRD()
	return &dosimetry.AlertWatch{Ledger: led, Store: alerts, Log: log,
		Scanner: func(ctx context.Context) *dosimetry.Scanner {
			s := &dosimetry.Scanner{Types: types, NRD: nrd, Coef: coef, Config: cfg, History: led,
				Pregnant: alerts.Pregnancies().Pregnant(ctx)}
			if ix != nil {
				s.Identities = MPIIdentities{Index: ix}
				s.Age = NewMPIDemographics(ctx, ix).Age
			}
			return s
		}}
}

func alertToProto(a *dosimetry.Alert, names sites.Names) *vigiev1.Alert {
	out := &vigiev1.Alert{Id: a.ID, Created: timestamppb.New(a.RaisedAt), Kind: a.Kind, Message: a.Message, ExamId: a.SOP,
		IdentityId: a.Identity, Site: a.Site, SiteName: names.Of(a.Site), Value: a.Value, Threshold: a.Threshold, Unit: a.Unit}
	if n := len(a.Acks); n > 0 {
		last := a.Acks[n-1]
		out.Acknowledged, out.AcknowledgedBy, out.Comment = timestamppb.New(last.At), last.Actor, last.Comment
	}
	return out
}

// ListAlerts pages through dose alerts of the sites the caller may see.
func (s *DoseService) ListAlerts(ctx context.Context, req *connect.Request[vigiev1.ListAlertsRequest]) (*connect.Response[vigiev1.ListAlertsResponse], error) {
	m := req.Msg
	size, off, err := page(m.GetPageSize(), m.GetPageToken())
	if err != nil {
		return nil, ConnectError(err)
	}
	p, _ := auth.PrincipalFrom(ctx)
	if m.GetSite() != "" && !p.MayActFor(m.GetSite()) {
		return nil, ConnectError(vigie.Errorf(vigie.EPERMISSION, "site: %s %q does not act for %q", p.Role, p.Name, m.GetSite()))
	}
	alerts, err := s.Alerts.List(ctx, dosimetry.AlertFilter{Site: m.GetSite(), Open: !m.GetIncludeAcknowledged()})
	if err != nil {
		return nil, ConnectError(err)
	}
	alerts = slices.DeleteFunc(alerts, func(a dosimetry.Alert) bool { return !p.MayActFor(a.Site) })
	out := &vigiev1.ListAlertsResponse{}
	if off < len(alerts) {
		end := min(off+size, len(alerts))
		names, err := s.siteNames(ctx)
		if err != nil {
			return nil, ConnectError(err)
		}
		for i := off; i < end; i++ {
			a := &alerts[i]
			if a.Identity == "" && s.Index != nil {
				// A per-exam alert names its source record: the patient
				// is the identity the record belongs to now (a merge or
				// an unmerge since the alert moves it).
				if id, err := s.Index.IdentityOf(ctx, a.Key.Authority, a.Key.LocalID); err == nil {
					a.Identity = id.String()
				}
			}
			out.Alerts = append(out.Alerts, alertToProto(a, names))
			audit.TouchRecord(ctx, a.Key.Authority, a.Key.LocalID)
		}
		if end < len(alerts) {
			out.NextPageToken = strconv.Itoa(end)
		}
	}
	return connect.NewResponse(out), nil
}

// AcknowledgeAlert records who handled an alert and how.
func (s *DoseService) AcknowledgeAlert(ctx context.Context, req *connect.Request[vigiev1.AcknowledgeAlertRequest]) (*connect.Response[vigiev1.AcknowledgeAlertResponse], error) {
	m := req.Msg
	id := strings.TrimSpace(m.GetAlertId())
	if id == "" {
		return nil, ConnectError(vigie.Invalid("alert_id", "is required"))
	}
	if strings.TrimSpace(m.GetComment()) == "" {
		return nil, ConnectError(vigie.Invalid("comment", "is required: say what was done or decided"))
	}
	a, err := s.Alerts.Get(ctx, id)
	if err != nil {
		return nil, ConnectError(err)
	}
	p, _ := auth.PrincipalFrom(ctx)
	if !p.MayActFor(a.Site) {
		// Not found rather than forbidden: another site's alerts are not
		// even known to exist.
		return nil, ConnectError(vigie.Errorf(vigie.ENOTFOUND, "alert %s does not exist", id))
	}
	a, err = s.Alerts.Ack(ctx, id, p.Name, m.GetComment())
	if err != nil {
		return nil, ConnectError(err)
	}
	audit.TouchRecord(ctx, a.Key.Authority, a.Key.LocalID)
	names, err := s.siteNames(ctx)
	if err != nil {
		return nil, ConnectError(err)
	}
	return connect.NewResponse(&vigiev1.AcknowledgeAlertResponse{Alert: alertToProto(a, names)}), nil
}

// DeclarePregnancy records a pregnancy on the source records of an
// identity that the caller may see (a physicist: those of its sites). The
// exams of the period that arrive afterwards are estimated as they come;
// those already stored are estimated at the next alert scan.
func (s *DoseService) DeclarePregnancy(ctx context.Context, req *connect.Request[vigiev1.DeclarePregnancyRequest]) (*connect.Response[vigiev1.DeclarePregnancyResponse], error) {
	m := req.Msg
	if strings.TrimSpace(m.GetReason()) == "" {
		return nil, ConnectError(vigie.Invalid("reason", "is required: say who declared the pregnancy"))
	}
	_, keys, _, err := s.members(ctx, "identity_id", m.GetIdentityId())
	if err != nil {
		return nil, ConnectError(err)
	}
	p, _ := auth.PrincipalFrom(ctx)
	store := s.Alerts.Pregnancies()
	if _, err := store.Declare(ctx, keys, m.GetStartDate(), m.GetEndDate(), p.Name, m.GetReason()); err != nil {
		return nil, ConnectError(err)
	}
	ps, err := store.Of(ctx, keys...)
	if err != nil {
		return nil, ConnectError(err)
	}
	out := &vigiev1.DeclarePregnancyResponse{}
	for _, x := range ps {
		out.Pregnancies = append(out.Pregnancies, &vigiev1.Pregnancy{StartDate: x.Start, EndDate: x.End, DeclaredBy: x.By,
			Declared: timestamppb.New(x.At), Reason: x.Reason})
	}
	return connect.NewResponse(out), nil
}

// evaluator builds the NRD evaluator of one request; the patient's sex
// (and age when the DICOM header gives none) comes from the latest version
// of its source record in the patient index, each record read once.
func (s *DoseService) evaluator(ctx context.Context) *dosimetry.Evaluator {
	t, n := s.tables()
	demo := NewMPIDemographics(ctx, s.Index)
	return &dosimetry.Evaluator{Types: t, NRD: n, Sex: demo.Sex, Age: demo.Age}
}

func (s *DoseService) survey(ctx context.Context, site, device, examType, since, until string) ([]*dosimetry.Evaluation, error) {
	if strings.TrimSpace(site) == "" {
		return nil, vigie.Invalid("site", "is required")
	}
	if err := checkPeriod(since, until, true); err != nil {
		return nil, err
	}
	p, _ := auth.PrincipalFrom(ctx)
	if !p.MayActFor(site) {
		return nil, vigie.Errorf(vigie.EPERMISSION, "site: %s %q does not act for %q", p.Role, p.Name, site)
	}
	evs, err := s.evaluator(ctx).Evaluate(ctx, s.Ledger, dosimetry.Query{Site: site, Device: device, ExamType: examType, From: since, To: until})
	if err != nil {
		return nil, err
	}
	return evs, nil
}

// EvaluateNrd compares a site's medians with the NRD, per exam type,
// device and indicator. It returns statistics only: no patient is named,
// and the audit entry names none.
func (s *DoseService) EvaluateNrd(ctx context.Context, req *connect.Request[vigiev1.EvaluateNrdRequest]) (*connect.Response[vigiev1.EvaluateNrdResponse], error) {
	m := req.Msg
	evs, err := s.survey(ctx, m.GetSite(), m.GetDevice(), m.GetExamType(), m.GetSince(), m.GetUntil())
	if err != nil {
		return nil, ConnectError(err)
	}
	types, nrd := s.tables()
	names, err := s.siteNames(ctx)
	if err != nil {
		return nil, ConnectError(err)
	}
	label := func(code string) string {
		if t := types.Type(code); t != nil {
			return t.Label
		}
		return ""
	}
	out := &vigiev1.EvaluateNrdResponse{TableSource: strings.TrimSpace(nrd.Source.Decision + " " + nrd.Source.Journal)}
	for _, e := range evs {
		required := nrd.Survey.MinAdults
		if e.Population == dosimetry.Child {
			required = nrd.Survey.MinChildren
		}
		for _, st := range e.Stats {
			ev := &vigiev1.NrdEvaluation{ExamType: e.ExamType, ExamTypeLabel: label(e.ExamType), Site: e.Site, SiteName: names.Of(e.Site), Device: e.Device, Indicator: string(st.Indicator),
				Unit: st.Unit, Count: int32(st.N), Required: int32(required), Median: st.Median,
				Q1: st.Q1, Q3: st.Q3, Min: st.Min, Max: st.Max,
				AboveNrd: st.AboveNRD, AboveGuideValue: st.AboveVGD, Remarks: slices.Clone(e.Reasons)}
			if st.NRD != nil {
				ev.Nrd = *st.NRD
			}
			if st.VGD != nil {
				ev.GuideValue = *st.VGD
			}
			if st.Note != "" {
				ev.Remarks = append(ev.Remarks, st.Note)
			}
			out.Evaluations = append(out.Evaluations, ev)
		}
	}
	return connect.NewResponse(out), nil
}

// ExportNrdSurvey writes the IRSN file of one survey. The file names no
// patient, but it is made of patients' exams: the audit entry lists their
// source records.
func (s *DoseService) ExportNrdSurvey(ctx context.Context, req *connect.Request[vigiev1.ExportNrdSurveyRequest]) (*connect.Response[vigiev1.ExportNrdSurveyResponse], error) {
	m := req.Msg
	for _, f := range []struct{ name, v string }{{"site", m.GetSite()}, {"device", m.GetDevice()}, {"exam_type", m.GetExamType()}} {
		if strings.TrimSpace(f.v) == "" {
			return nil, ConnectError(vigie.Invalid(f.name, "is required"))
		}
	}
	evs, err := s.survey(ctx, m.GetSite(), m.GetDevice(), m.GetExamType(), m.GetSince(), m.GetUntil())
	if err != nil {
		return nil, ConnectError(err)
	}
	var ev *dosimetry.Evaluation
	for _, e := range evs {
		if e.Device == m.GetDevice() && e.ExamType == m.GetExamType() {
			ev = e
			break
		}
	}
	if ev == nil {
		return nil, ConnectError(vigie.Errorf(vigie.ENOTFOUND, "no exam of type %s on device %q at site %s between %s and %s",
			m.GetExamType(), m.GetDevice(), m.GetSite(), m.GetSince(), m.GetUntil()))
	}
	var buf bytes.Buffer
	if err := dosimetry.WriteIRSN(&buf, ev); err != nil {
		return nil, ConnectError(err)
	}
	for _, r := range ev.Records {
		audit.TouchRecord(ctx, r.Key.Authority, r.Key.LocalID)
	}
	name := fmt.Sprintf("nrd_%s_%s_%s_%s.csv", safeName(m.GetExamType()), safeName(m.GetSite()), m.GetSince(), m.GetUntil())
	return connect.NewResponse(&vigiev1.ExportNrdSurveyResponse{Filename: name, ContentType: "text/csv; charset=utf-8",
		Content: buf.Bytes(), Count: int32(len(ev.Records))}), nil
}

// safeName keeps letters, digits, dots, dashes and underscores.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

// MPIIdentities is dosimetry.Identities over the patient index: which
// identity a source record belongs to, and an identity's member records,
// for the per-patient alert rules and histories.
type MPIIdentities struct{ Index *mpi.Index }

// IdentityOf implements dosimetry.Identities.
func (a MPIIdentities) IdentityOf(ctx context.Context, k vigie.SourceKey) (string, error) {
	id, err := a.Index.IdentityOf(ctx, k.Authority, k.LocalID)
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

// Members implements dosimetry.Identities.
func (a MPIIdentities) Members(ctx context.Context, identity string) ([]vigie.SourceKey, error) {
	id, err := vigie.ParseIdentityID(identity)
	if err != nil {
		return nil, err
	}
	ks, err := a.Index.Records(ctx, id)
	if err != nil {
		return nil, err
	}
	return ks, nil
}

var _ dosimetry.Identities = MPIIdentities{}
