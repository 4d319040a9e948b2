package mpi

import (
	"slices"
	"strings"
	"testing"

	"vigie"
)

// TestResolveStoresCleanText: what Admit cleans (NFC, zero-width
// characters, odd white space) is what the index stores, and sending the
// same record again changes nothing.
func TestResolveStoresCleanText(t *testing.T) {
	ix := openIndex(t, nil)
	r := person("1.2.250.1.1", "A1")
	r.BirthName, r.FirstName, r.City = "LAF\u200bFITTE", "Berna\u0301dette", "BORDEAUX\u00a0CEDEX"
	resolve(t, ix, r)
	hist, err := ix.History(ctx, key(r))
	if err != nil {
		t.Fatal(err)
	}
	got := hist[len(hist)-1].Record
	if got.BirthName != "LAFFITTE" || got.FirstName != "Bernádette" || got.City != "BORDEAUX CEDEX" {
		t.Fatalf("stored %q %q %q", got.BirthName, got.FirstName, got.City)
	}
	if res := resolve(t, ix, r); res.Decision != DecisionUnchanged {
		t.Fatalf("the same record again: %+v", res)
	}
}

// TestResolveKeepsUnreadableDate: issue 26 wants an impossible birth date
// stored verbatim, flagged in the result, and no evidence either way: the
// record still links on its other traits as one without a date would.
func TestResolveKeepsUnreadableDate(t *testing.T) {
	for _, date := range []string{"00/00/0000", "0000-00-00", "1945-04-93", "31/02/1980"} {
		t.Run(strings.ReplaceAll(date, "/", "-"), func(t *testing.T) {
			ix := openIndex(t, nil)
			a := resolve(t, ix, person("1.2.250.1.1", "A1"))
			b := person("1.2.250.1.2", "B1")
			b.BirthDate = date
			nb := person("1.2.250.1.3", "C1")
			nb.BirthDate = ""
			res := resolve(t, ix, b)
			if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "birth_date") || !strings.Contains(res.Warnings[0], "not used for matching") {
				t.Fatalf("warnings %q", res.Warnings)
			}
			hist, err := ix.History(ctx, key(b))
			if err != nil || hist[len(hist)-1].Record.BirthDate != date {
				t.Fatalf("stored %+v, %v", hist, err)
			}
			without := resolve(t, ix, nb)
			same := (res.Identity == a.Identity) == (without.Identity == a.Identity) && res.Decision == without.Decision
			if !same || res.Score == nil || without.Score == nil || res.Score.Weight != without.Score.Weight {
				t.Fatalf("unreadable date: %v %v; no date: %v %v", res.Decision, res.Score, without.Decision, without.Score)
			}
		})
	}
}

// TestResolveOldDateGoesToReview: a birth date before 1900 is taken, with a
// warning, but never links by itself.
func TestResolveOldDateGoesToReview(t *testing.T) {
	ix := openIndex(t, nil)
	a := person("1.2.250.1.1", "A1")
	a.BirthDate = "1800-01-01"
	resolve(t, ix, a)
	b := a
	b.Authority, b.LocalID = "1.2.250.1.2", "B1"
	res := resolve(t, ix, b)
	if res.Decision == DecisionLinked || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "review") {
		t.Fatalf("%v, warnings %q", res.Decision, res.Warnings)
	}
}

// TestImportWarnsAndRefusesAsResolve: a bulk load applies the same door.
func TestImportWarnsAndRefusesAsResolve(t *testing.T) {
	ix := openIndex(t, nil)
	bad := person("1.2.250.1.1", "A1")
	bad.BirthName = "LAFFITTE\x00"
	odd := person("1.2.250.1.1", "A2")
	odd.BirthDate = "31/02/1980"
	var out []Imported
	err := ix.Import(ctx, func(emit func(Row) error) error {
		for i, r := range []vigie.Record{bad, odd} {
			if err := emit(Row{Line: i + 2, Record: r}); err != nil {
				return err
			}
		}
		return nil
	}, ImportOptions{Done: func(o Imported) error { out = append(out, o); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || vigie.ErrorField(out[0].Err) != "birth_name" || out[1].Err != nil ||
		!slices.ContainsFunc(out[1].Result.Warnings, func(w string) bool { return strings.Contains(w, "birth_date") }) {
		t.Fatalf("%+v", out)
	}
}
