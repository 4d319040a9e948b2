package bench

import (
	"strings"
	"testing"
	"time"
)

// The growth table says how each cost per row grew: a cost that follows
// the data is × 1.00, one that grows faster shows above.
func TestGrowthTable(t *testing.T) {
	rows := []GrowthRow{
		{Rows: 1000, Import: Run{Wall: 2 * time.Second, CPU: time.Second, PeakRSS: 100 << 20}, Export: Run{Wall: time.Second, CPU: 10 * time.Millisecond, PeakRSS: 50 << 20}, Disk: 10 << 20},
		{Rows: 3000, Import: Run{Wall: 6 * time.Second, CPU: 6 * time.Second, PeakRSS: 150 << 20}, Export: Run{Wall: 3 * time.Second, CPU: 30 * time.Millisecond, PeakRSS: 50 << 20}, Disk: 30 << 20},
	}
	got := GrowthTable(rows)
	for _, want := range []string{
		"| 1000 | 500 | 1000 | 1000.0 | 100 MB | 10 MB |",
		"| 3000 | 500 | 500 | 2000.0 | 150 MB | 30 MB |",
		"growth from 1000 to 3000 rows (× 3.00)",
		"import wall time per row × 1.00, CPU per row × 2.00, peak RSS per row × 0.50, disk per row × 1.00; export CPU per row × 1.00, export peak RSS × 1.00",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if one := GrowthTable(rows[:1]); strings.Contains(one, "growth") {
		t.Errorf("one size has no growth line:\n%s", one)
	}
}
