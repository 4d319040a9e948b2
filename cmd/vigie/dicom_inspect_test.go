package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"vigie/internal/sharedtest"
)

func TestDicomInspect(t *testing.T) {
	root := filepath.Join(sharedtest.Path(t, "dicom"), "openrem")
	var out, errb bytes.Buffer
	f := filepath.Join(root, "CT-RDSR-Siemens-Multi-2.dcm")
	if code := run([]string{"dicom", "inspect", "--json", "--authority", "1.2.250.1.71.4.2.7.1", f}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var got struct {
		Patient struct {
			Authority string `json:"authority"`
			LocalID   string `json:"local_id"`
		} `json:"patient"`
		Exam struct {
			Source string `json:"source"`
			CT     struct {
				Events []struct {
					UID string `json:"uid"`
				} `json:"events"`
			} `json:"ct"`
		} `json:"exam"`
		Totals struct {
			DLP float64 `json:"dlp_mGycm"`
		} `json:"totals"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	if got.Patient.Authority != "1.2.250.1.71.4.2.7.1" || got.Patient.LocalID != "4018119567876617" ||
		got.Exam.Source != "rdsr" || len(got.Exam.CT.Events) != 2 || got.Totals.DLP != 77.27 {
		t.Errorf("inspect --json = %+v", got)
	}

	out.Reset()
	if code := run([]string{"dicom", "inspect", filepath.Join(root, "RF-RDSR-Canon-Ultimaxi-mGyDoseAtRP.dcm")}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"DAP total 1265.96 cGy.cm2", "[126.596 dGy.cm2]", "dose at RP total 30.573 mGy", "irradiation events (18)", "no IssuerOfPatientID"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("inspect text lacks %q:\n%s", want, out.String())
		}
	}

	errb.Reset()
	if code := run([]string{"dicom", "inspect", filepath.Join(root, "ESR_non-dose.dcm")}, &out, &errb); code != 2 {
		t.Errorf("a non-dose SR exits %d, want 2", code)
	}
	if !strings.Contains(errb.String(), "ESR_non-dose.dcm") || !strings.Contains(errb.String(), "not a dose report") {
		t.Errorf("refusal message %q does not name the file and the reason", errb.String())
	}
	if code := run([]string{"dicom", "inspect"}, &out, &errb); code != 2 {
		t.Errorf("no FILE exits %d, want 2", code)
	}
}
