package audit

import (
	"context"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Subjects gathers the patients an operation touched while it runs: the
// identities and source records that its request named, that its handler
// read or changed, and that its response returned. The interceptor of
// rpc/auth puts one in every call's context and writes what it gathered
// into the call's audit entry. Safe for concurrent use.
type Subjects struct {
	mu         sync.Mutex
	identities map[string]struct{}
	records    map[Record]struct{}
}

type subjectsKey struct{}

// WithSubjects returns a context carrying a new, empty Subjects.
func WithSubjects(ctx context.Context) (context.Context, *Subjects) {
	s := &Subjects{identities: map[string]struct{}{}, records: map[Record]struct{}{}}
	return context.WithValue(ctx, subjectsKey{}, s), s
}

// FromContext returns the Subjects of the call, or nil outside an audited
// call (whose methods then do nothing).
func FromContext(ctx context.Context) *Subjects {
	s, _ := ctx.Value(subjectsKey{}).(*Subjects)
	return s
}

// Touch records, in the call's audit entry, identities that a handler read
// or changed beyond those its request and response name (for example the
// identities a merge moved records out of). Outside an audited call it does
// nothing.
func Touch(ctx context.Context, identityIDs ...string) {
	FromContext(ctx).AddIdentities(identityIDs...)
}

// TouchRecord records, in the call's audit entry, a source record that a
// handler read or changed.
func TouchRecord(ctx context.Context, authority, localID string) {
	FromContext(ctx).AddRecord(Record{Authority: authority, LocalID: localID})
}

// AddIdentities adds identity ids (empty ones are ignored).
func (s *Subjects) AddIdentities(ids ...string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if id != "" && len(s.identities) < MaxSubjects {
			s.identities[id] = struct{}{}
		}
	}
}

// AddRecord adds a source record (one without a local id is ignored).
func (s *Subjects) AddRecord(r Record) {
	if s == nil || r.LocalID == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.records) < MaxSubjects {
		s.records[r] = struct{}{}
	}
}

// Identities returns the identity ids gathered so far (unordered).
func (s *Subjects) Identities() []string {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.identities))
	for id := range s.identities {
		out = append(out, id)
	}
	return out
}

// Records returns the source records gathered so far (unordered).
func (s *Subjects) Records() []Record {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Record, 0, len(s.records))
	for r := range s.records {
		out = append(out, r)
	}
	return out
}

// AddMessage adds the subjects a vigie.v1 message names, by the package's
// naming convention (see rpc/proto/vigie/v1/common.proto): string fields
// called identity_id, ending in _identity_id, or the repeated identity_ids;
// the id of an Identity message; and the authority and local_id of every
// SourceKey and SourceRecord message. Nested messages, lists and maps are
// walked. Messages of other packages are ignored.
func (s *Subjects) AddMessage(m proto.Message) {
	if s == nil || m == nil {
		return
	}
	s.walk(m.ProtoReflect(), 0)
}

// maxDepth bounds the walk; vigie.v1 messages nest far less deeply.
const maxDepth = 16

func (s *Subjects) walk(m protoreflect.Message, depth int) {
	if depth > maxDepth || !m.IsValid() {
		return
	}
	desc := m.Descriptor()
	full := desc.FullName()
	if full.Parent() != "vigie.v1" {
		return
	}
	switch full.Name() {
	case "SourceKey", "SourceRecord":
		f := desc.Fields()
		a, l := f.ByName("authority"), f.ByName("local_id")
		if a != nil && l != nil {
			s.AddRecord(Record{Authority: m.Get(a).String(), LocalID: m.Get(l).String()})
		}
	case "Identity":
		if f := desc.Fields().ByName("id"); f != nil {
			s.AddIdentities(m.Get(f).String())
		}
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Kind() == protoreflect.StringKind && isIdentityField(fd):
			if fd.IsList() {
				l := v.List()
				for i := 0; i < l.Len(); i++ {
					s.AddIdentities(l.Get(i).String())
				}
			} else if !fd.IsMap() {
				s.AddIdentities(v.String())
			}
		case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
			switch {
			case fd.IsList():
				l := v.List()
				for i := 0; i < l.Len(); i++ {
					s.walk(l.Get(i).Message(), depth+1)
				}
			case fd.IsMap():
				if fd.MapValue().Kind() == protoreflect.MessageKind {
					v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
						s.walk(mv.Message(), depth+1)
						return true
					})
				}
			default:
				s.walk(v.Message(), depth+1)
			}
		}
		return true
	})
}

func isIdentityField(fd protoreflect.FieldDescriptor) bool {
	n := string(fd.Name())
	return n == "identity_id" || n == "identity_ids" || strings.HasSuffix(n, "_identity_id")
}
