package auth

import (
	"google.golang.org/protobuf/proto"

	"vigie/audit"
	v1 "vigie/rpc/gen/vigie/v1"
)

// addSubjects adds to s the patients m names, as audit.Subjects.AddMessage
// does. A search's answer, the hottest message the interceptor walks (every
// served search, some ten results), is read through its generated getters
// instead of by reflection: the same subjects (TestAddSubjectsAsWalk), a
// few microseconds less a call. The fields it reads are those its types
// hold today: TestSearchFieldsKnown fails when one is added, so that a
// field naming a patient is not missed.
func addSubjects(s *audit.Subjects, m proto.Message) {
	r, ok := m.(*v1.SearchIdentitiesResponse)
	if !ok {
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
