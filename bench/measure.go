package bench

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// PeakRSS is the largest resident memory seen, split as the kernel counts
// it: anonymous memory (the process's own) and pages of mapped files (Badger
// maps its tables; those pages are page cache the kernel may reclaim, yet
// they count in the peak RSS getrusage reports).
type PeakRSS struct{ Anon, File int64 }

// SampleRSS samples /proc/self/status every interval until the returned
// function is called, which returns the peaks (zero where the file is
// unavailable, as outside Linux).
func SampleRSS(interval time.Duration) func() PeakRSS {
	var peak PeakRSS
	done := make(chan struct{})
	stopped := make(chan struct{})
	sample := func() {
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			return
		}
		for line := range strings.Lines(string(b)) {
			name, v, _ := strings.Cut(line, ":")
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				continue
			}
			switch name {
			case "RssAnon":
				peak.Anon = max(peak.Anon, kb<<10)
			case "RssFile":
				peak.File = max(peak.File, kb<<10)
			}
		}
	}
	go func() {
		defer close(stopped)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			sample()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() PeakRSS {
		close(done)
		<-stopped
		sample()
		return peak
	}
}

// Percentile returns the q-quantile (0 to 1) of sorted, a non-empty slice
// in increasing order.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// WriteHeapProfile writes a heap profile, after a collection, to path.
func WriteHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		return err
	}
	return f.Close()
}

// DirSize is the disk space the files under dir take (allocated blocks:
// Badger preallocates its log files sparsely).
func DirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				if st, ok := info.Sys().(*syscall.Stat_t); ok {
					n += st.Blocks * 512
				} else {
					n += info.Size()
				}
			}
		}
		return nil
	})
	return n
}

// FileSize is the size of the file at path, 0 when it cannot be read.
func FileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// CountRows counts the data rows of a CSV file (its lines but the header)
// and rewinds it. A quoted field holding a line break would count twice:
// generated files have none, and the count only places the online tail.
func CountRows(f *os.File) (int, error) {
	n, buf := 0, make([]byte, 1<<20)
	for {
		k, err := f.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	_, err := f.Seek(0, io.SeekStart)
	return n - 1, err
}
