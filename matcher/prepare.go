package matcher

import (
	"errors"
	"fmt"
	"strings"

	"github.com/antzucaro/matchr"

	"vigie"
)

// Prepared is a record's comparison form, computed once by Prepare and then
// compared against many candidates.
type Prepared struct {
	Record *vigie.Record // the record as received, for explanations

	Birth Name   // birth name (from BirthName, or split out of an ÉPOUSE/NÉE pattern)
	Used  Name   // name in use
	First Name   // first first name (or the first name in use)
	List  []Name // every birth first name, in order

	// Date is the birth date, zero when none was sent or when the one
	// sent cannot be read (see DateInvalid).
	Date       Date
	Sex        byte // 'M', 'F' or 0 when unknown
	BirthPlace string

	INS    INS  // valid INS, or zero
	HasINS bool // a valid INS is present
	// INSMismatch is set when the INS's own sex or birth year/month
	// contradicts the record's traits: the number probably belongs to
	// someone else (a parent's NIR on a child's record).
	INSMismatch bool

	Postal  string // 5 digits
	City    string // folded letters
	Address string // folded, abbreviations expanded, letters and digits glued
	// Street is the distinctive part of the address line: its name words,
	// separated by one space, without the house number, the street type
	// (RUE, AVENUE…) and particles. The address blocking key is built from
	// its letters glued; the household comparison matches its words in any
	// order (a second address line typed before the first).
	Street string
	Phone  string // last 9 digits
	// Email is the record's e-mail address, normalised, when it is one
	// (ParseEmail); empty when none was sent or the one sent is malformed.
	Email string

	// NoAutoLink is set for doubtful, fictitious and anonymous identities,
	// for records whose names are placeholders and for birth dates before
	// OldestPlausibleYear: they never link by themselves.
	NoAutoLink bool
}

// OldestPlausibleYear is the first birth year taken at face value. Issue 26
// asked for dates before 1890 to go to review; the matcher already held
// back records born before 1900 (the oldest living people were born after
// 1905), and that stricter bound is kept.
const OldestPlausibleYear = 1900

// Prepare validates a record and computes its comparison form. An error is a
// *vigie.Error with code EINVALID naming the field at fault; nothing is
// silently dropped. A birth date that cannot be read is not an error: it
// is flagged (DateInvalid) and counts as missing; an invalid INS stays in
// the record, unused, and InvalidINS reports it. Prepare does not apply
// the text rule and the limits: the doors call Admit, which does (see
// Clean).
func Prepare(r *vigie.Record) (*Prepared, error) {
	if strings.TrimSpace(r.Authority) == "" {
		return nil, vigie.Invalid("authority", "the assigning authority is required")
	}
	if strings.TrimSpace(r.LocalID) == "" {
		return nil, vigie.Invalid("local_id", "the local id is required")
	}
	switch strings.ToUpper(strings.TrimSpace(r.Status)) {
	case "", vigie.StatusPROV, vigie.StatusRECUP, vigie.StatusVALI, vigie.StatusQUAL:
	default:
		return nil, vigie.Invalid("status", "%q is not an identity status (PROV, RECUP, VALI or QUAL)", r.Status)
	}
	p := &Prepared{Record: r}

	// Every field is cut to its bound before it is folded (see bounds.go):
	// the work below is bounded whatever the record holds.
	birth, used := Fold(clip(r.BirthName, MaxRawNameBytes)), Fold(clip(r.UsedName, MaxRawNameBytes))
	if b, u, ok := SplitMarital(birth); ok {
		birth = b
		if used == "" {
			used = u
		}
	}
	if b, u, ok := SplitMarital(used); ok {
		used = u
		if used == "" { // "NEE DUPONT" alone in the used-name field
			used = b
		}
		if birth == "" {
			birth = b
		}
	}
	p.Birth = prepareName(birth)
	p.Used = prepareName(used)
	if p.Used.Glued == p.Birth.Glued {
		p.Used = Name{}
	}

	for _, f := range strings.Fields(Fold(strings.ReplaceAll(clip(r.FirstNames, MaxRawNameBytes), ",", " "))) {
		if len(p.List) == MaxFirstNames {
			break
		}
		p.List = append(p.List, prepareName(f))
	}
	if first := Fold(clip(r.FirstName, MaxRawNameBytes)); first != "" {
		p.First = prepareName(first)
	} else if len(p.List) > 0 {
		p.First = p.List[0]
	}

	var err error
	if p.Date, err = ParseDate(r.BirthDate); err != nil {
		p.Date = Date{} // unreadable: no evidence either way (see DateInvalid)
	}
	if p.Sex, err = parseSex(r.Sex); err != nil {
		return nil, err
	}
	if p.BirthPlace, err = parseBirthPlace(r.BirthPlace); err != nil {
		return nil, err
	}
	// An INS that fails its checks (a wrong key, two digits transposed) is
	// kept verbatim in the record, ignored as evidence and reported
	// (InvalidINS): the row is not lost for it.
	if strings.TrimSpace(r.INS) != "" {
		if ins, err := ParseINS(r.INS, strings.TrimSpace(r.INSOID)); err == nil {
			p.INS, p.HasINS = ins, true
			p.INSMismatch = insContradicts(p)
		}
	}

	p.Postal = digitsOnly(r.PostalCode)
	switch len(p.Postal) {
	case 5:
	case 4: // a spreadsheet dropped the leading zero of 01000
		p.Postal = "0" + p.Postal
	default:
		p.Postal = ""
	}
	p.City = Letters(Fold(clip(r.City, MaxAddressBytes)))
	p.Address, p.Street = normaliseAddress(Fold(clip(r.Address, MaxAddressBytes)))
	if ph := digitsOnly(r.Phone); len(ph) >= 9 {
		p.Phone = ph[len(ph)-9:]
	}

	// A malformed address stays in the record, unused (see Warnings).
	p.Email, _ = ParseEmail(NormaliseEmail(clip(r.Email, MaxAddressBytes)))

	for _, a := range r.Attributes {
		switch strings.ToUpper(strings.TrimSpace(a)) {
		case vigie.AttrDoubtful, vigie.AttrFictitious, vigie.AttrAnonymous:
			p.NoAutoLink = true
		}
	}
	// A missing trait is no evidence either way; a placeholder name says
	// the identity is unknown.
	if p.Birth.Placeholder || p.Birth.Glued == "" && (p.Used.Placeholder || p.Used.Glued == "" && p.First.Placeholder) {
		p.NoAutoLink = true
	}
	if p.Date.Year != 0 && p.Date.Year < OldestPlausibleYear {
		p.NoAutoLink = true
	}
	return p, nil
}

// DateInvalid reports whether the record's birth date was sent but cannot
// be read as a calendar date (00/00/0000, 1945-04-93, 31/02/1980, "hier"),
// and why. Such a date is not refused: the record keeps it verbatim, Date
// is zero and the birth date is no evidence either way, exactly as a
// missing one. (A method rather than a field, so that the stored prepared
// form does not change.)
func (p *Prepared) DateInvalid() (bool, string) {
	if p.Record == nil || !p.Date.IsZero() {
		return false, ""
	}
	_, err := ParseDate(p.Record.BirthDate)
	var ve *vigie.Error
	if errors.As(err, &ve) {
		return true, ve.Message
	}
	return false, ""
}

// DateImplausible reports whether the birth date is before
// OldestPlausibleYear: no living patient was born then, so it is a typing
// slip or a placeholder, and the record never links by itself (Prepare
// sets NoAutoLink).
func (p *Prepared) DateImplausible() bool {
	return p.Date.Year != 0 && p.Date.Year < OldestPlausibleYear
}

// Warnings says what of the record was taken in but not believed, one
// sentence each naming the field: an unreadable birth date (kept
// verbatim, not used for matching), an implausibly old one (the record
// goes to review rather than linking by itself), an INS whose key or
// digits are wrong and a malformed e-mail address (both kept verbatim,
// not used as evidence).
func (p *Prepared) Warnings() []string {
	var w []string
	if bad, why := p.DateInvalid(); bad {
		w = append(w, "birth_date: "+why+": kept as sent, not used for matching")
	}
	if p.DateImplausible() {
		w = append(w, fmt.Sprintf("birth_date: year %d is before %d: the record goes to review rather than linking by itself", p.Date.Year, OldestPlausibleYear))
	}
	if p.Record != nil && p.Email == "" && strings.TrimSpace(p.Record.Email) != "" {
		w = append(w, "email: not an e-mail address (expected name@domain.fr): kept as sent, not used for matching")
	}
	if p.Record != nil && !p.HasINS { // an INS Prepare took is valid
		if err := InvalidINS(p.Record); err != nil {
			w = append(w, err.Error()+": kept as sent, not used as evidence")
		}
	}
	return w
}

// prepareName parses a folded name and computes its phonetic keys.
func prepareName(folded string) Name {
	n := parseFolded(folded)
	if n.CoreGlued != "" && !n.Placeholder {
		n.Soundex2 = Soundex2(n.CoreGlued)
		n.Phonex = Phonex(n.CoreGlued)
		n.Metaphone, n.Metaphone2 = matchr.DoubleMetaphone(clip(n.CoreGlued, MaxPhoneticLetters))
	}
	return n
}

func parseSex(s string) (byte, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "M", "H", "1", "MALE", "MASCULIN", "HOMME":
		return 'M', nil
	case "F", "2", "FEMALE", "FEMININ", "FÉMININ", "FEMME":
		return 'F', nil
	case "", "U", "I", "O", "A", "N", "0", "9", "UNKNOWN", "INCONNU", "OTHER", "AUTRE":
		return 0, nil
	}
	return 0, vigie.Invalid("sex", "%q is not a sex code (expected M, F or U)", s)
}

// parseBirthPlace checks an INSEE COG commune code (5 characters, Corsica
// 2A/2B) or a 99xxx country code.
func parseBirthPlace(s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" {
		return "", nil
	}
	ok := len(s) == 5 && allDigits(s[2:]) &&
		(allDigits(s[:2]) || s[:2] == "2A" || s[:2] == "2B")
	if !ok {
		return "", vigie.Invalid("birth_place", "%q is not an INSEE code (5 characters such as 33063, 2A004 or 99134)", s)
	}
	if s == "99999" || s == "00000" { // unknown place
		return "", nil
	}
	return s, nil
}

// insContradicts reports whether a valid INS's embedded sex, year or month
// contradicts the record's own traits.
func insContradicts(p *Prepared) bool {
	if sx := p.INS.Sex(); sx != 0 && p.Sex != 0 && sx != p.Sex {
		return true
	}
	if p.Date.Year != 0 && !p.Date.Placeholder && p.INS.BirthYear2() != p.Date.Year%100 {
		return true
	}
	if m := p.INS.BirthMonth(); m >= 1 && m <= 12 && p.Date.Month != 0 && !p.Date.Placeholder && m != p.Date.Month {
		return true
	}
	return false
}

func digitsOnly(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b = append(b, s[i])
		}
	}
	return string(b)
}

var addressWords = map[string]string{
	"AV": "AVENUE", "AVE": "AVENUE", "BD": "BOULEVARD", "BLVD": "BOULEVARD",
	"R": "RUE", "CHE": "CHEMIN", "CH": "CHEMIN", "CHEM": "CHEMIN", "IMP": "IMPASSE",
	"ALL": "ALLEE", "PL": "PLACE", "RTE": "ROUTE", "CRS": "COURS", "QU": "QUAI",
	"LOT": "LOTISSEMENT", "RES": "RESIDENCE", "LD": "LIEUDIT", "ST": "SAINT", "STE": "SAINTE",
	"FBG": "FAUBOURG", "SQ": "SQUARE", "HAM": "HAMEAU", "BIS": "B", "TER": "T",
}

// normaliseAddress expands the usual French street abbreviations so that
// "12 AV. JEAN JAURES" and "12 AVENUE JEAN-JAURES" compare equal, and returns
// the glued line and its street-name words (see Prepared.Street).
func normaliseAddress(folded string) (line, street string) {
	if folded == "" {
		return "", ""
	}
	toks := strings.FieldsFunc(folded, func(r rune) bool { return r == ' ' || r == '-' || r == '\'' })
	var name strings.Builder
	for i, t := range toks {
		if w, ok := addressWords[t]; ok {
			toks[i] = w
		}
		t = toks[i]
		if streetTypes[t] || particles[t] || allDigits(t) || len(t) == 1 {
			continue
		}
		if l := Letters(t); l != "" {
			if name.Len() > 0 {
				name.WriteByte(' ')
			}
			name.WriteString(l)
		}
	}
	return strings.Join(toks, ""), name.String()
}

// streetTypes are the words that say what kind of way an address is on:
// shared by half the addresses of a town, they say nothing of who lives there.
var streetTypes = map[string]bool{
	"RUE": true, "AVENUE": true, "BOULEVARD": true, "CHEMIN": true, "IMPASSE": true,
	"ALLEE": true, "PLACE": true, "ROUTE": true, "COURS": true, "QUAI": true,
	"LOTISSEMENT": true, "RESIDENCE": true, "LIEUDIT": true, "FAUBOURG": true,
	"SQUARE": true, "HAMEAU": true, "VOIE": true, "PASSAGE": true, "SENTIER": true,
	"CITE": true, "PROMENADE": true, "ESPLANADE": true, "RUELLE": true, "TRAVERSE": true,
	"QUARTIER": true, "DOMAINE": true, "BAT": true, "BATIMENT": true, "APPT": true,
	"APPARTEMENT": true, "ETAGE": true, "ESCALIER": true, "LIEU": true, "DIT": true,
	"B": true, "T": true,
}
