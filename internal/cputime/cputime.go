// Package cputime reads the CPU time the process has used, the figure
// Vigie's benchmarks print beside wall time: on a machine shared with
// other work, CPU per operation stays comparable where wall time does not.
package cputime

import (
	"syscall"
	"time"
)

// Process is the CPU time (user and system) the process has used so far;
// zero when the system does not tell.
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
