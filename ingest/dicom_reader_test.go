package ingest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"vigie"
	"vigie/internal/sharedtest"
)

// extractWith runs the extraction over Vigie's reader, or over dicom.Parse
// (the library's own reader, the reference), and returns it as JSON.
func extractWith(data []byte, library bool) (string, error) {
	var ds elems
	if library {
		parsed, err := dicom.Parse(bytes.NewReader(data), int64(len(data)), nil, dicom.SkipPixelData())
		if err != nil {
			return "", err
		}
		ds = elems(parsed.Elements)
	} else {
		var err error
		if ds, err = readDataset(data, false, int64(len(data))); err != nil {
			return "", err
		}
	}
	rep, err := extract(ds, DICOMOptions{Authority: "1.2.3"})
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(rep)
	return string(b), err
}

// TestReaderMatchesLibrary: for every shared file, Vigie's reader and the
// DICOM library's give the same extraction, or both refuse.
func TestReaderMatchesLibrary(t *testing.T) {
	root := sharedtest.Path(t, "dicom")
	compared := 0
	for _, f := range listShared(t, root) {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		if len(data) < 132 || string(data[128:132]) != "DICM" {
			continue
		}
		lib, libErr := extractWith(data, true)
		own, ownErr := extractWith(data, false)
		if (libErr == nil) != (ownErr == nil) {
			t.Errorf("%s: library error %v, reader error %v", f, libErr, ownErr)
			continue
		}
		if lib != own {
			t.Errorf("%s: extractions differ\nlibrary: %s\nreader:  %s", f, lib, own)
		}
		compared++
	}
	if compared < 90 {
		t.Errorf("compared %d files, want the whole set", compared)
	}
}

// FuzzReaderMatchesLibrary: whatever Vigie's reader accepts, the library
// reads to the same extraction (the library is only run on inputs the
// reader accepted: on others it may allocate gigabytes).
func FuzzReaderMatchesLibrary(f *testing.F) {
	f.Add(dxFixture(f, el(f, tag.PatientID, []string{"P1"})))
	f.Add(srSeed(f))
	f.Add(dxFixture(f, el(f, tag.PatientID, []string{"P2"}), el(f, tag.OtherPatientIDsSequence, [][]*dicom.Element{{
		el(f, tag.PatientID, []string{"161047512345678"}), el(f, tag.IssuerOfPatientID, []string{"1.2.250.1.213.1.4.8"})}})))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 132 || string(b[128:132]) != "DICM" {
			return
		}
		own, err := extractWith(b, false)
		if err != nil {
			return
		}
		lib, err := func() (s string, err error) {
			defer func() {
				if p := recover(); p != nil {
					err = refuse("file", "library panic: %v", p)
				}
			}()
			return extractWith(b, true)
		}()
		if err == nil && lib != own {
			t.Fatalf("extractions differ\nlibrary: %s\nreader:  %s", lib, own)
		}
	})
}

// TestParseDICOMLargeFilePrefix: a large image is read only up to its pixel
// data, and a report whose attributes do not fit in the prefix is read
// whole; both give what reading the whole file gives.
func TestParseDICOMLargeFilePrefix(t *testing.T) {
	root := filepath.Join(sharedtest.Path(t, "dicom"), "openrem")
	files := []string{"NM-NmIm-Siemens-s1-1.dcm", "NM-PetIm-Siemens.dcm", "RF-RDSR-Philips_Azurion.dcm"}
	whole := map[string]string{}
	for _, f := range files {
		rep, err := ParseDICOMFile(filepath.Join(root, f), DICOMOptions{Authority: "1.2.3"})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(rep)
		whole[f] = string(b)
	}
	old := headPrefix
	headPrefix = 64 << 10
	defer func() { headPrefix = old }()
	for _, f := range files {
		rep, err := ParseDICOMFile(filepath.Join(root, f), DICOMOptions{Authority: "1.2.3"})
		if err != nil {
			t.Fatalf("%s with a 64 KB prefix: %v", f, err)
		}
		if b, _ := json.Marshal(rep); string(b) != whole[f] {
			t.Errorf("%s: prefix read differs from the whole read", f)
		}
	}
	// A truncated large image is refused though its pixel data is not
	// read, and so is a reader giving fewer bytes than announced.
	data, _ := os.ReadFile(filepath.Join(root, files[0]))
	cut := data[:len(data)-100]
	if _, err := ParseDICOM(bytes.NewReader(cut), int64(len(cut)), DICOMOptions{Authority: "1.2.3"}); vigie.ErrorCode(err) != vigie.EINVALID {
		t.Errorf("a truncated large image: %v, want a refusal", err)
	}
	if _, err := ParseDICOM(bytes.NewReader(data[:30<<10]), int64(len(data)), DICOMOptions{Authority: "1.2.3"}); vigie.ErrorCode(err) != vigie.EINVALID {
		t.Errorf("a short read: %v, want a refusal", err)
	}
}
