package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"io"
	"os"

	"vigie"
	"vigie/mpi"
)

func init() {
	register(verb{name: "export links", summary: "write authority,local_id,identity for every source record (CSV)", run: runExportLinks})
}

func runExportLinks(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("export links", stderr)
	data := dataFlag(fs, "")
	out := fs.String("out", "", "file to write (default: standard output)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	db, ix, closeIndex, err := openIndex(*data, false, 0)
	if err != nil {
		return err
	}
	defer closeIndex()
	// A bulk export of every record's link: audited as such, before a
	// row is written.
	if err := (operatorRead{Verb: "export links", What: "every source record with its identity"}).recordIn(db); err != nil {
		return err
	}
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if err := exportLinks(context.Background(), ix, w); err != nil {
		return err
	}
	if f, ok := w.(*os.File); ok && *out != "" {
		return f.Close()
	}
	return nil
}

// exportLinks writes the CSV header and one row per source record.
func exportLinks(ctx context.Context, ix *mpi.Index, w io.Writer) error {
	return writeCSV(w, []string{"authority", "local_id", "identity"}, func(write func([]string) error) error {
		return ix.Links(ctx, func(k vigie.SourceKey, id vigie.IdentityID) error {
			return write([]string{k.Authority, k.LocalID, id.String()})
		})
	})
}

// writeCSV writes header, then the rows that rows writes, as CSV to w
// through a 64 KiB buffer: the exports write many short rows. It returns
// the first error of rows, of a write, or of the final flushes (a CSV
// writer keeps a write error until it is flushed, and a buffered tail is
// written only then), so that a truncated export never reports success.
func writeCSV(w io.Writer, header []string, rows func(write func([]string) error) error) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	cw := csv.NewWriter(bw)
	if err := cw.Write(header); err != nil {
		return err
	}
	if err := rows(cw.Write); err != nil {
		return err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}
