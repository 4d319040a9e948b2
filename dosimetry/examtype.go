package dosimetry

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"vigie"
	"vigie/ledger"
)

// Kind is how an exam type's indicators are read from an exam.
type Kind string

// Kinds of exam types, one per family of the French NRD lists.
const (
	KindRadiography    Kind = "radiography"    // PDS (DAP) of one projection
	KindCT             Kind = "ct"             // CTDIvol and DLP of the one helix covering the region
	KindMammography    Kind = "mammography"    // mean glandular dose per view, breast thickness
	KindInterventional Kind = "interventional" // DAP, air kerma at the reference point, fluoroscopy time
	KindNM             Kind = "nm"             // administered activity
)

// NoExamType is the exam type of a rule that marks exams as outside every
// survey (quality control, phantoms, radiotherapy planning): the first rule
// that matches decides, so such a rule placed first keeps them out.
const NoExamType = "none"

// ExamType is one standard exam type of the French NRD lists.
type ExamType struct {
	Code  string `json:"code"`
	Label string `json:"label"` // French label, as printed in evaluations
	// Domain is the ledger domain an exam must have to be of this type.
	Domain ledger.Domain `json:"domain"`
	Kind   Kind          `json:"kind"`
	// Region is the body region of the effective-dose coefficients
	// (effective_dose_coefficients.json) and of the repeated-CT rule.
	Region string `json:"region,omitempty"`
	// TargetRegions are the CT target region code values (SRT and SCT)
	// a helix must carry to be taken as "the helix covering the named
	// region" (see CTHelix).
	TargetRegions []string `json:"target_regions,omitempty"`
}

// Rule maps exams to an exam type. Every condition given must hold; the
// rules are tried in order and the first that matches decides.
type Rule struct {
	ExamType string `json:"exam_type"`
	// Modalities are DICOM modalities (CT, DX, CR, MG, XA, RF, PT, NM, PX);
	// empty means any.
	Modalities []string `json:"modalities,omitempty"`
	// Keywords is a conjunction of alternatives: each group must have at
	// least one of its words in the exam's folded text. A word ending in
	// '*' matches any word it begins. Words are folded like the text
	// (lower case, accents and punctuation removed), and may span words
	// ("thorax abdo pelvis").
	Keywords [][]string `json:"keywords,omitempty"`
	// Exclude lists words none of which may appear.
	Exclude []string `json:"exclude,omitempty"`
	// Regex, when set, must match the folded text (Go RE2 syntax).
	Regex string `json:"regex,omitempty"`
	// TargetRegions, when set, require a CT irradiation event other than a
	// scout to carry one of these target region code values.
	TargetRegions []string `json:"target_regions,omitempty"`
	// Comment says why the rule exists (for the physicist editing it).
	Comment string `json:"comment,omitempty"`

	re *regexp.Regexp
}

// Table is the editable mapping from exams to exam types: the exam types
// and the ordered rules. The default table is embedded
// (examtypes_default.json); a site replaces it with LoadTable.
type Table struct {
	Version string     `json:"version"`
	Comment string     `json:"comment,omitempty"`
	Types   []ExamType `json:"exam_types"`
	Rules   []Rule     `json:"rules"`

	byCode map[string]*ExamType
}

//go:embed examtypes_default.json
var defaultTableJSON []byte

// DefaultTableJSON returns the embedded default mapping table, for the
// physicist to write to a file, edit and load back.
func DefaultTableJSON() []byte { return bytes.Clone(defaultTableJSON) }

var defaultTable = sync.OnceValue(func() *Table {
	t, err := LoadTable(bytes.NewReader(defaultTableJSON))
	if err != nil {
		panic("dosimetry: embedded exam-type table is invalid: " + err.Error())
	}
	return t
})

// DefaultTable returns the embedded default mapping table: a copy of the
// table parsed once, which the caller may change.
func DefaultTable() *Table { return defaultTable().clone() }

// clone returns a deep copy of a validated table (compiled expressions are
// shared: they are safe for concurrent use).
func (t *Table) clone() *Table {
	c := *t
	c.Types = make([]ExamType, len(t.Types))
	c.byCode = make(map[string]*ExamType, len(t.Types))
	for i, et := range t.Types {
		et.TargetRegions = slices.Clone(et.TargetRegions)
		c.Types[i] = et
		c.byCode[et.Code] = &c.Types[i]
	}
	c.Rules = make([]Rule, len(t.Rules))
	for i, r := range t.Rules {
		r.Modalities = slices.Clone(r.Modalities)
		r.Exclude = slices.Clone(r.Exclude)
		r.TargetRegions = slices.Clone(r.TargetRegions)
		kw := make([][]string, len(r.Keywords))
		for j, g := range r.Keywords {
			kw[j] = slices.Clone(g)
		}
		r.Keywords = kw
		c.Rules[i] = r
	}
	return &c
}

// LoadTable reads and validates a mapping table (JSON, the layout of
// examtypes_default.json). Errors are EINVALID and name the entry and the
// field: "rules[4].exam_type: \"ct_tapp\" is not a declared exam type".
func LoadTable(r io.Reader) (*Table, error) {
	dec := json.NewDecoder(io.LimitReader(r, 4<<20))
	dec.DisallowUnknownFields()
	var t Table
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("dosimetry: exam-type table: %w", vigie.Invalid("table", "is not valid JSON of the mapping table layout: %v", err))
	}
	if err := t.validate(); err != nil {
		return nil, fmt.Errorf("dosimetry: exam-type table: %w", err)
	}
	return &t, nil
}

var codeRE = regexp.MustCompile(`^[a-z0-9_]+$`)

func (t *Table) validate() error {
	if len(t.Types) == 0 {
		return vigie.Invalid("exam_types", "is empty: the table must declare its exam types")
	}
	t.byCode = map[string]*ExamType{}
	for i := range t.Types {
		et := &t.Types[i]
		f := fmt.Sprintf("exam_types[%d]", i)
		switch {
		case !codeRE.MatchString(et.Code):
			return vigie.Invalid(f+".code", "%q must be lower-case letters, digits and _", et.Code)
		case et.Code == NoExamType:
			return vigie.Invalid(f+".code", "%q is reserved for rules that keep exams out of every survey", et.Code)
		case t.byCode[et.Code] != nil:
			return vigie.Invalid(f+".code", "%q is declared twice", et.Code)
		case strings.TrimSpace(et.Label) == "":
			return vigie.Invalid(f+".label", "is required")
		}
		switch et.Domain {
		case ledger.DomainCT, ledger.DomainProjection, ledger.DomainMammography, ledger.DomainNM:
		default:
			return vigie.Invalid(f+".domain", "%q is not ct, projection, mammography or nm", et.Domain)
		}
		want := map[Kind]ledger.Domain{KindRadiography: ledger.DomainProjection, KindInterventional: ledger.DomainProjection,
			KindCT: ledger.DomainCT, KindMammography: ledger.DomainMammography, KindNM: ledger.DomainNM}
		d, ok := want[et.Kind]
		if !ok {
			return vigie.Invalid(f+".kind", "%q is not radiography, ct, mammography, interventional or nm", et.Kind)
		}
		if d != et.Domain {
			return vigie.Invalid(f+".kind", "%q needs domain %q, not %q", et.Kind, d, et.Domain)
		}
		t.byCode[et.Code] = et
	}
	if len(t.Rules) == 0 {
		return vigie.Invalid("rules", "is empty: the table maps nothing")
	}
	for i := range t.Rules {
		r := &t.Rules[i]
		f := fmt.Sprintf("rules[%d]", i)
		if r.ExamType != NoExamType && t.byCode[r.ExamType] == nil {
			return vigie.Invalid(f+".exam_type", "%q is not a declared exam type", r.ExamType)
		}
		if len(r.Keywords) == 0 && r.Regex == "" && len(r.TargetRegions) == 0 && len(r.Modalities) == 0 {
			return vigie.Invalid(f, "has no condition: it would match every exam")
		}
		for j, g := range r.Keywords {
			if len(g) == 0 {
				return vigie.Invalid(fmt.Sprintf("%s.keywords[%d]", f, j), "is an empty group: it could never match")
			}
			for k, w := range g {
				fw := foldKeyword(w)
				if fw == "" || fw == "*" {
					return vigie.Invalid(fmt.Sprintf("%s.keywords[%d][%d]", f, j, k), "%q has no letter or digit", w)
				}
				g[k] = fw
			}
		}
		for k, w := range r.Exclude {
			fw := foldKeyword(w)
			if fw == "" || fw == "*" {
				return vigie.Invalid(fmt.Sprintf("%s.exclude[%d]", f, k), "%q has no letter or digit", w)
			}
			r.Exclude[k] = fw
		}
		for k, m := range r.Modalities {
			m = strings.ToUpper(strings.TrimSpace(m))
			if m == "" {
				return vigie.Invalid(fmt.Sprintf("%s.modalities[%d]", f, k), "is empty")
			}
			r.Modalities[k] = m
		}
		for k, c := range r.TargetRegions {
			if strings.TrimSpace(c) == "" {
				return vigie.Invalid(fmt.Sprintf("%s.target_regions[%d]", f, k), "is empty")
			}
		}
		if r.Regex != "" {
			re, err := regexp.Compile(r.Regex)
			if err != nil {
				return vigie.Invalid(f+".regex", "does not compile: %v", err)
			}
			r.re = re
		}
	}
	return nil
}

// Type returns the exam type of a code, or nil.
func (t *Table) Type(code string) *ExamType {
	if t == nil {
		return nil
	}
	return t.byCode[code]
}

// JSON returns the table as the file LoadTable reads.
func (t *Table) JSON() ([]byte, error) { return json.MarshalIndent(t, "", "  ") }

// Match is the result of classifying an exam.
type Match struct {
	ExamType string `json:"exam_type"` // "" when no rule matched, NoExamType when a rule excluded it
	Rule     int    `json:"rule"`      // index of the deciding rule, -1 if none
	Text     string `json:"text"`      // the folded text the rules saw
}

// Classify returns the exam type of an exam: the first rule whose
// conditions all hold. The text the rules see is the folded procedure
// (study description), protocol, the protocols of the CT events that are
// not scouts, the projection events' protocols and the radiopharmaceuticals.
func (t *Table) Classify(e *ledger.Exam) Match {
	return t.classify(e, ExamText(e), "")
}

// classify classifies an exam whose folded text is given, with extra
// appended (the radiography survey classifies each projection by the
// exam's text plus the projection's own protocol).
func (t *Table) classify(e *ledger.Exam, text, extra string) Match {
	if extra != "" {
		text = strings.TrimSpace(text + " " + Fold(extra))
	}
	padded := " " + text + " "
	mod := strings.ToUpper(strings.TrimSpace(e.Modality))
	for i := range t.Rules {
		r := &t.Rules[i]
		if et := t.byCode[r.ExamType]; r.ExamType != NoExamType && (et == nil || et.Domain != e.Domain) {
			continue
		}
		if len(r.Modalities) > 0 && !contains(r.Modalities, mod) {
			continue
		}
		if !r.matchWords(padded) {
			continue
		}
		if r.re != nil && !r.re.MatchString(text) {
			continue
		}
		if len(r.TargetRegions) > 0 && !hasRegion(e, r.TargetRegions) {
			continue
		}
		return Match{ExamType: r.ExamType, Rule: i, Text: text}
	}
	return Match{Rule: -1, Text: text}
}

func (r *Rule) matchWords(padded string) bool {
	for _, w := range r.Exclude {
		if hasWord(padded, w) {
			return false
		}
	}
	for _, g := range r.Keywords {
		ok := false
		for _, w := range g {
			if hasWord(padded, w) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// hasWord reports whether the folded keyword w occurs as whole words in
// padded (" text "), or as a word prefix when w ends in '*'.
func hasWord(padded, w string) bool {
	if stem, ok := strings.CutSuffix(w, "*"); ok {
		return strings.Contains(padded, " "+stem)
	}
	return strings.Contains(padded, " "+w+" ")
}

func hasRegion(e *ledger.Exam, codes []string) bool {
	if e.CT == nil {
		return false
	}
	for i := range e.CT.Events {
		ev := &e.CT.Events[i]
		if IsScout(ev) {
			continue
		}
		if contains(codes, ev.TargetRegion.Value) {
			return true
		}
	}
	return false
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// IsScout reports whether a CT event is a scout (localiser): acquisition
// type 113805 DCM "Constant Angle Acquisition", or the header spelling
// CONSTANT_ANGLE. Scouts never count as the helix of an exam type.
func IsScout(ev *ledger.CTEvent) bool {
	a := ev.AcquisitionType
	return a.Value == "113805" || strings.EqualFold(a.Meaning, "CONSTANT_ANGLE") || strings.EqualFold(a.Meaning, "Constant Angle Acquisition")
}

// ExamText returns the folded text the rules of a table see for an exam.
func ExamText(e *ledger.Exam) string { return examText(e, true) }

// examText returns the folded text of an exam, with or without the
// protocols of its projection events (the radiography survey classifies
// each projection by the exam's text plus that projection's protocol only).
func examText(e *ledger.Exam, projections bool) string {
	var b strings.Builder
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			b.WriteString(s)
			b.WriteByte(' ')
		}
	}
	add(e.Procedure)
	if e.Protocol != e.Procedure {
		add(e.Protocol)
	}
	if c := e.CT; c != nil {
		seen := map[string]bool{}
		for i := range c.Events {
			p := c.Events[i].Protocol
			if !IsScout(&c.Events[i]) && !seen[p] {
				seen[p] = true
				add(p)
			}
		}
	}
	if p := e.Projection; p != nil && projections {
		seen := map[string]bool{}
		for _, ev := range p.Events {
			if !seen[ev.Protocol] {
				seen[ev.Protocol] = true
				add(ev.Protocol)
			}
		}
	}
	if n := e.NM; n != nil {
		for _, a := range n.Administrations {
			add(a.Radiopharmaceutical.Meaning)
		}
	}
	return Fold(b.String())
}

// Fold lower-cases s, removes accents and turns everything that is not a
// letter or a digit into single spaces: "Thorax^TAP (Adult)" → "thorax tap
// adult", "Crâne" → "crane".
func Fold(s string) string {
	var b strings.Builder
	space := true
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
			space = false
		default:
			if !space {
				b.WriteByte(' ')
				space = true
			}
		}
	}
	return strings.TrimSpace(b.String())
}

// foldKeyword folds a rule word, keeping a trailing '*'.
func foldKeyword(w string) string {
	star := strings.HasSuffix(strings.TrimSpace(w), "*")
	f := Fold(w)
	if star && f != "" {
		return f + "*"
	}
	return f
}
