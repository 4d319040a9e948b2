package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDoseNMCoefficientsFlagChecked: every verb that estimates doses
// checks the physicist's NM table (--nm-coefficients) before it starts,
// and refuses a bad one naming the file, the line and the reason; serve
// refuses it before opening the store.
func TestDoseNMCoefficientsFlagChecked(t *testing.T) {
	dir := t.TempDir()
	table := filepath.Join(dir, "nm.tsv")
	bad := "#source A14\tAndersson M. et al., EJNMMI Physics 1:9 (2014)\n" + strings.Join(nmTableColumns, "\t") + "\n" +
		"fdg\tFDG\tF 18\tSCT:35321007\tfdg\tadulte\t18\t\t0.0171\t\t\tB2\ttableau 1\t\n"
	if err := os.WriteFile(table, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	for _, args := range [][]string{
		{"serve", "--data", data, "--addr", "127.0.0.1:0"},
		{"history", "--data", data, "--nm-coefficients", table, "1"},
		{"alerts", "scan", "--data", data},
		{"export", "exams", "--data", data},
	} {
		var out, errb bytes.Buffer
		if args[len(args)-1] != "1" {
			args = append(args, "--nm-coefficients", table)
		}
		code := run(args, &out, &errb)
		msg := errb.String()
		if code == 0 || !strings.Contains(msg, table) || !strings.Contains(msg, "line 3") || !strings.Contains(msg, `source "B2" is not declared`) {
			t.Errorf("%s: exit %d, %q", strings.Join(args[:2], " "), code, msg)
		}
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("a verb refused for its NM table left a data folder: %v", err)
	}
}
