package matcher

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"vigie"
)

// ModelVersion is the version of the model file format. Version 2 replaced
// the separate residence and phone fields of version 1 by one household
// field; a version 1 file is still read (see upgradeV1).
const ModelVersion = 2

// Model holds the Fellegi–Sunter parameters: for each field and level, m (the
// probability of that level when the two records are the same person) and u
// (when they are not), the prior, and the decision thresholds.
type Model struct {
	Version int    `json:"version"`
	Source  string `json:"source"` // how the parameters were obtained

	Fields map[string]FieldParams `json:"fields"`

	// MatchesPerRecord is how many other records of the same person a record
	// has on average; with Population it gives the prior probability that two
	// records drawn at random match.
	MatchesPerRecord float64 `json:"matches_per_record"`
	// Population is the number of records the prior refers to: the larger
	// the index, the likelier a coincidence (see WithPopulation).
	Population int `json:"population"`

	// AutoLink and Review are the probability thresholds: at or above
	// AutoLink a pair may be linked without a person (if no rule forbids
	// it); between Review and AutoLink it is put to identity-vigilance staff.
	AutoLink float64 `json:"auto_link"`
	Review   float64 `json:"review"`

	// TFMinimum is the smallest value frequency used in the term-frequency
	// adjustment, so that a name seen once does not weigh without bound.
	TFMinimum float64 `json:"tf_minimum"`

	// FirstNameGuard and BirthDateGuard hold back pairs whose first names,
	// or birth dates, differ beyond any typing slip, whatever the other
	// fields say: twins share a family name, birth date, birthplace and
	// address; a father and his son share names and address. Training turns
	// a guard on when the data shows that true matches rarely differ that
	// way (m of level "different" below GuardMaxM). With a guard on, a
	// conflict between two real first names (or birth dates a generation
	// or a sibling's gap apart) never links without a person; with it off
	// (data where whole values are often replaced by mistake, such as
	// feeds typed from paper) the conflict is no veto and the weights,
	// fitted on that same data, decide.
	FirstNameGuard bool `json:"first_name_guard"`
	BirthDateGuard bool `json:"birth_date_guard"`

	// Calibration, when set, is how AutoLink and Review were chosen and
	// what the model expects of them (see PairSet.Calibrate).
	Calibration *Calibration `json:"calibration,omitempty"`

	params [NumFields]FieldParams
}

// FieldParams are one field's m and u probabilities, indexed by level.
type FieldParams struct {
	M []float64 `json:"m"`
	U []float64 `json:"u"`
}

//go:embed model_default.json
var defaultModelJSON []byte

// DefaultModel returns the model shipped with Vigie, trained on the
// project's generated regional population (see Train). Each call returns a
// fresh copy the caller may modify.
func DefaultModel() *Model {
	m, err := ParseModel(defaultModelJSON)
	if err != nil {
		panic("matcher: shipped model is invalid: " + err.Error())
	}
	return m
}

// ParseModel reads a model file, checking its version and that every field
// has a probability per level.
func ParseModel(data []byte) (*Model, error) {
	var m Model
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, vigie.Invalid("model", "not a model file: %v", err)
	}
	if m.Version == 1 {
		if err := m.upgradeV1(); err != nil {
			return nil, err
		}
	}
	if m.Version != ModelVersion {
		return nil, vigie.Invalid("model.version", "version %d, this build reads versions 1 and %d", m.Version, ModelVersion)
	}
	if err := m.index(); err != nil {
		return nil, err
	}
	return &m, nil
}

// upgradeV1 turns a version 1 model, whose residence (same address, same
// postal code, same département, different) and phone (same, different)
// were separate fields, into a version 2 one with the household field, its
// levels' m and u computed from the old ones as if the two were
// independent, which is what version 1 assumed when adding their weights.
// The household cap (see Score) applies all the same; training again gives
// m and u measured on the household levels themselves.
func (m *Model) upgradeV1() error {
	r, okR := m.Fields["residence"]
	p, okP := m.Fields["phone"]
	if !okR || !okP || len(r.M) != 4 || len(r.U) != 4 || len(p.M) != 2 || len(p.U) != 2 {
		return vigie.Invalid("model.fields", "version 1 model without residence (4 levels) and phone (2 levels): train a new model")
	}
	// Each level keeps the weight version 1 gave the same situation when
	// no phone was compared (a missing phone weighed nothing).
	combine := func(res, ph []float64) []float64 {
		return []float64{
			res[0] * ph[0],       // same address and phone
			res[0],               // same address, a phone missing
			res[0] * ph[1],       // same address, different phones
			(1 - res[0]) * ph[0], // same phone
			res[1],               // same postal code only
			res[2],               // same département only
			res[3],               // different
		}
	}
	delete(m.Fields, "residence")
	delete(m.Fields, "phone")
	m.Fields[FieldHousehold.String()] = FieldParams{M: combine(r.M, p.M), U: combine(r.U, p.U)}
	m.Version = ModelVersion
	m.Source += " (version 1 file: residence and phone combined into household as independent)"
	return nil
}

// index checks Fields and copies them into the array used when scoring.
func (m *Model) index() error {
	for f := Field(0); f < NumFields; f++ {
		p, ok := m.Fields[f.String()]
		if !ok && f == FieldEmail {
			// A model written before the e-mail was compared: the
			// starting values, until the next training fits them.
			p = FieldParams{M: slices.Clone(startEmail.M), U: slices.Clone(startEmail.U)}
			m.Fields[f.String()] = p
			ok = true
		}
		if !ok {
			return vigie.Invalid("model.fields", "field %s is missing", f)
		}
		if len(p.M) != f.NumLevels() || len(p.U) != f.NumLevels() {
			return vigie.Invalid("model.fields."+f.String(), "%d levels expected, m has %d and u %d", f.NumLevels(), len(p.M), len(p.U))
		}
		for l := range p.M {
			if !(p.M[l] > 0 && p.M[l] <= 1 && p.U[l] > 0 && p.U[l] <= 1) {
				return vigie.Invalid("model.fields."+f.String(), "level %s: m and u must be in (0, 1], got %g and %g", f.LevelName(Level(l)), p.M[l], p.U[l])
			}
		}
		m.params[f] = p
	}
	if m.Population <= 0 || m.MatchesPerRecord <= 0 {
		return vigie.Invalid("model.population", "population and matches_per_record must be positive")
	}
	if !(m.Review > 0 && m.Review <= m.AutoLink && m.AutoLink < 1) {
		return vigie.Invalid("model.auto_link", "thresholds must satisfy 0 < review <= auto_link < 1, got %g and %g", m.Review, m.AutoLink)
	}
	return nil
}

// MarshalJSON writes the model file.
func (m *Model) MarshalJSON() ([]byte, error) {
	type plain Model
	return json.MarshalIndent((*plain)(m), "", "  ")
}

// SetParams replaces one field's parameters.
func (m *Model) SetParams(f Field, p FieldParams) error {
	if m.Fields == nil {
		m.Fields = map[string]FieldParams{}
	}
	m.Fields[f.String()] = p
	if len(p.M) != f.NumLevels() || len(p.U) != f.NumLevels() {
		return fmt.Errorf("matcher: %s needs %d levels", f, f.NumLevels())
	}
	m.params[f] = p
	return nil
}

// Params returns one field's parameters.
func (m *Model) Params(f Field) FieldParams { return m.params[f] }

// WithPopulation returns a copy of the model whose prior refers to an index
// of n records.
func (m *Model) WithPopulation(n int) *Model {
	c := *m
	if n > 0 {
		c.Population = n
	}
	return &c
}

// PopulationFloor is the smallest population the prior refers to in an
// index whose floor is minPopulation (a nearly empty index must not link
// its first records on weak evidence because the prior odds of a match
// are high while it fills). A model fitted on a feed (Calibration set)
// knows how many records that feed holds: the index it was fitted for
// holds them all once loaded, so its floor is the smaller of the two. A
// clinic's 1,000 records are 1,000 records, not the first tenth of an
// index of 10,000, and a prior ten times too pessimistic for them cost
// 3.3 bits on every pair.
func (m *Model) PopulationFloor(minPopulation int) int {
	if m.Calibration != nil && m.Calibration.Records > 0 {
		return min(minPopulation, m.Calibration.Records)
	}
	return minPopulation
}

// PriorWeight is the prior log2 odds that a pair matches.
func (m *Model) PriorWeight() float64 {
	lambda := m.MatchesPerRecord / float64(max(m.Population, 2))
	return math.Log2(lambda / (1 - lambda))
}

// Frequencies gives how common a name is, for the term-frequency adjustment:
// agreeing on MARTIN is weaker evidence than agreeing on a rare name. A
// frequency is the share of records holding the value (0 when unknown).
type Frequencies interface {
	NameFrequency(coreGlued string) float64
	FirstNameFrequency(glued string) float64
}

// Grade is the confidence band of a score, as FHIR PDQm $match grades it.
type Grade string

// The grades, from the strongest.
const (
	GradeCertain  Grade = "certain"  // auto-link allowed
	GradeProbable Grade = "probable" // worth a person's review
	GradePossible Grade = "possible" // weak
	GradeNone     Grade = "certainly-not"
)

// Score is the outcome of scoring a comparison: the match weight, the
// calibrated probability, the grade and everything that explains them.
type Score struct {
	Weight      float64 // sum of field weights, in bits (log2 likelihood ratio)
	Prior       float64 // prior log2 odds
	Probability float64 // after hard rules
	Grade       Grade
	// AutoLink is true when the pair may be linked without a person.
	AutoLink bool
	Fields   [NumFields]FieldScore
	Rules    []Rule // the hard rules that fired
}

// FieldScore is one field's part in a score.
type FieldScore struct {
	Field  Field
	Level  Level
	Weight float64 // log2(m/u), TF-adjusted; 0 for missing
	TF     float64 // the adjustment included in Weight, in bits
	A, B   string  // the values compared, for display
	Note   string  // why the level, in words, when its name would mislead
}

// Rule is a hard rule that fired, above the sum of weights.
type Rule struct {
	Code    string // stable identifier
	Message string // for identity-vigilance staff
}

// Rule codes.
const (
	RuleDifferentINS   = "different_ins"       // two different valid INS: never auto-link
	RuleINSConflict    = "ins_conflict"        // one INS on strongly conflicting traits: potential collision
	RuleINSMismatch    = "ins_mismatch"        // an INS contradicts its own record's sex or birth date: ignored
	RuleNoAutoLink     = "no_auto_link"        // doubtful, fictitious, anonymous or placeholder identity
	RuleFirstName      = "first_name_conflict" // clearly different first names: twins or siblings
	RuleBirthDate      = "birth_date_conflict" // clearly different birth dates: parent and child
	RuleSexFirstName   = "sex_first_name"      // different sex and first names not identical: siblings
	RuleTwins          = "possible_twins"      // same family name and birth date, first names only alike
	RuleTwinsDifferent = "twins"               // same family name and birth date, two different real first names
	RuleOtherFirsts    = "other_first_names"   // both full lists of first names, the later ones all different
	// RuleHouseholdHomonyms is fired by the index, which knows every
	// candidate: a record without a usable birth date matches two
	// identities of one household bearing its names (father and son).
	RuleHouseholdHomonyms = "household_homonyms"
)

// RuleHouseholdNoDate is fired by the index: a pair with no birth date to
// compare (one side has none) would join, through the home alone, records
// that a father and the son bearing his first name would also show (see
// the index's rule for when it holds).
const RuleHouseholdNoDate = "household_no_date"

// RuleSplitIdentity is fired by the index: a record matches two
// identities at the auto-link level, too close to tell apart, and those
// identities match each other as strongly (their closest members would
// link on their own, no hard rule between any of their members). They are
// likely one person split earlier: the record joins the best one and a
// person is asked to merge the other (never merged automatically).
const RuleSplitIdentity = "split_identity"

// SplitIdentityMessage is the message of RuleSplitIdentity.
const SplitIdentityMessage = "the record matches two identities that match each other as strongly: one person split in two? a person decides whether to merge them"

// HouseholdNoDateMessage is the message of RuleHouseholdNoDate.
const HouseholdNoDateMessage = "no birth date to tell them apart, linked through the home alone (a son bearing his father's first name?): a person decides"

// HouseholdHomonymsMessage is the message of RuleHouseholdHomonyms.
const HouseholdHomonymsMessage = "no birth date, and two persons of one household bear these names (a father and his son?): a person decides which"

// HeldBelowAutoLink is where the rules that hold back a pair a person
// must see (possible twins, other first names, sex and first names) put
// its probability: just under the auto-link threshold, as a share of it.
// A review threshold never rises above it (see ChooseReview), so such a
// pair is always put to a person.
const HeldBelowAutoLink = 0.999

// HeldProbability is the probability a rule that holds back a pair for a
// person gives it under the auto-link threshold autoLink: the higher of
// autoLink × HeldBelowAutoLink and the probability of half autoLink's odds
// (one bit of weight below it). At the usual thresholds (0.999) the two
// are one; at a calibrated threshold of 0.9998 the share put the held
// pairs 2.6 bits under it, and every pair the weights alone left in those
// 2.6 bits went to review with them, whatever the budget (a thousand
// records of four each: 9 % of records in review).
func HeldProbability(autoLink float64) float64 {
	odds := autoLink / (1 - autoLink) / 2
	return math.Max(autoLink*HeldBelowAutoLink, odds/(1+odds))
}

// Score scores a comparison. freq may be nil (no term-frequency adjustment).
func (m *Model) Score(c *Comparison, freq Frequencies) Score {
	var s Score
	s.Prior = m.PriorWeight()
	insUsable := c.A != nil && c.B != nil && !c.A.INSMismatch && !c.B.INSMismatch
	for f := Field(0); f < NumFields; f++ {
		fs := FieldScore{Field: f, Level: c.Levels[f], Note: c.Notes[f]}
		if c.A != nil && c.B != nil {
			fs.A, fs.B = displayValue(c.A, f), displayValue(c.B, f)
		}
		if fs.Level != Null && !(f == FieldINS && !insUsable) {
			p := m.params[f]
			mu, u := p.M[fs.Level], p.U[fs.Level]
			fs.Weight = math.Log2(mu / u)
			if freq != nil {
				var tf float64
				switch {
				case f == FieldName && c.NameValue != "":
					tf = freq.NameFrequency(c.NameValue)
				case f == FieldFirstName && c.FirstValue != "":
					tf = freq.FirstNameFrequency(c.FirstValue)
				}
				if tf > 0 {
					adj := math.Log2(u / math.Max(tf, m.TFMinimum))
					fs.TF = adj
					fs.Weight += adj
				}
			}
		}
		s.Fields[f] = fs
	}
	// Living together is evidence that two records belong to one household,
	// not to one person: brothers, twins, a father and his son share the
	// address and phone as surely as two records of one patient do. Where
	// the first names differ (not a variant, cut or slip) or the birth
	// dates differ beyond a slip, the household says nothing about which of
	// its members a record is, so it cannot outweigh that difference.
	// An e-mail address is as often a family's as the phone is (a
	// parent's on a child's record): the same cap.
	if m.householdCapped(c) {
		if h := &s.Fields[FieldHousehold]; h.Weight > 0 {
			h.Weight = 0
			h.Note = householdCapNote
		}
		if e := &s.Fields[FieldEmail]; e.Weight > 0 {
			e.Weight = 0
			e.Note = emailCapNote
		}
	}
	for f := range s.Fields {
		s.Weight += s.Fields[f].Weight
	}
	s.Probability = probability(s.Weight + s.Prior)
	s.AutoLink = s.Probability >= m.AutoLink
	m.applyRules(c, &s, freq)
	// A pair a rule holds back is never shown at the confidence of an
	// automatic link: "certain" is kept for the pairs that may link.
	if !s.AutoLink && s.Probability >= m.AutoLink {
		s.Probability = math.Nextafter(m.AutoLink, 0)
	}
	switch {
	case s.AutoLink:
		s.Grade = GradeCertain
	case s.Probability >= m.Review:
		s.Grade = GradeProbable
	case s.Probability >= 0.01:
		s.Grade = GradePossible
	default:
		s.Grade = GradeNone
	}
	return s
}

// householdCapNote explains a household weight set to zero.
const householdCapNote = "shared home, not counted: first names or birth dates differ"

// emailCapNote explains an e-mail weight set to zero.
const emailCapNote = "shared e-mail address (a family's?), not counted: first names or birth dates differ"

// householdCapped reports whether the pair differs on a trait that tells
// members of one household apart: a first name (not a variant, cut or
// slip) or a birth date beyond a typing slip, where the model's guard says
// true matches hardly ever differ that way. On data where whole values are
// often replaced by mistake (guard off), such a pair is still never linked
// without a person (see applyRules), and its shared home still weighs in
// the review.
func (m *Model) householdCapped(c *Comparison) bool {
	return m.FirstNameGuard && c.Levels[FieldFirstName] == NameDifferent ||
		m.BirthDateGuard && c.Levels[FieldBirthDate] == DateDifferent && (c.A == nil || c.B == nil || ClassifyPairDates(c) != DateDiffSlips)
}

func probability(bits float64) float64 {
	return 1 / (1 + math.Exp2(-bits))
}

// applyRules enforces the identity-vigilance rules that no sum of weights
// may override.
func (m *Model) applyRules(c *Comparison, s *Score, freq Frequencies) {
	if c.A == nil || c.B == nil {
		return
	}
	a, b := c.A, c.B
	fire := func(code, msg string) { s.Rules = append(s.Rules, Rule{code, msg}) }
	// Below the review threshold: the pair is not put to anyone.
	capBelowReview := func() {
		s.Probability = math.Min(s.Probability, m.Review*0.5)
		s.AutoLink = false
	}
	if a.INSMismatch || b.INSMismatch {
		fire(RuleINSMismatch, "an INS contradicts its own record's sex or birth date: it is not used as evidence")
	}
	insLevel := c.Levels[FieldINS]
	if a.INSMismatch || b.INSMismatch {
		insLevel = Null
	}
	firstConflict := c.Levels[FieldFirstName] == NameDifferent
	dateConflict := c.Levels[FieldBirthDate] == DateDifferent
	sexConflict := c.Levels[FieldSex] == Disagree
	// An e-mail address in common is a home in common as surely as a
	// phone is.
	shared := householdShared(c.Levels[FieldHousehold]) || c.Levels[FieldEmail] == EmailSame || c.Levels[FieldEmail] == EmailNear
	switch {
	case insLevel == INSDifferent:
		fire(RuleDifferentINS, "the two records carry different valid INS")
		s.AutoLink = false
		// Staff reading the pair are told what it looks like: twins
		// carry two INS, two first names and one birth date.
		if firstConflict && c.Levels[FieldBirthDate] == DateExact && c.Levels[FieldName] != Null && c.Levels[FieldName] <= NameSimilar {
			fire(RuleTwinsDifferent, "same family name and birth date, different first names: twins, not the same person")
			s.Probability = math.Min(s.Probability, m.Review*0.5)
		}
	case insLevel == INSSame && (firstConflict || dateConflict || sexConflict || c.Levels[FieldName] == NameDifferent):
		fire(RuleINSConflict, "the same INS is carried by records whose traits conflict: potential collision")
		s.AutoLink = false
		s.Probability = math.Max(s.Probability, m.Review) // always put to a person
	case insLevel == INSSame && (c.A.INSMismatch || c.B.INSMismatch):
		s.AutoLink = false
	default:
		// A clear conflict on a core trait never links without a person;
		// where the data shows that true matches hardly ever differ that
		// way (the guard) and the two records may share a home (they do,
		// or nothing says where they live), it is not even put to review.
		// Only two real given names conflict: a name that is no given name
		// at all (DANBEL, EMIILY) is a garbled one, and the weights decide.
		// Where the population's own data shows that true matches often
		// differ that way (the guard is off: whole first names or dates
		// replaced by mistake, as in feeds typed from paper), a conflict
		// is evidence the weights already hold, not a veto; the guard's
		// state comes from training on the index's records (see Train).
		if firstConflict && m.FirstNameGuard {
			twinsLike := c.Levels[FieldBirthDate] == DateExact && c.Levels[FieldName] != Null && c.Levels[FieldName] <= NameSimilar && insLevel != INSSame
			switch {
			case realGivenNameOf(a, freq) && realGivenNameOf(b, freq):
				fire(RuleFirstName, "the first names differ clearly: twins or siblings are not the same person")
				s.AutoLink = false
				if m.FirstNameGuard && (shared || twinsLike || sexConflict) {
					capBelowReview()
				}
				// Same family name and birth date with two real first names
				// (JEAN and MARC): twins, said so to whoever reads the pair.
				if twinsLike {
					fire(RuleTwinsDifferent, "same family name and birth date, different first names: twins, not the same person")
				}
			case twinsLike:
				// A garbled first name on the family name and birth date of
				// a home, or of two (twins whose parents live apart): it
				// may be a twin's name garbled, a person decides.
				fire(RuleTwins, "same family name and birth date, first names differ and one is no known given name: possible twins, not linked without a person")
				s.AutoLink = false
				s.Probability = math.Min(s.Probability, HeldProbability(m.AutoLink))
			case shared:
				// Or another member of the home whose name is not in the
				// list: a person decides.
				fire(RuleFirstName, "the first names differ and one is no known given name, and the records may share a home: not linked without a person")
				s.AutoLink = false
				s.Probability = math.Min(s.Probability, HeldProbability(m.AutoLink))
			}
		}
		// Twins share a family name and a birth date, and parents give
		// them alike first names (MARIE and MARINE): when both first
		// names are real given names, one only a slip away from the other
		// is as likely a twin as a typo, so a person decides. A first
		// name that is no given name at all (OLIVLER) is a typo. Where
		// the guard is off (true matches of this population often carry
		// another first name altogether, typed from paper), a slip
		// between two real names is no rarer than a whole name replaced,
		// and the weights fitted on that data decide, as for a conflict.
		if fl := c.Levels[FieldFirstName]; s.AutoLink && m.FirstNameGuard && fl >= NameTypo && fl <= NameSimilar &&
			c.Levels[FieldBirthDate] == DateExact && c.Levels[FieldName] <= NameSimilar && c.Levels[FieldINS] != INSSame &&
			twinNames(a, b, freq) {
			fire(RuleTwins, "same family name and birth date, first names only alike: possible twins, not linked without a person")
			s.AutoLink = false
			s.Probability = math.Min(s.Probability, HeldProbability(m.AutoLink))
		}
		// A missing first name, or two slips between two records of one
		// family (see unnamedTwin, slipsTwins): twins or a brother or
		// sister cannot be told apart from one person mistyped.
		if s.AutoLink && m.FirstNameGuard && unnamedTwin(c) {
			fire(RuleTwins, "same family name and birth date, and one record carries no first name: possible twins, not linked without a person")
			s.AutoLink = false
			s.Probability = math.Min(s.Probability, HeldProbability(m.AutoLink))
		}
		if s.AutoLink && m.FirstNameGuard && m.BirthDateGuard && slipsTwins(c) {
			fire(RuleTwins, "same family name, a slip in the birth date and first names only alike, in one home: possible twins or a brother or sister, not linked without a person")
			s.AutoLink = false
			s.Probability = math.Min(s.Probability, HeldProbability(m.AutoLink))
		}
		// Two full lists of birth first names that agree on the first and
		// differ on every other one describe two people (ALI JEAN and
		// ALI NOUREDDINE, born the same year).
		// So does a list whose later names are all absent from the whole
		// list a record filled from INSi carries (see outsideFullList).
		if s.AutoLink && c.Levels[FieldINS] != INSSame && (otherFirstNamesDiffer(a, b) || outsideFullList(a, b) || outsideFullList(b, a)) {
			fire(RuleOtherFirsts, "the later birth first names all differ: not linked without a person")
			s.AutoLink = false
			s.Probability = math.Min(s.Probability, HeldProbability(m.AutoLink))
		}
		if sexConflict && s.AutoLink && m.FirstNameGuard && boyGirlTwins(c) {
			fire(RuleTwins, "same family name and birth date, one first name, another sex: possible twins, not linked without a person")
			s.AutoLink = false
			s.Probability = math.Min(s.Probability, HeldProbability(m.AutoLink))
		}
		if s.AutoLink && m.FirstNameGuard {
			if msg := moreTwins(c, freq); msg != "" {
				fire(RuleTwins, msg)
				s.AutoLink = false
				s.Probability = math.Min(s.Probability, m.AutoLink*HeldBelowAutoLink)
			}
		}
		if sexConflict && c.Levels[FieldFirstName] != NameExact && s.AutoLink {
			fire(RuleSexFirstName, "the sex differs and the first names are not the same: twins or siblings are not linked without a person")
			s.AutoLink = false
			s.Probability = math.Min(s.Probability, HeldProbability(m.AutoLink))
		}
		// Birth dates that differ by typing slips (two digits, a
		// transposition, the year off by 1 or 10, day and month swapped)
		// are one date typed twice: the weights decide. Dates a generation
		// apart are a parent and a child; a few years apart, in a shared
		// (or unknown) home, a brother or sister.
		if dateConflict && m.BirthDateGuard {
			switch kind := ClassifyPairDates(c); {
			case kind == DateDiffSlips && shared && siblingFirstNames(c, freq):
				// Two slips in the date and first names only alike, in one
				// home: brothers or sisters born a year apart (MATIAS and
				// MATHIS) look like this too.
				fire(RuleBirthDate, "the birth dates differ by slips and the first names are only alike, and the records may share a home: brothers or sisters are not linked without a person")
				s.AutoLink = false
				s.Probability = math.Min(s.Probability, HeldProbability(m.AutoLink))
			case kind == DateDiffSlips:
			case kind == DateDiffSibling && !shared:
			default:
				msg := "the birth dates differ beyond a typing slip: parent and child are not the same person"
				switch kind {
				case DateDiffGeneration:
					msg = "the birth dates are a generation apart: parent and child are not the same person"
				case DateDiffSibling:
					msg = "the birth dates are a few years apart, and the records may share a home: brothers or sisters are not the same person"
				}
				fire(RuleBirthDate, msg)
				s.AutoLink = false
				if m.BirthDateGuard && shared {
					capBelowReview()
				}
			}
		}
	}
	if a.NoAutoLink || b.NoAutoLink {
		fire(RuleNoAutoLink, "a doubtful, fictitious, anonymous or placeholder identity is never linked automatically")
		s.AutoLink = false
	}
}

// displayValue is the value of a field shown in explanations.
func displayValue(p *Prepared, f Field) string {
	switch f {
	case FieldName:
		if p.Used.Glued != "" {
			return p.Birth.Folded + " (" + p.Used.Folded + ")"
		}
		return p.Birth.Folded
	case FieldFirstName:
		return p.First.Folded
	case FieldBirthDate:
		return p.Date.String()
	case FieldSex:
		if p.Sex == 0 {
			return ""
		}
		return string(p.Sex)
	case FieldBirthPlace:
		return p.BirthPlace
	case FieldINS:
		return p.INS.Number
	case FieldHousehold:
		var parts []string
		for _, v := range []string{p.Postal, clip(p.City, 40)} {
			if v != "" {
				parts = append(parts, v)
			}
		}
		if p.Phone != "" {
			parts = append(parts, "tel …"+p.Phone[len(p.Phone)-4:])
		}
		return strings.Join(parts, " ")
	case FieldEmail:
		return maskEmail(p.Email)
	}
	return ""
}

// otherFirstNamesDiffer reports whether both records carry at least two
// birth first names and none of the later ones of either is alike to any
// of the other's.
func otherFirstNamesDiffer(a, b *Prepared) bool {
	if len(a.List) < 2 || len(b.List) < 2 {
		return false
	}
	for i := 1; i < len(a.List); i++ {
		for j := range b.List {
			if l := compareNames(&a.List[i], &b.List[j]); l != Null && l <= NameTypo {
				return false
			}
		}
	}
	for j := 1; j < len(b.List); j++ {
		for i := range a.List {
			if l := compareNames(&a.List[i], &b.List[j]); l != Null && l <= NameTypo {
				return false
			}
		}
	}
	return true
}
