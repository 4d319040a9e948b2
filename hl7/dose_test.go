package hl7

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vigie"
	"vigie/dosimetry"
	"vigie/ledger"
	"vigie/store"
)

// obx is one observation as python3-hl7 read it (testdata/receiver.py).
type obx struct {
	Code, System, Type, Value, Unit, Status string
}

func doseQ(v float64, d ledger.Dimension) *ledger.Quantity {
	return &ledger.Quantity{Value: v, Unit: string(d), Raw: v, RawUnit: string(d)}
}

// ctExam is a chest CT of IPP1 at the CHU: image headers (CTDIvol only)
// or its dose SR (CTDIvol and DLP).
func ctExam(sop string, src ledger.SourceKind) *ledger.Exam {
	x := &ledger.Exam{SOPInstanceUID: sop, StudyUID: "1.2.250.1.999.101.5.77", Accession: "ACC77", Date: "2026-03-02", Time: "09:15:00",
		Modality: "CT", Procedure: "Scanner thoracique", Device: ledger.Device{Manufacturer: "ACME", Model: "CT9"},
		Patient: ledger.PatientSize{Age: "052Y"}, Source: src, Domain: ledger.DomainCT,
		Key: vigie.SourceKey{Authority: chuA, LocalID: "IPP1"}}
	chest := ledger.Code{Value: "T-D3000", Scheme: "SRT", Meaning: "Chest"}
	spiral := ledger.Code{Value: "P5-08001", Scheme: "SRT", Meaning: "Spiral Acquisition"}
	if src == ledger.SourceHeader {
		x.CT = &ledger.CTDose{Events: []ledger.CTEvent{{TargetRegion: chest, AcquisitionType: spiral, CTDIvol: doseQ(9.5, ledger.DimDose)}}}
	} else {
		x.CT = &ledger.CTDose{DLPTotal: doseQ(400, ledger.DimDLP), Events: []ledger.CTEvent{{UID: "ev1", TargetRegion: chest, AcquisitionType: spiral,
			CTDIvol: doseQ(8, ledger.DimDose), DLP: doseQ(400, ledger.DimDLP)}}}
	}
	return x
}

// TestDoseReportsSentBack: image headers, then the dose SR of the same
// study reach the ledger; the subscriber taking dose reports (python3-hl7's
// MLLP receiver) gets a final ORU^R01, then its correction, in order; the
// identity-only subscriber gets none; python3-hl7 and this package's
// parser read the same observations back.
func TestDoseReportsSentBack(t *testing.T) {
	ctx := context.Background()
	o, ids := newOutbox(t, "")
	o.Ledger = ledger.Open(o.DB)
	o.Coefficients, o.ExamTypes = dosimetry.DefaultCoefficients(), dosimetry.DefaultTable()
	out := filepath.Join(t.TempDir(), "got.jsonl")
	r := startReceiver(t, 0, out)
	if _, err := o.AddSubscriber(ctx, Subscriber{Name: "RIS_A", Addr: r.addr(), RegionalOID: regionalOID, Dose: true, Authority: chuA}); err != nil {
		t.Fatal(err)
	}
	if _, err := o.AddSubscriber(ctx, Subscriber{Name: "PORTAIL", Addr: r.addr(), RegionalOID: regionalOID}); err != nil {
		t.Fatal(err)
	}
	enqueue := func(want int) {
		t.Helper()
		n, err := o.EnqueueDose(ctx)
		if err != nil || n != want {
			t.Fatalf("EnqueueDose: %d %v, want %d", n, err, want)
		}
	}
	// A study settling (its last exam stored just now) waits.
	if _, err := o.Ledger.Put(ctx, ctExam("1.2.3.1", ledger.SourceHeader)); err != nil {
		t.Fatal(err)
	}
	o.Settle = time.Hour
	enqueue(0)
	o.Settle = 0
	enqueue(1)
	// A crash after the report was queued and before its marker was
	// cleared: the marker is back, the report is not queued again.
	marks := rewriteReportMarker(t, o.DB, ctExam("1.2.3.1", ledger.SourceHeader))
	enqueue(0)
	if ps, _ := o.Ledger.ReportsPending(ctx); len(ps) != 0 || !marks {
		t.Fatalf("marker left after a second pass: %+v", ps)
	}
	if _, err := o.Ledger.Put(ctx, ctExam("1.2.3.9", ledger.SourceRDSR)); err != nil {
		t.Fatal(err)
	}
	enqueue(1)
	st, err := o.Status(ctx)
	if err != nil || len(st) != 2 || st[1].Name != "RIS_A" || st[1].Pending != 2 || st[1].Dose != 2 || st[0].Pending != 0 {
		t.Fatalf("status %+v %v, want 2 dose reports for RIS_A only", st, err)
	}
	if _, pending, _, err := o.Lag(ctx); err != nil || pending != 2 {
		t.Fatalf("lag: %d %v, want 2", pending, err)
	}
	for _, s := range st {
		if _, err := o.Deliver(ctx, s.Subscriber); err != nil {
			t.Fatal(err)
		}
	}
	rs := got(t, out)
	if len(rs) != 2 {
		t.Fatalf("the receiver got %d messages, want 2", len(rs))
	}
	type want struct {
		status  string
		figures map[string]string // code → value
	}
	wants := []want{
		{"F", map[string]string{dosimetry.CodeCTDIvol: "9.5"}},
		{"C", map[string]string{dosimetry.CodeCTDIvol: "8", dosimetry.CodeDLPTotal: "400", dosimetry.CodeEffectiveDose: "5.6"}},
	}
	for i, w := range wants {
		m, err := Parse([]byte(strings.ReplaceAll(rs[i].Raw, "\n", "\r")))
		if err != nil {
			t.Fatalf("message %d does not parse back: %v", i+1, err)
		}
		if h := ReadHeader(m); h.Type != "ORU" || h.Event != "R01" || h.ReceivingApp != "RIS_A" {
			t.Errorf("message %d: header %+v", i+1, h)
		}
		pid, _ := m.Segment("PID")
		if first := pid.Repetitions(3)[0]; first.Get(1, 0) != "IPP1" || first.Get(4, 2) != chuA {
			t.Errorf("message %d: PID-3 starts with %q, want the CHU's IPP", i+1, pid.Field(3))
		}
		if !strings.Contains(pid.Field(3), ids[0].String()) {
			t.Errorf("message %d: PID-3 %q lacks the regional identifier", i+1, pid.Field(3))
		}
		obr, _ := m.Segment("OBR")
		if obr.Get(25, 0) != w.status || obr.Get(3, 0) != "ACC77" || obr.Get(4, 1) != LOINCDoseSummary {
			t.Errorf("message %d: OBR %q, want status %s, accession ACC77", i+1, obr.Field(25), w.status)
		}
		// What python3-hl7 read.
		figures := map[string]string{}
		var text string
		for _, x := range rs[i].OBX {
			if x.Status == "X" {
				// An estimate not made: the chest CT's SSDE (no phantom,
				// no diameter), with no value.
				if x.Code != dosimetry.CodeSSDE || x.Value != "" {
					t.Errorf("message %d: OBX %s = %q not obtained", i+1, x.Code, x.Value)
				}
				continue
			}
			if x.Status != w.status {
				t.Errorf("message %d: OBX %s status %q, want %s", i+1, x.Code, x.Status, w.status)
			}
			switch {
			case x.Type == "NM" && x.System == "DCM":
				figures[x.Code] = x.Value
			case x.Type == "TX":
				text = x.Value
			}
		}
		for code, v := range w.figures {
			if figures[code] != v {
				t.Errorf("message %d: OBX %s = %q, want %q (all: %v)", i+1, code, figures[code], v, figures)
			}
		}
		if len(figures) != len(w.figures) {
			t.Errorf("message %d: figures %v, want %v", i+1, figures, w.figures)
		}
		if !strings.Contains(text, "Informations dosimétriques") || !strings.Contains(text, "Appareil : ACME CT9") ||
			!strings.Contains(text, "SSDE (dose estimée selon la corpulence) maximale : non estimée (fantôme du CTDIvol non précisé") {
			t.Errorf("message %d: text block %q", i+1, text)
		}
		for _, bad := range []string{"1.2.250", "113830", "T-D3000"} {
			if strings.Contains(text, bad) {
				t.Errorf("message %d: the text block shows %q", i+1, bad)
			}
		}
		// This package's parser reads the same units.
		for _, seg := range m.All("OBX") {
			if seg.Get(2, 0) == "NM" && seg.Get(6, 3) != "UCUM" {
				t.Errorf("message %d: OBX-6 %q is not UCUM", i+1, seg.Field(6))
			}
		}
	}
	if rs[0].Control == rs[1].Control {
		t.Errorf("both reports carry control id %s", rs[0].Control)
	}
	if st, _ := o.Status(ctx); st[1].Pending != 0 {
		t.Errorf("pending after delivery: %+v", st[1])
	}
}

// rewriteReportMarker puts back the report marker of x's study with the
// value it had when its report was queued, as a crash between the two
// commits leaves it; it reports whether the mark was found queued.
func rewriteReportMarker(t *testing.T, db *store.DB, x *ledger.Exam) bool {
	t.Helper()
	var mark []byte
	err := db.View(func(txn *store.Txn) error {
		item, err := txn.Get(doseVersionKey(x.Key, ledger.StudyOf(x)))
		if err != nil {
			return err
		}
		return item.Value(func(b []byte) error {
			var v struct{ Mark []byte }
			err := json.Unmarshal(b, &v)
			mark = v.Mark
			return err
		})
	})
	if err != nil || len(mark) != 8 || binary.BigEndian.Uint64(mark) == 0 {
		t.Fatalf("version of the study: %v %x", err, mark)
	}
	key := []byte("l/r/" + x.Key.Authority + "\x00" + x.Key.LocalID + "\x00" + ledger.StudyOf(x))
	if err := store.Update(db, func(txn *store.Txn) error { return txn.Set(key, mark) }); err != nil {
		t.Fatal(err)
	}
	ps, err := ledger.Open(db).ReportsPending(context.Background())
	return err == nil && len(ps) == 1
}

// TestDoseReportRefusedHoldsItsExam: the receiver refuses (AE) the first
// report of exam A; A's correction waits behind it while exam B's report
// goes; the next pass sends A's final report, then its correction: in
// order per exam, each acknowledged once.
func TestDoseReportRefusedHoldsItsExam(t *testing.T) {
	ctx := context.Background()
	o, _ := newOutbox(t, "")
	o.Ledger = ledger.Open(o.DB)
	out := filepath.Join(t.TempDir(), "got.jsonl")
	r := startReceiver(t, 0, out, "--ae", "1")
	sub, err := o.AddSubscriber(ctx, Subscriber{Name: "RIS_A", Addr: r.addr(), RegionalOID: regionalOID, Dose: true})
	if err != nil {
		t.Fatal(err)
	}
	examB := ctExam("2.2.2.9", ledger.SourceRDSR)
	examB.StudyUID, examB.Accession, examB.Key.LocalID = "1.2.250.1.999.101.5.88", "ACC88", "IPP2"
	for _, x := range []*ledger.Exam{ctExam("1.2.3.1", ledger.SourceHeader), examB, ctExam("1.2.3.9", ledger.SourceRDSR)} {
		if _, err := o.Ledger.Put(ctx, x); err != nil {
			t.Fatal(err)
		}
		if _, err := o.EnqueueDose(ctx); err != nil {
			t.Fatal(err)
		}
	}
	d, err := o.Deliver(ctx, sub)
	if err != nil || d.Refused != 1 || d.Delivered != 1 || d.Held != 1 {
		t.Fatalf("first pass %+v %v, want A refused, B delivered, A's correction held", d, err)
	}
	st, _ := o.Status(ctx)
	if st[0].Pending != 2 || st[0].Failing != 1 || !strings.Contains(st[0].LastError, "AE") {
		t.Errorf("status after the refusal: %+v", st[0])
	}
	if d, err := o.Deliver(ctx, sub); err != nil || d.Delivered != 2 {
		t.Fatalf("second pass %+v %v", d, err)
	}
	var seq []string
	for _, rc := range got(t, out) {
		m, err := Parse([]byte(strings.ReplaceAll(rc.Raw, "\n", "\r")))
		if err != nil {
			t.Fatal(err)
		}
		obr, _ := m.Segment("OBR")
		seq = append(seq, obr.Get(3, 0)+" "+obr.Get(25, 0)+" "+rc.Control)
	}
	want := []string{"ACC77 F VD1", "ACC88 F VD2", "ACC77 F VD1", "ACC77 C VD3"}
	if strings.Join(seq, ", ") != strings.Join(want, ", ") {
		t.Errorf("received %v, want %v", seq, want)
	}
}

// TestDoseVersionPerSubscriber: each subscriber gets F for the first report
// of an exam it receives and C after, whenever it subscribed: RIS_A gets
// the image headers' report (F), then RIS_B subscribes; the dose SR's
// report is RIS_A's correction (C) and RIS_B's first (F); a later change
// corrects both (C). A store written before the per-subscriber counts
// (one count for the exam) goes on counting it for each subscriber of
// that time. A subscriber removed and added again starts afresh (F).
// python3-hl7's receiver reads every message.
func TestDoseVersionPerSubscriber(t *testing.T) {
	ctx := context.Background()
	o, _ := newOutbox(t, "")
	o.Ledger = ledger.Open(o.DB)
	out := filepath.Join(t.TempDir(), "got.jsonl")
	r := startReceiver(t, 0, out)
	add := func(name string) Subscriber {
		t.Helper()
		s, err := o.AddSubscriber(ctx, Subscriber{Name: name, Addr: r.addr(), RegionalOID: regionalOID, Dose: true, Authority: chuA})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	step := func(x *ledger.Exam, want int, subs ...Subscriber) {
		t.Helper()
		if _, err := o.Ledger.Put(ctx, x); err != nil {
			t.Fatal(err)
		}
		if n, err := o.EnqueueDose(ctx); err != nil || n != want {
			t.Fatalf("EnqueueDose: %d %v, want %d", n, err, want)
		}
		for _, s := range subs {
			if _, err := o.Deliver(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
	}
	a := add("RIS_A")
	step(ctExam("1.2.3.1", ledger.SourceHeader), 1, a)
	b := add("RIS_B")
	step(ctExam("1.2.3.9", ledger.SourceRDSR), 2, a, b)
	cont := ctExam("1.2.3.10", ledger.SourceRDSR)
	cont.CT.Events = append(cont.CT.Events, ledger.CTEvent{UID: "ev2", CTDIvol: doseQ(4, ledger.DimDose), DLP: doseQ(100, ledger.DimDLP)})
	step(cont, 2, a, b)
	// An exam reported once before the per-subscriber counts existed:
	// its version key holds one count for the exam.
	old := ctExam("7.7.7.1", ledger.SourceRDSR)
	old.StudyUID, old.Accession, old.Key.LocalID = "1.2.250.1.999.101.5.99", "ACC99", "IPP2"
	if _, err := o.Ledger.Put(ctx, old); err != nil {
		t.Fatal(err)
	}
	ps, err := o.Ledger.ReportsPending(ctx)
	if err != nil || len(ps) != 1 {
		t.Fatalf("pending %v %v", ps, err)
	}
	legacy := []byte(`{"mark":"AAAAAAAAAAE=","version":1}`)
	if err := store.Update(o.DB, func(txn *store.Txn) error { return txn.Set(doseVersionKey(old.Key, ledger.StudyOf(old)), legacy) }); err != nil {
		t.Fatal(err)
	}
	if n, err := o.EnqueueDose(ctx); err != nil || n != 2 {
		t.Fatalf("EnqueueDose of the old exam: %d %v", n, err)
	}
	for _, s := range []Subscriber{a, b} {
		if _, err := o.Deliver(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	// RIS_B removed and subscribed again: a new subscription, whose first
	// report of the exam is final again.
	if _, err := o.RemoveSubscriber(ctx, "RIS_B"); err != nil {
		t.Fatal(err)
	}
	b = add("RIS_B")
	more := ctExam("1.2.3.11", ledger.SourceRDSR)
	more.CT.Events = append(more.CT.Events, ledger.CTEvent{UID: "ev3", CTDIvol: doseQ(2, ledger.DimDose), DLP: doseQ(50, ledger.DimDLP)})
	step(more, 2, a, b)
	var seq []string
	for _, rc := range got(t, out) {
		m, err := Parse([]byte(strings.ReplaceAll(rc.Raw, "\n", "\r")))
		if err != nil {
			t.Fatal(err)
		}
		obr, _ := m.Segment("OBR")
		status := obr.Get(25, 0)
		for _, x := range rc.OBX {
			if x.Status != status && x.Status != "X" {
				t.Errorf("%s: OBX %s status %s under OBR-25 %s", ReadHeader(m).ReceivingApp, x.Code, x.Status, status)
			}
		}
		seq = append(seq, ReadHeader(m).ReceivingApp+" "+obr.Get(3, 0)+" "+status)
	}
	want := []string{"RIS_A ACC77 F", "RIS_A ACC77 C", "RIS_B ACC77 F", "RIS_A ACC77 C", "RIS_B ACC77 C", "RIS_A ACC99 C", "RIS_B ACC99 C",
		"RIS_A ACC77 C", "RIS_B ACC77 F"}
	if strings.Join(seq, ", ") != strings.Join(want, ", ") {
		t.Errorf("received %v,\nwant     %v", seq, want)
	}
}
