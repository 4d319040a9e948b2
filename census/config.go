package census

import (
	"fmt"
	"reflect"
	"time"
)

// Config drives one generation. Start from NewConfig; every rate is a
// probability in [0, 1].
type Config struct {
	Persons int    // persons to generate (the last household may be cut short)
	Seed    uint64 // same seed and config: same files, byte for byte
	Sites   int    // establishments (default 30)
	Names   *Names // name distributions; nil: the built-in lists

	// HouseholdColumns writes address, postal_code, city and phone; off,
	// the same records are written without those four columns, so that
	// a benchmark can compare linkage with and without household evidence.
	HouseholdColumns bool
	// Today is the date ages are counted from (default 2025-06-30; fixed so
	// that the output does not depend on the clock).
	Today time.Time

	Homes  HomeRates
	Visits VisitRates
	Errors ErrorRates
}

// HomeRates shape households and families.
type HomeRates struct {
	// Mix weighs the kinds of household: alone, couple without children at
	// home, couple with children, lone parent, three generations (default
	// 0.30, 0.22, 0.35, 0.08, 0.05).
	Mix [5]float64
	// TwinBirths is the share of births that are twins (default 0.02).
	TwinBirths float64
	// PairedTwinNames is the share of boy–girl twins given paired names
	// (LOUIS and LOUISE) when the list has the pair (default 0.3).
	PairedTwinNames float64
	// FatherSonHomonym is the share of sons living with their father who
	// bear his first first name, of those whose brothers do not already
	// bear it (default 0.06).
	FatherSonHomonym float64
	// Married is the share of couples in which the woman uses her
	// husband's name (default 0.55); widows keep it (default 0.7).
	Married, WidowKeepsName float64
	// DoubleSurname is the share of children given both parents' surnames,
	// hyphenated (default 0.05).
	DoubleSurname float64
	// CompoundFirstName is the share of persons born 1930–1999 given a
	// hyphenated compound first name built from two names (JEAN-MARC) on
	// top of those the name lists already hold (default 0.06).
	CompoundFirstName float64
	// ParticleSurname is the share of persons given a surname with a
	// particle or a space from the built-in list (LE GOFF, DE LA
	// FONTAINE, D'ALMEIDA) on top of those the name lists hold (default
	// 0.03).
	ParticleSurname float64
	// BornAbroad is the share of adults born abroad (99xxx) (default 0.08).
	BornAbroad float64
	// PersonalMobile is the share of adults with a mobile of their own,
	// given instead of the home's phone at some visits (default 0.5).
	PersonalMobile float64
	// Moved is the share of households that moved: some records carry the
	// former address and phone (default 0.08).
	Moved float64
}

// VisitRates shape how persons become records.
type VisitRates struct {
	// MeanSites is the mean number of distinct sites a person visits,
	// above the first, for ages under 18, 18–64 and 65 and over (default
	// 0.5, 0.8, 1.6).
	MeanSites [3]float64
	// NearSite is the share of visits to a site in the person's own
	// département (default 0.75).
	NearSite float64
	// Duplicate is the share of records followed by a second record of the
	// same person at the same site, under a new local id (default 0.03).
	Duplicate float64
	// INSCoverage is the share of records whose identity was retrieved
	// from the INSi teleservice: they carry the INS and its traits
	// (default 0.15).
	INSCoverage float64
	// Qualified is the share of QUAL among records with an INS; the others
	// are RECUP (default 0.75).
	Qualified float64
	// Validated is the share of VALI among records without an INS (checked
	// against a document, typed by hand: fewer errors); the others are PROV
	// (default 0.15).
	Validated float64
	// Scanned is the share of records typed from a scanned form read by OCR
	// at the sites that scan (default 0.3).
	Scanned float64
}

// ErrorRates are the capture errors of records typed at a desk or read
// from a scan; records retrieved from INSi carry clean traits. Rates marked
// "per name" apply to the birth name, the used name and the first name
// separately. ErrorRates.Scaled multiplies them all.
type ErrorRates struct {
	KeyboardTypo   float64 // per name: an AZERTY slip (neighbour key, key missed, key struck twice, two keys swapped) (default 0.025)
	OCRConfusion   float64 // per name of a scanned record: RN↔M, CL↔D, I↔L, U↔V, O↔Q, E↔F, H↔N (default 0.25)
	AccentsDropped float64 // names typed without accents at a site that keeps them (default 0.15)
	SpaceChanged   float64 // a space or hyphen in a name glued or changed against the site's habit: LE GOFF/LEGOFF, JEAN PIERRE/JEAN-PIERRE (default 0.12)
	ParticleLost   float64 // surname particle dropped: DE LA FONTAINE → FONTAINE (default 0.04)
	NamesSwapped   float64 // surname and first name in each other's field (default 0.008)
	UsedAsBirth    float64 // a woman's used name typed in the birth-name field (default 0.15)
	UsedMissing    float64 // a woman's used name not recorded (default 0.35)
	OnlyFirstPart  float64 // a compound first name cut to its first part: JEAN-PIERRE → JEAN (default 0.12)
	Abbreviated    float64 // a compound first name abbreviated: J-PIERRE, J.PIERRE, JP (default 0.04)
	ListMissing    float64 // the list of first names left empty (default 0.45)
	YearOffOne     float64 // birth year ±1 (default 0.006)
	YearOffTen     float64 // birth year ±10 (default 0.003)
	DayMonthSwap   float64 // day and month swapped, when the day is 12 or less (default 0.006)
	DayWrong       float64 // day off by one or a neighbouring digit (default 0.004)
	JanuaryFirst   float64 // birth date typed as 1 January of the year (default 0.004)
	DateMissing    float64 // no birth date (default 0.006)
	SexUnknown     float64 // sex empty or U (default 0.04)
	PlaceMissing   float64 // no birthplace on a typed record (default 0.45)
	AddressMissing float64 // no address line, postal code or city (default 0.12)
	PhoneMissing   float64 // no phone (default 0.35)
	ParentINS      float64 // of a child's records with an INS: the mother's or father's INS instead (default 0.02)
	INSTransposed  float64 // of records with an INS: two neighbouring digits swapped (default 0.004)
}

// NewConfig returns the documented defaults for n persons and a seed.
func NewConfig(persons int, seed uint64) Config {
	return Config{
		Persons:          persons,
		Seed:             seed,
		Sites:            30,
		HouseholdColumns: true,
		Today:            time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC),
		Homes: HomeRates{
			Mix:               [5]float64{0.30, 0.22, 0.35, 0.08, 0.05},
			TwinBirths:        0.02,
			PairedTwinNames:   0.3,
			FatherSonHomonym:  0.06,
			Married:           0.55,
			WidowKeepsName:    0.7,
			DoubleSurname:     0.05,
			CompoundFirstName: 0.06,
			ParticleSurname:   0.03,
			BornAbroad:        0.08,
			PersonalMobile:    0.5,
			Moved:             0.08,
		},
		Visits: VisitRates{
			MeanSites:   [3]float64{0.5, 0.8, 1.6},
			NearSite:    0.75,
			Duplicate:   0.03,
			INSCoverage: 0.15,
			Qualified:   0.75,
			Validated:   0.15,
			Scanned:     0.3,
		},
		Errors: ErrorRates{
			KeyboardTypo:   0.025,
			OCRConfusion:   0.25,
			AccentsDropped: 0.15,
			SpaceChanged:   0.12,
			ParticleLost:   0.04,
			NamesSwapped:   0.008,
			UsedAsBirth:    0.15,
			UsedMissing:    0.35,
			OnlyFirstPart:  0.12,
			Abbreviated:    0.04,
			ListMissing:    0.45,
			YearOffOne:     0.006,
			YearOffTen:     0.003,
			DayMonthSwap:   0.006,
			DayWrong:       0.004,
			JanuaryFirst:   0.004,
			DateMissing:    0.006,
			SexUnknown:     0.04,
			PlaceMissing:   0.45,
			AddressMissing: 0.12,
			PhoneMissing:   0.35,
			ParentINS:      0.02,
			INSTransposed:  0.004,
		},
	}
}

// Scaled returns the rates multiplied by f, each capped at 1: 0 gives
// clean records, 2 twice as many errors.
func (e ErrorRates) Scaled(f float64) ErrorRates {
	v := reflect.ValueOf(&e).Elem()
	for i := range v.NumField() {
		v.Field(i).SetFloat(min(1, v.Field(i).Float()*f))
	}
	return e
}

// check refuses a config the generator cannot honour.
func (c *Config) check() error {
	if c.Persons < 1 {
		return fmt.Errorf("census: %d persons: at least 1 is needed", c.Persons)
	}
	if c.Sites < 1 || c.Sites > 9999 {
		return fmt.Errorf("census: %d sites: between 1 and 9999", c.Sites)
	}
	rates := func(name string, s any) error {
		v := reflect.ValueOf(s)
		for i := range v.NumField() {
			f := v.Field(i)
			var xs []float64
			switch f.Kind() {
			case reflect.Float64:
				xs = []float64{f.Float()}
			case reflect.Array:
				for j := range f.Len() {
					xs = append(xs, f.Index(j).Float())
				}
			}
			for _, x := range xs {
				if x < 0 || x > 1 && v.Type().Field(i).Name != "MeanSites" {
					return fmt.Errorf("census: %s.%s = %g: not a rate in [0, 1]", name, v.Type().Field(i).Name, x)
				}
			}
		}
		return nil
	}
	for _, s := range []struct {
		name string
		v    any
	}{{"Homes", c.Homes}, {"Visits", c.Visits}, {"Errors", c.Errors}} {
		if err := rates(s.name, s.v); err != nil {
			return err
		}
	}
	var mix float64
	for _, w := range c.Homes.Mix {
		mix += w
	}
	if mix <= 0 {
		return fmt.Errorf("census: Homes.Mix has no positive weight")
	}
	return nil
}
