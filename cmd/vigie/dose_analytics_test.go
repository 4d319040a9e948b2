package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vigie"
	"vigie/dosimetry"
	"vigie/ledger"
	"vigie/matcher"
	"vigie/mpi"
	"vigie/store"
)

// doseStore writes a store with n adult thorax PA radiographs of one site
// and one fluoroscopy at 5.2 Gy, and returns its folder.
func doseStore(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(dir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	led := ledger.Open(db)
	put := func(x ledger.Exam) {
		if _, err := led.Put(context.Background(), &x); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		dap := float64(100+i) / 1e7
		w := ledger.Quantity{Value: 70, Unit: "kg"}
		put(ledger.Exam{SOPInstanceUID: fmt.Sprintf("1.2.%d", i), StudyUID: fmt.Sprintf("9.%d", i), Date: "2025-03-01", Modality: "DX",
			Procedure: "THORAX PA", Domain: ledger.DomainProjection, Source: ledger.SourceHeader,
			Key:        vigie.SourceKey{Authority: "CHU", LocalID: fmt.Sprintf("P%d", i)},
			Device:     ledger.Device{Manufacturer: "ACME", Model: "DR1"},
			Patient:    ledger.PatientSize{Age: "050Y", Weight: &w},
			Projection: &ledger.ProjectionDose{DAPTotal: &ledger.Quantity{Value: dap, Unit: "Gy.m2"}}})
	}
	put(ledger.Exam{SOPInstanceUID: "7.7", Date: "2025-03-02", Modality: "XA", Procedure: "Embolisation",
		Domain: ledger.DomainProjection, Source: ledger.SourceRDSR, Key: vigie.SourceKey{Authority: "CHU", LocalID: "X"},
		Projection: &ledger.ProjectionDose{RPTotal: &ledger.Quantity{Value: 5200, Unit: "mGy"}}})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func vigieRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestNRDVerbs(t *testing.T) {
	dir := doseStore(t, 30)
	code, out, errs := vigieRun(t, "nrd", "evaluate", "--data", dir, "--site", "CHU")
	if code != 0 || !strings.Contains(out, "30 patients | VALID") || !strings.Contains(out, "pds") {
		t.Fatalf("nrd evaluate: %d\n%s%s", code, out, errs)
	}
	csvPath := filepath.Join(t.TempDir(), "irsn.csv")
	code, _, errs = vigieRun(t, "nrd", "export", "--data", dir, "--site", "CHU", "--exam-type", "rx_thorax_pa",
		"--from", "2025-01-01", "--to", "2025-12-31", "--patient-index=false", "--out", csvPath)
	if code != 0 {
		t.Fatalf("nrd export: %d %s", code, errs)
	}
	b, err := os.ReadFile(csvPath)
	if err != nil || !strings.HasPrefix(string(b), "numero,date_examen,sexe,age_ans,poids_kg,taille_cm,pds_mGy.cm2\n1,2025-03-01,,50,70,,100\n") {
		t.Errorf("export file %q, %v", b, err)
	}
	// A survey of 29 patients is refused and writes no file.
	small := doseStore(t, 29)
	refused := filepath.Join(t.TempDir(), "refused.csv")
	code, _, errs = vigieRun(t, "nrd", "export", "--data", small, "--site", "CHU", "--exam-type", "rx_thorax_pa",
		"--from", "2025-01-01", "--to", "2025-12-31", "--patient-index=false", "--out", refused)
	if code != 2 || !strings.Contains(errs, "29 adultes retenus") {
		t.Errorf("export of 29 patients: exit %d, %s", code, errs)
	}
	if _, err := os.Stat(refused); !os.IsNotExist(err) {
		t.Errorf("a refused export left a file: %v", err)
	}
	if code, _, errs = vigieRun(t, "nrd", "export", "--data", dir); code != 2 {
		t.Errorf("export without a survey named: exit %d %s", code, errs)
	}
}

func TestExamTypesVerb(t *testing.T) {
	path := filepath.Join(t.TempDir(), "table.json")
	if code, _, errs := vigieRun(t, "exam-types", "--write", path); code != 0 {
		t.Fatalf("write: %d %s", code, errs)
	}
	if code, _, _ := vigieRun(t, "exam-types", "--write", path); code != 2 {
		t.Error("--write overwrote an existing file without --force")
	}
	code, out, errs := vigieRun(t, "exam-types", "--table", path, "--rules")
	if code != 0 || !strings.Contains(out, "ct_tap") || !strings.Contains(out, "regex /") {
		t.Fatalf("show: %d\n%s%s", code, out, errs)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	b, _ := os.ReadFile(path)
	os.WriteFile(bad, bytes.Replace(b, []byte(`"exam_type": "ct_tap"`), []byte(`"exam_type": "ct_tapp"`), 1), 0o644)
	if code, _, errs := vigieRun(t, "exam-types", "--table", bad); code != 2 || !strings.Contains(errs, `"ct_tapp" is not a declared exam type`) {
		t.Errorf("a bad table: exit %d, %s", code, errs)
	}
	dir := doseStore(t, 3)
	if code, out, errs := vigieRun(t, "exam-types", "--data", dir); code != 0 || !strings.Contains(out, "3  rx_thorax_pa") {
		t.Errorf("classify: %d\n%s%s", code, out, errs)
	}
}

func TestAlertsVerbs(t *testing.T) {
	dir := doseStore(t, 2)
	for range 2 {
		code, out, errs := vigieRun(t, "alerts", "scan", "--data", dir, "--identities=false")
		if code != 0 {
			t.Fatalf("scan: %d %s", code, errs)
		}
		_ = out
	}
	code, out, errs := vigieRun(t, "alerts", "list", "--data", dir, "--open")
	if code != 0 || strings.Count(out, "air_kerma") != 2 {
		t.Fatalf("list after two scans (want the two kerma levels once): %d\n%s%s", code, out, errs)
	}
	id := strings.Fields(strings.Split(out, "\n")[1])[0]
	if code, _, errs := vigieRun(t, "alerts", "ack", "--data", dir, "--id", id, "--actor", "physicien"); code != 2 {
		t.Errorf("ack without comment: %d %s", code, errs)
	}
	if code, _, errs := vigieRun(t, "alerts", "ack", "--data", dir, "--id", id, "--actor", "physicien", "--comment", "consultation prévue"); code != 0 {
		t.Fatalf("ack: %d %s", code, errs)
	}
	if _, out, _ := vigieRun(t, "alerts", "list", "--data", dir, "--open"); strings.Count(out, "air_kerma") != 1 {
		t.Errorf("open alerts after one ack:\n%s", out)
	}
	if _, out, _ := vigieRun(t, "alerts", "list", "--data", dir); strings.Count(out, "air_kerma") != 2 {
		t.Errorf("an acknowledged alert disappeared:\n%s", out)
	}
	if _, out, _ := vigieRun(t, "alerts", "list", "--data", dir, "--record", "CHU/X"); strings.Count(out, "air_kerma") != 2 {
		t.Errorf("alerts of CHU/X:\n%s", out)
	}
	if _, out, _ := vigieRun(t, "alerts", "list", "--data", dir, "--record", "CHU/P0"); strings.Count(out, "air_kerma") != 0 {
		t.Errorf("alerts of CHU/P0:\n%s", out)
	}
	if code, _, _ := vigieRun(t, "alerts", "list", "--data", dir, "--record", "CHU"); code != 2 {
		t.Errorf("a malformed --record: exit %d", code)
	}
}

func TestAlertsConfigVerb(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alerts.json")
	if code, _, errs := vigieRun(t, "alerts", "config", "--write", path); code != 0 {
		t.Fatalf("write: %d %s", code, errs)
	}
	b, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.Replace(b, []byte(`"repeat_ct_days": 30`), []byte(`"repeat_ct_days": 14`), 1), 0o644)
	code, out, errs := vigieRun(t, "alerts", "config", "--config", path)
	if code != 0 || !strings.Contains(out, `"repeat_ct_days": 14`) || !strings.Contains(out, `"air_kerma_mGy"`) {
		t.Fatalf("show an edited file: %d\n%s%s", code, out, errs)
	}
	os.WriteFile(path, []byte(`{"air_kerma_mGy": [5000, 3000]}`), 0o644)
	if code, _, errs := vigieRun(t, "alerts", "config", "--config", path); code != 2 || !strings.Contains(errs, "air_kerma_mGy[1]") {
		t.Errorf("a bad file: exit %d, %s", code, errs)
	}
	coef := filepath.Join(dir, "coef.json")
	if code, _, errs := vigieRun(t, "alerts", "config", "--write-coefficients", coef); code != 0 {
		t.Fatalf("write coefficients: %d %s", code, errs)
	}
	db := doseStore(t, 1)
	if code, _, errs := vigieRun(t, "alerts", "scan", "--data", db, "--identities=false", "--coefficients", coef); code != 0 {
		t.Errorf("scan with the written coefficients: %d %s", code, errs)
	}
	// The shipped NM table, written out, loads back with --nm-coefficients.
	nm := filepath.Join(dir, "nm.tsv")
	if code, _, errs := vigieRun(t, "alerts", "config", "--write-nm-coefficients", nm); code != 0 {
		t.Fatalf("write NM coefficients: %d %s", code, errs)
	}
	if b, _ := os.ReadFile(nm); !bytes.Equal(b, dosimetry.DefaultNMCoefficientsTSV()) {
		t.Errorf("the written NM table differs from the shipped one")
	}
	if code, _, errs := vigieRun(t, "alerts", "scan", "--data", db, "--identities=false", "--nm-coefficients", nm); code != 0 {
		t.Errorf("scan with the written NM coefficients: %d %s", code, errs)
	}
	if code, _, errs := vigieRun(t, "alerts", "config", "--write-nm-coefficients", nm); code == 0 || !strings.Contains(errs, nm) {
		t.Errorf("writing over an existing table: exit %d %s", code, errs)
	}
}

// TestNRDExportReadsPatientIndex: the export takes sex, and age when the
// DICOM header gives none, from the patient index.
func TestNRDExportReadsPatientIndex(t *testing.T) {
	dir := doseStore(t, 29)
	db, err := store.Open(dir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := mpi.Open(db, matcher.DefaultModel(), mpi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Resolve(context.Background(), vigie.Record{Authority: "CHU", LocalID: "P99", BirthName: "TESTE", FirstName: "ANNE",
		BirthDate: "1975-03-01", Sex: "F"}, mpi.System); err != nil {
		t.Fatal(err)
	}
	ix.Close()
	// P99's exam has no DICOM age: the index's birth date gives 50 years.
	w := ledger.Quantity{Value: 70, Unit: "kg"}
	x := ledger.Exam{SOPInstanceUID: "1.2.99", StudyUID: "9.99", Date: "2025-03-01", Modality: "DX",
		Procedure: "THORAX PA", Domain: ledger.DomainProjection, Source: ledger.SourceHeader,
		Key:        vigie.SourceKey{Authority: "CHU", LocalID: "P99"},
		Device:     ledger.Device{Manufacturer: "ACME", Model: "DR1"},
		Patient:    ledger.PatientSize{Weight: &w},
		Projection: &ledger.ProjectionDose{DAPTotal: &ledger.Quantity{Value: 333e-7, Unit: "Gy.m2"}}}
	if _, err := ledger.Open(db).Put(context.Background(), &x); err != nil {
		t.Fatal(err)
	}
	db.Close()
	args := []string{"nrd", "export", "--data", dir, "--site", "CHU", "--exam-type", "rx_thorax_pa", "--from", "2025-01-01", "--to", "2025-12-31"}
	code, out, errs := vigieRun(t, args...)
	if code != 0 || !strings.Contains(out, ",2025-03-01,F,50,70,,333\n") {
		t.Errorf("export: %d\n%s%s", code, out, errs)
	}
	if strings.Contains(out, "TESTE") || strings.Contains(out, "1975") {
		t.Error("the export carries the patient's name or birth date")
	}
	// Without the index, P99 has no age: 29 patients, refused.
	if code, _, errs := vigieRun(t, append(args, "--patient-index=false")...); code != 2 || !strings.Contains(errs, "29 adultes") {
		t.Errorf("export without the index: %d %s", code, errs)
	}
}
