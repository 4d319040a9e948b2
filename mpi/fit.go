package mpi

import (
	"fmt"
	"strings"
	"time"

	"vigie"
	"vigie/matcher"
)

// FitOptions tune FitModel; the zero value gives the defaults.
type FitOptions struct {
	// MinRecords is the smallest feed a model is fitted on (default 200):
	// below, there are too few random pairs to estimate u (1,000 are
	// needed) and the start model is kept. Above it, EM starts from the
	// start model and keeps it as a prior (matcher.PriorMatches), so that
	// a clinic's thousand records are fitted as far as their matches
	// carry the estimate.
	MinRecords int
	// MaxRecords bounds the records fitted on (default 200,000): a larger
	// feed is sampled evenly, the prior corrected for the sampling.
	MaxRecords int
	// RandomPairs is how many random pairs estimate u (default 300,000).
	RandomPairs int
	// MaxBlock skips blocking keys shared by more records (default 500).
	MaxBlock int
	// MinShared is how many blocking keys two records must share for the
	// index to score them (Options.MinShared, default 2): calibration
	// counts those pairs only.
	MinShared int
	// Population is the smallest population the index's prior refers to
	// (Options.MinPopulation, default 10,000): calibration scores with it.
	Population int
	// TargetPrecision and MaxReview are the calibration targets (defaults
	// matcher.DefaultTargetPrecision and matcher.DefaultMaxReview).
	TargetPrecision, MaxReview float64
	// Seed makes the random pairs reproducible (default 1).
	Seed uint64
	// Feed, when set, is the number of records of the feed, recs holding
	// only its sample (every FitStride-th record, from the first): a
	// caller need not hold a whole regional feed in memory to fit on it.
	Feed int
}

// FitStride is the step at which FitModel samples a feed of n records:
// it fits on records 0, stride, 2×stride...
func FitStride(n int, o FitOptions) int {
	o.defaults()
	return max(1, (n+o.MaxRecords-1)/o.MaxRecords)
}

func (o *FitOptions) defaults() {
	orDefault(&o.MinRecords, 200)
	orDefault(&o.MaxRecords, 200_000)
	orDefault(&o.RandomPairs, 300_000)
	orDefault(&o.MaxBlock, defaultMaxBlock)
	orDefault(&o.Population, defaultMinPopulation)
	orDefault(&o.MinShared, defaultMinShared)
	orDefault(&o.TargetPrecision, matcher.DefaultTargetPrecision)
	orDefault(&o.MaxReview, matcher.DefaultMaxReview)
	orDefault(&o.Seed, 1)
}

// FitReport says what FitModel did.
type FitReport struct {
	Records, Sampled, Refused int
	// Fitted is false when the feed was too small: the start model is kept.
	Fitted      bool
	Train       matcher.TrainReport
	Calibration matcher.Calibration
	Elapsed     time.Duration
}

func (r FitReport) String() string {
	var b strings.Builder
	if !r.Fitted {
		fmt.Fprintf(&b, "model not fitted: %d records, too few to estimate it; the current model is kept\n", r.Records)
		return b.String()
	}
	fmt.Fprintf(&b, "model fitted without labels on %d records (%d sampled, %d refused by validation) in %s\n", r.Records, r.Sampled, r.Refused, r.Elapsed.Round(time.Millisecond))
	b.WriteString(r.Train.String())
	b.WriteString(r.Calibration.String())
	return b.String()
}

// FitModel fits a model on a feed's own records without labels (see
// matcher.PairSet.Fit), starting from start, and calibrates its thresholds
// on the feed's candidate pairs (see matcher.PairSet.Calibrate) at the
// population the index will score with. Records that do not prepare are
// left out. Below MinRecords it returns start unchanged.
func FitModel(recs []vigie.Record, start *matcher.Model, o FitOptions) (*matcher.Model, FitReport, error) {
	o.defaults()
	t0 := time.Now()
	n, stride := len(recs), FitStride(len(recs), o)
	if o.Feed > 0 { // recs is the sample already
		n, stride = o.Feed, 1
	}
	rep := FitReport{Records: n}
	if start == nil {
		return nil, rep, vigie.Invalid("model", "a start model is required")
	}
	if n < o.MinRecords {
		return start, rep, nil
	}
	var prep []*matcher.Prepared
	for i := 0; i < len(recs); i += stride {
		p, err := matcher.Prepare(&recs[i])
		if err != nil {
			p = nil
		}
		prep = append(prep, p)
	}
	set := matcher.NewPairSet(prep, nil, o.MaxBlock)
	rep.Sampled, rep.Refused = len(prep), set.Refused
	// A small feed has few distinct pairs (499,500 among 1,000 records):
	// drawing more than a quarter of them draws the same ones again, at
	// the cost of a fit seconds long for a clinic's file.
	v := set.Valid()
	m, trep, err := set.Fit(start, max(1000, min(o.RandomPairs, v*(v-1)/4)), o.Seed)
	rep.Train = trep
	if err != nil {
		return nil, rep, err
	}
	// A sample of one record in f holds f times fewer matches per record.
	f := float64(len(prep)) / float64(n)
	m.MatchesPerRecord /= f
	total := int(float64(set.Valid()) / f)
	m = m.WithPopulation(total)
	// The index scores with the feed's own size once it is loaded, the
	// floor of o.Population aside (see matcher.Model.PopulationFloor).
	calibrated, cal := set.Calibrate(m.WithPopulation(total), o.MinShared, SmallFeedTarget(o.TargetPrecision, total, o.Population), o.MaxReview*f)
	m.AutoLink, m.Review = calibrated.AutoLink, calibrated.Review
	// Back to the feed's scale: pair counts grow as f², records as f.
	cal.Records, cal.MaxReview = total, o.MaxReview
	sc := 1 / (f * f)
	cal.Candidates = int(float64(cal.Candidates) * sc)
	cal.Linked = int(float64(cal.Linked) * sc)
	cal.ReviewPairs = int(float64(cal.ReviewPairs) * sc)
	cal.ExpectedFalse *= sc
	cal.ExpectedMatches *= sc
	m.Calibration = &cal
	m.Source = fmt.Sprintf("fitted without labels on %d records: %s", set.Valid(), m.Source)
	rep.Calibration, rep.Fitted, rep.Elapsed = cal, true, time.Since(t0)
	return m, rep, nil
}

// SmallFeedTarget is the expected precision a feed of n records is
// calibrated for, given the target of a population of at least floor
// records (the index's population floor, Options.MinPopulation): below the
// floor, as many expected false links in all as a feed of floor records
// would be allowed, so the precision asked is lower in proportion. The
// floor's target is set so high (one false link expected in 100,000)
// because the model's posteriors grow overconfident with the index (more
// homonyms of common names, more households, more chains of links); a
// clinic's thousand records have few of them, and asking of its 700 links
// an expected 0.007 false link held back the links of heavily mistyped
// records that its own prior, ten times higher than at 10,000 records,
// makes certain enough. The calibrated threshold is never looser than the
// start model's all the same (see matcher.PairSet.Calibrate).
func SmallFeedTarget(target float64, n, floor int) float64 {
	if n <= 0 || n >= floor {
		return target
	}
	return 1 - (1-target)*float64(floor)/float64(n)
}

// FitAtFirstLoad fits the model on the feed about to be loaded into an
// empty index (see FitModel), starting from the index's current model,
// and makes it the index's current stored version before any record is
// linked: the first load of a new region does not depend on the shipped
// model. file names the feed in the model's history. Refused when the
// index already holds records (a live index changes model by an explicit
// act, see UseModel). When the feed is too small, nothing is stored and
// the report says so.
func (x *Index) FitAtFirstLoad(recs []vigie.Record, file string, o FitOptions) (FitReport, ModelInfo, error) {
	if x.Count() > 0 {
		return FitReport{}, x.ModelInfo(), vigie.Errorf(vigie.ECONFLICT, "the patient index holds %d records: a model is fitted at the first load only", x.Count())
	}
	if o.Population <= 0 {
		o.Population = x.opts.MinPopulation
	}
	if o.MaxBlock <= 0 {
		o.MaxBlock = x.opts.MaxBlock
	}
	if o.MinShared <= 0 {
		o.MinShared = x.opts.MinShared
	}
	m, rep, err := FitModel(recs, x.Model(), o)
	if err != nil || !rep.Fitted {
		return rep, x.ModelInfo(), err
	}
	info, err := x.UseModel(m, ModelInfo{Origin: OriginFitted, Records: rep.Records, File: file, Actor: System,
		Reason: "fitted at the first load of an empty index", Report: rep.String()})
	return rep, info, err
}
