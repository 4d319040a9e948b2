package matcher

import (
	"strings"
	"testing"
	"unicode/utf8"

	"vigie"
)

// Regression of issue 26 (defect 1: a 1 MiB birth name kept the search
// index's follower busy for more than ten minutes): whatever a record
// holds, its comparison form, its phonetic keys and the explanation of a
// comparison stay within the bounds of bounds.go. Sizes are counted, not
// timed.
func TestBoundedWorkOnHugeValues(t *testing.T) {
	mib := strings.Repeat("MARTIN", 1<<20/6)
	manyTokens := strings.Repeat("DE LA ", 5000) // 10,000 tokens
	cases := []struct {
		name string
		rec  vigie.Record
	}{
		{"1 MiB birth name", vigie.Record{BirthName: mib, FirstName: "JEAN"}},
		{"10,000 tokens", vigie.Record{BirthName: manyTokens + "FONTAINE", UsedName: manyTokens}},
		{"10,000 first names", vigie.Record{BirthName: "DUPONT", FirstNames: strings.Repeat("JEAN, ", 10000)}},
		{"marital pattern far away", vigie.Record{BirthName: strings.Repeat("A ", 1<<19) + "EPOUSE MARTIN"}},
		{"1 MiB of accents", vigie.Record{BirthName: strings.Repeat("É", 1<<19), FirstName: strings.Repeat("Ç", 1<<19)}},
		{"1 MiB address", vigie.Record{BirthName: "DUPONT", Address: strings.Repeat("12 RUE DE LA PAIX ", 1<<16), City: mib, PostalCode: "33000"}},
		{"particle chain failing at the end", vigie.Record{BirthName: strings.Repeat("DEL", 40) + "Q FONTAINE", UsedName: "FONTAINE"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.rec.Authority, c.rec.LocalID = "1.2.3", "1"
			p, err := Prepare(&c.rec)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range append([]Name{p.Birth, p.Used, p.First}, p.List...) {
				if len(n.Folded) > MaxNameBytes || len(n.Glued) > MaxNameBytes || len(n.CoreGlued) > MaxNameBytes {
					t.Errorf("name of %d bytes kept, the bound is %d", max(len(n.Folded), len(n.Glued), len(n.CoreGlued)), MaxNameBytes)
				}
				if len(n.Tokens) > MaxNameTokens || len(n.Core) > MaxNameTokens {
					t.Errorf("%d tokens kept, the bound is %d", len(n.Tokens), MaxNameTokens)
				}
				if !utf8.ValidString(n.Folded) {
					t.Errorf("the cut name %q is not valid UTF-8", n.Folded)
				}
			}
			if len(p.List) > MaxFirstNames {
				t.Errorf("%d first names kept, the bound is %d", len(p.List), MaxFirstNames)
			}
			if len(p.Address) > 2*MaxAddressBytes || len(p.City) > MaxAddressBytes {
				t.Errorf("address of %d bytes and city of %d kept", len(p.Address), len(p.City))
			}
			// Comparing with itself and with another record runs every
			// comparator (Jaro-Winkler on the bounded forms); the
			// explanation is made of the bounded forms.
			other := vigie.Record{Authority: "1.2.3", LocalID: "2", BirthName: "MARTINE", FirstName: "JEANNE", Address: "12 RUE DE LA PAIX", PostalCode: "33000"}
			q, err := Prepare(&other)
			if err != nil {
				t.Fatal(err)
			}
			for _, pair := range [][2]*Prepared{{p, p}, {p, q}, {q, p}} {
				c := Compare(pair[0], pair[1])
				s := DefaultModel().Score(&c, nil)
				if n := len(s.Table()); n > 16*MaxNameBytes+2048 {
					t.Errorf("explanation of %d bytes", n)
				}
				for _, r := range s.Reasons() {
					if len(r) > 64 {
						t.Errorf("reason of %d bytes", len(r))
					}
				}
			}
		})
	}
}

// The phonetic encoders read at most MaxPhoneticLetters letters: the key of
// a huge input is the key of its prefix.
func TestPhoneticKeysOfBoundedInput(t *testing.T) {
	prefix := strings.Repeat("GAUTHIER", MaxPhoneticLetters/8)
	huge := prefix + strings.Repeat("XAVIER", 1<<18)
	for _, enc := range []struct {
		name string
		f    func(string) string
	}{{"Soundex2", Soundex2}, {"Phonex", Phonex}} {
		if got, want := enc.f(huge), enc.f(prefix); got != want {
			t.Errorf("%s of a huge name = %q, want the key of its first %d letters %q", enc.name, got, MaxPhoneticLetters, want)
		}
	}
}

func TestIsParticleChain(t *testing.T) {
	for _, c := range []struct {
		s    string
		want bool
	}{
		{"", true},
		{"DE", true},
		{"DELA", true},
		{"DEL", true},
		{"VANDER", true},
		{"DEQ", false},
		// DEL reads as DEL, DE+L and D+EL: a recursive search tried 3^40
		// ways before failing on the final Q.
		{strings.Repeat("DEL", 40) + "Q", false},
		{strings.Repeat("DEL", 40), true},
		{strings.Repeat("DEL", 1<<16) + "Q", false},
	} {
		if got := isParticleChain(c.s); got != c.want {
			t.Errorf("isParticleChain(%.20q…) = %v, want %v", c.s, got, c.want)
		}
	}
}

// SplitMarital joins the two sides once, when it finds a marker: a field of
// many tokens costs a pass, not a join per token.
func TestSplitMaritalManyTokens(t *testing.T) {
	long := strings.TrimSpace(strings.Repeat("A ", 10000))
	b, u, ok := SplitMarital(long + " EPOUSE MARTIN")
	if !ok || b != long || u != "MARTIN" {
		t.Errorf("SplitMarital(10,000 tokens EPOUSE MARTIN) = %.20q…, %q, %v", b, u, ok)
	}
	if _, _, ok := SplitMarital(long); ok {
		t.Error("a field without a marker was split")
	}
}
