package main

import (
	"os"
	"runtime"
)

// extraProcs is how many more goroutines the server runs at once than the
// processor has cores (GOMAXPROCS).
//
// Every answer waits for a store sync (fsync and msync of Badger's logs),
// and the search index and the store write and sync files in the
// background. A goroutine in such a system call keeps its scheduler slot
// until the runtime's monitor hands it over, which takes up to 10 ms when
// the monitor has been finding little to do, and a thread waiting on a
// page of a mapped file keeps its slot throughout. With one slot per core,
// the cores were a sixth idle while dozens of calls waited to run (a
// runtime trace showed 26 goroutines runnable on average). Measured with 50
// closed-loop clients on two cores and 1.7 million records: two slots kept
// 1.67 of the cores busy for 1,895 searches/s (0.88 ms of CPU a call);
// three slots, 1.89-1.91 cores for 2,386-2,453/s (0.77-0.80 ms); four,
// 1.89-1.93 cores for 2,108-2,297/s. Resolves over two minutes: 2,187/s
// with three slots, 2,214/s with four.
const extraProcs = 1

// setServeProcs sets GOMAXPROCS for a server: the number of cores the
// process may use (the Go runtime's default, which follows a container's
// CPU limit when the process starts) plus extraProcs. A GOMAXPROCS
// environment variable, when set, wins. Calling it again gives the same
// value. It returns the value in force.
func setServeProcs() int {
	if os.Getenv("GOMAXPROCS") != "" {
		return runtime.GOMAXPROCS(0)
	}
	runtime.SetDefaultGOMAXPROCS()
	n := runtime.GOMAXPROCS(0) + extraProcs
	runtime.GOMAXPROCS(n)
	return n
}
