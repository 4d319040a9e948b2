package audit

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"vigie/internal/cputime"
	v1 "vigie/rpc/gen/vigie/v1"
)

// BenchmarkAddMessage walks a large identity (50 source records, 200
// events) for the patients it names, as the interceptor does with every
// response.
func BenchmarkAddMessage(b *testing.B) {
	id := &v1.Identity{Id: "I1", Golden: &v1.SourceRecord{BirthName: "MARTIN"}}
	for i := range 50 {
		id.Sources = append(id.Sources, &v1.SourceKey{Authority: "1.2.250", LocalId: fmt.Sprint(i), Site: "CHU"})
	}
	for i := range 200 {
		id.Events = append(id.Events, &v1.IdentityEvent{Id: fmt.Sprint(i), Kind: "link", Records: []*v1.SourceKey{id.Sources[i%50]}})
	}
	msg := &v1.GetIdentityResponse{Identity: id}
	for b.Loop() {
		_, s := WithSubjects(context.Background())
		s.AddMessage(msg)
	}
}

// BenchmarkAddMessageSearch walks a search's response as the served load
// gets it: four restricted results (names, birth year, site names) and one
// in full with its two source records, as the interceptor does with every
// SearchIdentities answer.
func BenchmarkAddMessageSearch(b *testing.B) {
	resp := &v1.SearchIdentitiesResponse{}
	for i := range 5 {
		r := &v1.SearchResult{IdentityId: fmt.Sprint("I", i), Probability: 0.5, Reasons: []string{"name exact", "birth date exact"},
			Golden: &v1.SourceRecord{BirthName: "MARTIN", FirstName: "JEANNE", Sex: "F"}}
		if i == 0 {
			r.Golden.BirthDate = "1950-01-02"
			r.Sources = []*v1.SourceKey{{Authority: "1.2.250", LocalId: "A1"}, {Authority: "1.2.251", LocalId: "B1"}}
		} else {
			r.Restricted, r.BirthYear, r.SiteNames = true, "1950", []string{"CHU de Bordeaux"}
		}
		resp.Results = append(resp.Results, r)
	}
	b.ReportAllocs()
	before := cputime.Process()
	for b.Loop() {
		_, s := WithSubjects(context.Background())
		s.AddMessage(resp)
		if len(s.identities) != 5 || len(s.records) != 2 {
			b.Fatal(s.identities, s.records)
		}
	}
	b.ReportMetric(float64((cputime.Process()-before).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkEncode compares an entry's stored form appended by hand (encode)
// with json.Marshal of stored, on a search-shaped entry.
func BenchmarkEncode(b *testing.B) {
	e := searchEntry(rand.New(rand.NewPCG(1, 2)))
	normalise(&e)
	e.Seq, e.Time, e.PrevHash = 7, time.Unix(1700000000, 0), genesis
	e.Hash = e.computeHash()
	for _, bb := range []struct {
		name string
		enc  func(*Entry) ([]byte, error)
	}{{"marshal", marshalStored}, {"append", encode}} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			before := cputime.Process()
			for b.Loop() {
				if _, err := bb.enc(&e); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cputime.Process()-before).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}
