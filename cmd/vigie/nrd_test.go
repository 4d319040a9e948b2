package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNRDSiteFile: a site's file given to --nrd completes the shipped
// table; the evaluation uses its figure and names the file as its source,
// and nrd table shows both the shipped and the site's figures.
func TestNRDSiteFile(t *testing.T) {
	dir := doseStore(t, 30) // thorax PA medians around 115 mGy.cm²
	site := filepath.Join(t.TempDir(), "site.json")
	if err := os.WriteFile(site, []byte(`{"entries":[{"exam_type":"rx_thorax_pa","population":"adult","indicator":"pds","unit":"mGy.cm2","nrd":100,"vgd":null,"source":"niveau local 2025"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := vigieRun(t, "nrd", "evaluate", "--data", dir, "--site", "CHU", "--nrd", site, "--patient-index=false")
	if code != 0 || !strings.Contains(out, "MEDIAN ABOVE THE NRD") || !strings.Contains(out, "fichier du site site.json (niveau local 2025)") {
		t.Errorf("nrd evaluate --nrd: %d\n%s%s", code, out, errs)
	}
	code, out, errs = vigieRun(t, "nrd", "table", "--nrd", site)
	if code != 0 || !strings.Contains(out, "fichier du site site.json") || !strings.Contains(out, "rx_thorax_lat") ||
		!strings.Contains(out, "no NRD for this exam type: non livré") {
		t.Errorf("nrd table --nrd: %d\n%s%s", code, out, errs)
	}
	// Without the file, the shipped figure (200) applies and is cited.
	code, out, _ = vigieRun(t, "nrd", "evaluate", "--data", dir, "--site", "CHU", "--patient-index=false")
	if code != 0 || strings.Contains(out, "ABOVE") || !strings.Contains(out, "Décision ASN n° 2019-DC-0667, annexe 2, tableau 2.1") {
		t.Errorf("nrd evaluate: %d\n%s", code, out)
	}
}
