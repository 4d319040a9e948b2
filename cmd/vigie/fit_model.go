package main

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"vigie"
	"vigie/ingest"
	"vigie/mpi"
)

// fitBeforeLoad reads a feed about to be loaded into an empty index, fits
// the model on its own records (mpi.Index.FitAtFirstLoad) and rewinds the
// feed for the load. It prints what was fitted and the model version the
// load will score with. The time it took is returned, to report beside the
// load's.
func fitBeforeLoad(ix *mpi.Index, in io.ReadSeeker, file string, o mpi.FitOptions, out io.Writer) (time.Duration, error) {
	t0 := time.Now()
	var recs []vigie.Record
	err := ingest.ReadIdentityCSV(bufio.NewReader(in), func(_ int, rec vigie.Record, rerr error) error {
		if rerr == nil {
			recs = append(recs, rec)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	rep, info, err := ix.FitAtFirstLoad(recs, filepath.Base(file), o)
	if err != nil {
		return 0, err
	}
	fmt.Fprint(out, rep)
	fmt.Fprintf(out, "linking with %s\n", info)
	if _, err := in.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}
