package search

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"testing"

	"vigie"
	"vigie/matcher"
)

func TestEntryCodecRoundTrip(t *testing.T) {
	golden := rec("1.2.3.1", "A1", "LEFÈVRE", "DUPONT", "Hélène Marie", "1958-03-02", "F")
	golden.INS, golden.INSOID, golden.Attributes = "258037510669380", matcher.OIDINSNIR, []string{"VIDE", "CACH"}
	golden.Email = "helene.lefevre@example.fr"
	// One decoder reused from entry to entry, as a search does, and the
	// golden record a hit took from the entry before.
	var shared entryDecoder
	var kept, keptWant *vigie.Record
	qual, prov := golden, golden
	qual.LocalID, qual.Status, qual.INS = "Q1", "QUAL", "258037510669335" // golden's INS has a wrong key
	prov.LocalID, prov.Status = "P1", "PROV"
	for _, tc := range []struct {
		name string
		e    Entry
		qual []string // the qualified INS kept
	}{
		{"no member", Entry{ID: "1"}, nil},
		{"hidden with golden", Entry{ID: "2", Hidden: true, Golden: golden, Members: []vigie.Record{golden}}, nil},
		{"qualified INS", Entry{ID: "4", Golden: qual, Members: []vigie.Record{prov, qual, qual}}, []string{matcher.OIDINSNIR + "|258037510669335"}},
		{"several members", people[1], nil},
		{"unpreparable member", Entry{ID: "3", Members: []vigie.Record{rec("1.2.3.1", "A3", "MARTIN", "", "Léa", "2012-13-40", "F"), people[4].Members[0]}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := encodeEntry(&tc.e)
			got, err := decodeEntry(string(b))
			if err != nil {
				t.Fatal(err)
			}
			if got.id != tc.e.ID || got.hidden != tc.e.Hidden || !reflect.DeepEqual(got.golden, tc.e.Golden) {
				t.Errorf("got %s hidden %v golden %+v, want %s %v %+v", got.id, got.hidden, got.golden, tc.e.ID, tc.e.Hidden, tc.e.Golden)
			}
			if !slices.Equal(got.qualINS, tc.qual) {
				t.Errorf("qualified INS %q, want %q", got.qualINS, tc.qual)
			}
			if len(got.members) != len(tc.e.Members) {
				t.Fatalf("%d members, want %d", len(got.members), len(tc.e.Members))
			}
			for i, m := range got.members {
				r := tc.e.Members[i]
				if m.rec.Authority != r.Authority || m.rec.LocalID != r.LocalID {
					t.Errorf("member %d is %s/%s, want %s/%s", i, m.rec.Authority, m.rec.LocalID, r.Authority, r.LocalID)
				}
				want, err := matcher.Prepare(&r)
				if err != nil {
					if m.prep != nil {
						t.Errorf("member %d fails Prepare (%v) but was stored prepared", i, err)
					}
					continue
				}
				want.Record = m.rec
				if !reflect.DeepEqual(m.prep, want) {
					t.Errorf("member %d prepared form:\n got %+v\nwant %+v", i, m.prep, want)
				}
			}
			// The reused decoder reads the same, and leaves alone what a hit
			// kept from the entry before.
			again, err := shared.decode(string(b))
			if err != nil {
				t.Fatal(err)
			}
			if again.id != got.id || again.hidden != got.hidden || !slices.Equal(again.qualINS, got.qualINS) || !reflect.DeepEqual(again.golden, got.golden) || len(again.members) != len(got.members) {
				t.Fatalf("reused decoder: %s hidden %v golden %+v, %d members; want %s %v %+v, %d", again.id, again.hidden, again.golden, len(again.members), got.id, got.hidden, got.golden, len(got.members))
			}
			for i, m := range again.members {
				if !reflect.DeepEqual(m.rec, got.members[i].rec) || !reflect.DeepEqual(m.prep, got.members[i].prep) {
					t.Errorf("reused decoder, member %d:\n got %+v %+v\nwant %+v %+v", i, m.rec, m.prep, got.members[i].rec, got.members[i].prep)
				}
			}
			if kept != nil && !reflect.DeepEqual(kept, keptWant) {
				t.Errorf("the golden record kept from the entry before changed:\n got %+v\nwant %+v", kept, keptWant)
			}
			g, w := again.golden, tc.e.Golden
			kept, keptWant = &g, &w
			// A stored form cut short, or of another format, is refused.
			for n := range len(b) {
				if _, err := decodeEntry(string(b[:n])); !errors.Is(err, errEntry) {
					t.Fatalf("prefix of %d/%d bytes: err %v, want errEntry", n, len(b), err)
				}
			}
			other := append([]byte{entryFormat + 1}, b[1:]...)
			if _, err := decodeEntry(string(other)); !errors.Is(err, errEntry) {
				t.Errorf("another format: err %v, want errEntry", err)
			}
		})
	}
}

func FuzzDecodeEntry(f *testing.F) {
	for _, e := range people[:4] {
		b := encodeEntry(&e)
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{entryFormat})
	f.Add([]byte{})
	before := string(encodeEntry(&people[1])) // several members
	f.Fuzz(func(t *testing.T, b []byte) {
		// A decoder that read another entry before refuses or reads the
		// same as a new one.
		var dec entryDecoder
		if _, err := dec.decode(before); err != nil {
			t.Fatal(err)
		}
		reused, reusedErr := dec.decode(string(b))
		e, err := decodeEntry(string(b))
		if (err == nil) != (reusedErr == nil) {
			t.Fatalf("a new decoder says %v, a reused one %v", err, reusedErr)
		}
		if err != nil {
			if !errors.Is(err, errEntry) {
				t.Fatalf("error %v does not wrap errEntry", err)
			}
			return
		}
		if reused.id != e.id || !reflect.DeepEqual(reused.golden, e.golden) || len(reused.members) != len(e.members) {
			t.Fatalf("a reused decoder read %+v, a new one %+v", reused, e)
		}
		for i := range e.members {
			if !reflect.DeepEqual(reused.members[i].rec, e.members[i].rec) || !reflect.DeepEqual(reused.members[i].prep, e.members[i].prep) {
				t.Fatalf("member %d: a reused decoder read %+v, a new one %+v", i, reused.members[i], e.members[i])
			}
		}
		// Whatever decodes is an identity whose members can be scored.
		for _, m := range e.members {
			if m.rec == nil {
				t.Fatal("a member without its record")
			}
			if m.prep != nil {
				c := matcher.Compare(m.prep, m.prep)
				_ = matcher.DefaultModel().Score(&c, nil)
			}
		}
	})
}

// forms returns the prepared forms of an identity's members, encoded as
// the patient index files them (nil for a member that fails Prepare).
func forms(t testing.TB, e *Entry) [][]byte {
	t.Helper()
	out := make([][]byte, len(e.Members))
	for i := range e.Members {
		if p, err := matcher.Prepare(&e.Members[i]); err == nil {
			out[i] = matcher.AppendPrepared(nil, p)
		}
	}
	return out
}

// withForms returns entries with their members' forms known.
// formVariant is a set of identities to benchmark with.
type formVariant struct {
	name    string
	entries []Entry
}

// formVariants are 500 generated persons' identities twice: their members
// to be prepared ("prepared"), and with their forms known, as the patient
// index gives them ("known").
func formVariants(b *testing.B) []formVariant {
	entries, _ := generatedEntries(b, 500, 7)
	return []formVariant{{"prepared", entries}, {"known", withForms(b, entries)}}
}

func withForms(tb testing.TB, entries []Entry) []Entry {
	out := make([]Entry, len(entries))
	for i, e := range entries {
		e.Normals = forms(tb, &e)
		out[i] = e
	}
	return out
}

// TestEncodeEntryKnownForms: the members' forms an entry holds are stored as
// they are, and what is stored is the same as without them; a missing form,
// or one of another format, is prepared again.
// TestEntryCodecReadsEntriesWithoutEmail: an entry stored before the golden
// record carried an e-mail (it ends after its members) still decodes.
func TestEntryCodecReadsEntriesWithoutEmail(t *testing.T) {
	e := Entry{ID: "9", Golden: rec("1.2.3.1", "A9", "ROUX", "", "Anne", "1976-03-01", "F")}
	e.Golden.Email = "anne.roux@example.fr"
	e.Members = []vigie.Record{e.Golden}
	b := encodeEntry(&e)
	old := append([]byte{entryFormatNoEmail}, b[1:len(b)-len(e.Golden.Email)-1]...)
	got, err := decodeEntry(string(old))
	if err != nil || got.golden.Email != "" || got.golden.BirthName != "ROUX" || len(got.members) != 1 {
		t.Fatalf("entry without e-mail: %+v, %v", got, err)
	}
	if got, err := decodeEntry(string(b)); err != nil || got.golden.Email != e.Golden.Email {
		t.Fatalf("entry with e-mail: %v, %v", got, err)
	}
}

func TestEncodeEntryKnownForms(t *testing.T) {
	two := people[1] // two members
	unpreparable := Entry{ID: "3", Members: []vigie.Record{rec("1.2.3.1", "A3", "MARTIN", "", "Léa", "2012-13-40", "F"), people[4].Members[0]}}
	otherFormat := forms(t, &two)
	otherFormat[1] = append([]byte{matcher.PreparedFormat + 1}, otherFormat[1][1:]...)
	// Another person's form in the place of the second member's: stored
	// as given, so the entry is no longer the same.
	swapped := forms(t, &two)
	swapped[1] = forms(t, &people[6])[0]
	for _, tc := range []struct {
		name    string
		e       Entry
		normals [][]byte
		same    bool // stored as without the forms
	}{
		{"all known", two, forms(t, &two), true},
		{"one unknown", two, [][]byte{nil, forms(t, &two)[1]}, true},
		{"fewer than the members", two, forms(t, &two)[:1], true},
		{"another format", two, otherFormat, true},
		{"unpreparable member", unpreparable, forms(t, &unpreparable), true},
		{"given, not prepared", two, swapped, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := encodeEntry(&tc.e)
			e := tc.e
			e.Normals = tc.normals
			got := encodeEntry(&e)
			if same := bytes.Equal(got, want); same != tc.same {
				t.Fatalf("stored as without the forms: %v, want %v", same, tc.same)
			}
			d, err := decodeEntry(string(got))
			if err != nil {
				t.Fatal(err)
			}
			if !tc.same {
				wantPrep, _, _ := matcher.DecodePrepared(string(tc.normals[1]), d.members[1].rec)
				if !reflect.DeepEqual(d.members[1].prep, wantPrep) {
					t.Errorf("member 1 stored as %+v, want the form given", d.members[1].prep)
				}
			}
		})
	}
}

// BenchmarkEncodeEntry measures the stored form of generated identities:
// members prepared, or their forms known (as the patient index gives them).
func BenchmarkEncodeEntry(b *testing.B) {
	for _, bc := range formVariants(b) {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				for i := range bc.entries {
					encodeEntry(&bc.entries[i])
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(bc.entries)), "ns/identity")
		})
	}
}
