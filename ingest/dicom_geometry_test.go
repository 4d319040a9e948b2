package ingest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"vigie/internal/sharedtest"
	"vigie/ledger"
)

// TestProjectionGeometry reads the geometry of interventional events from
// vendor RDSRs, against the values dsrdump prints for the same event.
func TestProjectionGeometry(t *testing.T) {
	root := sharedtest.Path(t, "dicom")
	for _, c := range []struct {
		file, uid string
		want      ledger.Geometry
		events    int // events with a geometry
	}{
		{"pyskindose/siemens_axiom_example_procedure.dcm", "1.2.826.0.1.3680043.8.498.13144509285892895483067334537526750535",
			ledger.Geometry{PrimaryAngle: f(0.2), SecondaryAngle: f(-0.3), FieldArea: f(1105.3067), SourceToDetector: f(1071),
				SourceToIsocenter: f(785), TableLongitudinal: f(-16.3), TableLateral: f(1067.5), TableHeight: f(154.1),
				KVP: f(74), CopperFilter: f(0.9)}, 24},
	} {
		rep, err := ParseDICOMFile(filepath.Join(root, c.file), DICOMOptions{})
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		p := rep.Exam.Projection
		if p == nil {
			t.Fatalf("%s: no projection part", c.file)
		}
		n := 0
		for _, ev := range p.Events {
			if ev.Geometry != nil {
				n++
			}
			if ev.UID != c.uid {
				continue
			}
			if ev.Geometry == nil {
				t.Fatalf("%s: event %s has no geometry", c.file, c.uid)
			}
			got, want := ev.Geometry.Fields(), c.want.Fields()
			for i := range got {
				switch {
				case (*got[i] == nil) != (*want[i] == nil):
					t.Errorf("%s: geometry field %d present %v, want %v", c.file, i, *got[i] != nil, *want[i] != nil)
				case *got[i] != nil && !within(**got[i], **want[i]):
					t.Errorf("%s: geometry field %d = %v, want %v", c.file, i, **got[i], **want[i])
				}
			}
		}
		if n != c.events {
			t.Errorf("%s: %d events with a geometry, want %d", c.file, n, c.events)
		}
	}
}

func f(v float64) *float64 { return &v }

// TestPregnancyStatus reads (0010,21C0) from a real vendor CT RDSR whose
// dataset is given the tag in memory.
func TestPregnancyStatus(t *testing.T) {
	path := sharedtest.Path(t, "dicom/openrem/CT-RDSR-Siemens_Flash-TAP-SS.dcm")
	for _, c := range []struct {
		status int // 0: tag absent
		want   string
		flag   bool
	}{{0, "", false}, {1, ledger.PregnancyNo, false}, {2, ledger.PregnancyPossible, true}, {3, ledger.PregnancyYes, true},
		{4, ledger.PregnancyUnknown, false}, {9, "", false}} {
		data := WithPregnancyStatus(t, path, c.status)
		rep, err := ParseDICOM(bytes.NewReader(data), int64(len(data)), DICOMOptions{})
		if err != nil {
			t.Fatalf("status %d: %v", c.status, err)
		}
		if got := rep.Exam.Patient.Pregnancy; got != c.want || rep.Exam.Patient.MayBePregnant() != c.flag {
			t.Errorf("status %d: pregnancy %q (flag %v), want %q (%v)", c.status, got, rep.Exam.Patient.MayBePregnant(), c.want, c.flag)
		}
		if rep.Exam.CT == nil || len(rep.Exam.CT.Events) == 0 {
			t.Errorf("status %d: the CT events were lost", c.status)
		}
	}
}

// WithPregnancyStatus returns the DICOM file at path with its Pregnancy
// Status set to status (0 leaves the file as it is). Tests of other
// packages build the same file with dcmtk-free code of their own.
func WithPregnancyStatus(t testing.TB, path string, status int) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if status == 0 {
		return raw
	}
	ds, err := dicom.Parse(bytes.NewReader(raw), int64(len(raw)), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Siemens writes the tag (with 0, outside the enumeration): replace it.
	e := el(t, tag.Tag{Group: 0x0010, Element: 0x21C0}, []int{status})
	replaced := false
	for i, x := range ds.Elements {
		if x.Tag == e.Tag {
			ds.Elements[i], replaced = e, true
		}
	}
	if !replaced {
		ds.Elements = append(ds.Elements, e)
	}
	var buf bytes.Buffer
	if err := dicom.Write(&buf, ds, dicom.SkipVRVerification()); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
