package matcher

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Table renders the score as the table identity-vigilance staff read next to
// a proposed link: one row per field with both values, the level and the
// weight it contributed, then the total, the probability and the hard rules.
func (s *Score) Table() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "field\trecord A\trecord B\tlevel\tweight\t")
	for _, f := range s.Fields {
		tf := ""
		if f.TF != 0 {
			tf = fmt.Sprintf(" (frequency %+.1f)", f.TF)
		}
		level := f.Field.LevelName(f.Level)
		if f.Note != "" {
			level += " (" + f.Note + ")"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%+.1f%s\t\n", f.Field, dash(f.A), dash(f.B), level, f.Weight, tf)
	}
	fmt.Fprintf(w, "total\t\t\t\t%+.1f\t\n", s.Weight)
	fmt.Fprintf(w, "prior\t\t\t\t%+.1f\t\n", s.Prior)
	w.Flush()
	fmt.Fprintf(&b, "probability %.6f, grade %s", s.Probability, s.Grade)
	if s.AutoLink {
		b.WriteString(", may link automatically")
	}
	b.WriteByte('\n')
	for _, r := range s.Rules {
		fmt.Fprintf(&b, "rule %s: %s\n", r.Code, r.Message)
	}
	return b.String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Reasons returns the fields that weighed most for and against the match,
// strongest first, as short phrases ("name exact +9.1").
func (s *Score) Reasons() []string {
	var out []FieldScore
	for _, f := range s.Fields {
		if f.Level != Null && f.Weight != 0 {
			out = append(out, f)
		}
	}
	// insertion sort by |weight| descending (at most NumFields items)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && abs(out[j].Weight) > abs(out[j-1].Weight); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	r := make([]string, 0, len(out)+len(s.Rules))
	for _, f := range out {
		r = append(r, reason(f))
	}
	for _, rule := range s.Rules {
		r = append(r, "rule "+rule.Code)
	}
	return r
}

// reason phrases one field's contribution as fmt's "%s %s %+.1f" would,
// without fmt: every automatic link stores its reasons.
func reason(f FieldScore) string {
	field, level := f.Field.String(), f.Field.LevelName(f.Level)
	b := make([]byte, 0, len(field)+len(level)+10)
	b = append(append(append(append(b, field...), ' '), level...), ' ')
	if !math.IsInf(f.Weight, 0) && (!math.Signbit(f.Weight) || math.IsNaN(f.Weight)) { // AppendFloat signs only negatives and infinities
		b = append(b, '+')
	}
	return string(strconv.AppendFloat(b, f.Weight, 'f', 1, 64))
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
