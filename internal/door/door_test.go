package door

import (
	"strings"
	"testing"

	"vigie"
)

// The seam opens the door for the test that asks, nested calls included,
// and closes it when that test ends.
func TestWithoutDoor(t *testing.T) {
	hostile := func() *vigie.Record {
		return &vigie.Record{Authority: "1.2.3", LocalID: "1", BirthName: strings.Repeat("MARTIN", 100),
			FirstNames: "J\xe9r\xf4me", BirthDate: "1961-04-09", Sex: "M"}
	}
	refused := func(when string) {
		t.Helper()
		if _, err := Admit(hostile()); err == nil {
			t.Fatalf("%s: a 600-character name admitted", when)
		}
	}
	admitted := func(when string) {
		t.Helper()
		r := hostile()
		if _, err := Admit(r); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if len(r.BirthName) != 600 || r.FirstNames != "J\xe9r\xf4me" {
			t.Fatalf("%s: stored as %.20q %q, want as sent", when, r.BirthName, r.FirstNames)
		}
	}
	refused("door closed")
	t.Run("open", func(t *testing.T) {
		WithoutDoor(t)
		admitted("door open")
		t.Run("nested", func(t *testing.T) {
			WithoutDoor(t)
			admitted("door opened twice")
		})
		admitted("after the nested test")
	})
	refused("after the test that opened it")
}

// A parallel test cannot open the door: it is the whole process's.
func TestWithoutDoorRefusesParallel(t *testing.T) {
	t.Run("parallel", func(t *testing.T) {
		t.Parallel()
		defer func() {
			if recover() == nil {
				t.Error("WithoutDoor in a parallel test did not panic")
			}
		}()
		WithoutDoor(t)
	})
	refusedAfter := func() {
		if _, err := Admit(&vigie.Record{Authority: "1.2.3", LocalID: "1", BirthName: strings.Repeat("X", 101)}); err == nil {
			t.Error("door left open by a refused parallel test")
		}
	}
	t.Cleanup(refusedAfter)
}
