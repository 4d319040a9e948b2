package ledger

import "testing"

func TestNuclideNames(t *testing.T) {
	for _, c := range []struct {
		pharma, nuclide Code
		want            string
	}{
		{Code{Meaning: "Fluorodeoxyglucose F^18^"}, Code{Meaning: "^18^Fluorine"}, "FDG / F 18"},
		{Code{Meaning: "Technetium Tc^99m^ sestamibi"}, Code{Meaning: "^99m^Technetium"}, "MIBI / Tc 99m"},
		{Code{Meaning: "Sestamibi"}, Code{Meaning: "Tc-99m"}, "MIBI / Tc 99m"},
		{Code{Meaning: "Sodium fluoride F^18^"}, Code{Meaning: "^18^Fluorine"}, "NaF / F 18"},
		{Code{Meaning: "FDG"}, Code{Meaning: "F-18"}, "FDG / F 18"},
		{Code{Meaning: "Iobenguane"}, Code{Meaning: "^123^Iodine"}, "MIBG / I 123"},
		{Code{}, Code{Meaning: "^68^Gallium"}, "Ga 68"},
		{Code{Meaning: "Fluorodeoxyglucose F^18^"}, Code{}, "FDG"},
		{Code{Meaning: "Technetium Tc^99m^ medronate"}, Code{Meaning: "^99m^Technetium"}, "MDP / Tc 99m"},
		{Code{Meaning: "DPD"}, Code{Value: "C-163A8", Scheme: "99SDM", Meaning: "99m Technetium"}, "DPD / Tc 99m"},
		{Code{Meaning: "Unobtainium X^42^"}, Code{Meaning: "^42^Unobtainium"}, "Unobtainium / Unobtainium 42"},
	} {
		a := Activity{Radiopharmaceutical: RadiopharmaceuticalName(c.pharma), Radionuclide: RadionuclideName(c.nuclide)}
		if got := a.Label(); got != c.want {
			t.Errorf("%q / %q: %q, want %q", c.pharma.Meaning, c.nuclide.Meaning, got, c.want)
		}
	}
}
