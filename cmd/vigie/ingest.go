package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sort"
	"time"

	"vigie"
	"vigie/dosimetry"
	"vigie/ingest"
	"vigie/ledger"
	"vigie/rpc"
)

func init() {
	register(verb{name: "ingest", summary: "ingest DICOM dose reports and images (files or folders) into the dose ledger", run: runIngest})
}

func runIngest(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("ingest", stderr)
	data := dataFlag(fs, "created if missing")
	authority := fs.String("authority", "", "assigning authority (OID) of the PatientID when a file names no issuer")
	perFile := fs.Bool("files", false, "print one line per file with its outcome")
	asJSON := fs.Bool("json", false, "with --files, one JSON object per file")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "files parsed at once")
	quiet := fs.Bool("quiet", false, "no progress bar")
	reserve := diskReserveFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *data == "" {
		return usageErr("--data DIR is required")
	}
	if fs.NArg() == 0 {
		return usageErr("give at least one file or folder")
	}
	var files []string
	if err := ingest.WalkDICOM(fs.Args(), func(p string) error { files = append(files, p); return nil }); err != nil {
		return err
	}
	db, ix, closeIndex, err := openIndex(*data, true, int64(*reserve))
	if err != nil {
		return err
	}
	defer closeIndex()
	led := ledger.Open(db)
	// Dose alerts are raised as the exams are stored, as the server does.
	raised := 0
	watch := rpc.NewAlertWatch(ix, led, dosimetry.OpenAlerts(db), nil, nil, slog.New(slog.NewTextHandler(stderr, nil)))
	watch.Raised = func(_ vigie.SourceKey, _ string, n int) { raised += n }
	led.OnStored(watch.Stored)
	wctx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	go watch.Run(wctx)
	t0 := time.Now()
	counts := map[string]int{}
	var refused []string
	done := 0
	showProgress := !*quiet && isTerminal(stderr)
	enc := json.NewEncoder(stdout)
	err = ingest.DICOMFiles(context.Background(), files, *workers, rpc.MPIResolver{Index: ix}, led, ingest.DICOMOptions{Authority: *authority},
		func(o ingest.DICOMOutcome, ferr error) error {
			done++
			status := string(o.Ledger.Result)
			if ferr != nil {
				status = "refused"
				refused = append(refused, fmt.Sprintf("%s: %v", o.File, ferr))
			}
			counts[status]++
			if *perFile {
				if *asJSON {
					rec := struct {
						ingest.DICOMOutcome
						Status string `json:"status"`
						Error  string `json:"error,omitempty"`
					}{o, status, ""}
					if ferr != nil {
						rec.Error = ferr.Error()
					}
					if err := enc.Encode(rec); err != nil {
						return err
					}
				} else {
					line := fmt.Sprintf("%-10s %s", status, o.File)
					if ferr == nil {
						line += fmt.Sprintf(" → %s/%s identity %s (%s, %s)", o.Key.Authority, o.Key.LocalID, o.Identity, o.Source, o.Domain)
					}
					fmt.Fprintln(stdout, line)
				}
			}
			if showProgress {
				fmt.Fprintf(stderr, "\r%d/%d files", done, len(files))
			}
			return nil
		})
	if showProgress {
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return err
	}
	var parts []string
	for k, v := range counts {
		parts = append(parts, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(parts)
	watch.Wait()
	fmt.Fprintf(stderr, "%d files in %s: %v; %d dose alerts raised\n", len(files), time.Since(t0).Round(time.Millisecond), parts, raised)
	if !*perFile {
		for _, r := range refused {
			fmt.Fprintln(stderr, "refused:", r)
		}
	}
	if len(refused) > 0 {
		return vigie.Invalid("files", "%d of %d files refused", len(refused), len(files))
	}
	return nil
}
