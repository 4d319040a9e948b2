package audit

import (
	"bytes"
	"testing"
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
