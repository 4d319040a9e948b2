package matcher_test

import (
	"fmt"

	"vigie"
	"vigie/matcher"
)

// Two records of one woman from two sites: one system is ASCII-only and
// typed her name in use as her birth name, with day and month swapped.
func Example() {
	a, _ := matcher.Prepare(&vigie.Record{Authority: "1.2.250.1.213.1.1.1.3", LocalID: "12345",
		BirthName: "Lefèvre", UsedName: "Dupont", FirstNames: "Hélène Marie", BirthDate: "1961-04-09", Sex: "F", BirthPlace: "33063"})
	b, _ := matcher.Prepare(&vigie.Record{Authority: "1.2.250.1.213.1.1.1.7", LocalID: "A-778",
		BirthName: "DUPONT", FirstName: "HELENE", BirthDate: "1961-09-04", Sex: "F", BirthPlace: "33063"})
	c := matcher.Compare(a, b)
	s := matcher.DefaultModel().WithPopulation(5_000_000).Score(&c, nil)
	for _, f := range s.Fields[:5] {
		fmt.Printf("%-11s %s\n", f.Field, f.Field.LevelName(f.Level))
	}
	fmt.Println(s.Grade)
	// Output:
	// name        cross
	// first_name  exact
	// birth_date  day_month_swap
	// sex         same
	// birth_place same
	// probable
}
