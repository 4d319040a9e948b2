//go:build !unix

package store

import "errors"

// freeSpace is unknown on this system: the guard then never refuses a
// write (see DiskGuard.Check).
func freeSpace(string) (int64, error) {
	return 0, errors.New("free space is not measured on this system")
}
