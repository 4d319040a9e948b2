package synth

import (
	"fmt"
	"time"
)

// Config drives one generation. Start from DefaultConfig and change what a
// benchmark needs; every rate is a probability in [0, 1].
type Config struct {
	Persons int    // real persons to generate (anonymous records add their own persons)
	Seed    uint64 // same seed, same config, same names: same output, byte for byte
	Sites   int    // establishments of the network (default 40; the first 44 have real names)
	Names   *Names // name distributions; nil means BuiltinNames()

	// RefDate is "today": ages and birth dates are computed from it
	// (default 2025-01-01, fixed so that output does not depend on the clock).
	RefDate time.Time
	// Window is how many records are buffered and shuffled together before
	// they get their local ids and are written (default 65,536): records of
	// one household do not come out together, memory stays bounded.
	Window int

	Population PopulationRates
	Records    RecordRates
	Errors     ErrorRates
}

// PopulationRates shape the persons and their families.
type PopulationRates struct {
	BornAbroad       float64 // share of the population born abroad, birthplace 99xxx (default 0.07)
	BornOtherFrance  float64 // born in France outside Nouvelle-Aquitaine, incl. Corsica and overseas (default 0.20)
	BornOtherNADept  float64 // born in another département of the region than the one they live in (default 0.15)
	LiveOutsideNA    float64 // households living outside the region (default 0.03)
	OriginNames      float64 // people born abroad who carry names of their country of birth (default 0.75)
	Twins            float64 // births that are twins: same surname, date and place, different first names (default 0.015)
	FatherSonHomonym float64 // sons given their father's first first name (default 0.035: about 1 % of persons)
	Namesakes        float64 // adults given the surname and first name of another recent person (default 0.01)
	NamesakeSameYear float64 // of those namesakes, also born the same year (default 0.5)
	// UsageName is the target share of adult women who use a married name
	// (their spouse's surname) (default 0.55). Women living with a husband
	// share his name more often than the others (widowed, divorced, or
	// whose spouse is not in the population).
	UsageName         float64
	DoubleSurname     float64 // children born since 2005 given both parents' surnames (default 0.07)
	KnownBySecondName float64 // persons with several first names who go by the second (default 0.03)
	NIAAbroad         float64 // people born abroad whose INS is a NIA, not a NIR (default 0.2)
}

// RecordRates shape how persons become records at the sites.
type RecordRates struct {
	// SitesYoung, SitesMiddle and SitesOld weigh 1, 2, 3 or 4 sites for a
	// person under 40, 40–69 and 70 or older.
	SitesYoung  [4]float64 // default {0.58, 0.29, 0.10, 0.03}
	SitesMiddle [4]float64 // default {0.45, 0.32, 0.16, 0.07}
	SitesOld    [4]float64 // default {0.33, 0.34, 0.21, 0.12}
	LocalSite   float64    // a site is chosen in the person's own département (default 0.7)

	LocalDuplicate float64 // a record gets a second record of the same person at the same site (default 0.03)
	Moved          float64 // at each site after the first, the person gives another address (default 0.15)
	INSCoverage    float64 // records that carry the INS, status QUAL, RECUP or VALI; the others are PROV without INS (default 0.25)
	StatusQUAL     float64 // share of QUAL among records with an INS (default 0.65)
	StatusRECUP    float64 // share of RECUP among records with an INS (default 0.20; the rest is VALI)
	WrongINS       float64 // records of a child carrying a parent's INS (a collision) (default 0.001)
	Anonymous      float64 // anonymous or placeholder records, each its own person (default 0.001)
	PhoneMissing   float64 // no phone number (default 0.30)
	PhoneOther     float64 // another number than the person's usual one (default 0.10)
	AddressTypo    float64 // a slip in the address line (default 0.02)
}

// ErrorRates are the identity errors of locally typed records, after
// identity-fr.md ("Names in practice"). Records whose identity was
// retrieved from the national INSi service (RECUP, QUAL) carry the INSi
// traits verbatim (upper-case ASCII, full first-name list, birthplace):
// these rates apply to PROV records, to VALI ones scaled by ValidatedScale,
// and to local duplicates scaled by DuplicateScale. Rates "per name field"
// apply independently to the birth name, used name, first name and
// first-name list.
type ErrorRates struct {
	AccentsDropped     float64 // names and city typed without accents (default 0.12; with INSi's ASCII traits, about 30 % of records lose accents)
	CompoundSpace      float64 // hyphen of a compound name written as a space, JEAN PIERRE (default 0.10)
	CompoundGlued      float64 // compound name glued, JEANPIERRE (default 0.03)
	CompoundHyphen     float64 // spaced compound surname written with a hyphen (default 0.05)
	ParticleDropped    float64 // DE LA FONTAINE → LA FONTAINE, D'ALMEIDA → ALMEIDA (default 0.05)
	ParticleGlued      float64 // DELAFONTAINE, DALMEIDA, LEGALL (default 0.10)
	ParticleApostrophe float64 // D'ALMEIDA → D ALMEIDA (default 0.10)

	UsedNameAsBirthName float64 // women with a usage name: it is typed in the birth-name field (default 0.05)
	UsedNameMissing     float64 // women with a usage name: it is not recorded (default 0.20)
	MaritalMention      float64 // women with a usage name: "EPOUSE X", "EP X", "NEE Y", "VEUVE X" in a name field (default 0.05, about 1 % of all records)
	NameSwap            float64 // birth name and first name swapped (default 0.005)

	FullFirstNames       float64 // the full list of first names is given; otherwise only the first (default 0.55)
	FirstNamesEmpty      float64 // the first-name list is left empty (default 0.10)
	CompoundFirstNameCut float64 // compound first first name cut short, JEAN-PIERRE → JEAN (default 0.10)
	SecondFirstNameUsed  float64 // persons known by their second first name: the site records that one (default 0.7)

	DayMonthSwap    float64 // day and month swapped, of the records whose day is ≤ 12 and not the month (default 0.005)
	PlaceholderDate float64 // 01/01 (sometimes 31/12) of the true year (default 0.003)
	YearTypo        float64 // year off by one digit, ±1 or ±10 (default 0.005)
	DayTypo         float64 // one digit of the day wrong (default 0.003)
	PartialDate     float64 // day or day and month unknown, written 00 (default 0.001)

	NameTypo float64 // keyboard slip per name field: neighbour key, deletion, insertion, transposition (default 0.03)
	Phonetic float64 // phonetic misspelling per name field: LEFEBVRE/LEFEVRE, PH/F, doubled consonants… (default 0.02)

	BirthPlaceMissing  float64 // no birthplace (default 0.50; with INSi traits, about 40 % of records)
	BirthPlaceAsPostal float64 // postal code typed instead of the COG code (default 0.02)
	SexMissing         float64 // sex empty or U (default 0.01)
	SexWrong           float64 // sex inverted (default 0.002)
	MixedCase          float64 // names in title or lower case (default 0.02)
	ExtraSpaces        float64 // doubled or padding spaces in a name (default 0.01)

	ValidatedScale float64 // multiplier of the error rates for VALI records (default 0.3)
	DuplicateScale float64 // multiplier for local duplicates, often created in a hurry (default 1.5)
}

// DefaultConfig returns the documented defaults for n persons and a seed.
func DefaultConfig(persons int, seed uint64) Config {
	return Config{
		Persons:    persons,
		Seed:       seed,
		Sites:      40,
		RefDate:    time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		Window:     1 << 16,
		Population: DefaultPopulationRates(),
		Records:    DefaultRecordRates(),
		Errors:     DefaultErrorRates(),
	}
}

// DefaultPopulationRates returns the default population model.
func DefaultPopulationRates() PopulationRates {
	return PopulationRates{
		BornAbroad:        0.07,
		BornOtherFrance:   0.20,
		BornOtherNADept:   0.15,
		LiveOutsideNA:     0.03,
		OriginNames:       0.75,
		Twins:             0.015,
		FatherSonHomonym:  0.035,
		Namesakes:         0.01,
		NamesakeSameYear:  0.5,
		UsageName:         0.55,
		DoubleSurname:     0.07,
		KnownBySecondName: 0.03,
		NIAAbroad:         0.2,
	}
}

// DefaultRecordRates returns the default record model.
func DefaultRecordRates() RecordRates {
	return RecordRates{
		SitesYoung:     [4]float64{0.58, 0.29, 0.10, 0.03},
		SitesMiddle:    [4]float64{0.45, 0.32, 0.16, 0.07},
		SitesOld:       [4]float64{0.33, 0.34, 0.21, 0.12},
		LocalSite:      0.7,
		LocalDuplicate: 0.03,
		Moved:          0.15,
		INSCoverage:    0.25,
		StatusQUAL:     0.65,
		StatusRECUP:    0.20,
		WrongINS:       0.001,
		Anonymous:      0.001,
		PhoneMissing:   0.30,
		PhoneOther:     0.10,
		AddressTypo:    0.02,
	}
}

// DefaultErrorRates returns the default identity error rates.
func DefaultErrorRates() ErrorRates {
	return ErrorRates{
		AccentsDropped:       0.12,
		CompoundSpace:        0.10,
		CompoundGlued:        0.03,
		CompoundHyphen:       0.05,
		ParticleDropped:      0.05,
		ParticleGlued:        0.10,
		ParticleApostrophe:   0.10,
		UsedNameAsBirthName:  0.05,
		UsedNameMissing:      0.20,
		MaritalMention:       0.05,
		NameSwap:             0.005,
		FullFirstNames:       0.55,
		FirstNamesEmpty:      0.10,
		CompoundFirstNameCut: 0.10,
		SecondFirstNameUsed:  0.7,
		DayMonthSwap:         0.005,
		PlaceholderDate:      0.003,
		YearTypo:             0.005,
		DayTypo:              0.003,
		PartialDate:          0.001,
		NameTypo:             0.03,
		Phonetic:             0.02,
		BirthPlaceMissing:    0.50,
		BirthPlaceAsPostal:   0.02,
		SexMissing:           0.01,
		SexWrong:             0.002,
		MixedCase:            0.02,
		ExtraSpaces:          0.01,
		ValidatedScale:       0.3,
		DuplicateScale:       1.5,
	}
}

// Scaled returns the rates multiplied by f (capped at 1), leaving the
// structural choices (full first-name list, second first name used) and the
// scales themselves alone. Scaled(0) gives error-free locally typed records.
func (e ErrorRates) Scaled(f float64) ErrorRates {
	s := func(p *float64) { *p = min(1, *p*f) }
	for _, p := range []*float64{&e.AccentsDropped, &e.CompoundSpace, &e.CompoundGlued, &e.CompoundHyphen,
		&e.ParticleDropped, &e.ParticleGlued, &e.ParticleApostrophe, &e.UsedNameAsBirthName, &e.UsedNameMissing,
		&e.MaritalMention, &e.NameSwap, &e.FirstNamesEmpty, &e.CompoundFirstNameCut, &e.DayMonthSwap,
		&e.PlaceholderDate, &e.YearTypo, &e.DayTypo, &e.PartialDate, &e.NameTypo, &e.Phonetic,
		&e.BirthPlaceMissing, &e.BirthPlaceAsPostal, &e.SexMissing, &e.SexWrong, &e.MixedCase, &e.ExtraSpaces} {
		s(p)
	}
	return e
}

func (c *Config) check() error {
	if c.Persons < 0 {
		return fmt.Errorf("synth: persons must be ≥ 0, not %d", c.Persons)
	}
	if c.Sites < 1 {
		return fmt.Errorf("synth: sites must be ≥ 1, not %d", c.Sites)
	}
	if c.Sites > 100000 {
		return fmt.Errorf("synth: sites must be ≤ 100000, not %d", c.Sites)
	}
	if c.Window <= 0 {
		c.Window = 1 << 16
	}
	if c.RefDate.IsZero() {
		c.RefDate = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return nil
}
