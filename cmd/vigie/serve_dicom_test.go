package main

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"vigie/ingest"
	"vigie/internal/sharedtest"
	"vigie/ledger"
	"vigie/sites"
	"vigie/store"
)

// The site whose modalities send in these tests.
const (
	dicomSite = "1.2.250.1.999.32"
	dicomAE   = "CT_SALLE_1"
)

// dcmtk returns the path of a dcmtk tool, or skips the test.
func dcmtk(t testing.TB, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		t.Skipf("dcmtk's %s is not installed (Debian dcmtk; .ci/run installs it)", tool)
	}
	return p
}

// doseFiles returns every file of shared/dicom Vigie reads dose from,
// sorted: those of dicomSite's patients (no IssuerOfPatientID, or
// dicomSite's), and those whose IssuerOfPatientID names another
// authority, which a modality of dicomSite may not send. Files dcmtk
// cannot read are left out: storescu could not send them.
func doseFiles(t testing.TB) (own, foreign []string) {
	t.Helper()
	root := sharedtest.Path(t, "dicom")
	// The files dcmtk cannot read itself (INVENTORY.tsv, column
	// dcmtk_parse): storescu could not send them.
	inv, err := os.ReadFile(filepath.Join(root, "INVENTORY.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	dcmtkFails := map[string]bool{}
	for _, line := range strings.Split(string(inv), "\n") {
		if f := strings.Split(line, "\t"); len(f) > 9 && f[9] == "FAIL" {
			dcmtkFails[filepath.Join(root, f[0])] = true
		}
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || dcmtkFails[p] {
			return err
		}
		rep, err := ingest.ParseDICOMFile(p, ingest.DICOMOptions{Authority: dicomSite})
		switch {
		case err != nil:
		case rep.Patient.Authority == dicomSite:
			own = append(own, p)
		default:
			foreign = append(foreign, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(own)
	sort.Strings(foreign)
	if len(own) < 10 {
		t.Fatalf("only %d dose files in %s", len(own), root)
	}
	return own, foreign
}

// newDICOMStore makes a store whose site registry knows dicomSite and
// its AE titles (dicomAE when none is given).
func newDICOMStore(t testing.TB, aes ...string) string {
	t.Helper()
	if len(aes) == 0 {
		aes = []string{dicomAE}
	}
	data := t.TempDir()
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sites.Open(db).Add(context.Background(), sites.Site{Authority: dicomSite, Name: "CH de test", AETitles: aes}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return data
}

// startDICOMServe starts `vigie serve` with its DICOM listener on a free
// port; it returns the server and the listener's host and port.
func startDICOMServe(t testing.TB, data string) (*runningServer, string, string) {
	t.Helper()
	addr := make(chan string, 1)
	s := startServe(t, serveConfig{Data: data, DICOM: dicomConfig{Addr: "127.0.0.1:0", AETitle: "VIGIE", Ready: func(a string) { addr <- a }}})
	host, port, err := net.SplitHostPort(<-addr)
	if err != nil {
		t.Fatal(err)
	}
	return s, host, port
}

// ledgerContent reads a store's ledger: each entry as JSON, by SOP
// instance, without the arrival time.
func ledgerContent(t testing.TB, data string) map[string]string {
	t.Helper()
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string]string{}
	err = ledger.Open(db).Each(context.Background(), func(e *ledger.Entry) error {
		c := *e
		c.StoredAt = time.Time{}
		b, err := json.Marshal(c)
		out[e.RowID()] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDICOMListenerStorescu: dcmtk's echoscu and storescu, real peers,
// talk to `vigie serve`'s DICOM listener. Every dose file of
// shared/dicom, sent over one association and again over several, gives
// the ledger `vigie ingest` gives of the same files; an unknown calling
// AE is rejected at association, with the reason logged; a SOP class
// Vigie does not read is rejected in negotiation.
func TestDICOMListenerStorescu(t *testing.T) {
	echoscu, storescu := dcmtk(t, "echoscu"), dcmtk(t, "storescu")
	files, foreign := doseFiles(t)

	wantLedger := ingestLedger(t, files)
	data := newDICOMStore(t)
	s, host, port := startDICOMServe(t, data)

	// C-ECHO from the site's AE; from an unknown one, a rejection.
	if out, err := exec.Command(echoscu, "-aet", dicomAE, "-aec", "VIGIE", host, port).CombinedOutput(); err != nil {
		t.Fatalf("echoscu: %v\n%s", err, out)
	}
	out, err := exec.Command(echoscu, "-aet", "INCONNU", "-aec", "VIGIE", host, port).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Calling AE Title Not Recognized") {
		t.Fatalf("echoscu from an unknown AE: err %v, want the association rejected (calling AE title not recognized)\n%s", err, out)
	}
	if !strings.Contains(s.logs.String(), `belongs to no registered site`) {
		t.Errorf("the rejection's reason is not logged:\n%s", s.logs.String())
	}
	out, err = exec.Command(echoscu, "-aet", dicomAE, "-aec", "AUTRE", host, port).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Called AE Title Not Recognized") {
		t.Fatalf("echoscu to another called AE: err %v, want a rejection\n%s", err, out)
	}

	// Every dose file over one association, those of patients of
	// another authority among them: refused, Not Authorized (0124).
	all := append(append([]string(nil), files...), foreign...)
	out, err = exec.Command(storescu, append([]string{"-v", "-nh", "-R", "-aet", dicomAE, "-aec", "VIGIE", host, port}, all...)...).CombinedOutput()
	if n := strings.Count(string(out), "Received Store Response"); n != len(all) {
		t.Fatalf("storescu: %v: %d responses for %d files\n%s", err, n, len(all), out)
	}
	if n := strings.Count(string(out), "Status: 0x124"); n != len(foreign) {
		t.Errorf("%d files refused as not authorised, want the %d of another authority\n%s", n, len(foreign), out)
	}
	// Again, one association per file: each is already stored and
	// answered 0000; nothing is counted twice.
	for _, f := range files[:5] {
		if out, err := exec.Command(storescu, "-aet", dicomAE, "-aec", "VIGIE", host, port, f).CombinedOutput(); err != nil {
			t.Fatalf("storescu %s again: %v\n%s", f, err, out)
		}
	}
	// A file Vigie refuses: C000, and the Error Comment says why.
	noID := filepath.Join(sharedtest.Path(t, "dicom"), "openrem", "DX-Im-DRGEM.dcm")
	out, _ = exec.Command(storescu, "-d", "-aet", dicomAE, "-aec", "VIGIE", host, port, noID).CombinedOutput()
	if !strings.Contains(string(out), "0xc000: Error: Cannot understand") ||
		!strings.Contains(string(out), "(0000,0902) LO [PatientID: absent or empty") {
		t.Errorf("storescu of a file without PatientID: want C000 with an Error Comment naming PatientID\n%s", out)
	}
	if !strings.Contains(s.logs.String(), `"msg":"dicom C-STORE refused"`) {
		t.Errorf("the refusal is not logged")
	}

	// A class Vigie does not read: rejected in negotiation.
	rt := filepath.Join(sharedtest.Path(t, "dicom"), "pydicom", "rtdose_1frame.dcm")
	if _, err := os.Stat(rt); err == nil {
		out, err := exec.Command(storescu, "-aet", dicomAE, "-aec", "VIGIE", host, port, rt).CombinedOutput()
		t.Logf("storescu of an RT Dose: %v\n%s", err, out)
		if !strings.Contains(string(out), "No presentation context") {
			t.Errorf("storescu of an RT Dose: want no accepted presentation context\n%s", out)
		}
		if !strings.Contains(s.logs.String(), `"abstract_syntax":"1.2.840.10008.5.1.4.1.1.481.2"`) {
			t.Errorf("the RT Dose context's rejection is not logged")
		}
	} else {
		t.Errorf("shared/dicom/pydicom/rtdose_1frame.dcm is missing: the unsupported-class case is not exercised")
	}
	s.shutdown(t)

	got := ledgerContent(t, data)
	compareLedgers(t, got, wantLedger)
	t.Logf("%d dose files sent, %d ledger entries", len(files), len(got))
}

// ingestLedger is the ledger `vigie ingest --authority dicomSite` makes of
// files, in their order (two of the files share a SOP instance under two
// studies: the second is kept as a conflict).
func ingestLedger(t testing.TB, files []string) map[string]string {
	t.Helper()
	data := newDICOMStore(t)
	if code := run(append([]string{"ingest", "--data", data, "--authority", dicomSite, "--workers", "1"}, files...), new(strings.Builder), new(strings.Builder)); code != 0 {
		t.Fatalf("vigie ingest exited %d", code)
	}
	l := ledgerContent(t, data)
	if len(l) < len(files)/2 {
		t.Fatalf("vigie ingest stored %d entries of %d files", len(l), len(files))
	}
	return l
}

// compareLedgers reports every entry that differs between the listener's
// ledger and vigie ingest's.
func compareLedgers(t testing.TB, got, want map[string]string) {
	t.Helper()
	for sop, w := range want {
		if g, ok := got[sop]; !ok {
			t.Errorf("%s: in vigie ingest's ledger, not in the listener's", sop)
		} else if g != w {
			t.Errorf("%s differs:\n listener %s\n ingest   %s", sop, g, w)
		}
	}
	for sop := range got {
		if _, ok := want[sop]; !ok {
			t.Errorf("%s: in the listener's ledger, not in vigie ingest's", sop)
		}
	}
}

// byPatient splits files into n groups, each patient's files in one
// group in their order: sent over concurrent associations, the groups'
// interleaving changes nothing (a conflict or an event repeated between
// two reports is always between reports of one patient).
func byPatient(t testing.TB, files []string, n int) [][]string {
	t.Helper()
	groups := make([][]string, n)
	for _, f := range files {
		rep, err := ingest.ParseDICOMFile(f, ingest.DICOMOptions{Authority: dicomSite})
		if err != nil {
			t.Fatal(err)
		}
		h := fnv.New32a()
		h.Write([]byte(rep.Patient.LocalID))
		g := int(h.Sum32() % uint32(n))
		groups[g] = append(groups[g], f)
	}
	return groups
}

// storeConcurrently runs one storescu per non-empty group, at once, each
// over its own association; it returns how many C-STORE responses they
// received in all.
func storeConcurrently(t testing.TB, storescu, aet, aec, host, port string, groups [][]string) int {
	t.Helper()
	var wg sync.WaitGroup
	outs := make([][]byte, len(groups))
	errs := make([]error, len(groups))
	for i, g := range groups {
		if len(g) == 0 {
			continue
		}
		wg.Go(func() {
			outs[i], errs[i] = exec.Command(storescu, append([]string{"-v", "-R", "-aet", aet, "-aec", aec, host, port}, g...)...).CombinedOutput()
		})
	}
	wg.Wait()
	n := 0
	for i := range groups {
		if errs[i] != nil {
			t.Fatalf("storescu, association %d: %v\n%s", i, errs[i], outs[i])
		}
		n += strings.Count(string(outs[i]), "Received Store Response")
	}
	return n
}

// TestDICOMListenerConcurrentAssociations: 8 storescu at once, each over
// its own association, send the dose files: the ledger is the one
// `vigie ingest` makes.
func TestDICOMListenerConcurrentAssociations(t *testing.T) {
	storescu := dcmtk(t, "storescu")
	files, _ := doseFiles(t)
	data := newDICOMStore(t)
	s, host, port := startDICOMServe(t, data)
	groups := byPatient(t, files, 8)
	if n := storeConcurrently(t, storescu, dicomAE, "VIGIE", host, port, groups); n != len(files) {
		t.Fatalf("%d C-STORE responses for %d files", n, len(files))
	}
	if n := strings.Count(s.logs.String(), `"msg":"dicom association released"`); n < 2 {
		t.Errorf("%d associations released, want one per non-empty group", n)
	}
	s.shutdown(t)
	var ordered []string
	for _, g := range groups {
		ordered = append(ordered, g...)
	}
	compareLedgers(t, ledgerContent(t, data), ingestLedger(t, ordered))
}

// TestDICOMListenerTLS: with --dicom-tls the listener speaks DICOM over
// TLS with the API's certificate; storescu, verifying it, stores a
// report, and a client without TLS gets no association.
func TestDICOMListenerTLS(t *testing.T) {
	echoscu, storescu := dcmtk(t, "echoscu"), dcmtk(t, "storescu")
	cert, key, _ := selfSigned(t)
	data := newDICOMStore(t)
	addr := make(chan string, 1)
	s := startServe(t, serveConfig{Data: data, TLSCert: cert, TLSKey: key,
		DICOM: dicomConfig{Addr: "127.0.0.1:0", AETitle: "VIGIE", TLS: true, Ready: func(a string) { addr <- a }}})
	host, port, err := net.SplitHostPort(<-addr)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(sharedtest.Path(t, "dicom"), "openrem", "CT-RDSR-GEPixelMed.dcm")
	out, err := exec.Command(storescu, "-v", "+tla", "+cf", cert, "-aet", dicomAE, "-aec", "VIGIE", host, port, file).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Received Store Response (Success)") {
		t.Fatalf("storescu over TLS: %v\n%s", err, out)
	}
	if out, err := exec.Command(echoscu, "-aet", dicomAE, "-aec", "VIGIE", host, port).CombinedOutput(); err == nil {
		t.Fatalf("echoscu without TLS got an association:\n%s", out)
	}
	s.shutdown(t)
	if n := len(ledgerContent(t, data)); n != 1 {
		t.Fatalf("%d ledger entries after one report over TLS", n)
	}
}
