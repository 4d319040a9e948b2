package dosimetry

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"testing"

	"vigie"
	"vigie/ledger"
)

// TestWriteIRSNPerFamily asserts, for one survey of each exam family, the
// header and every field of the first exported row: column names and
// order, unit in the column name, '.' decimal point and rounding, the
// patient fields (sex, age, weight, height) and the family's own column.
func TestWriteIRSNPerFamily(t *testing.T) {
	mammo := func(sop, site, pat, date string) ledger.Exam {
		x := exam(sop, site, pat, date, "MG", ledger.DomainMammography)
		x.Procedure = "Mammographie bilatérale"
		x.Mammography = &ledger.MammographyDose{Events: []ledger.MammographyEvent{
			{UID: sop + "a", Laterality: "R", AGD: q(1.2, ledger.DimDose), Thickness: q(50, ledger.DimLength)},
			{UID: sop + "b", Laterality: "L", AGD: q(1.45, ledger.DimDose), Thickness: q(55, ledger.DimLength)},
		}}
		return x
	}
	ct := func(sop, site, pat, date string) ledger.Exam {
		x := exam(sop, site, pat, date, "CT", ledger.DomainCT)
		x.Procedure = "Thorax"
		x.CT = &ledger.CTDose{Events: []ledger.CTEvent{ctEv(sop+"h", "Thorax", chest, spiralType, 8.256, 301.54)}}
		return x
	}
	ir := func(sop, site, pat, date string) ledger.Exam {
		x := exam(sop, site, pat, date, "XA", ledger.DomainProjection)
		x.Procedure = "Coronarographie"
		x.Projection = &ledger.ProjectionDose{DAPTotal: q(25.5/1e4, ledger.DimDAP), RPTotal: q(450, ledger.DimDose), FluoroTime: q(330, ledger.DimTime)}
		return x
	}
	nm := func(sop, site, pat, date string) ledger.Exam {
		x := exam(sop, site, pat, date, "PT", ledger.DomainNM)
		x.Procedure = "TEP FDG corps entier"
		x.NM = &ledger.NMDose{Administrations: []ledger.Administration{{Activity: q(241.26, ledger.DimActivity),
			Radiopharmaceutical: code("C-B1031", "SRT", "Fluorodeoxyglucose F^18^")}}}
		return x
	}
	rx := func(sop, site, pat, date string) ledger.Exam { return thoraxPA(sop, site, pat, date, 120.04) }
	cases := []struct {
		family   Kind
		examType string
		make     func(sop, site, pat, date string) ledger.Exam
		header   []string
		row      []string
	}{
		{KindRadiography, "rx_thorax_pa", rx,
			[]string{"numero", "date_examen", "sexe", "age_ans", "poids_kg", "taille_cm", "pds_mGy.cm2"},
			[]string{"1", "2025-05-01", "F", "50", "70.5", "172", "120.04"}},
		{KindMammography, "mg_mammographie", mammo,
			[]string{"numero", "date_examen", "sexe", "age_ans", "poids_kg", "taille_cm", "agd_mGy", "epaisseur_sein_mm"},
			[]string{"1", "2025-05-01", "F", "50", "70.5", "172", "1.325", "53"}},
		{KindCT, "ct_thorax", ct,
			[]string{"numero", "date_examen", "sexe", "age_ans", "poids_kg", "taille_cm", "ctdivol_mGy", "dlp_mGy.cm", "fantome_cm"},
			[]string{"1", "2025-05-01", "F", "50", "70.5", "172", "8.256", "301.54", "32"}},
		{KindInterventional, "ir_coronarographie", ir,
			[]string{"numero", "date_examen", "sexe", "age_ans", "poids_kg", "taille_cm", "pds_Gy.cm2", "kar_mGy", "fluoro_time_min"},
			[]string{"1", "2025-05-01", "F", "50", "70.5", "172", "25.5", "450", "5.5"}},
		{KindNM, "nm_tep_fdg", nm,
			[]string{"numero", "date_examen", "sexe", "age_ans", "poids_kg", "taille_cm", "activity_MBq", "radiopharmaceutique"},
			[]string{"1", "2025-05-01", "F", "50", "70.5", "172", "241.26", "Fluorodeoxyglucose F18"}},
	}
	for _, c := range cases {
		t.Run(string(c.family), func(t *testing.T) {
			var es Entries
			for i := range 30 {
				x := adult(c.make(fmt.Sprintf("%s%02d", c.examType, i), "CHU", fmt.Sprintf("p%02d", i), "2025-05-01"), 50, 70.5, 1.72)
				es = append(es, entry(x))
			}
			ev := &Evaluator{Types: DefaultTable(), NRD: DefaultNRD(), Sex: func(vigie.SourceKey) string { return "F" }}
			evs, err := ev.Evaluate(context.Background(), es, Query{Site: "CHU", From: "2025-01-01", To: "2025-12-31"})
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 || evs[0].ExamType != c.examType || evs[0].Kind != c.family || !evs[0].Valid {
				for _, e := range evs {
					t.Logf("%s %s valid=%v %v %v", e.ExamType, e.Kind, e.Valid, e.Reasons, e.Excluded)
				}
				t.Fatalf("%d evaluations, want one valid %s survey", len(evs), c.examType)
			}
			var b bytes.Buffer
			if err := WriteIRSN(&b, evs[0]); err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(&b).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 31 {
				t.Fatalf("%d lines, want a header and 30 patients", len(rows))
			}
			if fmt.Sprint(rows[0]) != fmt.Sprint(c.header) {
				t.Errorf("header\n %q\nwant\n %q", rows[0], c.header)
			}
			for i, want := range c.row {
				if i >= len(rows[1]) || rows[1][i] != want {
					t.Errorf("row 1 field %d (%s) = %q, want %q (row %q)", i, c.header[i], at(rows[1], i), want, rows[1])
				}
			}
			if len(rows[1]) != len(c.header) {
				t.Errorf("row 1 has %d fields, header %d", len(rows[1]), len(c.header))
			}
		})
	}
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "<missing>"
}
