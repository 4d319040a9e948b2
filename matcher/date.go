package matcher

import (
	"fmt"
	"strconv"
	"strings"

	"vigie"
)

// Date is a birth date as the matcher sees it: each part may be unknown (0),
// as French civil records and INSi allow.
type Date struct {
	Year, Month, Day int

	// Placeholder marks dates typed when the real one is unknown: 1 January
	// or 31 December (a convention for people born abroad without records,
	// and a default in many systems), and years before 1900. Only the year of
	// such a date is evidence.
	Placeholder bool
}

// IsZero reports whether no part of the date is known.
func (d Date) IsZero() bool { return d.Year == 0 && d.Month == 0 && d.Day == 0 }

// Full reports whether year, month and day are all known.
func (d Date) Full() bool { return d.Year != 0 && d.Month != 0 && d.Day != 0 }

// String returns the date as ISO YYYY-MM-DD with 00 for unknown parts.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	if d.Year < 0 || d.Year > 9999 || d.Month < 0 || d.Month > 99 || d.Day < 0 || d.Day > 99 {
		return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
	}
	// Written by hand: this runs for every record prepared and every pair
	// explained, and fmt costs several times more.
	b := [10]byte{'0', '0', '0', '0', '-', '0', '0', '-', '0', '0'}
	for i, y := 3, d.Year; y > 0; i, y = i-1, y/10 {
		b[i] = byte('0' + y%10)
	}
	b[5], b[6] = byte('0'+d.Month/10), byte('0'+d.Month%10)
	b[8], b[9] = byte('0'+d.Day/10), byte('0'+d.Day%10)
	return string(b[:])
}

// ParseDate reads a birth date written YYYY-MM-DD, YYYYMMDD, DD/MM/YYYY,
// YYYY-MM, YYYYMM or YYYY, with 00 (or a missing part) for an unknown day or
// month. An empty string is the zero Date. A date that cannot be a birth date
// (no such layout, no such day, a year before 1800, every part 00) is an
// EINVALID error naming field birth_date; Prepare turns it into
// Prepared.DateInvalid rather than a refusal.
func ParseDate(s string) (Date, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Date{}, nil
	}
	y, m, d, ok := splitDate(s)
	if !ok {
		return Date{}, vigie.Invalid("birth_date", "%q is not a date (expected YYYY-MM-DD, YYYYMMDD or DD/MM/YYYY)", s)
	}
	num := func(part, what string) (int, error) {
		if part == "" {
			return 0, nil
		}
		if !allDigits(part) {
			return 0, vigie.Invalid("birth_date", "%q: the %s is not a number", s, what)
		}
		n, _ := strconv.Atoi(part)
		return n, nil
	}
	var out Date
	var err error
	if out.Year, err = num(y, "year"); err != nil {
		return Date{}, err
	}
	if out.Month, err = num(m, "month"); err != nil {
		return Date{}, err
	}
	if out.Day, err = num(d, "day"); err != nil {
		return Date{}, err
	}
	switch {
	case out.IsZero():
		return Date{}, vigie.Invalid("birth_date", "%q: every part is zero (send no date when it is unknown)", s)
	case out.Year < 1800 || out.Year > 2200:
		if out.Year == 0 {
			return Date{}, vigie.Invalid("birth_date", "%q: a day or month without a year", s)
		}
		return Date{}, vigie.Invalid("birth_date", "%q: year %d is out of range", s, out.Year)
	case out.Month > 12:
		return Date{}, vigie.Invalid("birth_date", "%q: month %d is out of range", s, out.Month)
	case out.Day > 31:
		return Date{}, vigie.Invalid("birth_date", "%q: day %d is out of range", s, out.Day)
	case out.Day > 0 && out.Month > 0 && out.Day > daysIn(out.Month, out.Year):
		return Date{}, vigie.Invalid("birth_date", "%q: %d-%02d has no day %d", s, out.Year, out.Month, out.Day)
	}
	out.Placeholder = out.Year < 1900 ||
		(out.Month == 1 && out.Day == 1) || (out.Month == 12 && out.Day == 31)
	return out, nil
}

// splitDate cuts a trimmed date into its year, month and day text by its
// layout (see ParseDate); ok is false for a layout ParseDate does not read.
func splitDate(s string) (y, m, d string, ok bool) {
	switch {
	case len(s) == 10 && s[4] == '-' && s[7] == '-':
		return s[:4], s[5:7], s[8:], true
	case len(s) == 10 && (s[2] == '/' || s[2] == '.' || s[2] == '-') && s[5] == s[2]:
		return s[6:], s[3:5], s[:2], true
	case len(s) == 8 && allDigits(s):
		return s[:4], s[4:6], s[6:], true
	case len(s) == 7 && s[4] == '-':
		return s[:4], s[5:], "", true
	case len(s) == 6 && allDigits(s):
		return s[:4], s[4:], "", true
	case len(s) == 4:
		return s, "", "", true
	}
	return "", "", "", false
}

// dateParts reads the numbers of a date whatever their range (month 93,
// year 0), for the checks that need what was written rather than a valid
// Date; ok is false when the layout or a part cannot be read as numbers.
func dateParts(s string) (y, m, d int, ok bool) {
	ys, ms, ds, ok := splitDate(s)
	if !ok {
		return 0, 0, 0, false
	}
	var n [3]int
	for i, part := range []string{ys, ms, ds} {
		if part == "" {
			continue
		}
		if !allDigits(part) {
			return 0, 0, 0, false
		}
		n[i], _ = strconv.Atoi(part)
	}
	return n[0], n[1], n[2], true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
