package ledger

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"vigie"
)

// codecEntries are entries of every domain and shape the ledger stores.
func codecEntries() map[string]*Entry {
	stored := time.Date(2025, 3, 4, 10, 11, 12, 123456789, time.UTC)
	ct := ctExam("1.2.3", "9.1", 236.09, "e4", 7.46, "e5", 69.81)
	ct.Patient = PatientSize{Age: "045Y", Weight: q(72.5, "kg", DimMass), Height: q(172, "cm", DimHeight), Pregnancy: PregnancyYes}
	ct.Device = Device{Manufacturer: "SIEMENS", Model: "SOMATOM Force", Station: "CT1", Serial: "74153"}
	ct.CT.Events[0].Protocol = "Topogram"
	ct.CT.Events[0].TargetRegion = Code{Value: "T-D3000", Scheme: "SRT", Meaning: "Chest"}
	ct.CT.Events[0].AcquisitionType = Code{Value: "113805", Scheme: "DCM", Meaning: "Constant Angle Acquisition"}
	ct.CT.Events[1].Phantom = Code{Value: "113691", Scheme: "DCM", Meaning: "IEC Body Dosimetry Phantom"}
	ct.CT.Events[1].SSDE = q(11.2, "mGy", DimDose)
	ct.CT.Events[1].ScanLength = q(412.5, "mm", DimLength)
	ct.CT.Events[1].ExposureTime = q(4.2, "s", DimTime)
	ct.CT.Events[1].WED = q(28.4, "cm", DimLength)
	ct.CT.Events[1].Sources = []CTSource{{ID: "A", KVP: q(120, "kV", DimVoltage), MaxCurrent: q(300, "mA", DimCurrent),
		Current: q(212, "mA", DimCurrent), RotationTime: q(0.5, "s", DimTime)}, {ID: "B", KVP: q(150, "kV", DimVoltage)}}
	ct.Accession, ct.SOPClassUID, ct.Time, ct.Protocol = "ACC-1", "1.2.840.10008.5.1.4.1.1.88.67", "10:01:02", "Thorax^Routine"

	xa := &Exam{SOPInstanceUID: "2.1", StudyUID: "9.2", Date: "2025-06-30", Modality: "XA", Procedure: "Coronarographie",
		Source: SourceRDSR, Domain: DomainProjection, Key: vigie.SourceKey{Authority: "1.2.250.1.9", LocalID: "Élodie-ü"},
		Projection: &ProjectionDose{Planes: 2, DAPTotal: q(120, "Gy.cm2", DimDAP), RPTotal: q(3200, "mGy", DimDose),
			FluoroDAP: q(80, "Gy.cm2", DimDAP), FluoroRP: q(2000, "mGy", DimDose), AcqDAP: q(40, "Gy.cm2", DimDAP),
			AcqRP: q(1200, "mGy", DimDose), FluoroTime: q(20, "min", DimTime), AcqTime: q(30, "s", DimTime), Frames: 412,
			Events: []ProjectionEvent{
				{UID: "x1", Type: Code{Value: "P5-06000", Scheme: "SRT", Meaning: "Fluoroscopy"}, Protocol: "LAO 30",
					DAP: q(1e-3, "Gy.m2", DimDAP), RP: q(12, "mGy", DimDose), Duration: q(4.5, "s", DimTime), Fluoro: true,
					Geometry: &Geometry{PrimaryAngle: f64(-30), SecondaryAngle: f64(0), FieldArea: f64(410.5), SourceToIsocenter: f64(785),
						TableHeight: f64(-154.1), CopperFilter: f64(0.9)}},
				{UID: "x2", DAP: q(2e-3, "Gy.m2", DimDAP)},
			}}}
	mg := &Exam{SOPInstanceUID: "3.1", Date: "2025-01-01", Modality: "MG", Source: SourceHeader, Domain: DomainMammography,
		Key: siteA, Mammography: &MammographyDose{AGDLeft: q(1.3, "mGy", DimDose), Thickness: q(52, "mm", DimLength),
			Events: []MammographyEvent{{UID: "m1", Laterality: "L", View: Code{Value: "R-10242", Scheme: "SRT", Meaning: "cranio-caudal"},
				AGD: q(1.3, "mGy", DimDose), Thickness: q(52, "mm", DimLength)}}}}
	nm := &Exam{SOPInstanceUID: "4.1", StudyUID: "9.4", Date: "2025-02-02", Modality: "PT", Source: SourceRDSR, Domain: DomainNM,
		Key: siteA, NM: &NMDose{Administrations: []Administration{{UID: "a1",
			Radiopharmaceutical: Code{Value: "C-B1031", Scheme: "SRT", Meaning: "Fluorodeoxyglucose F^18^"},
			Radionuclide:        Code{Value: "C-111A1", Scheme: "SRT", Meaning: "^18^Fluorine"},
			Activity:            q(394, "MBq", DimActivity), Start: "2025-02-02T09:30:00"}}}}
	entry := func(x *Exam) *Entry {
		t := x.Totals()
		return &Entry{Exam: *x, Reported: t, Counted: t, NewEvents: len(x.eventFigures()), StoredAt: stored}
	}
	out := map[string]*Entry{
		"ct":             entry(ct),
		"interventional": entry(xa),
		"mammography":    entry(mg),
		"nm":             entry(nm),
		"minimal":        {Exam: Exam{SOPInstanceUID: "5", Source: SourceHeader, Domain: DomainCT, Key: siteA}},
		"empty parts":    {Exam: Exam{SOPInstanceUID: "6", Source: SourceRDSR, Domain: DomainCT, Key: siteA, CT: &CTDose{}, NM: &NMDose{}}},
	}
	sup := entry(mg)
	sup.SupersededBy, sup.Counted, sup.RepeatedEvents = "3.9", Totals{AGDLeft: 0.5}, 3
	out["superseded"] = sup
	conflict := entry(nm)
	conflict.Conflict, conflict.Counted = "patient", Totals{}
	out["conflict"] = conflict
	odd := entry(ct)
	odd.Reported.DLP, odd.Counted.DAP = math.Inf(1), math.Copysign(0, -1)
	odd.StoredAt = time.Date(1969, 12, 31, 23, 59, 59, 999, time.UTC)
	out["odd numbers and dates"] = odd
	return out
}

func TestEntryCodecRoundTrip(t *testing.T) {
	for name, e := range codecEntries() {
		t.Run(name, func(t *testing.T) {
			v := encodeEntry(e)
			if v[0] != formatEntryV3 {
				t.Fatalf("format byte %#x, want %#x", v[0], formatEntryV3)
			}
			got, err := decodeEntry(v)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, e) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, e)
			}
			if math.Signbit(e.Counted.DAP) != math.Signbit(got.Counted.DAP) {
				t.Errorf("the sign of a zero was lost")
			}
			// The binary form is smaller than the JSON it replaces.
			if j, _ := json.Marshal(e); len(v) >= len(j) && !strings.Contains(name, "odd") {
				t.Errorf("binary %d bytes, JSON %d", len(v), len(j))
			}
		})
	}
}

func f64(v float64) *float64 { return &v }

// TestDecodeEntryReadsFormatV2 reads a row of the previous binary format:
// an exam without CT or projection events is the same bytes but for the
// pregnancy status that format 3 appends.
func TestDecodeEntryReadsFormatV2(t *testing.T) {
	for _, name := range []string{"nm", "mammography", "minimal", "conflict"} {
		e := codecEntries()[name]
		v := encodeEntry(e)
		if v[len(v)-1] != 0 {
			t.Fatalf("%s: the row does not end with an empty pregnancy status", name)
		}
		old := append([]byte{formatEntryV2}, v[1:len(v)-1]...)
		got, err := decodeEntry(old)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Errorf("%s: format-2 row read as %+v, want %+v", name, got, e)
		}
		// Cut short, it is corrupt, never silently read.
		if _, err := decodeEntry(v[:len(v)-1]); err == nil {
			t.Errorf("%s: a format-3 row without its last field was accepted", name)
		}
	}
}

// TestDecodeEntryReadsLayout1 reads the JSON values layout 1 stored.
func TestDecodeEntryReadsLayout1(t *testing.T) {
	for name, e := range codecEntries() {
		if name == "odd numbers and dates" { // JSON cannot hold an infinity
			continue
		}
		j, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeEntry(j)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// What JSON keeps (empty parts and zero times come back the same).
		gj, _ := json.Marshal(got)
		if string(gj) != string(j) {
			t.Errorf("%s: layout-1 value read as\n%s\nwant\n%s", name, gj, j)
		}
		if got.Exam.SOPInstanceUID != e.Exam.SOPInstanceUID || !reflect.DeepEqual(got.Counted, e.Counted) {
			t.Errorf("%s: %+v", name, got)
		}
	}
}

// TestDecodeEntryReadsLayout2Rows: a row written before the CT acquisition
// parameters and the conflict were stored (format V1) still decodes. An
// entry without CT or projection events is its V3 form less the trailing
// conflict and pregnancy status.
func TestDecodeEntryReadsLayout2Rows(t *testing.T) {
	for _, name := range []string{"mammography", "nm", "minimal", "superseded"} {
		e := codecEntries()[name]
		v := encodeEntry(e)
		if v[len(v)-1] != 0 || v[len(v)-2] != 0 {
			t.Fatalf("%s: the V3 form does not end with an empty conflict and pregnancy status", name)
		}
		old := append([]byte{formatEntryV1}, v[1:len(v)-2]...)
		got, err := decodeEntry(old)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Errorf("%s: V1 row decoded as %+v, want %+v", name, got, e)
		}
	}
}

func TestDecodeEntryRefusesCorruptValues(t *testing.T) {
	good := encodeEntry(codecEntries()["ct"])
	bad := map[string][]byte{
		"empty":           nil,
		"unknown format":  append([]byte{0x7f}, good[1:]...),
		"pointer format":  {formatPointer, 'a', 0, 'b'},
		"truncated":       good[:len(good)/2],
		"only the format": {formatEntryV1},
		"trailing bytes":  append(append([]byte{}, good...), 0),
		"bad json":        []byte(`{"exam":`),
		"huge length":     append(encodeEntry(&Entry{Exam: Exam{SOPInstanceUID: "1"}})[:1:1], 0xff, 0xff, 0xff, 0xff, 0x0f),
	}
	for name, v := range bad {
		if e, err := decodeEntry(v); err == nil {
			t.Errorf("%s: decoded %+v, want an error", name, e)
		}
	}
}

// FuzzDecodeEntry: any value either decodes to an entry whose binary form
// decodes to the same entry, or is refused; it never panics.
func FuzzDecodeEntry(f *testing.F) {
	for _, e := range codecEntries() {
		f.Add(encodeEntry(e))
		if j, err := json.Marshal(e); err == nil {
			f.Add(j)
		}
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		e, err := decodeEntry(v)
		if err != nil {
			return
		}
		// Compared in binary form: NaN figures are equal there.
		v1 := encodeEntry(e)
		again, err := decodeEntry(v1)
		if err != nil {
			t.Fatalf("re-encoded entry refused: %v", err)
		}
		if v2 := encodeEntry(again); string(v1) != string(v2) {
			t.Fatalf("unstable:\n%+v\n%+v", again, e)
		}
	})
}
