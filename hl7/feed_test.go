package hl7

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"vigie"
	"vigie/audit"
	"vigie/internal/sharedtest"
	"vigie/mpi"
	"vigie/sites"
	"vigie/store"
)

// The sites of the tests: the PAM-FR samples' CHU (its MSH-4 is its OID)
// and the dcm4che samples' radiology department.
const (
	chuA      = "1.2.250.1.999.101"
	radiology = "1.2.250.1.999.202"
)

func newFeed(t testing.TB, dir string) *Feed {
	t.Helper()
	f, _ := openFeed(t, dir)
	reg := f.Sites
	ctx := context.Background()
	for _, s := range []sites.Site{
		{Authority: chuA, Name: "CHU A", HL7Senders: []string{chuA}},
		{Authority: radiology, Name: "Radiologie XYZ", HL7Senders: []string{"XYZ_RADIOLOGY"}},
	} {
		if _, err := reg.Add(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// openFeed opens a feed over the store in dir ("": in memory) and
// returns it with the function that closes it (also run at the test's
// end, once).
func openFeed(t testing.TB, dir string) (*Feed, func()) {
	t.Helper()
	// On disk, the store is set up as vigie serve sets it up: commits
	// synced in groups, each answer waiting for the sync of its audit
	// entry.
	db, err := store.Open(dir, store.Options{InMemory: dir == "", Deferred: dir != ""})
	if err != nil {
		t.Fatal(err)
	}
	syncer := store.NewSyncer(db)
	ix, err := mpi.Open(db, nil, mpi.Options{Sync: syncer.Sync})
	if err != nil {
		t.Fatal(err)
	}
	trail, err := audit.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	trail.SetSync(syncer.Sync)
	var once sync.Once
	stop := func() {
		once.Do(func() {
			trail.Close()
			ix.Close()
			if err := db.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(stop)
	return &Feed{Index: ix, Sites: sites.Open(db), Trail: trail, DB: db}, stop
}

// ackOf reads an acknowledgement: MSA-1, and ERR-2 as a location such as
// "PID-3.4" ("" without ERR).
func ackOf(t testing.TB, ack []byte) (code, at, text string) {
	t.Helper()
	m, err := Parse(ack)
	if err != nil {
		t.Fatalf("the ACK does not parse: %v\n%q", err, ack)
	}
	msa, ok := m.Segment("MSA")
	if !ok {
		t.Fatalf("the ACK has no MSA: %q", ack)
	}
	code, text = msa.Get(1, 0), msa.Get(3, 0)
	if e, ok := m.Segment("ERR"); ok && len(e.Repetitions(2)) > 0 {
		r := e.Repetitions(2)[0]
		at = r.Get(1, 0)
		if f := r.Get(3, 0); f != "" {
			at += "-" + f
		}
		if c := r.Get(5, 0); c != "" {
			at += "." + c
		}
	}
	return code, at, text
}

// TestFeedSharedSamples applies every message of ../shared/hl7 that has a
// PID segment, PAM-FR ones in the order a site sends them: each is applied
// (AA) or refused with an ERR naming the field.
func TestFeedSharedSamples(t *testing.T) {
	dir := sharedtest.Path(t, "hl7")
	f := newFeed(t, "")
	ctx := context.Background()
	tests := []struct {
		file string
		code string
		at   string // ERR-2 of a refusal
	}{
		{"pam-fr/A28-create-ins-qualified.hl7", AA, ""},
		{"pam-fr/A31-update-used-name.hl7", AA, ""},
		{"pam-fr/A28-create-provisional-duplicate.hl7", AA, ""},
		{"pam-fr/A40-merge-local-duplicate.hl7", AA, ""},
		// The record 00055555 was never sent: there is nothing to change.
		{"pam-fr/A47-change-local-id.hl7", AE, "MRG-1.1"},
		{"pam-fr/A28-create-latin1-escapes.hl7", AA, ""},
		// dcm4che's samples name their authority ADT1, with no OID.
		{"ADT^A31-UpdatePersonInfo.hl7", AE, "PID-3.4"},
		{"ADT^A31-UpdatePersonInfo-Veterinary.hl7", AE, "PID-3.4"},
		{"ADT^A40-PatientMerge.hl7", AE, "PID-3.4"},
		{"ADT^A47-ChangePatientID.hl7", AE, "PID-3.4"},
		// Orders, results and appointments are not identity feeds.
		{"OMG^O19-GeneralClinicalOrder-Eyecare.hl7", AR, "MSH-9.1"},
		{"OMI^O23-ImagingOrder.hl7", AR, "MSH-9.1"},
		{"ORM^O01-GeneralOrder.hl7", AR, "MSH-9.1"},
		{"ORU^R01-CDA.hl7", AR, "MSH-9.1"},
		{"ORU^R01-PDF.hl7", AR, "MSH-9.1"},
		{"ORU^R01-SR.hl7", AR, "MSH-9.1"},
		{"SIU^S12-NewAppointmentBooking.hl7", AR, "MSH-9.1"},
	}
	for _, tt := range tests {
		b, err := os.ReadFile(filepath.Join(dir, tt.file))
		if err != nil {
			t.Fatal(err)
		}
		o := f.Handle(ctx, b, "test")
		code, at, text := ackOf(t, o.Ack)
		t.Logf("%s: %q", tt.file, o.Ack)
		if code != tt.code || at != tt.at {
			t.Errorf("%s: %s at %q (%s), want %s at %q", tt.file, code, at, text, tt.code, tt.at)
		}
	}
	latest := func(id string) vigie.Record {
		v, err := f.Index.Latest(ctx, vigie.SourceKey{Authority: chuA, LocalID: id})
		if err != nil {
			t.Fatalf("record %s: %v", id, err)
		}
		return v.Record
	}
	got := latest("00012345")
	want := vigie.Record{Authority: chuA, LocalID: "00012345", INS: "285063306312308", INSOID: "1.2.250.1.213.1.4.8", Status: "QUAL",
		BirthName: "LACOSTE", UsedName: "MARTY", FirstNames: "MARIE-HÉLÈNE ANNE", FirstName: "MARIE-HÉLÈNE", BirthDate: "1985-06-12",
		Sex: "F", BirthPlace: "33063", PostalCode: "33000", City: "BORDEAUX", Address: "4 PLACE GAMBETTA", Phone: "0611223344"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after A28 and A31:\n got %+v\nwant %+v", got, want)
	}
	if h, _ := f.Index.History(ctx, got.Key()); len(h) != 2 {
		t.Errorf("00012345 has %d versions, want 2 (A28, A31)", len(h))
	}
	// A40: the local duplicate joined the survivor's identity.
	survivor, _ := f.Index.IdentityOf(ctx, chuA, "00012345")
	dup, _ := f.Index.IdentityOf(ctx, chuA, "00012399")
	if survivor == 0 || survivor != dup {
		t.Errorf("after A40: 00012345 in %v, 00012399 in %v: want one identity", survivor, dup)
	}
	l1 := latest("00054321")
	if l1.BirthName != "N'DIAYE" || l1.FirstNames != "JOSÉ FRANÇOIS" || l1.Address != "RÉSIDENCE LES PINS & CÈDRES" || l1.BirthPlace != "75056" || l1.Status != "VALI" {
		t.Errorf("Latin-1 with escapes: %+v", l1)
	}
	if _, err := f.Index.IdentityOf(ctx, chuA, "00077777"); vigie.ErrorCode(err) != vigie.ENOTFOUND {
		t.Errorf("a refused A47 created its record: %v", err)
	}
}

// TestReadPIDTelecom: PID-13 gives the phone and, in PAM-FR, the e-mail
// (use code NET, equipment type Internet, the address in XTN-4), in any
// order of repetitions.
func TestReadPIDTelecom(t *testing.T) {
	for _, tc := range []struct {
		name, pid13, phone, email string
	}{
		{"phone only", `0611223344^PRN^PH`, "0611223344", ""},
		{"phone then e-mail", `0611223344^PRN^PH~^NET^Internet^anne.roux@example.fr`, "0611223344", "anne.roux@example.fr"},
		{"e-mail first", `^NET^Internet^anne.roux@example.fr~^PRN^CP^^33^6^11223344^^^^^0611223344`, "0611223344", "anne.roux@example.fr"},
		{"equipment type alone", `^^Internet^A.Roux@Example.FR`, "", "A.Roux@Example.FR"},
		{"address in the first component", `anne.roux@example.fr^NET`, "", "anne.roux@example.fr"},
		{"no codes, an address with @", `^^^anne.roux@example.fr`, "", "anne.roux@example.fr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse(msg("T1", "A28", pid("600", "ROUX", "ANNE", "19760301", "F")+`|||||`+tc.pid13))
			if err != nil {
				t.Fatal(err)
			}
			seg, _ := m.Segment("PID")
			rec, err := ReadPID(seg, 1, chuA)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Phone != tc.phone || rec.Email != tc.email {
				t.Errorf("phone %q, e-mail %q; want %q, %q", rec.Phone, rec.Email, tc.phone, tc.email)
			}
		})
	}
}

// msg builds an ADT message of CHU A.
func msg(control, event string, segments ...string) []byte {
	return seg(append([]string{`MSH|^~\&|HIS|` + chuA + `|VIGIE|REG|20261207101500||ADT^` + event + `^ADT_A05|` + control + `|P|2.5^FRA^2.11|||||FRA|UNICODE UTF-8`}, segments...)...)
}

func pid(id, family, given, birth, sex string) string {
	return `PID|1||` + id + `^^^CHU-A&` + chuA + `&ISO^PI||` + family + `^` + given + `^` + given + `^^^^L||` + birth + `|` + sex
}

func TestFeedExactlyOnceAndRefusals(t *testing.T) {
	f := newFeed(t, "")
	ctx := context.Background()
	k := func(id string) vigie.SourceKey { return vigie.SourceKey{Authority: chuA, LocalID: id} }
	versions := func(id string) int {
		h, _ := f.Index.History(ctx, k(id))
		return len(h)
	}
	identity := func(id string) vigie.IdentityID {
		x, err := f.Index.IdentityOf(ctx, chuA, id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		return x
	}
	steps := []struct {
		name string
		msg  []byte
		code string
		at   string
	}{
		{"create", msg("C1", "A28", pid("100", "DURAND", "PAUL", "19700101", "M")), AA, ""},
		{"update", msg("C2", "A31", pid("100", "DURAND", "PAUL", "19700101", "M")+"|||||4 RUE^^PAU^^64000"), AA, ""},
		{"create another person", msg("C3", "A28", pid("200", "MARTIN", "ZOE", "19990505", "F")), AA, ""},
		{"refused: birth date in the future", msg("C4", "A31", pid("100", "DURAND", "PAUL", "29990101", "M")), AE, "PID-7.1"},
		{"refused: bad sex", msg("C5", "A31", pid("100", "DURAND", "PAUL", "19700101", "Q")), AE, "PID-8"},
		{"refused: unknown status", msg("C6", "A31", pid("100", "DURAND", "PAUL", "19700101", "M")+strings.Repeat("|", 24)+"BOF"), AE, "PID-32"},
		{"refused: another site's patient", msg("C7", "A28", `PID|1||9^^^X&1.2.250.1.999.303&ISO^PI||X^Y^^^^^L`), AR, "PID-3.4"},
		{"refused: no PID", msg("C8", "A28"), AE, "PID"},
		{"refused: unsupported event", msg("C9", "A29", pid("100", "DURAND", "PAUL", "19700101", "M")), AR, "MSH-9.2"},
		{"refused: a training message", bytes.Replace(msg("C15", "A28", pid("500", "X", "Y", "", "")), []byte("|P|2.5"), []byte("|T|2.5"), 1), AR, "MSH-11.1"},
		{"refused: a control id too long", msg(strings.Repeat("9", 200), "A28", pid("500", "X", "Y", "", "")), AR, "MSH-10"},
		{"link", msg("C10", "A24", pid("100", "DURAND", "PAUL", "19700101", "M"), pid("200", "MARTIN", "ZOE", "19990505", "F")), AA, ""},
		{"unlink", msg("C11", "A37", pid("100", "DURAND", "PAUL", "19700101", "M"), pid("200", "MARTIN", "ZOE", "19990505", "F")), AA, ""},
		{"refused: link of an unknown record", msg("C12", "A24", pid("100", "DURAND", "PAUL", "19700101", "M"), pid("999", "X", "Y", "", "")), AE, "PID-3.1"},
		{"create the record whose id changes", msg("C13", "A28", pid("300", "BERGER", "LOUIS", "19800303", "M")), AA, ""},
		{"change of local id", msg("C14", "A47", pid("301", "BERGER", "LOUIS", "19800303", "M"), `MRG|300^^^CHU-A&`+chuA+`&ISO^PI`), AA, ""},
	}
	for _, s := range steps {
		code, at, text := ackOf(t, f.Handle(ctx, s.msg, "test").Ack)
		if code != s.code || (s.at != "" && at != s.at) || (s.at == "" && at != "") {
			t.Errorf("%s: %s at %q (%s), want %s at %q", s.name, code, at, text, s.code, s.at)
		}
		if s.name == "link" && identity("100") != identity("200") {
			t.Errorf("A24 did not link 100 and 200")
		}
		if s.name == "unlink" && identity("100") == identity("200") {
			t.Errorf("A37 did not unlink 100 and 200")
		}
	}
	if n := versions("100"); n != 2 {
		t.Errorf("100 has %d versions, want 2: a refused message changed it", n)
	}
	// An INS whose key is wrong is stored, not believed, and the ACK says
	// so; a legacy INS-C beside it is passed over.
	badINS := msg("C16", "A28", `PID|1||600^^^CHU-A&`+chuA+`&ISO^PI~276037510669380^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS~1234567890123456789012^^^ASIP-SANTE-INS-C&1.2.250.1.213.1.4.2&ISO^INS||ROUX^ANNE^ANNE^^^^L||19760301|F`)
	if code, at, text := ackOf(t, f.Handle(ctx, badINS, "test").Ack); code != AA || at != "" || !strings.Contains(text, "ins") {
		t.Errorf("an INS with a wrong key: %s at %q (%s), want AA with a warning on the INS", code, at, text)
	}
	if identity("300") != identity("301") {
		t.Errorf("A47: the new id is not in the old one's identity")
	}

	// A retransmission gets the same acknowledgement and changes nothing,
	// even once the record has changed since.
	first := f.Handle(ctx, steps[0].msg, "test")
	if !first.Replayed || !bytes.Equal(first.Ack, f.Handle(ctx, steps[0].msg, "test").Ack) {
		t.Errorf("the retransmission of C1 was not answered from the journal")
	}
	if n := versions("100"); n != 2 {
		t.Errorf("the retransmission changed the record: %d versions", n)
	}
	refused := f.Handle(ctx, steps[3].msg, "test")
	if code, at, _ := ackOf(t, refused.Ack); !refused.Replayed || code != AE || at != "PID-7.1" {
		t.Errorf("the retransmission of a refused message: %s at %s, replayed %v", code, at, refused.Replayed)
	}

	// Another message reusing a control id is not mistaken for a
	// retransmission.
	reuse := msg("C1", "A28", pid("400", "PETIT", "LEA", "20010101", "F"))
	if code, at, _ := ackOf(t, f.Handle(ctx, reuse, "test").Ack); code != AR || at != "MSH-10" {
		t.Errorf("control id reused by another message: %s at %s", code, at)
	}
	if _, err := f.Index.IdentityOf(ctx, chuA, "400"); vigie.ErrorCode(err) != vigie.ENOTFOUND {
		t.Errorf("the message reusing a control id was applied")
	}

	// An unknown sender is rejected before anything is read.
	stranger := bytes.Replace(steps[0].msg, []byte(chuA+"|VIGIE"), []byte("UNKNOWN|VIGIE"), 1)
	if code, at, _ := ackOf(t, f.Handle(ctx, stranger, "test").Ack); code != AR || at != "MSH-4" {
		t.Errorf("unknown sender: %s at %s", code, at)
	}
	// The audit trail names the records touched, by id.
	es, err := f.Trail.ByRecord(audit.Record{Authority: chuA, LocalID: "100"}, 100)
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]int{}
	for _, e := range es {
		ops[e.Operation+" "+e.Result]++
	}
	for _, want := range []string{"HL7 ADT^A28 ok", "HL7 ADT^A31 ok", "HL7 ADT^A24 ok", "HL7 ADT^A37 ok"} {
		if ops[want] != 1 {
			t.Errorf("audit: %d entries %q, want 1 (%v)", ops[want], want, ops)
		}
	}
}
