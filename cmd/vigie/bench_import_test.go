package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"vigie/bench"
)

// TestVigieChild runs the vigie verb named by VIGIE_CHILD_ARGS (JSON) in
// this process and exits with its status: the vigie binary, as bench
// import's child processes need one, from the test binary.
func TestVigieChild(t *testing.T) {
	js := os.Getenv("VIGIE_CHILD_ARGS")
	if js == "" {
		t.Skip("run as a child of TestBenchImportGrowth only")
	}
	var args []string
	if err := json.Unmarshal([]byte(js), &args); err != nil {
		t.Fatal(err)
	}
	os.Exit(run(args, os.Stdout, os.Stderr))
}

// bench import generates, loads and exports each size in child
// processes, and prints each size's figures and the growth between them.
func TestBenchImportGrowth(t *testing.T) {
	dir := t.TempDir()
	var out, errs bytes.Buffer
	rows, err := bench.Growth(context.Background(), bench.GrowthConfig{Sizes: []int{200, 600}, Sites: 5, Seed: 3, Model: "default", Dir: dir,
		Command: func(ctx context.Context, args ...string) *exec.Cmd {
			js, _ := json.Marshal(args)
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestVigieChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), "VIGIE_CHILD_ARGS="+string(js))
			return cmd
		}}, &out, &errs)
	if err != nil {
		t.Fatalf("%v\n%s%s", err, out.String(), errs.String())
	}
	if len(rows) != 2 || rows[0].Rows < 150 || rows[0].Rows > 250 || rows[1].Rows < 500 || rows[1].Rows > 700 {
		t.Fatalf("rows %+v, want about 200 and 600", rows)
	}
	for _, r := range rows {
		if r.Import.CPU <= 0 || r.Import.PeakRSS <= 0 || r.Disk <= 0 || r.Export.CPU <= 0 {
			t.Errorf("a cost not measured: %+v", r)
		}
	}
	if !strings.Contains(out.String(), "growth from ") {
		t.Errorf("no growth line:\n%s", out.String())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the sizes' folders were left: %v", entries)
	}
}
