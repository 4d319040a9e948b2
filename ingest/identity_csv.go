// Package ingest turns outside formats (identity feeds, DICOM files) into
// records for the patient index and the dose ledger. It stores nothing
// itself.
package ingest

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"

	"vigie"
)

// IdentityColumns are the columns of an identity CSV feed, in the order
// `vigie gen identities` writes them. authority and local_id are required,
// and at least one identity trait (see identityTraits); unknown columns
// are ignored and named in a notice. The headers French sites use (nom,
// prénom, date_naissance, sexe, ipp…) are read as these names: see
// headerAliases.
var IdentityColumns = []string{"authority", "local_id", "ins", "ins_oid", "status", "birth_name",
	"used_name", "first_names", "first_name", "birth_date", "sex", "birth_place", "postal_code",
	"city", "address", "phone", "email"}

// RowError is a rejected CSV row: its line number and the reason, which
// names the field.
type RowError struct {
	Line int
	Err  error
}

func (e *RowError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *RowError) Unwrap() error { return e.Err }

// ReadIdentityCSV reads an identity feed with the zero IdentityCSV (no
// notices); see IdentityCSV.Read.
func ReadIdentityCSV(r io.Reader, fn func(line int, rec vigie.Record, err error) error) error {
	return IdentityCSV{}.Read(r, fn)
}

// IdentityCSV reads identity feeds. The zero value is ready.
type IdentityCSV struct {
	// Notice, when set, receives what the reader noticed about the file
	// without refusing anything: that it is not UTF-8 and is read as
	// Windows-1252 from that line on.
	Notice func(line int, msg string)
}

// Read reads an identity feed with a header line and calls fn for every row
// with its line number. A row that cannot be read into a record (missing
// authority or local id, a line longer than vigie.MaxCSVLineBytes, a line
// in another encoding than the rest of the file) reaches fn with a
// *RowError and a zero record; fn decides whether to go on. The error
// returned is fn's, or a *vigie.Error for a file that is not such a feed at
// all.
//
// Encoding: a file that is valid UTF-8 (with or without a byte-order mark)
// is read as is. A file whose first non-ASCII line is not UTF-8 is read as
// Windows-1252 (the Latin-1 of spreadsheets saved on Windows), and Notice
// says so. A file that mixes the two (a line of the other encoding after
// the one decided) has those lines refused, each with its line number:
// which of its bytes are letters cannot be known.
func (c IdentityCSV) Read(r io.Reader, fn func(line int, rec vigie.Record, err error) error) error {
	lines := &csvLines{src: bufio.NewReaderSize(r, 64<<10), notice: c.Notice}
	// The header line is read ahead to find the separator: spreadsheets
	// set to French save with semicolons.
	if err := lines.next(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("ingest: read the identity feed: %w", err)
	}
	cr := csv.NewReader(lines)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.Comma = sniffSeparator(lines.out)
	if cr.Comma != ',' && c.Notice != nil {
		c.Notice(1, fmt.Sprintf("columns separated by %s", separatorNames[cr.Comma]))
	}
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return vigie.Invalid("header", "the file is empty: a header line naming the columns is required")
		}
		if lines.err != nil {
			return fmt.Errorf("ingest: read the identity feed: %w", lines.err)
		}
		return vigie.Invalid("header", "cannot read the header line: %v", err)
	}
	if bad := lines.badBefore(cr.InputOffset()); bad != nil {
		return vigie.Invalid("header", "%v", bad)
	}
	col, unknown, err := parseHeader(header)
	if err != nil {
		return err
	}
	if len(unknown) > 0 && c.Notice != nil {
		c.Notice(1, fmt.Sprintf("columns not recognised, ignored: %s (known: %s)", strings.Join(unknown, ", "), strings.Join(IdentityColumns, ", ")))
	}
	idx := make([]int, len(IdentityColumns))
	for i, c := range IdentityColumns {
		idx[i] = -1
		if j, ok := col[c]; ok {
			idx[i] = j
		}
	}
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if lines.err != nil {
			return fmt.Errorf("ingest: read the identity feed: %w", lines.err)
		}
		var line int
		if err != nil {
			// FieldPos knows no field of a row that failed to parse (it
			// panicked on a bare quote in the first field).
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			rerr := lines.badBefore(cr.InputOffset())
			if rerr == nil {
				rerr = vigie.Invalid("row", "%v", err)
			}
			if ferr := fn(line, vigie.Record{}, &RowError{line, rerr}); ferr != nil {
				return ferr
			}
			continue
		}
		line, _ = cr.FieldPos(0)
		if bad := lines.badBefore(cr.InputOffset()); bad != nil {
			if ferr := fn(line, vigie.Record{}, &RowError{line, bad}); ferr != nil {
				return ferr
			}
			continue
		}
		get := func(k int) string {
			if j := idx[k]; j >= 0 && j < len(row) {
				return strings.TrimSpace(row[j])
			}
			return ""
		}
		rec := vigie.Record{
			Authority: get(0), LocalID: get(1), INS: get(2), INSOID: get(3), Status: strings.ToUpper(get(4)),
			BirthName: get(5), UsedName: get(6), FirstNames: get(7), FirstName: get(8), BirthDate: get(9),
			Sex: get(10), BirthPlace: get(11), PostalCode: get(12), City: get(13), Address: get(14), Phone: get(15),
			Email: get(16),
		}
		var rerr error
		switch {
		case rec.Authority == "":
			rerr = &RowError{line, vigie.Invalid("authority", "the assigning authority is empty")}
		case rec.LocalID == "":
			rerr = &RowError{line, vigie.Invalid("local_id", "the local id is empty")}
		}
		if rerr != nil {
			rec = vigie.Record{}
		}
		if err := fn(line, rec, rerr); err != nil {
			return err
		}
	}
}

// csvLines is what the CSV parser reads: the file's lines, in UTF-8, each
// at most vigie.MaxCSVLineBytes long. It decides the file's encoding from
// its first non-ASCII line (see IdentityCSV.Read), and replaces a line it
// cannot pass on (too long, or of the other encoding) by a stand-in that
// keeps the file's quoting as it was, recording why against the offset of
// the stand-in, for Read to reject the row that holds it.
type csvLines struct {
	src    *bufio.Reader
	notice func(line int, msg string)

	out  []byte // decoded bytes not yet read
	off  int64  // bytes handed to the parser so far, and queued in out
	line int    // physical lines read
	enc  int    // encUndecided, encUTF8 or encWindows1252
	// inQuote is whether a quoted field is open at the end of the last
	// line; recBytes counts the bytes of the record it belongs to.
	inQuote  bool
	recBytes int
	recBad   bool // the current record already has a reason recorded
	bad      []badLine
	err      error // a read error of the source
	buf      []byte
}

const (
	encUndecided = iota
	encUTF8
	encWindows1252
)

// badLine is why the line whose stand-in starts at off cannot be read.
type badLine struct {
	off int64
	err error
}

// badBefore returns the reason recorded for the first bad line that starts
// before offset end of the parser's input, forgetting every one of them.
func (l *csvLines) badBefore(end int64) error {
	var err error
	for len(l.bad) > 0 && l.bad[0].off < end {
		if err == nil {
			err = l.bad[0].err
		}
		l.bad = l.bad[1:]
	}
	return err
}

func (l *csvLines) Read(p []byte) (int, error) {
	for len(l.out) == 0 {
		if err := l.next(); err != nil {
			if !errors.Is(err, io.EOF) {
				l.err = err
			}
			return 0, err
		}
	}
	n := copy(p, l.out)
	l.out = l.out[n:]
	return n, nil
}

// next reads one line of the source into out.
func (l *csvLines) next() error {
	buf := l.buf[:0]
	size, quotes, long, ended := 0, 0, false, false
	for {
		chunk, err := l.src.ReadSlice('\n')
		size += len(chunk)
		quotes += bytes.Count(chunk, []byte{'"'})
		if !long && size > vigie.MaxCSVLineBytes {
			long = true
		}
		if !long {
			buf = append(buf, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if size == 0 {
			return io.EOF
		}
		ended = err == nil
		break
	}
	l.buf = buf
	l.line++
	if l.line == 1 && bytes.HasPrefix(buf, []byte("\xef\xbb\xbf")) {
		buf = buf[3:]
		l.enc = encUTF8
	}
	startInQuote := l.inQuote
	if startInQuote {
		l.recBytes += size
	} else {
		l.recBytes, l.recBad = size, false
	}
	if quotes%2 == 1 {
		l.inQuote = !l.inQuote
	}
	var why error
	switch {
	case long || l.recBytes > vigie.MaxCSVLineBytes:
		why = vigie.Invalid("row", "longer than %d bytes (the limit)", vigie.MaxCSVLineBytes)
		if startInQuote {
			why = vigie.Invalid("row", "longer than %d bytes (the limit): a quoted field runs past line %d", vigie.MaxCSVLineBytes, l.line)
		}
		// The stand-in keeps the quoting: it opens or closes a quoted
		// field as the line did.
		switch {
		case quotes%2 == 0:
			buf = []byte("-")
		case startInQuote:
			buf = []byte("-\"")
		default:
			buf = []byte("\"-")
		}
		if ended {
			buf = append(buf, '\n')
		}
	case allASCII(buf):
	case utf8.Valid(buf):
		switch l.enc {
		case encUndecided:
			l.enc = encUTF8
		case encWindows1252:
			why = vigie.Invalid("encoding", "line %d is UTF-8, but the lines before it were not and the file is read as Windows-1252: the file mixes encodings", l.line)
		}
	default:
		switch l.enc {
		case encUndecided:
			l.enc = encWindows1252
			if l.notice != nil {
				l.notice(l.line, "the file is not UTF-8: read as Windows-1252 (Latin-1) from this line on")
			}
		case encUTF8:
			why = vigie.Invalid("encoding", "line %d is not valid UTF-8, but the lines before it were: the file mixes encodings", l.line)
		}
		if why == nil {
			dec, err := charmap.Windows1252.NewDecoder().Bytes(buf)
			if err != nil {
				return err
			}
			buf = dec
		}
	}
	if why != nil && !l.recBad {
		l.bad = append(l.bad, badLine{l.off, why})
		l.recBad = true
	}
	l.off += int64(len(buf))
	l.out = buf
	return nil
}

func allASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// separatorNames name the separators a feed may use, for the notice.
var separatorNames = map[rune]string{',': "commas", ';': "semicolons", '\t': "tabs", '|': "vertical bars"}

// sniffSeparator returns the separator of a feed from its header line:
// the one of comma, semicolon, tab and vertical bar it holds most often
// outside quotes (comma when none).
func sniffSeparator(header []byte) rune {
	counts := map[rune]int{}
	quoted := false
	for _, c := range string(header) {
		switch {
		case c == '"':
			quoted = !quoted
		case !quoted && separatorNames[c] != "":
			counts[c]++
		}
	}
	best := ','
	for _, c := range []rune{';', '\t', '|'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return best
}

// headerAliases maps the folded headers of French exports (lower case, no
// accents, words joined by "_") to the feed's column names.
var headerAliases = map[string]string{
	"autorite": "authority", "autorite_affectation": "authority", "oid": "authority", "domaine": "authority",
	"ipp": "local_id", "id_local": "local_id", "identifiant_local": "local_id", "numero_patient": "local_id",
	"matricule_ins": "ins", "nir": "ins", "oid_ins": "ins_oid",
	"statut": "status", "statut_identite": "status",
	"nom": "birth_name", "nom_naissance": "birth_name", "nom_de_naissance": "birth_name",
	"nom_usage": "used_name", "nom_d_usage": "used_name", "nom_utilise": "used_name",
	"prenoms": "first_names", "liste_prenoms": "first_names", "prenoms_naissance": "first_names",
	"prenom": "first_name", "prenom_usage": "first_name", "prenom_utilise": "first_name",
	"date_naissance": "birth_date", "date_de_naissance": "birth_date", "ddn": "birth_date", "naissance": "birth_date",
	"sexe": "sex", "lieu_naissance": "birth_place", "lieu_de_naissance": "birth_place", "code_lieu_naissance": "birth_place",
	"code_postal": "postal_code", "cp": "postal_code", "ville": "city", "commune": "city",
	"adresse": "address", "telephone": "phone", "tel": "phone",
	"e_mail": "email", "courriel": "email", "mail": "email", "mel": "email", "adresse_mail": "email",
	"adresse_email": "email", "adresse_e_mail": "email", "adresse_electronique": "email", "adresse_courriel": "email",
}

// identityTraits are the columns of which a feed must hold at least one:
// a file that names none of them would load identities without a trait.
var identityTraits = []string{"ins", "birth_name", "used_name", "first_names", "first_name", "birth_date"}

// parseHeader maps each column of the header to its position, reading
// French headers through headerAliases. It returns the columns it did not
// recognise, and refuses a header without the required columns, with a
// column twice, or without any identity trait.
func parseHeader(header []string) (col map[string]int, unknown []string, err error) {
	col = map[string]int{}
	known := map[string]bool{}
	for _, c := range IdentityColumns {
		known[c] = true
	}
	for i, h := range header {
		k := headerKey(h)
		if a, ok := headerAliases[k]; ok {
			k = a
		}
		switch {
		case k == "":
		case !known[k]:
			unknown = append(unknown, strings.TrimSpace(h))
		case colHas(col, k):
			return nil, nil, vigie.Invalid("header", "column %q is given twice (columns %d and %d)", k, col[k]+1, i+1)
		default:
			col[k] = i
		}
	}
	for _, req := range []string{"authority", "local_id"} {
		if _, ok := col[req]; !ok {
			return nil, nil, vigie.Invalid("header", "column %q is required (found %s)", req, strings.Join(header, ", "))
		}
	}
	for _, t := range identityTraits {
		if _, ok := col[t]; ok {
			return col, unknown, nil
		}
	}
	return nil, nil, vigie.Invalid("header", "no identity column recognised (found %s): name at least one of %s (French headers such as nom, prenom, date_naissance are read too)",
		strings.Join(header, ", "), strings.Join(identityTraits, ", "))
}

func colHas(col map[string]int, k string) bool { _, ok := col[k]; return ok }

// headerKey folds a header for lookup: lower case, accents dropped, spaces,
// hyphens, apostrophes and dots turned into "_".
func headerKey(h string) string {
	h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
	var b strings.Builder
	under := false
	for _, r := range norm.NFD.String(strings.ToLower(h)) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
			under = false
		case !under && b.Len() > 0:
			b.WriteByte('_')
			under = true
		}
	}
	return strings.TrimSuffix(b.String(), "_")
}
