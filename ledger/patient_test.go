package ledger

import (
	"context"
	"testing"

	badger "github.com/dgraph-io/badger/v4"

	"vigie/store"
)

var siteB = SourceKey{Authority: "1.2.250.1.71.4.2.7.1", LocalID: "IPP002"}

func petHeader(sop, study string, k SourceKey, mbq float64) *Exam {
	return &Exam{SOPInstanceUID: sop, StudyUID: study, Date: "2024-05-02", Modality: "PT", Source: SourceHeader,
		Domain: DomainNM, Key: k, NM: &NMDose{Administrations: []Administration{{Activity: q(mbq, "MBq", DimActivity)}}}}
}

func nmSR(sop, study string, k SourceKey, mbq float64) *Exam {
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
		k   SourceKey
		mbq float64
	}{{siteA, 221.6}, {siteB, 300}} {
		h, err := l.History(ctx, []SourceKey{c.k})
		if err != nil || len(h.NM) != 1 || !near(h.NM[0].ActivityMBq, c.mbq) {
			t.Errorf("%v: NM %+v %v, want one row of %v MBq", c.k, h, err, c.mbq)
		}
	}
	// One identity holding both records (a merge in the patient index):
	// two rows, never one row summing or superseding across them.
	h, _ := l.History(ctx, []SourceKey{siteA, siteB})
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
			es, err := l.Exams(ctx, []SourceKey{again.Key})
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
			h, _ := l.History(ctx, []SourceKey{siteA, siteB})
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
	err := store.Update(db, func(txn *badger.Txn) error {
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
