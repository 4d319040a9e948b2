package fhir

import (
	"errors"
	"net/url"
	"testing"
)

// FuzzParseSearch: any query string is read or refused with a problem
// naming a parameter; never a panic.
func FuzzParseSearch(f *testing.F) {
	for _, s := range []string{"family=DUPONT&given=MARIE&birthdate=1979-03-14", "identifier=urn:oid:1.2.3|A-1&_count=5&_offset=10",
		"birthdate=ge1979", "family:exact=X", "gender=female&identifier=urn:oid:1.2.250.1.213.1.4.8|279035121518989", "_count=0", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := url.ParseQuery(s)
		if err != nil {
			return
		}
		q, count, offset, err := parseSearch(v)
		if err != nil {
			var p *problem
			if !errors.As(err, &p) || p.param == "" || p.msg == "" {
				t.Fatalf("%q: error %v does not name a parameter", s, err)
			}
			return
		}
		if count < 1 || count > maxResults || offset < 0 || offset >= maxResults {
			t.Fatalf("%q: count %d, offset %d out of bounds", s, count, offset)
		}
		for _, l := range q.LocalIDs {
			if l.Authority == "" || l.LocalID == "" {
				t.Fatalf("%q: empty local id %+v", s, l)
			}
		}
	})
}

// FuzzParseMatch: any body is read or refused with a problem naming a
// parameter or element; never a panic.
func FuzzParseMatch(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient","name":[{"family":"DUPONT","given":["MARIE"]}],"birthDate":"1979-03-14"}},{"name":"count","valueInteger":3}]}`,
		`{"resourceType":"Patient","identifier":[{"system":"urn:oid:1.2.3","value":"A"}]}`,
		`{"resourceType":"Patient","name":[{"use":"usual","family":"MARTIN"}],"gender":"F"}`,
		`{"resourceType":"Parameters","parameter":[{"name":"onlyCertainMatches"}]}`, `[]`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, count, _, err := parseMatch(b)
		if err != nil {
			var p *problem
			if !errors.As(err, &p) || p.param == "" || p.msg == "" {
				t.Fatalf("%q: error %v does not name a parameter", b, err)
			}
			return
		}
		if count < 1 || count > maxResults {
			t.Fatalf("%q: count %d out of bounds", b, count)
		}
	})
}
