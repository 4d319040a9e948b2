package bench

import (
	"fmt"
	"io"
	"os"
	"time"

	"vigie/linkeval"
	"vigie/matcher"
)

// MatchOptions says how `vigie bench match` scores a labelled data set.
type MatchOptions struct {
	// Model scores the pairs; nil trains one on the data set itself,
	// without its labels.
	Model *matcher.Model
	// WriteModel, when set, receives the model trained on the data.
	WriteModel  string
	MaxBlock    int // blocking keys shared by more records are skipped
	RandomPairs int // random pairs that estimate the u probabilities
	Examples    int // false links printed, explained
}

// Match blocks the labelled data set d, trains a model on it unless o
// gives one, scores its candidate pairs and prints precision, recall and
// F1 against the labels (the scorer alone, no patient index).
func Match(d *linkeval.Dataset, o MatchOptions, stdout io.Writer) error {
	t0 := time.Now()
	p := linkeval.Prepare(d, o.MaxBlock)
	fmt.Fprintf(stdout, "%s: %d records (%d refused by validation), prepared and blocked in %s\n", d.Name, len(d.Records), p.Refused, time.Since(t0).Round(time.Millisecond))
	m := o.Model
	if m == nil {
		t1 := time.Now()
		var rep matcher.TrainReport
		var err error
		m, rep, err = p.Train(matcher.StartingModel(), o.RandomPairs, 1)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "trained on the data itself, without labels, in %s\n%s", time.Since(t1).Round(time.Millisecond), rep)
		fmt.Fprintf(stdout, "prior: %.3f matches per record among %d\n", m.MatchesPerRecord, m.Population)
		if o.WriteModel != "" {
			data, err := m.MarshalJSON()
			if err != nil {
				return err
			}
			if err := os.WriteFile(o.WriteModel, append(data, '\n'), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "model written to %s\n", o.WriteModel)
		}
	}
	t2 := time.Now()
	met := p.Evaluate(m, o.Examples)
	fmt.Fprint(stdout, met.Report(d.Name))
	fmt.Fprintf(stdout, "  scored %d pairs in %s\n", met.Candidates, time.Since(t2).Round(time.Millisecond))
	for _, ex := range met.FalseExamples {
		fmt.Fprintf(stdout, "\nfalse link:\n%s", ex)
	}
	fmt.Fprintln(stdout)
	return nil
}
