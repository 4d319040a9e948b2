package audit

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"
)

// FuzzDecode: no stored value makes the entry decoder panic, and a value
// that decodes re-encodes to an entry with the same hash input.
func FuzzDecode(f *testing.F) {
	e := Entry{Seq: 3, Principal: "u", Operation: "/op", Identities: []string{"I1"}, Records: []Record{{Authority: "1.2", LocalID: "a"}}, PrevHash: genesis}
	e.Hash = e.computeHash()
	v, _ := encode(&e)
	f.Add(v)
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte(`{"v":1,"prev_hash":"zz"}`))
	f.Fuzz(func(t *testing.T, v []byte) {
		var e Entry
		if decode(v, &e) != nil {
			return
		}
		again, err := encode(&e)
		if err != nil {
			t.Fatal(err)
		}
		var e2 Entry
		if err := decode(again, &e2); err != nil {
			t.Fatalf("re-encoded entry does not decode: %v", err)
		}
		if !bytes.Equal(e.computeHash(), e2.computeHash()) {
			t.Fatalf("hash changed through encode/decode: %+v vs %+v", e, e2)
		}
	})
}

// marshalStored is how entries were encoded before encode appended them by
// hand: json.Marshal of stored.
func marshalStored(e *Entry) ([]byte, error) {
	return json.Marshal(stored{
		V: storedVersion, Seq: e.Seq, Time: e.Time.UnixNano(), Principal: e.Principal, Role: e.Role,
		Authorities: e.Authorities, Operation: e.Operation, Identities: e.Identities, Records: e.Records,
		Purpose: e.Purpose, Result: e.Result, Client: e.Client, Credential: e.Credential, Basis: e.Basis,
		PrevHash: hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash),
	})
}

// FuzzEncode: encode writes what json.Marshal of stored writes, byte for
// byte, whatever the text (escapes, invalid UTF-8, separators).
func FuzzEncode(f *testing.F) {
	f.Add("u", "/op", "I1", "1.2", "a", "site", uint64(3))
	f.Add("<a&b>", "\u2028\u2029\"\\", "\x00\x1f\x7f", "\xff\xfe", "é\t\n\r\b\f", "", uint64(0))
	f.Fuzz(func(t *testing.T, principal, op, id, authority, local, basis string, seq uint64) {
		e := Entry{Seq: seq, Time: time.Unix(0, int64(seq)), Principal: principal, Role: op, Authorities: []string{authority, id},
			Operation: op, Identities: []string{id}, Records: []Record{{authority, local}, {local, authority}}, Purpose: basis,
			Result: id, Client: local, Credential: principal, Basis: basis, PrevHash: []byte(id), Hash: []byte(local)}
		checkEncode(t, &e)
		checkEncode(t, &Entry{Principal: principal, Operation: op, Result: basis})
	})
}

func checkEncode(t *testing.T, e *Entry) {
	t.Helper()
	got, err := encode(e)
	if err != nil {
		t.Fatal(err)
	}
	want, err := marshalStored(e)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encode:\n%s\njson.Marshal:\n%s", got, want)
	}
}

func TestEncodeAsMarshal(t *testing.T) {
	full := Entry{Seq: 42, Time: time.Unix(1700000000, 5), Principal: "dr <martin> & co", Role: "clinician",
		Authorities: []string{"1.2.250.1.1"}, Operation: "/vigie.v1.IdentityService/SearchIdentities",
		Identities: []string{"I1", "I2"}, Records: []Record{{"1.2", "IPP \"1\""}}, Purpose: "soins\n", Result: "ok",
		Client: "127.0.0.1:1", Credential: "api_key:k", Basis: "break_glass: urgence\u2028", PrevHash: genesis, Hash: []byte{1, 2, 0xff}}
	tests := []Entry{full, {}, {Principal: "p", Operation: "o", Time: time.Unix(-1, 0)}, {Principal: "\xff\xc3", Operation: "\x7f\x01"}}
	for i := range tests {
		checkEncode(t, &tests[i])
	}
}
