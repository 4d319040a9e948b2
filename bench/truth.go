package bench

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"vigie"
	"vigie/linkeval"
	"vigie/matcher"
	"vigie/mpi"
)

// ReadTruth reads the truth.csv of `vigie gen identities`: the true person
// of every source record.
func ReadTruth(path string) (map[vigie.SourceKey]string, error) { return readKeyed(path, "person") }

// ReadLinks reads a links.csv of `vigie export links`: the identity of
// every source record.
func ReadLinks(path string) (map[vigie.SourceKey]string, error) { return readKeyed(path, "identity") }

// readKeyed reads a CSV authority,local_id,COLUMN into a map.
func readKeyed(path, column string) (map[vigie.SourceKey]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil || len(head) != 3 || head[0] != "authority" || head[1] != "local_id" || head[2] != column {
		return nil, fmt.Errorf("%s: the header must be authority,local_id,%s", path, column)
	}
	out := map[vigie.SourceKey]string{}
	for {
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out[vigie.SourceKey{Authority: row[0], LocalID: row[1]}] = row[2]
	}
}

// PrintExamples explains a few collisions and splits: the score of the two
// records concerned, as the matcher sees them.
func PrintExamples(ctx context.Context, ix *mpi.Index, a linkeval.Clusters[vigie.SourceKey], truth map[vigie.SourceKey]string, n int, w io.Writer) error {
	explain := func(title string, k1, k2 vigie.SourceKey) error {
		h1, err := ix.Latest(ctx, k1)
		if err != nil {
			return err
		}
		h2, err := ix.Latest(ctx, k2)
		if err != nil {
			return err
		}
		p1, err1 := matcher.Prepare(&h1.Record)
		p2, err2 := matcher.Prepare(&h2.Record)
		if err1 != nil || err2 != nil {
			return errors.Join(err1, err2)
		}
		c := matcher.Compare(p1, p2)
		s := ix.Model().WithPopulation(max(ix.Count(), 10000)).Score(&c, nil)
		fmt.Fprintf(w, "\n%s: %s (%s) and %s (%s)\n%s", title, k1, truth[k1], k2, truth[k2], s.Table())
		return nil
	}
	for i, id := range a.Collisions {
		if i >= n {
			break
		}
		ks := a.Members[id]
		for j := 1; j < len(ks); j++ {
			if truth[ks[j]] != truth[ks[0]] {
				if err := explain("collision in identity "+id, ks[0], ks[j]); err != nil {
					return err
				}
				break
			}
		}
	}
	for i, p := range a.Splits {
		if i >= n {
			break
		}
		ks := a.Holdings[p]
		id0, err := ix.IdentityOf(ctx, ks[0].Authority, ks[0].LocalID)
		if err != nil {
			return err
		}
		for j := 1; j < len(ks); j++ {
			id, err := ix.IdentityOf(ctx, ks[j].Authority, ks[j].LocalID)
			if err != nil {
				return err
			}
			if id != id0 {
				if err := explain("split of person "+p, ks[0], ks[j]); err != nil {
					return err
				}
				break
			}
		}
	}
	return nil
}

// ResolveOnline resolves rows one Resolve each, as the API does, and prints
// their latency: the online resolution at the size the bulk load reached.
func ResolveOnline(ctx context.Context, ix *mpi.Index, rows []mpi.Row, stdout, stderr io.Writer) error {
	var lat []time.Duration
	decisions := map[mpi.Decision]int{}
	for _, r := range rows {
		if r.Err != nil {
			fmt.Fprintf(stderr, "line %d: rejected: field %s: %v\n", r.Line, vigie.ErrorField(r.Err), r.Err)
			continue
		}
		t := time.Now()
		res, err := ix.Resolve(ctx, r.Record, mpi.System)
		d := time.Since(t)
		switch {
		case vigie.ErrorCode(err) == vigie.EINVALID:
			fmt.Fprintf(stderr, "line %d: rejected: field %s: %v\n", r.Line, vigie.ErrorField(err), err)
			continue
		case err != nil:
			return fmt.Errorf("line %d: %w", r.Line, err)
		}
		lat = append(lat, d)
		decisions[res.Decision]++
	}
	if len(lat) == 0 {
		return nil
	}
	slices.Sort(lat)
	fmt.Fprintf(stdout, "online resolve after the load (%d rows, one transaction each, no sync): p50 %s, p99 %s, max %s; %d new, %d linked, %d review\n",
		len(lat), Percentile(lat, 0.50), Percentile(lat, 0.99), lat[len(lat)-1], decisions[mpi.DecisionNew], decisions[mpi.DecisionLinked], decisions[mpi.DecisionReview])
	return nil
}
