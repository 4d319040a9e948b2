package matcher

import (
	"testing"

	"vigie"
)

var benchRecords = []vigie.Record{
	{Authority: "1.2.250.1.213.1.1.1.3", LocalID: "00012345", BirthName: "DE LA FONTAINE ÉPOUSE MARTIN", FirstNames: "MARIE-HÉLÈNE JEANNE",
		BirthDate: "1958-11-03", Sex: "F", BirthPlace: "33063", PostalCode: "33000", City: "Bordeaux", Address: "12 av. Jean Jaurès", Phone: "05 56 00 00 01",
		INS: "258113306312345", INSOID: OIDINSNIR},
	{Authority: "1.2.250.1.213.1.1.1.7", LocalID: "A778", BirthName: "Lafontaine", UsedName: "Martin", FirstName: "Marie Helene",
		BirthDate: "03/11/1958", Sex: "2", PostalCode: "33000", City: "BORDEAUX", Address: "12 AVENUE JEAN-JAURES"},
}

func init() {
	// give the first benchmark record a valid key
	body := benchRecords[0].INS[:13]
	k, _ := INSKey(body)
	benchRecords[0].INS = body + k
}

// BenchmarkPrepare measures normalising a record and computing its keys.
func BenchmarkPrepare(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r := &benchRecords[i%2]
		p, err := Prepare(r)
		if err != nil {
			b.Fatal(err)
		}
		_ = BlockingKeys(p)
	}
}

// BenchmarkScore measures comparing and scoring one candidate pair.
func BenchmarkScore(b *testing.B) {
	m := DefaultModel()
	x, err := Prepare(&benchRecords[0])
	if err != nil {
		b.Fatal(err)
	}
	y, err := Prepare(&benchRecords[1])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		c := Compare(x, y)
		_ = m.Score(&c, nil)
	}
}
