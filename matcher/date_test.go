package matcher

import (
	"fmt"
	"testing"
)

func TestDateStringMatchesFmt(t *testing.T) {
	for _, d := range []Date{{Year: 1984, Month: 3, Day: 7}, {Year: 1984}, {Year: 1984, Month: 12}, {Day: 5}, {Year: 7, Month: 1, Day: 31}, {Year: 12345, Month: 1, Day: 1}, {Year: -1, Month: 1, Day: 1}, {Year: 2001, Month: 100, Day: 1}} {
		want := fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
		if got := d.String(); got != want {
			t.Errorf("%+v: String %q, fmt %q", d, got, want)
		}
	}
	if got := (Date{}).String(); got != "" {
		t.Errorf("zero date: %q, want empty", got)
	}
}
