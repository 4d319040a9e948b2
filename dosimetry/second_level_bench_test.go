//go:build unix

package dosimetry_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"vigie"
	"vigie/dosimetry"
	"vigie/ingest"
	"vigie/internal/cputime"
	"vigie/internal/sharedtest"
	"vigie/ledger"
	"vigie/store"
)

// parsed returns a shared file as the ledger would store it.
func parsed(b *testing.B, rel string) *ledger.Entry {
	b.Helper()
	rep, err := ingest.ParseDICOMFile(filepath.Join(sharedtest.Path(b, "dicom"), rel), ingest.DICOMOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return &ledger.Entry{Exam: rep.Exam}
}

// BenchmarkSecondLevelEstimates prints the cost per exam of each estimate
// on real vendor reports: SSDE of every acquisition of a CT exam, the
// foetal dose of a CT exam, the nuclear-medicine estimate of an FDG dose
// SR and of a PET image header (matched by its free text), the skin-dose
// map of an interventional procedure (24 events) and its PNG.
func BenchmarkSecondLevelEstimates(b *testing.B) {
	ct := parsed(b, "openrem/CT-RDSR-Siemens_Flash-QA-DS.dcm")
	ct.Exam.CT.Events[1].WED = &ledger.Quantity{Value: 280, Unit: "mm"}
	xa := parsed(b, "pyskindose/siemens_axiom_example_procedure.dcm")
	nmSR, nmHeader := parsed(b, "openrem/NM-RRDSR-Siemens.dcm"), parsed(b, "openrem/NM-PetIm-GE.dcm")
	nmSR.NewEvents, nmHeader.NewEvents = 1, 1
	nm, coef := dosimetry.DefaultNMCoefficients(), dosimetry.DefaultCoefficients()
	ssde, foetal, skin := dosimetry.DefaultSSDE(), dosimetry.DefaultFoetal(), dosimetry.DefaultSkinModel()
	regions := dosimetry.DefaultCoefficients().TargetRegions
	for _, c := range []struct {
		name string
		fn   func()
	}{
		{"ssde/ct-exam", func() { ssde.Exam(&ct.Exam) }},
		{"foetal/ct-exam", func() { foetal.Estimate(&ct.Exam, regions, "") }},
		{"nm/fdg-dose-sr", func() { nm.Exam(nmSR) }},
		{"nm/pet-header-text", func() { nm.Exam(nmHeader) }},
		{"nm/effective-dose-estimate", func() { coef.Estimate(nmSR, nil) }},
		{"skin/24-events", func() { skin.Estimate([]*ledger.Entry{xa}) }},
		{"skin-png/24-events", func() {
			s := skin.Estimate([]*ledger.Entry{xa})
			if err := s.PNG(discard{}, 3000, 4); err != nil {
				b.Fatal(err)
			}
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			start := time.Now()
			for b.Loop() {
				c.fn()
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/exam")
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkIngestWithAlerts ingests every accepted shared file (parse,
// durable ledger write, the alert watch evaluating each study on arrival
// as `vigie ingest` does, waiting for it) with the second-level rules off,
// on (the skin-dose map of every projection study; the foetal dose of no
// exam, no shared file saying pregnant), and on with every patient
// declared pregnant (the worst case: every exam estimated, and a foetal
// alert written for each CT above the level): the differences are their
// cost at ingest. "nm=none" runs the rules without nuclear-medicine
// coefficients: its difference with "on" is the NM estimate's cost in the
// cumulative rule.
func BenchmarkIngestWithAlerts(b *testing.B) {
	root := sharedtest.Path(b, "dicom")
	var files []string
	for _, dir := range []string{"openrem", "pyskindose", "dcm4che", "pydicom", "highdicom", "fo-dicom", "suyashkumar"} {
		ents, _ := os.ReadDir(filepath.Join(root, dir))
		for _, e := range ents {
			files = append(files, filepath.Join(root, dir, e.Name()))
		}
	}
	types, nrd, coef := dosimetry.DefaultTable(), dosimetry.DefaultNRD(), dosimetry.DefaultCoefficients()
	// Without NM coefficients (an empty table), the cumulative rule skips
	// nuclear medicine as it did before the NM estimate.
	noNM := *coef
	noNM.NM = &dosimetry.NMCoefficients{Sources: map[string]string{}}
	for _, v := range []struct {
		name            string
		on, allPregnant bool
		coef            *dosimetry.Coefficients
	}{{"second-level=off", false, false, coef}, {"second-level=on,nm=none", true, false, &noNM}, {"second-level=on", true, false, coef},
		{"second-level=on,all-pregnant", true, true, coef}} {
		name, on, coef := v.name, v.on, v.coef
		cfg := dosimetry.DefaultAlertConfig()
		if !on {
			cfg.FoetalDosemGy, cfg.SkinDosemGy = 0, 0
		}
		b.Run(name, func(b *testing.B) {
			var busy, cpu time.Duration
			stored := 0
			for b.Loop() {
				b.StopTimer()
				db, err := store.Open(b.TempDir(), store.Options{})
				if err != nil {
					b.Fatal(err)
				}
				led, st := ledger.Open(db), dosimetry.OpenAlerts(db)
				w := &dosimetry.AlertWatch{Ledger: led, Store: st, Scanner: func(context.Context) *dosimetry.Scanner {
					s := &dosimetry.Scanner{Types: types, NRD: nrd, Coef: coef, Config: cfg, History: led}
					if v.allPregnant {
						s.Pregnant = func(vigie.SourceKey, string) (bool, error) { return true, nil }
					}
					return s
				}}
				led.OnStored(w.Stored)
				ctx, cancel := context.WithCancel(context.Background())
				go w.Run(ctx)
				b.StartTimer()
				start, c0 := time.Now(), cputime.Process()
				err = ingest.DICOMFiles(ctx, files, runtime.GOMAXPROCS(0), localIdentity{}, led, ingest.DICOMOptions{Authority: "1.2.3"},
					func(o ingest.DICOMOutcome, err error) error {
						if err == nil && o.Ledger.Result == ledger.Stored {
							stored++
						}
						return nil
					})
				w.Wait()
				busy += time.Since(start)
				cpu += cputime.Process() - c0
				b.StopTimer()
				cancel()
				db.Close()
				b.StartTimer()
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(busy.Seconds()*1000/float64(b.N*len(files)), "ms/file")
			b.ReportMetric(cpu.Seconds()*1000/float64(b.N*len(files)), "cpu-ms/file")
			b.ReportMetric(float64(stored)/float64(b.N), "stored/round")
		})
	}
}
