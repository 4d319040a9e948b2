package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"vigie"
	"vigie/ingest"
	"vigie/internal/sharedtest"
)

func TestRefusalReason(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{vigie.Invalid("birth_date", "%q: month %d is out of range", "19451393", 13), "birth_date: …: month … is out of range"},
		{&ingest.RowError{Line: 4, Err: vigie.Invalid("local_id", "the local id is empty")}, "local_id: the local id is empty"},
		{errors.New("odd 12"), "odd …"},
	} {
		if got := refusalReason(tc.err); got != tc.want {
			t.Errorf("refusalReason(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// FEBRL's columns land in the identity CSV's, the birth date verbatim.
func TestConvertFEBRL(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "febrl.csv")
	os.WriteFile(in, []byte("rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode, state, date_of_birth, soc_sec_id\n"+
		"rec-7-org, jane, doe, 12, high street, , kew, 3101, vic, 19451393, 1234567\n"+
		"rec-7-dup-0, jnae, doe, , high street, , kew, 3101, vic, 19450312, 1234567\n"), 0o644)
	out := filepath.Join(dir, "records.csv")
	truth, err := convertFEBRL(out, [][2]string{{in, "febrl"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(truth) != 2 || truth[vigie.SourceKey{Authority: "febrl", LocalID: "rec-7-dup-0"}] != "7" {
		t.Fatalf("truth %v", truth)
	}
	b, _ := os.ReadFile(out)
	want := strings.Join(ingest.IdentityColumns, ",") + "\n" +
		"febrl,rec-7-org,,,,doe,,,jane,19451393,,,3101,kew,12 high street,,\n" +
		"febrl,rec-7-dup-0,,,,doe,,,jnae,19450312,,,3101,kew,high street,,\n"
	if string(b) != want {
		t.Fatalf("wrote\n%s\nwant\n%s", b, want)
	}
}

var summaryRow = regexp.MustCompile(`(?m)^\| ([^|]+) \| (\d+) \| (\d+) \| ([0-9.]+) \(([0-9.]+|–)\) \| ([0-9.]+) \(([0-9.]+|–)\) \| ([0-9.]+) \| ([0-9.]+) \| (\d+) \| ([0-9.]+) \(([0-9.]+|–)\) \| ([0-9.]+) \| (\d+) \|$`)

// A small run end to end: a census population through the import path.
// The figures must be consistent; their level is not checked (the
// matching will change).
func TestBenchLinkage(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"gen", "households", "--persons", "300", "--seed", "4", "--error-scale", "2", "--out", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("gen households: exit %d: %s", code, stderr.String())
	}
	args := []string{"bench", "linkage", "--census", dir, "--sets", "census", "--examples", "2"}
	if _, ok := sharedtest.Find("data/linkage/splink/fake_1000.csv"); ok {
		args[len(args)-3] = "census,fake1000"
	} else {
		t.Log("shared/data/linkage is absent: fake_1000 not run")
	}
	stdout.Reset()
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("bench linkage: exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"### census ", "| pairwise precision |", "| blocking recall (true pairs compared) |", "| merged person pairs: twins", "### Summary"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	// A pair the model alone links is told apart by what the index did
	// with it, and with --examples the ones sent to review are listed.
	if strings.Contains(out, autoLinkNotLinked) {
		t.Errorf("%q left undifferentiated in\n%s", autoLinkNotLinked, out)
	}
	if sent, listed := strings.Contains(out, "record sent to review ("), strings.Contains(out, "True pairs the model links, sent to review by the index"); sent != listed {
		t.Errorf("pairs sent to review counted %v, listed %v:\n%s", sent, listed, out)
	}
	rows := summaryRow.FindAllStringSubmatch(out, -1)
	if len(rows) == 0 {
		t.Fatalf("no summary row in\n%s", out)
	}
	for _, r := range rows {
		f := func(i int) float64 {
			v, err := strconv.ParseFloat(r[i], 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		records, refused, p, rc, f1, splits, review, blocking := f(2), f(3), f(4), f(6), f(8), f(10), f(11), f(13)
		for name, v := range map[string]float64{"precision": p, "recall": rc, "F1": f1, "blocking recall": blocking, "review share": review / 100} {
			if v < 0 || v > 1 {
				t.Errorf("%s: %s = %g, not in [0, 1]", r[1], name, v)
			}
		}
		if f1 < min(p, rc)-1e-5 || f1 > max(p, rc)+1e-5 {
			t.Errorf("%s: F1 %g not between precision %g and recall %g", r[1], f1, p, rc)
		}
		if records == 0 || refused > records || splits > records {
			t.Errorf("%s: %g records, %g refused, %g splits", r[1], records, refused, splits)
		}
	}
}
