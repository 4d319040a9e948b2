package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"vigie"
	"vigie/mpi"
	"vigie/store"
)

func TestHL7OutboxVerbs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	// A store with one change after the subscription: one A31 pending
	// for a subscriber nobody listens for.
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := mpi.Open(db, nil, mpi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := ix.Resolve(context.Background(), vigie.Record{Authority: "1.2.250.1.999.1", LocalID: "1", BirthName: "MARTIN", FirstName: "MARIE", BirthDate: "1956-03-14"}, mpi.System)
	ix.Close()
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		args     []string
		wantCode int
		wantOut  string
	}{
		{[]string{"hl7", "subscriber", "add", "--data", dir, "--name", "RIS_A", "--addr", "127.0.0.1:1", "--regional-oid", "1.2.250.1.999.1.99"}, 0, "subscriber RIS_A added: 127.0.0.1:1"},
		{[]string{"hl7", "subscriber", "add", "--data", dir, "--name", "RIS_A", "--addr", "127.0.0.1:1", "--regional-oid", "1.2.250.1.999.1.99"}, 1, ""},
		{[]string{"hl7", "subscriber", "add", "--data", dir, "--name", "RIS B", "--addr", "127.0.0.1:1", "--regional-oid", "1.2"}, 2, ""},
		{[]string{"hl7", "subscriber", "add", "--data", dir, "--name", "RIS_B", "--addr", "nowhere", "--regional-oid", "1.2"}, 2, ""},
		{[]string{"hl7", "subscriber", "list", "--data", dir}, 0, "RIS_A  127.0.0.1:1"},
		{[]string{"hl7", "outbox", "--data", dir}, 0, "RIS_A       127.0.0.1:1  0        0     -       0        0"},
	}
	for _, s := range steps {
		code, out, errs := runCLI(s.args...)
		if code != s.wantCode || !strings.Contains(out, s.wantOut) {
			t.Errorf("%v: exit %d, out %q (stderr %q); want exit %d and %q", s.args, code, out, errs, s.wantCode, s.wantOut)
		}
	}
	// A change: one event not yet read by the outbox (the server reads it).
	db, err = store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ix, err = mpi.Open(db, nil, mpi.Options{})
	if err == nil {
		_, err = ix.ChangeAttributes(context.Background(), res.Identity, []string{vigie.AttrDoubtful}, nil, "cellule", "à vérifier")
		ix.Close()
	}
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		args     []string
		wantCode int
		wantOut  string
	}{
		{[]string{"hl7", "outbox", "--data", dir}, 0, "0        0     -       0        1               -"}, // one event to read
		{[]string{"hl7", "outbox", "--data", dir, "--replay", "--name", "RIS_A"}, 0, "RIS_A: 0 pending messages"},
		{[]string{"hl7", "outbox", "--data", dir, "--name", "NONE"}, 1, ""},
		{[]string{"hl7", "subscriber", "remove", "--data", dir, "--name", "RIS_A"}, 0, "subscriber RIS_A removed"},
		{[]string{"hl7", "subscriber", "remove", "--data", dir, "--name", "RIS_A"}, 1, ""},
	} {
		code, out, errs := runCLI(s.args...)
		if code != s.wantCode || !strings.Contains(out, s.wantOut) {
			t.Errorf("%v: exit %d, out %q (stderr %q); want exit %d and %q", s.args, code, out, errs, s.wantCode, s.wantOut)
		}
	}
}
