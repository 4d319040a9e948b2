package mpi

import (
	"slices"
	"testing"

	"vigie"
	"vigie/matcher"
)

// The MAESEN case of the stress census: the son's dated record, then the
// father's record without birth date (linked to the son's identity, the
// only one bearing its names), then the father's dated record. The third
// shows a second person of those names in the household: the dateless
// record leaves the son's identity, and a review names both identities.
// A link a person made is never undone that way.
func TestLateEvidence(t *testing.T) {
	home := func(r vigie.Record) vigie.Record {
		r.BirthName, r.Sex = "MAESEN", "M"
		r.PostalCode, r.City, r.Address, r.Phone = "50100", "CHERBOURG-EN-COTENTIN", "30 RUE DU STADE", "0262711560"
		return r
	}
	// Father and son born in one town: the dateless record agrees with
	// the son's on everything it says, well enough to link without the
	// home (household_no_date does not hold it).
	son := home(vigie.Record{Authority: "1.2.250.1.1", LocalID: "S", FirstName: "JEAN LOUIS", FirstNames: "JEAN LOUIS", BirthDate: "2012-12-14", BirthPlace: "44190"})
	fatherNoDate := home(vigie.Record{Authority: "1.2.250.1.2", LocalID: "F1", FirstName: "JEAN LOUIS", FirstNames: "JEAN LOUIS", BirthPlace: "44190"})
	father := home(vigie.Record{Authority: "1.2.250.1.3", LocalID: "F2", FirstName: "JEAN LOUIS", FirstNames: "JEAN LOUIS", BirthDate: "1972-02-13", BirthPlace: "44190"})
	// A son's dateless record that the father's record does not explain
	// as well as the son's: its link stands.
	sonNoDate := home(vigie.Record{Authority: "1.2.250.1.2", LocalID: "S1", FirstName: "JEAN LOUIS", FirstNames: "JEAN LOUIS", BirthPlace: "50129"})
	sonPlace := son
	sonPlace.BirthPlace = "50129"

	model := matcher.DefaultModel()
	model.BirthDateGuard = true
	key := func(r vigie.Record) vigie.SourceKey {
		return vigie.SourceKey{Authority: r.Authority, LocalID: r.LocalID}
	}

	t.Run("automatic link undone", func(t *testing.T) {
		ix := openIndex(t, model)
		s := resolve(t, ix, son)
		d := resolve(t, ix, fatherNoDate)
		if d.Identity != s.Identity {
			t.Fatalf("precondition: the dateless record did not link to the son's identity (%s): %+v", d.Decision, d)
		}
		f := resolve(t, ix, father)
		if f.Identity == s.Identity {
			t.Fatalf("the father's dated record joined the son's identity: %+v", f)
		}
		got, err := ix.IdentityOf(ctx, fatherNoDate.Authority, fatherNoDate.LocalID)
		if err != nil {
			t.Fatal(err)
		}
		if got == s.Identity {
			t.Fatalf("the father's dateless record is still in the son's identity %s", got)
		}
		if got == f.Identity {
			t.Fatalf("the dateless record was linked automatically to the father's identity %s: a person decides", got)
		}
		if members, err := ix.Records(ctx, s.Identity); err != nil || !slices.Equal(members, []vigie.SourceKey{key(son)}) {
			t.Fatalf("the son's identity holds %v (%v), want the son's record alone", members, err)
		}
		var named []vigie.IdentityID
		revs, err := ix.Reviews(ctx, 20)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range revs {
			if r.Record == key(fatherNoDate) && r.Identity == got {
				if !slices.Contains(r.Rules, matcher.RuleHouseholdHomonyms) || r.Grade == matcher.GradeCertain {
					t.Errorf("review %d: rules %v, grade %s; want %s, not certain", r.ID, r.Rules, r.Grade, matcher.RuleHouseholdHomonyms)
				}
				named = append(named, r.Candidate)
			}
		}
		slices.Sort(named)
		if want := []vigie.IdentityID{min(s.Identity, f.Identity), max(s.Identity, f.Identity)}; !slices.Equal(named, want) {
			t.Errorf("reviews of the dateless record name %v, want both identities %v", named, want)
		}
		evs, err := ix.Events(ctx, got)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(evs, func(e Event) bool {
			return e.Kind == EventUnlink && e.Reason == LateEvidenceReason && e.Actor == System && e.OtherRecord == key(father)
		}) {
			t.Errorf("no unlink event by the system naming the record that showed the second person: %+v", evs)
		}
		// Nothing was marked distinct: a person may still link them.
		if dist, err := ix.Distinct(ctx, key(fatherNoDate), key(son)); err != nil || dist {
			t.Errorf("the records were marked distinct (%v, %v): only a person does that", dist, err)
		}
		// A person decides: the father's.
		for _, r := range revs {
			if r.Record == key(fatherNoDate) && r.Candidate == f.Identity {
				if err := ix.Decide(ctx, r.ID, Same, "agent", "même date de naissance à l'accueil"); err != nil {
					t.Fatal(err)
				}
			}
		}
		a, err := ix.IdentityOf(ctx, fatherNoDate.Authority, fatherNoDate.LocalID)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ix.IdentityOf(ctx, father.Authority, father.LocalID)
		if err != nil {
			t.Fatal(err)
		}
		if a != b {
			t.Errorf("after a person's \"same\", the dateless record is in %s and the father's dated one in %s", a, b)
		}
	})

	t.Run("better explained by its identity: the link stands", func(t *testing.T) {
		ix := openIndex(t, model)
		s := resolve(t, ix, sonPlace)
		d := resolve(t, ix, sonNoDate)
		if d.Identity != s.Identity {
			t.Fatalf("precondition: the dateless record did not link to the son's identity (%s)", d.Decision)
		}
		resolve(t, ix, father)
		got, err := ix.IdentityOf(ctx, sonNoDate.Authority, sonNoDate.LocalID)
		if err != nil {
			t.Fatal(err)
		}
		if got != s.Identity {
			t.Fatalf("the son's dateless record left his identity (now %s)", got)
		}
	})

	t.Run("a person's link is never undone", func(t *testing.T) {
		ix := openIndex(t, model)
		s := resolve(t, ix, son)
		d := resolve(t, ix, fatherNoDate)
		if d.Identity == s.Identity {
			// A person takes it out and puts it back: pinned there.
			if _, err := ix.Unlink(ctx, key(fatherNoDate), "agent", "vérification"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := ix.Link(ctx, key(fatherNoDate), s.Identity, "agent", "même patient, vérifié"); err != nil {
			t.Fatal(err)
		}
		resolve(t, ix, father)
		got, err := ix.IdentityOf(ctx, fatherNoDate.Authority, fatherNoDate.LocalID)
		if err != nil {
			t.Fatal(err)
		}
		if got != s.Identity {
			t.Fatalf("the record a person linked left the identity (now %s)", got)
		}
	})
}
