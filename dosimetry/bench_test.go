package dosimetry

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"vigie"
	"vigie/internal/cputime"
	"vigie/ledger"
)

// genLedger generates n exams spread over 40 sites, 4 devices per site and
// one year (2025), with patients seen about twice a year: half radiography
// (several descriptions), 30 % CT with a scout and a helix, 10 %
// mammography, 5 % interventional, 5 % PET. Deterministic.
func genLedger(n int) Entries {
	es := make(Entries, 0, n)
	genExams(n, func(x ledger.Exam) { es = append(es, entry(x)) })
	return es
}

// genExams generates the exams of genLedger one at a time, so that a
// store of a million exams can be built without holding them all.
func genExams(n int, fn func(ledger.Exam)) {
	r := rand.New(rand.NewPCG(1, 2))
	rx := []string{"THORAX PA", "Thorax face", "RADIO DU THORAX", "ASP", "BASSIN FACE", "Rachis lombaire", "Hanche droite", "Genou"}
	cts := []struct {
		proc   string
		region ledger.Code
	}{{"Thorax^Thorax_NON_CON (Adult)", chest}, {"TDM TAP injecté", cap}, {"Abdomen Routine", abdomen}, {"TDM CRANE", code("T-D1100", "SRT", "Head")}}
	for i := range n {
		site := fmt.Sprintf("1.2.250.1.%d", i%40)
		pat := strconv.Itoa(r.IntN(n/2 + 1))
		date := fmt.Sprintf("2025-%02d-%02d", 1+r.IntN(12), 1+r.IntN(28))
		sop := "2.25." + strconv.Itoa(i)
		var x ledger.Exam
		switch k := r.IntN(100); {
		case k < 50:
			x = thoraxPA(sop, site, pat, date, 50+r.Float64()*300)
			x.Procedure = rx[r.IntN(len(rx))]
			x.Modality = []string{"DX", "CR"}[r.IntN(2)]
		case k < 80:
			c := cts[r.IntN(len(cts))]
			x = exam(sop, site, pat, date, "CT", ledger.DomainCT)
			x.Procedure = c.proc
			x.CT = &ledger.CTDose{Events: []ledger.CTEvent{
				ctEv(sop+".1", "Topogram", c.region, scoutType, 0.1, 5),
				ctEv(sop+".2", "", c.region, spiralType, 5+r.Float64()*10, 150+r.Float64()*800),
			}}
		case k < 90:
			x = exam(sop, site, pat, date, "MG", ledger.DomainMammography)
			x.Procedure = "Mammographie bilatérale"
			x.Mammography = &ledger.MammographyDose{Events: []ledger.MammographyEvent{
				{UID: sop + ".1", Laterality: "L", AGD: q(1+r.Float64(), ledger.DimDose), Thickness: q(40+r.Float64()*30, ledger.DimLength)},
				{UID: sop + ".2", Laterality: "R", AGD: q(1+r.Float64(), ledger.DimDose), Thickness: q(40+r.Float64()*30, ledger.DimLength)},
			}}
		case k < 95:
			x = exam(sop, site, pat, date, "XA", ledger.DomainProjection)
			x.Procedure = "Coronarographie"
			x.Projection = &ledger.ProjectionDose{DAPTotal: q(r.Float64()*0.02, ledger.DimDAP), RPTotal: q(r.Float64()*4000, ledger.DimDose), FluoroTime: q(r.Float64()*1200, ledger.DimTime)}
		default:
			x = exam(sop, site, pat, date, "PT", ledger.DomainNM)
			x.Procedure = "TEP FDG corps entier"
			x.NM = &ledger.NMDose{Administrations: []ledger.Administration{{UID: sop + ".a", Activity: q(150+r.Float64()*200, ledger.DimActivity)}}}
		}
		x.Device.Station = fmt.Sprintf("S%d", r.IntN(4))
		x = adult(x, 18+r.IntN(70), 50+r.Float64()*50, 1.5+r.Float64()*0.4)
		fn(x)
	}
}

// benchN is the size of the generated ledger (VIGIE_BENCH_EXAMS, default
// 200 000: 1 000 000 needs about 2 GB).
func benchN(b *testing.B, def int) int {
	if s := os.Getenv("VIGIE_BENCH_EXAMS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	return def
}

// BenchmarkEvaluateSiteYear evaluates one site over one year, every device
// and exam type, on a generated ledger held in memory: the cost of the
// analytics themselves (filtering every exam, classifying the site's).
func BenchmarkEvaluateSiteYear(b *testing.B) {
	es := genLedger(benchN(b, 200_000))
	ev := &Evaluator{Types: DefaultTable(), NRD: DefaultNRD()}
	q := Query{Site: "1.2.250.1.7", From: "2025-01-01", To: "2025-12-31"}
	b.ResetTimer()
	cpu0 := cputime.Process()
	for b.Loop() {
		out, err := ev.Evaluate(context.Background(), es, q)
		if err != nil || len(out) == 0 {
			b.Fatal(err, len(out))
		}
	}
	b.ReportMetric(float64(cputime.Process()-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(len(es)), "exams")
}

// BenchmarkAlertScanSite applies every alert rule to one site's year.
func BenchmarkAlertScanSite(b *testing.B) {
	es := genLedger(benchN(b, 200_000))
	s := &Scanner{Types: DefaultTable(), NRD: DefaultNRD(), Coef: DefaultCoefficients(), Config: DefaultAlertConfig()}
	q := ScanQuery{Site: "1.2.250.1.7", From: "2025-01-01", To: "2025-12-31"}
	b.ResetTimer()
	cpu0 := cputime.Process()
	for b.Loop() {
		if _, err := s.Check(context.Background(), es, q, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cputime.Process()-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(len(es)), "exams")
}

// BenchmarkEvaluateFromBadger evaluates one site from a ledger stored in
// Badger (in memory): ledger.EachSite decodes the site's rows of the
// period. BenchmarkStoredEvaluateSiteYear is the same on disk at scale.
func BenchmarkEvaluateFromBadger(b *testing.B) {
	led := ledger.Open(memoryStore(b))
	es := genLedger(benchN(b, 20_000))
	for i := range es {
		if _, err := led.Put(context.Background(), &es[i].Exam); err != nil {
			b.Fatal(err)
		}
	}
	ev := &Evaluator{Types: DefaultTable(), NRD: DefaultNRD()}
	q := Query{Site: "1.2.250.1.7", From: "2025-01-01", To: "2025-12-31"}
	b.ResetTimer()
	cpu0 := cputime.Process()
	for b.Loop() {
		if _, err := ev.Evaluate(context.Background(), led, q); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cputime.Process()-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(len(es)), "exams")
}

// ledgerBySite reads one site's exams through ledger.Exams, given the
// site's source records: what a ledger read by authority would cost.
type ledgerBySite struct {
	*ledger.Ledger
	keys map[string][]vigie.SourceKey
}

func (l ledgerBySite) EachSite(ctx context.Context, site, _, _ string, fn func(*ledger.Entry) error) error {
	es, err := l.Exams(ctx, l.keys[site])
	if err != nil {
		return err
	}
	for i := range es {
		if err := fn(&es[i]); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkEvaluateFromBadgerBySite is BenchmarkEvaluateFromBadger reading
// the site's exams source record by source record (ledger.Exams), one
// point read per exam: what the rows clustered by site and date avoid.
func BenchmarkEvaluateFromBadgerBySite(b *testing.B) {
	led := ledger.Open(memoryStore(b))
	es := genLedger(benchN(b, 20_000))
	src := ledgerBySite{Ledger: led, keys: map[string][]vigie.SourceKey{}}
	seen := map[vigie.SourceKey]bool{}
	for i := range es {
		if _, err := led.Put(context.Background(), &es[i].Exam); err != nil {
			b.Fatal(err)
		}
		if k := es[i].Exam.Key; !seen[k] {
			seen[k] = true
			src.keys[k.Authority] = append(src.keys[k.Authority], k)
		}
	}
	ev := &Evaluator{Types: DefaultTable(), NRD: DefaultNRD()}
	q := Query{Site: "1.2.250.1.7", From: "2025-01-01", To: "2025-12-31"}
	b.ResetTimer()
	cpu0 := cputime.Process()
	for b.Loop() {
		if _, err := ev.Evaluate(context.Background(), src, q); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cputime.Process()-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(len(es)/40), "site-exams")
}
