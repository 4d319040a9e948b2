//go:build !unix

package dosimetry

import (
	"io/fs"
	"time"
)

// cpuTime is unknown here: benchmarks report 0.
func cpuTime() time.Duration { return 0 }

func diskBytes(fi fs.FileInfo) int64 { return fi.Size() }
