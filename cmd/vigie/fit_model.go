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
// load's. The feed is read twice, to count its records and then to keep
// only the sample the fit takes of them (mpi.FitStride): a million
// records held whole were 1.3 GB of heap for the collector to scan again
// and again.
func fitBeforeLoad(ix *mpi.Index, in io.ReadSeeker, file string, o mpi.FitOptions, out io.Writer) (time.Duration, error) {
	t0 := time.Now()
	each := func(fn func(rec vigie.Record)) error {
		if _, err := in.Seek(0, io.SeekStart); err != nil {
			return err
		}
		return ingest.ReadIdentityCSV(bufio.NewReader(in), func(_ int, rec vigie.Record, rerr error) error {
			if rerr == nil {
				fn(rec)
			}
			return nil
		})
	}
	n := 0
	if err := each(func(vigie.Record) { n++ }); err != nil {
		return 0, err
	}
	stride := mpi.FitStride(n, o)
	recs := make([]vigie.Record, 0, (n+stride-1)/stride)
	i := 0
	err := each(func(rec vigie.Record) {
		if i%stride == 0 {
			recs = append(recs, rec)
		}
		i++
	})
	if err != nil {
		return 0, err
	}
	o.Feed = n
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
