package mpi

import (
	"reflect"
	"testing"

	"vigie"
	"vigie/matcher"
)

func TestNormalFormRoundTrip(t *testing.T) {
	recs := []vigie.Record{
		person("1.2.250.1.1", "A1"),
		other("1.2.250.1.1", "B1"),
		{Authority: "a", LocalID: "b"},
		{Authority: "a", LocalID: "c", BirthName: "DE LA FONTAINE ÉPOUSE MARTIN", FirstNames: "Jean-Pierre, Marie", BirthDate: "1980-00-00",
			INS: validINS(t, "1800175123456"), Sex: "2", Phone: "+33 5 56 00 00 00", Attributes: []string{"DOUT"}},
	}
	for _, r := range recs {
		p, err := matcher.Prepare(&r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeNormal(encodeNormal(p), p.Record)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Errorf("round trip of %s/%s:\n got %+v\nwant %+v", r.Authority, r.LocalID, got, p)
		}
	}
}

func FuzzDecodeNormal(f *testing.F) {
	r := person("1.2.250.1.1", "A1")
	p, err := matcher.Prepare(&r)
	if err != nil {
		f.Fatal(err)
	}
	good := encodeNormal(p)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{normalVersion})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := decodeNormal(b, &vigie.Record{})
		if err != nil {
			return
		}
		// Whatever decodes survives a round trip unchanged.
		again, err := decodeNormal(encodeNormal(q), q.Record)
		if err != nil || !reflect.DeepEqual(again, q) {
			t.Fatalf("round trip of a decoded form: %v\n%+v\n%+v", err, q, again)
		}
	})
}
