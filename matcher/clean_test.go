package matcher

import (
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"vigie"
)

// hostile are the values issue 26 found stored as sent, for the table
// tests and the fuzz corpus.
var hostile = []string{
	"DUPONT\x00", "DU\aPONT", "DUPONT\x1b[2J", "\u202eTNOPUD", "DU\u200bPONT",
	"E" + strings.Repeat("\u0301", 50), strings.Repeat("A", 1<<20), "MÜLLER", "M\xdcLLER",
	"00/00/0000", "2090-01-01", "1800-01-01", "",
}

func TestCleanText(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		max            int
		refused        string // part of the refusal's message; "" when accepted
	}{
		{"ascii", "DUPONT", "DUPONT", 100, ""},
		{"accents kept", "LEFÈVRE Françoise", "LEFÈVRE Françoise", 100, ""},
		{"NFC", "JOSE\u0301", "JOSÉ", 100, ""},
		{"NFC counts composed characters", strings.Repeat("E\u0301", 100), strings.Repeat("É", 100), 100, ""},
		{"spaces made plain", "JEAN\u00a0PIERRE\tX\r\nY", "JEAN PIERRE X  Y", 100, ""},
		{"zero-width space removed", "DU\u200bPONT", "DUPONT", 100, ""},
		{"soft hyphen removed", "DU\u00adPONT", "DUPONT", 100, ""},
		{"zero-width joiner removed", "DU\u200dPONT", "DUPONT", 100, ""},
		{"BOM inside removed", "\ufeffDUPONT", "DUPONT", 100, ""},
		{"two marks kept", "e\u0323\u0302", "ệ", 100, ""},
		{"NUL", "DUPONT\x00", "", 100, "control character U+0000"},
		{"BEL", "DU\aPONT", "", 100, "control character U+0007"},
		{"ESC", "DUPONT\x1b[2J", "", 100, "control character U+001B"},
		{"DEL", "DUPONT\x7f", "", 100, "control character U+007F"},
		{"C1", "DUPONT\u0090", "", 100, "control character U+0090"},
		{"RLO", "\u202eTNOPUD", "", 100, "bidirectional control U+202E"},
		{"LRI", "DUPONT\u2066", "", 100, "bidirectional control U+2066"},
		{"RLM", "DUPONT\u200f", "", 100, "bidirectional control U+200F"},
		{"other Cf", "DUPONT\U000E0041", "", 100, "formatting character U+E0041"},
		{"private use", "DUPONT\ue000", "", 100, "not a printable character"},
		{"stacked marks", "E" + strings.Repeat("\u0301", 50), "", 100, "combining marks"},
		{"three marks", "q\u0301\u0302\u0303", "", 100, "combining marks"},
		{"three marks, one composed", "e\u0323\u0302\u0301", "ệ\u0301", 100, ""},
		{"invalid UTF-8", "M\xdcLLER", "", 100, "not valid UTF-8 (byte 2 is 0xDC)"},
		{"over the limit", strings.Repeat("A", 101), "", 100, "longer than 100 characters (the limit)"},
		{"over the limit in accents", strings.Repeat("É", 101), "", 100, "longer than 100 characters (the limit)"},
		{"a megabyte", strings.Repeat("A", 1<<20), "", 100, "longer than 100 characters (the limit)"},
		{"a megabyte of accents", strings.Repeat("É", 1<<19), "", 100, "longer than 100 characters (the limit)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CleanText("birth_name", tc.in, tc.max)
			if tc.refused != "" {
				if err == nil || vigie.ErrorCode(err) != vigie.EINVALID || vigie.ErrorField(err) != "birth_name" || !strings.Contains(err.Error(), tc.refused) {
					t.Fatalf("err = %v, want a refusal of birth_name with %q", err, tc.refused)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("= %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestDoorRefusesOversizedName is issue 26's first defect: a 1 MiB or
// 10 KB birth name was accepted.
func TestDoorRefusesOversizedName(t *testing.T) {
	for _, n := range []int{101, 10 << 10, 1 << 20} {
		r := vigie.Record{Authority: "1.2.3", LocalID: "1", BirthName: strings.Repeat("A", n)}
		_, err := Admit(&r)
		if vigie.ErrorField(err) != "birth_name" || !strings.Contains(err.Error(), "longer than 100 characters (the limit)") {
			t.Errorf("%d characters: %v", n, err)
		}
		if err != nil && len(err.Error()) > 200 {
			t.Errorf("the refusal carries the value: %d bytes", len(err.Error()))
		}
	}
	for _, tc := range []struct {
		field string
		edit  func(r *vigie.Record)
	}{
		{"first_names", func(r *vigie.Record) { r.FirstNames = strings.Repeat("JEAN ", 41) }},
		{"address", func(r *vigie.Record) { r.Address = strings.Repeat("RUE ", 63) }},
		{"city", func(r *vigie.Record) { r.City = strings.Repeat("X", 101) }},
		{"phone", func(r *vigie.Record) { r.Phone = strings.Repeat("0", 33) }},
		{"local_id", func(r *vigie.Record) { r.LocalID = strings.Repeat("9", 257) }},
		{"attributes", func(r *vigie.Record) { r.Attributes = make([]string, 17) }},
		{"attributes", func(r *vigie.Record) { r.Attributes = []string{strings.Repeat("D", 33)} }},
	} {
		r := vigie.Record{Authority: "1.2.3", LocalID: "1"}
		tc.edit(&r)
		if _, err := Admit(&r); vigie.ErrorField(err) != tc.field || !strings.Contains(err.Error(), "(the limit)") {
			t.Errorf("%s over its limit: %v", tc.field, err)
		}
	}
}

// TestDoorRefusesHostileText is issue 26's third defect for names: NUL,
// BEL, ESC, U+202E and 50 combining marks were stored as sent; a zero-width
// space was kept inside the name.
func TestDoorRefusesHostileText(t *testing.T) {
	for _, name := range []string{"DUPONT\x00", "DU\aPONT", "DUPONT\x1b[2J", "\u202eTNOPUD", "E" + strings.Repeat("\u0301", 50)} {
		r := vigie.Record{Authority: "1.2.3", LocalID: "1", BirthName: name, FirstName: "JEAN", BirthDate: "1970-01-02"}
		if _, err := Admit(&r); vigie.ErrorField(err) != "birth_name" {
			t.Errorf("%+q: %v, want a refusal of birth_name", name, err)
		}
	}
	r := vigie.Record{Authority: "1.2.3", LocalID: "1", BirthName: "DU\u200bPONT", FirstName: "Jose\u0301"}
	if _, err := Admit(&r); err != nil || r.BirthName != "DUPONT" || r.FirstName != "José" {
		t.Errorf("cleaned to %q %q, %v", r.BirthName, r.FirstName, err)
	}
	for _, key := range []string{"A\u200b1", "A\x001", "A\u202e1", "JOSE\u0301"} { // keys are never changed
		r := vigie.Record{Authority: "1.2.3", LocalID: key}
		if _, err := Admit(&r); vigie.ErrorField(err) != "local_id" {
			t.Errorf("local id %+q: %v", key, err)
		}
	}
}

// TestDoorRefusesInvalidUTF8 is issue 26's second defect at the record's
// door: Latin-1 bytes reached the store and every later answer failed.
func TestDoorRefusesInvalidUTF8(t *testing.T) {
	r := vigie.Record{Authority: "1.2.3", LocalID: "1", BirthName: "M\xdcLLER"}
	if _, err := Admit(&r); vigie.ErrorField(err) != "birth_name" || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("%v", err)
	}
	r = vigie.Record{Authority: "1.2.3", LocalID: "1", City: "BOURG-EN-BRESSE", Address: "12 RUE \xe9MILE ZOLA"}
	if _, err := Admit(&r); vigie.ErrorField(err) != "address" {
		t.Errorf("%v", err)
	}
}

// TestDoorDates is issue 26's third defect for dates: impossible dates are
// stored verbatim and flagged, future ones refused, very old ones held
// back from automatic links.
func TestDoorDates(t *testing.T) {
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		date        string
		refused     bool
		invalid     bool
		implausible bool
		want        Date
	}{
		{"1970-05-06", false, false, false, Date{Year: 1970, Month: 5, Day: 6}},
		{"00/00/0000", false, true, false, Date{}},
		{"0000-00-00", false, true, false, Date{}},
		{"1945-04-93", false, true, false, Date{}},
		{"31/02/1980", false, true, false, Date{}},
		{"hier", false, true, false, Date{}},
		{"0945-04-03", false, true, false, Date{}},
		{"1800-01-01", false, false, true, Date{Year: 1800, Month: 1, Day: 1, Placeholder: true}},
		{"1889-06-01", false, false, true, Date{Year: 1889, Month: 6, Day: 1, Placeholder: true}},
		{"2090-01-01", true, false, false, Date{}},
		{"2090-13-45", true, false, false, Date{}},
		{"9999-01-01", true, false, false, Date{}},
		{"2026-04", true, false, false, Date{}},
		{"2026-03-17", true, false, false, Date{}},
		{"2026-03-16", false, false, false, Date{Year: 2026, Month: 3, Day: 16}}, // a day of margin
		{"2026", false, false, false, Date{Year: 2026}},
	} {
		r := vigie.Record{Authority: "1.2.3", LocalID: "1", BirthName: "DUPONT", BirthDate: tc.date}
		err := cleanAt(&r, now)
		if tc.refused {
			if vigie.ErrorField(err) != "birth_date" || !strings.Contains(err.Error(), "future") {
				t.Errorf("%s: %v, want a refusal (in the future)", tc.date, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s refused: %v", tc.date, err)
			continue
		}
		p, err := Prepare(&r)
		if err != nil {
			t.Errorf("%s: Prepare: %v", tc.date, err)
			continue
		}
		invalid, why := p.DateInvalid()
		if invalid != tc.invalid || p.DateImplausible() != tc.implausible || p.Date != tc.want || r.BirthDate != tc.date {
			t.Errorf("%s: date %+v invalid %v (%s) implausible %v, stored %q", tc.date, p.Date, invalid, why, p.DateImplausible(), r.BirthDate)
		}
		if tc.implausible && !p.NoAutoLink {
			t.Errorf("%s: may link by itself", tc.date)
		}
		if (len(p.Warnings()) > 0) != (tc.invalid || tc.implausible) {
			t.Errorf("%s: warnings %q", tc.date, p.Warnings())
		}
	}
}

// TestInvalidDateIsNoEvidence: a record whose birth date cannot be read
// compares on its date as one without a date: neither for nor against.
func TestInvalidDateIsNoEvidence(t *testing.T) {
	a := prep(t, vigie.Record{Authority: "a", LocalID: "1", BirthName: "LEFEVRE", FirstName: "FRANCOISE", Sex: "F", BirthDate: "1945-04-03"})
	bad := prep(t, vigie.Record{Authority: "b", LocalID: "2", BirthName: "LEFEVRE", FirstName: "FRANCOISE", Sex: "F", BirthDate: "1945-04-93"})
	none := prep(t, vigie.Record{Authority: "b", LocalID: "2", BirthName: "LEFEVRE", FirstName: "FRANCOISE", Sex: "F"})
	m := DefaultModel()
	cb, cn := Compare(a, bad), Compare(a, none)
	if sb, sn := m.Score(&cb, nil), m.Score(&cn, nil); sb.Weight != sn.Weight {
		t.Errorf("invalid date weighs %v, missing date %v", sb.Weight, sn.Weight)
	}
}

func FuzzCleanText(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := CleanText("birth_name", s, vigie.MaxNameChars)
		if err != nil {
			if vigie.ErrorCode(err) != vigie.EINVALID || vigie.ErrorField(err) != "birth_name" {
				t.Fatalf("CleanText(%+q): %v does not name birth_name", s, err)
			}
			return
		}
		if !utf8.ValidString(got) || !norm.NFC.IsNormalString(got) || utf8.RuneCountInString(got) > vigie.MaxNameChars {
			t.Fatalf("CleanText(%+q) = %+q: not valid, not NFC or too long", s, got)
		}
		for _, r := range got {
			if r != ' ' && !unicode.IsGraphic(r) {
				t.Fatalf("CleanText(%+q) = %+q keeps U+%04X", s, got, r)
			}
		}
		if again, err := CleanText("birth_name", got, vigie.MaxNameChars); err != nil || again != got {
			t.Fatalf("CleanText is not idempotent on %+q: %+q, %v", got, again, err)
		}
	})
}

func FuzzAdmit(f *testing.F) {
	for _, s := range hostile {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, name, date string) {
		r := vigie.Record{Authority: "1.2.3", LocalID: "1", BirthName: name, FirstNames: name, BirthDate: date}
		p, err := Admit(&r)
		if err != nil {
			if vigie.ErrorCode(err) != vigie.EINVALID || vigie.ErrorField(err) == "" {
				t.Fatalf("Admit(%+q, %+q): %v names no field", name, date, err)
			}
			return
		}
		if bad, _ := p.DateInvalid(); bad && !p.Date.IsZero() {
			t.Fatalf("an invalid date %q gives %+v", date, p.Date)
		}
	})
}
