package matcher

import (
	"encoding/csv"
	"os"
	"strings"
	"testing"

	"vigie"
	"vigie/internal/sharedtest"
)

func prep(t testing.TB, r vigie.Record) *Prepared {
	t.Helper()
	if r.Authority == "" {
		r.Authority = "1.2.250.1.213.1.1.1.1"
	}
	if r.LocalID == "" {
		r.LocalID = "1"
	}
	p, err := Prepare(&r)
	if err != nil {
		t.Fatalf("Prepare(%+v): %v", r, err)
	}
	return p
}

func TestCompareNames(t *testing.T) {
	for _, tc := range []struct {
		a, b vigie.Record
		want Level
	}{
		{vigie.Record{BirthName: "Lefèvre"}, vigie.Record{BirthName: "LEFEVRE"}, NameExact},
		{vigie.Record{BirthName: "JEAN-PIERRE"}, vigie.Record{BirthName: "JEAN PIERRE"}, NameExact},
		{vigie.Record{BirthName: "DE LA FONTAINE"}, vigie.Record{BirthName: "LA FONTAINE"}, NameVariant},
		{vigie.Record{BirthName: "DE LA FONTAINE"}, vigie.Record{BirthName: "DELAFONTAINE"}, NameExact},
		{vigie.Record{BirthName: "LA FONTAINE"}, vigie.Record{BirthName: "DELAFONTAINE"}, NameVariant},
		{vigie.Record{BirthName: "D'ALMEIDA"}, vigie.Record{BirthName: "ALMEIDA"}, NameVariant},
		{vigie.Record{BirthName: "LE GALL"}, vigie.Record{BirthName: "LEGALL"}, NameExact},
		{vigie.Record{BirthName: "MARTIN-DUPONT"}, vigie.Record{BirthName: "MARTIN"}, NameCompound},
		{vigie.Record{BirthName: "DUPONT", UsedName: "MARTIN"}, vigie.Record{BirthName: "MARTIN"}, NameCross},
		{vigie.Record{BirthName: "DUPONT EPOUSE MARTIN"}, vigie.Record{BirthName: "MARTIN"}, NameCross},
		{vigie.Record{BirthName: "MARTIN NEE DUPONT"}, vigie.Record{BirthName: "DUPONT"}, NameExact},
		{vigie.Record{BirthName: "LEFEBVRE"}, vigie.Record{BirthName: "LEFEVRE"}, NameTypo},
		{vigie.Record{BirthName: "GAUTHIER"}, vigie.Record{BirthName: "GAUTIER"}, NameTypo},
		{vigie.Record{BirthName: "MARTIN"}, vigie.Record{BirthName: "MARTNI"}, NameTypo},
		{vigie.Record{BirthName: "MARTIN"}, vigie.Record{BirthName: "BERNARD"}, NameDifferent},
		{vigie.Record{BirthName: "X"}, vigie.Record{BirthName: "MARTIN"}, Null},
		{vigie.Record{}, vigie.Record{BirthName: "MARTIN"}, Null},
	} {
		c := Compare(prep(t, tc.a), prep(t, tc.b))
		if got := c.Levels[FieldName]; got != tc.want {
			t.Errorf("%q/%q vs %q/%q: name level %s, want %s", tc.a.BirthName, tc.a.UsedName, tc.b.BirthName, tc.b.UsedName,
				FieldName.LevelName(got), FieldName.LevelName(tc.want))
		}
	}
}

func TestCompareFirstNames(t *testing.T) {
	for _, tc := range []struct {
		a, b vigie.Record
		want Level
	}{
		{vigie.Record{FirstName: "Hélène"}, vigie.Record{FirstName: "HELENE"}, NameExact},
		{vigie.Record{FirstName: "JEAN-PIERRE"}, vigie.Record{FirstName: "JEANPIERRE"}, NameExact},
		{vigie.Record{FirstName: "JEAN-PIERRE"}, vigie.Record{FirstName: "JEAN"}, NameCompound},
		{vigie.Record{FirstName: "MARIE-CLAIRE"}, vigie.Record{FirstName: "CLAIRE"}, NameCompound},
		{vigie.Record{FirstNames: "JEAN PAUL MARIE"}, vigie.Record{FirstName: "PAUL"}, NameVariant},
		{vigie.Record{FirstName: "NATHALIE"}, vigie.Record{FirstName: "NATALIA"}, NamePhonetic},
		{vigie.Record{FirstName: "PHILIPPE"}, vigie.Record{FirstName: "PHILIPE"}, NameTypo},
		{vigie.Record{FirstName: "PHILIPPE"}, vigie.Record{FirstName: "PHILIPP"}, NameCompound},
		{vigie.Record{FirstName: "PAUL"}, vigie.Record{FirstName: "LUCAS"}, NameDifferent},
		{vigie.Record{FirstName: "BEBE"}, vigie.Record{FirstName: "LUCAS"}, Null},
	} {
		c := Compare(prep(t, tc.a), prep(t, tc.b))
		if got := c.Levels[FieldFirstName]; got != tc.want {
			t.Errorf("%q/%q vs %q/%q: first-name level %s, want %s", tc.a.FirstName, tc.a.FirstNames, tc.b.FirstName, tc.b.FirstNames,
				FieldFirstName.LevelName(got), FieldFirstName.LevelName(tc.want))
		}
	}
}

func TestCompareSwappedNames(t *testing.T) {
	a := prep(t, vigie.Record{BirthName: "MARTIN", FirstName: "PIERRE"})
	b := prep(t, vigie.Record{BirthName: "PIERRE", FirstName: "MARTIN"})
	c := Compare(a, b)
	if c.Levels[FieldName] != NameSwapped || c.Levels[FieldFirstName] != NameSwapped {
		t.Errorf("swapped names: levels %v/%v", c.Levels[FieldName], c.Levels[FieldFirstName])
	}
}

func TestCompareDate(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want Level
	}{
		{"1975-03-12", "1975-03-12", DateExact},
		{"1975-03-12", "12/03/1975", DateExact},
		{"1960-01-01", "1960-01-01", DatePlaceholder},
		{"1975-03-12", "1975-12-03", DateSwap},
		{"1975-03-12", "1975-03-13", DateOneOff},
		{"1975-03-12", "1975-04-12", DateOneOff},
		{"1975-03-12", "1976-03-12", DateOneOff},
		{"1975-03-12", "1985-03-12", DateOneOff},
		{"1975-03-12", "1957-03-12", DateOneOff}, // digits transposed
		{"1979-03-12", "1980-03-12", DateOneOff}, // off by one across a decade
		{"1975-03-12", "1975", DatePartial},
		{"1975-03-12", "1975-03-00", DatePartial},
		{"1975-03-12", "1975-01-01", DatePartial}, // placeholder keeps the year
		{"1975-03-12", "1976-01-01", DateDifferent},
		{"1975-03-12", "1975-08-24", DateDifferent},
		{"1975-03-12", "1948-03-12", DateDifferent}, // father and son
		{"1975-03-12", "", Null},
	} {
		a, _ := ParseDate(tc.a)
		b, _ := ParseDate(tc.b)
		if got := compareDate(a, b); got != tc.want {
			t.Errorf("%s vs %s: %s, want %s", tc.a, tc.b, FieldBirthDate.LevelName(got), FieldBirthDate.LevelName(tc.want))
		}
		if got := compareDate(b, a); got != tc.want {
			t.Errorf("%s vs %s (reversed): %s, want %s", tc.b, tc.a, FieldBirthDate.LevelName(got), FieldBirthDate.LevelName(tc.want))
		}
	}
}

func TestCompareOtherFields(t *testing.T) {
	a := prep(t, vigie.Record{Sex: "F", BirthPlace: "33063", PostalCode: "33000", City: "Bordeaux", Address: "12 av. Jean Jaurès", Phone: "+33 5 56 00 00 01"})
	for _, tc := range []struct {
		b     vigie.Record
		field Field
		want  Level
	}{
		{vigie.Record{Sex: "2"}, FieldSex, Agree},
		{vigie.Record{Sex: "M"}, FieldSex, Disagree},
		{vigie.Record{Sex: "U"}, FieldSex, Null},
		{vigie.Record{BirthPlace: "33063"}, FieldBirthPlace, PlaceSame},
		{vigie.Record{BirthPlace: "33281"}, FieldBirthPlace, PlaceDepartment},
		{vigie.Record{BirthPlace: "99134"}, FieldBirthPlace, PlaceDifferent},
		{vigie.Record{PostalCode: "33000", Address: "12 AVENUE JEAN-JAURES", Phone: "05 56 00 00 01"}, FieldHousehold, HouseAddressPhone},
		{vigie.Record{PostalCode: "33000", Address: "12 AVENUE JEAN-JAURES"}, FieldHousehold, HouseAddress},
		{vigie.Record{PostalCode: "33000", Address: "12 AVENUE JEAN-JAURES", Phone: "0556000002"}, FieldHousehold, HouseOtherPhone},
		{vigie.Record{City: "BORDEAUX", Address: "12 av Jean Jaures"}, FieldHousehold, HouseAddress},
		{vigie.Record{PostalCode: "33080", City: "BORDAEUX", Address: "12 av Jean Jaures"}, FieldHousehold, HouseAddress}, // both places mistyped
		{vigie.Record{City: "Bordeax"}, FieldHousehold, HousePostal},
		{vigie.Record{City: "BORDES"}, FieldHousehold, HouseDifferent},                       // another commune
		{vigie.Record{PostalCode: "64100", Phone: "0556000001"}, FieldHousehold, HousePhone}, // moved, kept the phone
		{vigie.Record{Phone: "0556000001"}, FieldHousehold, HousePhone},
		{vigie.Record{PostalCode: "33000", Address: "4 rue Sainte-Catherine"}, FieldHousehold, HousePostal},
		{vigie.Record{PostalCode: "33000", Address: "Résidence les Pins 12 av Jean Jaurès"}, FieldHousehold, HouseAddress}, // second line typed first
		{vigie.Record{PostalCode: "33000", Address: "12 av Jean Jauers"}, FieldHousehold, HouseAddress},                    // a slip in a word
		{vigie.Record{PostalCode: "33000", Address: "av Jean Jaurès"}, FieldHousehold, HouseAddress},                       // no house number
		{vigie.Record{PostalCode: "33000", Address: "21 av Jean Jaurès"}, FieldHousehold, HouseAddress},                    // digits swapped
		{vigie.Record{PostalCode: "33000", Address: "48 av Jean Jaurès"}, FieldHousehold, HousePostal},                     // another house of the street
		{vigie.Record{PostalCode: "33000", Address: "Résidence les Pins 12 av Jeanjaurrès"}, FieldHousehold, HouseAddress}, // two words glued, one slip
		{vigie.Record{PostalCode: "33000", Address: "Jeanjaurrès"}, FieldHousehold, HouseAddress},                          // the same, on the shorter side
		{vigie.Record{PostalCode: "33000", Address: "12 Jeanmoulin"}, FieldHousehold, HousePostal},                         // glued, another street
		{vigie.Record{PostalCode: "33000", Address: "12 rue Jean Moulin"}, FieldHousehold, HousePostal},                    // one word in common
		{vigie.Record{PostalCode: "33700"}, FieldHousehold, HouseDepartment},
		{vigie.Record{PostalCode: "64100"}, FieldHousehold, HouseDifferent},
		{vigie.Record{Phone: "0556000002"}, FieldHousehold, HouseDifferent},
		{vigie.Record{Address: "12 av. Jean Jaurès"}, FieldHousehold, Null}, // an address line without postal code or city says nothing
		{vigie.Record{}, FieldHousehold, Null},
	} {
		c := Compare(a, prep(t, tc.b))
		if got := c.Levels[tc.field]; got != tc.want {
			t.Errorf("%+v: %s level %s, want %s", tc.b, tc.field, tc.field.LevelName(got), tc.field.LevelName(tc.want))
		}
	}
}

// An INS that fails its checks does not refuse the record: it stays in the
// record, is not used (no INS key, no INS level) and InvalidINS says why.
func TestPrepareKeepsInvalidINS(t *testing.T) {
	for _, tc := range []struct {
		ins     string
		invalid bool
	}{
		{"276037510669380", true}, // key should be 26
		{"176037510669380", true}, // first digit changed: the key no longer matches
		{"27603751066938", true},  // a digit short
		{"279035121518989", false},
		{"", false},
	} {
		r := vigie.Record{Authority: "a", LocalID: "1", BirthName: "MARTIN", INS: tc.ins, INSOID: OIDINSNIR}
		p, err := Prepare(&r)
		if err != nil {
			t.Fatalf("Prepare with INS %q: %v", tc.ins, err)
		}
		if got := InvalidINS(&r) != nil; got != tc.invalid {
			t.Errorf("INS %q: invalid %v, want %v", tc.ins, got, tc.invalid)
		}
		if tc.invalid && (p.HasINS || p.Record.INS != tc.ins) {
			t.Errorf("INS %q: used as evidence (%v) or not kept verbatim (%q)", tc.ins, p.HasINS, p.Record.INS)
		}
		for _, k := range BlockingKeys(p) {
			if tc.invalid && k.Rule == BlockINS {
				t.Errorf("INS %q: filed under an INS key", tc.ins)
			}
		}
	}
	bad := prep(t, vigie.Record{BirthName: "MARTIN", INS: "276037510669380"})
	other := prep(t, vigie.Record{BirthName: "MARTIN", INS: "276037510669380"})
	if c := Compare(bad, other); c.Levels[FieldINS] != Null {
		t.Errorf("two records with the same invalid INS: INS level %s, want missing", FieldINS.LevelName(c.Levels[FieldINS]))
	}
}

func TestPrepareRejects(t *testing.T) {
	for _, tc := range []struct {
		r     vigie.Record
		field string
	}{
		{vigie.Record{LocalID: "1"}, "authority"},
		{vigie.Record{Authority: "a"}, "local_id"},
		{vigie.Record{Authority: "a", LocalID: "1", Sex: "Z"}, "sex"},
		{vigie.Record{Authority: "a", LocalID: "1", BirthPlace: "Bordeaux"}, "birth_place"},
		{vigie.Record{Authority: "a", LocalID: "1", Status: "VALIDE"}, "status"},
	} {
		_, err := Prepare(&tc.r)
		if err == nil || vigieField(err) != tc.field {
			t.Errorf("Prepare(%+v) err = %v, want one naming %s", tc.r, err, tc.field)
		}
	}
}

func TestINSMismatch(t *testing.T) {
	// 1800175123456 key 60: a man born January 1980.
	own := prep(t, vigie.Record{INS: "180017512345660", Sex: "M", BirthDate: "1980-01-15"})
	if own.INSMismatch {
		t.Error("an INS matching its record's sex and birth month is flagged")
	}
	child := prep(t, vigie.Record{INS: "180017512345660", Sex: "F", BirthDate: "2010-06-02"})
	if !child.INSMismatch {
		t.Error("a father's INS on his daughter's record is not flagged")
	}
}

func TestINSMismatchIsNoEvidence(t *testing.T) {
	father := prep(t, vigie.Record{INS: "180017512345660", Sex: "M", BirthDate: "1980-01-15", BirthName: "MARTIN", FirstName: "PAUL"})
	child := prep(t, vigie.Record{INS: "180017512345660", Sex: "F", BirthDate: "2010-06-02", BirthName: "MARTIN", FirstName: "LEA"})
	if c := Compare(father, child); c.Levels[FieldINS] != Null {
		t.Errorf("a parent's INS on a child's record compared as %s, want missing", FieldINS.LevelName(c.Levels[FieldINS]))
	}
}

// The general-purpose phonetic codes are computed on folded names, so an
// accent never changes them.
func TestPhoneticKeysIgnoreAccents(t *testing.T) {
	for _, p := range [][2]string{{"FRANÇOIS", "FRANCOIS"}, {"Hélène", "HELENE"}, {"Çelik", "CELIK"}, {"ŒUVRARD", "OEUVRARD"}} {
		a, b := prepareName(Fold(p[0])), prepareName(Fold(p[1]))
		if a.Metaphone != b.Metaphone || a.Phonex != b.Phonex || a.Soundex2 != b.Soundex2 {
			t.Errorf("%s %+v and %s %+v: keys differ", p[0], a, p[1], b)
		}
	}
	// Unfolded, matchr gives FRANÇOIS FRNS and FRANCOIS FRNK.
	if n := prepareName(Fold("François")); n.Metaphone != "FRNK" {
		t.Errorf("Double Metaphone of folded FRANÇOIS = %q, want FRNK", n.Metaphone)
	}
}

// Real name variants of one person in two registers (name_pairs_ipd_icu.csv)
// must compare as the same family name and compatible first names.
func TestRealNameVariantPairs(t *testing.T) {
	path := sharedtest.Path(t, "data/names/name_pairs_ipd_icu.csv")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 2 {
		t.Fatal("no pairs")
	}
	for _, row := range rows[1:] {
		// register 1: "FAMILY, First Second"; register 2: "First [Second] Family"
		fam, firsts, _ := strings.Cut(row[0], ",")
		words := strings.Fields(row[1])
		a := prep(t, vigie.Record{BirthName: fam, FirstNames: firsts})
		b := prep(t, vigie.Record{BirthName: words[len(words)-1], FirstNames: strings.Join(words[:len(words)-1], " ")})
		if len(words) > 2 && strings.EqualFold(words[len(words)-2], "LE") { // LE GAL
			b = prep(t, vigie.Record{BirthName: strings.Join(words[len(words)-2:], " "), FirstNames: strings.Join(words[:len(words)-2], " ")})
		}
		c := Compare(a, b)
		if l := c.Levels[FieldName]; l == Null || l >= NameSimilar {
			t.Errorf("%q vs %q: family names compare %s", row[0], row[1], FieldName.LevelName(l))
		}
		// LORENZO is another first name than LOUIS ENZO, not a spelling of
		// it: only the registers' pairing says they are one person.
		if strings.Contains(row[1], "Lorenzo") {
			if l := c.Levels[FieldFirstName]; l != NameDifferent {
				t.Errorf("LOUIS ENZO vs LORENZO compare %s, want different", FieldFirstName.LevelName(l))
			}
			continue
		}
		if l := c.Levels[FieldFirstName]; l == Null || l > NameSimilar {
			t.Errorf("%q vs %q: first names compare %s", row[0], row[1], FieldFirstName.LevelName(l))
		}
	}
}

func TestCitySlip(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"BORDEAUX", "BORDAEUX", true},               // two letters swapped
		{"DUDLEY", "DUUDLEY", true},                  // a letter added
		{"LONDON", "LONDO", true},                    // a letter missed
		{"BORDEAUX", "BORDEAUX", false},              // the same: not a slip
		{"BORDEAUX", "BORDES", false},                // another commune
		{"PAU", "PAS", false},                        // too short to tell a slip from another place
		{"STHUBERTSISLAND", "STHUBERTSCISLND", true}, // two slips in a long name
		{"SAINTDENIS", "SAINTDIZIER", false},
		{"PLYMOUTH", "PLYUMOUH", false}, // two slips in a short name
	} {
		if got := citySlip(tc.a, tc.b); got != tc.want {
			t.Errorf("citySlip(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// A swap with a slip links; twins whose names were swapped on one record
// (the family name the same, the first names alike) are no swap.
func TestCompareSwappedWithASlip(t *testing.T) {
	for _, tc := range []struct {
		a, b vigie.Record
		want bool
	}{
		{vigie.Record{BirthName: "BLAND", FirstName: "MELANY"}, vigie.Record{BirthName: "MELANY", FirstName: "BLANC"}, true},
		{vigie.Record{BirthName: "CHZRLINE", FirstName: "DE BAILLIENCOURT"}, vigie.Record{BirthName: "DE BAILLIENCOURT", FirstName: "CHARLINE"}, true},
		{vigie.Record{BirthName: "SHANNA", FirstName: "GEDET"}, vigie.Record{BirthName: "GEDET", FirstName: "SHAYANNA"}, false},
	} {
		c := Compare(prep(t, tc.a), prep(t, tc.b))
		if got := c.Levels[FieldName] == NameSwapped; got != tc.want {
			t.Errorf("%s %s / %s %s: swapped %v, want %v", tc.a.BirthName, tc.a.FirstName, tc.b.BirthName, tc.b.FirstName, got, tc.want)
		}
	}
}
