package matcher

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFold(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Hélène", "HELENE"},
		{"  françois   d’Almeida ", "FRANCOIS D'ALMEIDA"},
		{"Œuvray-Lætitia", "OEUVRAY-LAETITIA"},
		{"JEAN–PIERRE", "JEAN-PIERRE"}, // en dash
		{"Jean—Pierre", "JEAN-PIERRE"}, // em dash
		{"o`neil", "O'NEIL"},
		{"Müller ß", "MULLER SS"},
		{"Łukasz Ørsted", "LUKASZ ORSTED"},
		{"St. Jean/Pied", "ST JEAN PIED"},
		{"ÇELIK", "CELIK"},
		{"", ""},
		{"   ", ""},
		{"Ñuñez\u0301", "NUNEZ"}, // stray combining mark
	} {
		if got := Fold(tc.in); got != tc.want {
			t.Errorf("Fold(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzFold(f *testing.F) {
	for _, s := range []string{"Hélène", "d’Almeida", "JEAN–PIERRE", "Œ", "\xff\xfe", "ǅ", "ﬁ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Fold(s)
		if !utf8.ValidString(out) {
			t.Fatalf("Fold(%q) = %q: not UTF-8", s, out)
		}
		for i := 0; i < len(out); i++ {
			c := out[i]
			if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ' ' || c == '-' || c == '\'') {
				t.Fatalf("Fold(%q) = %q: byte %q outside the folded alphabet", s, out, c)
			}
		}
		if strings.Contains(out, "  ") || strings.HasPrefix(out, " ") || strings.HasSuffix(out, " ") {
			t.Fatalf("Fold(%q) = %q: spaces not collapsed", s, out)
		}
		if Fold(out) != out {
			t.Fatalf("Fold is not idempotent on %q", s)
		}
		n := ParseName(s)
		if n.Glued != Letters(n.Folded) {
			t.Fatalf("ParseName(%q): glued %q is not the letters of %q", s, n.Glued, n.Folded)
		}
	})
}

func TestParseName(t *testing.T) {
	for _, tc := range []struct {
		in               string
		tokens, core     string
		glued, coreGlued string
		placeholder      bool
	}{
		{"De la Fontaine", "DE LA FONTAINE", "FONTAINE", "DELAFONTAINE", "FONTAINE", false},
		{"D'ALMEIDA", "D ALMEIDA", "ALMEIDA", "DALMEIDA", "ALMEIDA", false},
		{"Le Gall", "LE GALL", "GALL", "LEGALL", "GALL", false},
		{"MARTIN-DUPONT", "MARTIN DUPONT", "MARTIN DUPONT", "MARTINDUPONT", "MARTINDUPONT", false},
		{"van der Berg", "VAN DER BERG", "BERG", "VANDERBERG", "BERG", false},
		{"LE", "LE", "LE", "LE", "LE", false}, // all particles: kept
		{"X", "X", "X", "X", "X", true},
		{"Inconnu", "INCONNU", "INCONNU", "INCONNU", "INCONNU", true},
		{"BEBE DE MARTIN", "BEBE DE MARTIN", "BEBE MARTIN", "BEBEDEMARTIN", "BEBEMARTIN", true},
	} {
		n := ParseName(tc.in)
		if got := strings.Join(n.Tokens, " "); got != tc.tokens {
			t.Errorf("%q tokens = %q, want %q", tc.in, got, tc.tokens)
		}
		if got := strings.Join(n.Core, " "); got != tc.core {
			t.Errorf("%q core = %q, want %q", tc.in, got, tc.core)
		}
		if n.Glued != tc.glued || n.CoreGlued != tc.coreGlued {
			t.Errorf("%q glued = %q/%q, want %q/%q", tc.in, n.Glued, n.CoreGlued, tc.glued, tc.coreGlued)
		}
		if n.Placeholder != tc.placeholder {
			t.Errorf("%q placeholder = %v", tc.in, n.Placeholder)
		}
	}
}

func TestSplitMarital(t *testing.T) {
	for _, tc := range []struct {
		in, birth, used string
		ok              bool
	}{
		{"DUPONT EPOUSE MARTIN", "DUPONT", "MARTIN", true},
		{"DUPONT EP. MARTIN", "DUPONT", "MARTIN", true},
		{"DUPONT EP MARTIN", "DUPONT", "MARTIN", true},
		{"MARTIN NEE DUPONT", "DUPONT", "MARTIN", true},
		{"VEUVE MARTIN", "", "MARTIN", true},
		{"DUPONT VVE MARTIN", "DUPONT", "MARTIN", true},
		{"NEE DUPONT", "DUPONT", "", true},
		{"DE LA FONTAINE", "DE LA FONTAINE", "", false},
		{"NEEL", "NEEL", "", false},
	} {
		b, u, ok := SplitMarital(Fold(tc.in))
		if b != tc.birth || u != tc.used || ok != tc.ok {
			t.Errorf("SplitMarital(%q) = %q, %q, %v; want %q, %q, %v", tc.in, b, u, ok, tc.birth, tc.used, tc.ok)
		}
	}
}

func TestParseDate(t *testing.T) {
	for _, tc := range []struct {
		in          string
		want        Date
		placeholder bool
		field       string // non-empty: an error naming this field
	}{
		{"1975-03-12", Date{Year: 1975, Month: 3, Day: 12}, false, ""},
		{"19750312", Date{Year: 1975, Month: 3, Day: 12}, false, ""},
		{"12/03/1975", Date{Year: 1975, Month: 3, Day: 12}, false, ""},
		{"1975-00-00", Date{Year: 1975}, false, ""},
		{"1975", Date{Year: 1975}, false, ""},
		{"1975-03", Date{Year: 1975, Month: 3}, false, ""},
		{"1960-01-01", Date{Year: 1960, Month: 1, Day: 1}, true, ""},
		{"1960-12-31", Date{Year: 1960, Month: 12, Day: 31}, true, ""},
		{"1800-01-01", Date{Year: 1800, Month: 1, Day: 1}, true, ""},
		{"", Date{}, false, ""},
		{"1975-13-01", Date{}, false, "birth_date"},
		{"1975-02-30", Date{}, false, "birth_date"},
		{"2023-02-29", Date{}, false, "birth_date"},
		{"0000-03-12", Date{}, false, "birth_date"},
		{"12-03-75", Date{}, false, "birth_date"},
		{"hier", Date{}, false, "birth_date"},
	} {
		got, err := ParseDate(tc.in)
		if tc.field != "" {
			if err == nil || vigieField(err) != tc.field {
				t.Errorf("ParseDate(%q) err = %v, want an error naming %s", tc.in, err, tc.field)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseDate(%q): %v", tc.in, err)
			continue
		}
		if got.Year != tc.want.Year || got.Month != tc.want.Month || got.Day != tc.want.Day || got.Placeholder != tc.placeholder {
			t.Errorf("ParseDate(%q) = %+v, want %+v placeholder=%v", tc.in, got, tc.want, tc.placeholder)
		}
	}
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"1975-03-12", "12/03/1975", "19750312", "1975", "1975-00-00", "2000-02-29", "9999-99-99"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err != nil {
			if vigieField(err) != "birth_date" {
				t.Fatalf("ParseDate(%q): error %v does not name birth_date", s, err)
			}
			return
		}
		if d.IsZero() {
			return
		}
		// An accepted date re-parses to itself from its ISO form.
		again, err := ParseDate(d.String())
		if err != nil || again != d {
			t.Fatalf("ParseDate(%q) = %+v, but its ISO form %q gives %+v, %v", s, d, d.String(), again, err)
		}
	})
}
