package ledger

import (
	"fmt"
	"math"
	"strings"
)

// Dimension is what a quantity measures; it fixes the canonical unit the
// ledger converts it to.
type Dimension string

// Dimensions and their canonical units. DAP is kept in Gy.m² (the unit of
// the DICOM templates) and shown in cGy.cm² (the French convention) by
// CGyCm2.
const (
	DimDose     Dimension = "mGy"    // air kerma, CTDIvol, glandular dose, SSDE
	DimDLP      Dimension = "mGy.cm" // CT dose-length product
	DimDAP      Dimension = "Gy.m2"  // dose-area product
	DimTime     Dimension = "s"      // fluoroscopy and acquisition time
	DimActivity Dimension = "MBq"    // administered activity
	DimLength   Dimension = "mm"     // compressed breast thickness
	DimMass     Dimension = "kg"     // patient weight
	DimHeight   Dimension = "m"      // patient height
	DimVoltage  Dimension = "kV"     // CT tube voltage (kVp)
	DimCurrent  Dimension = "mA"     // CT tube current
)

// Quantity is one dose figure: the value in the canonical unit of its
// dimension, and the value and unit code exactly as the file gave them, so
// that a physicist can always check the conversion.
type Quantity struct {
	Value   float64 `json:"value"`
	Unit    string  `json:"unit"`
	Raw     float64 `json:"raw"`
	RawUnit string  `json:"raw_unit"`
}

// NewQuantity converts raw, expressed in the UCUM unit code rawUnit, to the
// canonical unit of dim. An unknown or mismatched unit is an error: a dose
// figure is never stored in a unit the ledger does not understand.
func NewQuantity(raw float64, rawUnit string, dim Dimension) (Quantity, error) {
	if math.IsNaN(raw) || math.IsInf(raw, 0) {
		return Quantity{}, fmt.Errorf("value %v is not a number", raw)
	}
	f, err := factor(rawUnit, dim)
	if err != nil {
		return Quantity{}, err
	}
	return Quantity{Value: raw * f, Unit: string(dim), Raw: raw, RawUnit: rawUnit}, nil
}

// CGyCm2 returns a DAP held in Gy.m² in cGy.cm², the unit of the French
// patient dose history (Gy.m² × 10⁶).
func CGyCm2(gym2 float64) float64 { return gym2 * 1e6 }

// prefixes are the SI prefixes UCUM allows in front of Gy, Bq, m and s.
var prefixes = map[string]float64{
	"": 1, "da": 10, "d": 1e-1, "c": 1e-2, "m": 1e-3, "u": 1e-6, "µ": 1e-6, "n": 1e-9,
	"k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
}

// factor returns the multiplier from unit to the canonical unit of dim.
func factor(unit string, dim Dimension) (float64, error) {
	u := strings.TrimSpace(unit)
	bad := func() (float64, error) {
		return 0, fmt.Errorf("unit %q is not a unit of %s", unit, dimName(dim))
	}
	switch dim {
	case DimDose:
		p, rest, ok := splitBase(u, "Gy")
		if !ok || rest != "" {
			return bad()
		}
		return p / 1e-3, nil
	case DimDLP, DimDAP:
		p, rest, ok := splitBase(u, "Gy")
		if !ok {
			return bad()
		}
		rest = strings.TrimLeft(rest, ".*")
		want := 1
		if dim == DimDAP {
			want = 2
		}
		lf, pow, ok := lengthUnit(rest)
		if !ok || pow != want {
			return bad()
		}
		if dim == DimDLP {
			return p / 1e-3 * lf / 1e-2, nil
		}
		return p * lf * lf, nil
	case DimTime:
		switch u {
		case "s":
			return 1, nil
		case "ms":
			return 1e-3, nil
		case "us":
			return 1e-6, nil
		case "min":
			return 60, nil
		case "h":
			return 3600, nil
		}
		return bad()
	case DimActivity:
		if p, rest, ok := splitBase(u, "Bq"); ok && rest == "" {
			return p / 1e6, nil
		}
		if p, rest, ok := splitBase(u, "Ci"); ok && rest == "" {
			return p * 3.7e10 / 1e6, nil
		}
		return bad()
	case DimLength, DimHeight:
		lf, pow, ok := lengthUnit(u)
		if !ok || pow != 1 {
			return bad()
		}
		if dim == DimLength {
			return lf / 1e-3, nil
		}
		return lf, nil
	case DimVoltage:
		if p, rest, ok := splitBase(u, "V"); ok && rest == "" {
			return p / 1e3, nil
		}
		return bad()
	case DimCurrent:
		if p, rest, ok := splitBase(u, "A"); ok && rest == "" {
			return p / 1e-3, nil
		}
		return bad()
	case DimMass:
		switch u {
		case "kg":
			return 1, nil
		case "g":
			return 1e-3, nil
		}
		return bad()
	}
	return bad()
}

// splitBase splits "mGy.cm" around base "Gy" into the prefix's factor and
// the rest (".cm").
func splitBase(u, base string) (float64, string, bool) {
	i := strings.Index(u, base)
	if i < 0 {
		return 0, "", false
	}
	p, ok := prefixes[u[:i]]
	return p, u[i+len(base):], ok
}

// lengthUnit reads "cm", "m2", "cm2" into the factor to metres and the power.
func lengthUnit(u string) (float64, int, bool) {
	u = strings.TrimSuffix(strings.Replace(u, "^2", "2", 1), "^1") // Siemens writes Gy.cm^2
	pow := 1
	if strings.HasSuffix(u, "2") {
		pow = 2
		u = strings.TrimSuffix(u, "2")
	}
	if !strings.HasSuffix(u, "m") {
		return 0, 0, false
	}
	p, ok := prefixes[strings.TrimSuffix(u, "m")]
	return p, pow, ok
}

func dimName(d Dimension) string {
	switch d {
	case DimDose:
		return "dose (Gy)"
	case DimDLP:
		return "dose-length product (Gy.m)"
	case DimDAP:
		return "dose-area product (Gy.m2)"
	case DimTime:
		return "time (s)"
	case DimActivity:
		return "activity (Bq)"
	case DimVoltage:
		return "voltage (V)"
	case DimCurrent:
		return "current (A)"
	case DimLength, DimHeight:
		return "length (m)"
	case DimMass:
		return "mass (kg)"
	}
	return string(d)
}
