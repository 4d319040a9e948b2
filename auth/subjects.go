package auth

import (
	"google.golang.org/protobuf/proto"

	"vigie/audit"
	v1 "vigie/rpc/gen/vigie/v1"
)

// addSubjects adds to s the patients m names, as audit.Subjects.AddMessage
// does. A search and its answer, the hottest messages the interceptor walks
// (every served search, some ten results), are read through their
// generated getters instead of by reflection: the same subjects
// (TestAddSubjectsAsWalk), a few microseconds less a call. The fields it
// reads are those their types hold today: TestSearchFieldsKnown fails when
// one is added, so that a field naming a patient is not missed.
func addSubjects(s *audit.Subjects, m proto.Message) {
	var r *v1.SearchIdentitiesResponse
	switch m := m.(type) {
	case *v1.SearchIdentitiesResponse:
		r = m
	case *v1.SearchIdentitiesRequest:
		// The INS and the traits name no identity nor record: only the
		// local ids do.
		for _, k := range m.GetLocalIds() {
			if k != nil {
				s.AddRecord(audit.Record{Authority: k.GetAuthority(), LocalID: k.GetLocalId()})
			}
		}
		return
	default:
		s.AddMessage(m)
		return
	}
	for _, res := range r.GetResults() {
		if res == nil {
			continue
		}
		s.AddIdentities(res.GetIdentityId())
		if g := res.GetGolden(); g != nil {
			s.AddRecord(audit.Record{Authority: g.GetAuthority(), LocalID: g.GetLocalId()})
		}
		for _, k := range res.GetSources() {
			if k != nil {
				s.AddRecord(audit.Record{Authority: k.GetAuthority(), LocalID: k.GetLocalId()})
			}
		}
	}
}
