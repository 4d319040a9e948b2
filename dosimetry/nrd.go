package dosimetry

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"vigie"
)

// Population is the patient group of a survey and of an NRD value.
type Population string

// Populations. A child is a patient under AdultAge years at the exam.
const (
	Adult Population = "adult"
	Child Population = "child"
)

// Indicator is a dose indicator of the NRD lists.
type Indicator string

// Indicators, with the canonical unit Vigie computes them in (the
// evaluation converts to the unit of the NRD entry).
const (
	IndPDS        Indicator = "pds"         // dose-area product (PDS), canonical Gy.m²
	IndCTDIvol    Indicator = "ctdivol"     // CTDIvol of the helix, mGy
	IndDLP        Indicator = "dlp"         // DLP of the helix, mGy.cm
	IndAGD        Indicator = "agd"         // mean glandular dose per view (DGM), mGy
	IndKar        Indicator = "kar"         // air kerma at the reference point, mGy
	IndFluoroTime Indicator = "fluoro_time" // fluoroscopy time, s
	IndActivity   Indicator = "activity"    // administered activity, MBq
	// IndActivityPerKg is the administered activity per kg of body weight
	// (MBq/kg), for radiopharmaceuticals whose NRD is weight-based; only
	// patients weighed have it.
	IndActivityPerKg Indicator = "activity_per_kg"
)

// units gives, per indicator, the factor from the canonical unit to each
// unit an NRD file may use.
var units = map[Indicator]map[string]float64{
	IndPDS:           {"mGy.cm2": 1e7, "cGy.cm2": 1e6, "dGy.cm2": 1e5, "Gy.cm2": 1e4, "Gy.m2": 1},
	IndCTDIvol:       {"mGy": 1},
	IndDLP:           {"mGy.cm": 1},
	IndAGD:           {"mGy": 1},
	IndKar:           {"mGy": 1, "Gy": 1e-3},
	IndFluoroTime:    {"s": 1, "min": 1.0 / 60},
	IndActivity:      {"MBq": 1},
	IndActivityPerKg: {"MBq/kg": 1},
}

// defaultIndicators are the indicators of each kind of exam type and their
// units when the NRD table has no entry for the type.
var defaultIndicators = map[Kind][]IndicatorUnit{
	KindRadiography:    {{IndPDS, "mGy.cm2"}},
	KindCT:             {{IndCTDIvol, "mGy"}, {IndDLP, "mGy.cm"}},
	KindMammography:    {{IndAGD, "mGy"}},
	KindInterventional: {{IndPDS, "Gy.cm2"}, {IndKar, "mGy"}, {IndFluoroTime, "min"}},
	KindNM:             {{IndActivity, "MBq"}},
}

// IndicatorUnit is an indicator in a unit.
type IndicatorUnit struct {
	Indicator Indicator `json:"indicator"`
	Unit      string    `json:"unit"`
}

// convert returns a canonical value in unit u (which the loader checked).
// The result is rounded to 12 significant digits, so that a PDS of 200
// mGy.cm² read in Gy.m² compares equal to an NRD of 200.
func convert(ind Indicator, canonical float64, u string) float64 {
	v := canonical * units[ind][u]
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	if err != nil {
		return v
	}
	return r
}

// NRDSource is the legal source of an NRD table.
type NRDSource struct {
	Decision string `json:"decision"`
	Approval string `json:"approval,omitempty"`
	Journal  string `json:"journal,omitempty"`
	InForce  string `json:"in_force,omitempty"`
	Note     string `json:"note,omitempty"`
}

// SurveyRules are the validity rules of a survey.
type SurveyRules struct {
	MinAdults   int `json:"min_adults"`
	MinChildren int `json:"min_children"`
	// AdultAge is the age in years from which a patient is an adult.
	AdultAge float64 `json:"adult_age_years"`
}

// Band is a range of age (years) or weight (kg).
//
// On an adult entry, weight_band_kg is the weight range (inclusive at both
// ends) adults must be in to count in the survey. On a child entry,
// age_band_years and weight_band_kg define a paediatric class (from Min
// inclusive to Max exclusive, so that classes 1–5 and 5–10 do not
// overlap): the children of the class are evaluated together against the
// class's values.
type Band struct {
	Min float64 `json:"min"`
	Max float64 `json:"max"`
}

// WeightBand is a Band of weights in kg.
type WeightBand = Band

// contains reports whether v is in [Min, Max).
func (b *Band) contains(v float64) bool { return v >= b.Min && v < b.Max }

// NRDEntry is the reference level of one indicator of one exam type and
// population. A nil NRD or VGD means the value is not in the table (the
// legal text was not at hand): Note says what the physicist must do.
type NRDEntry struct {
	ExamType   string      `json:"exam_type"`
	Population Population  `json:"population"`
	Indicator  Indicator   `json:"indicator"`
	Unit       string      `json:"unit"`
	NRD        *float64    `json:"nrd"`
	VGD        *float64    `json:"vgd"`
	Annex      string      `json:"annex,omitempty"`
	Table      string      `json:"table,omitempty"`
	WeightBand *WeightBand `json:"weight_band_kg,omitempty"`
	AgeBand    *Band       `json:"age_band_years,omitempty"` // children only: the class's ages
	// Source cites the legal text of the figures ("Décision ASN n°
	// 2019-DC-0667, annexe 2, tableau 2.1"); optional in a site's file.
	Source string `json:"source,omitempty"`
	Note   string `json:"note,omitempty"`
	// origin is the site's file the entry was read from by
	// WithSiteFile, "" for an entry of the table itself.
	origin string
}

// NoNRD is what an evaluation says of an indicator the NRD table has no
// figure for: never a silent gap.
const NoNRD = "pas de NRD pour ce type d'examen"

// Cited says where the entry's figures come from: the site's file it was
// read from (with the text it cites, if any), or the legal source of the
// table.
func (e *NRDEntry) Cited(t *NRDTable) string {
	if e.origin != "" {
		s := "fichier du site " + e.origin
		if e.Source != "" {
			s += " (" + e.Source + ")"
		}
		return s
	}
	if e.Source != "" {
		return e.Source
	}
	s := t.Source.Decision
	if e.Annex != "" {
		s += ", annexe " + e.Annex
	}
	if e.Table != "" {
		s += ", tableau " + e.Table
	}
	return s
}

// Origin is the site's file the entry was read from, "" for an entry of
// the table itself.
func (e *NRDEntry) Origin() string { return e.origin }

// Class is the label of a child entry's paediatric class ("1–5 ans",
// "10–20 kg"), "" for an adult entry or a child entry without class.
func (e *NRDEntry) Class() string {
	if e.Population != Child {
		return ""
	}
	var parts []string
	if b := e.AgeBand; b != nil {
		parts = append(parts, fmtNum(b.Min)+"–"+fmtNum(b.Max)+" ans")
	}
	if b := e.WeightBand; b != nil {
		parts = append(parts, fmtNum(b.Min)+"–"+fmtNum(b.Max)+" kg")
	}
	return strings.Join(parts, ", ")
}

// NRDTable is the table of diagnostic reference levels (NRD) and guide
// values (VGD), with its legal source. The shipped table (nrd_fr_2019.json)
// holds only the verified adult radiography values; the site's physicist
// loads a completed file with LoadNRD.
type NRDTable struct {
	Source  NRDSource   `json:"source"`
	Survey  SurveyRules `json:"survey"`
	Entries []NRDEntry  `json:"entries"`
}

//go:embed nrd_fr_2019.json
var defaultNRDJSON []byte

// DefaultNRDJSON returns the embedded NRD table, for the physicist to
// complete and load back.
func DefaultNRDJSON() []byte { return bytes.Clone(defaultNRDJSON) }

var defaultNRD = sync.OnceValue(func() *NRDTable {
	t, err := LoadNRD(bytes.NewReader(defaultNRDJSON))
	if err != nil {
		panic("dosimetry: embedded NRD table is invalid: " + err.Error())
	}
	return t
})

// DefaultNRD returns the embedded NRD table (decision ASN 2019-DC-0667): a
// copy of the table parsed once, which the caller may change.
func DefaultNRD() *NRDTable {
	t := *defaultNRD()
	t.Entries = make([]NRDEntry, len(defaultNRD().Entries))
	for i, e := range defaultNRD().Entries {
		for _, p := range []**float64{&e.NRD, &e.VGD} {
			if *p != nil {
				v := **p
				*p = &v
			}
		}
		for _, p := range []**Band{&e.WeightBand, &e.AgeBand} {
			if *p != nil {
				b := **p
				*p = &b
			}
		}
		t.Entries[i] = e
	}
	return &t
}

// LoadNRD reads and validates an NRD table. Errors are EINVALID and name
// the entry and the field: "entries[3].unit: \"mGy.cm\" is not a unit of
// pds (use mGy.cm2, cGy.cm2, dGy.cm2, Gy.cm2, Gy.m2)".
func LoadNRD(r io.Reader) (*NRDTable, error) {
	dec := json.NewDecoder(io.LimitReader(r, 4<<20))
	dec.DisallowUnknownFields()
	var t NRDTable
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("dosimetry: NRD table: %w", vigie.Invalid("table", "is not valid JSON of the NRD table layout: %v", err))
	}
	if err := t.validate(); err != nil {
		return nil, fmt.Errorf("dosimetry: NRD table: %w", err)
	}
	return &t, nil
}

// WithSiteFile returns the table completed or corrected by a site's file:
// each entry of the file replaces the table's entry of the same exam type,
// population, indicator and paediatric class, or is added; the others stay.
// The file's entries are marked as read from name (Cited says so). The
// file may be a whole table (a completed copy of the shipped one, read as
// LoadNRD reads it) or hold entries only; its survey rules, when given,
// replace the table's. t is not changed.
func (t *NRDTable) WithSiteFile(r io.Reader, name string) (*NRDTable, error) {
	dec := json.NewDecoder(io.LimitReader(r, 4<<20))
	dec.DisallowUnknownFields()
	var site NRDTable
	if err := dec.Decode(&site); err != nil {
		return nil, fmt.Errorf("dosimetry: NRD table %s: %w", name, vigie.Invalid("table", "is not valid JSON of the NRD table layout: %v", err))
	}
	out := &NRDTable{Source: t.Source, Survey: t.Survey, Entries: slices.Clone(t.Entries)}
	if site.Survey != (SurveyRules{}) {
		out.Survey = site.Survey
	}
	if site.Source.Decision == "" {
		site.Source.Decision = "fichier du site " + name
	}
	site.Survey = out.Survey
	if err := site.validate(); err != nil {
		return nil, fmt.Errorf("dosimetry: NRD table %s: %w", name, err)
	}
	at := map[string]int{}
	for i := range out.Entries {
		at[out.Entries[i].key()] = i
	}
	for _, e := range site.Entries {
		e.origin = name
		if i, ok := at[e.key()]; ok {
			out.Entries[i] = e
			continue
		}
		at[e.key()] = len(out.Entries)
		out.Entries = append(out.Entries, e)
	}
	if err := out.validate(); err != nil {
		return nil, fmt.Errorf("dosimetry: NRD table %s: %w", name, err)
	}
	return out, nil
}

func (e *NRDEntry) key() string {
	return e.ExamType + "\x00" + string(e.Population) + "\x00" + string(e.Indicator) + "\x00" + e.Class()
}

func (t *NRDTable) validate() error {
	if strings.TrimSpace(t.Source.Decision) == "" {
		return vigie.Invalid("source.decision", "is required: every reference level must name its legal source")
	}
	if t.Survey.MinAdults < 1 {
		return vigie.Invalid("survey.min_adults", "must be at least 1, not %d", t.Survey.MinAdults)
	}
	if t.Survey.MinChildren < 1 {
		return vigie.Invalid("survey.min_children", "must be at least 1, not %d", t.Survey.MinChildren)
	}
	if t.Survey.AdultAge <= 0 || t.Survey.AdultAge > 30 {
		return vigie.Invalid("survey.adult_age_years", "must be between 0 and 30, not %v", t.Survey.AdultAge)
	}
	seen := map[string]int{}
	for i := range t.Entries {
		e := &t.Entries[i]
		f := fmt.Sprintf("entries[%d]", i)
		if !codeRE.MatchString(e.ExamType) {
			return vigie.Invalid(f+".exam_type", "%q must be an exam type code (lower-case letters, digits and _)", e.ExamType)
		}
		if e.Population != Adult && e.Population != Child {
			return vigie.Invalid(f+".population", "%q is not adult or child", e.Population)
		}
		us, ok := units[e.Indicator]
		if !ok {
			return vigie.Invalid(f+".indicator", "%q is not pds, ctdivol, dlp, agd, kar, fluoro_time, activity or activity_per_kg", e.Indicator)
		}
		if _, ok := us[e.Unit]; !ok {
			return vigie.Invalid(f+".unit", "%q is not a unit of %s (use %s)", e.Unit, e.Indicator, unitList(us))
		}
		for _, v := range []struct {
			name string
			p    *float64
		}{{"nrd", e.NRD}, {"vgd", e.VGD}} {
			if v.p != nil && (*v.p <= 0 || math.IsInf(*v.p, 0) || math.IsNaN(*v.p)) {
				return vigie.Invalid(f+"."+v.name, "%v must be a positive number (leave it null when the value is not known)", *v.p)
			}
		}
		if e.NRD != nil && e.VGD != nil && *e.VGD > *e.NRD {
			return vigie.Invalid(f+".vgd", "%v is above the NRD %v: the guide value is the lower, optimised level", *e.VGD, *e.NRD)
		}
		if e.NRD == nil && strings.TrimSpace(e.Note) == "" {
			return vigie.Invalid(f+".note", "is required when nrd is null: say where the physicist finds the value")
		}
		if b := e.WeightBand; b != nil {
			if b.Min < 0 || b.Max <= b.Min || b.Max > 400 || (e.Population == Adult && b.Min == 0) {
				return vigie.Invalid(f+".weight_band_kg", "%v–%v kg is not a weight range (0 < min < max ≤ 400; a child class may start at 0)", b.Min, b.Max)
			}
		}
		if b := e.AgeBand; b != nil {
			if e.Population != Child {
				return vigie.Invalid(f+".age_band_years", "applies to child entries only (paediatric classes)")
			}
			if b.Min < 0 || b.Max <= b.Min || b.Max > t.Survey.AdultAge {
				return vigie.Invalid(f+".age_band_years", "%v–%v years is not a paediatric age range (0 ≤ min < max ≤ %v)", b.Min, b.Max, t.Survey.AdultAge)
			}
		}
		k := e.key()
		if j, dup := seen[k]; dup {
			return vigie.Invalid(f, "repeats entries[%d] (%s, %s, %s %s)", j, e.ExamType, e.Population, e.Indicator, e.Class())
		}
		seen[k] = i
	}
	return nil
}

func unitList(us map[string]float64) string {
	ks := make([]string, 0, len(us))
	for k := range us {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}

// CheckTypes reports the first NRD entry whose exam type the mapping table
// does not declare, so that a loaded pair of files is refused before any
// evaluation quietly ignores a level.
func (t *NRDTable) CheckTypes(tab *Table) error {
	for i, e := range t.Entries {
		if tab.Type(e.ExamType) == nil {
			return vigie.Invalid(fmt.Sprintf("entries[%d].exam_type", i), "%q is not an exam type of the mapping table", e.ExamType)
		}
	}
	return nil
}

// Entries returns the entries of an exam type and population, in file order.
func (t *NRDTable) entries(examType string, p Population) []*NRDEntry {
	var out []*NRDEntry
	for i := range t.Entries {
		if e := &t.Entries[i]; e.ExamType == examType && e.Population == p {
			out = append(out, e)
		}
	}
	return out
}

// weightBand returns the weight band an adult survey of the exam type
// requires, or nil.
func (t *NRDTable) weightBand(examType string) *WeightBand {
	for _, e := range t.entries(examType, Adult) {
		if e.WeightBand != nil {
			return e.WeightBand
		}
	}
	return nil
}
