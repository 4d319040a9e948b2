package mpi

import (
	"reflect"
	"testing"
	"time"

	"vigie"
)

// TestBinaryCodecReadsValuesWithoutEmail: a record state and a version
// stored before records carried an e-mail (the value ends after the
// attributes, or the blocks) still decode, with no e-mail.
func TestBinaryCodecReadsValuesWithoutEmail(t *testing.T) {
	rec := vigie.Record{Authority: "1.2.250.1", LocalID: "A1", BirthName: "LAFFITTE", Email: "x@y.fr"}
	st := recordState{Version: 1, Identity: 2, Received: time.Unix(5, 0).UTC(), Record: rec, Blocks: []string{"k"}}
	b := encodeRecordState(&st)
	old := b[:len(b)-len("x@y.fr")-1] // without the trailing e-mail
	var got recordState
	if err := decodeRecordState(old, &got); err != nil || got.Record.Email != "" || got.Record.BirthName != "LAFFITTE" || len(got.Blocks) != 1 {
		t.Fatalf("record state without e-mail: %+v, %v", got, err)
	}
	if err := decodeRecordState(b, &got); err != nil || got.Record.Email != "x@y.fr" {
		t.Fatalf("record state with e-mail: %+v, %v", got, err)
	}
	v := Version{Version: 1, Received: st.Received, Record: rec}
	b = encodeVersion(&v)
	var gotV Version
	if err := decodeVersion(b[:len(b)-len("x@y.fr")-1], &gotV); err != nil || gotV.Record.Email != "" || gotV.Record.LocalID != "A1" {
		t.Fatalf("version without e-mail: %+v, %v", gotV, err)
	}
}

// TestBinaryCodecCoversTypes fails when vigie.Record, recordState or
// identity gains a field the compact encoding does not carry: fill every
// field, round-trip, compare.
func TestBinaryCodecCoversTypes(t *testing.T) {
	for _, tc := range []struct {
		typ    reflect.Type
		fields int
	}{
		{reflect.TypeFor[vigie.Record](), len(recordFields(&vigie.Record{})) + 2}, // + Attributes, Email
		{reflect.TypeFor[recordState](), 8},
		{reflect.TypeFor[identity](), 6},
		{reflect.TypeFor[Version](), 3},
		{reflect.TypeFor[Event](), 20}, // Retired and Survivor: merges stay JSON
	} {
		if tc.typ.NumField() != tc.fields {
			t.Errorf("%s has %d fields, the compact encoding carries %d: update binary.go", tc.typ, tc.typ.NumField(), tc.fields)
		}
	}
	rec := vigie.Record{Attributes: []string{"DOUT", "VIP"}, Email: "a.b@example.fr"}
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
	id := identity{ID: 42, Members: []vigie.SourceKey{{Authority: "1.2.250.1", LocalID: "A1"}, {Authority: "1.2.250.2", LocalID: ""}}, Attributes: []string{"HOMA"}, Retired: 7,
		Created: time.Unix(1, 2).UTC(), Updated: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	var gotID identity
	if err := decode(mustEncode(t, &id), &gotID); err != nil || !reflect.DeepEqual(gotID, id) {
		t.Fatalf("identity: %+v, %v\nwant %+v", gotID, err, id)
	}
	ev := Event{Seq: 1 << 50, Time: st.Received, Kind: EventLink, Actor: "alice", Reason: "same person", Identity: 3, Other: 4,
		Record: vigie.SourceKey{Authority: "1.2.250.1", LocalID: "A1"}, OtherRecord: vigie.SourceKey{Authority: "1.2.250.2", LocalID: "B2"}, Version: 7,
		Moves:   []Move{{Record: vigie.SourceKey{Authority: "a", LocalID: "b"}, From: 4, To: 3}, {Record: vigie.SourceKey{Authority: "c", LocalID: "d"}, To: 3}},
		Matched: vigie.SourceKey{Authority: "1.2.250.3", LocalID: "C3"}, Probability: 0.999999871, Weight: -12.25, Explanation: []string{"name: same", "date: +3"},
		Review: 99, Attributes: []string{"DOUT"}, Undoes: 12}
	var gotEv Event
	if err := decode(mustEncode(t, &ev), &gotEv); err != nil || !reflect.DeepEqual(gotEv, ev) {
		t.Fatalf("event: %+v, %v\nwant %+v", gotEv, err, ev)
	}
	// A merge's snapshots are not in the compact encoding: it stays JSON.
	merge := Event{Seq: 2, Kind: EventMerge, Identity: 3, Other: 4, Retired: &snapshot{Members: []vigie.SourceKey{{Authority: "a", LocalID: "b"}}}}
	b, err := encode(&merge)
	if err != nil || b[0] != schemaVersion {
		t.Fatalf("merge event encoded as %x, %v", b, err)
	}
	var gotMerge Event
	if err := decode(b, &gotMerge); err != nil || gotMerge.Retired == nil || len(gotMerge.Retired.Members) != 1 {
		t.Fatalf("merge event: %+v, %v", gotMerge, err)
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
		{"empty slices read back as nil", recordState{Version: 1, Blocks: nil, Record: vigie.Record{Attributes: nil}}},
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
		var e Event
		if err := decode([]byte("\x01"+`{"seq":4,"kind":"link","identity":9,"record":{"authority":"A","local_id":"1"},"probability":0.99}`), &e); err != nil ||
			e.Seq != 4 || e.Kind != EventLink || e.Record.LocalID != "1" || e.Probability != 0.99 {
			t.Fatalf("%+v %v", e, err)
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
	f.Add(encodeRecordState(&recordState{Version: 2, Identity: 5, Blocks: []string{"a\x00b"}, Record: vigie.Record{LocalID: "x"}}))
	f.Add(encodeIdentity(&identity{ID: 5, Members: []vigie.SourceKey{{Authority: "a", LocalID: "b"}}}))
	f.Add(encodeEvent(&Event{Seq: 3, Kind: EventLink, Moves: []Move{{To: 2}}, Explanation: []string{"x"}, Probability: 0.5}))
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
		var e Event
		if decodeEvent(b, &e) == nil {
			// Compared encoded: a NaN score is not DeepEqual to itself.
			var e2 Event
			again := encodeEvent(&e)
			if err := decodeEvent(again, &e2); err != nil || string(encodeEvent(&e2)) != string(again) {
				t.Fatalf("event does not round-trip: %x -> %+v", b, e)
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
