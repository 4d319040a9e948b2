package mpi

import (
	"reflect"
	"testing"
	"time"

	"vigie/matcher"
)

// TestBinaryCodecCoversTypes fails when matcher.Record, recordState or
// identity gains a field the compact encoding does not carry: fill every
// field, round-trip, compare.
func TestBinaryCodecCoversTypes(t *testing.T) {
	for _, tc := range []struct {
		typ    reflect.Type
		fields int
	}{
		{reflect.TypeFor[matcher.Record](), len(recordFields(&matcher.Record{})) + 1}, // + Attributes
		{reflect.TypeFor[recordState](), 8},
		{reflect.TypeFor[identity](), 6},
		{reflect.TypeFor[Version](), 3},
	} {
		if tc.typ.NumField() != tc.fields {
			t.Errorf("%s has %d fields, the compact encoding carries %d: update binary.go", tc.typ, tc.typ.NumField(), tc.fields)
		}
	}
	rec := matcher.Record{Attributes: []string{"DOUT", "VIP"}}
	for i, f := range recordFields(&rec) {
		*f = string(rune('a'+i)) + "é"
	}
	st := recordState{Version: 3, Identity: 1 << 40, Pinned: true, Received: time.Date(2025, 3, 1, 12, 30, 0, 123456789, time.UTC),
		Record: rec, Family: "LAFFITTE", First: "BERNADETTE", Blocks: []string{"ny\x00LFT|1948", "ins\x00248037512345678"}}
	var gotSt recordState
	if err := decode(mustEncode(t, &st), &gotSt); err != nil || !reflect.DeepEqual(gotSt, st) {
		t.Fatalf("record state: %+v, %v\nwant %+v", gotSt, err, st)
	}
	ver := Version{Version: 2, Received: st.Received, Record: rec}
	var gotVer Version
	if err := decode(mustEncode(t, &ver), &gotVer); err != nil || !reflect.DeepEqual(gotVer, ver) {
		t.Fatalf("version: %+v, %v\nwant %+v", gotVer, err, ver)
	}
	id := identity{ID: 42, Members: []SourceKey{{"1.2.250.1", "A1"}, {"1.2.250.2", ""}}, Attributes: []string{"HOMA"}, Retired: 7,
		Created: time.Unix(1, 2).UTC(), Updated: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	var gotID identity
	if err := decode(mustEncode(t, &id), &gotID); err != nil || !reflect.DeepEqual(gotID, id) {
		t.Fatalf("identity: %+v, %v\nwant %+v", gotID, err, id)
	}
}

func mustEncode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := encode(v)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != schemaBinary {
		t.Fatalf("%T encoded with schema byte %d", v, b[0])
	}
	return b
}

// TestBinaryCodecTable round-trips edge values, reads values earlier builds
// wrote as JSON, and refuses damaged values.
func TestBinaryCodecTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		st   recordState
	}{
		{"zero", recordState{}},
		{"empty slices read back as nil", recordState{Version: 1, Blocks: nil, Record: matcher.Record{Attributes: nil}}},
		{"before 1970", recordState{Version: 1, Received: time.Date(1900, 1, 1, 0, 0, 0, 1, time.UTC)}},
		{"large numbers", recordState{Version: 1 << 30, Identity: 1<<64 - 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got recordState
			if err := decode(mustEncode(t, &tc.st), &got); err != nil || !reflect.DeepEqual(got, tc.st) {
				t.Fatalf("%+v, %v; want %+v", got, err, tc.st)
			}
		})
	}
	t.Run("JSON of earlier builds", func(t *testing.T) {
		var st recordState
		if err := decode([]byte("\x01"+`{"v":2,"i":9,"t":"2024-05-01T10:00:00Z","r":{"authority":"A","local_id":"1"},"b":["x"]}`), &st); err != nil {
			t.Fatal(err)
		}
		if st.Version != 2 || st.Identity != 9 || st.Record.LocalID != "1" || len(st.Blocks) != 1 {
			t.Fatalf("%+v", st)
		}
		var v Version
		if err := decode([]byte("\x01"+`{"v":1,"t":"2024-05-01T10:00:00Z","r":{"authority":"A","local_id":"1","birth_name":"X"}}`), &v); err != nil || v.Record.BirthName != "X" {
			t.Fatalf("%+v %v", v, err)
		}
		var id identity
		if err := decode([]byte("\x01"+`{"id":9,"m":[{"authority":"A","local_id":"1"}]}`), &id); err != nil || len(id.Members) != 1 {
			t.Fatalf("%+v %v", id, err)
		}
	})
	good := mustEncode(t, &recordState{Version: 1, Blocks: []string{"abc"}})
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"truncated", good[:len(good)-2]},
		{"trailing bytes", append(append([]byte{}, good...), 0)},
		{"huge count", []byte{schemaBinary, 1, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"varint overflow", []byte{schemaBinary, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}},
		{"unknown schema", []byte{9, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var st recordState
			if err := decode(tc.b, &st); err == nil {
				t.Fatalf("%x decoded: %+v", tc.b, st)
			}
		})
	}
}

// FuzzBinaryCodec: no input makes the decoders panic, and whatever they
// accept survives encoding and decoding again.
func FuzzBinaryCodec(f *testing.F) {
	f.Add(encodeRecordState(&recordState{Version: 2, Identity: 5, Blocks: []string{"a\x00b"}, Record: matcher.Record{LocalID: "x"}}))
	f.Add(encodeIdentity(&identity{ID: 5, Members: []SourceKey{{"a", "b"}}}))
	f.Add([]byte{schemaBinary})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		b[0] = schemaBinary
		var st recordState
		if decodeRecordState(b, &st) == nil {
			if again := encodeRecordState(&st); string(again) != string(b) {
				var st2 recordState
				if err := decodeRecordState(again, &st2); err != nil || !reflect.DeepEqual(st, st2) {
					t.Fatalf("record state does not round-trip: %x -> %+v -> %x", b, st, again)
				}
			}
		}
		var v Version
		if decodeVersion(b, &v) == nil {
			var v2 Version
			if err := decodeVersion(encodeVersion(&v), &v2); err != nil || !reflect.DeepEqual(v, v2) {
				t.Fatalf("version does not round-trip: %x -> %+v", b, v)
			}
		}
		var id identity
		if decodeIdentity(b, &id) == nil {
			var id2 identity
			if err := decodeIdentity(encodeIdentity(&id), &id2); err != nil || !reflect.DeepEqual(id, id2) {
				t.Fatalf("identity does not round-trip: %x -> %+v", b, id)
			}
		}
	})
}
