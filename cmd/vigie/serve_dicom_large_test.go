package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"vigie/internal/sharedtest"
)

// largeInstance writes a copy of a DX image of shared/dicom (explicit VR
// little endian, dose in its header) whose PixelData holds size bytes,
// the way a large multi-frame image is mostly pixels.
func largeInstance(t testing.TB, size int64) string {
	t.Helper()
	src := filepath.Join(sharedtest.Path(t, "dicom"), "openrem", "DX-Im-Carestream_DR7500-1.dcm")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	pixel := []byte{0xe0, 0x7f, 0x10, 0x00, 'O', 'W', 0, 0}
	i := bytes.LastIndex(b, pixel)
	if i < 0 {
		t.Fatalf("%s has no PixelData", src)
	}
	p := filepath.Join(t.TempDir(), "large.dcm")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.Write(b[:i+8])
	binary.Write(w, binary.LittleEndian, uint32(size))
	zeros := make([]byte, 1<<20)
	for n := size; n > 0; n -= int64(len(zeros)) {
		w.Write(zeros[:min(n, int64(len(zeros)))])
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// peakResident reads this process's peak resident set (VmHWM), in bytes;
// resetPeakResident sets it back to the current resident set.
func peakResident(t testing.TB) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status (not Linux): %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}

func resetPeakResident(t testing.TB) {
	t.Helper()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Skipf("cannot reset the peak resident set (/proc/self/clear_refs): %v", err)
	}
}

// sendLarge starts a listener, sends a size-byte instance with storescu
// and returns how much the peak resident set of the process (the
// server is in it) grew, and how long the C-STORE took.
func sendLarge(t testing.TB, size int64) (int64, time.Duration) {
	storescu := dcmtk(t, "storescu")
	file := largeInstance(t, size)
	s, host, port := startDICOMServe(t, newDICOMStore(t))
	// The server's start-up (the store, the indexes) is done: measure
	// from here.
	resetPeakResident(t)
	before := peakResident(t)
	t0 := time.Now()
	out, err := exec.Command(storescu, "-v", "-aet", dicomAE, "-aec", "VIGIE", host, port, file).CombinedOutput()
	took := time.Since(t0)
	if err != nil || !strings.Contains(string(out), "Received Store Response (Success)") {
		t.Fatalf("storescu of a %d-byte instance: %v\n%s\n%s", size, err, out, s.logs.String())
	}
	grew := peakResident(t) - before
	s.shutdown(t)
	return grew, took
}

// TestDICOMListenerLargeInstanceBoundedMemory: a 256 MiB instance sent
// by C-STORE is streamed to a temporary file and parsed from its first
// megabytes: the server's resident set grows by far less than the
// instance.
func TestDICOMListenerLargeInstanceBoundedMemory(t *testing.T) {
	const size = 256 << 20
	grew, _ := sendLarge(t, size)
	t.Logf("a %d MiB instance raised the peak resident set by %.1f MiB", size>>20, float64(grew)/(1<<20))
	if grew > 64<<20 {
		t.Errorf("the peak resident set grew by %.1f MiB for a %d MiB instance: not streamed", float64(grew)/(1<<20), size>>20)
	}
}

// BenchmarkDICOMLargeInstance sends a 1 GiB instance by C-STORE and
// reports the growth of the peak resident set and the throughput.
func BenchmarkDICOMLargeInstance(b *testing.B) {
	const size = 1 << 30
	for range b.N {
		grew, took := sendLarge(b, size)
		b.ReportMetric(0, "ns/op")
		b.ReportMetric(float64(grew)/(1<<20), "peak-RSS-growth-MiB")
		b.ReportMetric(float64(size)/took.Seconds()/1e6, "MB/s")
		b.Logf("%s", fmt.Sprintf("1 GiB instance: peak resident set +%.1f MiB, %.0f MB/s", float64(grew)/(1<<20), float64(size)/took.Seconds()/1e6))
	}
}
