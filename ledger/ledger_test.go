package ledger

import (
	"context"
	"math"
	"sync"
	"testing"

	"vigie"
	"vigie/store"
)

func openTest(t testing.TB) (*Ledger, *store.DB) {
	t.Helper()
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return Open(db), db
}

func q(v float64, unit string, dim Dimension) *Quantity {
	x, err := NewQuantity(v, unit, dim)
	if err != nil {
		panic(err)
	}
	return &x
}

var siteA = vigie.SourceKey{Authority: "1.2.250.1.71.4.2.7.1", LocalID: "IPP001"}

// ctExam is a CT RDSR exam with one event per (uid, dlp) pair and the
// given total.
func ctExam(sop, study string, total float64, events ...any) *Exam {
	e := &Exam{SOPInstanceUID: sop, StudyUID: study, Date: "2024-03-01", Modality: "CT",
		Procedure: "TDM thorax", Source: SourceRDSR, Domain: DomainCT, Key: siteA,
		CT: &CTDose{DLPTotal: q(total, "mGy.cm", DimDLP)}}
	for i := 0; i+1 < len(events); i += 2 {
		e.CT.Events = append(e.CT.Events, CTEvent{UID: events[i].(string),
			DLP: q(events[i+1].(float64), "mGy.cm", DimDLP), CTDIvol: q(events[i+1].(float64)/30, "mGy", DimDose)})
	}
	return e
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestPutExactlyOnce(t *testing.T) {
	ctx := context.Background()
	// Cumulative RDSRs of one study, as a Siemens scanner sends them: each
	// repeats the events of the previous one.
	m1 := ctExam("1.1", "9.1", 7.46, "e4", 7.46)
	m2 := ctExam("1.2", "9.1", 77.27, "e4", 7.46, "e5", 69.81)
	m3 := ctExam("1.3", "9.1", 236.09, "e4", 7.46, "e5", 69.81, "e8", 158.82)
	orders := map[string][]*Exam{
		"in order":        {m1, m2, m3},
		"last first":      {m3, m1, m2},
		"with duplicates": {m2, m2, m1, m3, m1},
	}
	for name, exams := range orders {
		t.Run(name, func(t *testing.T) {
			l, _ := openTest(t)
			dups := 0
			for _, e := range exams {
				out, err := l.Put(ctx, e)
				if err != nil {
					t.Fatal(err)
				}
				if out.Result == Duplicate {
					dups++
				}
			}
			if want := len(exams) - 3; dups != want {
				t.Errorf("%d duplicates, want %d", dups, want)
			}
			h, err := l.History(ctx, []vigie.SourceKey{siteA})
			if err != nil {
				t.Fatal(err)
			}
			if len(h.CT) != 1 {
				t.Fatalf("%d CT rows, want 1 (one study): %+v", len(h.CT), h.CT)
			}
			if !near(h.CT[0].DLPmGycm, 236.09) {
				t.Errorf("study DLP = %v, want 236.09 (each event once)", h.CT[0].DLPmGycm)
			}
			if len(h.CT[0].Exams) != 3 {
				t.Errorf("row sums %d exams, want 3", len(h.CT[0].Exams))
			}
		})
	}
}

func TestPutContinuedReportsAddUp(t *testing.T) {
	ctx := context.Background()
	l, _ := openTest(t)
	// "Continued" RDSRs carry disjoint events of one study: both count.
	for _, e := range []*Exam{ctExam("2.1", "9.2", 60.17, "a", 10.0, "b", 50.17), ctExam("2.2", "9.2", 56.44, "c", 6.0, "d", 50.44)} {
		out, err := l.Put(ctx, e)
		if err != nil || out.Result != Stored || out.RepeatedEvents != 0 {
			t.Fatalf("put %s: %+v, %v", e.SOPInstanceUID, out, err)
		}
	}
	h, _ := l.History(ctx, []vigie.SourceKey{siteA})
	if len(h.CT) != 1 || !near(h.CT[0].DLPmGycm, 116.61) {
		t.Fatalf("history CT = %+v, want one row of 116.61 mGy.cm", h.CT)
	}
}

func TestHeaderSupersededByRDSR(t *testing.T) {
	ctx := context.Background()
	header := func(sop string) *Exam {
		return &Exam{SOPInstanceUID: sop, StudyUID: "9.3", Date: "2024-03-02", Modality: "DX", Source: SourceHeader,
			Domain: DomainProjection, Key: siteA, Projection: &ProjectionDose{DAPTotal: q(11, "dGy.cm2", DimDAP)}}
	}
	rdsr := &Exam{SOPInstanceUID: "3.9", StudyUID: "9.3", Date: "2024-03-02", Modality: "DX", Source: SourceRDSR,
		Domain: DomainProjection, Key: siteA, Projection: &ProjectionDose{DAPTotal: q(2.1e-5, "Gy.m2", DimDAP),
			RPTotal: q(0.5, "mGy", DimDose)}}
	l, _ := openTest(t)
	if out, err := l.Put(ctx, header("3.1")); err != nil || out.Result != Stored {
		t.Fatalf("header before RDSR: %+v %v", out, err)
	}
	out, err := l.Put(ctx, rdsr)
	if err != nil || out.Result != Stored || out.Superseded != 1 {
		t.Fatalf("RDSR: %+v %v, want stored superseding 1 header", out, err)
	}
	if out, err := l.Put(ctx, header("3.2")); err != nil || out.Result != Excluded {
		t.Fatalf("header after RDSR: %+v %v, want excluded", out, err)
	}
	h, _ := l.History(ctx, []vigie.SourceKey{siteA})
	if len(h.Radiology) != 1 || !near(h.Radiology[0].DAPcGycm2, 21) || !near(h.Radiology[0].AirKermamGy, 0.5) {
		t.Fatalf("radiology = %+v, want one row with the RDSR's 21 cGy.cm2 only", h.Radiology)
	}
	e, err := l.Get(ctx, "3.1")
	if err != nil || e.SupersededBy != "3.9" {
		t.Fatalf("header 3.1 kept for trace: %+v %v, want superseded by 3.9", e, err)
	}
	es, _ := l.Exams(ctx, []vigie.SourceKey{siteA})
	if len(es) != 3 {
		t.Errorf("%d exams kept, want 3 (headers kept for trace)", len(es))
	}
}

func TestPutRefusesAndWritesNothing(t *testing.T) {
	ctx := context.Background()
	bad := []struct {
		field string
		exam  *Exam
	}{
		{"exam", nil},
		{"sop_instance_uid", &Exam{StudyUID: "1", Source: SourceRDSR, Domain: DomainCT, Key: siteA}},
		{"authority", &Exam{SOPInstanceUID: "1", Source: SourceRDSR, Domain: DomainCT, Key: vigie.SourceKey{LocalID: "x"}}},
		{"local_id", &Exam{SOPInstanceUID: "1", Source: SourceRDSR, Domain: DomainCT, Key: vigie.SourceKey{Authority: "x"}}},
		{"local_id", &Exam{SOPInstanceUID: "1", Source: SourceRDSR, Domain: DomainCT, Key: vigie.SourceKey{Authority: "x", LocalID: "a\x00b"}}},
		{"source", &Exam{SOPInstanceUID: "1", Source: "pdf", Domain: DomainCT, Key: siteA}},
		{"domain", &Exam{SOPInstanceUID: "1", Source: SourceRDSR, Domain: "mri", Key: siteA}},
		{"date", &Exam{SOPInstanceUID: "1", Date: "2025\x0001", Source: SourceRDSR, Domain: DomainCT, Key: siteA}},
		{"ct.events[1].dlp", &Exam{SOPInstanceUID: "1", Source: SourceRDSR, Domain: DomainCT, Key: siteA,
			CT: &CTDose{Events: []CTEvent{{DLP: q(1, "mGy.cm", DimDLP)}, {DLP: &Quantity{Value: math.NaN(), Unit: "mGy.cm"}}}}}},
		{"projection.rp_total", &Exam{SOPInstanceUID: "1", Source: SourceRDSR, Domain: DomainProjection, Key: siteA,
			Projection: &ProjectionDose{RPTotal: &Quantity{Value: math.Inf(1), Unit: "mGy"}}}},
		{"patient.weight", &Exam{SOPInstanceUID: "1", Source: SourceRDSR, Domain: DomainCT, Key: siteA,
			Patient: PatientSize{Weight: &Quantity{Value: 70, Raw: math.NaN()}}}},
	}
	l, db := openTest(t)
	for _, b := range bad {
		_, err := l.Put(ctx, b.exam)
		if vigie.ErrorCode(err) != vigie.EINVALID || vigie.ErrorField(err) != b.field {
			t.Errorf("Put(%+v) = %v, want EINVALID on %s", b.exam, err, b.field)
		}
	}
	n := 0
	db.View(func(txn *store.Txn) error {
		it := txn.NewIterator(store.IteratorOptions{Prefix: []byte("l/")})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	if n != 0 {
		t.Errorf("%d ledger keys after refused puts, want 0", n)
	}
}

func TestHistorySectionsAndIdentity(t *testing.T) {
	ctx := context.Background()
	l, _ := openTest(t)
	siteB := vigie.SourceKey{Authority: "1.2.250.1.71.4.2.7.2", LocalID: "B77"}
	nm := &Exam{SOPInstanceUID: "5.1", StudyUID: "9.5", Date: "2024-05-01", Modality: "PT", Procedure: "TEP FDG",
		Source: SourceRDSR, Domain: DomainNM, Key: siteB, NM: &NMDose{Administrations: []Administration{{UID: "adm1",
			Radiopharmaceutical: Code{"35321007", "SCT", "FDG"}, Radionuclide: Code{"77004003", "SCT", "F-18"},
			Activity: q(394, "MBq", DimActivity)}}}}
	nmCT := ctExam("5.2", "9.5", 350, "ct1", 350.0)
	nmCT.Key = siteB
	mg := &Exam{SOPInstanceUID: "6.1", StudyUID: "9.6", Date: "2024-06-01", Modality: "MG", Source: SourceRDSR,
		Domain: DomainMammography, Key: siteA, Mammography: &MammographyDose{AGDLeft: q(1.30, "mGy", DimDose),
			AGDRight: q(1.28, "mGy", DimDose)}}
	for _, e := range []*Exam{nm, nmCT, mg, ctExam("7.1", "9.7", 100, "x", 100.0)} {
		if _, err := l.Put(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	// The identity holding both source records sees everything; each record
	// alone sees only its own exams (what an unmerge gives back).
	h, _ := l.History(ctx, []vigie.SourceKey{siteA, siteB})
	if len(h.NM) != 1 || !near(h.NM[0].ActivityMBq, 394) || !near(h.NM[0].CTDLPmGycm, 350) || h.NM[0].Radiopharmaceutical != "FDG / F 18" {
		t.Errorf("NM rows = %+v, want one FDG row of 394 MBq with a 350 mGy.cm CT part", h.NM)
	}
	if len(h.CT) != 1 || !near(h.CT[0].DLPmGycm, 100) {
		t.Errorf("CT rows = %+v, want only the stand-alone CT (the hybrid's CT part is in its NM row)", h.CT)
	}
	if len(h.Mammography) != 1 || !near(h.Mammography[0].AGDTotalmGy, 2.58) || h.Mammography[0].Site != siteA.Authority {
		t.Errorf("mammography rows = %+v", h.Mammography)
	}
	if h.Warning != HistoryWarning {
		t.Errorf("warning missing")
	}
	ha, _ := l.History(ctx, []vigie.SourceKey{siteA})
	if len(ha.NM) != 0 || len(ha.CT) != 1 || len(ha.Mammography) != 1 {
		t.Errorf("site A alone: %+v", ha)
	}
}

func TestPutConcurrentSameStudy(t *testing.T) {
	ctx := context.Background()
	l, _ := openTest(t)
	exams := []*Exam{
		ctExam("8.1", "9.8", 7.46, "e4", 7.46),
		ctExam("8.2", "9.8", 77.27, "e4", 7.46, "e5", 69.81),
		ctExam("8.3", "9.8", 236.09, "e4", 7.46, "e5", 69.81, "e8", 158.82),
	}
	var wg sync.WaitGroup
	for range 4 {
		for _, e := range exams {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := l.Put(ctx, e); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	h, _ := l.History(ctx, []vigie.SourceKey{siteA})
	if len(h.CT) != 1 || !near(h.CT[0].DLPmGycm, 236.09) {
		t.Fatalf("concurrent puts: %+v, want 236.09 mGy.cm once", h.CT)
	}
}

// TestPutCumulativeProjection: a cumulative fluoroscopy report repeats
// earlier events; their dose and irradiation time are taken out of what it
// counts, so the study's DAP, air kerma and fluoroscopy time count once.
func TestPutCumulativeProjection(t *testing.T) {
	ctx := context.Background()
	ev := func(uid string, fluoro bool, dap, rp, dur float64) ProjectionEvent {
		return ProjectionEvent{UID: uid, Fluoro: fluoro, DAP: q(dap, "dGy.cm2", DimDAP), RP: q(rp, "mGy", DimDose), Duration: q(dur, "s", DimTime)}
	}
	exam := func(sop string, dap, rp, fluoro, acq float64, evs ...ProjectionEvent) *Exam {
		return &Exam{SOPInstanceUID: sop, StudyUID: "9.9", Date: "2024-07-01", Source: SourceRDSR, Domain: DomainProjection, Key: siteA,
			Projection: &ProjectionDose{DAPTotal: q(dap, "dGy.cm2", DimDAP), RPTotal: q(rp, "mGy", DimDose),
				FluoroTime: q(fluoro, "s", DimTime), AcqTime: q(acq, "s", DimTime), Events: evs}}
	}
	first := exam("10.1", 3, 0.3, 10, 5, ev("f1", true, 1, 0.1, 10), ev("a1", false, 2, 0.2, 5))
	cumul := exam("10.2", 7, 0.7, 30, 5, ev("f1", true, 1, 0.1, 10), ev("a1", false, 2, 0.2, 5), ev("f2", true, 4, 0.4, 20))
	for _, order := range [][]*Exam{{first, cumul}, {cumul, first}} {
		l, _ := openTest(t)
		for _, e := range order {
			if _, err := l.Put(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		h, _ := l.History(ctx, []vigie.SourceKey{siteA})
		if len(h.Radiology) != 1 {
			t.Fatalf("%d rows, want 1", len(h.Radiology))
		}
		r := h.Radiology[0]
		if !near(r.DAPcGycm2, 70) || !near(r.AirKermamGy, 0.7) || !near(r.FluoroTimeMin, 0.5) {
			t.Errorf("order %s first: %+v, want 70 cGy.cm2, 0.7 mGy, 0.5 min", order[0].SOPInstanceUID, r)
		}
	}
}
