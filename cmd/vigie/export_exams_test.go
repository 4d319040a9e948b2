package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vigie"
	"vigie/ingest"
	"vigie/internal/sharedtest"
	"vigie/ledger"
	"vigie/store"
)

type keyIdentity struct{}

func (keyIdentity) Resolve(_ context.Context, r vigie.Record) (string, error) {
	return "V-" + r.LocalID, nil
}

func TestExportExams(t *testing.T) {
	root := filepath.Join(sharedtest.Path(t, "dicom"), "openrem")
	dir := t.TempDir()
	db, err := store.Open(dir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	led := ledger.Open(db)
	files := []string{"CT-RDSR-Siemens-Multi-1.dcm", "RF-RDSR-Canon-Ultimaxi-mGyDoseAtRP.dcm", "MG-RDSR-Hologic_2D.dcm",
		"NM-RRDSR-Siemens.dcm", "DX-Im-GE_XR220-1.dcm", "NM-NmIm-Siemens.dcm"}
	for _, f := range files {
		if _, err := ingest.DICOM(context.Background(), filepath.Join(root, f), keyIdentity{}, led, ingest.DICOMOptions{Authority: "1.2.3"}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	var out, errb bytes.Buffer
	if code := run([]string{"export", "exams", "--data", dir}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != strings.Join(examColumns, ",") || len(rows) != len(files)+1 {
		t.Fatalf("header %v and %d rows, want %v and %d", rows[0], len(rows)-1, examColumns, len(files))
	}
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	byLocal := map[string][]string{}
	for _, r := range rows[1:] {
		byLocal[r[col["local_id"]]] = r
	}
	checks := []struct{ local, column, want string }{
		{"4018119567876617", "ct_dlp_total_mGycm", "7.46"},
		{"4018119567876617", "dap_total_cGycm2", ""},
		{"7950587144020503", "dap_total_cGycm2", "1265.96"},
		{"7950587144020503", "rp_dose_total_mGy", "30.573"},
		{"7950587144020503", "fluoro_time_s", "111"},
		{"00112233", "agd_left_mGy", "1.3"},
		{"00112233", "agd_right_mGy", "1.28"},
		{"REMOVED1", "nm_activity_MBq", "394"},
		{"REMOVED1", "radiopharmaceutical", "Fluorodeoxyglucose F^18^"},
		// 63-year-old, 394 MBq of FDG: 394 × 0.019 = 7.486 mSv, bladder 394 × 0.16 = 63.04 mGy
		{"REMOVED1", "nm_effective_dose_mSv", "7.486"},
		{"REMOVED1", "nm_coefficient_mSv_per_MBq", "0.019"},
		{"REMOVED1", "nm_reference_age", "adulte"},
		{"REMOVED1", "nm_organ", "vessie"},
		{"REMOVED1", "nm_organ_dose_mGy", "63.04"},
		{"REMOVED1", "nm_not_estimated", ""},
		{"4018119567876617", "nm_effective_dose_mSv", ""},
		// a Tc-99m DPD bone scan (image header): no published coefficient shipped
		{"REMOVED", "nm_activity_MBq", "764"},
		{"REMOVED", "nm_effective_dose_mSv", ""},
		{"REMOVED", "nm_not_estimated", "DPD / Tc 99m : non estimée : pas de coefficient publié vérifié pour ce radiopharmaceutique"},
		{"00098765", "source", "header"},
		{"00098765", "dap_total_cGycm2", "4.1"},
		{"00112233", "authority", "1.2.3"},
	}
	for _, c := range checks {
		r, ok := byLocal[c.local]
		if !ok {
			t.Errorf("no row for %s", c.local)
			continue
		}
		if got := r[col[c.column]]; got != c.want {
			t.Errorf("%s %s = %q, want %q", c.local, c.column, got, c.want)
		}
	}
	if src := byLocal["REMOVED1"][col["nm_coefficient_source"]]; !strings.Contains(src, "18F-FDG Radiation Dosimetry") || !strings.Contains(src, "ligne Adult") {
		t.Errorf("nm_coefficient_source %q names no source and table", src)
	}
	if code := run([]string{"export", "exams"}, &out, &errb); code != 2 {
		t.Errorf("no --data exits %d, want 2", code)
	}

	// A physicist's NM table (--nm-coefficients): FDG with the ICRP 103
	// weighting, 0.0171 mSv/MBq (Andersson et al. 2014, table 1 and its
	// erratum), no organ: 394 × 0.0171 = 6.7374 mSv.
	table := filepath.Join(t.TempDir(), "nm.tsv")
	rows103 := "#source A14\tAndersson M. et al., EJNMMI Physics 1:9 (2014), tableau 1 et son erratum\n" +
		strings.Join(nmTableColumns, "\t") + "\n" +
		"fdg\tFDG\tF 18\tSCT:35321007 SRT:C-B1031\tfdg|fluorodeoxyglucose\tadulte\t18\t\t0.0171\t\t\tA14\ttableau 1, FDG, CIPR 103\t\n"
	if err := os.WriteFile(table, []byte(rows103), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run([]string{"export", "exams", "--data", dir, "--nm-coefficients", table}, &out, &errb); code != 0 {
		t.Fatalf("with --nm-coefficients: exit %d: %s", code, errb.String())
	}
	rows, err = csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows[1:] {
		if r[col["local_id"]] != "REMOVED1" {
			continue
		}
		if r[col["nm_effective_dose_mSv"]] != "6.7374" || r[col["nm_coefficient_mSv_per_MBq"]] != "0.0171" || r[col["nm_organ"]] != "" ||
			!strings.Contains(r[col["nm_coefficient_source"]], "Andersson") {
			t.Errorf("with the physicist's table: %v", r)
		}
	}
	// A bad table is refused before anything is read, naming the file
	// and the line.
	bad := strings.Replace(rows103, "0.0171", "0,0171", 1)
	if err := os.WriteFile(table, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if code := run([]string{"export", "exams", "--data", dir, "--nm-coefficients", table}, &out, &errb); code == 0 ||
		!strings.Contains(errb.String(), table) || !strings.Contains(errb.String(), "line 3") || !strings.Contains(errb.String(), "0,0171") {
		t.Errorf("a bad table: exit %d, %q", code, errb.String())
	}
}

// nmTableColumns are the header of an NM coefficients table
// (dosimetry.LoadNMCoefficients).
var nmTableColumns = []string{"id", "radiopharmaceutical", "radionuclide", "codes", "names", "reference",
	"from_years", "below_years", "effective_mSv_per_MBq", "organ", "organ_mGy_per_MBq", "source", "table", "note"}
