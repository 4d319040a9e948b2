package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"vigie/store"

	"vigie"
)

// layoutExams are exams of two sites (one authority a prefix of the
// other), dated and not, with a header superseded by an RDSR.
func layoutExams() []*Exam {
	siteB := vigie.SourceKey{Authority: siteA.Authority + "0", LocalID: "B1"}
	var out []*Exam
	for i, d := range []string{"2024-12-31", "2025-01-01", "2025-06-15", "2025-12-31", "2026-01-01", ""} {
		x := ctExam("7."+string(rune('a'+i)), "9.7"+string(rune('a'+i)), float64(10+i), "ev7"+string(rune('a'+i)), float64(10+i))
		x.Date = d
		out = append(out, x)
		y := ctExam("8."+string(rune('a'+i)), "9.8"+string(rune('a'+i)), float64(20+i))
		y.Date, y.Key = d, siteB
		out = append(out, y)
	}
	header := &Exam{SOPInstanceUID: "3.1", StudyUID: "9.3", Date: "2025-03-02", Modality: "DX", Source: SourceHeader,
		Domain: DomainProjection, Key: siteA, Projection: &ProjectionDose{DAPTotal: q(11, "dGy.cm2", DimDAP)}}
	rdsr := &Exam{SOPInstanceUID: "3.9", StudyUID: "9.3", Date: "2025-03-02", Modality: "DX", Source: SourceRDSR,
		Domain: DomainProjection, Key: siteA, Projection: &ProjectionDose{DAPTotal: q(2.1e-5, "Gy.m2", DimDAP)}}
	return append(out, header, rdsr)
}

func sops(es []*Entry) string {
	var s []string
	for _, e := range es {
		s = append(s, e.Exam.SOPInstanceUID)
	}
	return strings.Join(s, " ")
}

func TestEachSiteReadsItsPeriodOnly(t *testing.T) {
	ctx := context.Background()
	l, _ := openTest(t)
	for _, x := range layoutExams() {
		if _, err := l.Put(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct{ from, to, want string }{
		{"", "", "7.f 7.a 7.b 3.1 3.9 7.c 7.d 7.e"},
		{"2025-01-01", "2025-12-31", "7.b 3.1 3.9 7.c 7.d"},
		{"2025-01-02", "2025-12-30", "3.1 3.9 7.c"},
		{"", "2024-12-31", "7.f 7.a"},
		{"2026-01-01", "", "7.e"},
		{"2027-01-01", "", ""},
	}
	for _, c := range cases {
		var got []*Entry
		err := l.EachSite(ctx, siteA.Authority, c.from, c.to, func(e *Entry) error {
			got = append(got, e)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// Date order; 3.1 and 3.9 share a date, SOP order within it.
		if sops(got) != c.want {
			t.Errorf("%q–%q: %s, want %s", c.from, c.to, sops(got), c.want)
		}
	}
}

// writeLayout1 rewrites a ledger's exams as layout 1 stored them: JSON
// under l/x/, empty l/k/ values, no rows, no version; only the first n
// exams (of SOP order) when n ≥ 0, as a conversion cut short leaves them.
func writeLayout1(t *testing.T, db *store.DB, n int) {
	t.Helper()
	err := store.Update(db, func(txn *store.Txn) error {
		it := txn.NewIterator(store.IteratorOptions{Prefix: prefixExam})
		var keys [][]byte
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		it.Close()
		for i, k := range keys {
			if n >= 0 && i >= n {
				break
			}
			sop := string(k[len(prefixExam):])
			e, err := getEntry(txn, sop)
			if err != nil {
				return err
			}
			j, err := json.Marshal(e)
			if err != nil {
				return err
			}
			if err := txn.Set(k, j); err != nil {
				return err
			}
			if err := txn.Delete(rowKey(e.Exam.Key.Authority, e.Exam.Date, sop)); err != nil {
				return err
			}
			if err := txn.Set(append(sourcePrefix(e.Exam.Key), sop...), nil); err != nil {
				return err
			}
		}
		return txn.Delete(layoutKey)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// snapshot is everything a ledger answers about its exams.
func snapshot(t *testing.T, l *Ledger) map[string]any {
	t.Helper()
	ctx := context.Background()
	out := map[string]any{}
	var all []*Entry
	if err := l.Each(ctx, func(e *Entry) error { all = append(all, e); return nil }); err != nil {
		t.Fatal(err)
	}
	out["each"] = all
	var site []*Entry
	if err := l.EachSite(ctx, siteA.Authority, "2025-01-01", "2025-12-31", func(e *Entry) error { site = append(site, e); return nil }); err != nil {
		t.Fatal(err)
	}
	out["site"] = site
	es, err := l.Exams(ctx, []vigie.SourceKey{siteA, {Authority: siteA.Authority + "0", LocalID: "B1"}})
	if err != nil {
		t.Fatal(err)
	}
	out["exams"] = es
	for _, sop := range []string{"3.1", "7.f", "8.c"} {
		e, err := l.Get(ctx, sop)
		if err != nil {
			t.Fatal(err)
		}
		out["get "+sop] = e
	}
	return out
}

func TestOpenConvertsLayout1(t *testing.T) {
	ctx := context.Background()
	for _, cut := range []int{-1, 0, 5} {
		l, db := openTest(t)
		exams := layoutExams()
		for _, x := range exams {
			if _, err := l.Put(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		want := snapshot(t, l)
		if n := len(want["each"].([]*Entry)); n != len(exams) {
			t.Fatalf("Each gave %d exams, want %d", n, len(exams))
		}
		writeLayout1(t, db, cut)
		if cut < 0 {
			// Layout-1 values are still read where met (Get).
			e, err := Open(db).Get(ctx, "3.1")
			if err != nil || e.SupersededBy != "3.9" {
				t.Fatalf("layout-1 value: %+v %v", e, err)
			}
		}
		l2 := Open(db)
		if l2.err != nil {
			t.Fatal(l2.err)
		}
		if got := snapshot(t, l2); !reflect.DeepEqual(got, want) {
			t.Errorf("cut %d: after conversion\n%+v\nwant\n%+v", cut, got, want)
		}
		err := db.View(func(txn *store.Txn) error {
			item, err := txn.Get(layoutKey)
			if err != nil {
				return err
			}
			return item.Value(func(v []byte) error {
				if !bytes.Equal(v, []byte{layoutVersion}) {
					t.Errorf("layout version %v", v)
				}
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		// Exactly once still holds over converted exams.
		if out, err := l2.Put(ctx, exams[0]); err != nil || out.Result != Duplicate {
			t.Errorf("re-put after conversion: %+v %v, want duplicate", out, err)
		}
		rep := ctExam("7.z", "9.7a", 10, "ev7a", 10.0)
		if out, err := l2.Put(ctx, rep); err != nil || out.RepeatedEvents != 1 {
			t.Errorf("repeated event after conversion: %+v %v", out, err)
		}
	}
}

// TestOpenConvertsHeaderSupersededLater: a layout-1 header exam is
// superseded by an RDSR stored after the conversion, and its row says so.
func TestOpenConvertsHeaderSupersededLater(t *testing.T) {
	ctx := context.Background()
	l, db := openTest(t)
	exams := layoutExams()
	header, rdsr := exams[len(exams)-2], exams[len(exams)-1]
	if _, err := l.Put(ctx, header); err != nil {
		t.Fatal(err)
	}
	writeLayout1(t, db, -1)
	l2 := Open(db)
	if out, err := l2.Put(ctx, rdsr); err != nil || out.Superseded != 1 {
		t.Fatalf("RDSR: %+v %v", out, err)
	}
	var got []*Entry
	if err := l2.EachSite(ctx, siteA.Authority, "", "", func(e *Entry) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].SupersededBy != "3.9" || got[1].Excluded() {
		t.Errorf("site rows %s, header superseded by %q", sops(got), got[0].SupersededBy)
	}
}

func TestOpenRefusesNewerLayout(t *testing.T) {
	ctx := context.Background()
	l, db := openTest(t)
	if _, err := l.Put(ctx, ctExam("1.1", "9.1", 1)); err != nil {
		t.Fatal(err)
	}
	if err := store.Update(db, func(txn *store.Txn) error { return txn.Set(layoutKey, []byte{layoutVersion + 1}) }); err != nil {
		t.Fatal(err)
	}
	l2 := Open(db)
	_, errGet := l2.Get(ctx, "1.1")
	_, errPut := l2.Put(ctx, ctExam("1.2", "9.1", 1))
	errEach := l2.EachSite(ctx, siteA.Authority, "", "", func(*Entry) error { return nil })
	for _, err := range []error{errGet, errPut, errEach} {
		if err == nil || !strings.Contains(err.Error(), "newer") {
			t.Errorf("a newer layout must be refused, got %v", err)
		}
	}
}

// TestHistoriesTakesHeldEntries: an entry the caller holds is not read
// again; the others are, and each patient gets its own exams.
func TestHistoriesTakesHeldEntries(t *testing.T) {
	ctx := context.Background()
	l, _ := openTest(t)
	for _, x := range layoutExams() {
		if _, err := l.Put(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	held := &Entry{Exam: Exam{SOPInstanceUID: "7.c", Date: "2025-06-15", Key: siteA}}
	have := func(sop string) *Entry {
		if sop == "7.c" {
			return held
		}
		return nil
	}
	siteB := vigie.SourceKey{Authority: siteA.Authority + "0", LocalID: "B1"}
	got := map[int]string{}
	err := l.Histories(ctx, [][]vigie.SourceKey{{siteB}, {siteA}, {{Authority: "none", LocalID: "x"}}}, have, func(i int, es []*Entry) error {
		got[i] = sops(es)
		for _, e := range es {
			if e.Exam.SOPInstanceUID == "7.c" && e != held {
				t.Errorf("7.c read again")
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]string{0: "8.f 8.a 8.b 8.c 8.d 8.e", 1: "7.f 7.a 7.b 3.1 3.9 7.c 7.d 7.e", 2: ""}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("histories %v, want %v", got, want)
	}
}
