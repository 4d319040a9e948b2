package ledger

import (
	"math"
	"testing"
)

func TestNewQuantity(t *testing.T) {
	tests := []struct {
		raw  float64
		unit string
		dim  Dimension
		want float64
		bad  bool
	}{
		{7.46, "mGy.cm", DimDLP, 7.46, false},
		{415.82, "mGycm", DimDLP, 415.82, false}, // GE writes no dot
		{0.5, "Gy.cm", DimDLP, 500, false},
		{1, "mGy.m", DimDLP, 100, false},
		{2.5e-5, "Gy.m2", DimDAP, 2.5e-5, false},
		{126.596, "dGy.cm2", DimDAP, 126.596e-5, false}, // Canon fluoroscopy
		{10, "cGy.cm2", DimDAP, 10e-6, false},
		{0.2359, "Gy.cm^2", DimDAP, 0.2359e-4, false}, // Siemens radiation summary
		{100, "mGy.cm2", DimDAP, 100e-7, false},
		{3, "uGy.m2", DimDAP, 3e-6, false},
		{0.0306, "Gy", DimDose, 30.6, false},
		{30.573, "mGy", DimDose, 30.573, false},
		{0.01373, "dGy", DimDose, 1.373, false}, // OrganDose in image headers
		{111, "s", DimTime, 111, false},
		{580, "ms", DimTime, 0.58, false},
		{2, "min", DimTime, 120, false},
		{394, "MBq", DimActivity, 394, false},
		{394e6, "Bq", DimActivity, 394, false},
		{10, "mCi", DimActivity, 370, false},
		{53, "mm", DimLength, 53, false},
		{4.2, "cm", DimLength, 42, false},
		{1.75, "m", DimHeight, 1.75, false},
		{70, "kg", DimMass, 70, false},
		{1, "mGy", DimDLP, 0, true},
		{1, "Gy.m2", DimDLP, 0, true},
		{1, "mGy.cm", DimDAP, 0, true},
		{1, "kV", DimDose, 0, true},
		{1, "xGy", DimDose, 0, true},
		{1, "", DimTime, 0, true},
		{math.NaN(), "mGy", DimDose, 0, true},
	}
	for _, tt := range tests {
		q, err := NewQuantity(tt.raw, tt.unit, tt.dim)
		if tt.bad {
			if err == nil {
				t.Errorf("NewQuantity(%v, %q, %s) = %v, want an error", tt.raw, tt.unit, tt.dim, q)
			}
			continue
		}
		if err != nil {
			t.Errorf("NewQuantity(%v, %q, %s): %v", tt.raw, tt.unit, tt.dim, err)
			continue
		}
		if math.Abs(q.Value-tt.want) > 1e-9*math.Max(1, math.Abs(tt.want)) {
			t.Errorf("NewQuantity(%v, %q, %s) = %v, want %v", tt.raw, tt.unit, tt.dim, q.Value, tt.want)
		}
		if q.Raw != tt.raw || q.RawUnit != tt.unit || q.Unit != string(tt.dim) {
			t.Errorf("NewQuantity(%v, %q): raw kept as %v %q in %q", tt.raw, tt.unit, q.Raw, q.RawUnit, q.Unit)
		}
	}
	if got := CGyCm2(126.596e-5); math.Abs(got-1265.96) > 1e-9 {
		t.Errorf("CGyCm2 = %v, want 1265.96 (dGy.cm2 × 10)", got)
	}
}

func TestMammographyPerView(t *testing.T) {
	mgy := func(v float64) *Quantity { q, _ := NewQuantity(v, "mGy", DimDose); return &q }
	m := &MammographyDose{Events: []MammographyEvent{
		{Laterality: "L", View: Code{Value: "399162004", Scheme: "SCT", Meaning: "cranio-caudal"}, AGD: mgy(1.1)},
		{Laterality: "R", View: Code{Value: "399162004", Scheme: "SCT", Meaning: "cranio-caudal"}, AGD: mgy(1.2)},
		{Laterality: "L", View: Code{Value: "399162004", Scheme: "SCT", Meaning: "cranio-caudal"}, AGD: mgy(0.4)},
		{Laterality: "L", View: Code{Value: "399368009", Scheme: "SCT"}, AGD: mgy(1.3)},
	}}
	got := m.PerView()
	want := []ViewDose{{"L", "cranio-caudal", 1.5, 2}, {"R", "cranio-caudal", 1.2, 1}, {"L", "399368009", 1.3, 1}}
	if len(got) != len(want) {
		t.Fatalf("PerView = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Laterality != want[i].Laterality || got[i].View != want[i].View || math.Abs(got[i].AGD-want[i].AGD) > 1e-9 || got[i].Exposures != want[i].Exposures {
			t.Errorf("view %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
