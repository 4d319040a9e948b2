package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"

	"vigie"
)

// csvLinks writes links as encoding/csv does: what writeLinks must match
// byte for byte.
func csvLinks(t testing.TB, links [][3]string) string {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"authority", "local_id", "identity"})
	for _, l := range links {
		_ = w.Write(l[:])
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func writeLinksOf(t testing.TB, links [][3]string) string {
	var b bytes.Buffer
	err := writeLinks(context.Background(), func(_ context.Context, fn func(vigie.SourceKey, vigie.IdentityID) error) error {
		for _, l := range links {
			id, err := vigie.ParseIdentityID(l[2])
			if err != nil {
				return err
			}
			if err := fn(vigie.SourceKey{Authority: l[0], LocalID: l[1]}, id); err != nil {
				return err
			}
		}
		return nil
	}, &b)
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestWriteLinksAsEncodingCSV(t *testing.T) {
	links := [][3]string{
		{"1.2.250.1.999.1", "000123", "1"},
		{"1.2.250.1.999.1", "A,77", "18446744073709551615"},
		{"1.2.250.1.999.2", `say "hi"`, "2"},
		{"1.2.250.1.999.2", " lead", "3"},
		{"1.2.250.1.999.2", "\u00a0nbsp", "3"},
		{"1.2.250.1.999.2", `\.`, "4"},
		{"1.2.250.1.999.2", "two\nlines\r", "5"},
		{"", "", "6"},
		{"1.2.250.1.999.3", "Hélène", "7"},
	}
	got, want := writeLinksOf(t, links), csvLinks(t, links)
	if got != want {
		t.Errorf("writeLinks:\n%s\nencoding/csv:\n%s", got, want)
	}
	if !strings.Contains(got, `"A,77"`) || !strings.Contains(got, `"say ""hi"""`) {
		t.Errorf("fields with a comma or quotes are not quoted:\n%s", got)
	}
}

func FuzzAppendCSVField(f *testing.F) {
	for _, s := range []string{"", "x", "a,b", `"`, " x", `\.`, "\r", "\u2028", "é"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, a, l string) {
		links := [][3]string{{a, l, "42"}}
		if got, want := writeLinksOf(t, links), csvLinks(t, links); got != want {
			t.Errorf("%q, %q: writeLinks %q, encoding/csv %q", a, l, got, want)
		}
	})
}
