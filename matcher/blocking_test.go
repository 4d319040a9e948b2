package matcher

import (
	"strings"
	"testing"

	"vigie"
)

func keysOf(t *testing.T, r vigie.Record) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, k := range BlockingKeys(prep(t, r)) {
		out[k.Rule] = k.Value
	}
	return out
}

func TestBlockingKeysAddressUsesStreetName(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"12 RUE DES ACACIAS", "33000|ACACIA"},
		{"3 bis av. de la Libération", "33000|LIBERA"},
		{"LIEU-DIT LES GRANGES", "33000|GRANGE"},
		{"12 RUE", ""}, // a street type alone says nothing
	} {
		got := keysOf(t, vigie.Record{BirthName: "MARTIN", PostalCode: "33000", Address: tc.addr})[BlockAddress]
		if got != tc.want {
			t.Errorf("address key of %q = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

// Each kind of error a record may carry still leaves it sharing at least one
// key with the correct record.
func TestBlockingKeysSurviveOneError(t *testing.T) {
	ok := vigie.Record{BirthName: "DE LA FONTAINE", FirstName: "JEAN-PIERRE", BirthDate: "1961-04-09", Sex: "M", PostalCode: "33000", Address: "4 RUE SAINTE-CATHERINE"}
	with := func(f func(*vigie.Record)) vigie.Record { r := ok; f(&r); return r }
	for name, bad := range map[string]vigie.Record{
		"name typo":         with(func(r *vigie.Record) { r.BirthName = "DE LA FONTIANE" }),
		"day/month swapped": with(func(r *vigie.Record) { r.BirthDate = "1961-09-04" }),
		"year slip":         with(func(r *vigie.Record) { r.BirthDate = "1962-04-09" }),
		"names swapped":     with(func(r *vigie.Record) { r.BirthName, r.FirstName = "JEAN-PIERRE", "DE LA FONTAINE" }),
		"new name in use":   with(func(r *vigie.Record) { r.BirthName, r.UsedName = "", "DE LA FONTAINE" }),
		"first name only":   with(func(r *vigie.Record) { r.BirthName = "LAFONTAINE"; r.BirthDate = "" }),
	} {
		a, b := keysOf(t, ok), keysOf(t, bad)
		shared := false
		for rule, v := range a {
			if b[rule] == v {
				shared = true
			}
		}
		if !shared {
			t.Errorf("%s: no shared key\n a %v\n b %v", name, a, b)
		}
	}
}

func TestTrainingRulesLeaveOutResidence(t *testing.T) {
	for _, r := range TrainingRules {
		for _, f := range BlockFields(r) {
			if f == FieldHousehold {
				t.Errorf("training rule %s pairs records by household: EM would learn households", r)
			}
		}
	}
	if !strings.Contains(strings.Join(TrainingRules, ","), BlockINS) {
		t.Error("the INS rule must be a training rule: it decides the homonym guards")
	}
}

// A key held by one person's records alone is rare: where persons have
// many records each, the rare size grows with them.
func TestRareBlock(t *testing.T) {
	for _, tc := range []struct {
		base int
		mpr  float64 // other records per person
		want int
	}{
		{3, 0.9, 3}, // a population: one or two records per person
		{3, 1.0, 3},
		{3, 2.6, 5}, // FEBRL 3: five records for two persons
		{3, 4.1, 7}, // fake_1000: four records per person
		{5, 0.5, 5},
		{0, 4.1, 0}, // the rare rule off
	} {
		m := DefaultModel()
		m.MatchesPerRecord = tc.mpr
		if got := RareBlock(tc.base, m); got != tc.want {
			t.Errorf("RareBlock(%d, %g matches per record) = %d, want %d", tc.base, tc.mpr, got, tc.want)
		}
	}
	if got := RareBlock(3, nil); got != 3 {
		t.Errorf("RareBlock without a model = %d, want 3", got)
	}
}
