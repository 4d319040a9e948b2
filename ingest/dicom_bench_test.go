package ingest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"vigie/internal/cputime"
	"vigie/internal/sharedtest"
	"vigie/ledger"
	"vigie/store"
)

// acceptedShared loads the shared files Vigie accepts, in memory.
func acceptedShared(b *testing.B) (names []string, data [][]byte) {
	root := sharedtest.Path(b, "dicom")
	for _, c := range sharedFiles {
		if c.refused != "" {
			continue
		}
		d, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(c.file)))
		if err != nil {
			b.Fatal(err)
		}
		names, data = append(names, c.file), append(data, d)
	}
	return names, data
}

// BenchmarkParseDICOM parses every accepted shared file (dose SRs and
// image headers, 1 KB to 1 MB) and reports files per second.
func BenchmarkParseDICOM(b *testing.B) {
	names, data := acceptedShared(b)
	var total int64
	for _, d := range data {
		total += int64(len(d))
	}
	b.SetBytes(total)
	b.ResetTimer()
	cpu := cputime.Process()
	for b.Loop() {
		for i, d := range data {
			if _, err := ParseDICOM(bytes.NewReader(d), int64(len(d)), DICOMOptions{Authority: "1.2.3"}); err != nil {
				b.Fatalf("%s: %v", names[i], err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(data))/b.Elapsed().Seconds(), "files/s")
	b.ReportMetric((cputime.Process()-cpu).Seconds()*1000/float64(b.N*len(data)), "cpu-ms/file")
}

// BenchmarkInspectLargest times `vigie dicom inspect`'s extraction of the
// largest dose SR of the set (Philips Azurion, about 6,500 content items).
func BenchmarkInspectLargest(b *testing.B) {
	path := filepath.Join(sharedtest.Path(b, "dicom"), "openrem", "RF-RDSR-Philips_Azurion.dcm")
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	for b.Loop() {
		rep, err := ParseDICOMFile(path, DICOMOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if len(rep.Exam.Projection.Events) == 0 {
			b.Fatal("no events")
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N), "ms/file")
}

// BenchmarkIngestDICOM measures files ingested per second through
// DICOMFiles: read, parse, resolve (a fake index: the patient index's own
// cost is benchmarked in mpi) and a durable ledger write (synced commits on
// disk), one worker per core, over the accepted shared files. Each round
// starts from an empty store so that every file stores a new exam.
func BenchmarkIngestDICOM(b *testing.B) {
	root := sharedtest.Path(b, "dicom")
	var files []string
	for _, c := range sharedFiles {
		if c.refused == "" {
			files = append(files, filepath.Join(root, filepath.FromSlash(c.file)))
		}
	}
	for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run("workers="+strconv.Itoa(workers), func(b *testing.B) {
			var busy, cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				db, err := store.Open(b.TempDir(), store.Options{})
				if err != nil {
					b.Fatal(err)
				}
				led := ledger.Open(db)
				b.StartTimer()
				start, c0 := time.Now(), cputime.Process()
				err = DICOMFiles(context.Background(), files, workers, &fakeIndex{}, led, DICOMOptions{Authority: "1.2.3"},
					func(o DICOMOutcome, err error) error {
						// The two Siemens-Zee files share one SOP instance:
						// whichever comes second is a duplicate.
						if err == nil && o.Ledger.Result != ledger.Stored && o.Ledger.Result != ledger.Excluded && !strings.Contains(o.File, "Siemens-Zee") {
							err = fmt.Errorf("%s: %s", o.File, o.Ledger.Result)
						}
						return err
					})
				busy += time.Since(start)
				cpu += cputime.Process() - c0
				b.StopTimer()
				db.Close()
				b.StartTimer()
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(files))/busy.Seconds(), "files/s")
			b.ReportMetric(cpu.Seconds()*1000/float64(b.N*len(files)), "cpu-ms/file")
		})
	}
}
