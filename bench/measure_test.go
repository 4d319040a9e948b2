package bench

import (
	"os"
	"runtime"
	"testing"
	"time"
)

// TestSampleRSS holds 64 MB while sampling: the anonymous peak must see
// them (and be zero where the kernel does not give the figures).
func TestSampleRSS(t *testing.T) {
	_, err := os.Stat("/proc/self/status")
	proc := err == nil
	stop := SampleRSS(time.Millisecond)
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	peak := stop()
	runtime.KeepAlive(buf)
	if proc && peak.Anon < int64(len(buf)) {
		t.Fatalf("peak anonymous memory %d while holding %d bytes", peak.Anon, len(buf))
	}
	if !proc && peak != (PeakRSS{}) {
		t.Fatalf("peaks %+v without /proc", peak)
	}
}
