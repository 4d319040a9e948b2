package synth_test

import (
	"fmt"

	"vigie/synth"
)

func ExampleGenerate() {
	cfg := synth.DefaultConfig(1000, 1) // built-in names: cfg.Names is nil
	cfg.Errors.NameTypo = 0.05          // every rate can be changed
	var twins, withINS int
	st, err := synth.Generate(cfg, func(r *synth.Record) error {
		if r.INS != "" {
			withINS++
		}
		if r.Person.Twin != nil {
			twins++
		}
		return nil
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(st.Persons, "persons")
	fmt.Println("several records per person:", st.RecordsPerPerson() > 1.5)
	fmt.Println("records with an INS counted:", withINS == st.WithINS)
	fmt.Println("twins:", twins > 0)
	// Output:
	// 1000 persons
	// several records per person: true
	// records with an INS counted: true
	// twins: true
}
