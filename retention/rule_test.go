package retention

import (
	"testing"
	"time"
)

func date(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestDeadline(t *testing.T) {
	for _, c := range []struct {
		name        string
		last, death string
		births      []string
		asOf        string
		deadline    string
		rule        string
		past        bool
	}{
		{"adult: 20 years after the last contact", "2001-03-04", "", []string{"1950-01-01"}, "2025-01-01", "2021-03-04", RuleAdult, true},
		{"adult: kept through the deadline day", "2001-03-04", "", []string{"1950-01-01"}, "2021-03-04", "2021-03-04", RuleAdult, false},
		{"adult: past the day after", "2001-03-04", "", []string{"1950-01-01"}, "2021-03-05", "2021-03-04", RuleAdult, true},
		{"minor at 5: until the 28th birthday", "2000-06-01", "", []string{"1995-05-05"}, "2022-01-01", "2023-05-05", RuleMinor, false},
		{"minor at 5: past after the 28th birthday", "2000-06-01", "", []string{"1995-05-05"}, "2023-05-06", "2023-05-05", RuleMinor, true},
		{"minor at 17: 20 years is later than the 28th birthday", "2000-06-01", "", []string{"1983-01-01"}, "2021-01-01", "2020-06-01", RuleAdult, true},
		{"adult at 18 exactly: not a minor", "2001-05-05", "", []string{"1983-05-05"}, "2022-01-01", "2021-05-05", RuleAdult, true},
		{"partial birth date: the latest day it allows", "2000-06-01", "", []string{"1995"}, "2023-12-31", "2023-12-31", RuleMinor, false},
		{"partial birth month", "2000-06-01", "", []string{"1995-02"}, "2023-03-01", "2023-02-28", RuleMinor, true},
		{"two birth dates: the youngest reading", "2000-06-01", "", []string{"1960-01-01", "1995-05-05"}, "2022-01-01", "2023-05-05", RuleMinor, false},
		{"no birth date: kept as for a newborn", "2000-06-01", "", nil, "2025-01-01", "2028-06-01", RuleUnknownBirth, false},
		{"unreadable birth date: as unknown", "2000-06-01", "", []string{"sometime"}, "2025-01-01", "2028-06-01", RuleUnknownBirth, false},
		{"dead 2 years after the last contact: 10 years after death", "2000-06-01", "2002-01-01", []string{"1950-01-01"}, "2013-01-01", "2012-01-01", RuleDeath, true},
		{"dead 12 years after the last contact: the 20 years", "2000-06-01", "2012-06-02", []string{"1950-01-01"}, "2021-01-01", "2020-06-01", RuleAdult, true},
		{"dead child: 10 years after death, not the 28th birthday", "2000-06-01", "2001-01-01", []string{"1995-05-05"}, "2012-01-01", "2011-01-01", RuleDeath, true},
		{"exam after death (post-mortem): 10 years from the exam", "2002-03-01", "2002-01-01", []string{"1950-01-01"}, "2012-02-01", "2012-03-01", RuleDeath, false},
		{"death date still to come: ignored", "2000-06-01", "2030-01-01", []string{"1950-01-01"}, "2021-01-01", "2020-06-01", RuleAdult, true},
		{"last contact in the future: never past", "2030-01-01", "", []string{"1950-01-01"}, "2025-01-01", "2050-01-01", RuleAdult, false},
		{"last contact with a time of day: its calendar day", "2001-03-04T23:59:00Z", "", []string{"1950-01-01"}, "2021-03-05", "2021-03-04", RuleAdult, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			last := date(c.last[:10])
			if len(c.last) > 10 {
				var err error
				if last, err = time.Parse(time.RFC3339, c.last); err != nil {
					t.Fatal(err)
				}
			}
			d := Of(Facts{LastContact: last, Births: c.births, Death: date(c.death)}, date(c.asOf))
			if got := d.Date.Format(time.DateOnly); got != c.deadline || d.Rule != c.rule {
				t.Errorf("deadline %s (%s), want %s (%s)", got, d.Rule, c.deadline, c.rule)
			}
			if got := d.Past(date(c.asOf)); got != c.past {
				t.Errorf("past as of %s: %v, want %v", c.asOf, got, c.past)
			}
		})
	}
}

func TestToken(t *testing.T) {
	a := token(date("2025-01-01"), []Item{{ID: 1}, {ID: 2}})
	for _, other := range []string{
		token(date("2025-01-02"), []Item{{ID: 1}, {ID: 2}}),
		token(date("2025-01-01"), []Item{{ID: 1}}),
		token(date("2025-01-01"), []Item{{ID: 1}, {ID: 3}}),
	} {
		if other == a {
			t.Errorf("two lists share the token %s", a)
		}
	}
	d, err := ParseToken(a)
	if err != nil || !d.Equal(date("2025-01-01")) {
		t.Fatalf("ParseToken(%s) = %v, %v", a, d, err)
	}
	for _, bad := range []string{"", "20250101", "20250101-xyz", "2025-01-01-" + a[9:], "20251301-" + a[9:]} {
		if _, err := ParseToken(bad); err == nil {
			t.Errorf("ParseToken(%q) accepted", bad)
		}
	}
}
