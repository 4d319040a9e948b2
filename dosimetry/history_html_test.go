package dosimetry

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"vigie/ledger"
)

func TestHistoryHTML(t *testing.T) {
	ct := ctWith("ct1", "p", "2025-02-03", "Scanner TAP", body32, 12, 1000)
	ct2 := ctWith("ct2", "p", "2025-03-04", "Thorax^Thorax_NON_CON (Adult)", body32, 8, 450.5)
	ir := fluoro("ir1", 1234.5, 80)
	ir.Exam.Procedure = "Coronarographie <urgente>"
	ir.Exam.Projection.FluoroTime = q(600, ledger.DimTime)
	ir.Exam.Date = "2025-01-10"
	ir.Counted, ir.Reported = ir.Exam.Totals(), ir.Exam.Totals()
	nm := entry(exam("nm1", "CH2", "q", "2025-04-01", "PT", ledger.DomainNM))
	nm.Exam.Procedure = "TEP FDG"
	nm.Exam.NM = &ledger.NMDose{Administrations: []ledger.Administration{{Radiopharmaceutical: code("C-B1031", "SRT", "Fluorodeoxyglucose F^18^"), Activity: q(250, ledger.DimActivity)}}}
	nm.Counted, nm.Reported = nm.Exam.Totals(), nm.Exam.Totals()
	es := []ledger.Entry{ir, ct, ct2, nm}
	doc := NewHistoryDocument(PatientBlock{Name: "DUPONT <script>alert(1)</script> Élise", BirthDate: "1950-06-15", Sex: "F"},
		es, DefaultTable(), DefaultCoefficients(), time.Date(2025, 5, 1, 10, 30, 0, 0, time.UTC))
	doc.SiteNames = map[string]string{"CH2": "CH de Périgueux <Dordogne>"}
	var b bytes.Buffer
	if err := doc.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	// 1000 × 0.015 + 450.5 × 0.014 + 80 × 0.30 = 15 + 6.307 + 24 = 45.307 mSv
	for _, want := range []string{
		"DUPONT &lt;script&gt;alert(1)&lt;/script&gt; Élise",
		"15/06/1950", "Féminin",
		ledger.HistoryWarning[:60],
		"Scanographie", "1\u202f000", "450,5", "1\u202f450,5", // CT rows and cumulative DLP
		"Coronarographie &lt;urgente&gt;", "8\u202f000", "1\u202f234,5", ">10<", // DAP 80 Gy.cm² = 8 000 cGy.cm², kerma, 10 min
		"Fluorodeoxyglucose F^18^", ">250<", "CH de Périgueux &lt;Dordogne&gt;", "<td>CHU</td>",
		"45,31 mSv (estimation)", "AAPM Report No. 96", "Brambilla",
		"@media print",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("history HTML lacks %q", want)
		}
	}
	if strings.Contains(html, "<script>alert") || strings.Contains(html, "<urgente>") {
		t.Error("a name or description is not escaped")
	}
	if doc.Totals.CTDLPmGycm != 1450.5 || !near(doc.Estimate.MSv, 45.307) {
		t.Errorf("totals %+v, estimate %v", doc.Totals, doc.Estimate.MSv)
	}
}

func TestFrNum(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 1.5: "1,5", 1234567.891: "1\u202f234\u202f567,89", -2500: "-2\u202f500", 999: "999"} {
		if got := frNum(v); got != want {
			t.Errorf("frNum(%v) = %q, want %q", v, got, want)
		}
	}
}

func ExampleHistoryDocument_WriteHTML() {
	ct := ctWith("1.2.3", "p", "2025-02-03", "Scanner TAP", body32, 12, 800)
	doc := NewHistoryDocument(PatientBlock{Name: "MARTIN Jeanne", BirthDate: "1948-11-02", Sex: "F"},
		[]ledger.Entry{ct}, DefaultTable(), DefaultCoefficients(), time.Date(2025, 5, 1, 10, 30, 0, 0, time.UTC))
	var b bytes.Buffer
	if err := doc.WriteHTML(&b); err != nil {
		fmt.Println(err)
		return
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.Contains(line, "<h1>") || strings.Contains(line, "(estimation)") {
			fmt.Println(strings.TrimSpace(line))
		}
	}
	// Output:
	// <h1>Historique dosimétrique du patient</h1>
	// <p><strong>12 mSv (estimation)</strong> pour les examens de scanographie (PDL × coefficient k de la région) et de radiologie interventionnelle (PDS × coefficient de la région).</p>
}
