package matcher

// StartingModel returns the parameters EM starts from and the fallback when
// no training data exists: m and u set by judgement from the error rates of
// regional hospital data, not fitted. Train replaces them.
func StartingModel() *Model {
	m := &Model{
		Version:          ModelVersion,
		Source:           "starting values set by judgement (not trained)",
		MatchesPerRecord: 0.8,
		Population:       1_000_000,
		AutoLink:         0.999,
		Review:           0.5,
		TFMinimum:        1e-6,
		FirstNameGuard:   true,
		BirthDateGuard:   true,
	}
	set := func(f Field, mu, u []float64) {
		if err := m.SetParams(f, FieldParams{M: mu, U: u}); err != nil {
			panic(err)
		}
	}
	//                                 exact  variant compound cross  swapped typo   phonetic similar different
	set(FieldName, []float64{0.86, 0.02, 0.01, 0.03, 0.003, 0.03, 0.01, 0.007, 0.02},
		[]float64{0.002, 0.0003, 0.0003, 0.0003, 1e-5, 0.001, 0.002, 0.008, 0.986})
	set(FieldFirstName, []float64{0.84, 0.03, 0.04, 1e-4, 0.003, 0.03, 0.015, 0.012, 0.03},
		[]float64{0.01, 0.002, 0.003, 1e-5, 1e-5, 0.003, 0.004, 0.02, 0.958})
	//                                 exact  placeholder swap  one-off partial different
	set(FieldBirthDate, []float64{0.95, 0.004, 0.005, 0.025, 0.006, 0.01},
		[]float64{4e-5, 1e-5, 3e-5, 2e-3, 1e-3, 0.99692})
	set(FieldSex, []float64{0.997, 0.003}, []float64{0.5, 0.5})
	set(FieldBirthPlace, []float64{0.96, 0.015, 0.025}, []float64{0.01, 0.08, 0.91})
	set(FieldINS, []float64{0.999, 0.001}, []float64{1e-8, 1})
	//                                 address and phone, address (no phone), address (other phone), phone, postal code, département, different
	set(FieldHousehold, []float64{0.35, 0.2, 0.1, 0.07, 0.08, 0.1, 0.1}, []float64{1e-6, 2e-4, 2e-4, 1e-5, 0.005, 0.1, 0.894589})
	set(FieldEmail, startEmail.M, startEmail.U)
	return m
}

// startEmail is the e-mail field's starting m and u. A person's two
// records carry one address more often than not, but addresses change and
// are typed with slips; two records of different persons share one mostly
// within a family (a parent's address on a child's record), which the
// household cap accounts for rather than u. A near address is likelier by
// chance than the same one (jdupont@ and mdupont@ at one provider).
//
//	same   near   different
var startEmail = FieldParams{
	M: []float64{0.65, 0.1, 0.25},
	U: []float64{2e-5, 1e-4, 0.99988},
}
