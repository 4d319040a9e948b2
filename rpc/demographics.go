package rpc

import (
	"context"
	"fmt"
	"strings"
	"time"

	"vigie"
	"vigie/mpi"
)

// MPIDemographics gives NRD evaluations and alert scans (dosimetry's
// Evaluator.Sex and Age, Scanner.Age) the sex and age of source records
// from the patient index: each record is looked up when first asked and
// kept for the run, so a survey reads its own patients once (sex for each,
// age only when the DICOM header has none), never the whole region. It is
// not safe for concurrent use: make one per evaluation or scan.
type MPIDemographics struct {
	ctx   context.Context
	index *mpi.Index
	memo  map[vigie.SourceKey]demographic
	err   error
}

// demographic is what a survey needs of a patient: sex and birth date
// (kept in memory for the run, never logged).
type demographic struct {
	sex   string
	birth time.Time
}

// NewMPIDemographics returns the lookups of one run over ix.
func NewMPIDemographics(ctx context.Context, ix *mpi.Index) *MPIDemographics {
	return &MPIDemographics{ctx: ctx, index: ix, memo: map[vigie.SourceKey]demographic{}}
}

// Err is the first lookup failure other than an unknown record; the
// records concerned were taken as of unknown sex and age.
func (d *MPIDemographics) Err() error { return d.err }

func (d *MPIDemographics) lookup(k vigie.SourceKey) demographic {
	if v, ok := d.memo[k]; ok {
		return v
	}
	var v demographic
	latest, err := d.index.Latest(d.ctx, k)
	switch {
	case vigie.ErrorCode(err) == vigie.ENOTFOUND:
	case err != nil:
		if d.err == nil {
			d.err = fmt.Errorf("patient index: %w", err)
		}
	default:
		switch strings.ToUpper(strings.TrimSpace(latest.Record.Sex)) {
		case "M", "H", "1":
			v.sex = "M"
		case "F", "2":
			v.sex = "F"
		}
		if t, err := time.Parse("2006-01-02", latest.Record.BirthDate); err == nil {
			v.birth = t
		}
	}
	d.memo[k] = v
	return v
}

// Sex is dosimetry.Evaluator.Sex: "M", "F" or "" when unknown.
func (d *MPIDemographics) Sex(k vigie.SourceKey) string { return d.lookup(k).sex }

// Age is dosimetry.Evaluator.Age and Scanner.Age: years on the exam date.
func (d *MPIDemographics) Age(k vigie.SourceKey, date string) (float64, bool) {
	b := d.lookup(k).birth
	on, err := time.Parse("2006-01-02", date)
	if b.IsZero() || err != nil || on.Before(b) {
		return 0, false
	}
	return on.Sub(b).Hours() / 24 / 365.25, true
}
