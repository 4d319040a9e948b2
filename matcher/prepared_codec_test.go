package matcher

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"vigie"
)

// The codec must carry every field of the prepared form: a field added to
// Prepared (or Name, Date, INS) must be added to AppendPrepared and
// decodePrepared, PreparedFormat bumped, and then the field listed here.
func TestPreparedCodecCoversPrepared(t *testing.T) {
	fields := func(v any) []string {
		var out []string
		for f := range reflect.TypeOf(v).Fields() {
			out = append(out, f.Name)
		}
		return out
	}
	want := map[string][]string{
		"Prepared": {"Record", "Birth", "Used", "First", "List", "Date", "Sex", "BirthPlace", "INS", "HasINS", "INSMismatch", "Postal", "City", "Address", "Street", "Phone", "Email", "NoAutoLink"},
		"Name":     {"Folded", "Tokens", "Core", "Glued", "CoreGlued", "Soundex2", "Phonex", "Metaphone", "Metaphone2", "Placeholder"},
		"Date":     {"Year", "Month", "Day", "Placeholder"},
		"INS":      {"Number", "OID"},
	}
	for name, v := range map[string]any{"Prepared": Prepared{}, "Name": Name{}, "Date": Date{}, "INS": INS{}} {
		if got := fields(v); !slices.Equal(got, want[name]) {
			t.Errorf("matcher.%s has fields %v; the prepared-form codec knows %v: update prepared_codec.go", name, got, want[name])
		}
	}
}

// codecRecords are records with every kind of trait; a function, since
// benchRecords get their INS key in an init function.
func codecRecords() []vigie.Record {
	return []vigie.Record{
		benchRecords[0],
		benchRecords[1],
		{Authority: "a", LocalID: "b"},
		{Authority: "a", LocalID: "c", BirthName: "X", FirstNames: "BEBE", BirthDate: "1880-00-00", Attributes: []string{"DOUT"}},
		{Authority: "a", LocalID: "d", BirthName: "DE LA FONTAINE ÉPOUSE MARTIN", FirstNames: "Jean-Pierre, Marie, Éloïse", BirthDate: "1980-00-00", Sex: "2"},
		{Authority: "a", LocalID: "e", BirthName: "N'GUYEN", UsedName: "NGUYEN-VAN", FirstName: "Thi", BirthDate: "01/01/1950", BirthPlace: "99243", PostalCode: "1000", Email: "thi.nguyen@example.fr"},
	}
}

func TestPreparedCodecRoundTrip(t *testing.T) {
	var all []byte
	var want []*Prepared
	for _, r := range codecRecords() {
		t.Run(r.LocalID, func(t *testing.T) {
			p, err := Prepare(&r)
			if err != nil {
				t.Fatal(err)
			}
			b := AppendPrepared(nil, p)
			got, rest, err := DecodePrepared(string(b), p.Record)
			if err != nil {
				t.Fatal(err)
			}
			if rest != "" {
				t.Errorf("%d bytes left after the form", len(rest))
			}
			if !reflect.DeepEqual(got, p) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, p)
			}
			// Every strict prefix is refused, never misread.
			for n := range len(b) {
				if _, _, err := DecodePrepared(string(b[:n]), p.Record); !errors.Is(err, ErrPreparedForm) {
					t.Fatalf("prefix of %d/%d bytes: err %v, want ErrPreparedForm", n, len(b), err)
				}
			}
			all = AppendPrepared(all, p)
			want = append(want, p)
		})
	}
	// Forms written one after the other are read back one after the other.
	s := string(all)
	for i, w := range want {
		got, rest, err := DecodePrepared(s, w.Record)
		if err != nil || !reflect.DeepEqual(got, w) {
			t.Fatalf("form %d of a sequence: %v\n got %+v\nwant %+v", i, err, got, w)
		}
		s = rest
	}
	if s != "" {
		t.Errorf("%d bytes left after the sequence", len(s))
	}
	// A decoder reusing its memory reads the same forms, whatever it read
	// before: forward, then backward (larger lists after smaller ones and
	// the reverse).
	var dec PreparedDecoder
	for _, order := range [][]int{{0, 1, 2, 3, 4, 5}, {5, 4, 3, 2, 1, 0}} {
		for _, i := range order {
			w := want[i]
			b := AppendPrepared(nil, w)
			got, rest, err := dec.Decode(string(b)+"tail", w.Record)
			if err != nil || rest != "tail" || !reflect.DeepEqual(got, w) {
				t.Fatalf("form %d through a decoder: %v, rest %q\n got %+v\nwant %+v", i, err, rest, got, w)
			}
		}
	}
}

// TestPreparedCodecRefusesEarlierFormats: forms stored by earlier builds
// (format 1: street glued, no e-mail; format 2: no e-mail) are refused, so
// that the index prepares them again from their records instead of
// misreading them.
func TestPreparedCodecRefusesEarlierFormats(t *testing.T) {
	r := codecRecords()[5]
	p, err := Prepare(&r)
	if err != nil || p.Email == "" {
		t.Fatalf("prepare: %v, email %q", err, p.Email)
	}
	b := AppendPrepared(nil, p)
	for _, format := range []byte{1, 2} {
		old := append([]byte{format}, b[1:len(b)-len(p.Email)-1]...)
		if _, _, err := DecodePrepared(string(old), p.Record); !errors.Is(err, ErrPreparedForm) {
			t.Errorf("format %d: %v, want ErrPreparedForm (prepared again)", format, err)
		}
	}
}

func TestPreparedCodecRefusesOtherVersions(t *testing.T) {
	p, err := Prepare(&codecRecords()[0])
	if err != nil {
		t.Fatal(err)
	}
	b := AppendPrepared(nil, p)
	for _, v := range []byte{0, PreparedFormat + 1, 0xff} {
		b[0] = v
		if _, _, err := DecodePrepared(string(b), p.Record); !errors.Is(err, ErrPreparedForm) {
			t.Errorf("version byte %d: err %v, want ErrPreparedForm", v, err)
		}
	}
}

func FuzzDecodePrepared(f *testing.F) {
	for _, r := range codecRecords() {
		p, err := Prepare(&r)
		if err != nil {
			f.Fatal(err)
		}
		good := AppendPrepared(nil, p)
		f.Add(good)
		f.Add(good[:len(good)/2])
	}
	f.Add([]byte{PreparedFormat})
	f.Add([]byte{})
	p, err := Prepare(&codecRecords()[4]) // many tokens and first names
	if err != nil {
		f.Fatal(err)
	}
	big := string(AppendPrepared(nil, p))
	f.Fuzz(func(t *testing.T, b []byte) {
		rec := &vigie.Record{}
		q, rest, err := DecodePrepared(string(b), rec)
		if err != nil {
			if !errors.Is(err, ErrPreparedForm) {
				t.Fatalf("error %v does not wrap ErrPreparedForm", err)
			}
			return
		}
		if len(rest) > len(b) {
			t.Fatalf("rest of %d bytes from an input of %d", len(rest), len(b))
		}
		// Whatever decodes survives a round trip unchanged.
		again, rest2, err := DecodePrepared(string(AppendPrepared(nil, q)), rec)
		if err != nil || rest2 != "" || !reflect.DeepEqual(again, q) {
			t.Fatalf("round trip of a decoded form: %v\n%+v\n%+v", err, q, again)
		}
		// A decoder that read another form before reads the same.
		var dec PreparedDecoder
		if _, _, err := dec.Decode(big, rec); err != nil {
			t.Fatal(err)
		}
		viaDec, rest3, err := dec.Decode(string(b), rec)
		if err != nil || rest3 != rest || !reflect.DeepEqual(viaDec, q) {
			t.Fatalf("through a decoder: %v\n%+v\n%+v", err, viaDec, q)
		}
	})
}

// benchForms returns the prepared forms of benchRecords, encoded.
func benchForms(b *testing.B) []string {
	b.Helper()
	var forms []string
	for i := range benchRecords {
		p, err := Prepare(&benchRecords[i])
		if err != nil {
			b.Fatal(err)
		}
		forms = append(forms, string(AppendPrepared(nil, p)))
	}
	return forms
}

// BenchmarkDecodePrepared measures reading a stored prepared form, the
// alternative to BenchmarkPrepare for a record stored with it.
func BenchmarkDecodePrepared(b *testing.B) {
	forms := benchForms(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, _, err := DecodePrepared(forms[i%len(forms)], &benchRecords[i%len(forms)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPreparedDecoder is BenchmarkDecodePrepared through a decoder
// that reuses its memory, as a search does for its candidates.
func BenchmarkPreparedDecoder(b *testing.B) {
	forms := benchForms(b)
	var dec PreparedDecoder
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, _, err := dec.Decode(forms[i%len(forms)], &benchRecords[i%len(forms)]); err != nil {
			b.Fatal(err)
		}
	}
}
