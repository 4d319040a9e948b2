package rpc_test

import (
	"context"
	"strings"
	"testing"

	"vigie"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"vigie/rpc"
	v1 "vigie/rpc/gen/vigie/v1"
)

// TestAPIDoor is issue 26 at the API: oversized and hostile names are
// refused naming the field, a request over the bound is refused before it
// is read, and an impossible birth date is stored with a warning.
func TestAPIDoor(t *testing.T) {
	f := newServerFixture(t)
	ctx := context.Background()
	pacs := f.identity("pacs-a")
	for _, tc := range []struct {
		name, birth, date string
		code              connect.Code
		msg               string
	}{
		{"10 KB name", strings.Repeat("A", 10<<10), "1970-01-02", connect.CodeInvalidArgument, "birth_name: longer than 100 characters (the limit)"},
		{"1 MiB name", strings.Repeat("A", 1<<20), "1970-01-02", connect.CodeResourceExhausted, ""},
		{"NUL", "DUPONT\x00", "1970-01-02", connect.CodeInvalidArgument, "birth_name: holds the control character U+0000"},
		{"ESC", "DUPONT\x1b[31m", "1970-01-02", connect.CodeInvalidArgument, "birth_name: holds the control character U+001B"},
		{"RLO", "\u202eTNOPUD", "1970-01-02", connect.CodeInvalidArgument, "birth_name: holds the bidirectional control U+202E"},
		{"stacked marks", "E" + strings.Repeat("\u0301", 50), "1970-01-02", connect.CodeInvalidArgument, "combining marks"},
		{"future", "DUPONT", "2090-01-01", connect.CodeInvalidArgument, "birth_date"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pacs.ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: rec(siteA, "P1", tc.birth, "ANNE", tc.date)}))
			if code(err) != tc.code || !strings.Contains(errString(err), tc.msg) || len(errString(err)) > 300 {
				t.Fatalf("%.200v, want %v with %q", err, tc.code, tc.msg)
			}
		})
	}
	res, err := pacs.ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: rec(siteA, "P2", "DUPONT", "ANNE", "31/02/1980")}))
	if err != nil {
		t.Fatal(err)
	}
	if w := res.Msg.GetWarnings(); len(w) != 1 || !strings.Contains(w[0], "birth_date") {
		t.Fatalf("warnings %q", w)
	}
	iv := f.identity("iv-team")
	for _, m := range []*v1.SetAttributesRequest{
		{IdentityId: res.Msg.GetIdentityId(), Add: []string{"DOUT"}, Reason: strings.Repeat("x", 1001)},
		{IdentityId: res.Msg.GetIdentityId(), Add: make([]string, 17), Reason: "test"},
		{IdentityId: res.Msg.GetIdentityId(), Add: []string{"DOUT\u202e"}, Reason: "test"},
	} {
		if _, err := iv.SetAttributes(ctx, connect.NewRequest(m)); code(err) != connect.CodeInvalidArgument {
			t.Errorf("SetAttributes %.60v: %v, want invalid_argument", m, err)
		}
	}
	if _, err := f.index.IdentityOf(ctx, siteA, "P1"); err == nil {
		t.Fatal("a refused record was stored")
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestRecordToProtoInvalidUTF8: a record stored before the door refused
// invalid UTF-8 no longer makes every answer holding it fail.
func TestRecordToProtoInvalidUTF8(t *testing.T) {
	m := rpc.RecordToProto(vigie.Record{Authority: "1.2", LocalID: "1", BirthName: "M\xdcLLER", Attributes: []string{"D\xffOUT"}})
	if _, err := proto.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if m.GetBirthName() != "M\uFFFDLLER" {
		t.Fatalf("%q", m.GetBirthName())
	}
}

// TestAPIDoorEmail: the API carries the e-mail; the door stores it
// lower-case and trimmed, refuses one over its bound naming the field, and
// keeps a malformed one with a warning naming the field.
func TestAPIDoorEmail(t *testing.T) {
	f := newServerFixture(t)
	ctx := context.Background()
	pacs := f.identity("pacs-a")
	r := rec(siteA, "E1", "DUPONT", "ANNE", "1970-01-02")
	r.Email = "  Anne.Dupont@Example.FR "
	res, err := pacs.ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: r}))
	if err != nil || len(res.Msg.GetWarnings()) != 0 {
		t.Fatalf("%v, warnings %q", err, res.Msg.GetWarnings())
	}
	v, err := f.index.Latest(ctx, vigie.SourceKey{Authority: siteA, LocalID: "E1"})
	if err != nil || v.Record.Email != "anne.dupont@example.fr" {
		t.Fatalf("stored e-mail %q, %v", v.Record.Email, err)
	}
	r = rec(siteA, "E2", "DUPONT", "ANNE", "1970-01-02")
	r.Email = strings.Repeat("a", 250) + "@x.fr"
	if _, err := pacs.ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: r})); code(err) != connect.CodeInvalidArgument ||
		!strings.Contains(errString(err), "email: longer than 254 characters") {
		t.Fatalf("long e-mail: %v", err)
	}
	r = rec(siteA, "E3", "DUPONT", "ANNE", "1970-01-02")
	r.Email = "anne.dupont at example"
	res, err = pacs.ResolveRecord(ctx, connect.NewRequest(&v1.ResolveRecordRequest{Record: r}))
	if err != nil {
		t.Fatal(err)
	}
	if w := res.Msg.GetWarnings(); len(w) != 1 || !strings.HasPrefix(w[0], "email: ") {
		t.Fatalf("malformed e-mail: warnings %q", w)
	}
	if v, err := f.index.Latest(ctx, vigie.SourceKey{Authority: siteA, LocalID: "E3"}); err != nil || v.Record.Email != "anne.dupont at example" {
		t.Fatalf("malformed e-mail stored as %q, %v", v.Record.Email, err)
	}
}
