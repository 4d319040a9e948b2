package mpi_test

import (
	"fmt"

	"vigie"
	"vigie/mpi"
	"vigie/store"
	"vigie/synth"
)

// The first load of a new region: the model is fitted on the feed's own
// records before any of them is linked, and kept in the store as its
// current version (a later Open scores with it).
func ExampleIndex_FitAtFirstLoad() {
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		panic(err)
	}
	defer db.Close()
	ix, err := mpi.Open(db, nil, mpi.Options{}) // the store's model: none yet, so the shipped one
	if err != nil {
		panic(err)
	}
	defer ix.Close()
	fmt.Println("before:", ix.ModelInfo().Origin, "version", ix.ModelInfo().Version)

	var feed []vigie.Record
	if _, err := synth.Generate(synth.DefaultConfig(1500, 5), func(r *synth.Record) error {
		feed = append(feed, r.Traits())
		return nil
	}); err != nil {
		panic(err)
	}
	rep, info, err := ix.FitAtFirstLoad(feed, "region.csv", mpi.FitOptions{RandomPairs: 20000})
	if err != nil {
		panic(err)
	}
	fmt.Println("fitted:", rep.Fitted, "on", info.Records == len(feed), "records")
	fmt.Println("after:", info.Origin, "version", info.Version, "of", info.File)
	c := ix.Model().Calibration
	// Then ix.Import links the feed with the fitted model.
	fmt.Println("expected precision reaches the target:", c.ExpectedPrecision() >= c.TargetPrecision)
	// Output:
	// before: shipped version 1
	// fitted: true on true records
	// after: fitted version 2 of region.csv
	// expected precision reaches the target: true
}
