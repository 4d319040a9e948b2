package ledger

import (
	"context"
	"testing"

	"vigie"

	"vigie/store"
)

var siteB = vigie.SourceKey{Authority: "1.2.250.1.71.4.2.7.1", LocalID: "IPP002"}

func petHeader(sop, study string, k vigie.SourceKey, mbq float64) *Exam {
	return &Exam{SOPInstanceUID: sop, StudyUID: study, Date: "2024-05-02", Modality: "PT", Source: SourceHeader,
		Domain: DomainNM, Key: k, NM: &NMDose{Administrations: []Administration{{Activity: q(mbq, "MBq", DimActivity)}}}}
}

func nmSR(sop, study string, k vigie.SourceKey, mbq float64) *Exam {
	return &Exam{SOPInstanceUID: sop, StudyUID: study, Date: "2024-05-02", Modality: "SR", Source: SourceRDSR,
		Domain: DomainNM, Key: k, NM: &NMDose{Administrations: []Administration{{UID: sop + ".a", Activity: q(mbq, "MBq", DimActivity)}}}}
}

// TestSupersessionStaysWithinOneRecord: a dose SR supersedes the header
// exams of its own source record's study only; another record's SR under
// the same study UID leaves them counted and is reported as sharing it.
func TestSupersessionStaysWithinOneRecord(t *testing.T) {
	ctx := context.Background()
	l, _ := openTest(t)
	if _, err := l.Put(ctx, petHeader("7.1", "9.7", siteA, 221.6)); err != nil {
		t.Fatal(err)
	}
	out, err := l.Put(ctx, nmSR("7.2", "9.7", siteB, 300))
	if err != nil || out.Result != Stored || out.Superseded != 0 {
		t.Fatalf("other patient's SR: %+v %v, want stored superseding nothing", out, err)
	}
	if len(out.SharedStudy) != 1 || out.SharedStudy[0] != siteA {
		t.Errorf("shared study %v, want [%v]", out.SharedStudy, siteA)
	}
	if out, err := l.Put(ctx, nmSR("7.3", "9.7", siteA, 221.6)); err != nil || out.Superseded != 1 {
		t.Fatalf("own SR: %+v %v, want the header superseded", out, err)
	}
	for _, c := range []struct {
		k   vigie.SourceKey
		mbq float64
	}{{siteA, 221.6}, {siteB, 300}} {
		h, err := l.History(ctx, []vigie.SourceKey{c.k})
		if err != nil || len(h.NM) != 1 || !near(h.NM[0].ActivityMBq, c.mbq) {
			t.Errorf("%v: NM %+v %v, want one row of %v MBq", c.k, h, err, c.mbq)
		}
	}
	// One identity holding both records (a merge in the patient index):
	// two rows, never one row summing or superseding across them.
	h, _ := l.History(ctx, []vigie.SourceKey{siteA, siteB})
	if len(h.NM) != 2 {
		t.Errorf("merged identity: %d NM rows, want 2 (one per record)", len(h.NM))
	}
	recs, err := l.StudyRecords(ctx, "9.7")
	if err != nil || len(recs) != 2 {
		t.Errorf("records of the study: %v %v, want both", recs, err)
	}
}

// TestSameSOPOtherStudyOrPatientIsConflict: the same SOP instance under
// another study or patient is stored for trace as a conflict, counts
// nothing, and leaves the first as it was; the same one again is a
// duplicate.
func TestSameSOPOtherStudyOrPatientIsConflict(t *testing.T) {
	ctx := context.Background()
	first := ctExam("8.1", "9.8", 300, "e81", 300.0)
	tests := []struct {
		name string
		edit func(x *Exam)
		want Result
		why  string
	}{
		{"same object again", func(*Exam) {}, Duplicate, ""},
		{"other patient", func(x *Exam) { x.Key = siteB }, Conflict, "patient"},
		{"other study", func(x *Exam) { x.StudyUID = "9.9" }, Conflict, "study"},
		{"other patient and study", func(x *Exam) { x.Key, x.StudyUID = siteB, "9.9" }, Conflict, "patient, study"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _ := openTest(t)
			if _, err := l.Put(ctx, first); err != nil {
				t.Fatal(err)
			}
			again := ctExam("8.1", "9.8", 300, "e81", 300.0)
			tt.edit(again)
			out, err := l.Put(ctx, again)
			if err != nil || out.Result != tt.want || out.Conflict != tt.why {
				t.Fatalf("second: %+v %v, want %s (%q)", out, err, tt.want, tt.why)
			}
			e, err := l.Get(ctx, "8.1")
			if err != nil || e.Exam.Key != siteA || e.Exam.StudyUID != "9.8" || e.Excluded() {
				t.Fatalf("first after the second: %+v %v, want it unchanged and counted", e, err)
			}
			if tt.want != Conflict {
				return
			}
			if out.First != siteA || out.Counted != (Totals{}) {
				t.Errorf("conflict outcome %+v: want first %v and nothing counted", out, siteA)
			}
			es, err := l.Exams(ctx, []vigie.SourceKey{again.Key})
			var c *Entry
			for i := range es {
				if es[i].Conflict != "" {
					c = &es[i]
				}
			}
			if err != nil || c == nil {
				t.Fatalf("the conflict is not visible in its record's exams: %+v %v", es, err)
			}
			if ok, why := c.Counting(); ok || why != "conflict" || c.Effective() != (Totals{}) {
				t.Errorf("conflict counts: %v %q %+v", ok, why, c.Effective())
			}
			h, _ := l.History(ctx, []vigie.SourceKey{siteA, siteB})
			if len(h.CT) != 1 || !near(h.CT[0].DLPmGycm, 300) {
				t.Errorf("history %+v, want the first's 300 mGy.cm once", h.CT)
			}
			if out, err := l.Put(ctx, again); err != nil || out.Result != Duplicate {
				t.Errorf("the conflict sent again: %+v %v, want a duplicate", out, err)
			}
		})
	}
}

// TestOpenRestoresHeadersSupersededAcrossPatients: a layout-2 store where
// another patient's SR superseded a header exam (by study alone) gets the
// header's figures back when it is opened, and the layout becomes 3.
func TestOpenRestoresHeadersSupersededAcrossPatients(t *testing.T) {
	ctx := context.Background()
	l, db := openTest(t)
	for _, x := range []*Exam{petHeader("7.1", "9.7", siteA, 221.6), nmSR("7.2", "9.7", siteB, 300)} {
		if _, err := l.Put(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	// What layout 2 did: A's header superseded by B's SR; no l/t/, l/u/.
	err := store.Update(db, func(txn *store.Txn) error {
		e, err := getEntry(txn, "7.1")
		if err != nil {
			return err
		}
		e.SupersededBy = "7.2"
		if err := writeEntry(txn, e); err != nil {
			return err
		}
		for _, p := range [][]byte{prefixStudy, prefixShared} {
			if err := db.DropPrefix(p); err != nil {
				return err
			}
		}
		return txn.Set(layoutKey, []byte{2})
	})
	if err != nil {
		t.Fatal(err)
	}
	l2 := Open(db)
	e, err := l2.Get(ctx, "7.1")
	if err != nil || e.Excluded() {
		t.Fatalf("A's header after the upgrade: %+v %v, want counted again", e, err)
	}
	if recs, err := l2.StudyRecords(ctx, "9.7"); err != nil || len(recs) != 2 {
		t.Errorf("records of the study rebuilt: %v %v", recs, err)
	}
	if out, err := l2.Put(ctx, nmSR("7.3", "9.7", siteA, 221.6)); err != nil || out.Superseded != 1 {
		t.Errorf("A's own SR after the upgrade: %+v %v, want A's header superseded", out, err)
	}
}

// An irradiation event UID met under one source record takes nothing out
// of another record's figures; within a record it is counted once.
func TestEventUIDsCountPerRecord(t *testing.T) {
	ctx := context.Background()
	a, b := siteA, vigie.SourceKey{Authority: siteA.Authority, LocalID: "IPP002"}
	at := func(x *Exam, k vigie.SourceKey) *Exam { x.Key = k; return x }
	steps := []struct {
		x           *Exam
		wantDLP     float64
		wantNew     int
		wantRepeats int
	}{
		{at(ctExam("5.1", "8.1", 300, "ev.1", 100.0, "ev.2", 200.0), a), 300, 2, 0},
		// The same event UIDs under B (a device re-using UIDs, or a report
		// of another patient): B's figures stay whole.
		{at(ctExam("5.2", "8.2", 300, "ev.1", 100.0, "ev.2", 200.0), b), 300, 2, 0},
		// B's continued report repeats ev.2 and adds ev.3: only ev.3 counts.
		{at(ctExam("5.3", "8.2", 350, "ev.2", 200.0, "ev.3", 150.0), b), 150, 1, 1},
		// A's cumulative report repeating both counts nothing for A.
		{at(ctExam("5.4", "8.1", 300, "ev.1", 100.0, "ev.2", 200.0), a), 0, 0, 2},
	}
	for _, layout := range []string{"put", "upgraded from layout 3"} {
		t.Run(layout, func(t *testing.T) {
			l, db := openTest(t)
			for _, s := range steps {
				if _, err := l.Put(ctx, s.x); err != nil {
					t.Fatal(err)
				}
			}
			if layout != "put" {
				// What layout 3 did: events marked by UID alone, so B's
				// first report had both events taken out.
				err := store.Update(db, func(txn *store.Txn) error {
					e, err := getEntry(txn, "5.2")
					if err != nil {
						return err
					}
					e.Counted, e.NewEvents, e.RepeatedEvents = Totals{}, 0, 2
					if err := writeEntry(txn, e); err != nil {
						return err
					}
					if err := db.DropPrefix(prefixEvent); err != nil {
						return err
					}
					return txn.Set(layoutKey, []byte{3})
				})
				if err != nil {
					t.Fatal(err)
				}
				l = Open(db)
			}
			for _, s := range steps {
				e, err := l.Get(ctx, s.x.SOPInstanceUID)
				if err != nil {
					t.Fatal(err)
				}
				if !near(e.Counted.DLP, s.wantDLP) || e.NewEvents != s.wantNew || e.RepeatedEvents != s.wantRepeats {
					t.Errorf("%s of %s: counted DLP %v, new %d, repeated %d; want %v, %d, %d", s.x.SOPInstanceUID, s.x.Key.LocalID,
						e.Counted.DLP, e.NewEvents, e.RepeatedEvents, s.wantDLP, s.wantNew, s.wantRepeats)
				}
			}
			// After the upgrade, the markers are B's own: a third report of
			// B repeating ev.1 counts nothing of it.
			out, err := l.Put(ctx, at(ctExam("5.5", "8.2", 100, "ev.1", 100.0), b))
			if err != nil || out.RepeatedEvents != 1 || out.Counted.DLP != 0 {
				t.Errorf("B repeating ev.1: %+v %v, want it repeated", out, err)
			}
		})
	}
}

// TestHistorySynthesis: sections newest first; the IDSV total sums each
// acquisition's CTDIvol once (a continued report repeats one); two
// isotopes' activities are never added; section totals.
func TestHistorySynthesis(t *testing.T) {
	ctx := context.Background()
	l, _ := openTest(t)
	old := ctExam("3.1", "8.1", 300, "e1", 150.0, "e2", 150.0) // CTDIvol 5 + 5
	old.Date = "2023-01-10"
	cont := ctExam("3.2", "8.1", 300, "e2", 150.0, "e3", 150.0) // e2 repeated, e3 new: +5
	cont.Date = "2023-01-10"
	recent := ctExam("3.3", "8.3", 90, "e9", 90.0) // CTDIvol 3
	recent.Date = "2024-02-01"
	adm := func(uid, pharma, nuclide string, mbq float64) Administration {
		return Administration{UID: uid, Radiopharmaceutical: Code{Meaning: pharma}, Radionuclide: Code{Meaning: nuclide}, Activity: q(mbq, "MBq", DimActivity)}
	}
	nm1 := &Exam{SOPInstanceUID: "4.1", StudyUID: "8.4", Date: "2022-05-01", Source: SourceRDSR, Domain: DomainNM, Key: siteA,
		NM: &NMDose{Administrations: []Administration{adm("a1", "Fluorodeoxyglucose F^18^", "^18^Fluorine", 250)}}}
	nm2 := &Exam{SOPInstanceUID: "4.2", StudyUID: "8.5", Date: "2022-06-01", Source: SourceRDSR, Domain: DomainNM, Key: siteA,
		NM: &NMDose{Administrations: []Administration{adm("a2", "Sestamibi", "^99m^Technetium", 700), adm("a3", "Fluorodeoxyglucose F^18^", "^18^Fluorine", 200)}}}
	for _, x := range []*Exam{old, cont, recent, nm1, nm2} {
		if _, err := l.Put(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	h, err := l.History(ctx, []vigie.SourceKey{siteA})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.CT) != 2 || h.CT[0].Date != "2024-02-01" || h.CT[1].Date != "2023-01-10" {
		t.Fatalf("CT rows %+v, want the 2024 study first", h.CT)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"IDSV total of the continued study", h.CT[1].CTDIvolSummGy, 15},
		{"IDSV max of the continued study", h.CT[1].CTDIvolmGy, 5},
		{"PDL of the continued study", h.CT[1].DLPmGycm, 450},
		{"section PDL total", h.Totals.DLPmGycm, 540},
		{"section IDSV total", h.Totals.CTDIvolSummGy, 18},
		{"two-isotope row: no single activity", h.NM[0].ActivityMBq, 0},
		{"one-isotope row activity", h.NM[1].ActivityMBq, 250},
	} {
		if !near(c.got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
	if h.NM[0].Radiopharmaceutical != "MIBI / Tc 99m, FDG / F 18" {
		t.Errorf("two-isotope row label %q", h.NM[0].Radiopharmaceutical)
	}
	want := map[string]float64{"FDG / F 18": 450, "MIBI / Tc 99m": 700}
	if len(h.Totals.NMActivities) != 2 {
		t.Fatalf("activity totals %+v, want one per isotope", h.Totals.NMActivities)
	}
	for _, a := range h.Totals.NMActivities {
		if !near(a.MBq, want[a.Label()]) {
			t.Errorf("total of %s: %v MBq, want %v", a.Label(), a.MBq, want[a.Label()])
		}
	}
}
