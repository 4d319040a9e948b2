package hl7

import (
	"strings"
	"testing"

	"vigie"
)

// seg joins segments with the carriage returns of the wire.
func seg(lines ...string) []byte { return []byte(strings.Join(lines, "\r") + "\r") }

func TestParseFields(t *testing.T) {
	m, err := Parse(seg(
		`MSH|^~\&|APP|FAC^1.2.3^ISO|VIGIE|REG|20261207||ADT^A28^ADT_A05|C1|P|2.5|||||FRA|UNICODE UTF-8`,
		`PID|1||A1^^^NS&1.2.3&ISO^PI~B2^^^X&9.9&ISO^PI||NOM^PRÉNOM^^^^^L~^^^^^^D||19850612`,
	))
	if err != nil {
		t.Fatal(err)
	}
	msh, pid := m.Segments[0], m.Segments[1]
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"MSH-1 is the field separator", msh.Field(1), "|"},
		{"MSH-2 the encoding characters", msh.Field(2), `^~\&`},
		{"MSH-4 component 2", msh.Get(4, 2), "1.2.3"},
		{"MSH-9 event", msh.Get(9, 2), "A28"},
		{"MSH-10", msh.Get(10, 0), "C1"},
		{"MSH-18", m.Charset, "UNICODE UTF-8"},
		{"PID-3 second repetition", pid.Repetitions(3)[1].Get(1, 0), "B2"},
		{"PID-3 subcomponent", pid.Repetitions(3)[0].Get(4, 2), "1.2.3"},
		{"PID-5 non-ASCII", pid.Get(5, 2), "PRÉNOM"},
		{"PID-5 empty repetition's component", pid.Repetitions(5)[1].Get(1, 0), ""},
		{"PID-5 type of the second repetition", pid.Repetitions(5)[1].Get(7, 0), "D"},
		{"absent field", pid.Field(40), ""},
		{"absent component", pid.Get(7, 5), ""},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	if n := len(pid.Repetitions(3)); n != 2 {
		t.Errorf("PID-3 has %d repetitions, want 2", n)
	}
}

func TestUnescape(t *testing.T) {
	d := &Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\', Subcomponent: '&'}
	tests := []struct{ in, want string }{
		{`A\S\B`, "A^B"},
		{`A\T\B`, "A&B"},
		{`A\F\B`, "A|B"},
		{`A\R\B`, "A~B"},
		{`A\E\B`, `A\B`},
		{`OPERA\XC7\\XC3\O`, "OPERAÇÃO"}, // Latin-1 bytes
		{`\XC3A9\`, "é"},                 // UTF-8 bytes
		{`x\H\bold\N\y`, "xboldy"},
		{`line\.br\two`, "linetwo"},
		{`trailing\`, `trailing\`},
		{`\\`, `\\`},
		{`\Xzz\`, ""},
		{"plain", "plain"},
	}
	for _, tt := range tests {
		if got := d.Unescape(tt.in); got != tt.want {
			t.Errorf("Unescape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, s := range []string{"A|B^C~D&E\\F", "plain", ""} {
		if got := d.Unescape(d.Encode(s)); got != s {
			t.Errorf("Unescape(Encode(%q)) = %q", s, got)
		}
	}
}

func TestParseCharsets(t *testing.T) {
	latin1 := append([]byte("MSH|^~\\&|A|F|B|G|2026||ADT^A28|1|P|2.5|||||FRA|8859/1\rPID|1||1^^^N&1.2&ISO^PI||N"), 0xC9, 'L', 'O', 'D', 'I', 'E', '\r')
	m, err := Parse(latin1)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Segments[1].Get(5, 1); got != "NÉLODIE" {
		t.Errorf("8859/1: got %q", got)
	}
	crlf := []byte("MSH|^~\\&|A|F|B|G|2026||ADT^A28|1|P|2.5\r\nPID|1\r\n")
	if m, err := Parse(crlf); err != nil || len(m.Segments) != 2 {
		t.Errorf("CR LF segments: %v, %d segments", err, len(m.Segments))
	}
	custom, err := Parse([]byte("MSH#$*@!#A#F#B#G#2026##ADT$A28#1#P#2.5\rPID#1##X$$$N!1.2!ISO$PI*Y@S@Z"))
	if err != nil {
		t.Fatal(err)
	}
	if got := custom.Segments[1].Repetitions(3)[0].Get(4, 2); got != "1.2" {
		t.Errorf("other delimiters: PID-3.4.2 = %q", got)
	}
	if got := custom.Segments[1].Repetitions(3)[1].Get(1, 0); got != "Y$Z" {
		t.Errorf("other delimiters: @S@ stands for the component separator $: %q", got)
	}
}

func TestParseRefuses(t *testing.T) {
	tests := []struct {
		name  string
		msg   []byte
		field string
	}{
		{"empty", nil, "MSH"},
		{"not MSH", []byte("PID|1||X\r"), "MSH"},
		{"no field after MSH-2", []byte("MSH|^~\\&"), "MSH-2"},
		{"alphanumeric delimiter", []byte("MSH|^A\\&|X\r"), "MSH-2"},
		{"repeated delimiter", []byte("MSH|^^\\&|X\r"), "MSH-2"},
		{"UTF-8 announced, Latin-1 sent", append([]byte("MSH|^~\\&|A|F|B|G|2026||ADT^A28|1|P|2.5|||||FRA|UNICODE UTF-8\rPID|1||"), 0xE9, '\r'), "MSH-18"},
		{"non-ASCII without a character set", append([]byte("MSH|^~\\&|A|F|B|G|2026||ADT^A28|1|P|2.5\rPID|1||"), 0xE9, '\r'), "MSH-18"},
		{"unknown character set", []byte("MSH|^~\\&|A|F|B|G|2026||ADT^A28|1|P|2.5|||||FRA|EBCDIC\r"), "MSH-18"},
		{"bad segment name", []byte("MSH|^~\\&|A\rpid|1\r"), "segment 2"},
		{"too long", append([]byte("MSH|^~\\&|"), make([]byte, MaxMessageBytes)...), "message"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.msg)
		if err == nil {
			t.Errorf("%s: accepted", tt.name)
			continue
		}
		if vigie.ErrorCode(err) != vigie.EINVALID || vigie.ErrorField(err) != tt.field {
			t.Errorf("%s: %v (field %q), want an invalid %s", tt.name, err, vigie.ErrorField(err), tt.field)
		}
	}
}
