package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"vigie"
	"vigie/mpi"
	"vigie/store"
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
	// The links are read straight from the store (mpi.WriteLinks): the
	// patient index is not opened, its in-memory mirror not rebuilt, and
	// the export holds a few parts of the key space at a time whatever the
	// store's size.
	db, err := openExistingStore(*data, exportCaches)
	if err != nil {
		return err
	}
	defer db.Close()
	// A bulk export of every record's link: audited as such, before a
	// row is written.
	if err := (operatorRead{Verb: "export links", What: "every source record with its identity"}).recordIn(db); err != nil {
		return err
	}
	w, closeOut, err := createOutput(*out, stdout)
	if err != nil {
		return err
	}
	defer closeOut()
	// Both cores read and format parts of the key space; w gets them in
	// key order (see mpi.WriteLinks).
	bw := bufio.NewWriterSize(w, 1<<16)
	if _, err := bw.WriteString(linksHeader); err != nil {
		return err
	}
	if err := mpi.WriteLinks(context.Background(), db, runtime.GOMAXPROCS(0), appendLinkRow, bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return closeOut()
}

// exportCaches are Badger's caches for a bulk export: it reads each table
// block once, in order, and a cache would only hold blocks never read
// again.
var exportCaches = cacheSizes{Block: 8 << 20, Index: 8 << 20}

// openExistingStore opens the store of a verb that reads it, with Badger's
// caches bounded by c: a folder that does not exist is refused (a
// mistyped path never becomes an empty store).
func openExistingStore(data string, c cacheSizes) (*store.DB, error) {
	if data == "" {
		return nil, usageErr("--data DIR is required")
	}
	if _, err := os.Stat(data); err != nil {
		return nil, usageErr("--data: %v", err)
	}
	return openStore(data, c.storeOptions(store.Options{}))
}

// exportLinks writes the CSV header and one row per source record of ix.
func exportLinks(ctx context.Context, ix *mpi.Index, w io.Writer) error {
	return writeLinks(ctx, ix.Links, w)
}

// linksHeader is the header line of `vigie export links`.
const linksHeader = "authority,local_id,identity\n"

// writeLinks writes the CSV header and one row per link each gives.
func writeLinks(ctx context.Context, each func(context.Context, func(vigie.SourceKey, vigie.IdentityID) error) error, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	if _, err := bw.WriteString(linksHeader); err != nil {
		return err
	}
	var row []byte
	err := each(ctx, func(k vigie.SourceKey, id vigie.IdentityID) error {
		row = appendLinkRow(row[:0], k, id)
		_, err := bw.Write(row)
		return err
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

// appendLinkRow appends the CSV row of one link. The rows are formatted
// by hand rather than through encoding/csv (the same bytes: see
// appendCSVField), which allocated a slice of three strings and the
// identity's digits for every row.
func appendLinkRow(b []byte, k vigie.SourceKey, id vigie.IdentityID) []byte {
	b = appendCSVField(b, k.Authority)
	b = append(b, ',')
	b = appendCSVField(b, k.LocalID)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(id), 10)
	return append(b, '\n')
}

// appendCSVField appends s as encoding/csv writes a field (comma
// separator, \n line ends): quoted, its quotes doubled, when it holds a
// quote, a comma, a line break, begins with a space, or is `\.`.
func appendCSVField(b []byte, s string) []byte {
	if !csvNeedsQuotes(s) {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// csvNeedsQuotes is encoding/csv's fieldNeedsQuotes for a comma separator.
func csvNeedsQuotes(s string) bool {
	if s == "" {
		return false
	}
	if s == `\.` || strings.ContainsAny(s, "\",\r\n") {
		return true
	}
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsSpace(r)
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
