package rpc

import (
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Text that is not UTF-8. A feed in another encoding (a Latin-1 CSV) may
// have stored bytes that are not UTF-8 in a record, and protobuf refuses
// to marshal such a string: the whole answer holding it failed with
// "internal", a search losing every result for one bad record. The doors
// now refuse such text, but a store may already hold some: the answers
// repair it where they are built (the record is reported in place, with
// a notice: SearchResult.notice, Identity.notice) and, for every other
// answer, the codecs below repair a message that failed to marshal and
// marshal it again. What is stored is never changed: identity-vigilance
// staff correct the source record.

// textNotice is the notice of a result or identity whose stored text was
// repaired (English, like the API's other messages; the console words its
// own).
const textNotice = "some stored text of this identity is not valid UTF-8 (a feed in another encoding?): those characters are shown as U+FFFD; correct the source record"

// RepairText replaces, in every string of m and of the messages it
// holds, each byte sequence that is not UTF-8 with U+FFFD, and returns
// the number of strings it changed.
func RepairText(m proto.Message) int {
	if m == nil {
		return 0
	}
	return repairMessage(m.ProtoReflect())
}

func repairString(s string) (protoreflect.Value, bool) {
	if utf8.ValidString(s) {
		return protoreflect.Value{}, false
	}
	return protoreflect.ValueOfString(strings.ToValidUTF8(s, "\uFFFD")), true
}

func repairMessage(m protoreflect.Message) int {
	n := 0
	type fix struct {
		fd protoreflect.FieldDescriptor
		v  protoreflect.Value
	}
	var fixes []fix // fields of m itself are set after Range
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		isText := fd.Kind() == protoreflect.StringKind
		isMsg := fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				switch {
				case isText:
					if r, ok := repairString(l.Get(i).String()); ok {
						l.Set(i, r)
						n++
					}
				case isMsg:
					n += repairMessage(l.Get(i).Message())
				}
			}
		case fd.IsMap():
			mp := v.Map()
			valText := fd.MapValue().Kind() == protoreflect.StringKind
			valMsg := fd.MapValue().Kind() == protoreflect.MessageKind
			var badKeys []protoreflect.MapKey
			mp.Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				if ks, ok := k.Interface().(string); ok && !utf8.ValidString(ks) {
					badKeys = append(badKeys, k)
				}
				switch {
				case valText:
					if r, ok := repairString(mv.String()); ok {
						mp.Set(k, r)
						n++
					}
				case valMsg:
					n += repairMessage(mv.Message())
				}
				return true
			})
			for _, k := range badKeys {
				r, _ := repairString(k.String())
				mp.Set(r.MapKey(), mp.Get(k))
				mp.Clear(k)
				n++
			}
		case isText:
			if r, ok := repairString(v.String()); ok {
				fixes = append(fixes, fix{fd, r})
				n++
			}
		case isMsg:
			n += repairMessage(v.Message())
		}
		return true
	})
	for _, f := range fixes {
		m.Set(f.fd, f.v)
	}
	return n
}

// repairingCodec marshals as Connect's own codec does (binary protobuf or
// protojson); when a message fails to marshal, it repairs its text (see
// RepairText) and marshals it again, so that a stray byte from the store
// never turns a whole answer into an error. The repair costs nothing on
// an answer that marshals: it runs only after a failure.
type repairingCodec struct {
	name     string
	json     bool
	repaired *atomic.Int64
	log      *slog.Logger
}

func (c *repairingCodec) Name() string { return c.name }

func (c *repairingCodec) Marshal(msg any) ([]byte, error) { return c.MarshalAppend(nil, msg) }

func (c *repairingCodec) marshalAppend(dst []byte, m proto.Message) ([]byte, error) {
	if c.json {
		return protojson.MarshalOptions{}.MarshalAppend(dst, m)
	}
	return proto.MarshalOptions{}.MarshalAppend(dst, m)
}

func (c *repairingCodec) MarshalAppend(dst []byte, msg any) ([]byte, error) {
	m, ok := msg.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("%T is not a protobuf message", msg)
	}
	out, err := c.marshalAppend(dst, m)
	if err == nil {
		return out, nil
	}
	n := RepairText(m)
	if n == 0 {
		return nil, err
	}
	c.repaired.Add(1)
	// The message type and the number of strings: never their content.
	c.log.Warn("an answer held text that is not valid UTF-8: sent with U+FFFD in its place",
		"message", string(m.ProtoReflect().Descriptor().FullName()), "strings", n)
	return c.marshalAppend(dst, m)
}

func (c *repairingCodec) Unmarshal(data []byte, msg any) error {
	m, ok := msg.(proto.Message)
	if !ok {
		return fmt.Errorf("%T is not a protobuf message", msg)
	}
	var err error
	if c.json {
		if len(data) == 0 {
			return fmt.Errorf("zero-length payload is not a valid JSON object")
		}
		// As Connect's own JSON codec: clients may be of a newer schema.
		err = protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(data, m)
	} else {
		err = proto.Unmarshal(data, m)
	}
	if err != nil {
		return fmt.Errorf("unmarshal into %T: %w", msg, err)
	}
	return nil
}

// repairingCodecs returns the handler options that replace Connect's
// protobuf and JSON codecs by repairing ones counting into repaired.
func repairingCodecs(repaired *atomic.Int64, log *slog.Logger) []connect.HandlerOption {
	var opts []connect.HandlerOption
	for _, c := range []*repairingCodec{{name: "proto"}, {name: "json", json: true}, {name: "json; charset=utf-8", json: true}} {
		c.repaired, c.log = repaired, log
		opts = append(opts, connect.WithCodec(c))
	}
	return opts
}
