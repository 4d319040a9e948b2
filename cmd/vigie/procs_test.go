package main

import (
	"runtime"
	"testing"
)

func TestSetServeProcs(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(before) })

	t.Run("default plus the extra slots, the same when called again", func(t *testing.T) {
		t.Setenv("GOMAXPROCS", "")
		runtime.SetDefaultGOMAXPROCS()
		def := runtime.GOMAXPROCS(0)
		for range 2 {
			if got := setServeProcs(); got != def+extraProcs || runtime.GOMAXPROCS(0) != got {
				t.Fatalf("setServeProcs() = %d with GOMAXPROCS %d in force, want %d", got, runtime.GOMAXPROCS(0), def+extraProcs)
			}
		}
	})
	t.Run("the environment wins", func(t *testing.T) {
		t.Setenv("GOMAXPROCS", "7")
		runtime.GOMAXPROCS(7) // what the runtime read from the variable at start
		if got := setServeProcs(); got != 7 || runtime.GOMAXPROCS(0) != 7 {
			t.Fatalf("setServeProcs() = %d with GOMAXPROCS %d in force, want 7 as the environment says", got, runtime.GOMAXPROCS(0))
		}
	})
}
