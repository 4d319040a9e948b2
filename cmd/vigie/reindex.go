package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"vigie/search"
)

func init() {
	register(verb{name: "reindex", summary: "rebuild the search index from the patient index", run: runReindex})
}

func runReindex(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("reindex", stderr)
	data := dataFlag(fs, "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ctx := context.Background()
	db, ix, closeIndex, err := openIndex(*data, false, 0)
	if err != nil {
		return err
	}
	defer closeIndex()
	if storeEncrypted(db) {
		// Nothing on disk to rebuild: vigie serve builds the index in
		// memory at each start.
		if err := removeSearchDir(*data, func(msg string) { fmt.Fprintln(stderr, msg) }); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "the store is encrypted: its search index is kept in memory and rebuilt by vigie serve at each start, nothing to do")
		return nil
	}
	t0 := time.Now()
	// The index is derived: drop it whole and build it again.
	if err := os.RemoveAll(searchDir(*data)); err != nil {
		return fmt.Errorf("reindex: remove the old index: %w", err)
	}
	sx, err := search.Open(searchDir(*data), ix.Model(), search.Options{Population: func() int { return max(ix.Count(), mpiMinPopulation) }})
	if err != nil {
		return err
	}
	n, err := sx.Rebuild(ctx, ix)
	if cerr := sx.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "indexed %d identities in %s\n", n, time.Since(t0).Round(time.Millisecond))
	return nil
}
