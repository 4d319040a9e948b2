package sites

import (
	"context"
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
