package audit

import (
	"context"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "vigie/rpc/gen/vigie/v1"
)

func TestSubjectsAddMessage(t *testing.T) {
	tests := []struct {
		name    string
		msg     proto.Message
		ids     []string
		records []Record
	}{
		{"get identity request", &v1.GetIdentityRequest{IdentityId: "I1"}, []string{"I1"}, nil},
		{"identity with sources and events", &v1.GetIdentityResponse{Identity: &v1.Identity{
			Id: "I1", Golden: &v1.SourceRecord{BirthName: "MARTIN"}, MergedIntoIdentityId: "I0",
			Sources: []*v1.SourceKey{{Authority: "1.2", LocalId: "a"}, {Authority: "1.3", LocalId: "b"}},
			Events:  []*v1.IdentityEvent{{Id: "E1", Time: timestamppb.Now(), IdentityIds: []string{"I7"}, Records: []*v1.SourceKey{{Authority: "1.2", LocalId: "c"}}}},
		}}, []string{"I0", "I1", "I7"}, []Record{{Authority: "1.2", LocalID: "a"}, {Authority: "1.2", LocalID: "c"}, {Authority: "1.3", LocalID: "b"}}},
		{"merge", &v1.MergeRequest{SurvivorIdentityId: "I1", MergedIdentityId: "I2", Reason: "dup"}, []string{"I1", "I2"}, nil},
		{"distinct", &v1.MarkDistinctRequest{FirstIdentityId: "I3", SecondIdentityId: "I4"}, []string{"I3", "I4"}, nil},
		{"search results", &v1.SearchIdentitiesResponse{Results: []*v1.SearchResult{{IdentityId: "I5"}, {IdentityId: "I6", Sources: []*v1.SourceKey{{Authority: "1.2", LocalId: "z"}}}}},
			[]string{"I5", "I6"}, []Record{{Authority: "1.2", LocalID: "z"}}},
		{"resolve", &v1.ResolveRecordRequest{Record: &v1.SourceRecord{Authority: "1.2", LocalId: "IPP", BirthName: "X"}}, nil, []Record{{Authority: "1.2", LocalID: "IPP"}}},
		{"record without local id is not a subject", &v1.ListExamsRequest{Record: &v1.SourceKey{Authority: "1.2"}}, nil, nil},
		{"dose history", &v1.GetDoseHistoryResponse{History: &v1.DoseHistory{IdentityId: "I8", Ct: []*v1.CtRow{{ExamId: "X1"}}}}, []string{"I8"}, nil},
		{"nothing", &v1.EvaluateNrdRequest{Site: "CHU"}, nil, nil},
		{"nil", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, s := WithSubjects(context.Background())
			s.AddMessage(tt.msg)
			if FromContext(ctx) != s {
				t.Fatal("FromContext lost the subjects")
			}
			ids, recs := s.Identities(), s.Records()
			slices.Sort(ids)
			slices.SortFunc(recs, func(a, b Record) int {
				return cmpOr(strings.Compare(a.Authority, b.Authority), strings.Compare(a.LocalID, b.LocalID))
			})
			if !slices.Equal(ids, tt.ids) || !slices.Equal(recs, tt.records) {
				t.Errorf("identities %v records %v; want %v %v", ids, recs, tt.ids, tt.records)
			}
		})
	}
}

func TestTouchOutsideCall(t *testing.T) {
	// Outside an audited call, Touch does nothing and does not panic.
	Touch(context.Background(), "I1")
	TouchRecord(context.Background(), "1.2", "a")
	ctx, s := WithSubjects(context.Background())
	Touch(ctx, "I1", "", "I1")
	TouchRecord(ctx, "1.2", "a")
	if !slices.Equal(s.Identities(), []string{"I1"}) || len(s.Records()) != 1 {
		t.Errorf("subjects = %v %v", s.Identities(), s.Records())
	}
}

func TestSubjectsBounded(t *testing.T) {
	_, s := WithSubjects(context.Background())
	for i := range MaxSubjects + 50 {
		s.AddIdentities(string(rune('A'+i%26)) + string(rune(i)))
	}
	if n := len(s.Identities()); n != MaxSubjects {
		t.Errorf("%d identities kept, want %d", n, MaxSubjects)
	}
}
