package matcher

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"vigie"
)

// Bodies and keys published with the identity rules (INS section).
var insVectors = []struct{ body, key string }{
	{"2790351215189", "89"},
	{"2740751760794", "30"},
	{"1800175123456", "60"},
	{"285052A004123", "06"},
	{"165042B123456", "54"},
}

func TestINSKeyVectors(t *testing.T) {
	for _, v := range insVectors {
		got, err := INSKey(v.body)
		if err != nil {
			t.Errorf("INSKey(%q): %v", v.body, err)
			continue
		}
		if got != v.key {
			t.Errorf("INSKey(%q) = %s, want %s", v.body, got, v.key)
		}
		ins, err := ParseINS(v.body+v.key, OIDINSNIR)
		if err != nil {
			t.Errorf("ParseINS(%q): %v", v.body+v.key, err)
		} else if ins.Number != v.body+v.key {
			t.Errorf("ParseINS(%q).Number = %q", v.body+v.key, ins.Number)
		}
	}
}

func TestINSKeyErrors(t *testing.T) {
	for _, body := range []string{"", "279035121518", "27903512151890", "2790351A15189", "27903X1215189"} {
		if k, err := INSKey(body); err == nil {
			t.Errorf("INSKey(%q) = %s, want an error", body, k)
		} else if vigie.ErrorCode(err) != vigie.EINVALID || vigie.ErrorField(err) != "ins" {
			t.Errorf("INSKey(%q) error = %v, want EINVALID on field ins", body, err)
		}
	}
	if k, err := INSKey("285 05 2a 004 123"); err != nil || k != "06" {
		t.Errorf("INSKey with spaces and lower case = %q, %v; want 06", k, err)
	}
}

// Replacing A/B by 0 is a known wrong implementation: 2A must count as 19
// and 2B as 18. The keys 76 and 97 below are what that wrong rule gives.
func TestINSCorsicaIsNotZero(t *testing.T) {
	for _, c := range []struct{ wrong, right string }{
		{"285052A00412376", "285052A00412306"},
		{"165042B12345697", "165042B12345654"},
	} {
		if _, err := ParseINS(c.wrong, ""); err == nil {
			t.Errorf("ParseINS(%q) accepted a key computed with A/B replaced by 0", c.wrong)
		} else if want := "(expected " + c.right[13:] + ")"; !strings.Contains(err.Error(), want) {
			t.Errorf("ParseINS(%q) error %q does not say %q", c.wrong, err, want)
		}
		if _, err := ParseINS(c.right, ""); err != nil {
			t.Errorf("ParseINS(%q): %v", c.right, err)
		}
	}
	// The Corsican number and its "20" spelling are different numbers.
	a, _ := INSKey("285052A004123")
	z, _ := INSKey("2850520004123")
	if a == z {
		t.Errorf("2A and 20 give the same key %s", a)
	}
}

// Public vendor samples with invalid keys must be rejected, naming the key
// that the number calls for.
func TestParseINSVendorSamples(t *testing.T) {
	for _, c := range []struct{ number, msg string }{
		{"276037510669380", "ins: key 80 does not match the number (expected 26)"},
		{"147720425367411", "ins: key 11 does not match the number (expected 30)"},
	} {
		_, err := ParseINS(c.number, OIDINSNIR)
		if err == nil {
			t.Errorf("ParseINS(%q) accepted an invalid key", c.number)
			continue
		}
		var e *vigie.Error
		if !errors.As(err, &e) || e.Code != vigie.EINVALID || e.Field != "ins" {
			t.Errorf("ParseINS(%q) error = %#v, want *vigie.Error EINVALID on ins", c.number, err)
		}
		if err.Error() != c.msg {
			t.Errorf("ParseINS(%q) error = %q, want %q", c.number, err, c.msg)
		}
	}
}

func TestParseINS(t *testing.T) {
	tests := []struct {
		name, number, oid string
		want              INS    // when no error
		field             string // when an error is expected
		msg               string // part of the expected error message
	}{
		{name: "NIR", number: "279035121518989", oid: OIDINSNIR,
			want: INS{"279035121518989", OIDINSNIR}},
		{name: "NIA", number: "180017512345660", oid: OIDINSNIA,
			want: INS{"180017512345660", OIDINSNIA}},
		{name: "no OID", number: "274075176079430",
			want: INS{"274075176079430", ""}},
		{name: "test OID", number: "274075176079430", oid: OIDINSNIRTest,
			want: INS{"274075176079430", OIDINSNIRTest}},
		{name: "demo OID", number: "274075176079430", oid: OIDINSNIRDemo,
			want: INS{"274075176079430", OIDINSNIRDemo}},
		{name: "urn:oid prefix", number: "274075176079430", oid: "urn:oid:" + OIDINSNIR,
			want: INS{"274075176079430", OIDINSNIR}},
		{name: "spaces", number: " 2 79 03 51 215 189 89 ", oid: OIDINSNIR,
			want: INS{"279035121518989", OIDINSNIR}},
		{name: "dots", number: "2.79.03.51.215.189.89", oid: OIDINSNIR,
			want: INS{"279035121518989", OIDINSNIR}},
		{name: "Corsica lower case", number: "285052a00412306",
			want: INS{"285052A00412306", ""}},
		{name: "Corsica 2B", number: "165042B12345654",
			want: INS{"165042B12345654", ""}},

		{name: "empty", number: "", field: "ins", msg: "missing"},
		{name: "too short", number: "27903512151898", field: "ins", msg: "found 14"},
		{name: "too long", number: "2790351215189890", field: "ins", msg: "found 16"},
		{name: "body only", number: "2790351215189", field: "ins", msg: "found 13"},
		{name: "letter", number: "27903512151X989", field: "ins", msg: "'X' at position 12 is not a digit"},
		{name: "hyphen", number: "279-035121518989", field: "ins", msg: "found 16"},
		{name: "non-ASCII digit", number: "27903512151898٩", field: "ins", msg: "position 15 is not a digit"},
		{name: "invalid UTF-8", number: "27903512151898\xff", field: "ins", msg: "invalid UTF-8 at position 15"},
		{name: "A outside Corsica", number: "2790A5121518989", field: "ins", msg: "'A' at position 5"},
		{name: "B in the key", number: "27903512151898B", field: "ins", msg: "'B' at position 15"},
		{name: "A after a non-2", number: "285053A00412306", field: "ins", msg: "'A' at position 7"},
		{name: "Corsica at position 6", number: "28505A200412306", field: "ins", msg: "'A' at position 6"},
		{name: "bad sex digit", number: "579035121518989", field: "ins", msg: "first digit 5"},
		{name: "key 00", number: "279035121518900", field: "ins", msg: "key 00 does not match the number (expected 89)"},
		{name: "key 98", number: "279035121518998", field: "ins", msg: "expected 89"},
		{name: "INS-C", number: "279035121518989", oid: OIDINSC, field: "ins_oid", msg: "INS-C"},
		{name: "unknown OID", number: "279035121518989", oid: "1.2.250.1.71.4.2.1", field: "ins_oid", msg: "not an INS authority"},
		{name: "OID checked first", number: "x", oid: "1.2.3", field: "ins_oid", msg: "not an INS authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseINS(tt.number, tt.oid)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("ParseINS(%q, %q): %v", tt.number, tt.oid, err)
				}
				if got != tt.want {
					t.Fatalf("ParseINS(%q, %q) = %+v, want %+v", tt.number, tt.oid, got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseINS(%q, %q) = %+v, want an error", tt.number, tt.oid, got)
			}
			if got != (INS{}) {
				t.Errorf("ParseINS returned %+v with its error", got)
			}
			if c, f := vigie.ErrorCode(err), vigie.ErrorField(err); c != vigie.EINVALID || f != tt.field {
				t.Errorf("error %q: code %q field %q, want %q %q", err, c, f, vigie.EINVALID, tt.field)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
		})
	}
}

// Temporary and unusual numbers: keys are computed so the test only checks
// the accessors.
func insMust(t *testing.T, body, oid string) INS {
	t.Helper()
	key, err := INSKey(body)
	if err != nil {
		t.Fatalf("INSKey(%q): %v", body, err)
	}
	ins, err := ParseINS(body+key, oid)
	if err != nil {
		t.Fatalf("ParseINS(%q): %v", body+key, err)
	}
	return ins
}

func TestINSAccessors(t *testing.T) {
	tests := []struct {
		body, oid   string
		sex         byte
		temporary   bool
		year, month int
		place, dept string
		nia, test   bool
	}{
		{"2790351215189", OIDINSNIR, 'F', false, 79, 3, "51215", "51", false, false},
		{"1800175123456", OIDINSNIA, 'M', false, 80, 1, "75123", "75", true, false},
		{"285052A004123", "", 'F', false, 85, 5, "2A004", "2A", false, false},
		{"165042B123456", OIDINSNIRTest, 'M', false, 65, 4, "2B123", "2B", false, true},
		{"1021297411007", OIDINSNIRDemo, 'M', false, 2, 12, "97411", "974", false, true},
		{"2995099134012", "", 'F', false, 99, 50, "99134", "99", false, false},
		{"3602599100001", "", 'M', true, 60, 25, "99100", "99", false, false},
		{"4000033063001", "", 'F', true, 0, 0, "33063", "33", false, false},
		{"7451098735001", OIDINSNIA, 'M', true, 45, 10, "98735", "987", true, false},
		{"8451075056001", "", 'F', true, 45, 10, "75056", "75", false, false},
	}
	for _, tt := range tests {
		i := insMust(t, tt.body, tt.oid)
		if got := i.Sex(); got != tt.sex {
			t.Errorf("%s: Sex() = %q, want %q", tt.body, got, tt.sex)
		}
		if got := i.IsTemporary(); got != tt.temporary {
			t.Errorf("%s: IsTemporary() = %v, want %v", tt.body, got, tt.temporary)
		}
		if got := i.BirthYear2(); got != tt.year {
			t.Errorf("%s: BirthYear2() = %d, want %d", tt.body, got, tt.year)
		}
		if got := i.BirthMonth(); got != tt.month {
			t.Errorf("%s: BirthMonth() = %d, want %d", tt.body, got, tt.month)
		}
		if got := i.BirthPlace(); got != tt.place {
			t.Errorf("%s: BirthPlace() = %q, want %q", tt.body, got, tt.place)
		}
		if got := i.BirthDepartement(); got != tt.dept {
			t.Errorf("%s: BirthDepartement() = %q, want %q", tt.body, got, tt.dept)
		}
		if got := i.IsNIA(); got != tt.nia {
			t.Errorf("%s: IsNIA() = %v, want %v", tt.body, got, tt.nia)
		}
		if got := i.IsTest(); got != tt.test {
			t.Errorf("%s: IsTest() = %v, want %v", tt.body, got, tt.test)
		}
	}
}

// The zero INS (not from ParseINS) must not panic.
func TestINSZeroValue(t *testing.T) {
	var i INS
	if i.Sex() != 0 || i.IsTemporary() || i.BirthYear2() != 0 || i.BirthMonth() != 0 ||
		i.BirthPlace() != "" || i.BirthDepartement() != "" || i.IsNIA() || i.IsTest() {
		t.Errorf("zero INS accessors = %q %v %d %d %q %q %v %v", i.Sex(), i.IsTemporary(),
			i.BirthYear2(), i.BirthMonth(), i.BirthPlace(), i.BirthDepartement(), i.IsNIA(), i.IsTest())
	}
}

func FuzzParseINS(f *testing.F) {
	for _, v := range insVectors {
		f.Add(v.body+v.key, OIDINSNIR)
	}
	f.Add("276037510669380", OIDINSNIR)
	f.Add("147720425367411", "")
	f.Add("285052a004123 06", "urn:oid:"+OIDINSNIA)
	f.Add("165042B12345697", OIDINSNIRDemo)
	f.Add("2.79.03.51.215.189.89", OIDINSC)
	f.Add("", "")
	f.Fuzz(func(t *testing.T, number, oid string) {
		ins, err := ParseINS(number, oid)
		if err != nil {
			var e *vigie.Error
			if !errors.As(err, &e) || e.Code != vigie.EINVALID || (e.Field != "ins" && e.Field != "ins_oid") {
				t.Fatalf("ParseINS(%q, %q) error %#v is not EINVALID on ins/ins_oid", number, oid, err)
			}
			return
		}
		if len(ins.Number) != 15 {
			t.Fatalf("ParseINS(%q, %q).Number = %q: not 15 bytes", number, oid, ins.Number)
		}
		again, err := ParseINS(ins.Number, ins.OID)
		if err != nil || again != ins {
			t.Fatalf("ParseINS(%q, %q) = %+v, which re-parses to %+v, %v", number, oid, ins, again, err)
		}
		key, err := INSKey(ins.Number[:13])
		if err != nil || key != ins.Number[13:] {
			t.Fatalf("ParseINS(%q, %q) = %+v, whose key should be %q (%v)", number, oid, ins, key, err)
		}
		if s := ins.Sex(); s != 'M' && s != 'F' {
			t.Fatalf("ParseINS(%q, %q).Sex() = %q", number, oid, s)
		}
		if len(ins.BirthPlace()) != 5 {
			t.Fatalf("ParseINS(%q, %q).BirthPlace() = %q", number, oid, ins.BirthPlace())
		}
	})
}

func ExampleParseINS() {
	ins, err := ParseINS("2 85 05 2a 004 123 06", OIDINSNIR)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ins.Number, string(ins.Sex()), ins.BirthYear2(), ins.BirthMonth(), ins.BirthPlace())

	_, err = ParseINS("276037510669380", OIDINSNIR)
	fmt.Println(err)
	// Output:
	// 285052A00412306 F 85 5 2A004
	// ins: key 80 does not match the number (expected 26)
}

func BenchmarkParseINS(b *testing.B) {
	for _, n := range []string{"279035121518989", "2 79 03 51 215 189 89", "276037510669380"} {
		b.Run(n, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ParseINS(n, OIDINSNIR)
			}
		})
	}
}
