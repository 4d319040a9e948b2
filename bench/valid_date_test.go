package bench

import "testing"

// TestValidDate: the served load's queries leave out the dates a search
// refuses (stored verbatim on records that carry them), such as a 29
// February of a common year, which made one search per run fail.
func TestValidDate(t *testing.T) {
	for _, tc := range []struct {
		date string
		want bool
	}{
		{"1956-03-14", true},
		{"1956-02-29", true},
		{"1955-02-29", false},
		{"2017-02-29", false},
		{"1945-04-93", false},
		{"", false},
	} {
		if got := validDate(tc.date); got != tc.want {
			t.Errorf("validDate(%q) = %v, want %v", tc.date, got, tc.want)
		}
	}
}
