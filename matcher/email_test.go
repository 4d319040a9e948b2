package matcher

import (
	"strings"
	"testing"

	"vigie"
)

func TestNormaliseAndParseEmail(t *testing.T) {
	for _, tc := range []struct {
		in, norm string
		ok       bool
	}{
		{"", "", true},
		{"  Anne.Roux@Example.FR ", "anne.roux@example.fr", true},
		{"mailto:anne@orange.fr", "anne@orange.fr", true},
		{"<anne@orange.fr>", "anne@orange.fr", true},
		{"jean+hopital@free.fr", "jean+hopital@free.fr", true},
		{"anne roux@orange.fr", "anne roux@orange.fr", false},
		{"anne@orange", "anne@orange", false},
		{"@orange.fr", "@orange.fr", false},
		{"anne@@orange.fr", "anne@@orange.fr", false},
		{"Anne Roux <anne@orange.fr>", "anne roux <anne@orange.fr>", false},
		{"f@holmes@duncan.com", "f@holmes@duncan.com", false},
		{"anne@.fr", "anne@.fr", false},
		{"pas de mail", "pas de mail", false},
	} {
		n := NormaliseEmail(tc.in)
		if n != tc.norm {
			t.Errorf("NormaliseEmail(%q) = %q, want %q", tc.in, n, tc.norm)
		}
		got, err := ParseEmail(n)
		if (err == nil) != tc.ok || tc.ok && got != n {
			t.Errorf("ParseEmail(%q) = %q, %v; want ok %v", n, got, err, tc.ok)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "email: ") {
			t.Errorf("ParseEmail(%q): error %q does not name the field", n, err)
		}
	}
}

func TestCompareEmail(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want Level
	}{
		{"", "anne@orange.fr", Null},
		{"anne@orange.fr", "anne@orange.fr", EmailSame},
		{"anne.roux@orange.fr", "anne.roux@gmail.com", EmailNear},  // same local part, another provider
		{"anne.roux@orange.fr", "anne.rouxx@orange.fr", EmailNear}, // one keystroke
		{"anne.roux@orange.fr", "anne.roux@ornage.fr", EmailNear},  // a slip in the domain
		{"ab@orange.fr", "ab@gmail.com", EmailDifferent},           // too short a local part to say
		{"anne.roux@orange.fr", "paul.roux@orange.fr", EmailDifferent},
		{"abc@orange.fr", "abd@orange.fr", EmailDifferent}, // short: a slip is another box
		{"maisie.walsh@hodge.com", "maiie.walsoh@hodge.com", EmailNear},
		{"h.k@sharp.com", "f.j@sharp.com", EmailDifferent},
		{"anne.r@orange.fr", "paul.r@orange.fr", EmailDifferent}, // three keystrokes
	} {
		if got := compareEmail(tc.a, tc.b); got != tc.want {
			t.Errorf("compareEmail(%q, %q) = %s, want %s", tc.a, tc.b, FieldEmail.LevelName(got), FieldEmail.LevelName(tc.want))
		}
		if got := compareEmail(tc.b, tc.a); got != tc.want {
			t.Errorf("compareEmail(%q, %q) not symmetric", tc.b, tc.a)
		}
	}
}

// TestAdmitEmail: the door stores the address in its normal form, refuses
// one over its bound naming the field, and keeps a malformed one, unused,
// with a warning naming the field.
func TestAdmitEmail(t *testing.T) {
	r := vigie.Record{Authority: "1.2", LocalID: "1", BirthName: "ROUX", Email: " Anne.Roux@Orange.FR"}
	p, err := Admit(&r)
	if err != nil || r.Email != "anne.roux@orange.fr" || p.Email != "anne.roux@orange.fr" || len(p.Warnings()) != 0 {
		t.Fatalf("admit: %v, stored %q, prepared %q, warnings %q", err, r.Email, p.Email, p.Warnings())
	}
	r = vigie.Record{Authority: "1.2", LocalID: "1", BirthName: "ROUX", Email: strings.Repeat("a", 250) + "@x.fr"}
	if _, err := Admit(&r); err == nil || !strings.HasPrefix(err.Error(), "email: ") {
		t.Fatalf("long e-mail: %v", err)
	}
	r = vigie.Record{Authority: "1.2", LocalID: "1", BirthName: "ROUX", Email: "anne at orange"}
	p, err = Admit(&r)
	if err != nil || p.Email != "" || r.Email != "anne at orange" {
		t.Fatalf("malformed: %v, prepared %q, stored %q", err, p.Email, r.Email)
	}
	if w := p.Warnings(); len(w) != 1 || !strings.HasPrefix(w[0], "email: ") {
		t.Fatalf("malformed: warnings %q", w)
	}
}

// TestEmailNeverOutweighsFirstNameOrDate is issue 37 for the e-mail: a
// family's address on two records with two real first names, or birth
// dates a generation apart, weighs nothing and never links.
func TestEmailNeverOutweighsFirstNameOrDate(t *testing.T) {
	m := DefaultModel()
	base := vigie.Record{Authority: "1.2", LocalID: "1", BirthName: "CAZAUX", FirstName: "LUCAS", BirthDate: "2012-10-09", Sex: "M", Email: "famille.cazaux@orange.fr"}
	for _, tc := range []struct {
		name  string
		other func(r *vigie.Record)
	}{
		{"brother", func(r *vigie.Record) { r.FirstName = "LOUIS" }},
		{"father", func(r *vigie.Record) { r.BirthDate = "1981-03-02" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			o.LocalID = "2"
			tc.other(&o)
			pa, _ := Prepare(&base)
			pb, _ := Prepare(&o)
			c := Compare(pa, pb)
			if c.Levels[FieldEmail] != EmailSame {
				t.Fatalf("email level %s", FieldEmail.LevelName(c.Levels[FieldEmail]))
			}
			s := m.Score(&c, nil)
			if s.AutoLink || s.Fields[FieldEmail].Weight != 0 || s.Fields[FieldEmail].Note == "" {
				t.Errorf("auto-link %v, e-mail weight %.1f, note %q", s.AutoLink, s.Fields[FieldEmail].Weight, s.Fields[FieldEmail].Note)
			}
		})
	}
	// The same person, the address shared: it counts.
	o := base
	o.LocalID = "2"
	o.BirthName = "CAZEAUX"
	pa, _ := Prepare(&base)
	pb, _ := Prepare(&o)
	c := Compare(pa, pb)
	if s := m.Score(&c, nil); s.Fields[FieldEmail].Weight <= 0 {
		t.Errorf("same person: e-mail weight %.1f", s.Fields[FieldEmail].Weight)
	}
}

func FuzzParseEmail(f *testing.F) {
	for _, s := range []string{"anne@orange.fr", "a@b", "Anne <a@b.fr>", "\"x y\"@b.fr", "mailto:A@B.FR"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormaliseEmail(s)
		if NormaliseEmail(n) != n {
			t.Fatalf("NormaliseEmail not idempotent on %q", s)
		}
		got, err := ParseEmail(n)
		if err == nil && (got != n || n != "" && !strings.Contains(got, "@")) {
			t.Fatalf("ParseEmail(%q) = %q", n, got)
		}
		_ = compareEmail(got, "anne@orange.fr")
	})
}
