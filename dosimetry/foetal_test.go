package dosimetry

import (
	"context"
	"errors"
	"strings"
	"testing"
	"vigie"

	"vigie/ledger"
)

func TestFoetalEstimate(t *testing.T) {
	c := DefaultFoetal()
	regions := DefaultCoefficients().TargetRegions
	head := code("T-D1100", "SRT", "Head")
	ct := func(evs ...ledger.CTEvent) ledger.Exam {
		x := exam("ct", "S", "P", "2025-01-01", "CT", ledger.DomainCT)
		x.CT = &ledger.CTDose{Events: evs}
		return x
	}
	nm := func(pharma, nuclide string, mbq float64) ledger.Exam {
		x := exam("nm", "S", "P", "2025-01-01", "NM", ledger.DomainNM)
		x.NM = &ledger.NMDose{Administrations: []ledger.Administration{{UID: "a1",
			Radiopharmaceutical: code("x", "SRT", pharma), Radionuclide: code("y", "SRT", nuclide), Activity: q(mbq, ledger.DimActivity)}}}
		return x
	}
	for _, tc := range []struct {
		name    string
		x       ledger.Exam
		examReg string
		lo, hi  float64
		reason  string // a substring of the reason (exam without an estimate, or partial)
	}{
		{"abdomen: in the beam", ct(ctEv("e1", "Abdo", abdomen, spiralType, 10, 400)), "", 5.7, 10, ""},
		{"chest, abdomen and pelvis, two passes", ct(ctEv("e1", "TAP", cap, spiralType, 10, 600), ctEv("e2", "TAP", cap, spiralType, 8, 500)), "", 0.57 * 18, 18, ""},
		{"chest: near the beam", ct(ctEv("e1", "Thorax", chest, spiralType, 10, 350)), "", 0.1, 0.5, ""},
		{"head: out of the source's data", ct(ctEv("e1", "Crâne", head, spiralType, 50, 800)), "", 0, 0, "région éloignée"},
		{"unmapped code, exam type says abdomen", ct(ctEv("e1", "X", code("ZZ", "99X", "?"), spiralType, 10, 400)), "abdomen_pelvis", 5.7, 10, ""},
		{"unmapped code, no exam type", ct(ctEv("e1", "X", code("ZZ", "99X", "?"), spiralType, 10, 400)), "", 0, 0, "inconnue"},
		{"abdomen and head: partial", ct(ctEv("e1", "Abdo", abdomen, spiralType, 10, 400), ctEv("e2", "Crâne", head, spiralType, 50, 800)), "", 5.7, 10, "partielle"},
		{"pertechnetate 100 MBq, stage unknown", nm("Sodium pertechnetate", "^99m^Technetium", 100), "", 0.93, 2.2, ""},
		{"FDG: no verified coefficient", nm("Fluorodeoxyglucose F^18^", "^18^Fluorine", 300), "", 0, 0, "pas de coefficient"},
		{"projection", exam("dx", "S", "P", "2025-01-01", "DX", ledger.DomainProjection), "", 0, 0, "projection"},
	} {
		f := c.Estimate(&tc.x, regions, tc.examReg)
		if abs(f.LowmGy-tc.lo) > 1e-9+1e-6*tc.lo || abs(f.HighmGy-tc.hi) > 1e-9+1e-6*tc.hi {
			t.Errorf("%s: %v–%v mGy, want %v–%v (%s)", tc.name, f.LowmGy, f.HighmGy, tc.lo, tc.hi, f.Reason)
		}
		if tc.reason != "" && !strings.Contains(f.Reason, tc.reason) {
			t.Errorf("%s: reason %q, want it to say %q", tc.name, f.Reason, tc.reason)
		}
		if tc.reason == "" && f.Reason != "" {
			t.Errorf("%s: unexpected reason %q", tc.name, f.Reason)
		}
		if f.Estimated() && f.Source == "" {
			t.Errorf("%s: an estimate without its source", tc.name)
		}
	}
}

func TestLoadFoetalRefusesUnsourcedOrBadCoefficients(t *testing.T) {
	good := string(defaultFoetalJSON)
	for name, bad := range map[string]string{
		"no CT source":        strings.Replace(good, `"source": "Fetal radiation dose`, `"source": "", "x": "`, 1),
		"high below low":      strings.Replace(good, `"low": 0.57, "high": 1.0`, `"low": 0.57, "high": 0.5`, 1),
		"a stage missing":     strings.Replace(good, `"9_months": 0.0093`, `"9_monthz": 0.0093`, 1),
		"coefficient above 1": strings.Replace(good, `"early": 0.011`, `"early": 11`, 1),
	} {
		if _, err := LoadFoetal(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestFoetalAndSkinRules: the rules fire on the high bound, for a
// pregnant patient only, and a repeated event counts once.
func TestFoetalAndSkinRules(t *testing.T) {
	preg := func(x ledger.Exam, status string) ledger.Exam { x.Patient.Pregnancy = status; return x }
	abdo := exam("ct", "S", "P", "2025-01-01", "CT", ledger.DomainCT)
	abdo.CT = &ledger.CTDose{Events: []ledger.CTEvent{ctEv("e1", "Abdo", abdomen, spiralType, 12, 400), ctEv("e2", "Abdo", abdomen, spiralType, 9, 300)}}
	cont := preg(abdo, ledger.PregnancyYes)
	cont.SOPInstanceUID = "ct-continued" // repeats both events
	xa := exam("xa", "S", "P", "2025-01-01", "XA", ledger.DomainProjection)
	xa.Projection = &ledger.ProjectionDose{Events: []ledger.ProjectionEvent{pa("a", 2000, 0, 0, 0), pa("b", 1500, 0, 0, 0)}}
	cfg := only(func(c *AlertConfig) { c.FoetalDosemGy, c.SkinDosemGy = 20, 3000 })
	for _, tc := range []struct {
		name string
		es   []ledger.Entry
		want string
	}{
		{"pregnant, 21 mGy in the beam", []ledger.Entry{entry(preg(abdo, ledger.PregnancyYes))}, AlertFoetalDose},
		{"possibly pregnant", []ledger.Entry{entry(preg(abdo, ledger.PregnancyPossible))}, AlertFoetalDose},
		{"not pregnant", []ledger.Entry{entry(preg(abdo, ledger.PregnancyNo))}, ""},
		{"status unknown", []ledger.Entry{entry(abdo)}, ""},
		{"continued report repeats the events", []ledger.Entry{entry(preg(abdo, ledger.PregnancyYes)), entry(cont)}, AlertFoetalDose},
		{"3.5 Gy at the reference point on one field", []ledger.Entry{entry(xa)}, AlertSkinDose},
	} {
		as := check(t, scanner(cfg), tc.es...)
		got := ""
		for _, a := range as {
			if a.Kind == AlertFoetalDose || a.Kind == AlertSkinDose {
				if got != "" {
					t.Errorf("%s: two alerts", tc.name)
				}
				got = a.Kind
				if a.Kind == AlertFoetalDose && (a.Value != 21 || !a.Estimate) {
					t.Errorf("%s: foetal alert value %v (estimate %v), want 21 (once per event)", tc.name, a.Value, a.Estimate)
				}
				if a.Kind == AlertSkinDose && (a.Attachment != AttachmentSkinMap || len(a.attachment) == 0) {
					t.Errorf("%s: skin alert without its map", tc.name)
				}
			}
		}
		if got != tc.want {
			t.Errorf("%s: alert %q, want %q (%s)", tc.name, got, tc.want, kinds(as))
		}
	}
	// Below the levels: nothing.
	high := only(func(c *AlertConfig) { c.FoetalDosemGy, c.SkinDosemGy = 22, 6000 })
	if as := check(t, scanner(high), entry(preg(abdo, ledger.PregnancyYes)), entry(xa)); len(as) != 0 {
		t.Errorf("below the levels: %s", kinds(as))
	}
}

// TestFoetalRuleDeclaredPregnancy: a pregnancy declared outside the DICOM
// header raises the foetal alert, and declarations that cannot be read
// fail the scan instead of being taken for none.
func TestFoetalRuleDeclaredPregnancy(t *testing.T) {
	abdo := exam("ct", "S", "P", "2025-01-01", "CT", ledger.DomainCT)
	abdo.CT = &ledger.CTDose{Events: []ledger.CTEvent{ctEv("e1", "Abdo", abdomen, spiralType, 12, 400), ctEv("e2", "Abdo", abdomen, spiralType, 9, 300)}}
	cfg := only(func(c *AlertConfig) { c.FoetalDosemGy = 20 })
	unreadable := errors.New("store closed")
	for _, tc := range []struct {
		name     string
		pregnant func(vigie.SourceKey, string) (bool, error)
		want     int // foetal alerts; -1: the scan fails
	}{
		{"declared", func(vigie.SourceKey, string) (bool, error) { return true, nil }, 1},
		{"not declared", func(vigie.SourceKey, string) (bool, error) { return false, nil }, 0},
		{"unreadable", func(vigie.SourceKey, string) (bool, error) { return false, unreadable }, -1},
	} {
		s := scanner(cfg)
		s.Pregnant = tc.pregnant
		as, err := s.Check(context.Background(), Entries([]ledger.Entry{entry(abdo)}), ScanQuery{}, nil)
		if tc.want < 0 {
			if !errors.Is(err, unreadable) {
				t.Errorf("%s: %v, want the read error", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		n := 0
		for _, a := range as {
			if a.Kind == AlertFoetalDose {
				n++
			}
		}
		if n != tc.want {
			t.Errorf("%s: %d foetal alerts, want %d (%s)", tc.name, n, tc.want, kinds(as))
		}
	}
}
