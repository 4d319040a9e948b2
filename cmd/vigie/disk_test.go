package main

import (
	"errors"
	"fmt"
	"testing"

	"vigie"
)

func TestByteSizeFlag(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		bad  bool
	}{
		{"1073741824", 1 << 30, false},
		{"1GiB", 1 << 30, false},
		{"1.5GiB", 3 << 29, false},
		{"512MiB", 512 << 20, false},
		{"2G", 2 << 30, false},
		{"64 KiB", 64 << 10, false},
		{"100B", 100, false},
		{"", 0, true},
		{"-1GiB", 0, true},
		{"lots", 0, true},
		{"1PiB", 0, true},
	}
	for _, tc := range tests {
		var b byteSize
		err := b.Set(tc.in)
		if tc.bad != (err != nil) || !tc.bad && int64(b) != tc.want {
			t.Errorf("Set(%q) = %d, %v; want %d (error: %v)", tc.in, b, err, tc.want, tc.bad)
		}
	}
}

func TestExitStatus(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{usageErr("--data DIR is required"), 2},
		{vigie.Invalid("rows", "3 rows rejected"), 2},
		{fmt.Errorf("mpi: import: %w", vigie.Errorf(vigie.EEXHAUSTED, "store: 10.0 MiB free, under the reserve of 1024.0 MiB")), 75},
		{errors.New("badger: corrupt table"), 1},
		{vigie.Errorf(vigie.ENOTFOUND, "no such identity"), 1},
	}
	for _, tc := range tests {
		if got := exitStatus(tc.err); got != tc.want {
			t.Errorf("exitStatus(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
