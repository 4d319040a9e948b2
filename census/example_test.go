package census_test

import (
	"fmt"
	"os"

	"vigie/census"
)

// Generate a small population (built-in name lists: no files needed) and
// write its first records; WriteFiles writes the whole population as
// records.csv, truth.csv and persons.csv.
func ExampleGenerate() {
	cfg := census.NewConfig(2000, 101)
	pop, err := census.Generate(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	st := pop.Stats
	fmt.Printf("%d persons in %d households, %d records at %d sites, names from %s\n", st.Persons, st.Households, st.Records, st.Sites, st.NamesSource)
	pop.Records = pop.Records[:4]
	if err := pop.WriteRecords(os.Stdout, false); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 2000 persons in 761 households, 3705 records at 30 sites, names from built-in lists
	// authority,local_id,ins,ins_oid,status,birth_name,used_name,first_names,first_name,birth_date,sex,birth_place
	// 1.2.250.1.71.4.2.1.490000729,00100112,,,PROV,Brunet,,,Christine,2009-04-28,F,
	// 1.2.250.1.71.4.2.1.350000988,SP00810117,,,PROV,DHERVE,,THOMAS ALAIN,THOMAS,2018-06-28,M,
	// 1.2.250.1.71.4.2.1.440000248,00420053,182092910327873,1.2.250.1.213.1.4.8,QUAL,DUBOIS,,PHILIPPE,PHILIPPE,1982-09-11,M,29103
	// 1.2.250.1.71.4.2.1.440001136,00220043,,,PROV,GUERIN,,,MICHEL,1981-12-11,M,22113
}
