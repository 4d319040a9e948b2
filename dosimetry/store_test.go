package dosimetry

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"vigie"

	"vigie/ledger"
	"vigie/store"
)

// examsOnly hides the batch history read of a ledger: the scanner reads
// each patient's history with Exams, as for any PatientExams.
type examsOnly struct{ l *ledger.Ledger }

func (e examsOnly) Exams(ctx context.Context, keys []vigie.SourceKey) ([]ledger.Entry, error) {
	return e.l.Exams(ctx, keys)
}

// memoryStore opens an in-memory store, closed with the test.
func memoryStore(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// TestStoredEqualsInMemory: evaluations and alert scans read from the
// Badger ledger (rows by site and date, binary values) equal those
// computed on the same exams held in memory.
func TestStoredEqualsInMemory(t *testing.T) {
	ctx := context.Background()
	led := ledger.Open(memoryStore(t))
	mem := genLedger(6000)
	for i := range mem {
		// Patients seen several times at their site, so that the
		// per-patient rules have histories to read.
		mem[i].Exam.Key.LocalID = strconv.Itoa(i / 40 % 50)
		if _, err := led.Put(ctx, &mem[i].Exam); err != nil {
			t.Fatal(err)
		}
	}
	ev := &Evaluator{Types: DefaultTable(), NRD: DefaultNRD(), Sex: func(k vigie.SourceKey) string { return k.LocalID[:1] }}
	queries := []Query{
		{Site: "1.2.250.1.7", From: "2025-01-01", To: "2025-12-31"},
		{Site: "1.2.250.1.7", From: "2025-03-10", To: "2025-05-20"},
		{Site: "1.2.250.1.3", To: "2025-02-01", ExamType: "rx_thorax_pa"},
		{Site: "1.2.250.1.1"},
		{From: "2025-11-01", To: "2025-11-30"},
	}
	for _, q := range queries {
		want, err := ev.Evaluate(ctx, mem, q)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ev.Evaluate(ctx, led, q)
		if err != nil {
			t.Fatal(err)
		}
		wj, _ := json.Marshal(want)
		gj, _ := json.Marshal(got)
		if len(want) == 0 || !strings.Contains(string(wj), `"patients":`) {
			t.Fatalf("%+v: no evaluation to compare", q)
		}
		if string(gj) != string(wj) {
			t.Errorf("%+v: stored evaluation differs from the one in memory:\n%.600s\nwant\n%.600s", q, gj, wj)
		}
	}

	cfg := DefaultAlertConfig()
	cfg.RepeatCTDays, cfg.CumulativemSv, cfg.CTDLPmGycm = 365, 20, 700 // rules that fire on this ledger
	scan := func(src Source, hist PatientExams, q ScanQuery) ([]Alert, ScanResult) {
		t.Helper()
		s := &Scanner{Types: DefaultTable(), NRD: DefaultNRD(), Coef: DefaultCoefficients(), Config: cfg, History: hist}
		var res ScanResult
		as, err := s.Check(ctx, src, q, &res)
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(as, func(a, b Alert) int { return strings.Compare(a.ID, b.ID) })
		return as, res
	}
	allKinds := map[string]int{}
	for _, q := range []ScanQuery{{Site: "1.2.250.1.7", From: "2025-01-01", To: "2025-12-31"}, {Site: "1.2.250.1.2", From: "2025-06-01"}} {
		// Every exam of the generated ledger is of 2025 and keyed by its
		// site: a history read from the ledger holds the year's exams of
		// the record, which a scan in memory sees too when the period is
		// the year.
		want, wres := scan(mem, nil, ScanQuery{Site: q.Site, From: "2025-01-01", To: "2025-12-31"})
		if q.From != "2025-01-01" {
			want, wres = scan(mem, examsOnly{led}, q)
		}
		got, gres := scan(led, led, q)
		kinds := map[string]int{}
		for _, a := range want {
			kinds[a.Kind]++
			allKinds[a.Kind]++
		}
		if kinds[AlertRepeatCT] == 0 || kinds[AlertCumulative] == 0 {
			t.Fatalf("%+v: alerts %v: the comparison needs per-patient alerts", q, kinds)
		}
		wj, _ := json.Marshal(want)
		gj, _ := json.Marshal(got)
		if string(gj) != string(wj) || gres != wres {
			t.Errorf("%+v: stored scan (%+v, %d alerts) differs from the reference (%+v, %d alerts)", q, gres, len(got), wres, len(want))
		}
	}
	if len(allKinds) < 4 {
		t.Errorf("alerts %v: the comparison needs per-exam alerts too", allKinds)
	}
}
