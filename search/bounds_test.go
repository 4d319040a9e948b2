package search

import (
	"strings"
	"testing"

	"vigie"
	"vigie/matcher"
)

// Bounds the tests below hold the index to, per member record and per
// query, whatever the values: far above what a real identity makes (a
// few dozen terms), far below what a huge value made before the bounds
// (a 1 MiB name: a million deletion strings of a megabyte each).
const (
	maxTermsPerMember     = 8192
	maxTermBytesPerMember = 512 << 10
	maxDeletionTerms      = 1024
	maxQueryKeys          = 2048
	maxQueryKeyBytes      = 256 << 10
)

// hugeValues are records far over any door's limit, as an old store may
// hold them.
func hugeValues() []struct {
	name string
	rec  vigie.Record
} {
	mib := strings.Repeat("MARTINEZ", 1<<20/8)
	tokens := strings.TrimSpace(strings.Repeat("BERNARDIN ", 10000))
	return []struct {
		name string
		rec  vigie.Record
	}{
		{"1 MiB birth name", rec("1.2.3", "1", mib, "", "JEAN", "1961-04-09", "M")},
		{"1 MiB birth and used names, no spaces", rec("1.2.3", "1", mib, mib+"X", mib, "1961-04-09", "M")},
		{"10,000 tokens", rec("1.2.3", "1", tokens, tokens, tokens, "1961-04-09", "M")},
		{"10,000 first names", rec("1.2.3", "1", "DUPONT", "", tokens, "1961-04-09", "M")},
		{"500 KB token of 33 letters repeated", rec("1.2.3", "1", strings.Repeat("ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFG-", 15000), "", "", "", "")},
	}
}

// Regression of issue 26, defect 1: a 1 MiB birth name kept the follower
// in its deletion neighbourhood (n strings of n bytes) for more than ten
// minutes. The terms of one member are counted, in number and bytes.
func TestDocumentTermsBounded(t *testing.T) {
	for _, c := range hugeValues() {
		t.Run(c.name, func(t *testing.T) {
			var s termSet
			entryTerms(&Entry{ID: "1", Members: []vigie.Record{c.rec}}, &s)
			n, size := 0, 0
			for _, list := range s.terms {
				n += len(list)
				for _, v := range list {
					size += len(v)
				}
			}
			if n > maxTermsPerMember || size > maxTermBytesPerMember {
				t.Errorf("%d terms of %d bytes, bounds %d and %d", n, size, maxTermsPerMember, maxTermBytesPerMember)
			}
			if d := len(s.terms[fNameDel]); d > maxDeletionTerms {
				t.Errorf("%d typo keys, bound %d", d, maxDeletionTerms)
			}
			if _, err := toDocument(&Entry{ID: "1", Members: []vigie.Record{c.rec}}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Regression of issue 26, defect 1: a 500 KB name in a search never
// answered. The keys of a query are counted, in number and bytes.
//
// A query passes the door now (Validate refuses these values), so the
// keys are built below it, from the query prepared as Validate prepared
// it before the door (matcher.Prepare alone): the bound holds whatever
// the door lets through.
func TestQueryKeysBounded(t *testing.T) {
	for _, c := range hugeValues() {
		t.Run(c.name, func(t *testing.T) {
			q := Query{BirthName: c.rec.BirthName, UsedName: c.rec.UsedName, FirstNames: c.rec.FirstNames, BirthDate: c.rec.BirthDate}
			r := q.record()
			p, err := matcher.Prepare(&r)
			if err != nil {
				t.Fatal(err)
			}
			keys := queryKeys(&q, p)
			size := 0
			for _, k := range keys {
				size += len(k.term)
			}
			if len(keys) > maxQueryKeys || size > maxQueryKeyBytes {
				t.Errorf("%d keys of %d bytes, bounds %d and %d", len(keys), size, maxQueryKeys, maxQueryKeyBytes)
			}
		})
	}
}

func TestDeletionsBounded(t *testing.T) {
	for _, c := range []struct {
		token string
		want  int // deletion strings
	}{
		{"ABC", 0},
		{"ABCD", 4},
		{"AABB", 2},
		{strings.Repeat("ABCDEFGH", 4), maxDeletion},
		{strings.Repeat("ABCDEFGH", 4) + "X", 0},
		{strings.Repeat("A", 1<<20), 0},
	} {
		if got := len(deletions(c.token)); got != c.want {
			t.Errorf("deletions of a token of %d bytes: %d, want %d", len(c.token), got, c.want)
		}
	}
}

func TestFirstNameFields(t *testing.T) {
	for _, c := range []struct {
		s     string
		n     int
		comma bool
		want  []string
	}{
		{"Jean  Pierre\tMarc", 10, false, []string{"Jean", "Pierre", "Marc"}},
		{"Jean,Pierre", 10, false, []string{"Jean,Pierre"}},
		{"Jean,Pierre", 10, true, []string{"Jean", "Pierre"}},
		{" ,Jean, Pierre ", 1, true, []string{"Jean"}},
		{"Jean\u00a0Pierre", 10, false, []string{"Jean", "Pierre"}},
		{strings.Repeat("A ", 1<<19), 3, false, []string{"A", "A", "A"}},
		{"", 3, false, nil},
	} {
		got := firstNameFields(c.s, c.n, c.comma)
		if strings.Join(got, "|") != strings.Join(c.want, "|") || len(got) != len(c.want) {
			t.Errorf("firstNameFields(%.20q, %d, %v) = %q, want %q", c.s, c.n, c.comma, got, c.want)
		}
	}
}
