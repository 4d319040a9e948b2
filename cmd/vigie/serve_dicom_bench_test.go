package main

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// BenchmarkDICOMStore sends every dose file of shared/dicom by C-STORE
// with dcmtk's storescu, over 1 association and over 8 at once, to
// Vigie's DICOM listener (each instance parsed, resolved, stored in the
// ledger and synced before its answer) and, in the same run, to a real
// Orthanc (which stores the file without reading dose). Each iteration
// starts a fresh receiver (not timed). Reports files/s and MB/s.
//
//	go test ./cmd/vigie -run XXX -bench DICOMStore -benchtime 5x
func BenchmarkDICOMStore(b *testing.B) {
	storescu := dcmtk(b, "storescu")
	files, _ := doseFiles(b)
	var size int64
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			b.Fatal(err)
		}
		size += st.Size()
	}
	for _, peer := range []string{"vigie", "orthanc"} {
		for _, n := range []int{1, 8} {
			b.Run(fmt.Sprintf("peer=%s/associations=%d", peer, n), func(b *testing.B) {
				groups := byPatient(b, files, n)
				var took time.Duration
				for range b.N {
					var host, port, aec string
					var stop func()
					switch peer {
					case "vigie":
						s, h, p := startDICOMServe(b, newDICOMStore(b))
						host, port, aec, stop = h, p, "VIGIE", func() { s.shutdown(b) }
					default:
						o := startOrthancDICOM(b, "ORTHANC", "", "")
						host, port, aec, stop = "127.0.0.1", fmt.Sprint(o.port), "ORTHANC", func() {}
					}
					t0 := time.Now()
					if got := storeConcurrently(b, storescu, dicomAE, aec, host, port, groups); got != len(files) {
						b.Fatalf("%d C-STORE responses for %d files", got, len(files))
					}
					took += time.Since(t0)
					stop()
				}
				b.ReportMetric(0, "ns/op")
				b.ReportMetric(float64(len(files)*b.N)/took.Seconds(), "files/s")
				b.ReportMetric(float64(size*int64(b.N))/took.Seconds()/1e6, "MB/s")
				b.Logf("%d files (%.1f MB) × %d over %d association(s) to %s: %.1f files/s", len(files), float64(size)/1e6, b.N, n, peer,
					float64(len(files)*b.N)/took.Seconds())
			})
		}
	}
}
