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

// The address is filed under the town as well as the postal code: a record
// whose postal code was mistyped still finds the home through the town, and
// one whose town was misspelt through the postal code.
func TestBlockingAddressUnderEachPlace(t *testing.T) {
	base := vigie.Record{Authority: "a", LocalID: "1", BirthName: "MARTIN", PostalCode: "33000", City: "BORDEAUX", Address: "12 rue des Acacias"}
	for _, tc := range []struct {
		name  string
		b     vigie.Record
		share bool
	}{
		{"postal code mistyped", vigie.Record{PostalCode: "33080", City: "BORDEAUX", Address: "12 rue des Acacias"}, true},
		{"town misspelt", vigie.Record{PostalCode: "33000", City: "BORDAEUX", Address: "12 rue des Acacias"}, true},
		{"both wrong", vigie.Record{PostalCode: "33080", City: "BORDAEUX", Address: "12 rue des Acacias"}, false},
		{"another street", vigie.Record{PostalCode: "33000", City: "BORDEAUX", Address: "12 rue Judaïque"}, false},
	} {
		tc.b.Authority, tc.b.LocalID = "a", "2"
		pa, err := Prepare(&base)
		if err != nil {
			t.Fatal(err)
		}
		pb, err := Prepare(&tc.b)
		if err != nil {
			t.Fatal(err)
		}
		got := false
		for _, ka := range BlockingKeys(pa) {
			for _, kb := range BlockingKeys(pb) {
				got = got || ka == kb && ka.Rule == BlockAddress
			}
		}
		if got != tc.share {
			t.Errorf("%s: share an address key %v, want %v", tc.name, got, tc.share)
		}
	}
}

// The index counts the rules two records share a key of (RulesOf): it
// needs the keys of one rule next to each other.
func TestBlockingKeysOfOneRuleFollowEachOther(t *testing.T) {
	r := vigie.Record{BirthName: "DUPONT", UsedName: "MARTIN", FirstName: "ANNE", BirthDate: "1961-04-09", PostalCode: "33000", City: "BORDEAUX",
		Address: "4 rue Sainte-Catherine", INS: "261043306300144", INSOID: OIDINSNIR}
	keys := BlockingKeys(prep(t, r))
	seen := map[string]bool{}
	for i, k := range keys {
		if i > 0 && k.Rule != keys[i-1].Rule && seen[k.Rule] {
			t.Fatalf("rule %s comes back after another: %v", k.Rule, keys)
		}
		seen[k.Rule] = true
	}
	if got := RulesOf(keys); got != len(seen) || got >= len(keys) {
		t.Fatalf("RulesOf = %d for %d rules in %d keys", got, len(seen), len(keys))
	}
}
