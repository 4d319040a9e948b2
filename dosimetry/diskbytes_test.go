package dosimetry

import (
	"io/fs"
	"syscall"
)

// diskBytes is the space a file takes on disk: Badger preallocates its
// value log as a sparse file, whose apparent size says nothing.
func diskBytes(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return fi.Size()
}
