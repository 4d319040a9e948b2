package search_test

import (
	"context"
	"fmt"

	"vigie"
	"vigie/matcher"
	"vigie/search"
)

// A clinician types a name without its particle and a first name cut short;
// the identity holding both sites' records comes first, as probable: the
// choice stays with the clinician.
func ExampleIndex_Search() {
	x, _ := search.Open("", matcher.DefaultModel(), search.Options{Population: func() int { return 1_000_000 }})
	defer x.Close()
	_ = x.Batch([]search.Entry{
		{ID: "17", Members: []vigie.Record{
			{Authority: "1.2.250.1.213.1.1.1.3", LocalID: "12345", BirthName: "DE LA FONTAINE", FirstNames: "JEAN-PIERRE", BirthDate: "1961-04-09", Sex: "M"},
			{Authority: "1.2.250.1.213.1.1.1.7", LocalID: "A-778", BirthName: "DELAFONTAINE", FirstName: "JEAN PIERRE", BirthDate: "1961-04-09", Sex: "M"},
		}},
		{ID: "23", Members: []vigie.Record{
			{Authority: "1.2.250.1.213.1.1.1.3", LocalID: "67890", BirthName: "FONTAINE", FirstNames: "JEAN", BirthDate: "1988-02-11", Sex: "M"},
		}},
	}, nil)
	hits, _ := x.Search(context.Background(), search.Query{BirthName: "La Fontaine", FirstNames: "Jean", BirthDate: "1961-04-09"})
	for _, h := range hits {
		fmt.Println(h.ID, h.Grade, len(h.Sources))
	}
	// Output:
	// 17 probable 2
	// 23 certainly-not 1
}
