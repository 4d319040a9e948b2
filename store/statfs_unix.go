//go:build unix

package store

import "golang.org/x/sys/unix"

// freeSpace returns the bytes of dir's filesystem that an unprivileged
// process may still allocate (f_bavail: the blocks reserved for root do
// not count, whoever runs the service).
func freeSpace(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil //nolint:unconvert // the fields' types differ between systems
}
