package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
)

// byteSize is a flag of a size in bytes, written as a number with an
// optional unit: 1073741824, 1GiB, 512MiB, 2G (units of 1024).
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(s string) error {
	t := strings.TrimSpace(s)
	shift := 0
	for _, u := range []struct {
		suffix string
		shift  int
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"T", 40}, {"G", 30}, {"M", 20}, {"K", 10}, {"B", 0}} {
		if n, ok := strings.CutSuffix(t, u.suffix); ok {
			t, shift = strings.TrimSpace(n), u.shift
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n < 0 || n*float64(int64(1)<<shift) >= 1<<62 {
		return fmt.Errorf("%q is not a size (e.g. 2GiB, 512MiB, or bytes)", s)
	}
	*b = byteSize(n * float64(int64(1)<<shift))
	return nil
}

// diskReserveFlag adds --disk-reserve to the flags of a verb that writes
// to the store (see store.DiskGuard).
func diskReserveFlag(fs *flag.FlagSet) *byteSize {
	var b byteSize
	fs.Var(&b, "disk-reserve", "free space of the store's filesystem under which writes are refused with an error, "+
		"instead of Badger's mapped files crashing the process when the disk fills, e.g. 2GiB "+
		"(default: the larger of 1GiB and the store's minimum, about 1GiB for the service and 1.5GiB for a bulk load; a smaller value is raised to the minimum)")
	return &b
}
