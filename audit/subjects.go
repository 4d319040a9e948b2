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
// auth puts one in every call's context and writes what it gathered
// into the call's audit entry. Safe for concurrent use.
type Subjects struct {
	mu         sync.Mutex
	identities map[string]struct{}
	records    map[Record]struct{}
	bases      []string
}

// SetBasis records, in the call's audit entry, the ground on which the
// handler read a patient's data ("site", "code", "break_glass: <reason>",
// "regional"). A call reading several patients on different grounds
// records each once. Outside an audited call it does nothing.
func SetBasis(ctx context.Context, basis string) {
	s := FromContext(ctx)
	if s == nil || basis == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.bases {
		if b == basis {
			return
		}
	}
	if len(s.bases) < 8 {
		s.bases = append(s.bases, basis)
	}
}

// Basis returns the grounds recorded by SetBasis, joined by "; ".
func (s *Subjects) Basis() string {
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.bases, "; ")
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

// plan is what the walk needs of one message type, computed once per type:
// the fields that name identities, the message fields that may lead to
// more, and whether the message itself is a record key or an identity.
type plan struct {
	record, identity      bool
	authority, localID    protoreflect.FieldDescriptor // record messages
	id                    protoreflect.FieldDescriptor // Identity.id
	identityFields, nests []protoreflect.FieldDescriptor
}

var plans sync.Map // protoreflect.FullName → *plan

func planOf(desc protoreflect.MessageDescriptor) *plan {
	if p, ok := plans.Load(desc.FullName()); ok {
		return p.(*plan)
	}
	p := &plan{}
	fields := desc.Fields()
	switch desc.FullName().Name() {
	case "SourceKey", "SourceRecord":
		p.authority, p.localID = fields.ByName("authority"), fields.ByName("local_id")
		p.record = p.authority != nil && p.localID != nil
	case "Identity":
		p.id = fields.ByName("id")
		p.identity = p.id != nil
	}
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		switch {
		case fd.Kind() == protoreflect.StringKind && !fd.IsMap() && isIdentityField(fd):
			p.identityFields = append(p.identityFields, fd)
		case fd.Kind() == protoreflect.MessageKind && fd.Message().FullName().Parent() == "vigie.v1":
			p.nests = append(p.nests, fd)
		case fd.IsMap() && fd.MapValue().Kind() == protoreflect.MessageKind:
			p.nests = append(p.nests, fd)
		}
	}
	plans.Store(desc.FullName(), p)
	return p
}

func (s *Subjects) walk(m protoreflect.Message, depth int) {
	if depth > maxDepth || !m.IsValid() {
		return
	}
	desc := m.Descriptor()
	if desc.FullName().Parent() != "vigie.v1" {
		return
	}
	p := planOf(desc)
	if p.record {
		s.AddRecord(Record{Authority: m.Get(p.authority).String(), LocalID: m.Get(p.localID).String()})
	}
	if p.identity {
		s.AddIdentities(m.Get(p.id).String())
	}
	for _, fd := range p.identityFields {
		if !m.Has(fd) {
			continue
		}
		v := m.Get(fd)
		if fd.IsList() {
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				s.AddIdentities(l.Get(i).String())
			}
		} else {
			s.AddIdentities(v.String())
		}
	}
	for _, fd := range p.nests {
		if !m.Has(fd) {
			continue
		}
		v := m.Get(fd)
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				s.walk(l.Get(i).Message(), depth+1)
			}
		case fd.IsMap():
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				s.walk(mv.Message(), depth+1)
				return true
			})
		default:
			s.walk(v.Message(), depth+1)
		}
	}
}

func isIdentityField(fd protoreflect.FieldDescriptor) bool {
	n := string(fd.Name())
	return n == "identity_id" || n == "identity_ids" || strings.HasSuffix(n, "_identity_id")
}
