package audit

import (
	"context"
	"fmt"
	"testing"

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
