package mpi

import (
	"slices"
	"testing"

	"vigie"
)

// The tests of this file retire an identity by moving its last record into
// another, along each path that can (an updated record linked again
// automatically, a person's Link, a Merge), and check that the retired
// identity's attributes, above all the patient's objection (OPPO), follow
// the record there and come back with it when it is unlinked.

// retirePaths move record b, alone in its identity, into identity to.
var retirePaths = []struct {
	name string
	move func(t *testing.T, ix *Index, from, to vigie.IdentityID) Decision
}{
	{"updated record linked again", func(t *testing.T, ix *Index, from, to vigie.IdentityID) Decision {
		return resolve(t, ix, person("1.2.250.1.2", "B1")).Decision // now the same person as A1
	}},
	{"link by a person", func(t *testing.T, ix *Index, from, to vigie.IdentityID) Decision {
		if _, err := ix.Link(ctx, vigie.SourceKey{Authority: "1.2.250.1.2", LocalID: "B1"}, to, "v", "same patient, per ID card"); err != nil {
			t.Fatal(err)
		}
		return DecisionLinked
	}},
	{"merge", func(t *testing.T, ix *Index, from, to vigie.IdentityID) Decision {
		if _, err := ix.Merge(ctx, to, from, "v", "same patient"); err != nil {
			t.Fatal(err)
		}
		return DecisionLinked
	}},
}

// retireFixture resolves A1 (identity to, with attributes target) and B1, a
// different person (identity from, with attributes old).
func retireFixture(t *testing.T, ix *Index, old, target []string) (from, to vigie.IdentityID) {
	t.Helper()
	to = resolve(t, ix, person("1.2.250.1.1", "A1")).Identity
	from = resolve(t, ix, other("1.2.250.1.2", "B1")).Identity
	if from == to {
		t.Fatal("fixture: A1 and B1 must start apart")
	}
	for _, x := range []struct {
		id    vigie.IdentityID
		attrs []string
	}{{from, old}, {to, target}} {
		if len(x.attrs) > 0 {
			if _, err := ix.ChangeAttributes(ctx, x.id, x.attrs, nil, "v", "fixture"); err != nil {
				t.Fatal(err)
			}
		}
	}
	return from, to
}

func attributesOf(t *testing.T, ix *Index, id vigie.IdentityID) []string {
	t.Helper()
	got, err := ix.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return got.Attributes
}

func TestRetiredIdentityAttributesFollowTheRecord(t *testing.T) {
	b := vigie.SourceKey{Authority: "1.2.250.1.2", LocalID: "B1"}
	for _, tc := range []struct {
		name        string
		old, target []string // attributes of B1's and A1's identities before
		want        []string // of A1's identity once B1 joined it
		// an automatic link is held back (to review) by the old identity's
		// attributes: B1 stays where it was.
		held bool
	}{
		{name: "objection", old: []string{"OPPO"}, want: []string{"OPPO"}},
		{name: "objection and hidden, into a homonym", old: []string{"CACH", "OPPO"}, target: []string{"HOMD"},
			want: []string{"CACH", "HOMD", "OPPO"}},
		{name: "both object", old: []string{"OPPO"}, target: []string{"OPPO"}, want: []string{"OPPO"}},
		{name: "no attributes", want: nil},
		{name: "doubtful, objecting", old: []string{"DOUT", "OPPO"}, want: []string{"DOUT", "OPPO"}, held: true},
		{name: "fictitious", old: []string{"FICT"}, want: []string{"FICT"}, held: true},
	} {
		for _, path := range retirePaths {
			t.Run(tc.name+"/"+path.name, func(t *testing.T) {
				ix := openIndex(t, nil)
				from, to := retireFixture(t, ix, tc.old, tc.target)
				decision := path.move(t, ix, from, to)
				if tc.held && path.name == "updated record linked again" {
					// A record of a doubtful or fictitious identity is
					// not taken out of it automatically, just as no record
					// is linked into one: a person decides.
					if decision != DecisionReview || identityOf(t, ix, person("1.2.250.1.2", "B1")) != from {
						t.Fatalf("update of a record whose identity has %v: %s, want review and to stay in %s", tc.old, decision, from)
					}
					if got := attributesOf(t, ix, from); !slices.Equal(got, tc.old) {
						t.Errorf("identity %s kept %v, want %v", from, got, tc.old)
					}
					return
				}
				if decision != DecisionLinked {
					t.Fatalf("B1 moved: %s, want linked", decision)
				}
				got, err := ix.Get(ctx, from)
				if err != nil {
					t.Fatal(err)
				}
				if got.ID != to || !slices.Equal(got.Attributes, tc.want) {
					t.Fatalf("B1's old identity %s: now %s with %v, want %s with %v", from, got.ID, got.Attributes, to, tc.want)
				}
				// The event that moved B1 says what each side held.
				evs, err := ix.Events(ctx, to)
				if err != nil {
					t.Fatal(err)
				}
				var moved *Event
				for i, e := range evs {
					if slices.Contains(e.Moves, Move{Record: b, From: from, To: to}) {
						moved = &evs[i]
					}
				}
				if moved == nil || moved.Retired == nil || moved.Survivor == nil ||
					!slices.Equal(moved.Retired.Attributes, tc.old) || !slices.Equal(moved.Survivor.Attributes, tc.target) {
					t.Fatalf("the event moving B1 into %s: %+v, want snapshots of %v and %v", to, moved, tc.old, tc.target)
				}

				// Unlinked, B1 takes back what its identity had; what A1's
				// identity holds stays there: an objection is on both.
				n, err := ix.Unlink(ctx, b, "v", "not the same patient")
				if err != nil {
					t.Fatal(err)
				}
				if got := attributesOf(t, ix, n); !slices.Equal(got, tc.old) {
					t.Errorf("B1 unlinked into %s with %v, want %v", n, got, tc.old)
				}
				if got := attributesOf(t, ix, to); !slices.Equal(got, tc.want) {
					t.Errorf("A1's identity after the unlink: %v, want %v", got, tc.want)
				}
			})
		}
	}
}

// An unlink gives the record's new identity the attributes its old
// identity brought, with the changes made since applied as Unmerge applies
// them: a withdrawn objection stays withdrawn, one added since is on both.
func TestUnlinkAfterRetiringKeepsLaterChanges(t *testing.T) {
	b := vigie.SourceKey{Authority: "1.2.250.1.2", LocalID: "B1"}
	for _, tc := range []struct {
		name                   string
		old, target            []string // before the move
		add, remove            []string // on the joined identity, after
		wantUnlinked, wantStay []string // after the unlink
	}{
		{"nothing changed", []string{"OPPO"}, []string{"HOMD"}, nil, nil, []string{"OPPO"}, []string{"HOMD", "OPPO"}},
		{"objection withdrawn", []string{"OPPO"}, []string{"HOMD"}, nil, []string{"OPPO"}, nil, []string{"HOMD"}},
		{"objection added", []string{"CACH"}, nil, []string{"OPPO"}, nil, []string{"CACH", "OPPO"}, []string{"CACH", "OPPO"}},
		{"homonym lifted", []string{"OPPO"}, []string{"HOMD"}, nil, []string{"HOMD"}, []string{"OPPO"}, []string{"OPPO"}},
	} {
		for _, path := range retirePaths {
			t.Run(tc.name+"/"+path.name, func(t *testing.T) {
				ix := openIndex(t, nil)
				from, to := retireFixture(t, ix, tc.old, tc.target)
				if d := path.move(t, ix, from, to); d != DecisionLinked {
					t.Fatalf("B1 moved: %s, want linked", d)
				}
				if len(tc.add)+len(tc.remove) > 0 {
					if _, err := ix.ChangeAttributes(ctx, to, tc.add, tc.remove, "v", "the patient says"); err != nil {
						t.Fatal(err)
					}
				}
				n, err := ix.Unlink(ctx, b, "v", "not the same patient")
				if err != nil {
					t.Fatal(err)
				}
				if got := attributesOf(t, ix, n); !slices.Equal(got, tc.wantUnlinked) {
					t.Errorf("B1 unlinked into %s with %v, want %v", n, got, tc.wantUnlinked)
				}
				if got := attributesOf(t, ix, to); !slices.Equal(got, tc.wantStay) {
					t.Errorf("A1's identity after the unlink: %v, want %v", got, tc.wantStay)
				}
			})
		}
	}
}

// A person linking one of several records elsewhere retires nothing: the
// identity keeps its attributes, the target gains none.
func TestLinkOfOneOfSeveralCarriesNothing(t *testing.T) {
	ix := openIndex(t, nil)
	from, to := retireFixture(t, ix, []string{"OPPO"}, nil)
	b2 := other("1.2.250.1.3", "B2")
	if res := resolve(t, ix, b2); res.Identity != from {
		t.Fatalf("fixture: B2 %+v, want linked to %s", res, from)
	}
	if _, err := ix.Link(ctx, key(b2), to, "v", "B2 is A1's patient"); err != nil {
		t.Fatal(err)
	}
	if got := attributesOf(t, ix, from); !slices.Equal(got, []string{"OPPO"}) {
		t.Errorf("identity left with B1: %v, want [OPPO]", got)
	}
	if got := attributesOf(t, ix, to); len(got) != 0 {
		t.Errorf("identity B2 joined: %v, want none", got)
	}
}
