package main

import (
	"fmt"
	"io"
	"os"

	"vigie/store"
)

func init() {
	register(verb{name: "gc", summary: "reclaim the space of superseded values in the store's value log (server stopped)", run: runGC})
}

// runGC rewrites the value-log files mostly made of superseded values
// (record versions replaced, reviews decided). The server never does it
// (see store.CollectGarbage): it is run in a maintenance window, and the
// store's lock refuses it while a server holds the folder.
func runGC(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("gc", stderr)
	data := dataFlag(fs, "no server may hold it")
	ratio := fs.Float64("ratio", 0.5, "rewrite a value-log file once this share of it is superseded (0-1, exclusive)")
	reserve := diskReserveFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *data == "" {
		return usageErr("--data DIR is required")
	}
	if *ratio <= 0 || *ratio >= 1 {
		return usageErr("--ratio: %v is outside (0, 1)", *ratio)
	}
	if _, err := os.Stat(*data); err != nil {
		return usageErr("--data: %v", err)
	}
	db, err := openStore(*data, store.Options{DiskReserve: int64(*reserve)})
	if err != nil {
		return err
	}
	before, err := store.ValueLogBytes(*data)
	if err != nil {
		db.Close()
		return err
	}
	n, err := store.CollectGarbage(db, *ratio)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	after, err := store.ValueLogBytes(*data)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rewrote %d value-log files; value log %.1f → %.1f MB\n", n, float64(before)/1e6, float64(after)/1e6)
	return nil
}
