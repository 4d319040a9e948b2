package matcher

import (
	"fmt"
	"math"
	"testing"
)

func TestReasonMatchesFmt(t *testing.T) {
	for _, w := range []float64{0, math.Copysign(0, -1), 0.04, -0.04, 0.05, -0.05, 1.25, -1.25, 9.15, -12.349, 123.456, math.Inf(1), math.Inf(-1), math.NaN()} {
		f := FieldScore{Field: FieldBirthDate, Level: 0, Weight: w}
		want := fmt.Sprintf("%s %s %+.1f", f.Field, f.Field.LevelName(f.Level), f.Weight)
		if got := reason(f); got != want {
			t.Errorf("weight %v: reason %q, fmt %q", w, got, want)
		}
	}
}
