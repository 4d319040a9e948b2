//go:build unix

package dosimetry

import (
	"io/fs"
	"syscall"
	"time"
)

// cpuTime returns the CPU time (user and system) the process used so far:
// benchmarks report it beside wall time, which a shared machine inflates.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// diskBytes is the space a file takes on disk: Badger preallocates its
// value log as a sparse file, whose apparent size says nothing.
func diskBytes(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return fi.Size()
}
