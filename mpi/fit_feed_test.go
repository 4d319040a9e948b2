package mpi

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"vigie"
	"vigie/matcher"
)

// TestFitModelOnSample checks that fitting on a feed's sample taken by
// the caller (FitOptions.Feed, as `vigie import identities` does, so as
// not to hold a whole feed) gives the model fitting on the whole feed
// gives: the same file, but for the last bits of the probabilities (EM
// itself sums in no fixed order: two fits of the same feed differ there).
func TestFitModelOnSample(t *testing.T) {
	var recs []vigie.Record
	for _, r := range feedRows(t, 2500, 11) {
		if r.Err == nil {
			recs = append(recs, r.Record)
		}
	}
	o := FitOptions{MinRecords: 100, MaxRecords: 1500, RandomPairs: 20000}
	stride := FitStride(len(recs), o)
	if stride < 2 {
		t.Fatalf("setup: %d records give a stride of %d: nothing sampled", len(recs), stride)
	}
	var sample []vigie.Record
	for i := 0; i < len(recs); i += stride {
		sample = append(sample, recs[i])
	}
	whole, wrep, err := FitModel(recs, matcher.DefaultModel(), o)
	if err != nil {
		t.Fatal(err)
	}
	o.Feed = len(recs)
	sampled, srep, err := FitModel(sample, matcher.DefaultModel(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !wrep.Fitted || wrep.Records != srep.Records || wrep.Sampled != srep.Sampled {
		t.Fatalf("reports differ: whole %d records (%d sampled, fitted %v), sample %d (%d)", wrep.Records, wrep.Sampled, wrep.Fitted, srep.Records, srep.Sampled)
	}
	a, err := json.Marshal(whole)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(sampled)
	if err != nil {
		t.Fatal(err)
	}
	var wa, wb any
	if err := json.Unmarshal(a, &wa); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &wb); err != nil {
		t.Fatal(err)
	}
	if path, ok := sameJSON(wa, wb, "model"); !ok {
		t.Errorf("the model fitted on the caller's sample differs from the one fitted on the whole feed at %s", path)
	}
}

// sameJSON compares two decoded JSON values, numbers within a relative
// 1e-9; it returns where they first differ.
func sameJSON(a, b any, path string) (string, bool) {
	switch a := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok || len(a) != len(bm) {
			return path, false
		}
		for k, v := range a {
			if p, ok := sameJSON(v, bm[k], path+"."+k); !ok {
				return p, false
			}
		}
	case []any:
		bs, ok := b.([]any)
		if !ok || len(a) != len(bs) {
			return path, false
		}
		for i := range a {
			if p, ok := sameJSON(a[i], bs[i], fmt.Sprintf("%s[%d]", path, i)); !ok {
				return p, false
			}
		}
	case float64:
		bf, ok := b.(float64)
		if !ok || math.Abs(a-bf) > 1e-9*max(math.Abs(a), math.Abs(bf)) {
			return path, false
		}
	default:
		if a != b {
			return path, false
		}
	}
	return "", true
}

// Below the population floor a feed may expect as many false links in all
// as a feed at the floor: the precision asked falls in proportion.
func TestSmallFeedTarget(t *testing.T) {
	for _, tc := range []struct {
		name     string
		n, floor int
		want     float64
	}{
		{"at the floor", 10000, 10000, 0.99999},
		{"above it", 37000, 10000, 0.99999},
		{"a tenth of it", 1000, 10000, 0.9999},
		{"half of it", 5000, 10000, 0.99998},
		{"no record", 0, 10000, 0.99999},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SmallFeedTarget(0.99999, tc.n, tc.floor); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("target %.6f, want %.6f", got, tc.want)
			}
		})
	}
}
