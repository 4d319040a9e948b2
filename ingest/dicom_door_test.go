package ingest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/suyashkumar/dicom/pkg/tag"
)

// TestParseDICOMDoor: a DICOM file's patient traits pass the patient
// index's door (matcher.Admit) at parse time: a name the index would
// refuse (control characters, a bidi override, over its limit) is dropped
// with a warning that does not carry it, so that the exam still reaches
// the ledger; a zero-width space is removed; an unreadable birth date is
// kept with a warning.
func TestParseDICOMDoor(t *testing.T) {
	for _, tc := range []struct {
		name, pn, birth string
		wantName        string
		wantDate        string
		warning         string
	}{
		{"control", "DUPONT\x1b[2J^JEAN", "19700102", "", "1970-01-02", "birth_name dropped"},
		{"bidi", "\u202eTNOPUD^JEAN", "19700102", "", "1970-01-02", "birth_name dropped"},
		{"oversized", strings.Repeat("A", 10<<10) + "^JEAN", "19700102", "", "1970-01-02", "birth_name dropped"},
		{"zero-width", "DU\u200bPONT^JEAN", "19700102", "DUPONT", "1970-01-02", ""},
		{"unreadable date", "DUPONT^JEAN", "19700231", "DUPONT", "1970-02-31", "birth_date unreadable"},
		{"future date", "DUPONT^JEAN", "20900101", "DUPONT", "", "birth_date dropped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := dxFixture(t, el(t, tag.PatientID, []string{"P1"}), el(t, tag.PatientName, []string{tc.pn}),
				el(t, tag.PatientBirthDate, []string{tc.birth}))
			rep, err := ParseDICOM(bytes.NewReader(b), int64(len(b)), DICOMOptions{Authority: "1.2.3"})
			if err != nil {
				t.Fatal(err)
			}
			p := rep.Patient
			if p.BirthName != tc.wantName || p.BirthDate != tc.wantDate {
				t.Errorf("patient %q born %q, want %q born %q", p.BirthName, p.BirthDate, tc.wantName, tc.wantDate)
			}
			w := strings.Join(rep.Warnings, "; ")
			if (tc.warning == "") != (w == "") || !strings.Contains(w, tc.warning) || len(w) > 200 {
				t.Errorf("warnings %q, want %q", w, tc.warning)
			}
		})
	}
}
