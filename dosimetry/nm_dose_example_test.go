package dosimetry_test

import (
	"fmt"

	"vigie/dosimetry"
	"vigie/ledger"
)

// The nuclear-medicine estimate of an FDG PET of a 63-year-old: the
// activity times the adult coefficients of the shipped table.
func ExampleNMCoefficients_Exam() {
	e := &ledger.Entry{NewEvents: 1, Exam: ledger.Exam{Domain: ledger.DomainNM, Patient: ledger.PatientSize{Age: "063Y"},
		NM: &ledger.NMDose{Administrations: []ledger.Administration{{
			Radiopharmaceutical: ledger.Code{Value: "C-B1031", Scheme: "SRT", Meaning: "Fluorodeoxyglucose F^18^"},
			Radionuclide:        ledger.Code{Value: "C-111A1", Scheme: "SRT", Meaning: "^18^Fluorine"},
			Activity:            &ledger.Quantity{Value: 394, Unit: "MBq"}}}}}}
	est := dosimetry.DefaultNMCoefficients().Exam(e)
	effective, organ := est.Labels()
	a := est.Administrations[0]
	fmt.Println(effective)
	fmt.Println(organ)
	fmt.Println(a.MSvPerMBq, "mSv/MBq,", a.Reference)
	// Output:
	// 7,49 mSv (adulte)
	// vessie : 63,04 mGy
	// 0.019 mSv/MBq, adulte
}
