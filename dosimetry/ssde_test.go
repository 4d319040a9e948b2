package dosimetry

import (
	"strings"
	"testing"
	"time"

	"vigie/ledger"
)

// TestSSDEFitMatchesReportTables: the shipped fit gives back the
// conversion factors of AAPM Report 204 Tables 1D (32 cm) and 2D (16 cm),
// as printed to two decimals.
func TestSSDEFitMatchesReportTables(t *testing.T) {
	c := DefaultSSDE()
	for _, tc := range []struct {
		fit  SSDEFit
		dcm  float64
		want float64
	}{
		{c.Body, 8, 2.76}, {c.Body, 20, 1.78}, {c.Body, 30, 1.23}, {c.Body, 40, 0.85}, {c.Body, 45, 0.71},
		{c.Head, 6, 1.49}, {c.Head, 16, 1.01}, {c.Head, 30, 0.59}, {c.Head, 55, 0.22},
	} {
		f, ok := tc.fit.Factor(tc.dcm)
		if !ok || abs(f-tc.want) > 0.005 {
			t.Errorf("f(%v cm, a=%v) = %v (%v), want %v ± 0.005", tc.dcm, tc.fit.A, f, ok, tc.want)
		}
	}
	for _, d := range []float64{7.9, 45.1, 0, -1} {
		if _, ok := c.Body.Factor(d); ok {
			t.Errorf("32 cm fit extrapolated to %v cm", d)
		}
	}
}

func TestSSDEEvent(t *testing.T) {
	c := DefaultSSDE()
	head16 := code("113690", "DCM", "IEC Head Dosimetry Phantom")
	withWED := func(ev ledger.CTEvent, mm float64) ledger.CTEvent {
		ev.WED = q(mm, ledger.DimLength)
		return ev
	}
	noPhantom := ctEv("e", "", abdomen, spiralType, 10, 400)
	noPhantom.Phantom = ledger.Code{}
	for _, tc := range []struct {
		name   string
		ev     ledger.CTEvent
		want   float64 // 0: no estimate
		reason string
	}{
		{"body, reported Dw 30 cm", withWED(ctEv("e", "", abdomen, spiralType, 10, 400), 300), 12.312, ""},
		{"head phantom", withWED(ledger.CTEvent{CTDIvol: q(50, ledger.DimDose), Phantom: head16}, 160), 50 * 1.0086, ""},
		{"scout", withWED(ctEv("e", "", abdomen, scoutType, 0.2, 3), 300), 0, ssdeScout},
		{"no diameter", ctEv("e", "", abdomen, spiralType, 10, 400), 0, ssdeNoDiameter},
		{"no phantom", withWED(noPhantom, 300), 0, ssdeNoPhantom},
		{"out of the tables", withWED(ctEv("e", "", abdomen, spiralType, 10, 400), 480), 0, ssdeOutOfRange},
		{"no CTDIvol", ledger.CTEvent{Phantom: body32}, 0, ssdeNoCTDI},
	} {
		got := c.Event(&tc.ev, 40, true)
		if tc.want == 0 {
			if got.Estimated() || got.Reason != tc.reason {
				t.Errorf("%s: SSDE %v reason %q, want none (%q)", tc.name, got.SSDE, got.Reason, tc.reason)
			}
			continue
		}
		if abs(got.SSDE-tc.want) > 0.01*tc.want || got.DiameterFrom != DiameterReported {
			t.Errorf("%s: SSDE %v from %q, want %v from the report", tc.name, got.SSDE, got.DiameterFrom, tc.want)
		}
	}
}

// TestSSDEFromAgeNeedsASourcedTable: no age table is shipped; one loaded
// by the physicist gives SSDE marked as estimated from the age.
func TestSSDEFromAgeNeedsASourcedTable(t *testing.T) {
	ev := ctEv("e", "", abdomen, spiralType, 10, 400)
	if got := DefaultSSDE().Event(&ev, 5, true); got.Estimated() {
		t.Fatalf("an SSDE from the age without a verified table: %+v", got)
	}
	file := strings.Replace(string(defaultSSDEJSON), `"age_table": [],`, `"age_table": [{"below_years": 10, "diameter_cm": 20}],`, 1)
	if _, err := LoadSSDE(strings.NewReader(file)); err == nil {
		t.Fatal("an age table without its source was accepted")
	}
	file = strings.Replace(file, `"age_table_source": ""`, `"age_table_source": "site physicist, from the report"`, 1)
	c, err := LoadSSDE(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	got := c.Event(&ev, 5, true)
	if abs(got.SSDE-17.77) > 0.01 || got.DiameterFrom != DiameterFromAge || !strings.Contains(got.Label(), "d'après l'âge") {
		t.Errorf("5-year-old: %+v %q", got, got.Label())
	}
	if got := c.Event(&ev, 12, true); got.Estimated() {
		t.Errorf("an age beyond the table got an SSDE: %+v", got)
	}
}

// TestHistoryShowsSSDE: the synthesis prints the SSDE beside CTDIvol, and
// says when there is none.
func TestHistoryShowsSSDE(t *testing.T) {
	sized := adult(exam("ct1", "S", "P", "2025-01-02", "CT", ledger.DomainCT), 40, 0, 0)
	ev := ctEv("e1", "Abdomen", abdomen, spiralType, 10, 400)
	ev.WED = q(300, ledger.DimLength)
	sized.CT = &ledger.CTDose{Events: []ledger.CTEvent{ctEv("e0", "Topo", abdomen, scoutType, 0.1, 2), ev}}
	unsized := adult(exam("ct2", "S", "P", "2025-01-01", "CT", ledger.DomainCT), 40, 0, 0)
	unsized.CT = &ledger.CTDose{Events: []ledger.CTEvent{ctEv("e2", "Abdomen", abdomen, spiralType, 10, 400)}}
	doc := NewHistoryDocument(PatientBlock{BirthName: "X"}, []ledger.Entry{entry(sized), entry(unsized)}, nil, nil, DefaultCoefficients(), time.Now())
	var b strings.Builder
	if err := doc.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SSDE max", "12,31 mGy", NoSSDE} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("history text lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := doc.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "<td class=\"n\">12,31 mGy</td>") {
		t.Errorf("history HTML lacks the SSDE")
	}
}
