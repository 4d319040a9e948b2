package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"vigie/store"
)

func init() {
	register(verb{name: "version", summary: "print the build (module version, commit, Go) and the store layout it reads and writes", run: runVersion})
}

// runVersion prints what a support request needs to name the binary: the
// module version and commit it was built from (from the Go build
// information: "(devel)" and the commit for a build from a checkout), the
// Go release, and the store layout version it writes (a store of a newer
// layout is refused, see store.LayoutVersion).
func runVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	version, commit, modified := "unknown", "unknown", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if modified {
		commit += " (with uncommitted changes)"
	}
	fmt.Fprintf(stdout, "vigie %s\ncommit %s\n%s %s/%s\nstore layout %d\n", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH, store.LayoutVersion)
	return nil
}
