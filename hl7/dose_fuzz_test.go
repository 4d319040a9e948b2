package hl7

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"vigie"
	"vigie/dosimetry"
)

// FuzzBuildDoseReport: whatever the free texts of an exam (procedure,
// device, accession: what a modality writes), the report parses back, has
// one PID, one OBR and its observations, and its text block reads back,
// line by line, as the summary's text: no delimiter in a text breaks the
// message's structure.
func FuzzBuildDoseReport(f *testing.F) {
	f.Add("Thorax^TAP (Adult)", "GE|LightSpeed", "ACC~1", "IPP&1")
	f.Add("Crâne \\sans\\ injection", "Siemens\rForce", "", "12")
	f.Add("", "", "A^B&C", "x")
	f.Fuzz(func(t *testing.T, procedure, device, accession, local string) {
		for _, s := range []string{procedure, device, accession, local} {
			if !utf8.ValidString(s) || strings.ContainsAny(s, "\r\n\x00") {
				t.Skip("a stored exam's texts are single lines of valid UTF-8")
			}
		}
		if strings.TrimSpace(local) == "" {
			t.Skip("a source record has a local id")
		}
		sum := &dosimetry.Summary{Key: vigie.SourceKey{Authority: "1.2.250.1.999.101", LocalID: local}, StudyUID: "1.2.3", Accession: accession,
			Date: "2026-01-02", Time: "03:04:05", Procedure: procedure, Device: device, SOPs: []string{"1.2.3.4"},
			Figures: []dosimetry.Figure{{Code: dosimetry.CodeDLPTotal, Name: "CT Dose Length Product Total", Label: "PDL total", Value: 12.5, Unit: "mGy.cm"}},
			// Second-level estimates whose texts come from files a
			// physicist writes (organ, method) or from the exam (reason).
			Estimates: []dosimetry.DoseEstimate{
				{Kind: dosimetry.EstimateSSDE, Code: dosimetry.CodeSSDE, Scheme: "DCM", Name: "Size Specific Dose Estimation", Label: "SSDE", Unit: "mGy", NotEstimated: procedure},
				{Kind: dosimetry.EstimateOrgan, Code: dosimetry.CodeOrganDose, Scheme: "DCM", Name: "Organ Dose", Label: "dose", Unit: "mGy",
					Value: 3.5, Site: device, Method: accession},
				{Kind: dosimetry.EstimateSkin, Code: dosimetry.CodePeakSkinDose, Scheme: dosimetry.SchemeVigie, Name: "Estimated peak skin dose",
					Label: "peau", Unit: "mGy", Range: true, Low: 1, Value: 2, Method: procedure}}}
		raw := BuildDoseReport(DoseReport{Summary: sum}, Subscriber{Name: "RIS", RegionalOID: "1.2.250.1.999.1.99"}, "VD1", time.Unix(0, 0))
		m, err := Parse(raw)
		if err != nil {
			t.Fatalf("the report does not parse: %v\n%q", err, raw)
		}
		if len(m.All("PID")) != 1 || len(m.All("OBR")) != 1 {
			t.Fatalf("segments: %q", raw)
		}
		if pid, _ := m.Segment("PID"); pid.Get(3, 1) != strings.TrimSpace(local) {
			t.Errorf("PID-3.1 %q, want %q", pid.Get(3, 1), local)
		}
		if nte := m.All("NTE"); len(nte) != 1 || strings.TrimSpace(nte[0].Get(3, 0)) != strings.TrimSpace("non estimée : "+procedure) {
			t.Errorf("NTE %v, want the reason %q", nte, procedure)
		}
		obx := m.All("OBX")
		for _, x := range obx {
			if x.Get(3, 1) == "363698007" && x.Get(5, 2) != strings.TrimSpace(device) {
				t.Errorf("finding site %q, want %q", x.Get(5, 2), device)
			}
			if x.Get(3, 1) == dosimetry.CodePeakSkinDose && (x.Get(5, 2) != "1" || x.Get(5, 4) != "2" || x.Get(11, 0) != "F") {
				t.Errorf("skin range %q", x.Field(5))
			}
		}
		tx := obx[len(obx)-1]
		if tx.Get(2, 0) != "TX" {
			t.Fatalf("last OBX is %q, not the text block", tx.Get(2, 0))
		}
		want := sum.Text()
		reps := tx.Repetitions(5)
		if len(reps) != len(want) {
			t.Fatalf("text block of %d lines, want %d: %q", len(reps), len(want), tx.Field(5))
		}
		for i, r := range reps {
			if got := strings.TrimSpace(m.Delims.Unescape(r.raw)); got != strings.TrimSpace(want[i]) {
				t.Errorf("line %d: %q, want %q", i+1, got, want[i])
			}
		}
	})
}
