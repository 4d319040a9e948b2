package dosimetry_test

import (
	"path/filepath"
	"testing"

	"vigie/dosimetry"
	"vigie/ingest"
	"vigie/internal/sharedtest"
	"vigie/ledger"
)

// BenchmarkSummarize prints the cost per exam of the dose summary the
// reports sent back carry (dosimetry.Summarize: the figures, the
// effective-dose estimate and, since the second-level estimates joined it,
// the SSDE, the peak skin dose and the NM organ dose), on real vendor
// reports: a CT dose SR (9 acquisitions, a water-equivalent diameter of 28
// cm given to one), an interventional procedure (24 events) and an FDG
// dose SR.
func BenchmarkSummarize(b *testing.B) {
	entry := func(rel string) []ledger.Entry {
		rep, err := ingest.ParseDICOMFile(filepath.Join(sharedtest.Path(b, "dicom"), rel), ingest.DICOMOptions{})
		if err != nil {
			b.Fatal(err)
		}
		t := rep.Exam.Totals()
		return []ledger.Entry{{Exam: rep.Exam, Reported: t, Counted: t, NewEvents: 1}}
	}
	ct := entry("openrem/CT-RDSR-Siemens_Flash-QA-DS.dcm")
	ct[0].Exam.CT.Events[1].WED = &ledger.Quantity{Value: 280, Unit: "mm"}
	coef, tab := dosimetry.DefaultCoefficients(), dosimetry.DefaultTable()
	for _, c := range []struct {
		name string
		es   []ledger.Entry
	}{
		{"ct-dose-sr", ct},
		{"interventional-24-events", entry("pyskindose/siemens_axiom_example_procedure.dcm")},
		{"fdg-dose-sr", entry("openrem/NM-RRDSR-Siemens.dcm")},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, ok := dosimetry.Summarize(c.es, coef, tab); !ok {
					b.Fatal("no summary")
				}
			}
		})
	}
}
