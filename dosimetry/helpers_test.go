package dosimetry

import (
	"fmt"
	"testing"

	"vigie"
	"vigie/ledger"
)

// q returns a quantity in the canonical unit of dim.
func q(v float64, dim ledger.Dimension) *ledger.Quantity {
	return &ledger.Quantity{Value: v, Unit: string(dim), Raw: v, RawUnit: string(dim)}
}

func code(v, s, m string) ledger.Code { return ledger.Code{Value: v, Scheme: s, Meaning: m} }

var (
	scoutType  = code("113805", "DCM", "Constant Angle Acquisition")
	spiralType = code("P5-08001", "SRT", "Spiral Acquisition")
	chest      = code("T-D3000", "SRT", "Chest")
	abdomen    = code("T-D4000", "SRT", "Abdomen")
	cap        = code("R-FAB56", "SRT", "Chest, Abdomen and Pelvis")
	body32     = code("113691", "DCM", "IEC Body Dosimetry Phantom")
)

// ctEv is one CT irradiation event.
func ctEv(uid, protocol string, region, acq ledger.Code, ctdi, dlp float64) ledger.CTEvent {
	return ledger.CTEvent{UID: uid, Protocol: protocol, TargetRegion: region, AcquisitionType: acq,
		Phantom: body32, CTDIvol: q(ctdi, ledger.DimDose), DLP: q(dlp, ledger.DimDLP)}
}

// exam returns a minimal valid exam of a domain.
func exam(sop, site, patient, date, modality string, d ledger.Domain) ledger.Exam {
	return ledger.Exam{SOPInstanceUID: sop, StudyUID: "st-" + sop, Date: date, Time: "10:00:00",
		Modality: modality, Domain: d, Source: ledger.SourceRDSR,
		Key:    vigie.SourceKey{Authority: site, LocalID: patient},
		Device: ledger.Device{Manufacturer: "ACME", Model: "M1", Station: "S1"}}
}

// adult sets an adult's age, weight and height.
func adult(e ledger.Exam, years int, kg, m float64) ledger.Exam {
	e.Patient.Age = fmt.Sprintf("%03dY", years)
	if kg > 0 {
		e.Patient.Weight = q(kg, ledger.DimMass)
	}
	if m > 0 {
		e.Patient.Height = q(m, ledger.DimHeight)
	}
	return e
}

// thoraxPA returns a one-projection thorax PA radiograph with a DAP in
// mGy.cm² (the unit of the radiography NRD).
func thoraxPA(sop, site, patient, date string, pdsmGycm2 float64) ledger.Exam {
	e := exam(sop, site, patient, date, "DX", ledger.DomainProjection)
	e.Procedure = "THORAX PA"
	dap := pdsmGycm2 / 1e7 // mGy.cm² → Gy.m²
	e.Projection = &ledger.ProjectionDose{DAPTotal: q(dap, ledger.DimDAP),
		Events: []ledger.ProjectionEvent{{UID: "ev-" + sop, Protocol: "Thorax PA", DAP: q(dap, ledger.DimDAP)}}}
	return e
}

// entry wraps an exam as a stored ledger entry counting what it reports.
func entry(e ledger.Exam) ledger.Entry {
	t := e.Totals()
	return ledger.Entry{Exam: e, Reported: t, Counted: t}
}

func near(a, b float64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	s := max(abs(a), abs(b), 1)
	return d <= 1e-9*s
}

func abs(a float64) float64 {
	if a < 0 {
		return -a
	}
	return a
}

func mustDefault(t testing.TB) *Table {
	t.Helper()
	return DefaultTable()
}
