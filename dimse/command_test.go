package dimse

import (
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
)

func TestCommandRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		c    Command
	}{
		{"C-ECHO-RQ", Command{Field: CEchoRQ, AffectedSOPClass: Verification, MessageID: 7, DataSetType: NoDataSet}},
		{"C-ECHO-RSP", Command{Field: CEchoRSP, AffectedSOPClass: Verification, RespondedTo: 7, DataSetType: NoDataSet}},
		{"C-STORE-RQ", Command{Field: CStoreRQ, AffectedSOPClass: "1.2.840.10008.5.1.4.1.1.88.67", MessageID: 1, Priority: 2,
			DataSetType: 0x0001, AffectedSOPInstance: "1.2.3.4.5", MoveOriginatorAE: "PACS", MoveOriginatorID: 9}},
		{"C-STORE-RSP refused", Command{Field: CStoreRSP, AffectedSOPClass: "1.2.840.10008.5.1.4.1.1.88.67", RespondedTo: 1,
			DataSetType: NoDataSet, Status: StatusCannotUnderstand, ErrorComment: "not a dose report", AffectedSOPInstance: "1.2.3.4.5"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.c.Encode()
			// The group length counts the bytes after it.
			if n := binary.LittleEndian.Uint32(b[8:]); int(n) != len(b)-12 {
				t.Fatalf("group length %d for %d bytes", n, len(b)-12)
			}
			// Every value has an even length.
			for p := b; len(p) > 0; {
				n := binary.LittleEndian.Uint32(p[4:])
				if n%2 != 0 {
					t.Fatalf("element (0000,%04x) of odd length %d", binary.LittleEndian.Uint16(p[2:]), n)
				}
				p = p[8+n:]
			}
			got, err := ParseCommand(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.c) {
				t.Fatalf("got  %+v\nwant %+v", *got, tc.c)
			}
		})
	}
}

func TestParseCommandRefuses(t *testing.T) {
	el := func(g, e uint16, v ...byte) []byte {
		b := binary.LittleEndian.AppendUint16(nil, g)
		b = binary.LittleEndian.AppendUint16(b, e)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
		return append(b, v...)
	}
	for _, tc := range []struct {
		name string
		b    []byte
		err  string
	}{
		{"no command field", el(0, 0x0110, 1, 0), "without CommandField"},
		{"another group", el(8, 0x0016, 'x', 0), "outside group 0000"},
		{"truncated", el(0, 0x0100, 1, 0)[:9], "of 2 bytes with 1 left"},
		{"short header", []byte{0, 0, 0}, "too few for an element"},
		{"US of 3 bytes", el(0, 0x0100, 1, 0, 0), "want 2 (US)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCommand(tc.b)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err %v, want %q", err, tc.err)
			}
		})
	}
}

func TestErrorComment(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"not a dose report", "not a dose report"},
		{"Établissement\\x", "??tablissement?x"},
		{strings.Repeat("a", 70), strings.Repeat("a", 61) + "..."},
	} {
		if got := ErrorComment(tc.in); got != tc.want || len(got) > MaxErrorComment {
			t.Errorf("ErrorComment(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzParseCommand: a command set either parses or is refused; one that
// parses encodes to one that parses the same.
func FuzzParseCommand(f *testing.F) {
	f.Add((&Command{Field: CStoreRQ, AffectedSOPClass: "1.2", MessageID: 1, DataSetType: 1, AffectedSOPInstance: "1.2.3"}).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCommand(b)
		if err != nil {
			return
		}
		again, err := ParseCommand(c.Encode())
		if err != nil {
			t.Fatalf("re-encoded command does not parse: %v", err)
		}
		if again.Field != c.Field || again.DataSetType != c.DataSetType {
			t.Fatalf("round trip: %+v, was %+v", again, c)
		}
	})
}
