package mpi

import (
	"strings"
	"time"

	"vigie"
)

// golden computes an identity's golden view from its members' latest
// versions, by explicit survivorship rules:
//
//  1. when a member holds a qualified INS (status QUAL), the INS traits
//     (INS, its OID, birth name, first names, first name, birth date, sex,
//     birthplace) are taken together from the most recently received such
//     member;
//  2. otherwise, and for every other trait, each value is ranked by the best
//     status of the records holding it (QUAL and VALI, checked against an
//     identity document, win over RECUP and PROV), then by how many members
//     hold it, then by how recently it was received.
//
// Status is the best status among the members.
func golden(members []*recordState) vigie.Record {
	var out vigie.Record
	if len(members) == 0 {
		return out
	}
	var qual *recordState
	for _, m := range members {
		if strings.EqualFold(m.Record.Status, vigie.StatusQUAL) && m.Record.INS != "" &&
			(qual == nil || m.Received.After(qual.Received)) {
			qual = m
		}
	}
	// The values of a field with their votes: an identity has a few
	// members, so a list looked through is cheaper than a map, and the
	// winner does not depend on the order (the last criterion is the
	// value itself).
	type tally struct {
		value  string
		rank   int
		count  int
		latest time.Time
	}
	votes := make([]tally, 0, len(members))
	for _, f := range goldenFields {
		if f.ins && qual != nil {
			*f.get(&out) = *f.get(&qual.Record)
			continue
		}
		votes = votes[:0]
		for _, m := range members {
			v := *f.get(&m.Record)
			if strings.TrimSpace(v) == "" {
				continue
			}
			i := 0
			for i < len(votes) && votes[i].value != v {
				i++
			}
			if i == len(votes) {
				votes = append(votes, tally{value: v})
			}
			t := &votes[i]
			t.rank = max(t.rank, statusRank(m.Record.Status))
			t.count++
			if m.Received.After(t.latest) {
				t.latest = m.Received
			}
		}
		var bt *tally
		for i := range votes {
			t := &votes[i]
			if bt == nil || t.rank > bt.rank ||
				t.rank == bt.rank && (t.count > bt.count ||
					t.count == bt.count && (t.latest.After(bt.latest) || t.latest.Equal(bt.latest) && t.value < bt.value)) {
				bt = t
			}
		}
		if bt != nil {
			*f.get(&out) = bt.value
		}
	}
	for _, m := range members {
		if statusOrder(m.Record.Status) > statusOrder(out.Status) {
			out.Status = strings.ToUpper(m.Record.Status)
		}
		for _, a := range m.Record.Attributes {
			a = strings.ToUpper(a)
			found := false
			for _, b := range out.Attributes {
				found = found || a == b
			}
			if !found {
				out.Attributes = append(out.Attributes, a)
			}
		}
	}
	return out
}

// statusRank says whose traits win: checked against a document or not.
func statusRank(s string) int {
	switch strings.ToUpper(s) {
	case vigie.StatusQUAL, vigie.StatusVALI:
		return 1
	}
	return 0
}

// statusOrder orders the statuses from the weakest.
func statusOrder(s string) int {
	switch strings.ToUpper(s) {
	case vigie.StatusPROV:
		return 1
	case vigie.StatusRECUP:
		return 2
	case vigie.StatusVALI:
		return 3
	case vigie.StatusQUAL:
		return 4
	}
	return 0
}

// goldenField is a trait survivorship chooses: where it is in a record,
// and whether it is an INS trait (taken from the latest qualified record
// when there is one).
type goldenField struct {
	get func(r *vigie.Record) *string
	ins bool
}

// goldenFields are the traits of the golden record, in the order they
// are chosen.
var goldenFields = []goldenField{
	{func(r *vigie.Record) *string { return &r.INS }, true},
	{func(r *vigie.Record) *string { return &r.INSOID }, true},
	{func(r *vigie.Record) *string { return &r.BirthName }, true},
	{func(r *vigie.Record) *string { return &r.FirstNames }, true},
	{func(r *vigie.Record) *string { return &r.FirstName }, true},
	{func(r *vigie.Record) *string { return &r.BirthDate }, true},
	{func(r *vigie.Record) *string { return &r.Sex }, true},
	{func(r *vigie.Record) *string { return &r.BirthPlace }, true},
	{func(r *vigie.Record) *string { return &r.UsedName }, false},
	{func(r *vigie.Record) *string { return &r.PostalCode }, false},
	{func(r *vigie.Record) *string { return &r.City }, false},
	{func(r *vigie.Record) *string { return &r.Address }, false},
	{func(r *vigie.Record) *string { return &r.Phone }, false},
	{func(r *vigie.Record) *string { return &r.Email }, false},
}
