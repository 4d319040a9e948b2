// Package linkeval measures record-linkage accuracy: it loads labelled data
// sets (Vigie's generated populations, FEBRL), blocks them, trains and scores
// candidate pairs with the matcher, and counts pairwise precision and recall.
// The `vigie bench match` verb prints its reports.
package linkeval

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"vigie"
	"vigie/ingest"
	"vigie/matcher"
)

// Dataset is a labelled set of records.
type Dataset struct {
	Name    string
	Records []vigie.Record
	Entity  []string // true person of each record
	Side    []int8   // for linking two files: which file (0 or 1)
	// Link is true when only pairs across the two sides count (FEBRL 4a↔4b);
	// false for deduplication of one set.
	Link bool
}

// LoadGenerated reads the records.csv and truth.csv that `vigie gen
// identities` writes in dir.
func LoadGenerated(dir string) (*Dataset, error) {
	truth, err := readTruth(filepath.Join(dir, "truth.csv"))
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(dir, "records.csv"))
	if err != nil {
		return nil, fmt.Errorf("linkeval: %w", err)
	}
	defer f.Close()
	d := &Dataset{Name: filepath.Base(dir)}
	err = ingest.ReadIdentityCSV(f, func(line int, rec vigie.Record, rerr error) error {
		if rerr != nil {
			return rerr
		}
		person, ok := truth[rec.Authority+"\x00"+rec.LocalID]
		if !ok {
			return fmt.Errorf("linkeval: line %d: %s/%s has no truth row", line, rec.Authority, rec.LocalID)
		}
		d.Records = append(d.Records, rec)
		d.Entity = append(d.Entity, person)
		d.Side = append(d.Side, 0)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

func readTruth(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("linkeval: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("linkeval: %s: %w", path, err)
	}
	if strings.Join(head, ",") != "authority,local_id,person" {
		return nil, fmt.Errorf("linkeval: %s: header must be authority,local_id,person", path)
	}
	m := map[string]string{}
	for {
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			return m, nil
		}
		if err != nil {
			return nil, fmt.Errorf("linkeval: %s: %w", path, err)
		}
		m[row[0]+"\x00"+row[1]] = row[2]
	}
}

// LoadFEBRL4 reads FEBRL's dataset4a and dataset4b (5,000 records each, one
// true match per record across the files). FEBRL is Australian and English
// speaking: surname, given name, date of birth, postcode, suburb and street
// address map onto the French traits; a date that is not a calendar date
// (FEBRL corrupts some) is kept as missing, as a hospital would refuse it.
func LoadFEBRL4(fileA, fileB string) (*Dataset, error) {
	d := &Dataset{Name: "febrl4", Link: true}
	for side, path := range []string{fileA, fileB} {
		if err := readFEBRL(path, int8(side), d); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func readFEBRL(path string, side int8, d *Dataset) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("linkeval: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.TrimLeadingSpace = true
	head, err := r.Read()
	if err != nil {
		return fmt.Errorf("linkeval: %s: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(h)] = i
	}
	for _, c := range []string{"rec_id", "given_name", "surname", "street_number", "address_1", "suburb", "postcode", "date_of_birth"} {
		if _, ok := col[c]; !ok {
			return fmt.Errorf("linkeval: %s: column %s missing", path, c)
		}
	}
	for {
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("linkeval: %s: %w", path, err)
		}
		get := func(c string) string { return strings.TrimSpace(row[col[c]]) }
		id := get("rec_id")
		// rec-123-org and rec-123-dup-0 are the same person.
		parts := strings.Split(id, "-")
		if len(parts) < 3 {
			return fmt.Errorf("linkeval: %s: rec_id %q is not rec-N-org or rec-N-dup-K", path, id)
		}
		dob := get("date_of_birth")
		if _, err := matcher.ParseDate(dob); err != nil {
			dob = ""
		}
		d.Records = append(d.Records, vigie.Record{
			Authority:  fmt.Sprintf("febrl4%c", 'a'+side),
			LocalID:    id,
			BirthName:  get("surname"),
			FirstName:  get("given_name"),
			BirthDate:  dob,
			PostalCode: get("postcode"),
			City:       get("suburb"),
			Address:    strings.TrimSpace(get("street_number") + " " + get("address_1")),
		})
		d.Entity = append(d.Entity, parts[1])
		d.Side = append(d.Side, side)
	}
}

// TruePairs counts the pairs of records of the same person that count for
// this data set (across sides when linking).
func (d *Dataset) TruePairs() int {
	bySide := map[string][2]int{}
	for i, e := range d.Entity {
		c := bySide[e]
		c[d.Side[i]]++
		bySide[e] = c
	}
	n := 0
	for _, c := range bySide {
		if d.Link {
			n += c[0] * c[1]
		} else {
			k := c[0] + c[1]
			n += k * (k - 1) / 2
		}
	}
	return n
}
