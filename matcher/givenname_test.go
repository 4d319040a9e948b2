package matcher

import (
	"strings"
	"testing"

	"vigie"
)

func TestKnownGivenName(t *testing.T) {
	for _, tc := range []struct {
		glued string
		known bool
		sex   byte
	}{
		{"LOUIS", true, 'M'},
		{"LOUISE", true, 'F'},
		{"MARINE", true, 'F'},
		{"ANNESOPHIE", true, 'F'},
		{"OLIVLER", false, 0},
		{"CHRISTOP", false, 0},
		{"TPM", false, 0},
		{"MAITA", true, 'F'}, // rare, yet a name
	} {
		sex, ok := KnownGivenName(tc.glued)
		if ok != tc.known || ok && sex != tc.sex {
			t.Errorf("KnownGivenName(%s) = %q, %v; want %q, %v", tc.glued, sex, ok, tc.sex, tc.known)
		}
	}
}

func TestFirstNameAbbreviations(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want Level
	}{
		// Cut short or abbreviated: the same name.
		{"CHRISTOPHE", "CHRISTOP", NameCompound},
		{"ANNE-SOPHIE", "ANNE SOP", NameCompound},
		{"A.CAROLINE", "ANNE-CAROL", NameCompound},
		{"J-PIERRE", "JEAN-PIERRE", NameCompound},
		{"JP", "JEAN-PIERRE", NameCompound},
		{"MARIE JO", "MARIE JOSIANE", NameCompound}, // MARIE-JO is a name too, but the first part agrees
		{"TOM", "TPM", NameTypo},                    // TPM is no first name: a slip
		// Two real names: not an abbreviation.
		{"LOUIS", "LOUISE", NameTypo},
		{"JEAN", "JEANNE", NamePhonetic},
		{"MARIE", "MARINE", NameTypo},
		{"TOM", "TIM", NameDifferent},
		{"JP", "JEAN-LUC", NameDifferent},
		{"PAUL", "LUCAS", NameDifferent},
		{"CHRI", "CHRISTOPHE", NameSimilar}, // too short to call a cut
		// Cut at seven letters or more, one sex: the name cut, even when
		// the cut is a given name too.
		{"ALEXANDR", "ALEXANDRE", NameCompound},
		{"ELISABET", "ELISABETH", NameCompound},
		{"CHRISTIA", "CHRISTIANE", NameCompound},
		{"CHRISTIAN", "CHRISTIANE", NameTypo}, // two sexes: may be twins
		{"JULIE", "JULIETTE", NameSimilar},    // short: may be twins
		// A compound written in one word.
		{"MARIEJOSEPH", "MARIE JOSE", NameCompound},
		{"PAULCEDR", "P-CEDRIC", NameCompound},
		{"ROSE", "ROSEMARIE", NameCompound},
		{"JEAN", "JEANFRANCOI", NameCompound},
		{"JEAN", "JEANNINE", NamePhonetic}, // not JEAN and a name: another name
		{"PAUL", "PAULINE", NameSimilar},
		// A compound with its first part as an initial.
		{"JEAN", "J.PIERRE", NameCompound},
		{"MARIE", "M. CAROLINE", NameCompound},
		{"PAUL", "J.PIERRE", NameDifferent},
		{"ANTONY", "A SYLVIE", NameDifferent}, // SYLVIE is no man's name
		// Cut short and mistyped.
		{"JFANPIER", "JEAN-PIERRE", NameTypo},
		{"JEAH FRA", "JEAN-FRANCOIS", NameTypo},
	} {
		c := Compare(prep(t, vigie.Record{FirstName: tc.a}), prep(t, vigie.Record{FirstName: tc.b}))
		if got := c.Levels[FieldFirstName]; got != tc.want {
			t.Errorf("%s vs %s: %s, want %s", tc.a, tc.b, FieldFirstName.LevelName(got), FieldFirstName.LevelName(tc.want))
		}
	}
}

func TestDoubledLetter(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"MILO", "MILLO", true}, {"KAHILL", "KAHIL", true}, {"ANA", "ANNA", true},
		{"MILO", "MILO", false}, {"LEO", "LEON", false}, {"MARIE", "MARINE", false}, {"AA", "A", false},
	} {
		if got := doubledLetter(tc.a, tc.b); got != tc.want {
			t.Errorf("doubledLetter(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}

func TestOneSlip(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"TOM", "TPM", true}, {"EMILIE", "EMILEI", true}, {"LEO", "LEON", true}, {"LEON", "LEO", true},
		{"TOM", "TOM", false}, {"TOM", "MOT", false}, {"LEO", "LEONE", false}, {"ABCD", "ABDCE", false},
	} {
		if got := oneSlip(tc.a, tc.b); got != tc.want {
			t.Errorf("oneSlip(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}

// Twins share a family name and a birth date: a first name a slip away
// from the other goes to a person when both are real given names, and may
// link when one is no given name at all.
func TestTwinsOrTypo(t *testing.T) {
	m := DefaultModel()
	base := vigie.Record{BirthName: "CAZAUX", BirthDate: "2012-10-09", Sex: "M", BirthPlace: "33063"}
	with := func(first, sex string) vigie.Record { r := base; r.FirstName = first; r.Sex = sex; return r }
	for _, tc := range []struct {
		a, b vigie.Record
		link bool
		rule string
	}{
		{with("OLIVIER", "M"), with("OLIVLER", "M"), true, ""},
		{with("CHRISTOPHE", "M"), with("CHRISTOP", "M"), true, ""},
		{with("ANNE-SOPHIE", "F"), with("ANNE SOP", "F"), true, ""},
		{with("JEAN-PIERRE", "M"), with("JP", "M"), true, ""},
		{with("LOUIS", "M"), with("LOUISE", "M"), false, RuleTwins},
		{with("MARIE", "F"), with("MARINE", "F"), false, RuleTwins},
		{with("LOUIS", ""), with("LOUISE", ""), false, RuleTwins},
		{with("JEAN", "M"), with("MARC", "M"), false, RuleFirstName},
		{with("TOM", "M"), with("TIM", "M"), false, RuleFirstName},
		{with("ALEXANDRE", "M"), with("ALEXANDR", "M"), true, ""},
		{with("JEAN-PIERRE", "M"), with("JFANPIER", "M"), true, ""},
		{with("MARIE JOSE", "F"), with("MARIEJOSEPH", "F"), true, ""},
		{with("CHRISTIAN", "M"), with("CHRISTIANE", "F"), false, ""},
		{with("FABRICE", "M"), with("FABBRICE", "M"), true, ""},         // one letter doubled, no given name: one name
		{with("MATHIEU", "M"), with("MATTHIEU", "M"), false, RuleTwins}, // two given names: may be twins
	} {
		s := score(t, m, tc.a, tc.b)
		if s.AutoLink != tc.link {
			t.Errorf("%s vs %s: auto-link %v, want %v:\n%s", tc.a.FirstName, tc.b.FirstName, s.AutoLink, tc.link, s.Table())
		}
		if tc.rule != "" && !hasRule(s, tc.rule) {
			t.Errorf("%s vs %s: rule %s did not fire:\n%s", tc.a.FirstName, tc.b.FirstName, tc.rule, s.Table())
		}
	}
}

// A first name no French list knows counts as real when several records
// of the index carry it: two such names a slip apart may be twins.
func TestTwinsWithRareNamesAttestedInTheIndex(t *testing.T) {
	m := DefaultModel()
	a := vigie.Record{BirthName: "ROUGEL", FirstName: "ZORGLUB", BirthDate: "2003-12-23", Sex: "M"}
	b := a
	b.FirstName = "ZORGLIB"
	freq := NewFrequencyTable()
	if s := score(t, m, a, b); !s.AutoLink {
		t.Fatalf("ZORGLIB, no name anywhere, is a typo of ZORGLUB:\n%s", s.Table())
	}
	for range minAttested {
		freq.Add(prep(t, a))
		freq.Add(prep(t, b))
	}
	c := Compare(prep(t, a), prep(t, b))
	if s := m.Score(&c, freq); s.AutoLink || !hasRule(s, RuleTwins) {
		t.Errorf("ZORGLIB carried by %d records is a name: twins rule expected:\n%s", minAttested, s.Table())
	}
}

// A slip of a common name is typed the same way by chance in a large
// index (PAUI for PAUL): carried by three records beside thousands of the
// name, it is still a slip, and the pair links.
func TestSlipOfACommonNameIsNoTwin(t *testing.T) {
	m := DefaultModel()
	a := vigie.Record{BirthName: "OPOULA", FirstName: "PAUL", BirthDate: "1959-12-28", Sex: "M"}
	b := a
	b.FirstName = "PAUI"
	freq := NewFrequencyTable()
	for i := range 200 {
		if i < minAttested {
			freq.Add(prep(t, b))
		}
		freq.Add(prep(t, a))
	}
	c := Compare(prep(t, a), prep(t, b))
	if s := m.Score(&c, freq); !s.AutoLink || hasRule(s, RuleTwins) {
		t.Errorf("PAUI carried by %d records beside 200 PAUL is a slip: no twins rule expected:\n%s", minAttested, s.Table())
	}
}

func TestExplanationSaysAbbreviated(t *testing.T) {
	m := DefaultModel()
	s := score(t, m, vigie.Record{BirthName: "MARTIN", FirstName: "CHRISTOPHE"}, vigie.Record{BirthName: "MARTIN", FirstName: "CHRISTOP"})
	if tab := s.Table(); !strings.Contains(tab, "cut short or abbreviated") {
		t.Errorf("the table does not say the first name was cut short:\n%s", tab)
	}
}
