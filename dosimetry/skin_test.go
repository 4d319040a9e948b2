package dosimetry

import (
	"bytes"
	"image/png"
	"math"
	"testing"

	"vigie/ledger"
)

func fp(v float64) *float64 { return &v }

// pa is a posteroanterior event (source under the table) of kRP mGy at the
// reference point: 20 × 20 cm at a detector 110 cm from the source,
// isocentre 75 cm from it.
func pa(uid string, kRP, primary, secondary, tableLong float64) ledger.ProjectionEvent {
	return ledger.ProjectionEvent{UID: uid, RP: q(kRP, ledger.DimDose), Geometry: &ledger.Geometry{
		PrimaryAngle: fp(primary), SecondaryAngle: fp(secondary), FieldArea: fp(400), SourceToIsocenter: fp(750),
		SourceToDetector: fp(1100), KVP: fp(80), TableLongitudinal: fp(tableLong)}}
}

func procedure(evs ...ledger.ProjectionEvent) []*ledger.Entry {
	x := exam("xa1", "S", "P", "2025-03-01", "XA", ledger.DomainProjection)
	x.Projection = &ledger.ProjectionDose{Events: evs}
	e := entry(x)
	return []*ledger.Entry{&e}
}

func TestSkinDoseGeometry(t *testing.T) {
	m := DefaultSkinModel()
	// A PA beam enters the middle of the back, 75 − 11 = 64 cm from the
	// source; the reference point is 60 cm from it.
	bLo, bHi := m.backscatterRange(fp(80), 2*10*(75-11)/110.0)
	isq := (60.0 / 64) * (60.0 / 64)
	for _, tc := range []struct {
		name           string
		evs            []ledger.ProjectionEvent
		wantLo, wantHi float64
		wantCol        float64 // column of the peak, as a fraction of the width
	}{
		{"one PA event", []ledger.ProjectionEvent{pa("a", 1000, 0, 0, 0)}, 1000 * isq * bLo, 1000 * bHi, 0.5},
		{"the same field twice", []ledger.ProjectionEvent{pa("a", 1000, 0, 0, 0), pa("b", 500, 0, 0, 0)}, 1500 * isq * bLo, 1500 * bHi, 0.5},
		{"a repeated event UID counts once", []ledger.ProjectionEvent{pa("a", 1000, 0, 0, 0), pa("a", 1000, 0, 0, 0)}, 1000 * isq * bLo, 1000 * bHi, 0.5},
		{"PA then AP: two skin areas", []ledger.ProjectionEvent{pa("a", 1000, 0, 0, 0), pa("b", 800, 180, 0, 0)}, 1000 * isq * bLo, 1000 * bHi, 0.5},
		{"the table moved 40 cm: two skin areas", []ledger.ProjectionEvent{pa("a", 1000, 0, 0, 0), pa("b", 1000, 0, 0, 400)}, 1000 * isq * bLo, 1000 * bHi, 0.5},
		// LAO 90: the source on the patient's right, 75 − 17 = 58 cm from
		// the skin, nearer than the reference point.
		{"LAO 90 enters the right side", []ledger.ProjectionEvent{pa("a", 1000, 90, 0, 0)},
			1000 * (60.0 / 58) * (60.0 / 58) * lo(m, 2*10*(75-17)/110.0), 1000 * (60.0 / 58) * (60.0 / 58) * hi(m, 2*10*(75-17)/110.0), 0.25},
	} {
		s := m.Estimate(procedure(tc.evs...))
		if math.Abs(s.PeakLowmGy-tc.wantLo) > 0.02*tc.wantLo || math.Abs(s.PeakHighmGy-tc.wantHi) > 0.02*tc.wantHi {
			t.Errorf("%s: peak %v–%v mGy, want %v–%v", tc.name, s.PeakLowmGy, s.PeakHighmGy, tc.wantLo, tc.wantHi)
		}
		if s.PeakLowmGy > s.PeakHighmGy {
			t.Errorf("%s: low bound above high bound", tc.name)
		}
		// The middle of the most exposed cells (the high bound is flat
		// where the skin is farther than the reference point).
		peak := 0.0
		for _, v := range s.Grid {
			peak = max(peak, v)
		}
		var sum, n float64
		for i, v := range s.Grid {
			if v >= 0.999*peak {
				sum += float64(i % s.NPhi)
				n++
			}
		}
		if col := sum / n / float64(s.NPhi); math.Abs(col-tc.wantCol) > 0.05 {
			t.Errorf("%s: peak in column %.2f of the map, want %.2f", tc.name, col, tc.wantCol)
		}
	}
}

func lo(m *SkinModel, fsl float64) float64 { l, _ := m.backscatterRange(fp(80), fsl); return l }
func hi(m *SkinModel, fsl float64) float64 { _, h := m.backscatterRange(fp(80), fsl); return h }

// TestSkinDoseWithoutGeometry: events without geometry are never spread
// out: all their dose is put on one spot of the skin.
func TestSkinDoseWithoutGeometry(t *testing.T) {
	m := DefaultSkinModel()
	bare := ledger.ProjectionEvent{UID: "x", RP: q(1000, ledger.DimDose)}
	s := m.Estimate(procedure(pa("a", 1000, 0, 0, 0), bare))
	_, bHi := m.backscatterRange(nil, 35) // no kVp, the largest field
	one := m.Estimate(procedure(pa("a", 1000, 0, 0, 0)))
	if s.Incomplete != 1 || math.Abs(s.PeakHighmGy-(one.PeakHighmGy+1000*bHi)) > 1e-6 {
		t.Errorf("incomplete event: high %v, want %v + %v", s.PeakHighmGy, one.PeakHighmGy, 1000*bHi)
	}
	if r := m.Estimate(procedure()); r.Estimated() || r.Reason != skinNoEvents {
		t.Errorf("no events: %+v", r)
	}
	ct := entry(exam("ct", "S", "P", "2025-01-01", "CT", ledger.DomainCT))
	if r := m.Estimate([]*ledger.Entry{&ct}); r.Estimated() || r.Reason != skinNotProjection {
		t.Errorf("CT exam: %+v", r)
	}
}

// TestBackscatterFit checks the fit against its own published form at one
// point computed by hand (80 kV, HVL 4 mm Al, 10 cm field:
// (0.929969 + 0.00408549·80 − 1.66271e-5·80²) + (0.153605 − 0.00145187·80
// + 5.05312e-6·80²)·4 + (−0.00932427 + 9.40568e-5·80 − 3.28449e-7·80²)·16).
func TestBackscatterFit(t *testing.T) {
	m := DefaultSkinModel()
	want := (0.929969 + 0.00408549*80 - 1.66271e-5*6400) + (0.153605-0.00145187*80+5.05312e-6*6400)*4 +
		(-0.00932427+9.40568e-5*80-3.28449e-7*6400)*16
	if got := m.backscatter(80, 4, 10); math.Abs(got-want) > 1e-9 || got < 1.2 || got > 1.6 {
		t.Errorf("B(80 kV, 4 mm Al, 10 cm) = %v, want %v", got, want)
	}
	if l, h := m.backscatterRange(fp(80), 10); !(l < want && want < h) {
		t.Errorf("the HVL range %v–%v does not hold the 4 mm value %v", l, h, want)
	}
}

func TestSkinMapPNG(t *testing.T) {
	s := DefaultSkinModel().Estimate(procedure(pa("a", 1000, 0, 0, 0)))
	var b bytes.Buffer
	if err := s.PNG(&b, 3000, 2); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != 2*s.NPhi || h != 2*(s.NZ+3) {
		t.Errorf("map %d×%d, want %d×%d", w, h, 2*s.NPhi, 2*(s.NZ+3))
	}
	// The irradiated back is not the colour of unirradiated skin.
	mid := img.At(s.NPhi, s.NZ) // middle of the back, mid-length
	edge := img.At(0, 0)
	if mid == edge {
		t.Errorf("the irradiated field does not show on the map")
	}
	var none SkinDose
	if err := none.PNG(&b, 0, 1); err == nil {
		t.Errorf("a map without a grid was drawn")
	}
}
