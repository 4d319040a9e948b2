package ingest

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"vigie"
	"vigie/ledger"
)

// Resolver attaches a source record to a regional identity: the patient
// index (mpi) stores or updates the record and returns the identity it
// belongs to. It is the seam between ingestion and the patient index.
type Resolver interface {
	Resolve(ctx context.Context, rec vigie.Record) (identity string, err error)
}

// DICOMOutcome is what ingesting one DICOM file did. A SOP instance sent
// again under another patient id or study is a conflict (Ledger.Result
// ledger.Conflict, Ledger.First the record it was first stored under): an
// identity correction the ledger does not apply by itself.
type DICOMOutcome struct {
	File     string            `json:"file"`
	Identity string            `json:"identity,omitempty"` // empty when the exam was already in the ledger
	Key      vigie.SourceKey   `json:"key"`
	Source   ledger.SourceKind `json:"source"`
	Domain   ledger.Domain     `json:"domain"`
	Ledger   ledger.Outcome    `json:"ledger"`
}

// DICOM ingests one DICOM file: parse it, resolve its patient through the
// patient index (the file's demographics become or update a source record
// of the producing site), then store the exam in the ledger keyed by that
// source record. A file already in the ledger (same SOP instance) is a
// duplicate and neither resolved nor stored again.
//
// A file Vigie refuses (see ParseDICOM), or whose patient id has no
// assigning authority (no IssuerOfPatientID and no opts.Authority), is
// refused with an EINVALID error naming the file, before anything is
// resolved or stored.
func DICOM(ctx context.Context, path string, res Resolver, led *ledger.Ledger, opts DICOMOptions) (DICOMOutcome, error) {
	out := DICOMOutcome{File: path}
	rep, err := ParseDICOMFile(path, opts)
	if err != nil {
		return out, err
	}
	return out, storeReport(ctx, &out, rep, res, led)
}

// DICOMReport stores an already parsed report (see DICOM); name is used in
// messages and in the outcome.
func DICOMReport(ctx context.Context, name string, rep *DoseReport, res Resolver, led *ledger.Ledger) (DICOMOutcome, error) {
	out := DICOMOutcome{File: name}
	err := storeReport(ctx, &out, rep, res, led)
	if err != nil {
		err = fmt.Errorf("ingest: %s: %w", name, err)
	}
	return out, err
}

func storeReport(ctx context.Context, out *DICOMOutcome, rep *DoseReport, res Resolver, led *ledger.Ledger) error {
	x := &rep.Exam
	out.Key, out.Source, out.Domain = x.Key, x.Source, x.Domain
	if x.Key.Authority == "" {
		return fmt.Errorf("ingest: %s: %w", out.File, vigie.Invalid("IssuerOfPatientID",
			"absent and no site authority configured: patient id %s cannot be attached to a source record", x.Key.LocalID))
	}
	if err := x.Validate(); err != nil {
		return fmt.Errorf("ingest: %s: %w", out.File, err)
	}
	// A plain duplicate (same SOP instance, patient and study) is neither
	// resolved nor stored again; one under another patient or study is a
	// conflict the ledger stores for trace (see ledger.Conflict).
	if old, err := led.Get(ctx, x.SOPInstanceUID); err == nil && old.Exam.Key == x.Key && old.Exam.StudyUID == x.StudyUID {
		out.Ledger = ledger.Outcome{Result: ledger.Duplicate, SOPInstanceUID: x.SOPInstanceUID, Key: old.Exam.Key}
		return nil
	} else if err != nil && vigie.ErrorCode(err) != vigie.ENOTFOUND {
		return fmt.Errorf("ingest: %s: %w", out.File, err)
	}
	id, err := res.Resolve(ctx, rep.Patient)
	if err != nil {
		return fmt.Errorf("ingest: %s: resolve patient %s: %w", out.File, x.Key, err)
	}
	out.Identity = id
	lo, err := led.Put(ctx, x)
	if err != nil {
		return fmt.Errorf("ingest: %s: %w", out.File, err)
	}
	out.Ledger = lo
	return nil
}

// WalkDICOM calls fn for every regular file under paths (files, or folders
// walked recursively, in lexical order), for `vigie ingest PATH...`.
// Hidden files and folders (".name") inside a folder are skipped. fn's
// error stops the walk.
func WalkDICOM(paths []string, fn func(path string) error) error {
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
		if !st.IsDir() {
			if err := fn(p); err != nil {
				return err
			}
			continue
		}
		var files []string
		err = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if q != p && len(d.Name()) > 1 && d.Name()[0] == '.' {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				files = append(files, q)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
		sort.Strings(files)
		for _, f := range files {
			if err := fn(f); err != nil {
				return err
			}
		}
	}
	return nil
}

// DICOMFiles ingests files with workers goroutines (parsing is CPU-bound;
// the ledger and the patient index take concurrent calls) and calls report
// once per file, never concurrently, in completion order: the progress bar
// and per-file summary of `vigie ingest`. A refused file reaches report
// with its error and does not stop the others; report's own error (or the
// context's) stops the run after the files in flight.
func DICOMFiles(ctx context.Context, files []string, workers int, res Resolver, led *ledger.Ledger, opts DICOMOptions,
	report func(DICOMOutcome, error) error) error {
	workers = max(1, min(workers, len(files)))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		out DICOMOutcome
		err error
	}
	paths := make(chan string)
	results := make(chan result)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range paths {
				out, err := DICOM(ctx, p, res, led, opts)
				results <- result{out, err}
			}
		}()
	}
	go func() {
		defer close(paths)
		for _, p := range files {
			select {
			case paths <- p:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	var stop error
	for r := range results {
		if stop != nil {
			continue
		}
		if err := report(r.out, r.err); err != nil {
			stop = err
			cancel()
		}
	}
	if stop != nil {
		return stop
	}
	return ctx.Err()
}
