package sites

import (
	"context"
	"fmt"
	"testing"

	"vigie"
	"vigie/store"
)

func TestRegistry(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := Open(db)
	const chu, clin = "1.2.250.1.71.4.2.7.1", "1.2.250.1.71.4.2.7.2"
	steps := []struct {
		name     string
		do       func() error
		wantCode string
	}{
		{"add", func() error {
			_, err := r.Add(ctx, Site{Authority: chu, Name: "  CHU   de Bordeaux ", AETitles: []string{"CHUBX_CT1"}})
			return err
		}, ""},
		{"add again", func() error { _, err := r.Add(ctx, Site{Authority: chu, Name: "Autre"}); return err }, vigie.ECONFLICT},
		{"not an OID", func() error { _, err := r.Add(ctx, Site{Authority: "CHU", Name: "X"}); return err }, vigie.EINVALID},
		{"leading zero arc", func() error { _, err := r.Add(ctx, Site{Authority: "1.02.3", Name: "X"}); return err }, vigie.EINVALID},
		{"no name", func() error { _, err := r.Add(ctx, Site{Authority: clin, Name: " "}); return err }, vigie.EINVALID},
		{"AE title too long", func() error {
			_, err := r.Add(ctx, Site{Authority: clin, Name: "X", AETitles: []string{"ABCDEFGHIJKLMNOPQ"}})
			return err
		}, vigie.EINVALID},
		{"feed proposes a name for an unnamed site", func() error {
			ok, err := r.Learn(ctx, clin, "Clinique du Parc")
			if err == nil && !ok {
				t.Error("Learn stored nothing for an unknown site")
			}
			return err
		}, ""},
		{"feed never overrides the administrator", func() error {
			ok, err := r.Learn(ctx, chu, "CHU BX (flux)")
			if ok {
				t.Error("Learn overrode an administrator's name")
			}
			return err
		}, ""},
		{"administrator takes over a fed name", func() error {
			_, err := r.Add(ctx, Site{Authority: clin, Name: "Clinique du Parc, Libourne"})
			return err
		}, ""},
		{"rename", func() error { _, err := r.Rename(ctx, chu, "CHU de Bordeaux — Pellegrin"); return err }, ""},
		{"rename unknown", func() error { _, err := r.Rename(ctx, "1.2.3", "X"); return err }, vigie.ENOTFOUND},
		{"remove unknown", func() error { return r.Remove(ctx, "1.2.3") }, vigie.ENOTFOUND},
	}
	for _, s := range steps {
		if code := vigie.ErrorCode(s.do()); code != s.wantCode {
			t.Errorf("%s: error code %q, want %q", s.name, code, s.wantCode)
		}
	}
	n, err := r.Names(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ in, want string }{
		{chu, "CHU de Bordeaux — Pellegrin"},
		{clin, "Clinique du Parc, Libourne"},
		{"1.2.250.9", Unknown},
		{chu + ", " + clin + ", " + chu, "CHU de Bordeaux — Pellegrin, Clinique du Parc, Libourne"},
		{"1.2.250.8, 1.2.250.9", Unknown},
	} {
		if got := n.List(c.in); got != c.want {
			t.Errorf("name of %q: %q, want %q", c.in, got, c.want)
		}
	}
	if err := r.Remove(ctx, clin); err != nil {
		t.Fatal(err)
	}
	ss, err := r.List(ctx)
	if err != nil || len(ss) != 1 || ss[0].AETitles[0] != "CHUBX_CT1" || ss[0].Source != SourceAdmin {
		t.Errorf("list after remove: %+v %v", ss, err)
	}
	if Names(nil).Of(chu) != Unknown {
		t.Error("a nil Names must show Unknown, not the OID")
	}
}

// TestNamesFollowEveryChange: Names keeps its lookup between changes, and
// a change made through another Registry of the same store (an
// administrator's, a feed's) is seen at the next call.
func TestNamesFollowEveryChange(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	reader, writer := Open(db), Open(db)
	const a, b = "1.2.250.1.71.4.2.7.1", "1.2.250.1.71.4.2.7.2"
	steps := []struct {
		name   string
		change func() error
		want   map[string]string
	}{
		{"empty", func() error { return nil }, map[string]string{}},
		{"added", func() error { _, err := writer.Add(ctx, Site{Authority: a, Name: "CHU"}); return err }, map[string]string{a: "CHU"}},
		{"learnt", func() error { _, err := writer.Learn(ctx, b, "Clinique"); return err }, map[string]string{a: "CHU", b: "Clinique"}},
		{"renamed", func() error { _, err := writer.Rename(ctx, a, "CHU de Bordeaux"); return err }, map[string]string{a: "CHU de Bordeaux", b: "Clinique"}},
		{"removed", func() error { return writer.Remove(ctx, b) }, map[string]string{a: "CHU de Bordeaux"}},
		{"no change", func() error { return nil }, map[string]string{a: "CHU de Bordeaux"}},
	}
	for _, s := range steps {
		if err := s.change(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		for range 2 { // built, then kept
			got, err := reader.Names(ctx)
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if len(got) != len(s.want) {
				t.Errorf("%s: Names = %v, want %v", s.name, got, s.want)
			}
			for k, v := range s.want {
				if got[k] != v {
					t.Errorf("%s: Names = %v, want %v", s.name, got, s.want)
				}
			}
		}
	}
	// Kept: a call between changes reads one key, not every site (21
	// sites decoded would be some 190 allocations).
	for i := range 20 {
		if _, err := writer.Add(ctx, Site{Authority: fmt.Sprintf("1.2.250.1.71.4.3.%d", i+1), Name: "Site"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := reader.Names(ctx); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(20, func() { _, _ = reader.Names(ctx) }); n > 20 {
		t.Errorf("Names between changes allocates %.0f times a call", n)
	}
	// And once read after the last change, not even the change count is
	// read from the store (a transaction allocates).
	if n := testing.AllocsPerRun(20, func() { _, _ = reader.Names(ctx) }); n != 0 {
		t.Errorf("Names with no change since the last call allocates %.0f times a call", n)
	}
}
