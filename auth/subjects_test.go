package auth

import (
	"context"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"vigie/audit"
	v1 "vigie/rpc/gen/vigie/v1"
)

func TestAddSubjectsAsWalk(t *testing.T) {
	tests := []struct {
		name string
		msg  proto.Message
	}{
		{"empty search", &v1.SearchIdentitiesResponse{}},
		{"search", &v1.SearchIdentitiesResponse{Results: []*v1.SearchResult{
			{IdentityId: "I1", Golden: &v1.SourceRecord{BirthName: "MARTIN"}, Restricted: true, SiteNames: []string{"CHU"}},
			{IdentityId: "I2", Golden: &v1.SourceRecord{Authority: "1.2", LocalId: "g"},
				Sources: []*v1.SourceKey{{Authority: "1.2", LocalId: "a"}, {Authority: "1.3", LocalId: "b", Site: "CH"}, {Authority: "1.4"}}},
			{IdentityId: ""}, nil, {IdentityId: "I1", Sources: []*v1.SourceKey{nil}},
		}}},
		{"empty search request", &v1.SearchIdentitiesRequest{}},
		{"search request", &v1.SearchIdentitiesRequest{Ins: "1234567890123", Limit: 10,
			LocalIds: []*v1.SourceKey{{Authority: "1.2", LocalId: "a"}, nil, {Authority: "1.3"}},
			Traits:   &v1.SearchTraits{Name: "MARTIN", FirstNames: "JEANNE", BirthDate: "1950-01-02", Sex: "F", BirthPlace: "33063", PostalCode: "33000"}}},
		{"another message", &v1.GetIdentityRequest{IdentityId: "I9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, fast := audit.WithSubjects(context.Background())
			addSubjects(fast, tt.msg)
			_, walked := audit.WithSubjects(context.Background())
			walked.AddMessage(tt.msg)
			sortRecords := func(rs []audit.Record) []audit.Record {
				slices.SortFunc(rs, func(a, b audit.Record) int {
					return strings.Compare(a.Authority+"\x00"+a.LocalID, b.Authority+"\x00"+b.LocalID)
				})
				return rs
			}
			fi, wi := fast.Identities(), walked.Identities()
			slices.Sort(fi)
			slices.Sort(wi)
			fr, wr := sortRecords(fast.Records()), sortRecords(walked.Records())
			if !slices.Equal(fi, wi) || !slices.Equal(fr, wr) {
				t.Errorf("addSubjects: %v %v; the walk: %v %v", fi, fr, wi, wr)
			}
		})
	}
}

// TestSearchFieldsKnown lists the fields of the messages addSubjects reads
// without reflection: a field added to one of them must be looked at
// there (does it name a patient?) and then added here.
func TestSearchFieldsKnown(t *testing.T) {
	known := map[protoreflect.FullName][]protoreflect.Name{
		"vigie.v1.SearchIdentitiesResponse": {"results", "partial", "notice"},
		"vigie.v1.SearchResult":             {"identity_id", "probability", "grade", "reasons", "golden", "sources", "notice", "restricted", "birth_year", "site_names"},
		"vigie.v1.SourceKey":                {"authority", "local_id", "site"},
		"vigie.v1.SearchIdentitiesRequest":  {"ins", "local_ids", "traits", "limit"},
		"vigie.v1.SearchTraits":             {"name", "first_names", "birth_date", "sex", "birth_place", "postal_code"},
		"vigie.v1.SourceRecord": {"authority", "local_id", "ins", "ins_oid", "status", "birth_name", "used_name", "first_names",
			"first_name", "birth_date", "sex", "birth_place", "postal_code", "city", "address", "phone", "attributes", "email"},
	}
	for _, m := range []proto.Message{&v1.SearchIdentitiesResponse{}, &v1.SearchResult{}, &v1.SourceKey{}, &v1.SourceRecord{},
		&v1.SearchIdentitiesRequest{}, &v1.SearchTraits{}} {
		d := m.ProtoReflect().Descriptor()
		var got []protoreflect.Name
		for i := 0; i < d.Fields().Len(); i++ {
			got = append(got, d.Fields().Get(i).Name())
		}
		if !slices.Equal(got, known[d.FullName()]) {
			t.Errorf("%s has the fields %v, addSubjects knows %v: read the new ones in addSubjects if they name a patient, then list them here",
				d.FullName(), got, known[d.FullName()])
		}
	}
}

// BenchmarkAddSubjectsSearch compares a search's answer walked by
// reflection (audit.Subjects.AddMessage) and read by addSubjects: four
// restricted results and one in full with two source records.
func BenchmarkAddSubjectsSearch(b *testing.B) {
	resp := &v1.SearchIdentitiesResponse{}
	for i := range 5 {
		r := &v1.SearchResult{IdentityId: "I" + string(rune('0'+i)), Probability: 0.5, Reasons: []string{"name exact"},
			Golden: &v1.SourceRecord{BirthName: "MARTIN", FirstName: "JEANNE", Sex: "F"}}
		if i == 0 {
			r.Sources = []*v1.SourceKey{{Authority: "1.2.250", LocalId: "A1"}, {Authority: "1.2.251", LocalId: "B1"}}
		} else {
			r.Restricted, r.BirthYear, r.SiteNames = true, "1950", []string{"CHU"}
		}
		resp.Results = append(resp.Results, r)
	}
	for _, bb := range []struct {
		name string
		add  func(*audit.Subjects, proto.Message)
	}{{"walk", (*audit.Subjects).AddMessage}, {"getters", addSubjects}} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, s := audit.WithSubjects(context.Background())
				bb.add(s, resp)
			}
		})
	}
}
