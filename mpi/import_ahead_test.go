package mpi

import (
	"reflect"
	"testing"

	"vigie/matcher"
)

// TestCompareAhead checks that a worker compares a row with every member
// of the identities its blocking keys reach, and that each comparison is
// the one the decision would make itself (so that taking it changes no
// decision), and that a row without blocking keys gets none.
func TestCompareAhead(t *testing.T) {
	ix := openIndex(t, nil)
	a := resolve(t, ix, person("1.2.3", "A1"))
	b := person("1.2.4", "B1")
	b.Phone = "0556000000" // another member of the same identity
	if res := resolve(t, ix, b); res.Identity != a.Identity {
		t.Fatalf("setup: B1 not linked to A1's identity (%+v)", res)
	}
	resolve(t, ix, other("1.2.5", "C1"))
	l := newLoader(ix, ImportOptions{})

	r, err := prepareRow(person("1.2.6", "D1"), System)
	if err != nil {
		t.Fatal(err)
	}
	got := l.compareAhead(r)
	if len(got) != 2 {
		t.Fatalf("%d comparisons made ahead, want 2 (A1 and B1)", len(got))
	}
	tx := &tx{x: ix}
	for _, k := range []string{"A1", "B1"} {
		sk := key(person("1.2.3", k))
		if k == "B1" {
			sk = key(b)
		}
		ord, ok := ix.keys.find(sk)
		if !ok {
			t.Fatalf("%s not mirrored", k)
		}
		c, ok := got[aheadKey(ord, 1)]
		if !ok {
			t.Fatalf("no comparison ahead with %s", k)
		}
		mp, err := tx.prepared(sk, ord, 1)
		if err != nil {
			t.Fatal(err)
		}
		want := matcher.Compare(r.p, mp)
		if c.A != r.p || !reflect.DeepEqual(c.Levels, want.Levels) || c.NameValue != want.NameValue ||
			c.FirstValue != want.FirstValue || c.Notes != want.Notes || !reflect.DeepEqual(*c.B, *mp) {
			t.Errorf("comparison ahead with %s differs from the decision's:\n ahead %+v\n now   %+v", k, c.Levels, want.Levels)
		}
	}

	lone, err := prepareRow(other("1.2.6", "E1"), System)
	if err != nil {
		t.Fatal(err)
	}
	lone.keys, lone.blocks = nil, nil // as a record with no trait to block on
	if got := l.compareAhead(lone); got != nil {
		t.Errorf("a row without blocking keys got %d comparisons", len(got))
	}
}
