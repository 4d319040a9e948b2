package rpc

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "vigie/rpc/gen/vigie/v1" // registers the generated descriptors
)

var (
	protoDecl  = regexp.MustCompile(`^\s*(message|enum|service)\s+(\w+)\s*\{`)
	protoRPC   = regexp.MustCompile(`^\s*rpc\s+(\w+)\s*\(`)
	protoField = regexp.MustCompile(`^\s*(?:repeated\s+|optional\s+)?[\w.]+\s+(\w+)\s*=\s*(\d+)\s*;`)
	protoValue = regexp.MustCompile(`^\s*([A-Z][A-Z0-9_]*)\s*=\s*(\d+)\s*;`)
)

// TestProtoDocumentedAndGenerated reads the .proto files and checks two
// things: every service, rpc, message, enum, field and enum value has a
// comment on the line above it (the API's documentation is its comments),
// and every message's fields exist, with the same numbers, in the committed
// generated code (a .proto edited without running generate.sh fails here).
func TestProtoDocumentedAndGenerated(t *testing.T) {
	files, err := filepath.Glob("proto/vigie/v1/*.proto")
	if err != nil || len(files) == 0 {
		t.Fatalf("no proto files: %v", err)
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		var prev, kind, scope string
		var msg protoreflect.MessageDescriptor
		line := 0
		for sc.Scan() {
			line++
			text := sc.Text()
			trimmed := strings.TrimSpace(text)
			documented := strings.HasPrefix(strings.TrimSpace(prev), "//")
			prev = text
			if strings.HasPrefix(trimmed, "//") || trimmed == "" || strings.HasPrefix(trimmed, "option ") ||
				strings.HasPrefix(trimmed, "import ") || strings.HasPrefix(trimmed, "syntax ") || strings.HasPrefix(trimmed, "package ") {
				continue
			}
			if trimmed == "}" {
				kind, scope, msg = "", "", nil
				continue
			}
			where := name + ":" + strconv.Itoa(line)
			if m := protoDecl.FindStringSubmatch(text); m != nil {
				kind, scope = m[1], m[2]
				if !documented {
					t.Errorf("%s: %s %s has no comment", where, kind, scope)
				}
				d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName("vigie.v1." + scope))
				if err != nil {
					t.Errorf("%s: %s vigie.v1.%s is not in the generated code: run rpc/generate.sh", where, kind, scope)
					continue
				}
				if kind == "message" {
					msg, _ = d.(protoreflect.MessageDescriptor)
				}
				continue
			}
			if m := protoRPC.FindStringSubmatch(text); m != nil {
				if !documented {
					t.Errorf("%s: rpc %s has no comment", where, m[1])
				}
				continue
			}
			if kind == "enum" {
				if m := protoValue.FindStringSubmatch(text); m != nil && !documented {
					t.Errorf("%s: enum value %s has no comment", where, m[1])
				}
				continue
			}
			if m := protoField.FindStringSubmatch(text); m != nil && kind == "message" {
				if !documented {
					t.Errorf("%s: field %s.%s has no comment", where, scope, m[1])
				}
				if msg != nil {
					fd := msg.Fields().ByName(protoreflect.Name(m[1]))
					if fd == nil || strconv.Itoa(int(fd.Number())) != m[2] {
						t.Errorf("%s: field %s.%s = %s differs from the generated code: run rpc/generate.sh", where, scope, m[1], m[2])
					}
				}
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
}
