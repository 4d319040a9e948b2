package main

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"

	"vigie"
)

// sampleRecords writes to out the records of persons drawn at random
// (seed) from the identity CSV at path, every record of each person drawn,
// until n records are written, and returns the truth of the sample. A
// sample of persons keeps what makes a small population hard: every
// record of a person is there, as in a small hospital's index, so the
// records per person, and the share of pairs that match, are the data
// set's own; only the population is smaller.
func sampleRecords(path, out string, truth map[vigie.SourceKey]string, n int, seed uint64) (map[vigie.SourceKey]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	ai, okA := col["authority"]
	li, okL := col["local_id"]
	if !okA || !okL {
		return nil, fmt.Errorf("%s: columns authority and local_id are required", path)
	}
	byPerson := map[string][][]string{}
	var persons []string
	for {
		row, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if ai >= len(row) || li >= len(row) {
			continue
		}
		p, ok := truth[vigie.SourceKey{Authority: row[ai], LocalID: row[li]}]
		if !ok {
			continue
		}
		if _, seen := byPerson[p]; !seen {
			persons = append(persons, p)
		}
		byPerson[p] = append(byPerson[p], row)
	}
	slices.Sort(persons)
	rng := rand.New(rand.NewPCG(seed, seed^0x5bd1e995))
	rng.Shuffle(len(persons), func(i, j int) { persons[i], persons[j] = persons[j], persons[i] })
	chosen := map[string]bool{}
	written := 0
	for _, p := range persons {
		if written >= n {
			break
		}
		chosen[p] = true
		written += len(byPerson[p])
	}
	// Written in the file's own order: the order records arrive in is
	// part of the data set.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	r = csv.NewReader(bufio.NewReader(f))
	r.FieldsPerRecord = -1
	o, err := os.Create(out)
	if err != nil {
		return nil, err
	}
	w := csv.NewWriter(o)
	sub := map[vigie.SourceKey]string{}
	first := true
	for {
		row, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			o.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if !first {
			if ai >= len(row) || li >= len(row) {
				continue
			}
			k := vigie.SourceKey{Authority: row[ai], LocalID: row[li]}
			if !chosen[truth[k]] {
				continue
			}
			sub[k] = truth[k]
		}
		first = false
		if err := w.Write(row); err != nil {
			o.Close()
			return nil, err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		o.Close()
		return nil, err
	}
	return sub, o.Close()
}
