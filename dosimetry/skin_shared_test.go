package dosimetry_test

import (
	"path/filepath"
	"testing"

	"vigie/dosimetry"
	"vigie/ingest"
	"vigie/internal/sharedtest"
	"vigie/ledger"
)

// interventional lists the shared RDSRs with projection irradiation
// events, and whether every event carries the geometry the map needs.
var interventional = []struct {
	file     string
	complete bool
}{
	{"pyskindose/siemens_axiom_example_procedure.dcm", true},
	{"pyskindose/siemens_axiom_artis.dcm", true},
	{"openrem/RF-RDSR-Siemens-Zee.dcm", false}, // no collimated field area
	{"openrem/RF-RDSR-Canon-Ultimaxi-mGyDoseAtRP.dcm", false},
	{"openrem/RF-RDSR-GE.dcm", false},
	{"openrem/RF-RDSR-GE-OECEliteMiniView.dcm", false},
}

// TestSkinDoseSharedFiles estimates the peak skin dose of real
// interventional reports: the events' reference-point air kerma adds up
// to the report's own total, and the bounds hold it between them as the
// model says.
func TestSkinDoseSharedFiles(t *testing.T) {
	root := sharedtest.Path(t, "dicom")
	m := dosimetry.DefaultSkinModel()
	for _, c := range interventional {
		rep, err := ingest.ParseDICOMFile(filepath.Join(root, c.file), ingest.DICOMOptions{})
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		e := ledger.Entry{Exam: rep.Exam}
		s := m.Estimate([]*ledger.Entry{&e})
		if !s.Estimated() || s.Events == 0 {
			t.Errorf("%s: no estimate: %s", c.file, s.Reason)
			continue
		}
		if (s.Incomplete == 0) != c.complete {
			t.Errorf("%s: %d of %d events without geometry", c.file, s.Incomplete, s.Events)
		}
		if s.VendorTotalmGy > 0 && (s.ReferencemGy < 0.98*s.VendorTotalmGy || s.ReferencemGy > 1.02*s.VendorTotalmGy) {
			t.Errorf("%s: events add up to %v mGy at the reference point, the report says %v", c.file, s.ReferencemGy, s.VendorTotalmGy)
		}
		if !(s.PeakLowmGy <= s.PeakHighmGy) || s.PeakHighmGy > 2*s.ReferencemGy {
			t.Errorf("%s: bounds %v–%v for %v mGy at the reference point", c.file, s.PeakLowmGy, s.PeakHighmGy, s.ReferencemGy)
		}
		t.Logf("%s: %s", c.file, s.Text())
	}
}
