package fhir

import (
	"testing"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"vigie"
)

// TestPatientTelecom: the golden record's phone and e-mail are the
// Patient's telecom, each with its system.
func TestPatientTelecom(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rec   vigie.Record
		want  []fm.ContactPointSystem
		value []string
	}{
		{"neither", vigie.Record{BirthName: "ROUX"}, nil, nil},
		{"phone", vigie.Record{Phone: "0556000000"}, []fm.ContactPointSystem{fm.ContactPointSystemPhone}, []string{"0556000000"}},
		{"e-mail", vigie.Record{Email: "anne.roux@example.fr"}, []fm.ContactPointSystem{fm.ContactPointSystemEmail}, []string{"anne.roux@example.fr"}},
		{"both", vigie.Record{Phone: "0556000000", Email: "anne.roux@example.fr"},
			[]fm.ContactPointSystem{fm.ContactPointSystemPhone, fm.ContactPointSystemEmail}, []string{"0556000000", "anne.roux@example.fr"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := patient(7, &tc.rec, nil, nil)
			if len(p.Telecom) != len(tc.want) {
				t.Fatalf("telecom %+v, want %d entries", p.Telecom, len(tc.want))
			}
			for i, c := range p.Telecom {
				if c.System == nil || *c.System != tc.want[i] || c.Value == nil || *c.Value != tc.value[i] {
					t.Errorf("telecom[%d] = %v %v, want %v %s", i, c.System, c.Value, tc.want[i], tc.value[i])
				}
			}
		})
	}
}
