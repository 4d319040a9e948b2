package dimse

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// An A-ASSOCIATE-RQ as dcmtk's echoscu 3.6.7 sends it (captured from
// `echoscu -aet CT_SALLE_1 -aec VIGIE`): one Verification context, the
// maximum length, dcmtk's implementation class and version.
var echoscuRQ = []byte("\x01\x00\x00\x00\x00\xcd\x00\x01\x00\x00VIGIE           CT_SALLE_1      " +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x10\x00\x00\x15" + "1.2.840.10008.3.1.1.1" +
	"\x20\x00\x00\x2e\x01\x00\xff\x00" + "\x30\x00\x00\x11" + "1.2.840.10008.1.1" + "\x40\x00\x00\x11" + "1.2.840.10008.1.2" +
	"\x50\x00\x00\x3a" + "\x51\x00\x00\x04\x00\x00\x40\x00" + "\x52\x00\x00\x1b" + "1.2.276.0.7230010.3.0.3.6.7" +
	"\x55\x00\x00\x0f" + "OFFIS_DCMTK_367")

func TestReadPDU(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		max  uint32
		want any
		err  string
	}{
		{name: "echoscu's A-ASSOCIATE-RQ", in: echoscuRQ, max: 1 << 16, want: &Associate{Type: TypeAssociateRQ, ProtocolVersion: 1,
			CalledAE: "VIGIE", CallingAE: "CT_SALLE_1", ApplicationContext: ApplicationContext,
			Contexts:  []PresentationContext{{ID: 1, AbstractSyntax: Verification, TransferSyntaxes: []string{ImplicitVRLittleEndian}}},
			MaxLength: 16384, ImplementationClass: "1.2.276.0.7230010.3.0.3.6.7", ImplementationVersion: "OFFIS_DCMTK_367"}},
		{name: "A-ASSOCIATE-RJ", in: []byte{3, 0, 0, 0, 0, 4, 0, 1, 1, 3}, max: 100, want: &Reject{Result: 1, Source: 1, Reason: 3}},
		{name: "A-RELEASE-RQ", in: []byte{5, 0, 0, 0, 0, 4, 0, 0, 0, 0}, max: 100, want: &ReleaseRQ{}},
		{name: "A-RELEASE-RP", in: []byte{6, 0, 0, 0, 0, 4, 0, 0, 0, 0}, max: 100, want: &ReleaseRP{}},
		{name: "A-ABORT", in: []byte{7, 0, 0, 0, 0, 4, 0, 0, 2, 6}, max: 100, want: &Abort{Source: 2, Reason: 6}},
		{name: "P-DATA-TF, two PDVs", in: []byte{4, 0, 0, 0, 0, 14, 0, 0, 0, 3, 1, 3, 'a', 0, 0, 0, 3, 1, 0, 'b'}, max: 100,
			want: &PData{Items: []PDV{{Context: 1, Command: true, Last: true, Data: []byte("a")}, {Context: 1, Data: []byte("b")}}}},
		{name: "longer than agreed", in: []byte{4, 0, 0, 0, 1, 0}, max: 100, err: "more than the 100 agreed"},
		{name: "unknown type", in: []byte{9, 0, 0, 0, 0, 0}, max: 100, err: "unknown PDU type"},
		{name: "truncated body", in: []byte{5, 0, 0, 0, 0, 4, 0}, max: 100, err: "unexpected EOF"},
		{name: "A-ABORT too long", in: []byte{7, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0}, max: 100, err: "A-ABORT of 5 bytes"},
		{name: "P-DATA-TF empty", in: []byte{4, 0, 0, 0, 0, 0}, max: 100, err: "without PDV item"},
		{name: "PDV longer than the PDU", in: []byte{4, 0, 0, 0, 0, 7, 0, 0, 0, 9, 1, 3, 'a'}, max: 100, err: "PDV item length 9"},
		{name: "PDV bad control header", in: []byte{4, 0, 0, 0, 0, 7, 0, 0, 0, 3, 1, 4, 'a'}, max: 100, err: "message control header"},
		{name: "A-ASSOCIATE-RQ too short", in: []byte{1, 0, 0, 0, 0, 4, 0, 1, 0, 0}, max: 100, err: "fewer than its 68 fixed ones"},
		{name: "item overruns", in: append(append([]byte{1, 0, 0, 0, 0, 72}, echoscuRQ[6:74]...), 0x10, 0, 0, 9), max: 1000, err: "item 0x10 of 9 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadPDU(bytes.NewReader(tc.in), tc.max, nil)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
			// Encoding what was read gives a PDU that reads the same.
			b, err := AppendPDU(nil, got)
			if err != nil {
				t.Fatal(err)
			}
			again, err := ReadPDU(bytes.NewReader(b), tc.max, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(again, tc.want) {
				t.Fatalf("round trip: %+v", again)
			}
		})
	}
}

func TestReadPDUMalformedIsErrMalformed(t *testing.T) {
	_, err := ReadPDU(bytes.NewReader([]byte{9, 0, 0, 0, 0, 0}), 10, nil)
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("%v is not ErrMalformed", err)
	}
	_, err = ReadPDU(bytes.NewReader(nil), 10, nil)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("empty stream: %v, want io.EOF (the connection closed)", err)
	}
}

func TestAssociateACEncoding(t *testing.T) {
	ac := &Associate{Type: TypeAssociateAC, ProtocolVersion: 1, CalledAE: "VIGIE", CallingAE: "CT_SALLE_1", ApplicationContext: ApplicationContext,
		Contexts: []PresentationContext{
			{ID: 1, Result: PCAccepted, TransferSyntaxes: []string{ExplicitVRLittleEndian}},
			{ID: 3, Result: PCAbstractNotSupported, TransferSyntaxes: []string{ImplicitVRLittleEndian}},
		},
		MaxLength: DefaultMaxPDU, ImplementationClass: ImplementationClass, ImplementationVersion: ImplementationVersion}
	b, err := AppendPDU(nil, ac)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != TypeAssociateAC || int(b[2])<<24|int(b[3])<<16|int(b[4])<<8|int(b[5]) != len(b)-6 {
		t.Fatalf("header % x for %d bytes", b[:6], len(b))
	}
	// The AE fields are 16 bytes padded with spaces.
	if got := string(b[10:26]); got != "VIGIE           " {
		t.Fatalf("called AE field %q", got)
	}
	// A presentation context item of an AC is 0x21, with its result at
	// the third byte of its value.
	i := bytes.IndexByte(b[74:], 0x21) + 74
	if b[i+4] != 1 || b[i+6] != PCAccepted {
		t.Fatalf("first context item % x", b[i:i+8])
	}
	got, err := ReadPDU(bytes.NewReader(b), 1<<16, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, ac) {
		t.Fatalf("got %+v", got)
	}
}

func TestRejectError(t *testing.T) {
	for _, tc := range []struct {
		r    Reject
		want string
	}{
		{RejectCallingAE, "association rejected (permanent): calling AE title not recognised"},
		{RejectCalledAE, "association rejected (permanent): called AE title not recognised"},
		{RejectLocalLimit, "association rejected (transient): local limit exceeded"},
		{RejectProtocol, "association rejected (permanent): protocol version not supported"},
		{Reject{Result: 1, Source: 1, Reason: 9}, "association rejected (permanent): source 1 reason 9"},
	} {
		if got := tc.r.Error(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.r, got, tc.want)
		}
	}
}

// FuzzReadPDU: whatever the bytes, ReadPDU returns a PDU or an error,
// never panics nor allocates past the bound, and a PDU it returns
// encodes to bytes it reads back the same.
func FuzzReadPDU(f *testing.F) {
	f.Add(echoscuRQ)
	f.Add([]byte{4, 0, 0, 0, 0, 14, 0, 0, 0, 3, 1, 3, 'a', 0, 0, 0, 3, 1, 0, 'b'})
	f.Add([]byte{7, 0, 0, 0, 0, 4, 0, 0, 2, 6})
	f.Add([]byte{3, 0, 0, 0, 0, 4, 0, 1, 1, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ReadPDU(bytes.NewReader(b), 1<<16, nil)
		if err != nil {
			return
		}
		enc, err := AppendPDU(nil, p)
		if err != nil {
			t.Fatalf("%T read but not encoded: %v", p, err)
		}
		again, err := ReadPDU(bytes.NewReader(enc), 1<<20, nil)
		if err != nil {
			t.Fatalf("re-encoded %T does not read: %v", p, err)
		}
		if a, ok := again.(*Associate); ok {
			// Encoding adds a user-information item and pads nothing
			// else; the values read must be the same.
			o := p.(*Associate)
			if a.CalledAE != o.CalledAE || a.CallingAE != o.CallingAE || len(a.Contexts) != len(o.Contexts) || a.MaxLength != o.MaxLength {
				t.Fatalf("round trip: %+v, was %+v", a, o)
			}
			return
		}
		if !reflect.DeepEqual(again, p) {
			t.Fatalf("round trip: %+v, was %+v", again, p)
		}
	})
}
