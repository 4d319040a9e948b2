package main

import (
	"flag"

	"vigie/dosimetry"
)

// nmCoefficientsFlag registers --nm-coefficients: a physicist's table of
// nuclear-medicine dose coefficients, in the layout of the shipped one
// (dosimetry/nm_dose_coefficients.tsv, see dosimetry.LoadNMCoefficients).
func nmCoefficientsFlag(fs *flag.FlagSet) *string {
	return fs.String("nm-coefficients", "", "nuclear-medicine dose coefficients of the site's physicist (tab-separated, the layout of the shipped dosimetry/nm_dose_coefficients.tsv, every row citing its source); default: the shipped table")
}

// loadNMCoefficients loads and checks the --nm-coefficients file: nil
// for none (the shipped table); an error names the file and the line.
func loadNMCoefficients(path string) (*dosimetry.NMCoefficients, error) {
	if path == "" {
		return nil, nil
	}
	return loadFlagFile("nm-coefficients", path, dosimetry.DefaultNMCoefficients, dosimetry.LoadNMCoefficients)
}

// doseCoefficients are the shipped effective-dose coefficients with the
// nuclear-medicine table nm (nil: the shipped one).
func doseCoefficients(nm *dosimetry.NMCoefficients) *dosimetry.Coefficients {
	c := dosimetry.DefaultCoefficients()
	c.NM = nm
	return c
}

// nmTable is nm, or the shipped table when nil.
func nmTable(nm *dosimetry.NMCoefficients) *dosimetry.NMCoefficients {
	if nm == nil {
		return dosimetry.DefaultNMCoefficients()
	}
	return nm
}
