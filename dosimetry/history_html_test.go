package dosimetry

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"vigie/ledger"
	"vigie/sites"
)

// historyFixture is a patient with one exam of each family, the CT twice
// (newest first), a mammography without a right-breast figure, at a
// registered site (CH2) and an unregistered one (CHU).
func historyFixture() (*HistoryDocument, sites.Names) {
	ct := ctWith("ct1", "p", "2025-02-03", "Scanner TAP", body32, 12, 1000)
	ct2 := ctWith("ct2", "p", "2025-03-04", "Thorax^Thorax_NON_CON (Adult)", body32, 8, 450.5)
	ir := fluoro("ir1", 1234.5, 80) // DAP 80 Gy.cm² = 8 000 cGy.cm²
	ir.Exam.Procedure = "Coronarographie <urgente>"
	ir.Exam.Projection.FluoroTime = q(600, ledger.DimTime)
	ir.Exam.Date = "2025-01-10"
	ir.Counted, ir.Reported = ir.Exam.Totals(), ir.Exam.Totals()
	nm := entry(exam("nm1", "CH2", "q", "2025-04-01", "PT", ledger.DomainNM))
	nm.Exam.Procedure = "TEP FDG"
	nm.Exam.NM = &ledger.NMDose{Administrations: []ledger.Administration{{Radiopharmaceutical: code("C-B1031", "SRT", "Fluorodeoxyglucose F^18^"),
		Radionuclide: code("C-111A1", "SRT", "^18^Fluorine"), Activity: q(250, ledger.DimActivity)}}}
	nm.Counted, nm.Reported = nm.Exam.Totals(), nm.Exam.Totals()
	mg := entry(exam("mg1", "CH2", "q", "2024-11-20", "MG", ledger.DomainMammography))
	mg.Exam.Procedure = "Mammographie gauche"
	mg.Exam.Mammography = &ledger.MammographyDose{AGDLeft: q(1.25, ledger.DimDose)}
	mg.Counted, mg.Reported = mg.Exam.Totals(), mg.Exam.Totals()
	names := sites.Names{"CH2": "CH de Périgueux <Dordogne>"}
	doc := NewHistoryDocument(PatientBlock{BirthName: "DUPONT <script>alert(1)</script>", UsedName: "MARTIN", FirstNames: "Élise", BirthDate: "1950-06-15", Sex: "F"},
		[]ledger.Entry{ir, ct, ct2, nm, mg}, names, DefaultTable(), DefaultCoefficients(), time.Date(2025, 5, 1, 10, 30, 0, 0, time.UTC))
	return doc, names
}

func TestHistoryHTML(t *testing.T) {
	doc, _ := historyFixture()
	var b bytes.Buffer
	if err := doc.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	// 1000 × 0.015 + 450.5 × 0.014 + 80 × 0.30 + 250 × 0.019 = 15 + 6.307 + 24 + 4.75 = 50.057 mSv
	for _, want := range []string{
		"MARTIN (née DUPONT &lt;script&gt;alert(1)&lt;/script&gt;)", "Élise",
		"15/06/1950", "Féminin",
		"Cet historique n&#39;est pas exhaustif",
		TitleRadiology, TitleCT, TitleNM, TitleMammography,
		"<dt>PDL total (mGy.cm)</dt><dd>1\u202f450,5</dd>", "<dt>IDSV total (mGy)</dt><dd>20</dd>", // CT section figures
		"<td>04/03/2025</td><td>Thorax^Thorax_NON_CON (Adult)</td>", "450,5",
		"Coronarographie &lt;urgente&gt;", "<dt>PDS total (cGy.cm²)</dt><dd>8\u202f000</dd>", "1\u202f234,5", "<dt>Temps total de scopie (min)</dt><dd>10</dd>",
		"<td>FDG / F 18</td><td class=\"n\">250</td>", "<dt>Activité totale (MBq) — FDG / F 18</dt><dd>250</dd>",
		"CH de Périgueux &lt;Dordogne&gt;", "<td>" + sites.Unknown + "</td>",
		"<dt>Sein droit (mGy)</dt><dd></dd>", "<td class=\"n\"></td><td class=\"n\">1,25</td>", // no right-breast figure: blank
		"50,06 mSv (estimation)", "AAPM Report No. 96", "Walker R.C.",
		// 250 MBq of FDG, age unknown: 250 × 0.019 = 4.75 mSv, bladder 250 × 0.16 = 40 mGy
		"<td>4,75 mSv (adulte) — âge inconnu : coefficients adulte</td><td>vessie : 40 mGy</td>",
		"@media print", "class=\"running\"",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("history HTML lacks %q", want)
		}
	}
	for _, bad := range []string{"<script>alert", "<urgente>", "F^18^", ">CHU<", ">0<", "1.2.250"} {
		if strings.Contains(html, bad) {
			t.Errorf("history HTML holds %q (unescaped text, raw markup, an OID or a zero for a missing figure)", bad)
		}
	}
	// Newest first: the March CT before the February one.
	if i, j := strings.Index(html, "04/03/2025"), strings.Index(html, "03/02/2025"); i < 0 || j < 0 || i > j {
		t.Errorf("CT rows not newest first (%d, %d)", i, j)
	}
	if !near(doc.History.Totals.DLPmGycm, 1450.5) || !near(doc.Estimate.MSv, 50.057) {
		t.Errorf("totals %+v, estimate %v", doc.History.Totals, doc.Estimate.MSv)
	}
	// The warning comes before the patient block, which comes before the
	// first section.
	if w, p, s := strings.Index(html, `id="warning"`), strings.Index(html, `id="patient"`), strings.Index(html, `id="radiology"`); !(w < p && p < s) {
		t.Errorf("order warning %d, patient %d, first section %d", w, p, s)
	}
}

func TestHistoryText(t *testing.T) {
	doc, _ := historyFixture()
	var b bytes.Buffer
	if err := doc.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	txt := b.String()
	for _, want := range []string{
		"Avertissement : Cet historique n'est pas exhaustif",
		"Nom : MARTIN (née DUPONT <script>alert(1)</script>)", "Prénom(s) : Élise", "Date de naissance : 15/06/1950", "Sexe : Féminin",
		TitleRadiology + "\n  PDS total (cGy.cm²) : 8\u202f000\n  Kerma dans l'air total (mGy) : 1\u202f234,5\n  Temps total de scopie (min) : 10\n",
		TitleCT + "\n  PDL total (mGy.cm) : 1\u202f450,5\n  IDSV total (mGy) : 20\n",
		TitleNM + "\n  Activité totale (MBq) : 250\n", "FDG / F 18", "4,75 mSv (adulte) — âge inconnu : coefficients adulte  vessie : 40 mGy",
		TitleMammography + "\n  Dose glandulaire moyenne cumulée totale (mGy) : 1,25\n  Sein droit (mGy) : \n  Sein gauche (mGy) : 1,25\n",
		"CH de Périgueux <Dordogne>", sites.Unknown, "04/03/2025",
	} {
		if !strings.Contains(txt, want) {
			t.Errorf("history text lacks %q", want)
		}
	}
	for _, bad := range []string{"F^18^", "1.2.250", " CHU ", "2025-03-04"} {
		if strings.Contains(txt, bad) {
			t.Errorf("history text holds %q", bad)
		}
	}
	if strings.Index(txt, "Avertissement") > strings.Index(txt, "Nom :") {
		t.Error("the warning must come first")
	}
}

// TestActivitiesNeverAdded: two isotopes are written side by side.
func TestActivitiesNeverAdded(t *testing.T) {
	for _, c := range []struct {
		in   []ledger.Activity
		want string
	}{
		{nil, ""},
		{[]ledger.Activity{{Radiopharmaceutical: "FDG", Radionuclide: "F 18", MBq: 250.5}}, "250,5"},
		{[]ledger.Activity{{Radiopharmaceutical: "FDG", Radionuclide: "F 18", MBq: 250}, {Radiopharmaceutical: "MIBI", Radionuclide: "Tc 99m", MBq: 700}},
			"FDG / F 18 : 250 ; MIBI / Tc 99m : 700"},
	} {
		if got := ActivitiesText(c.in); got != c.want {
			t.Errorf("ActivitiesText(%v) = %q, want %q", c.in, got, c.want)
		}
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
	doc := NewHistoryDocument(PatientBlock{BirthName: "MARTIN", FirstNames: "Jeanne", BirthDate: "1948-11-02", Sex: "F"},
		[]ledger.Entry{ct}, nil, DefaultTable(), DefaultCoefficients(), time.Date(2025, 5, 1, 10, 30, 0, 0, time.UTC))
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
	// <h1>Historique dosimétrique</h1>
	// <p><strong>12 mSv (estimation)</strong> pour les examens de scanographie (PDL × coefficient k de la région), de radiologie interventionnelle (PDS × coefficient de la région) et de médecine nucléaire (activité administrée × coefficient publié du radiopharmaceutique, à l'âge de référence indiqué dans le tableau).</p>
}

// TestHistoryHTMLAccessCode: a patient access code given to the document
// is printed in its box after the patient block, with its expiry; without
// one there is no box.
func TestHistoryHTMLAccessCode(t *testing.T) {
	for _, tc := range []struct {
		name string
		code *PatientCode
		want []string
	}{
		{"none", nil, nil},
		{"code", &PatientCode{Code: "K7QF-M2XD-93TB", Expires: time.Date(2025, 5, 4, 10, 30, 0, 0, time.UTC)},
			[]string{`id="access-code"`, "Code d'accès patient", `<p class="code">K7QF-M2XD-93TB</p>`, "Valable jusqu'au 04/05/2025 à 10h30", "À remettre au patient"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, _ := historyFixture()
			doc.AccessCode = tc.code
			var b bytes.Buffer
			if err := doc.WriteHTML(&b); err != nil {
				t.Fatal(err)
			}
			html := b.String()
			if has := strings.Contains(html, `id="access-code"`); has != (tc.code != nil) {
				t.Fatalf("access code box present %v, want %v", has, tc.code != nil)
			}
			for _, w := range tc.want {
				if !strings.Contains(html, w) {
					t.Errorf("history HTML lacks %q", w)
				}
			}
			if tc.code != nil {
				if p, c, s := strings.Index(html, `id="patient"`), strings.Index(html, `id="access-code"`), strings.Index(html, `id="radiology"`); !(p < c && c < s) {
					t.Errorf("order patient %d, code %d, first section %d", p, c, s)
				}
			}
		})
	}
}
