package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"vigie/ingest"
	"vigie/internal/sharedtest"
	"vigie/ledger"
	"vigie/store"
)

// TestExportExamsCountsColumn: every row says whether it counts in totals
// and why not, on vendor files that make each case: a continued Siemens
// RDSR and its continuations (partial), a corrected copy re-sent under another
// study (conflict), PET images covered by their record's dose SR
// (superseded).
func TestExportExamsCountsColumn(t *testing.T) {
	root := filepath.Join(sharedtest.Path(t, "dicom"), "openrem")
	dir := t.TempDir()
	db, err := store.Open(dir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	led := ledger.Open(db)
	ctx := context.Background()
	for _, f := range []string{"CT-RDSR-Siemens-Multi-1.dcm", "CT-RDSR-Siemens-Multi-2.dcm", "CT-RDSR-Siemens-Multi-3.dcm",
		"RF-RDSR-Siemens-Zee.dcm", "RF-RDSR-Siemens-Zee_adjusted.dcm", "NM-PetIm-Siemens.dcm", "NM-RRDSR-Siemens.dcm"} {
		rep, err := ingest.ParseDICOMFile(filepath.Join(root, f), ingest.DICOMOptions{Authority: "1.2.3"})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Exam.Key.LocalID == "REMOVED1" { // one patient id for the PET/CT, as a site sends it
			rep.Exam.Key.LocalID = "REMOVED"
		}
		if _, err := ingest.DICOMReport(ctx, f, rep, keyIdentity{}, led); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	events := filepath.Join(dir, "events.csv")
	var out, errb bytes.Buffer
	if code := run([]string{"export", "exams", "--data", dir, "--events", events}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	got := map[string]int{}
	for _, r := range rows[1:] {
		k := r[col["counts"]]
		if w := r[col["not_counted"]]; w != "" && k == "no" {
			k += " " + w
		} else if k == "partial" && !strings.Contains(w, "earlier report") {
			t.Errorf("partial row %v says %q", r, w)
		}
		got[k]++
	}
	want := map[string]int{"yes": 3, "partial": 2, "no conflict": 1, "no superseded": 1}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%d rows %q, want %d (all: %v)", got[k], k, n, got)
		}
	}
	if _, err := os.Stat(events); err != nil {
		t.Errorf("--events wrote no file: %v", err)
	}
}

// dsrEvent is one CT irradiation event as dcmtk's dsrdump prints it.
type dsrEvent struct {
	uid, protocol string
	num           map[string]float64 // concept code → value
}

var (
	dsrAny  = regexp.MustCompile(`(NUM|TEXT|UIDREF|CONTAINER):\(([^,]+),DCM,"[^"]*"\)(?:="([^"]*)")?`)
	dsrUnit = map[string]float64{"mGy": 1, "mGy.cm": 1, "mGycm": 1, "mm": 1, "cm": 10, "kV": 1, "mA": 1, "s": 1, "ms": 1e-3}
)

// dsrdumpCTEvents reads the CT acquisitions (113819) of a dose SR with
// dsrdump, independently of package ingest.
func dsrdumpCTEvents(t *testing.T, path string) []dsrEvent {
	out, err := exec.Command("dsrdump", "-q", "-Ec", "-Er", "-Ee", "-Ei", "+Pc", "+Pl", path).Output()
	if err != nil && len(out) == 0 {
		t.Fatalf("dsrdump %s: %v", path, err)
	}
	unitRe := regexp.MustCompile(`\(([^,]+),UCUM`)
	var evs []dsrEvent
	for _, l := range strings.Split(string(out), "\n") {
		m := dsrAny.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if m[1] == "CONTAINER" && m[2] == "113819" {
			evs = append(evs, dsrEvent{num: map[string]float64{}})
			continue
		}
		if len(evs) == 0 {
			continue
		}
		ev := &evs[len(evs)-1]
		switch {
		case m[1] == "UIDREF" && m[2] == "113769":
			ev.uid = m[3]
		case m[1] == "TEXT" && m[2] == "125203":
			ev.protocol = m[3]
		case m[1] == "NUM":
			u := unitRe.FindStringSubmatch(l[strings.Index(l, m[0])+len(m[0]):])
			v, err := strconv.ParseFloat(strings.TrimSpace(m[3]), 64)
			if u == nil || err != nil {
				continue
			}
			f, ok := dsrUnit[u[1]]
			if _, seen := ev.num[m[2]]; ok && !seen {
				ev.num[m[2]] = v * f
			}
		}
	}
	return evs
}

// TestExportEventsAgainstDcmtk: the per-event CT figures of vendor RDSRs
// (CTDIvol, DLP, scan length, kVp, tube current, exposure time, protocol)
// agree with dcmtk's dsrdump reading of the same files.
func TestExportEventsAgainstDcmtk(t *testing.T) {
	if _, err := exec.LookPath("dsrdump"); err != nil {
		t.Skip("dsrdump is not installed (Debian package dcmtk): the independent cross-check needs it")
	}
	root := filepath.Join(sharedtest.Path(t, "dicom"), "openrem")
	files := []string{"CT-RDSR-Siemens-Multi-1.dcm", "CT-RDSR-Siemens_Flash-QA-DS.dcm", "CT-RDSR-Toshiba_DoseCheck.dcm", "CT-RDSR-Philips_BigBore4DCT.dcm", "NM-CT-RDSR-Siemens.dcm"}
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	led := ledger.Open(db)
	for _, f := range files {
		if _, err := ingest.DICOM(context.Background(), filepath.Join(root, f), keyIdentity{}, led, ingest.DICOMOptions{Authority: "1.2.3"}); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := exportEvents(context.Background(), led, &buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	byUID := map[string][]string{}
	for _, r := range rows[1:] {
		byUID[r[col["event_uid"]]] = r
	}
	checked := 0
	for _, f := range files {
		for _, ev := range dsrdumpCTEvents(t, filepath.Join(root, f)) {
			r, ok := byUID[ev.uid]
			if !ok {
				t.Errorf("%s: event %s not exported", f, ev.uid)
				continue
			}
			if r[col["protocol"]] != strings.TrimSpace(ev.protocol) {
				t.Errorf("%s %s: protocol %q, dsrdump %q", f, ev.uid, r[col["protocol"]], ev.protocol)
			}
			for code, column := range map[string]string{"113830": "ctdivol_mGy", "113838": "dlp_mGycm", "113825": "scan_length_mm",
				"113733": "kvp_kV", "113734": "tube_current_mA", "113824": "exposure_time_s"} {
				want, has := ev.num[code]
				cell := strings.Split(r[col[column]], "/")[0]
				if !has {
					if cell != "" {
						t.Errorf("%s %s: %s %q where dsrdump reads none", f, ev.uid, column, cell)
					}
					continue
				}
				v, err := strconv.ParseFloat(cell, 64)
				if err != nil || math.Abs(v-want) > 1e-6*math.Max(1, math.Abs(want)) {
					t.Errorf("%s %s: %s %q, dsrdump %v", f, ev.uid, column, cell, want)
				}
				checked++
			}
		}
	}
	// No shared CT report carries a patient diameter: every acquisition
	// says why it has no SSDE, none is invented.
	for _, r := range rows[1:] {
		if r[col["ssde_mGy"]] != "" || r[col["ssde_not_estimated"]] == "" {
			t.Errorf("event %s: SSDE %q, reason %q", r[col["event_uid"]], r[col["ssde_mGy"]], r[col["ssde_not_estimated"]])
		}
	}
	if checked < 30 {
		t.Errorf("only %d per-event figures compared", checked)
	}
	t.Logf("%d per-event CT figures agree with dsrdump", checked)
}
