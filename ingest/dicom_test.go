package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"vigie"
	"vigie/internal/sharedtest"
	"vigie/ledger"
	"vigie/store"
)

// sharedCase is what must come out of one shared file. Figures are in the
// units of the dose history: mGy.cm, mGy, cGy.cm², s, MBq.
type sharedCase struct {
	file    string
	refused string // the field the refusal names; empty when accepted
	source  ledger.SourceKind
	domain  ledger.Domain
	localID string

	dlp, ctdi, dapCGyCm2, rp, fluoroS, agdL, agdR, mbq float64
}

// within reports whether got is within 0.1 % of want (or both below 1e-9).
func within(got, want float64) bool {
	return math.Abs(got-want) <= 1e-3*math.Abs(want)+1e-9
}

// listShared returns the DICOM files of shared/dicom (every file but the
// inventory, licences and notes), relative to it.
func listShared(t testing.TB, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		base := filepath.Base(rel)
		if !strings.Contains(rel, string(filepath.Separator)) || strings.HasPrefix(base, "LICENSE") || strings.HasSuffix(base, ".md") {
			return nil
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestParseDICOMSharedFiles(t *testing.T) {
	root := sharedtest.Path(t, "dicom")
	byFile := map[string]sharedCase{}
	for _, c := range sharedFiles {
		byFile[c.file] = c
	}
	files := listShared(t, root)
	if len(files) != len(sharedFiles) {
		t.Errorf("shared/dicom holds %d DICOM files, the table %d: every file must be a test case", len(files), len(sharedFiles))
	}
	for _, f := range files {
		c, ok := byFile[f]
		if !ok {
			t.Errorf("%s: not in the table", f)
			continue
		}
		t.Run(f, func(t *testing.T) {
			path := filepath.Join(root, filepath.FromSlash(f))
			rep, err := ParseDICOMFile(path, DICOMOptions{Authority: "1.2.250.1.71.4.2.7.99"})
			if c.refused != "" {
				if err == nil {
					t.Fatalf("accepted (%s %s), want refused on %s", rep.Exam.Source, rep.Exam.Domain, c.refused)
				}
				if vigie.ErrorCode(err) != vigie.EINVALID || vigie.ErrorField(err) != c.refused {
					t.Errorf("refused with %v (code %s, field %q), want EINVALID on %s", err, vigie.ErrorCode(err), vigie.ErrorField(err), c.refused)
				}
				if !strings.Contains(err.Error(), filepath.Base(f)) {
					t.Errorf("the refusal %q does not name the file", err)
				}
				// Well-formed objects without dose data are told apart
				// from malformed files.
				malformedFile := strings.Contains(err.Error(), "malformed") || strings.Contains(err.Error(), "not a DICOM Part-10") ||
					c.refused == "PatientID" || strings.Contains(err.Error(), "SOPClassUID: absent")
				if errors.Is(err, ErrNoDoseData) == malformedFile {
					t.Errorf("refusal %q: errors.Is(ErrNoDoseData) = %v", err, errors.Is(err, ErrNoDoseData))
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			x := &rep.Exam
			if x.Source != c.source || x.Domain != c.domain || rep.Patient.LocalID != c.localID || x.Key.LocalID != c.localID {
				t.Errorf("got %s %s patient %q (key %v), want %s %s %q", x.Source, x.Domain, rep.Patient.LocalID, x.Key, c.source, c.domain, c.localID)
			}
			if x.Key.Authority == "" || x.SOPInstanceUID == "" || x.StudyUID == "" {
				t.Errorf("key %v, SOP %q, study %q: all are required", x.Key, x.SOPInstanceUID, x.StudyUID)
			}
			tt := x.Totals()
			for _, m := range []struct {
				name      string
				got, want float64
			}{
				{"DLP mGy.cm", tt.DLP, c.dlp}, {"CTDIvol max mGy", tt.CTDIvolMax, c.ctdi},
				{"DAP cGy.cm2", ledger.CGyCm2(tt.DAP), c.dapCGyCm2}, {"RP air kerma mGy", tt.RP, c.rp},
				{"fluoro time s", tt.FluoroTime, c.fluoroS}, {"AGD left mGy", tt.AGDLeft, c.agdL},
				{"AGD right mGy", tt.AGDRight, c.agdR}, {"activity MBq", tt.Activity, c.mbq},
			} {
				if !within(m.got, m.want) {
					t.Errorf("%s = %v, want %v", m.name, m.got, m.want)
				}
			}
		})
	}
}

// dcmtkUnits converts the unit codes dsrdump prints to the history's units,
// independently of package ledger.
var dcmtkUnits = map[string]float64{
	"mGy.cm": 1, "mGycm": 1, "Gy.cm": 1000,
	"Gy.m2": 1e6, "Gym2": 1e6, "Gy.cm^2": 100, "dGy.cm2": 10, "cGy.cm2": 1, "mGy.cm2": 0.1, "uGy.m2": 1,
	"Gy": 1000, "mGy": 1, "dGy": 100, "uGy": 1e-3,
	"s": 1, "ms": 1e-3, "min": 60,
	"MBq": 1, "Bq": 1e-6, "kBq": 1e-3, "GBq": 1e3,
}

var dsrNum = regexp.MustCompile(`NUM:\(([^,]+),([^,]+),"[^"]*"\)="([^"]*)" \(([^,]+),`)
var dsrLaterality = regexp.MustCompile(`CODE:\((G-C171|272741003),[^)]*\)=\(([^,]+),`)

// dcmtkTotals reads a dose SR's accumulated figures from dsrdump's text.
func dcmtkTotals(t *testing.T, path string) (sharedCase, bool) {
	out, err := exec.Command("dsrdump", "-q", "-Ec", "-Er", "-Ee", "-Ei", "+Pc", "+Pl", path).Output()
	if err != nil && len(out) == 0 {
		t.Logf("dsrdump cannot read %s: %v", path, err)
		return sharedCase{}, false
	}
	var c sharedCase
	lines := strings.Split(string(out), "\n")
	for i, l := range lines {
		m := dsrNum.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(m[3]), 64)
		f, known := dcmtkUnits[m[4]]
		if err != nil || !known {
			continue
		}
		v *= f
		switch m[1] + " " + m[2] {
		case "113813 DCM":
			c.dlp += v
		case "113722 DCM", "C-204 99SMS_RADSUM":
			c.dapCGyCm2 += v
		case "113725 DCM":
			c.rp += v
		case "113730 DCM", "C-202 99SMS_RADSUM":
			c.fluoroS += v
		case "113507 DCM":
			c.mbq += v
		case "111637 DCM":
			lat := ""
			if i+1 < len(lines) {
				if lm := dsrLaterality.FindStringSubmatch(lines[i+1]); lm != nil {
					lat = lm[2]
				}
			}
			switch lat {
			case "T-04030", "80248007":
				c.agdL += v
			case "T-04020", "73056007":
				c.agdR += v
			}
		}
	}
	return c, true
}

// TestParseDICOMAgainstDcmtk re-reads every accepted dose SR with dcmtk's
// dsrdump and compares the accumulated totals within 0.1 %.
func TestParseDICOMAgainstDcmtk(t *testing.T) {
	root := sharedtest.Path(t, "dicom")
	if _, err := exec.LookPath("dsrdump"); err != nil {
		t.Skip("dsrdump is not installed (Debian package dcmtk): the independent cross-check of dose totals needs it")
	}
	// dsrdump runs are independent: four at a time.
	type reading struct {
		c  sharedCase
		ok bool
	}
	readings := map[string]reading{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, c := range sharedFiles {
		if c.refused != "" || c.source == ledger.SourceHeader {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			d, ok := dcmtkTotals(t, filepath.Join(root, filepath.FromSlash(c.file)))
			mu.Lock()
			readings[c.file] = reading{d, ok}
			mu.Unlock()
		}()
	}
	wg.Wait()
	checked := 0
	for _, c := range sharedFiles {
		if c.refused != "" || c.source == ledger.SourceHeader {
			continue
		}
		path := filepath.Join(root, filepath.FromSlash(c.file))
		rep, err := ParseDICOMFile(path, DICOMOptions{Authority: "1.2.3"})
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		d, ok := readings[c.file].c, readings[c.file].ok
		if !ok {
			t.Errorf("%s: dsrdump cannot read a file Vigie accepts", c.file)
			continue
		}
		checked++
		tt := rep.Exam.Totals()
		if d.mbq == 0 && tt.Activity != 0 {
			// dsrdump drops an administration holding an item of an
			// unknown value type (Siemens "Extended"): read the raw
			// content items instead.
			d.mbq = dcmdumpSRNum(t, path, "113507")
		}
		if rep.Exam.CT != nil && rep.Exam.CT.DLPTotal == nil {
			d.dlp = tt.DLP // no accumulated total: Vigie sums the events
		}
		for _, m := range []struct {
			name      string
			got, want float64
		}{
			{"DLP total mGy.cm", tt.DLP, d.dlp}, {"DAP total cGy.cm2", ledger.CGyCm2(tt.DAP), d.dapCGyCm2},
			{"dose at RP total mGy", tt.RP, d.rp}, {"fluoro time s", tt.FluoroTime, d.fluoroS},
			{"AGD left mGy", tt.AGDLeft, d.agdL}, {"AGD right mGy", tt.AGDRight, d.agdR},
			{"activity MBq", tt.Activity, d.mbq},
		} {
			if !within(m.got, m.want) {
				t.Errorf("%s: %s = %v, dsrdump reads %v", c.file, m.name, m.got, m.want)
			}
		}
	}
	if checked < 40 {
		t.Errorf("only %d dose SRs cross-checked, want every accepted SR (≥ 40)", checked)
	}
}

// dcmdumpSRNum sums, from dcmdump's raw listing of an SR, the numeric
// values of the NUM content items named by code value cv, converted with
// their unit codes.
func dcmdumpSRNum(t *testing.T, path, cv string) float64 {
	out, _ := exec.Command("dcmdump", "-q", "+L", path).Output()
	reVal := regexp.MustCompile(`\(0040,a30a\) DS \[([^\]]*)\]`)
	reCode := regexp.MustCompile(`\(0008,0100\) SH \[([^\]]*)\]`)
	var sum, unit float64
	state := 0 // 1: concept seen, waiting for its unit; 2: unit read, waiting for the value
	for _, l := range strings.Split(string(out), "\n") {
		if m := reCode.FindStringSubmatch(l); m != nil {
			switch {
			case state == 1:
				f, ok := dcmtkUnits[m[1]]
				unit, state = f, 2
				if !ok {
					state = 0
				}
			case m[1] == cv:
				state = 1
			}
			continue
		}
		if m := reVal.FindStringSubmatch(l); m != nil && state == 2 {
			if v, err := strconv.ParseFloat(strings.TrimSpace(m[1]), 64); err == nil {
				sum += v * unit
			}
			state = 0
		}
	}
	return sum
}

// dcmdumpValues returns the first value of tag (gggg,eeee) anywhere in a
// file, as dcmdump prints it.
func dcmdumpValues(t *testing.T, path string, tags ...string) map[string][]float64 {
	args := []string{"-q"}
	for _, tg := range tags {
		args = append(args, "+P", tg)
	}
	out, _ := exec.Command("dcmdump", append(args, path)...).Output()
	vals := map[string][]float64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	re := regexp.MustCompile(`^\s*\(([0-9a-f]{4},[0-9a-f]{4})\) \w\w (?:\[([^\]]*)\]|([-0-9.e]+))`)
	for sc.Scan() {
		m := re.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		s := m[2]
		if s == "" {
			s = m[3]
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
			vals[m[1]] = append(vals[m[1]], v)
		}
	}
	return vals
}

// TestParseDICOMHeadersAgainstDcmtk re-reads the image-header figures with
// dcmdump: DAP (dGy.cm²), OrganDose (dGy), CTDIvol (mGy), activity (Bq).
func TestParseDICOMHeadersAgainstDcmtk(t *testing.T) {
	root := sharedtest.Path(t, "dicom")
	if _, err := exec.LookPath("dcmdump"); err != nil {
		t.Skip("dcmdump is not installed (Debian package dcmtk): the independent cross-check of header figures needs it")
	}
	for _, c := range sharedFiles {
		if c.source != ledger.SourceHeader {
			continue
		}
		path := filepath.Join(root, filepath.FromSlash(c.file))
		v := dcmdumpValues(t, path, "0018,115e", "0040,0316", "0018,9345", "0018,1074")
		if len(v) == 0 {
			t.Logf("%s: dcmdump reads no dose tag (dcmtk cannot parse this file)", c.file)
			continue
		}
		rep, err := ParseDICOMFile(path, DICOMOptions{Authority: "1.2.3"})
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		tt := rep.Exam.Totals()
		var want ledger.Totals
		if d := v["0018,115e"]; len(d) > 0 {
			want.DAP = d[0] * 10 / 1e6
		}
		if d := v["0040,0316"]; len(d) > 0 {
			want.AGDLeft, want.AGDRight = tt.AGDLeft, tt.AGDRight
			if !within(tt.AGDTotal(), d[0]*100) {
				t.Errorf("%s: AGD %v mGy, dcmdump reads OrganDose %v dGy", c.file, tt.AGDTotal(), d[0])
			}
		}
		for _, x := range v["0018,9345"] {
			want.CTDIvolMax = max(want.CTDIvolMax, x)
		}
		if d := v["0018,1074"]; len(d) > 0 {
			want.Activity = d[0] / 1e6
			if d[0] < 1e4 { // Siemens NM writes MBq
				want.Activity = d[0]
			}
		}
		if !within(tt.DAP, want.DAP) || !within(tt.CTDIvolMax, want.CTDIvolMax) || !within(tt.Activity, want.Activity) {
			t.Errorf("%s: extracted %+v, dcmdump reads %+v", c.file, tt, want)
		}
	}
}

// fixture builds a small DICOM Part-10 file in memory.
func fixture(t testing.TB, els ...*dicom.Element) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := dicom.Write(&buf, dicom.Dataset{Elements: els}, dicom.DefaultMissingTransferSyntax(), dicom.SkipVRVerification()); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func el(t testing.TB, tg tag.Tag, v any) *dicom.Element {
	t.Helper()
	e, err := dicom.NewElement(tg, v)
	if err != nil {
		t.Fatalf("element %v: %v", tg, err)
	}
	return e
}

func dxFixture(t testing.TB, extra ...*dicom.Element) []byte {
	els := []*dicom.Element{
		el(t, tag.MediaStorageSOPClassUID, []string{"1.2.840.10008.5.1.4.1.1.1.1"}),
		el(t, tag.MediaStorageSOPInstanceUID, []string{"1.2.3.4.5"}),
		el(t, tag.TransferSyntaxUID, []string{"1.2.840.10008.1.2.1"}),
		el(t, tag.SOPClassUID, []string{"1.2.840.10008.5.1.4.1.1.1.1"}),
		el(t, tag.SOPInstanceUID, []string{"1.2.3.4.5"}),
		el(t, tag.StudyInstanceUID, []string{"1.2.3.4"}),
		el(t, tag.StudyDate, []string{"20240301"}),
		el(t, tag.Modality, []string{"DX"}),
		el(t, tag.ImageAndFluoroscopyAreaDoseProduct, []string{"1.5"}),
	}
	return fixture(t, append(els, extra...)...)
}

func TestParseDICOMIdentity(t *testing.T) {
	otherIDs := func(id, issuer string) *dicom.Element {
		return el(t, tag.OtherPatientIDsSequence, [][]*dicom.Element{{
			el(t, tag.PatientID, []string{id}), el(t, tag.IssuerOfPatientID, []string{issuer}),
		}})
	}
	tests := []struct {
		name   string
		els    []*dicom.Element
		opts   DICOMOptions
		check  func(rep *DoseReport) string
		reject string
	}{
		{"issuer and name", []*dicom.Element{
			el(t, tag.PatientID, []string{"IPP42"}), el(t, tag.IssuerOfPatientID, []string{"1.2.250.1.71.4.2.7.3"}),
			el(t, tag.PatientName, []string{"DUPONT^Jean^Pierre Marie"}), el(t, tag.PatientBirthDate, []string{"19610415"}),
			el(t, tag.PatientSex, []string{"M"}),
		}, DICOMOptions{Authority: "ignored"}, func(r *DoseReport) string {
			p := r.Patient
			if p.Authority != "1.2.250.1.71.4.2.7.3" || p.LocalID != "IPP42" || p.BirthName != "DUPONT" ||
				p.FirstNames != "Jean Pierre Marie" || p.FirstName != "Jean" || p.BirthDate != "1961-04-15" || p.Sex != "M" {
				return "wrong patient"
			}
			if r.Exam.Key != (vigie.SourceKey{Authority: p.Authority, LocalID: p.LocalID}) {
				return "exam not keyed by the source record"
			}
			return ""
		}, ""},
		{"site authority when no issuer; INS from other ids", []*dicom.Element{
			el(t, tag.PatientID, []string{"IPP43"}), otherIDs("161047512345669", "1.2.250.1.213.1.4.8"),
			el(t, tag.PatientSex, []string{"O"}),
		}, DICOMOptions{Authority: "1.2.250.1.71.4.2.7.4"}, func(r *DoseReport) string {
			p := r.Patient
			if p.Authority != "1.2.250.1.71.4.2.7.4" || p.INS != "161047512345669" || p.INSOID != "1.2.250.1.213.1.4.8" || p.Sex != "U" {
				return "wrong authority, INS or sex"
			}
			if len(r.OtherIDs) != 1 {
				return "other ids not reported"
			}
			return ""
		}, ""},
		{"other id that is not an INS", []*dicom.Element{
			el(t, tag.PatientID, []string{"IPP44"}), otherIDs("X9", "1.2.250.1.71.4.2.7.5"),
		}, DICOMOptions{Authority: "A"}, func(r *DoseReport) string {
			if r.Patient.INS != "" || len(r.OtherIDs) != 1 || r.OtherIDs[0].Issuer != "1.2.250.1.71.4.2.7.5" {
				return "a non-INS id taken for an INS"
			}
			return ""
		}, ""},
		{"no patient id", []*dicom.Element{el(t, tag.PatientName, []string{"X^Y"})}, DICOMOptions{Authority: "A"}, nil, "PatientID"},
		{"blank patient id", []*dicom.Element{el(t, tag.PatientID, []string{"  "})}, DICOMOptions{Authority: "A"}, nil, "PatientID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := dxFixture(t, tt.els...)
			rep, err := ParseDICOM(bytes.NewReader(b), int64(len(b)), tt.opts)
			if tt.reject != "" {
				if vigie.ErrorField(err) != tt.reject {
					t.Fatalf("err = %v, want a refusal on %s", err, tt.reject)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if msg := tt.check(rep); msg != "" {
				t.Errorf("%s: %+v", msg, rep.Patient)
			}
			if tt := rep.Exam.Totals(); !within(ledger.CGyCm2(tt.DAP), 15) {
				t.Errorf("DAP = %v cGy.cm2, want 15 (1.5 dGy.cm2)", ledger.CGyCm2(tt.DAP))
			}
		})
	}
}

func TestParseDICOMRefusesBadBytes(t *testing.T) {
	good := dxFixture(t, el(t, tag.PatientID, []string{"P1"}))
	tests := map[string][]byte{
		"empty":          {},
		"short":          []byte("DICM"),
		"no marker":      append(make([]byte, 128), []byte("XXXX\x02\x00\x00\x00")...),
		"truncated":      good[:len(good)-7],
		"marker only":    append(make([]byte, 128), []byte("DICM")...),
		"garbage header": append(append(make([]byte, 128), []byte("DICM")...), bytes.Repeat([]byte{0xff}, 64)...),
		// An OB element announcing 4 GB that are not there: refused before
		// the parser allocates them.
		"huge length": append(bytes.Clone(good), 0x09, 0x00, 0x10, 0x10, 'O', 'B', 0, 0, 0xf0, 0xff, 0xff, 0xff),
		"huge sequence item": append(bytes.Clone(good), 0x09, 0x00, 0x10, 0x10, 'S', 'Q', 0, 0, 0xff, 0xff, 0xff, 0xff,
			0xfe, 0xff, 0x00, 0xe0, 0xf0, 0xff, 0xff, 0x7f),
	}
	for name, b := range tests {
		rep, err := ParseDICOM(bytes.NewReader(b), int64(len(b)), DICOMOptions{Authority: "A"})
		if err == nil || vigie.ErrorCode(err) != vigie.EINVALID {
			t.Errorf("%s: got %v, %v; want an EINVALID refusal", name, rep, err)
		}
	}
	// A reader shorter than the announced size is a truncated file.
	if _, err := ParseDICOM(bytes.NewReader(good[:200]), int64(len(good)), DICOMOptions{}); vigie.ErrorCode(err) != vigie.EINVALID {
		t.Errorf("short read: %v, want EINVALID", err)
	}
	if _, err := ParseDICOM(bytes.NewReader(good), int64(len(good)), DICOMOptions{Authority: "A"}); err != nil {
		t.Fatalf("the intact fixture is refused: %v", err)
	}
}

// FuzzParseDICOM checks that no input makes the extractor panic, that what
// it accepts is complete enough to store, and that storing it leaves either
// a whole entry or nothing.
func FuzzParseDICOM(f *testing.F) {
	f.Add(dxFixture(f, el(f, tag.PatientID, []string{"P1"})))
	f.Add(srSeed(f))
	f.Add(dxFixture(f, el(f, tag.PatientID, []string{"P2"}), el(f, tag.OtherPatientIDsSequence, [][]*dicom.Element{{
		el(f, tag.PatientID, []string{"161047512345678"}), el(f, tag.IssuerOfPatientID, []string{"1.2.250.1.213.1.4.8"})}})))
	f.Add(append(make([]byte, 128), []byte("DICM")...))
	f.Add([]byte{})
	led, db := openLedger(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := ParseDICOM(bytes.NewReader(b), int64(len(b)), DICOMOptions{Authority: "A"})
		if err != nil {
			if vigie.ErrorCode(err) != vigie.EINVALID {
				t.Fatalf("refusal %v is not EINVALID", err)
			}
			return
		}
		if err := rep.Exam.Validate(); err != nil {
			t.Fatalf("accepted an exam the ledger would refuse: %v", err)
		}
		before := countKeys(t, db, "l/x/")
		out, err := DICOMReport(context.Background(), "fuzz", rep, &fakeIndex{}, led)
		if err != nil {
			t.Fatalf("store an accepted report: %v", err)
		}
		after := countKeys(t, db, "l/x/")
		if (out.Ledger.Result == ledger.Duplicate) != (after == before) {
			t.Fatalf("%s but the ledger went from %d to %d exams", out.Ledger.Result, before, after)
		}
		if r := out.Ledger.Result; r != ledger.Duplicate {
			e, err := led.Get(context.Background(), rep.Exam.SOPInstanceUID)
			want := rep.Exam.Key
			if r == ledger.Conflict {
				want = out.Ledger.First // the first report of the SOP instance stays
			}
			if err != nil || e.Exam.Key != want {
				t.Fatalf("stored entry unreadable: %v", err)
			}
		}
	})
}

func countKeys(t testing.TB, db *store.DB, prefix string) int {
	n := 0
	err := db.View(func(txn *store.Txn) error {
		it := txn.NewIterator(store.IteratorOptions{Prefix: []byte(prefix)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestParseDICOMNames: names in the shared files' character sets (Latin-2,
// Arabic, Vietnamese in UTF-8) come out as UTF-8 and split into birth name
// and first names.
func TestParseDICOMNames(t *testing.T) {
	root := filepath.Join(sharedtest.Path(t, "dicom"), "openrem")
	tests := []struct{ file, birth, first string }{
		{"CT-RDSR-Toshiba_DoseCheck.dcm", "Križ", "Gilead"},
		{"RF-RDSR-Siemens-Zee.dcm", "آدم كوري", ""},
		{"MG-Im-GE-SenDS-scaled.dcm", "Mamografía", "Bịnhnhân"},
		{"CT-RDSR-Siemens-Multi-1.dcm", "OpenREM", "MultiRDSR"},
	}
	for _, tt := range tests {
		rep, err := ParseDICOMFile(filepath.Join(root, tt.file), DICOMOptions{Authority: "1.2.3"})
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if rep.Patient.BirthName != tt.birth || rep.Patient.FirstNames != tt.first {
			t.Errorf("%s: %q / %q, want %q / %q", tt.file, rep.Patient.BirthName, rep.Patient.FirstNames, tt.birth, tt.first)
		}
	}
	// A Latin-1 (ISO_IR 100) name, in an image Vigie otherwise refuses.
	data, err := os.ReadFile(filepath.Join(root, "..", "pydicom", "chrFren.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	ds, err := readDataset(data, false, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if got := ds.str(tPatientName); got != "Buc^Jérôme" {
		t.Errorf("Latin-1 name read as %q", got)
	}
}

// TestParseDICOMDropsInvalidTraits: an anonymised birth date or an INS with
// a wrong key is dropped with a warning, and the exam is kept.
func TestParseDICOMDropsInvalidTraits(t *testing.T) {
	rep, err := ParseDICOMFile(filepath.Join(sharedtest.Path(t, "dicom"), "openrem", "NM-RRDSR-Siemens.dcm"), DICOMOptions{Authority: "1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Patient.BirthDate != "" || rep.Patient.Sex != "M" || len(rep.Warnings) == 0 || !strings.Contains(rep.Warnings[0], "birth_date") {
		t.Errorf("birth date 9999-01-01: %+v, warnings %v", rep.Patient, rep.Warnings)
	}
	for _, w := range rep.Warnings {
		if strings.Contains(w, "9999") {
			t.Errorf("a warning carries the refused value: %q", w)
		}
	}
	b := dxFixture(t, el(t, tag.PatientID, []string{"P3"}), el(t, tag.OtherPatientIDsSequence, [][]*dicom.Element{{
		el(t, tag.PatientID, []string{"161047512345678"}), el(t, tag.IssuerOfPatientID, []string{"1.2.250.1.213.1.4.8"})}}))
	rep, err = ParseDICOM(bytes.NewReader(b), int64(len(b)), DICOMOptions{Authority: "1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	// An INS with a wrong key is kept verbatim (the index sets it aside as
	// invalid) and warned about, by field, never by value.
	if rep.Patient.INS != "161047512345678" || len(rep.OtherIDs) != 1 {
		t.Errorf("INS with a wrong key not kept verbatim: %+v", rep.Patient)
	}
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "ins kept but not used") || strings.Contains(rep.Warnings[0], "161047") {
		t.Errorf("INS with a wrong key: warnings %q", rep.Warnings)
	}
}
