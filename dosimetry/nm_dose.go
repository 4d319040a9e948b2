package dosimetry

import (
	"bufio"
	_ "embed"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"vigie/ledger"
)

// NMCoefficient is one row of the nuclear-medicine dose coefficients: a
// radiopharmaceutical at one reference age, with its effective dose and
// the absorbed dose of the organ the source names as receiving the
// largest dose, per administered MBq, and where it was read.
type NMCoefficient struct {
	ID                  string   // the radiopharmaceutical, one row per reference age
	Radiopharmaceutical string   // "FDG"
	Radionuclide        string   // "F 18", as ledger.RadionuclideName writes it
	Codes               []string // "SCHEME:VALUE" DICOM codes of the radiopharmaceutical
	Names               []string // free-text names, normalised (normName)
	Reference           string   // reference age of the coefficients: "adulte", "enfant de 5 ans"
	FromYears           float64  // ages at the exam the row applies to: FromYears ≤ age < BelowYears
	BelowYears          float64  // 0: no upper bound
	MSvPerMBq           float64  // effective dose per administered activity
	Organ               string   // organ receiving the largest dose ("" when the source names none)
	OrganMGyPerMBq      float64  // its absorbed dose per administered activity
	Source              string   // ID of a source of the file
	Table               string   // where in the source
	Note                string   // the source's conditions (voiding interval…)
}

// Label is the radiopharmaceutical as the history writes it: "FDG / F 18".
func (r *NMCoefficient) Label() string {
	return ledger.Activity{Radiopharmaceutical: r.Radiopharmaceutical, Radionuclide: r.Radionuclide}.Label()
}

// covers reports whether the row applies to a patient of age years.
func (r *NMCoefficient) covers(age float64) bool {
	return age >= r.FromYears && (r.BelowYears == 0 || age < r.BelowYears)
}

// NMCoefficients are the nuclear-medicine dose coefficients
// (nm_dose_coefficients.tsv, replaceable by a physicist's file of the same
// layout): rows, and the sources they cite by ID.
type NMCoefficients struct {
	Rows    []NMCoefficient
	Sources map[string]string // ID → publication, table, URL
}

// nmColumns are the columns of the coefficients file, in order.
var nmColumns = []string{"id", "radiopharmaceutical", "radionuclide", "codes", "names", "reference",
	"from_years", "below_years", "effective_mSv_per_MBq", "organ", "organ_mGy_per_MBq", "source", "table", "note"}

//go:embed nm_dose_coefficients.tsv
var defaultNMTSV []byte

// DefaultNMCoefficientsTSV returns the embedded coefficients file, for the
// physicist to read or complete.
func DefaultNMCoefficientsTSV() []byte { return append([]byte(nil), defaultNMTSV...) }

// DefaultNMCoefficients returns the embedded NM dose coefficients (shared,
// read-only).
func DefaultNMCoefficients() *NMCoefficients { return shippedNMCoefficients() }

var shippedNMCoefficients = loadEmbeddedOnce(defaultNMTSV, LoadNMCoefficients)

// LoadNMCoefficients reads and validates an NM dose coefficients file:
// tab-separated, "#" comment lines, "#source ID<TAB>text" lines naming
// the sources, a header line of the columns (nmColumns), one row per
// radiopharmaceutical and reference age. Every row names a declared
// source and where in it its values were read; a coefficient is a
// positive number (mSv/MBq at most 10, mGy/MBq at most 100); an organ
// comes with its coefficient; two rows of one radiopharmaceutical never
// cover the same age. At most 1 MiB is read.
func LoadNMCoefficients(r io.Reader) (*NMCoefficients, error) {
	const file coefficientFile = "NM dose coefficients"
	c := &NMCoefficients{Sources: map[string]string{}}
	sc := bufio.NewScanner(io.LimitReader(r, 1<<20))
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	header, line := false, 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.HasPrefix(text, "#source ") {
			id, what, ok := strings.Cut(strings.TrimPrefix(text, "#source "), "\t")
			id, what = strings.TrimSpace(id), strings.TrimSpace(what)
			if !ok || id == "" || what == "" {
				return nil, file.invalid(fmt.Sprintf("line %d", line), "a source line is \"#source ID<TAB>publication, table, URL\"")
			}
			if _, dup := c.Sources[id]; dup {
				return nil, file.invalid(fmt.Sprintf("line %d", line), "source %s is declared twice", id)
			}
			c.Sources[id] = what
			continue
		}
		if strings.HasPrefix(text, "#") || strings.TrimSpace(text) == "" {
			continue
		}
		f := strings.Split(text, "\t")
		if !header {
			if strings.Join(f, ",") != strings.Join(nmColumns, ",") {
				return nil, file.invalid(fmt.Sprintf("line %d", line), "the header must be the columns %s", strings.Join(nmColumns, ", "))
			}
			header = true
			continue
		}
		row, err := parseNMRow(f, c.Sources)
		if err != nil {
			return nil, file.invalid(fmt.Sprintf("line %d", line), "%v", err)
		}
		c.Rows = append(c.Rows, row)
	}
	if err := sc.Err(); err != nil {
		return nil, file.invalid("file", "unreadable: %v", err)
	}
	if !header {
		return nil, file.invalid("file", "has no header line")
	}
	for i := range c.Rows {
		for j := i + 1; j < len(c.Rows); j++ {
			a, b := &c.Rows[i], &c.Rows[j]
			if a.ID == b.ID && overlap(a, b) {
				return nil, file.invalid("id", "%s: two rows cover the same ages (%s, %s)", a.ID, a.Reference, b.Reference)
			}
		}
	}
	return c, nil
}

// overlap reports whether two rows cover a common age.
func overlap(a, b *NMCoefficient) bool {
	aHigh, bHigh := a.BelowYears, b.BelowYears
	if aHigh == 0 {
		aHigh = math.Inf(1)
	}
	if bHigh == 0 {
		bHigh = math.Inf(1)
	}
	return a.FromYears < bHigh && b.FromYears < aHigh
}

// parseNMRow reads one row of the coefficients file.
func parseNMRow(f []string, sources map[string]string) (NMCoefficient, error) {
	if len(f) != len(nmColumns) {
		return NMCoefficient{}, fmt.Errorf("has %d fields, want %d (tab-separated)", len(f), len(nmColumns))
	}
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	r := NMCoefficient{ID: f[0], Radiopharmaceutical: f[1], Radionuclide: f[2], Reference: f[5],
		Organ: f[9], Source: f[11], Table: f[12], Note: f[13]}
	switch {
	case r.ID == "" || r.Radiopharmaceutical == "" || r.Radionuclide == "" || r.Reference == "":
		return r, fmt.Errorf("id, radiopharmaceutical, radionuclide and reference are required")
	case sources[r.Source] == "":
		return r, fmt.Errorf("source %q is not declared by a \"#source\" line: every coefficient names its source", r.Source)
	case r.Table == "":
		return r, fmt.Errorf("table is required: where in the source the values were read")
	}
	for _, code := range strings.Fields(f[3]) {
		scheme, value, ok := strings.Cut(code, ":")
		if !ok || scheme == "" || value == "" {
			return r, fmt.Errorf("code %q is not SCHEME:VALUE", code)
		}
		r.Codes = append(r.Codes, strings.ToUpper(scheme)+":"+value)
	}
	for _, n := range strings.Split(f[4], "|") {
		if n = normName(n); n != "" {
			r.Names = append(r.Names, n)
		}
	}
	if len(r.Codes) == 0 && len(r.Names) == 0 {
		return r, fmt.Errorf("a row needs a code or a name to be matched")
	}
	num := func(s, what string, max float64, required bool) (float64, error) {
		if s == "" && !required {
			return 0, nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || !(v > 0 && v <= max) {
			return 0, fmt.Errorf("%s %q is not a number in (0, %v]", what, s, max)
		}
		return v, nil
	}
	var err error
	if f[6] != "" {
		if r.FromYears, err = strconv.ParseFloat(f[6], 64); err != nil || r.FromYears < 0 || r.FromYears > 130 {
			return r, fmt.Errorf("from_years %q is not an age", f[6])
		}
	}
	if r.BelowYears, err = num(f[7], "below_years", 130, false); err != nil {
		return r, err
	}
	if r.BelowYears != 0 && r.BelowYears <= r.FromYears {
		return r, fmt.Errorf("below_years %v must be above from_years %v", r.BelowYears, r.FromYears)
	}
	if r.MSvPerMBq, err = num(f[8], "effective_mSv_per_MBq", 10, true); err != nil {
		return r, err
	}
	if r.OrganMGyPerMBq, err = num(f[10], "organ_mGy_per_MBq", 100, r.Organ != ""); err != nil {
		return r, err
	}
	if r.Organ == "" && r.OrganMGyPerMBq != 0 {
		return r, fmt.Errorf("organ_mGy_per_MBq needs its organ")
	}
	return r, nil
}

// normName writes a radiopharmaceutical's name for matching: lower case,
// DICOM superscript markup and punctuation turned into spaces, words
// separated by one space ("Fluorodeoxyglucose F^18^" → "fluorodeoxyglucose
// f 18", "FDG -- fluorodeoxyglucose" → "fdg fluorodeoxyglucose").
func normName(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}), " ")
}

// hasWords reports whether the words of name appear in text, in order and
// whole (both normalised).
func hasWords(text, name string) bool {
	if name == "" {
		return false
	}
	// Without building padded copies: the match is tried for every name
	// of every row, for each administration.
	for i := 0; i+len(name) <= len(text); {
		j := strings.Index(text[i:], name)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(name)
		if (j == 0 || text[j-1] == ' ') && (end == len(text) || text[end] == ' ') {
			return true
		}
		i = j + 1
	}
	return false
}

// NMAdministrationEstimate is the estimate of one radiopharmaceutical
// administration.
type NMAdministrationEstimate struct {
	UID                 string  `json:"uid,omitempty"`
	Radiopharmaceutical string  `json:"radiopharmaceutical"` // "FDG / F 18"
	MBq                 float64 `json:"activity_MBq,omitempty"`
	// Coefficient is the row used (nil: not estimated, Reason says why);
	// its value, reference age and source are repeated for JSON readers.
	Coefficient *NMCoefficient `json:"-"`
	MSvPerMBq   float64        `json:"coefficient_mSv_per_MBq,omitempty"`
	Reference   string         `json:"reference_age,omitempty"`
	Source      string         `json:"source,omitempty"`
	MSv         float64        `json:"effective_dose_estimate_mSv,omitempty"`
	Organ       string         `json:"organ,omitempty"`
	OrganMGy    float64        `json:"organ_dose_mGy,omitempty"`
	Reason      string         `json:"reason,omitempty"`
}

// Estimated reports whether the administration has an estimate.
func (a NMAdministrationEstimate) Estimated() bool { return a.Coefficient != nil }

// Reasons an administration or an NM exam gets no estimate.
const (
	nmNoActivity      = "activité administrée non transmise : non estimée"
	nmNoAdministrated = "radiopharmaceutique non transmis : non estimée"
	nmNoCoefficient   = "non estimée : pas de coefficient publié vérifié pour ce radiopharmaceutique"
	nmAmbiguous       = "non estimée : le nom du radiopharmaceutique correspond à plusieurs coefficients"
	nmPartlyCounted   = "non estimée : rapport dont une partie des administrations a déjà été comptée"
	nmUnknownAge      = "âge inconnu : coefficients adulte"
)

// match returns the rows of the radiopharmaceutical of an administration
// (every reference age), or a reason for none: by the DICOM code first,
// else by a name the text of the code or of the image header contains;
// the administration's radionuclide, when given, must be the row's.
func (c *NMCoefficients) match(a *ledger.Administration) ([]*NMCoefficient, string) {
	nuclide := ledger.RadionuclideName(a.Radionuclide)
	var byCode, byName []*NMCoefficient
	code := strings.ToUpper(a.Radiopharmaceutical.Scheme) + ":" + a.Radiopharmaceutical.Value
	text := normName(a.Radiopharmaceutical.Meaning + " " + a.Radiopharmaceutical.Value)
	for i := range c.Rows {
		r := &c.Rows[i]
		for _, k := range r.Codes {
			if a.Radiopharmaceutical.Value != "" && k == code {
				byCode = append(byCode, r)
				break
			}
		}
		for _, n := range r.Names {
			if hasWords(text, n) {
				byName = append(byName, r)
				break
			}
		}
	}
	rows := byCode
	if len(rows) == 0 {
		rows = byName
	}
	if len(rows) == 0 {
		return nil, nmNoCoefficient
	}
	for _, r := range rows[1:] {
		if r.ID != rows[0].ID {
			return nil, nmAmbiguous
		}
	}
	if nuclide != "" && nuclide != rows[0].Radionuclide {
		return nil, fmt.Sprintf("non estimée : radionucléide %s, le coefficient de %s est celui du %s", nuclide, rows[0].Radiopharmaceutical, rows[0].Radionuclide)
	}
	return rows, ""
}

// Administration returns the estimate of one administration to a patient
// of age years (ageKnown false: unknown, the adult row is used and the
// exam's estimate carries a warning). A child whose age no row covers
// gets no estimate, never the adult's coefficients.
func (c *NMCoefficients) Administration(a *ledger.Administration, age float64, ageKnown bool) NMAdministrationEstimate {
	out := NMAdministrationEstimate{UID: a.UID, Radiopharmaceutical: ledger.Activity{
		Radiopharmaceutical: ledger.RadiopharmaceuticalName(a.Radiopharmaceutical),
		Radionuclide:        ledger.RadionuclideName(a.Radionuclide)}.Label()}
	if a.Activity != nil {
		out.MBq = a.Activity.Value
	}
	if a.Radiopharmaceutical.IsZero() {
		out.Reason = nmNoAdministrated
		return out
	}
	rows, why := c.match(a)
	if rows == nil {
		out.Reason = why
		return out
	}
	if !ageKnown {
		age = math.Inf(1) // the adult row: the one without an upper bound
	}
	var row *NMCoefficient
	for _, r := range rows {
		if r.covers(age) {
			row = r
			break
		}
	}
	if row == nil {
		refs := make([]string, len(rows))
		for i, r := range rows {
			refs[i] = r.Reference
		}
		if ageKnown {
			out.Reason = fmt.Sprintf("%s (%s ans) : la source ne donne que les coefficients %s", NoEstimateForAge, fmtNum(round(age, 1)), strings.Join(refs, ", "))
		} else {
			out.Reason = "âge inconnu et pas de coefficient adulte pour " + rows[0].Label() + " : non estimée"
		}
		return out
	}
	if out.MBq <= 0 {
		out.Reason = nmNoActivity
		return out
	}
	out.Coefficient, out.MSv = row, out.MBq*row.MSvPerMBq
	out.MSvPerMBq, out.Reference, out.Source = row.MSvPerMBq, row.Reference, c.Sources[row.Source]+" — "+row.Table
	if row.Organ != "" {
		out.Organ, out.OrganMGy = row.Organ, out.MBq*row.OrganMGyPerMBq
	}
	return out
}

// NMEstimate is the nuclear-medicine dose estimate of one exam or one
// history row: an estimate per administration, and their sum when every
// administration has one.
type NMEstimate struct {
	Administrations []NMAdministrationEstimate `json:"administrations,omitempty"`
	MSv             float64                    `json:"effective_dose_estimate_mSv,omitempty"`
	// Reason says why there is no estimate (an administration without
	// coefficient, a report partly counted before…).
	Reason string `json:"reason,omitempty"`
	// Warning says the age was unknown (adult coefficients).
	Warning string `json:"warning,omitempty"`
}

// Estimated reports whether every administration has an estimate.
func (e NMEstimate) Estimated() bool { return len(e.Administrations) > 0 && e.Reason == "" }

// Exam returns the estimate of one stored exam from its administrations
// (none for a report that counts nothing; a report of which some
// administrations were counted by an earlier one is not estimated, so
// that no administration counts twice).
func (c *NMCoefficients) Exam(e *ledger.Entry) NMEstimate {
	age, ageKnown := AgeYears(e.Exam.Patient.Age)
	return c.examAt(e, age, ageKnown)
}

// examAt is Exam for a patient whose age at the exam is given (the alert
// rules may know it from the birth date when the report has none).
func (c *NMCoefficients) examAt(e *ledger.Entry, age float64, ageKnown bool) NMEstimate {
	x := &e.Exam
	if ok, _ := e.Counting(); !ok || x.Domain != ledger.DomainNM {
		return NMEstimate{}
	}
	if e.RepeatedEvents > 0 {
		return NMEstimate{Reason: nmPartlyCounted}
	}
	var as []ledger.Administration
	if x.NM != nil {
		as = x.NM.Administrations
	}
	out := c.estimate(as, age, ageKnown)
	if len(as) == 0 && e.Effective().Activity > 0 {
		out.Reason = nmNoAdministrated
	}
	return out
}

// estimate sums the estimates of a set of administrations.
func (c *NMCoefficients) estimate(as []ledger.Administration, age float64, ageKnown bool) NMEstimate {
	var out NMEstimate
	for i := range as {
		a := c.Administration(&as[i], age, ageKnown)
		out.Administrations = append(out.Administrations, a)
		if !a.Estimated() {
			if out.Reason == "" {
				out.Reason = a.Radiopharmaceutical + " : " + a.Reason
			}
			continue
		}
		out.MSv += a.MSv
		if !ageKnown {
			out.Warning = nmUnknownAge
		}
	}
	if out.Reason != "" {
		out.MSv = 0
	}
	return out
}

// NoNMEstimate is what the history prints for a study without estimate.
const NoNMEstimate = "non estimée"

// FillHistory sets the estimate of each nuclear-medicine row of h (its
// effective dose and organ dose, or NoNMEstimate with the reason) from the
// stored exams es it was built from, each administration once (by its
// UID) as the row's activities count it.
func (c *NMCoefficients) FillHistory(h *ledger.History, es []ledger.Entry) {
	if len(h.NM) == 0 {
		return
	}
	bySOP := entriesBySOP(es)
	for i := range h.NM {
		r := &h.NM[i]
		seen := map[string]bool{}
		var est NMEstimate
		for _, sop := range r.Exams {
			e := bySOP[sop]
			if e == nil || e.Exam.Domain != ledger.DomainNM {
				continue
			}
			if ok, _ := e.Counting(); !ok {
				continue
			}
			age, ageKnown := AgeYears(e.Exam.Patient.Age)
			var as []ledger.Administration
			if e.Exam.NM != nil {
				for _, a := range e.Exam.NM.Administrations {
					if a.UID != "" && seen[a.UID] {
						continue
					}
					seen[a.UID] = a.UID != ""
					as = append(as, a)
				}
			}
			part := c.estimate(as, age, ageKnown)
			if len(as) == 0 && e.Effective().Activity > 0 {
				part.Reason = nmNoAdministrated
			}
			est.Administrations = append(est.Administrations, part.Administrations...)
			est.MSv += part.MSv
			if est.Reason == "" {
				est.Reason = part.Reason
			}
			if part.Warning != "" {
				est.Warning = part.Warning
			}
		}
		if est.Reason != "" {
			est.MSv = 0
		}
		r.EffectiveDose, r.OrganDose = est.Labels()
	}
}

// Labels are the estimate as the synthesis prints it: the effective dose
// with the reference age of the coefficients ("7,49 mSv (adulte)"; per
// administration when there are several), and the organ receiving the
// largest dose ("vessie : 63,04 mGy"); NoNMEstimate with the reason when
// there is none.
func (e NMEstimate) Labels() (effective, organ string) {
	if !e.Estimated() {
		if e.Reason == "" && len(e.Administrations) == 0 {
			return "", ""
		}
		return NoNMEstimate + " (" + strings.TrimPrefix(e.Reason, "non estimée : ") + ")", ""
	}
	var eff, org []string
	for _, a := range e.Administrations {
		l := frNum(round(a.MSv, 2)) + " mSv (" + a.Coefficient.Reference + ")"
		o := ""
		if a.Organ != "" {
			o = a.Organ + " : " + frNum(round(a.OrganMGy, 2)) + " mGy"
		}
		if len(e.Administrations) > 1 {
			l = a.Radiopharmaceutical + " : " + l
			if o != "" {
				o = a.Radiopharmaceutical + " : " + o
			}
		}
		eff = append(eff, l)
		if o != "" {
			org = append(org, o)
		}
	}
	effective = strings.Join(eff, " ; ")
	if e.Warning != "" {
		effective += " — " + e.Warning
	}
	return effective, strings.Join(org, " ; ")
}

// Source returns the sources of the coefficients, for printing beside
// the estimates.
func (c *NMCoefficients) Source() string {
	ids := make([]string, 0, len(c.Sources))
	for id := range c.Sources {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = id + " : " + c.Sources[id]
	}
	return strings.Join(parts, " ; ")
}
