package main

import (
	"bytes"
	"encoding/csv"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"vigie/internal/sharedtest"
)

// The ingest verb attaches real dose reports to patients through the
// patient index; history and export exams read them back by identity; a
// refused file is named with its reason and stores nothing.
func TestIngestHistoryExport(t *testing.T) {
	dir := sharedtest.Path(t, "dicom")
	data := t.TempDir()
	ct := filepath.Join(dir, "openrem", "CT-RDSR-Siemens_Flash-TAP-SS.dcm")
	nonDose := filepath.Join(dir, "openrem", "ESR_non-dose.dcm")
	var out, errb bytes.Buffer
	code := run([]string{"ingest", "--data", data, "--authority", "1.2.250.1.213.1.1.1.99", "--files", "--quiet", ct, nonDose}, &out, &errb)
	if code != 2 {
		t.Fatalf("exit %d with a refused file, want 2\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "refused    "+nonDose) || !strings.Contains(errb.String(), "1 of 2 files refused") {
		t.Errorf("the refused file is not reported:\n%s%s", out.String(), errb.String())
	}
	out.Reset()
	if code := run([]string{"export", "exams", "--data", data}, &out, &errb); code != 0 {
		t.Fatalf("export exams: exit %d: %s", code, errb.String())
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d exam rows, want 1 (the non-dose SR stores nothing)", len(rows)-1)
	}
	id := rows[1][4]
	if id == "" {
		t.Fatal("the exported exam has no identity")
	}
	out.Reset()
	if code := run([]string{"history", "--data", data, id}, &out, &errb); code != 0 {
		t.Fatalf("history: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "Examens de scanographie\n  PDL total (mGy.cm) : ") || !strings.Contains(out.String(), "Établissement non référencé") {
		t.Errorf("the CT exam is not in the history:\n%s", out.String())
	}
	out.Reset()
	if code := run([]string{"history", "--data", data, "--html", id}, &out, &errb); code != 0 {
		t.Fatalf("history --html: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "<html") || !strings.Contains(out.String(), rows[1][9][:3]) {
		t.Errorf("the HTML history lacks the document or the DLP %s", rows[1][9])
	}
	// With a patient access code, printed in its box; never in the text.
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"history", "--data", data, "--html", "--access-code", id}, true},
		{[]string{"history", "--data", data, "--access-code", id}, false},
	} {
		out.Reset()
		errb.Reset()
		code := run(tc.args, &out, &errb)
		if (code == 0) != tc.ok {
			t.Fatalf("%v: exit %d: %s", tc.args, code, errb.String())
		}
		if tc.ok && !regexp.MustCompile(`<p class="code">[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}</p>`).MatchString(out.String()) {
			t.Errorf("%v: no access code box in the HTML history", tc.args)
		}
	}
	// Ingesting the same file again counts nothing twice.
	out.Reset()
	if code := run([]string{"ingest", "--data", data, "--authority", "1.2.250.1.213.1.1.1.99", "--files", "--quiet", ct}, &out, &errb); code != 0 {
		t.Fatalf("second ingest: exit %d: %s", code, errb.String())
	}
	if strings.HasPrefix(out.String(), "stored") {
		t.Errorf("the same file was stored twice: %s", out.String())
	}
}
