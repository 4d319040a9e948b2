// Package retention applies the legal retention durations of a French
// health-data service to the regional patient index (code de la santé
// publique, R1112-7): a patient's data is kept 20 years after the last
// contact; for a patient who was a minor at the last contact, until the
// 28th birthday when that is later; for a patient who died less than 10
// years after the last contact, 10 years after the death. Report lists
// the identities past their deadline; Purge removes them, one transaction
// per identity, after an explicit confirmation (see Purge).
package retention

import (
	"strconv"
	"strings"
	"time"
)

// Rules, as a deadline names them.
const (
	RuleAdult        = "20 years after the last contact"
	RuleMinor        = "28th birthday (a minor at the last contact)"
	RuleUnknownBirth = "28 years after the last contact (no birth date: kept as for a newborn)"
	RuleDeath        = "10 years after death (died less than 10 years after the last contact)"
)

// Facts are what the rule reads of one patient.
type Facts struct {
	// LastContact is the latest record update or exam of the patient,
	// across all of its source records in the region.
	LastContact time.Time
	// Births are the birth dates its records carry, as received: ISO
	// YYYY-MM-DD, or partial (YYYY-MM, YYYY, 00 parts). The latest
	// possible one counts (the youngest reading keeps the data longest);
	// none known is read as a newborn at the last contact.
	Births []string
	// Death is the date of death, zero when unknown. The identity feeds
	// carry none yet (vigie.Record has no such field): the rule takes
	// it for when they do.
	Death time.Time
}

// Deadline is the date after which a patient's data may be removed, and
// the rule that set it.
type Deadline struct {
	Date time.Time // a calendar day, UTC midnight
	Rule string
}

// Of returns the deadline of a patient, as known on the day asOf: a death
// date after asOf is not one (a feed's error) and is ignored.
func Of(f Facts, asOf time.Time) Deadline {
	last := day(f.LastContact)
	d := Deadline{Date: last.AddDate(20, 0, 0), Rule: RuleAdult}
	birth, known := latestBirth(f.Births)
	switch {
	case !known:
		d = Deadline{Date: last.AddDate(28, 0, 0), Rule: RuleUnknownBirth}
	case last.Before(birth.AddDate(18, 0, 0)):
		if b28 := birth.AddDate(28, 0, 0); b28.After(d.Date) {
			d = Deadline{Date: b28, Rule: RuleMinor}
		}
	}
	if death := day(f.Death); !f.Death.IsZero() && !death.After(day(asOf)) && death.Before(last.AddDate(10, 0, 0)) {
		// An exam after death (post-mortem imaging) is a contact: the 10
		// years run from the later of the two.
		from := death
		if last.After(from) {
			from = last
		}
		d = Deadline{Date: from.AddDate(10, 0, 0), Rule: RuleDeath}
	}
	return d
}

// Past reports whether the deadline is over on the day asOf: the data
// is kept through its deadline day.
func (d Deadline) Past(asOf time.Time) bool { return day(asOf).After(d.Date) }

// day is t's calendar day, at midnight UTC.
func day(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// latestBirth returns the latest day any of the birth dates may be: a
// partial date is read as the last day it allows (1980 as 1980-12-31,
// 1980-02 as 1980-02-29 or 28). Unreadable ones are left out.
func latestBirth(dates []string) (time.Time, bool) {
	var best time.Time
	found := false
	for _, s := range dates {
		if t, ok := lastDay(s); ok && (!found || t.After(best)) {
			best, found = t, true
		}
	}
	return best, found
}

func lastDay(s string) (time.Time, bool) {
	parts := strings.Split(strings.TrimSpace(s), "-")
	if len(parts) == 0 || len(parts) > 3 || len(parts[0]) != 4 {
		return time.Time{}, false
	}
	n := make([]int, 3)
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return time.Time{}, false
		}
		n[i] = v
	}
	y, m, d := n[0], n[1], n[2]
	if y == 0 || m > 12 || d > 31 {
		return time.Time{}, false
	}
	if m == 0 {
		return time.Date(y, 12, 31, 0, 0, 0, 0, time.UTC), true
	}
	end := time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC) // the month's last day
	if d == 0 || d > end.Day() {
		return end, d == 0
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC), true
}
