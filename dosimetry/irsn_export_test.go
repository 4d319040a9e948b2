package dosimetry

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vigie"
	"vigie/ledger"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/")

// goldenSurveys are fixed surveys: 30 adults of thorax PA radiography and
// 30 adults of thorax CT, with varied ages, builds and sexes.
func goldenSurveys() Entries {
	var es Entries
	for i := range 30 {
		x := adult(thoraxPA(fmt.Sprintf("rx%02d", i), "CHU", fmt.Sprintf("p%02d", i), fmt.Sprintf("2025-03-%02d", 1+i%28),
			float64(90+7*i)), 20+2*i, 55+float64(i)*1.5, 1.55+float64(i%10)*0.03)
		if i == 3 {
			x.Patient.Height = nil // unknown height: empty column
		}
		es = append(es, entry(x))
		c := adult(exam(fmt.Sprintf("ct%02d", i), "CHU", fmt.Sprintf("p%02d", i), "2025-04-02", "CT", ledger.DomainCT), 30+i, 60+float64(i), 1.7)
		c.Device = ledger.Device{Manufacturer: "SIEMENS", Model: "SOMATOM Definition Flash", Station: "CT1"}
		c.Procedure = "Thorax^Thorax_NON_CON (Adult)"
		c.CT = &ledger.CTDose{Events: []ledger.CTEvent{
			ctEv(fmt.Sprintf("s%d", i), "Topogram", chest, scoutType, 0.12, 6),
			ctEv(fmt.Sprintf("h%d", i), "Thorax", chest, spiralType, 6+float64(i)*0.25, 200+float64(i)*11.5),
		}}
		es = append(es, entry(c))
	}
	return es
}

func goldenSex(k vigie.SourceKey) string {
	var n int
	fmt.Sscanf(k.LocalID, "p%d", &n)
	switch n % 3 {
	case 0:
		return "F"
	case 1:
		return "M"
	}
	return ""
}

func TestWriteIRSNGolden(t *testing.T) {
	ev := &Evaluator{Types: DefaultTable(), NRD: DefaultNRD(), Sex: goldenSex}
	out, err := ev.Evaluate(context.Background(), goldenSurveys(), Query{Site: "CHU", From: "2025-01-01", To: "2025-12-31"})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"rx_thorax_pa": "irsn_rx_thorax_pa.csv", "ct_thorax": "irsn_ct_thorax.csv"}
	if len(out) != len(files) {
		t.Fatalf("%d evaluations, want %d", len(out), len(files))
	}
	for _, e := range out {
		t.Run(e.ExamType, func(t *testing.T) {
			if !e.Valid || e.Patients != 30 {
				t.Fatalf("survey valid=%v with %d patients (%v)", e.Valid, e.Patients, e.Reasons)
			}
			var b bytes.Buffer
			if err := WriteIRSN(&b, e); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", files[e.ExamType])
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("export differs from %s (go test -update rewrites it after review):\n%s", path, b.String())
			}
			if bytes.Contains(b.Bytes(), []byte("p0")) {
				t.Error("the export carries a local patient id")
			}
		})
	}
}

func TestWriteIRSNRefusesInvalid(t *testing.T) {
	ev := &Evaluator{Types: DefaultTable(), NRD: DefaultNRD()}
	e := evalOne(t, ev, survey(29, 40, 70), Query{})
	var b bytes.Buffer
	err := WriteIRSN(&b, e)
	if vigie.ErrorCode(err) != vigie.EINVALID || !strings.Contains(err.Error(), "29 adultes retenus, il en faut au moins 30") {
		t.Errorf("error %v, want EINVALID giving the count", err)
	}
	if b.Len() != 0 {
		t.Errorf("an invalid survey wrote %d bytes", b.Len())
	}
}

func ExampleWriteIRSN() {
	var es Entries
	for i := range 30 {
		es = append(es, entry(adult(thoraxPA(fmt.Sprint(i), "CHU", fmt.Sprint(i), "2025-05-01", 120), 50, 70, 1.72)))
	}
	ev := &Evaluator{Types: DefaultTable(), NRD: DefaultNRD()}
	evs, _ := ev.Evaluate(context.Background(), es, Query{Site: "CHU", ExamType: "rx_thorax_pa"})
	var b bytes.Buffer
	if err := WriteIRSN(&b, evs[0]); err != nil {
		fmt.Println(err)
	}
	fmt.Print(strings.Join(strings.SplitAfter(b.String(), "\n")[:2], ""))
	// Output:
	// numero,date_examen,sexe,age_ans,poids_kg,taille_cm,pds_mGy.cm2
	// 1,2025-05-01,,50,70,172,120
}
