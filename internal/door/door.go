// Package door is the admission of the records the patient index stores,
// and the test seam that opens it.
//
// Admit is what package mpi calls for every record it is sent (prepareRow,
// the one door of Resolve and Import, and so of the API, the CSV import and
// DICOM files): matcher.Admit, the limits and the text rule.
//
// WithoutDoor exists only for tests, to reproduce stores written by earlier
// versions of Vigie, which prepared records without that door
// (matcher.Prepare alone): names of a megabyte, bytes that are not UTF-8,
// control characters. Such stores exist, and the inside (the search index,
// the API's answers, start-up) must keep coping with what they hold; a test
// proving it writes its hostile records through mpi.Index.Resolve under
// WithoutDoor. The door itself is tested where it is: matcher's TestDoor
// tests, and the doors' tests in mpi and rpc. Search queries do not pass
// through this package: WithoutDoor never opens them.
package door

import (
	"sync/atomic"

	"vigie"
	"vigie/matcher"
)

// opened counts the tests that have opened the door (nested calls each
// count once). It is atomic so that a goroutine a test left behind reads it
// without a data race; correctness beyond that is WithoutDoor's rule that
// such a test runs alone.
var opened atomic.Int32

// Admit cleans and prepares a record sent to the patient index: it is
// matcher.Admit, unless a test has opened the door with WithoutDoor, when
// it is matcher.Prepare, as earlier versions stored records.
func Admit(r *vigie.Record) (*matcher.Prepared, error) {
	if opened.Load() > 0 {
		return matcher.Prepare(r)
	}
	return matcher.Admit(r)
}

// TB is the part of testing.TB WithoutDoor needs (an interface, so that the
// binaries linking this package do not link package testing).
type TB interface {
	Helper()
	Setenv(key, value string)
	Cleanup(func())
}

// guardVar is set by WithoutDoor for its Setenv side effect only (see
// there); nothing reads it.
const guardVar = "VIGIE_TEST_WITHOUT_DOOR"

// WithoutDoor opens the door of the patient index for the rest of the test
// t: records sent to any mpi.Index of the process are stored as earlier
// versions stored them, unchecked. It is closed again when t ends.
//
// The door is the whole process's, so a test opening it must not run
// beside others: WithoutDoor calls t.Setenv, which panics in a test that
// called t.Parallel (or whose parent did) and makes a later t.Parallel
// panic.
func WithoutDoor(t TB) {
	t.Helper()
	t.Setenv(guardVar, "1")
	opened.Add(1)
	t.Cleanup(func() { opened.Add(-1) })
}
