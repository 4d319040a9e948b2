package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"vigie"
	"vigie/matcher"
)

// csvRow is what a test sees of one row ReadIdentityCSV gave.
type csvRow struct {
	line  int
	name  string // birth name, first name
	field string // the refusal's field, "" when read
	err   string
}

func readCSV(t *testing.T, data []byte) (rows []csvRow, notices []string, err error) {
	t.Helper()
	c := IdentityCSV{Notice: func(line int, msg string) { notices = append(notices, fmt.Sprintf("%d: %s", line, msg)) }}
	err = c.Read(bytes.NewReader(data), func(line int, rec vigie.Record, rerr error) error {
		r := csvRow{line: line, name: rec.BirthName + " " + rec.FirstName}
		if rerr != nil {
			var re *RowError
			if !errors.As(rerr, &re) {
				t.Fatalf("line %d: %T %v is not a *RowError", line, rerr, rerr)
			}
			r.field, r.err, r.name = vigie.ErrorField(rerr), rerr.Error(), ""
		}
		rows = append(rows, r)
		return nil
	})
	return rows, notices, err
}

const csvHeader = "authority,local_id,birth_name,first_name\n"

// latin1 returns s in ISO-8859-1 bytes (s holds only Latin-1 letters).
func latin1(s string) string {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r))
	}
	return string(b)
}

func TestReadIdentityCSVEncodings(t *testing.T) {
	long := strings.Repeat("A", 1<<20)
	for _, tc := range []struct {
		name    string
		data    string
		want    []csvRow
		notices []string
	}{
		{"UTF-8", csvHeader + "1.2,1,MÜLLER,Françoise\n1.2,2,LEFÈVRE,Zoé\n",
			[]csvRow{{2, "MÜLLER Françoise", "", ""}, {3, "LEFÈVRE Zoé", "", ""}}, nil},
		{"UTF-8 with a byte-order mark", "\ufeff" + csvHeader + "1.2,1,MÜLLER,Françoise\n",
			[]csvRow{{2, "MÜLLER Françoise", "", ""}}, nil},
		{"ASCII", csvHeader + "1.2,1,DUPONT,Jean\n", []csvRow{{2, "DUPONT Jean", "", ""}}, nil},
		// TestReadIdentityCSVLatin1 is issue 26's second defect: this file
		// was stored as invalid UTF-8.
		{"Latin-1", csvHeader + "1.2,1,DUPONT,Jean\n" + latin1("1.2,2,MÜLLER,Françoise\n1.2,3,LEFÈVRE,Zoé\n"),
			[]csvRow{{2, "DUPONT Jean", "", ""}, {3, "MÜLLER Françoise", "", ""}, {4, "LEFÈVRE Zoé", "", ""}},
			[]string{"3: the file is not UTF-8: read as Windows-1252 (Latin-1) from this line on"}},
		{"Windows-1252 letters", csvHeader + "1.2,1,\x8cUVRE,Ev\x9c\n", // Œ, œ
			[]csvRow{{2, "ŒUVRE Evœ", "", ""}}, []string{"2: the file is not UTF-8: read as Windows-1252 (Latin-1) from this line on"}},
		{"UTF-8 then Latin-1", csvHeader + "1.2,1,MÜLLER,Françoise\n" + latin1("1.2,2,LEFÈVRE,Zoé\n") + "1.2,3,DUPONT,Jean\n",
			[]csvRow{{2, "MÜLLER Françoise", "", ""}, {3, "", "encoding", "line 3: encoding: line 3 is not valid UTF-8, but the lines before it were: the file mixes encodings"},
				{4, "DUPONT Jean", "", ""}}, nil},
		{"Latin-1 then UTF-8", csvHeader + latin1("1.2,1,LEFÈVRE,Zoé\n") + "1.2,2,MÜLLER,Françoise\n",
			[]csvRow{{2, "LEFÈVRE Zoé", "", ""}, {3, "", "encoding", "line 3: encoding: line 3 is UTF-8, but the lines before it were not and the file is read as Windows-1252: the file mixes encodings"}},
			[]string{"2: the file is not UTF-8: read as Windows-1252 (Latin-1) from this line on"}},
		{"a megabyte line", csvHeader + "1.2,1," + long + ",Jean\n1.2,2,DUPONT,Jean\n",
			[]csvRow{{2, "", "row", "line 2: row: longer than 65536 bytes (the limit)"}, {3, "DUPONT Jean", "", ""}}, nil},
		{"a megabyte line with an open quote", csvHeader + "1.2,1,\"" + long + "\n" + long + "\",Jean\n1.2,2,DUPONT,Jean\n",
			[]csvRow{{2, "", "row", "line 2: row: longer than 65536 bytes (the limit)"}, {4, "DUPONT Jean", "", ""}}, nil},
		{"a quoted field over many lines", csvHeader + "1.2,1,\"" + strings.Repeat("AAAAAAAAAAAAAAA\n", 5000) + "\",Jean\n1.2,2,DUPONT,Jean\n",
			[]csvRow{{2, "", "row", "line 2: row: longer than 65536 bytes (the limit): a quoted field runs past line 4097"}, {5003, "DUPONT Jean", "", ""}}, nil},
		{"the last line has no end", csvHeader + "1.2,1,DUPONT,Jean", []csvRow{{2, "DUPONT Jean", "", ""}}, nil},
		{"CRLF", strings.ReplaceAll(csvHeader+latin1("1.2,1,MÜLLER,Françoise\n"), "\n", "\r\n"),
			[]csvRow{{2, "MÜLLER Françoise", "", ""}}, []string{"2: the file is not UTF-8: read as Windows-1252 (Latin-1) from this line on"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, notices, err := readCSV(t, []byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(rows) != fmt.Sprint(tc.want) {
				t.Errorf("rows\n got %v\nwant %v", rows, tc.want)
			}
			if fmt.Sprint(notices) != fmt.Sprint(tc.notices) {
				t.Errorf("notices %q, want %q", notices, tc.notices)
			}
		})
	}
}

func TestReadIdentityCSVRefusesFile(t *testing.T) {
	for _, data := range []string{"", "authority,local_id" + strings.Repeat(",x", 40000) + "\n1.2,1\n", "authority\n1.2\n",
		// No identity trait at all: identities without a name or a date.
		"authority,local_id,nmo,prenmo\n1.2,1,DUPONT,Jean\n",
		"authority,local_id\n1.2,1\n",
		// The same column twice, under its name and a French alias.
		"authority,local_id,birth_name,nom\n1.2,1,DUPONT,DURAND\n",
	} {
		if _, _, err := readCSV(t, []byte(data)); vigie.ErrorField(err) != "header" {
			t.Errorf("%.40q: %v, want a refusal of the header", data, err)
		}
	}
}

// Files as French sites export them: semicolons, French headers with
// accents and spaces, columns Vigie does not read. Each is read, and the
// notices say what was decided.
func TestReadIdentityCSVFrenchExports(t *testing.T) {
	for _, tc := range []struct {
		name    string
		data    string
		want    []csvRow
		notices []string
	}{
		{"semicolons, French headers",
			"Autorité;IPP;Nom de naissance;Prénom;Date de naissance;Sexe\n1.2;1;DUPONT;Jean;01/02/1950;M\n",
			[]csvRow{{line: 2, name: "DUPONT Jean"}},
			[]string{"1: columns separated by semicolons"}},
		{"tabs, a comma inside a value",
			"authority\tlocal_id\tnom\tprenom\n1.2\t1\tDUPONT, JR\tJean\n",
			[]csvRow{{line: 2, name: "DUPONT, JR Jean"}},
			[]string{"1: columns separated by tabs"}},
		{"a quoted header holding a semicolon stays comma-separated",
			"authority,local_id,birth_name,\"notes; libres\"\n1.2,1,DUPONT,x\n",
			[]csvRow{{line: 2, name: "DUPONT "}},
			[]string{"1: columns not recognised, ignored: notes; libres (known: " + strings.Join(IdentityColumns, ", ") + ")"}},
		{"unknown and misspelt columns are named",
			"authority,local_id,birth_name,frist_name,fax\n1.2,1,DUPONT,Jean,0102\n",
			[]csvRow{{line: 2, name: "DUPONT "}},
			[]string{"1: columns not recognised, ignored: frist_name, fax (known: " + strings.Join(IdentityColumns, ", ") + ")"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, notices, err := readCSV(t, []byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(rows) != fmt.Sprint(tc.want) {
				t.Errorf("rows %v, want %v", rows, tc.want)
			}
			if fmt.Sprint(notices) != fmt.Sprint(tc.notices) {
				t.Errorf("notices %q, want %q", notices, tc.notices)
			}
		})
	}
}

// TestReadIdentityCSVEmail: the e-mail column is read under its English
// and French headers, as sent (the door, matcher.Admit, normalises it).
func TestReadIdentityCSVEmail(t *testing.T) {
	for _, head := range []string{"email", "E-mail", "Courriel", "mail", "Adresse e-mail", "Adresse électronique"} {
		t.Run(head, func(t *testing.T) {
			data := "authority;local_id;nom;" + head + "\n1.2;1;DUPONT; Jean.Dupont@Example.FR \n"
			var got []vigie.Record
			err := ReadIdentityCSV(strings.NewReader(data), func(_ int, rec vigie.Record, rerr error) error {
				if rerr != nil {
					return rerr
				}
				got = append(got, rec)
				return nil
			})
			if err != nil || len(got) != 1 || got[0].Email != "Jean.Dupont@Example.FR" {
				t.Fatalf("header %q: %v, %+v", head, err, got)
			}
		})
	}
}

func TestHeaderKey(t *testing.T) {
	for in, want := range map[string]string{
		"Prénom": "prenom", " Date de naissance ": "date_de_naissance", "nom d'usage": "nom_d_usage",
		"\ufeffauthority": "authority", "LOCAL_ID": "local_id", "Code-Postal": "code_postal", "N°": "n",
	} {
		if got := headerKey(in); got != want {
			t.Errorf("headerKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzReadIdentityCSV(f *testing.F) {
	for _, s := range []string{
		csvHeader + "1.2,1,DUPONT\x00,Jean\n", csvHeader + "1.2,1,DU\aPONT,\x1bJean\n",
		csvHeader + "1.2,1,\u202eTNOPUD,Jean\n", csvHeader + "1.2,1,DU\u200bPONT,Jean\n",
		csvHeader + "1.2,1,E" + strings.Repeat("\u0301", 50) + ",Jean\n",
		csvHeader + "1.2,1," + strings.Repeat("A", 1<<20) + ",Jean\n",
		csvHeader + latin1("1.2,1,MÜLLER,Françoise\n1.2,2,LEFÈVRE,Zoé\n"),
		"authority,local_id,birth_date\n1.2,1,00/00/0000\n1.2,2,2090-01-01\n",
		"Autorité;IPP;Nom;Prénom\n1.2;1;DUPONT;Jean\n", "authority\tlocal_id\tnom\n1.2\t1\tDUPONT\n",
		csvHeader + "1.2,1,\"DU\nPONT\",Jean\n1.2,2,\"x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		last := 0
		_ = ReadIdentityCSV(bytes.NewReader(data), func(line int, rec vigie.Record, rerr error) error {
			if line < last {
				t.Fatalf("line %d after line %d", line, last)
			}
			last = line
			if rerr != nil {
				if vigie.ErrorCode(rerr) != vigie.EINVALID || vigie.ErrorField(rerr) == "" {
					t.Fatalf("line %d: %v names no field", line, rerr)
				}
				return nil
			}
			for _, v := range []string{rec.Authority, rec.LocalID, rec.BirthName, rec.FirstName, rec.BirthDate} {
				if !utf8.ValidString(v) {
					t.Fatalf("line %d: %+q is not UTF-8", line, v)
				}
			}
			_, _ = matcher.Admit(&rec)
			return nil
		})
	})
}
