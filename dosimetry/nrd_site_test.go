package dosimetry

import (
	"strings"
	"testing"

	"vigie"
	"vigie/ledger"
)

// ctThoraxSurvey is 30 adults' thorax CT helices at a CTDIvol of 10 mGy
// and a DLP of 400 mGy.cm.
func ctThoraxSurvey() Entries {
	var es Entries
	for i := range 30 {
		x := adult(exam("ct"+string(rune('a'+i)), "CHU", "p"+string(rune('a'+i)), "2025-04-02", "CT", ledger.DomainCT), 40, 70, 1.7)
		x.Procedure = "Thorax"
		x.CT = &ledger.CTDose{Events: []ledger.CTEvent{ctEv("h"+x.SOPInstanceUID, "Thorax", chest, spiralType, 10, 400)}}
		es = append(es, entry(x))
	}
	return es
}

// TestNoNRDIsSaid: an exam type the table has no figure for says so in
// every statistic, never a silent gap.
func TestNoNRDIsSaid(t *testing.T) {
	for _, c := range []struct {
		name string
		nrd  func() *NRDTable
		note string
	}{
		{"entry without figure", DefaultNRD, NoNRD + " : non livré : valeur non vérifiée"},
		{"no entry at all", func() *NRDTable {
			n := DefaultNRD()
			n.Entries = n.Entries[:1]
			return n
		}, NoNRD},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := evalOne(t, &Evaluator{Types: DefaultTable(), NRD: c.nrd()}, ctThoraxSurvey(), Query{})
			if len(e.Stats) != 2 {
				t.Fatalf("%d statistics, want CTDIvol and DLP", len(e.Stats))
			}
			for _, s := range e.Stats {
				if s.NRD != nil || !strings.HasPrefix(s.Note, c.note) || s.Source != "" || s.AboveNRD {
					t.Errorf("%s: nrd %v, note %q, source %q; want the note to start %q", s.Indicator, s.NRD, s.Note, s.Source, c.note)
				}
			}
		})
	}
	// A shipped figure names its source and carries no such note.
	e := evalOne(t, &Evaluator{Types: DefaultTable(), NRD: DefaultNRD()}, survey(30, 40, 70), Query{})
	if s := e.Stats[0]; s.Note != "" || s.Source != "Décision ASN n° 2019-DC-0667, annexe 2, tableau 2.1" {
		t.Errorf("thorax PA: note %q, source %q", s.Note, s.Source)
	}
}

// TestSiteFileCompletesTable: a site's file adds a figure the shipped
// table lacks, the evaluation uses it and cites the site's file; the
// shipped figures stay, and a file replacing one is cited in its place.
func TestSiteFileCompletesTable(t *testing.T) {
	site := `{"source":{"decision":""},"entries":[
	 {"exam_type":"ct_thorax","population":"adult","indicator":"dlp","unit":"mGy.cm","nrd":350,"vgd":null,"source":"valeur locale du service"},
	 {"exam_type":"rx_thorax_pa","population":"adult","indicator":"pds","unit":"mGy.cm2","nrd":180,"vgd":140}]}`
	nrd, err := DefaultNRD().WithSiteFile(strings.NewReader(site), "nrd_site.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(nrd.Entries) != len(DefaultNRD().Entries) {
		t.Errorf("%d entries, want the shipped %d (both replaced in place)", len(nrd.Entries), len(DefaultNRD().Entries))
	}
	ev := &Evaluator{Types: DefaultTable(), NRD: nrd}
	e := evalOne(t, ev, ctThoraxSurvey(), Query{})
	for _, s := range e.Stats {
		switch s.Indicator {
		case IndDLP:
			if s.NRD == nil || *s.NRD != 350 || !s.AboveNRD || s.Note != "" || s.Source != "fichier du site nrd_site.json (valeur locale du service)" {
				t.Errorf("DLP: nrd %v above %v note %q source %q; want 350 from the site's file, median 400 above", s.NRD, s.AboveNRD, s.Note, s.Source)
			}
		case IndCTDIvol:
			if s.NRD != nil || !strings.HasPrefix(s.Note, NoNRD) {
				t.Errorf("CTDIvol: nrd %v note %q; the site gave none", s.NRD, s.Note)
			}
		}
	}
	rx := evalOne(t, ev, survey(30, 40, 70), Query{})
	if s := rx.Stats[0]; s.NRD == nil || *s.NRD != 180 || s.Source != "fichier du site nrd_site.json" {
		t.Errorf("thorax PA: nrd %v source %q; want 180 from the site's file", s.NRD, s.Source)
	}
	if n := DefaultNRD(); *n.Entries[0].NRD != 200 {
		t.Error("the site's file changed the shipped table")
	}
	lat := nrd.entries("rx_thorax_lat", Adult)
	if len(lat) != 1 || *lat[0].NRD != 550 || lat[0].Cited(nrd) != "Décision ASN n° 2019-DC-0667, annexe 2, tableau 2.1" {
		t.Errorf("thorax lateral %+v: the shipped figure must stay with its source", lat)
	}
	// The site's file is checked like the table: a bad unit is refused.
	_, err = DefaultNRD().WithSiteFile(strings.NewReader(`{"entries":[{"exam_type":"ct_thorax","population":"adult","indicator":"dlp","unit":"mGy","nrd":3}]}`), "bad.json")
	if vigie.ErrorCode(err) != vigie.EINVALID || !strings.Contains(err.Error(), "bad.json") || !strings.Contains(err.Error(), "entries[0].unit") {
		t.Errorf("bad unit: %v", err)
	}
}
