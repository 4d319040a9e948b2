package vigie

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestReadmeListsLimits keeps the README's table of limits in step with
// Limits: every row, in order, with its number.
func TestReadmeListsLimits(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	at := strings.Index(readme, "| field | limit | where |")
	if at < 0 {
		t.Fatal("README: no table of limits")
	}
	rest := readme[at:]
	for _, l := range Limits {
		row := fmt.Sprintf("| %s | %d %s | %s |\n", l.Field, l.Max, l.Unit, l.Door)
		i := strings.Index(rest, row)
		if i < 0 {
			t.Errorf("README's table of limits lacks (or has out of order) %q", row)
			continue
		}
		rest = rest[i+len(row):]
	}
}
