// Package ingest turns outside formats (identity feeds, DICOM files) into
// records for the patient index and the dose ledger. It stores nothing
// itself.
package ingest

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"vigie"
	"vigie/matcher"
)

// IdentityColumns are the columns of an identity CSV feed, in the order
// `vigie gen identities` writes them. Only authority and local_id are
// required; unknown columns are ignored.
var IdentityColumns = []string{"authority", "local_id", "ins", "ins_oid", "status", "birth_name",
	"used_name", "first_names", "first_name", "birth_date", "sex", "birth_place", "postal_code",
	"city", "address", "phone"}

// RowError is a rejected CSV row: its line number and the reason, which
// names the field.
type RowError struct {
	Line int
	Err  error
}

func (e *RowError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *RowError) Unwrap() error { return e.Err }

// ReadIdentityCSV reads an identity feed with a header line and calls fn for
// every row with its line number. A row that cannot be read into a record
// (missing authority or local id) reaches fn with a *RowError and a zero
// record; fn decides whether to go on. The error returned is fn's, or a
// *vigie.Error for a file that is not such a feed at all.
func ReadIdentityCSV(r io.Reader, fn func(line int, rec matcher.Record, err error) error) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return vigie.Invalid("header", "the file is empty: a header line naming the columns is required")
		}
		return vigie.Invalid("header", "cannot read the header line: %v", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	for _, req := range []string{"authority", "local_id"} {
		if _, ok := col[req]; !ok {
			return vigie.Invalid("header", "column %q is required (found %s)", req, strings.Join(header, ","))
		}
	}
	idx := make([]int, len(IdentityColumns))
	for i, c := range IdentityColumns {
		idx[i] = -1
		if j, ok := col[c]; ok {
			idx[i] = j
		}
	}
	for {
		row, err := cr.Read()
		line, _ := cr.FieldPos(0)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			if ferr := fn(line, matcher.Record{}, &RowError{line, vigie.Invalid("row", "%v", err)}); ferr != nil {
				return ferr
			}
			continue
		}
		get := func(k int) string {
			if j := idx[k]; j >= 0 && j < len(row) {
				return strings.TrimSpace(row[j])
			}
			return ""
		}
		rec := matcher.Record{
			Authority: get(0), LocalID: get(1), INS: get(2), INSOID: get(3), Status: strings.ToUpper(get(4)),
			BirthName: get(5), UsedName: get(6), FirstNames: get(7), FirstName: get(8), BirthDate: get(9),
			Sex: get(10), BirthPlace: get(11), PostalCode: get(12), City: get(13), Address: get(14), Phone: get(15),
		}
		var rerr error
		switch {
		case rec.Authority == "":
			rerr = &RowError{line, vigie.Invalid("authority", "the assigning authority is empty")}
		case rec.LocalID == "":
			rerr = &RowError{line, vigie.Invalid("local_id", "the local id is empty")}
		}
		if rerr != nil {
			rec = matcher.Record{}
		}
		if err := fn(line, rec, rerr); err != nil {
			return err
		}
	}
}
