package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"vigie"
	"vigie/census"
	"vigie/ingest"
	"vigie/internal/sharedtest"
	"vigie/linkeval"
	"vigie/matcher"
	"vigie/mpi"
	"vigie/store"
)

func init() {
	register(verb{name: "bench linkage", summary: "measure linkage through the import path on independent data (census populations, FEBRL 3 and 4, Splink fake_1000)", run: runBenchLinkage})
}

// The blocking the benchmark's index uses, and replays to measure blocking
// recall: the patient index's defaults, given explicitly so that the replay
// and the index cannot differ.
var benchBlocking = linkeval.IndexBlocking{MaxBlock: 500, MinShared: 2, RareBlock: 3}

// runBenchLinkage loads each data set into an empty store through `vigie
// import identities`'s code with the shipped model, reads the links back
// and scores them against the truth: the yardstick of the matching rework
// (issues 27 and 37).
func runBenchLinkage(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench linkage", stderr)
	var censusDirs []string
	fs.Func("census", "folder written by `vigie gen households` (repeatable)", func(s string) error {
		censusDirs = append(censusDirs, s)
		return nil
	})
	linkageDir := fs.String("linkage", "", "folder holding febrl/ and splink/ (default: shared/data/linkage beside this folder or a parent)")
	sets := fs.String("sets", "census,febrl3,febrl4,fake1000", "data sets to run, comma-separated: census (every --census folder), febrl3, febrl4, fake1000")
	examples := fs.Int("examples", 0, "print this many missed true pairs per data set (evenly sampled), with both records and their score")
	modelPath := fs.String("model", "", "matcher model file (\"default\" for the shipped one; default: as `vigie import identities` into an empty store, a model fitted on each data set's own records)")
	sample := fs.Int("sample", 0, "load, of each data set, only the records of persons drawn at random until this many records (a small population: every record of a person drawn is kept)")
	sampleSeed := fs.Uint64("sample-seed", 1, "random seed of --sample: the same seed draws the same persons")
	var fit mpi.FitOptions
	fs.Float64Var(&fit.TargetPrecision, "target-precision", matcher.DefaultTargetPrecision, "expected precision the fitted model's auto-link threshold is calibrated for")
	fs.IntVar(&fit.MinRecords, "min-fit-records", 0, "smallest data set a model is fitted on (below: the shipped model; default: as `vigie import identities`)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	var model *matcher.Model // nil: fitted at the first load
	if *modelPath != "" {
		var err error
		if model, err = loadModel(*modelPath); err != nil {
			return err
		}
	}
	tmp, err := os.MkdirTemp("", "vigie-bench-linkage-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	want := map[string]bool{}
	for s := range strings.SplitSeq(*sets, ",") {
		switch s = strings.TrimSpace(s); s {
		case "census", "febrl3", "febrl4", "fake1000":
			want[s] = true
		case "":
		default:
			return usageErr("--sets: unknown data set %q (census, febrl3, febrl4, fake1000)", s)
		}
	}
	var todo []linkageSet
	if want["census"] {
		for _, d := range censusDirs {
			todo = append(todo, linkageSet{name: "census " + filepath.Base(filepath.Clean(d)), dir: d})
		}
	}
	ldir := *linkageDir
	if ldir == "" && (want["febrl3"] || want["febrl4"] || want["fake1000"]) {
		if d, ok := sharedtest.Find("data/linkage"); ok {
			ldir = d
		} else {
			fmt.Fprintln(stderr, "vigie bench linkage: shared/data/linkage not found (use --linkage DIR): FEBRL and fake_1000 skipped")
		}
	}
	if ldir != "" {
		for _, s := range []linkageSet{
			{name: "FEBRL 3", key: "febrl3", convert: func(out string) (map[vigie.SourceKey]string, error) {
				return convertFEBRL(out, [][2]string{{filepath.Join(ldir, "febrl", "dataset3.csv"), "febrl3"}})
			}},
			{name: "FEBRL 4", key: "febrl4", convert: func(out string) (map[vigie.SourceKey]string, error) {
				return convertFEBRL(out, [][2]string{{filepath.Join(ldir, "febrl", "dataset4a.csv"), "febrl4a"}, {filepath.Join(ldir, "febrl", "dataset4b.csv"), "febrl4b"}})
			}},
			{name: "Splink fake_1000", key: "fake1000", convert: func(out string) (map[vigie.SourceKey]string, error) {
				return convertFake1000(out, filepath.Join(ldir, "splink", "fake_1000.csv"))
			}},
		} {
			if want[s.key] {
				todo = append(todo, s)
			}
		}
	}
	if len(todo) == 0 {
		return usageErr("no data set to run: give --census DIR, or --linkage DIR for FEBRL and fake_1000")
	}
	if *sample < 0 {
		return usageErr("--sample: %d records: give a positive number, or 0 for whole data sets", *sample)
	}
	if *sample > 0 {
		for i := range todo {
			todo[i].sample, todo[i].seed = *sample, *sampleSeed
			todo[i].name += fmt.Sprintf(" (sample %d, seed %d)", *sample, *sampleSeed)
		}
	}
	var results []*linkageResult
	for i, s := range todo {
		res, err := s.run(context.Background(), filepath.Join(tmp, fmt.Sprint(i)), model, fit, *examples)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		fmt.Fprint(stdout, res.report())
		results = append(results, res)
	}
	fmt.Fprint(stdout, summaryTable(results))
	return nil
}

// linkageSet is one data set: a census folder, or a converter writing an
// identity CSV and returning the truth.
type linkageSet struct {
	name, key string
	dir       string // census output
	convert   func(records string) (map[vigie.SourceKey]string, error)
	// sample, when positive, loads the records of persons drawn at random
	// (seed) until that many records (see sampleRecords).
	sample int
	seed   uint64
}

// linkageResult is what the benchmark measured on one data set.
type linkageResult struct {
	name                string
	rows                int
	refused             map[string]int // by reason
	setAside            map[string]int // rows kept with a trait set aside (an invalid INS), by reason
	acc                 clusterAccuracy
	pending             int
	truePairs, compared int // true pairs, and those the blocking compared
	candidates          int // pairs the blocking gives the scorer, of one person or not
	missedCompared      int // true pairs left apart although compared
	elapsed             time.Duration
	fit                 time.Duration // fitting the model before the load (included in elapsed)
	model               string        // the model linked with
	expected            *matcher.Calibration
	thresholds          [2]float64     // auto-link, review
	missedWhy           map[string]int // true pairs compared yet left apart, by why
	family              *familyMerges  // census only
	examples            []string
	merged              []string // identities holding several persons, with their records
	held                []string // true pairs the model links that the index sent to review, with the reviews
	// certainReviews counts the review items shown graded "certain", and
	// certainWrong those of them pairing two persons: staff read the
	// grade, which must hold the precision of an automatic link.
	certainReviews, certainWrong int
}

// familyMerges counts pairs of distinct persons of one household put in one
// identity.
type familyMerges struct {
	twins, homonyms, household, unrelated int
}

func (s linkageSet) run(ctx context.Context, work string, model *matcher.Model, fit mpi.FitOptions, examples int) (*linkageResult, error) {
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	var recordsPath string
	var truth map[vigie.SourceKey]string
	var persons map[string]censusPerson
	if s.dir != "" {
		recordsPath = filepath.Join(s.dir, "records.csv")
		var err error
		if truth, err = readTruth(filepath.Join(s.dir, "truth.csv")); err != nil {
			return nil, err
		}
		if persons, err = readPersons(filepath.Join(s.dir, "persons.csv")); err != nil {
			return nil, err
		}
	} else {
		recordsPath = filepath.Join(work, "records.csv")
		var err error
		if truth, err = s.convert(recordsPath); err != nil {
			return nil, err
		}
	}
	if s.sample > 0 {
		sampled := filepath.Join(work, "sample.csv")
		var err error
		if truth, err = sampleRecords(recordsPath, sampled, truth, s.sample, s.seed); err != nil {
			return nil, err
		}
		recordsPath = sampled
	}
	res := &linkageResult{name: s.name, refused: map[string]int{}, setAside: map[string]int{}}

	// Import into an empty store, as `vigie import identities` does.
	dataDir := filepath.Join(work, "store")
	db, err := store.Open(dataDir, store.Options{NoSync: true})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ix, err := mpi.Open(db, model, mpi.Options{CacheRecords: importCacheRecords, MaxBlock: benchBlocking.MaxBlock, MinShared: benchBlocking.MinShared, RareBlock: benchBlocking.RareBlock})
	if err != nil {
		return nil, err
	}
	defer ix.Close()
	f, err := os.Open(recordsPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if model == nil {
		var fitLog strings.Builder
		if res.fit, err = fitBeforeLoad(ix, f, recordsPath, fit, &fitLog); err != nil {
			return nil, err
		}
	}
	res.model = ix.ModelInfo().String()
	if ix.ModelInfo().Version == 0 {
		res.model = "model given with --model: " + ix.Model().Source
	}
	res.model += fmt.Sprintf("; homonym guards: first name %s, birth date %s", onOff(ix.Model().FirstNameGuard), onOff(ix.Model().BirthDateGuard))
	res.expected = ix.Model().Calibration
	res.thresholds = [2]float64{ix.Model().AutoLink, ix.Model().Review}
	model = ix.Model()
	sum, err := importIdentities(ctx, ix, db, f, io.Discard, nil, importOptions{
		reject: func(_ int, err error) { res.refused[refusalReason(err)]++ },
		ack: func(_ int, r mpi.Result) {
			for _, w := range r.Warnings {
				res.setAside[warningReason(w)]++
			}
		}})
	if err != nil {
		return nil, err
	}
	res.rows, res.elapsed = sum.Rows, sum.Elapsed+res.fit
	links, err := exportReadLinks(ctx, ix, filepath.Join(work, "links.csv"))
	if err != nil {
		return nil, err
	}
	if res.pending, err = ix.PendingReviews(ctx); err != nil {
		return nil, err
	}
	// A refused record is an identity of its own: its true pairs are lost.
	for k := range truth {
		if _, ok := links[k]; !ok {
			links[k] = "refused " + k.Authority + "/" + k.LocalID
		}
	}
	for k := range links {
		if _, ok := truth[k]; !ok {
			return nil, fmt.Errorf("record %s has no truth row", k)
		}
	}
	res.acc = scoreClusters(links, truth)

	// Replay the blocking on the records in file order.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	var recs []*matcher.Prepared
	var keys []vigie.SourceKey
	var owner []string
	err = ingest.ReadIdentityCSV(bufio.NewReader(f), func(_ int, rec vigie.Record, rerr error) error {
		var p *matcher.Prepared
		if rerr == nil {
			p, _ = matcher.Prepare(&rec)
		}
		k := vigie.SourceKey{Authority: rec.Authority, LocalID: rec.LocalID}
		recs, keys = append(recs, p), append(keys, k)
		owner = append(owner, cmp.Or(truth[k], fmt.Sprintf("unread %d", len(recs))))
		return nil
	})
	if err != nil {
		return nil, err
	}
	blocking := benchBlocking
	blocking.Model = model
	compared, truePairs, candidates := blocking.Replay(recs, owner)
	res.truePairs, res.compared, res.candidates = truePairs, len(compared), candidates
	var missed [][2]int
	group := map[string][]int{}
	res.missedWhy = map[string]int{}
	scoring := model.WithPopulation(max(len(links), 10000))
	// What the index did with the later record of a pair the model alone
	// would link: the reviews it opened say whether a rival identity or a
	// rule of the index held it back.
	reviews, err := ix.Reviews(ctx, 0)
	if err != nil {
		return nil, err
	}
	reviewed := map[vigie.SourceKey]string{}
	reviewsOf := map[vigie.SourceKey][]mpi.Review{}
	for _, r := range reviews {
		if mpi.ReviewGrade(&r, model) == matcher.GradeCertain {
			res.certainReviews++
			if truth[r.Record] != truth[r.Matched] {
				res.certainWrong++
			}
		}
		reviewsOf[r.Record] = append(reviewsOf[r.Record], r)
		why := r.Kind
		if len(r.Rules) > 0 {
			why += " " + strings.Join(r.Rules, "+")
		}
		if prev, ok := reviewed[r.Record]; !ok || prev > why {
			reviewed[r.Record] = why
		}
	}
	for j, o := range owner {
		for _, i := range group[o] {
			if links[keys[i]] != links[keys[j]] {
				missed = append(missed, [2]int{i, j})
				if compared[[2]int{i, j}] {
					res.missedCompared++
					why := missReason(recs, i, j, scoring)
					if why == autoLinkNotLinked {
						if r, ok := reviewed[keys[j]]; ok {
							why = "auto-link score, record sent to review (" + r + ")"
							if len(res.held) < examples {
								res.held = append(res.held, describeHeld(recs, keys, [2]int{i, j}, reviewsOf[keys[j]]))
							}
						} else {
							why = "auto-link score, record linked to another identity"
						}
					}
					res.missedWhy[why]++
				}
			}
		}
		group[o] = append(group[o], j)
	}
	if persons != nil {
		res.family = countFamilyMerges(res.acc, truth, persons)
	}
	if examples > 0 {
		index := map[vigie.SourceKey]int{}
		for i, k := range keys {
			index[k] = i
		}
		for _, id := range res.acc.Collisions {
			if len(res.merged) >= examples {
				break
			}
			var lines []string
			for _, k := range res.acc.Members[id] {
				lines = append(lines, "    "+truth[k]+" "+describeRecord(recs, keys, index[k]))
			}
			res.merged = append(res.merged, "  - identity holding several persons\n"+strings.Join(lines, "\n")+"\n")
		}
	}
	if examples > 0 && len(missed) > 0 {
		step := max(1, len(missed)/examples)
		for n := 0; n < examples && n*step < len(missed); n++ {
			pr := missed[n*step]
			res.examples = append(res.examples, describeMiss(recs, keys, pr, compared[pr], scoring))
		}
	}
	return res, nil
}

// missReason says why a true pair the index compared was left apart, as
// the model scores it alone (no term-frequency table): the first hard rule
// that forbade an automatic link, a probability under the auto-link
// threshold, or neither (the record went to another identity of the same
// person, or a competing identity left no margin).
func missReason(recs []*matcher.Prepared, i, j int, m *matcher.Model) string {
	if recs[i] == nil || recs[j] == nil {
		return "refused record"
	}
	c := matcher.Compare(recs[i], recs[j])
	s := m.Score(&c, nil)
	if !s.AutoLink {
		for _, r := range s.Rules {
			if r.Code != matcher.RuleINSMismatch {
				return "rule " + r.Code
			}
		}
		return "probability under the auto-link threshold"
	}
	return autoLinkNotLinked
}

// autoLinkNotLinked is missReason's answer for a pair the model alone would
// link; the bench then says what the index did with the later record.
const autoLinkNotLinked = "auto-link score, not linked (another identity or no margin)"

// digitsOrQuoted matches what varies between two refusals of one kind.
var digitsOrQuoted = regexp.MustCompile(`"[^"]*"|[0-9]+`)

// refusalReason names why a row was refused, the values left out, so that
// refusals of one kind count together.
// warningReason is a stored row's warning without its values, for
// counting by reason.
func warningReason(w string) string { return digitsOrQuoted.ReplaceAllString(w, "…") }

func refusalReason(err error) string {
	var re *ingest.RowError
	if errors.As(err, &re) {
		err = re.Err
	}
	var ve *vigie.Error
	if errors.As(err, &ve) {
		return ve.Field + ": " + digitsOrQuoted.ReplaceAllString(ve.Message, "…")
	}
	return digitsOrQuoted.ReplaceAllString(err.Error(), "…")
}

// censusPerson is a row of persons.csv.
type censusPerson struct{ household, twinOf, homonymOf string }

func readPersons(path string) (map[string]censusPerson, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(bufio.NewReader(f)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != strings.Join(census.PersonsColumns, ",") {
		return nil, fmt.Errorf("%s: the header must be %s", path, strings.Join(census.PersonsColumns, ","))
	}
	out := make(map[string]censusPerson, len(rows)-1)
	for _, r := range rows[1:] {
		out[r[0]] = censusPerson{household: r[1], twinOf: r[5], homonymOf: r[6]}
	}
	return out, nil
}

// countFamilyMerges counts the pairs of distinct persons put in one
// identity, by what they are to each other.
func countFamilyMerges(a clusterAccuracy, truth map[vigie.SourceKey]string, persons map[string]censusPerson) *familyMerges {
	fm := &familyMerges{}
	seen := map[[2]string]bool{}
	for _, id := range a.Collisions {
		var ps []string
		for _, k := range a.Members[id] {
			if p := truth[k]; !slices.Contains(ps, p) {
				ps = append(ps, p)
			}
		}
		slices.Sort(ps)
		for i, p := range ps {
			for _, q := range ps[i+1:] {
				if seen[[2]string{p, q}] {
					continue
				}
				seen[[2]string{p, q}] = true
				pp, qq := persons[p], persons[q]
				switch {
				case pp.twinOf == q || qq.twinOf == p:
					fm.twins++
				case pp.homonymOf == q || qq.homonymOf == p:
					fm.homonyms++
				case pp.household != "" && pp.household == qq.household:
					fm.household++
				default:
					fm.unrelated++
				}
			}
		}
	}
	return fm
}

// describeMiss shows a true pair left apart: both records as read, whether
// the blocking compared them, and the shipped model's verdict.
func describeMiss(recs []*matcher.Prepared, keys []vigie.SourceKey, pr [2]int, compared bool, model *matcher.Model) string {
	show := func(i int) string { return describeRecord(recs, keys, i) }
	verdict := "never compared (no shared blocking keys enough)"
	if compared {
		verdict = "compared"
	}
	if recs[pr[0]] != nil && recs[pr[1]] != nil {
		c := matcher.Compare(recs[pr[0]], recs[pr[1]])
		s := model.Score(&c, nil)
		verdict += fmt.Sprintf(", weight %.1f bits, probability %.4f", s.Weight, s.Probability)
		for _, r := range s.Rules {
			verdict += ", rule " + r.Code
		}
	}
	return fmt.Sprintf("  - %s\n    %s\n    %s\n", verdict, show(pr[0]), show(pr[1]))
}

// describeRecord shows one record as read.
// describeHeld shows a true pair the index sent to review and the reviews
// the later record opened.
func describeHeld(recs []*matcher.Prepared, keys []vigie.SourceKey, pr [2]int, reviews []mpi.Review) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - %s\n    %s\n", describeRecord(recs, keys, pr[0]), describeRecord(recs, keys, pr[1]))
	for _, r := range reviews {
		fmt.Fprintf(&b, "      review %s %v: candidate's member %s/%s, p %.6f, weight %.1f\n", r.Kind, r.Rules, r.Matched.Authority, r.Matched.LocalID, r.Probability, r.Weight)
	}
	return b.String()
}

func describeRecord(recs []*matcher.Prepared, keys []vigie.SourceKey, i int) string {
	p := recs[i]
	if p == nil {
		return fmt.Sprintf("%s/%s (refused)", keys[i].Authority, keys[i].LocalID)
	}
	r := p.Record
	fields := []string{r.BirthName, r.UsedName, r.FirstName, r.FirstNames, r.BirthDate, r.Sex, r.BirthPlace, r.INS, r.PostalCode, r.City, r.Address, r.Phone}
	return fmt.Sprintf("%s/%s: %s", keys[i].Authority, keys[i].LocalID, strings.Join(fields, " | "))
}

// report is one data set's figures as a Markdown table, ready to paste.
func (r *linkageResult) report() string {
	var b strings.Builder
	a := r.acc
	refused := 0
	var reasons []string
	for why, n := range r.refused {
		refused += n
		reasons = append(reasons, fmt.Sprintf("%d %s", n, why))
	}
	slices.Sort(reasons)
	refusedText := "0"
	if refused > 0 {
		refusedText = fmt.Sprintf("%d (%s)", refused, strings.Join(reasons, "; "))
	}
	pct := func(x, y int) float64 {
		if y == 0 {
			return 0
		}
		return 100 * float64(x) / float64(y)
	}
	fmt.Fprintf(&b, "\n### %s\n\n| measure | value |\n|---|---|\n", r.name)
	fmt.Fprintf(&b, "| records (rows) | %d, of %d persons, %d true pairs |\n", r.rows, a.Persons, a.TruePairs)
	fmt.Fprintf(&b, "| rows refused | %s |\n", refusedText)
	fmt.Fprintf(&b, "| model | %s; auto-link at p ≥ %.6g, review at p ≥ %.6g |\n", r.model, r.thresholds[0], r.thresholds[1])
	if c := r.expected; c != nil {
		fmt.Fprintf(&b, "| expected by the model (pairs compared) | precision %.5f, recall %.5f, review %.2f %% of records |\n", c.ExpectedPrecision(), c.ExpectedRecall(), 100*c.ReviewShare())
	}
	var aside []string
	for why, n := range r.setAside {
		aside = append(aside, fmt.Sprintf("%d %s", n, why))
	}
	slices.Sort(aside)
	if len(aside) > 0 {
		fmt.Fprintf(&b, "| rows kept with a trait set aside | %s |\n", strings.Join(aside, "; "))
	}
	fmt.Fprintf(&b, "| pairwise precision | %.5f (%d pairs linked, %d right) |\n", a.Precision(), a.FoundPairs, a.TP)
	fmt.Fprintf(&b, "| pairwise recall | %.5f |\n", a.Recall())
	fmt.Fprintf(&b, "| F1 | %.5f |\n", a.F1())
	fmt.Fprintf(&b, "| collisions (identities holding ≥ 2 persons) | %d (%.2f per 10,000 persons) |\n", len(a.Collisions), 10000*float64(len(a.Collisions))/float64(max(a.Persons, 1)))
	fmt.Fprintf(&b, "| splits (persons over ≥ 2 identities) | %d (%.2f %% of persons) |\n", len(a.Splits), pct(len(a.Splits), a.Persons))
	fmt.Fprintf(&b, "| review queue | %d (%.2f %% of records) |\n", r.pending, pct(r.pending, r.rows))
	fmt.Fprintf(&b, "| review items graded certain (pairing two persons) | %d (%d) |\n", r.certainReviews, r.certainWrong)
	fmt.Fprintf(&b, "| blocking recall (true pairs compared) | %.5f (%d of %d; %d compared yet left apart) |\n", r.blockingRecall(), r.compared, r.truePairs, r.missedCompared)
	fmt.Fprintf(&b, "| candidates per record (records scored against, replayed) | %.2f |\n", float64(r.candidates)/float64(max(r.rows, 1)))
	if len(r.missedWhy) > 0 {
		var why []string
		for k, n := range r.missedWhy {
			why = append(why, fmt.Sprintf("%d %s", n, k))
		}
		slices.SortFunc(why, func(a, b string) int { return cmp.Compare(b, a) })
		slices.SortStableFunc(why, func(a, b string) int {
			var x, y int
			fmt.Sscan(a, &x)
			fmt.Sscan(b, &y)
			return y - x
		})
		fmt.Fprintf(&b, "| compared yet left apart, why | %s |\n", strings.Join(why, "; "))
	}
	if fm := r.family; fm != nil {
		fmt.Fprintf(&b, "| merged person pairs: twins / father–son homonyms / other same household / unrelated | %d / %d / %d / %d |\n", fm.twins, fm.homonyms, fm.household, fm.unrelated)
	}
	fmt.Fprintf(&b, "| import | %s (%.0f rows/s; fitting the model %s of it) |\n", r.elapsed.Round(time.Millisecond), float64(r.rows)/max(r.elapsed.Seconds(), 1e-9), r.fit.Round(time.Millisecond))
	if len(r.merged) > 0 {
		fmt.Fprintf(&b, "\nIdentities holding several persons (person, then the record):\n\n%s", strings.Join(r.merged, ""))
	}
	if len(r.held) > 0 {
		fmt.Fprintf(&b, "\nTrue pairs the model links, sent to review by the index (the pair, then each review: its candidate's closest member and score):\n\n%s", strings.Join(r.held, ""))
	}
	if len(r.examples) > 0 {
		fmt.Fprintf(&b, "\nMissed true pairs (evenly sampled): birth name | used name | first name | first names | birth date | sex | birthplace | INS | postal code | city | address | phone\n\n%s", strings.Join(r.examples, ""))
	}
	return b.String()
}

func (r *linkageResult) blockingRecall() float64 {
	if r.truePairs == 0 {
		return 0
	}
	return float64(r.compared) / float64(r.truePairs)
}

// summaryTable puts every data set's main figures side by side.
func summaryTable(rs []*linkageResult) string {
	var b strings.Builder
	b.WriteString("\n### Summary\n\n| data set | records | refused | precision (expected) | recall (expected, of pairs compared) | F1 | collisions /10k persons | splits | review % (expected) | blocking recall | rows/s |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		refused := 0
		for _, n := range r.refused {
			refused += n
		}
		a := r.acc
		ep, er, ev := "–", "–", "–"
		if c := r.expected; c != nil {
			ep, er, ev = fmt.Sprintf("%.5f", c.ExpectedPrecision()), fmt.Sprintf("%.5f", c.ExpectedRecall()), fmt.Sprintf("%.2f", 100*c.ReviewShare())
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %.5f (%s) | %.5f (%s) | %.5f | %.2f | %d | %.2f (%s) | %.5f | %.0f |\n", r.name, r.rows, refused, a.Precision(), ep, a.Recall(), er, a.F1(),
			10000*float64(len(a.Collisions))/float64(max(a.Persons, 1)), len(a.Splits), 100*float64(r.pending)/float64(max(r.rows, 1)), ev, r.blockingRecall(),
			float64(r.rows)/max(r.elapsed.Seconds(), 1e-9))
	}
	return b.String()
}

// identityWriter writes an identity CSV in the columns `vigie import
// identities` reads.
type identityWriter struct {
	f  *os.File
	bw *bufio.Writer
	cw *csv.Writer
}

func newIdentityWriter(path string) (*identityWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriter(f)
	w := &identityWriter{f: f, bw: bw, cw: csv.NewWriter(bw)}
	return w, w.cw.Write(ingest.IdentityColumns)
}

func (w *identityWriter) write(r vigie.Record) error {
	return w.cw.Write([]string{r.Authority, r.LocalID, r.INS, r.INSOID, r.Status, r.BirthName, r.UsedName, r.FirstNames, r.FirstName,
		r.BirthDate, r.Sex, r.BirthPlace, r.PostalCode, r.City, r.Address, r.Phone, r.Email})
}

func (w *identityWriter) close() error {
	w.cw.Flush()
	err := errors.Join(w.cw.Error(), w.bw.Flush())
	return errors.Join(err, w.f.Close())
}

// readCSVHeader opens a CSV file and maps its column names (trimmed) to
// their positions, checking the ones needed.
func readCSVHeader(path string, need ...string) (*csv.Reader, map[string]int, func() error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	r := csv.NewReader(bufio.NewReader(f))
	r.TrimLeadingSpace = true
	head, err := r.Read()
	if err != nil {
		f.Close()
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(h)] = i
	}
	for _, c := range need {
		if _, ok := col[c]; !ok {
			f.Close()
			return nil, nil, nil, fmt.Errorf("%s: column %s missing", path, c)
		}
	}
	return r, col, f.Close, nil
}

// convertFEBRL writes FEBRL files (path, authority) as one identity CSV and
// returns the truth. FEBRL is Australian: given name, surname, birth date
// (YYYYMMDD, kept verbatim, impossible dates included), street number and
// both address lines (one address, as a French site types its second line
// after the first), postcode and suburb map onto the French traits; soc_sec_id is
// not an INS and is left out; there is no sex. rec-N-org and rec-N-dup-K
// are person N.
func convertFEBRL(out string, files [][2]string) (map[vigie.SourceKey]string, error) {
	w, err := newIdentityWriter(out)
	if err != nil {
		return nil, err
	}
	truth := map[vigie.SourceKey]string{}
	for _, file := range files {
		r, col, closeFile, err := readCSVHeader(file[0], "rec_id", "given_name", "surname", "street_number", "address_1", "address_2", "suburb", "postcode", "date_of_birth")
		if err != nil {
			w.close()
			return nil, err
		}
		for {
			row, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				closeFile()
				w.close()
				return nil, fmt.Errorf("%s: %w", file[0], err)
			}
			get := func(c string) string { return strings.TrimSpace(row[col[c]]) }
			id := get("rec_id")
			parts := strings.Split(id, "-")
			if len(parts) < 3 {
				closeFile()
				w.close()
				return nil, fmt.Errorf("%s: rec_id %q is not rec-N-org or rec-N-dup-K", file[0], id)
			}
			rec := vigie.Record{Authority: file[1], LocalID: id, BirthName: get("surname"), FirstName: get("given_name"), BirthDate: get("date_of_birth"),
				PostalCode: get("postcode"), City: get("suburb"), Address: strings.Join(strings.Fields(get("street_number")+" "+get("address_1")+" "+get("address_2")), " ")}
			if err := w.write(rec); err != nil {
				closeFile()
				w.close()
				return nil, err
			}
			truth[vigie.SourceKey{Authority: rec.Authority, LocalID: rec.LocalID}] = parts[1]
		}
		closeFile()
	}
	return truth, w.close()
}

// convertFake1000 writes Splink's fake_1000 as an identity CSV: first name,
// surname, birth date, city and e-mail; no sex; the truth is the cluster
// column.
func convertFake1000(out, path string) (map[vigie.SourceKey]string, error) {
	r, col, closeFile, err := readCSVHeader(path, "unique_id", "first_name", "surname", "dob", "city", "email", "cluster")
	if err != nil {
		return nil, err
	}
	defer closeFile()
	w, err := newIdentityWriter(out)
	if err != nil {
		return nil, err
	}
	truth := map[vigie.SourceKey]string{}
	for {
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			w.close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		get := func(c string) string { return strings.TrimSpace(row[col[c]]) }
		rec := vigie.Record{Authority: "fake_1000", LocalID: get("unique_id"), BirthName: get("surname"), FirstName: get("first_name"), BirthDate: get("dob"), City: get("city"), Email: get("email")}
		if err := w.write(rec); err != nil {
			w.close()
			return nil, err
		}
		truth[vigie.SourceKey{Authority: rec.Authority, LocalID: rec.LocalID}] = get("cluster")
	}
	return truth, w.close()
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
