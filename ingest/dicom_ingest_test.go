package ingest

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"vigie"
	"vigie/internal/sharedtest"
	"vigie/ledger"
	"vigie/store"
)

// fakeIndex stands in for the patient index: every source record is its
// own identity unless merged, and Resolve counts its calls.
type fakeIndex struct {
	mu    sync.Mutex
	calls int
	seen  []vigie.Record
	fail  error
}

func (f *fakeIndex) Resolve(_ context.Context, rec vigie.Record) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return "", f.fail
	}
	f.calls++
	f.seen = append(f.seen, rec)
	return "ID-" + rec.Authority + "/" + rec.LocalID, nil
}

const testSite = "1.2.250.1.71.4.2.7.99"

func openLedger(t testing.TB) (*ledger.Ledger, *store.DB) {
	t.Helper()
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return ledger.Open(db), db
}

func ingestAll(t *testing.T, led *ledger.Ledger, res Resolver, root string, files ...string) []DICOMOutcome {
	t.Helper()
	var outs []DICOMOutcome
	for _, f := range files {
		out, err := DICOM(context.Background(), filepath.Join(root, f), res, led, DICOMOptions{Authority: testSite})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		outs = append(outs, out)
	}
	return outs
}

// ingestAs ingests shared files as if their PatientID were local (the
// parsed report rewritten in memory, as a site's own id would be).
func ingestAs(t *testing.T, led *ledger.Ledger, root, local string, files ...string) []DICOMOutcome {
	t.Helper()
	var outs []DICOMOutcome
	for _, f := range files {
		rep, err := ParseDICOMFile(filepath.Join(root, f), DICOMOptions{Authority: testSite})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		rep.Exam.Key.LocalID, rep.Patient.LocalID = local, local
		out, err := DICOMReport(context.Background(), f, rep, &fakeIndex{}, led)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		outs = append(outs, out)
	}
	return outs
}

// TestStudyUIDNeverOverridesPatient: patient A's PET image (221.6 MBq)
// and patient B's radiopharmaceutical dose SR under the same study UID (a
// PET/CT split across systems, or a mis-keyed study), in both orders:
// each activity stays with its own patient, nothing is superseded, and
// the second to arrive reports the other record sharing its study.
func TestStudyUIDNeverOverridesPatient(t *testing.T) {
	root := filepath.Join(sharedtest.Path(t, "dicom"), "openrem")
	read := func(f, local, study string) *DoseReport {
		rep, err := ParseDICOMFile(filepath.Join(root, f), DICOMOptions{Authority: testSite})
		if err != nil {
			t.Fatal(err)
		}
		rep.Exam.Key.LocalID, rep.Patient.LocalID = local, local
		if study != "" {
			rep.Exam.StudyUID = study
		}
		return rep
	}
	for _, petFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("PET image first %v", petFirst), func(t *testing.T) {
			led, _ := openLedger(t)
			pet := read("NM-PetIm-GE.dcm", "A", "")
			sr := read("NM-RRDSR-Siemens.dcm", "B", pet.Exam.StudyUID)
			reps := []*DoseReport{pet, sr}
			if !petFirst {
				reps = []*DoseReport{sr, pet}
			}
			var outs []DICOMOutcome
			for _, r := range reps {
				o, err := DICOMReport(context.Background(), r.Exam.SOPInstanceUID, r, &fakeIndex{}, led)
				if err != nil {
					t.Fatal(err)
				}
				outs = append(outs, o)
			}
			for i, o := range outs {
				if o.Ledger.Result != ledger.Stored || o.Ledger.Superseded != 0 {
					t.Errorf("report %d: %+v, want stored, superseding nothing", i, o.Ledger)
				}
			}
			other := key("A")
			if !petFirst {
				other = key("B")
			}
			if got := outs[1].Ledger.SharedStudy; len(got) != 1 || got[0] != other {
				t.Errorf("second report shares its study with %v, want [%v]", got, other)
			}
			for _, c := range []struct {
				local string
				mbq   float64
			}{{"A", 221.596}, {"B", 394}} {
				h, err := led.History(context.Background(), []vigie.SourceKey{key(c.local)})
				if err != nil {
					t.Fatal(err)
				}
				if len(h.NM) != 1 || !within(h.NM[0].ActivityMBq, c.mbq) {
					t.Errorf("patient %s: NM rows %+v, want one of %v MBq", c.local, h.NM, c.mbq)
				}
			}
		})
	}
}

func key(local string) vigie.SourceKey { return vigie.SourceKey{Authority: testSite, LocalID: local} }

func TestDICOMExactlyOnce(t *testing.T) {
	root := filepath.Join(sharedtest.Path(t, "dicom"), "openrem")
	multi := []string{"CT-RDSR-Siemens-Multi-1.dcm", "CT-RDSR-Siemens-Multi-2.dcm", "CT-RDSR-Siemens-Multi-3.dcm"}
	tests := []struct {
		name  string
		files []string
		key   vigie.SourceKey
		dlp   float64
		dups  int
	}{
		{"cumulative RDSRs in order", multi, key("4018119567876617"), 236.09, 0},
		{"cumulative RDSRs, last first", []string{multi[2], multi[0], multi[1]}, key("4018119567876617"), 236.09, 0},
		{"same file twice", []string{multi[1], multi[1], multi[1]}, key("4018119567876617"), 77.27, 2},
		{"continued RDSRs", []string{"CT-RDSR-Siemens-Continued-1.dcm", "CT-RDSR-Siemens-Continued-2.dcm", "CT-RDSR-Siemens-Continued-1.dcm"},
			key("phy12345"), 60.17 + 56.44, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			led, _ := openLedger(t)
			idx := &fakeIndex{}
			outs := ingestAll(t, led, idx, root, tt.files...)
			dups := 0
			for _, o := range outs {
				if o.Ledger.Result == ledger.Duplicate {
					dups++
					if o.Identity != "" {
						t.Errorf("a duplicate was resolved again: %+v", o)
					}
				}
			}
			if dups != tt.dups || idx.calls != len(tt.files)-tt.dups {
				t.Errorf("%d duplicates and %d resolves, want %d and %d", dups, idx.calls, tt.dups, len(tt.files)-tt.dups)
			}
			h, err := led.History(context.Background(), []vigie.SourceKey{tt.key})
			if err != nil {
				t.Fatal(err)
			}
			if len(h.CT) != 1 || !within(h.CT[0].DLPmGycm, tt.dlp) {
				t.Fatalf("CT history %+v, want one study of %v mGy.cm", h.CT, tt.dlp)
			}
		})
	}
}

// TestDICOMHeaderAndRDSR sends the PET images of a PET/CT study and its
// radiopharmaceutical dose SR, in both orders, with the CT part's RDSR:
// the activity counts once, from the SR, and the CT part lands in the
// nuclear-medicine row.
func TestDICOMHeaderAndRDSR(t *testing.T) {
	root := filepath.Join(sharedtest.Path(t, "dicom"), "openrem")
	headers := []string{"NM-PetIm-Siemens.dcm", "NM-PetIm-Siemens-2.dcm", "NM-PetIm-Siemens-3.dcm", "NM-PetIm-Siemens-3-sameseries.dcm"}
	sr := "NM-RRDSR-Siemens.dcm"
	ct := "NM-CT-RDSR-Siemens.dcm"
	// The anonymised files carry different patient ids ("REMOVED" on the
	// images, "REMOVED1" on the SR); a site sends one id for its patient's
	// PET/CT, so the test gives them all the images' id. (Under two ids,
	// see TestStudyUIDNeverOverridesPatient.)
	keys := []vigie.SourceKey{key("REMOVED")}
	orders := map[string][]string{
		"headers first": append(append([]string{}, headers...), sr, ct),
		"SR first":      append([]string{ct, sr}, headers...),
	}
	for name, files := range orders {
		t.Run(name, func(t *testing.T) {
			led, _ := openLedger(t)
			outs := ingestAs(t, led, root, "REMOVED", files...)
			excluded, superseded := 0, 0
			for _, o := range outs {
				if o.Ledger.Result == ledger.Excluded {
					excluded++
				}
				superseded += o.Ledger.Superseded
			}
			if excluded+superseded != len(headers) {
				t.Errorf("%d headers excluded on arrival and %d superseded, want %d in all", excluded, superseded, len(headers))
			}
			h, err := led.History(context.Background(), keys)
			if err != nil {
				t.Fatal(err)
			}
			if len(h.NM) != 1 || len(h.CT) != 0 {
				t.Fatalf("history NM %+v CT %+v, want one PET/CT row", h.NM, h.CT)
			}
			r := h.NM[0]
			if !within(r.ActivityMBq, 394) || !within(r.CTDLPmGycm, 667.72) || !within(r.CTCTDIvolmGy, 4.59) {
				t.Errorf("PET/CT row %+v, want 394 MBq with a CT part of 667.72 mGy.cm, 4.59 mGy", r)
			}
			if len(r.Exams) != 2 {
				t.Errorf("row counts exams %v, want the RRDSR and the CT RDSR only", r.Exams)
			}
		})
	}
	t.Run("headers alone count one injection", func(t *testing.T) {
		led, _ := openLedger(t)
		ingestAll(t, led, &fakeIndex{}, root, headers...)
		h, _ := led.History(context.Background(), keys)
		if len(h.NM) != 1 || !within(h.NM[0].ActivityMBq, 394) {
			t.Fatalf("NM %+v, want 394 MBq once for four images of one injection", h.NM)
		}
	})
	t.Run("for-processing and for-presentation images of one exposure", func(t *testing.T) {
		led, _ := openLedger(t)
		ingestAll(t, led, &fakeIndex{}, root, "MG-Im-GE_Seno_1_ForPresentation.dcm", "MG-Im-GE_Seno_1_ForProcessing.dcm")
		h, _ := led.History(context.Background(), []vigie.SourceKey{key("2256329130905364")})
		if len(h.Mammography) != 1 || !within(h.Mammography[0].AGDLeftmGy, 0.547) {
			t.Fatalf("mammography %+v, want 0.547 mGy once", h.Mammography)
		}
	})
}

// TestDICOMRefusedStoresNothing sends every file Vigie refuses, a file
// without any assigning authority and a file whose patient the index
// rejects: nothing is resolved (where refused before) and nothing is
// written to the ledger.
func TestDICOMRefusedStoresNothing(t *testing.T) {
	root := sharedtest.Path(t, "dicom")
	led, db := openLedger(t)
	idx := &fakeIndex{}
	ctx := context.Background()
	for _, c := range sharedFiles {
		if c.refused == "" {
			continue
		}
		_, err := DICOM(ctx, filepath.Join(root, filepath.FromSlash(c.file)), idx, led, DICOMOptions{Authority: testSite})
		if vigie.ErrorCode(err) != vigie.EINVALID {
			t.Errorf("%s: %v, want an EINVALID refusal", c.file, err)
		}
	}
	f := filepath.Join(root, "openrem", "CT-RDSR-Siemens-Multi-1.dcm")
	if _, err := DICOM(ctx, f, idx, led, DICOMOptions{}); vigie.ErrorField(err) != "IssuerOfPatientID" {
		t.Errorf("no authority: %v, want a refusal on IssuerOfPatientID", err)
	}
	if idx.calls != 0 {
		t.Errorf("%d resolves for refused files, want 0", idx.calls)
	}
	failing := &fakeIndex{fail: vigie.Invalid("birth_date", "is in the future")}
	if _, err := DICOM(ctx, f, failing, led, DICOMOptions{Authority: testSite}); vigie.ErrorField(err) != "birth_date" {
		t.Errorf("index refusal: %v, want it passed on", err)
	}
	n := 0
	db.View(func(txn *store.Txn) error {
		it := txn.NewIterator(store.IteratorOptions{Prefix: []byte("l/")})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	if n != 0 {
		t.Errorf("%d ledger keys written by refused files, want 0", n)
	}
}

// TestDICOMHistoryFollowsIdentity: the ledger never learns identities; a
// merge in the index (one identity holding two source records) and its
// unmerge change the history through the set of source records alone.
func TestDICOMHistoryFollowsIdentity(t *testing.T) {
	root := filepath.Join(sharedtest.Path(t, "dicom"), "openrem")
	led, _ := openLedger(t)
	ingestAll(t, led, &fakeIndex{}, root, "CT-RDSR-Siemens-Multi-3.dcm", "RF-RDSR-Canon-Ultimaxi-mGyDoseAtRP.dcm")
	a, b := key("4018119567876617"), key("7950587144020503")
	ctx := context.Background()
	identities := map[string][]vigie.SourceKey{"before merge": {a}, "merged": {a, b}, "unmerged": {a}}
	for state, keys := range identities {
		h, err := led.History(ctx, keys)
		if err != nil {
			t.Fatal(err)
		}
		wantRF := 0
		if state == "merged" {
			wantRF = 1
		}
		if len(h.CT) != 1 || len(h.Radiology) != wantRF {
			t.Errorf("%s: %d CT and %d radiology rows, want 1 and %d", state, len(h.CT), len(h.Radiology), wantRF)
		}
		if wantRF == 1 {
			r := h.Radiology[0]
			// Canon: DAP in dGy.cm2, dose at RP in mGy.
			if !within(r.DAPcGycm2, 1265.96) || !within(r.AirKermamGy, 30.573) || !within(r.FluoroTimeMin, 111.0/60) {
				t.Errorf("Canon row %+v, want 1265.96 cGy.cm2, 30.573 mGy, 1.85 min", r)
			}
		}
	}
}

func TestWalkDICOM(t *testing.T) {
	root := filepath.Join(sharedtest.Path(t, "dicom"), "pydicom")
	var got []string
	if err := WalkDICOM([]string{root}, func(p string) error { got = append(got, p); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) < 15 {
		t.Errorf("walked %d files in pydicom/, want every file", len(got))
	}
	stop := errors.New("stop")
	n := 0
	err := WalkDICOM([]string{root}, func(string) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("fn's error did not stop the walk: %v after %d files", err, n)
	}
	if err := WalkDICOM([]string{filepath.Join(root, "absent")}, func(string) error { return nil }); err == nil {
		t.Error("a missing path walked without error")
	}
}

// TestDICOMFiles ingests the whole shared set concurrently, twice: every
// file gets its table's outcome, the second pass stores nothing, and the
// de-duplicated totals do not depend on the order the workers finish in.
func TestDICOMFiles(t *testing.T) {
	root := sharedtest.Path(t, "dicom")
	var files []string
	for _, c := range sharedFiles {
		files = append(files, filepath.Join(root, filepath.FromSlash(c.file)))
	}
	led, _ := openLedger(t)
	ctx := context.Background()
	for pass := 1; pass <= 2; pass++ {
		stored, refused, dups, conflicts := 0, 0, 0, 0
		err := DICOMFiles(ctx, files, 2, &fakeIndex{}, led, DICOMOptions{Authority: testSite}, func(o DICOMOutcome, err error) error {
			switch {
			case err != nil:
				refused++
			case o.Ledger.Result == ledger.Duplicate:
				dups++
			case o.Ledger.Result == ledger.Conflict:
				conflicts++
			default:
				stored++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		accepted := 0
		for _, c := range sharedFiles {
			if c.refused == "" {
				accepted++
			}
		}
		// RF-RDSR-Siemens-Zee_adjusted.dcm is a corrected copy of
		// RF-RDSR-Siemens-Zee.dcm with the same SOP instance UID under
		// another study UID: a conflict, stored for trace; the ledger
		// counts the first to arrive.
		wantStored, wantDups, wantConflicts := accepted-1, 0, 1
		if pass == 2 {
			wantStored, wantDups, wantConflicts = 0, accepted, 0
		}
		if refused != len(sharedFiles)-accepted || stored != wantStored || dups != wantDups || conflicts != wantConflicts {
			t.Errorf("pass %d: %d stored, %d duplicates, %d conflicts, %d refused; want %d, %d, %d, %d", pass, stored, dups, conflicts, refused,
				wantStored, wantDups, wantConflicts, len(sharedFiles)-accepted)
		}
	}
	h, err := led.History(ctx, []vigie.SourceKey{key("4018119567876617"), key("REMOVED"), key("REMOVED1")})
	if err != nil {
		t.Fatal(err)
	}
	dlp := map[string]float64{}
	for _, r := range h.CT {
		dlp[r.StudyUID] = r.DLPmGycm
	}
	if got := dlp["1.3.6.1.4.1.5962.99.1.792239193.1702185591.1516915727449.3.0"]; !within(got, 236.09) {
		t.Errorf("Siemens multi-RDSR study DLP = %v, want 236.09", got)
	}
	if len(h.NM) < 1 {
		t.Errorf("no nuclear-medicine row")
	}
	// The anonymised PET/CT carries two patient ids: the images and the
	// CT RDSR under "REMOVED", the radiopharmaceutical SR under
	// "REMOVED1". A study UID never joins two records: one row each.
	ctPart := 0.0
	for _, r := range h.NM {
		if r.StudyUID == "1.2.840.113619.6.95.31.0.3.4.1.4400.13.8620675" {
			if !within(r.ActivityMBq, 394) {
				t.Errorf("PET/CT row %+v, want 394 MBq", r)
			}
			ctPart += r.CTDLPmGycm
		}
	}
	if !within(ctPart, 667.72) {
		t.Errorf("PET/CT CT part %v mGy.cm, want 667.72 on the images' record", ctPart)
	}

	stop := errors.New("stop")
	n := 0
	err = DICOMFiles(ctx, files, 2, &fakeIndex{}, led, DICOMOptions{Authority: testSite}, func(DICOMOutcome, error) error {
		n++
		return stop
	})
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("report's error: %v after %d reports, want stop after 1", err, n)
	}
}

// TestDICOMResentUnderAnotherPatient: the same object sent again under
// another source record is a conflict: not counted, and the outcome says
// where it was first stored.
func TestDICOMResentUnderAnotherPatient(t *testing.T) {
	f := filepath.Join(sharedtest.Path(t, "dicom"), "openrem", "CT-RDSR-Siemens-Multi-1.dcm")
	led, _ := openLedger(t)
	ctx := context.Background()
	first, err := DICOM(ctx, f, &fakeIndex{}, led, DICOMOptions{Authority: "1.2.250.1.71.4.2.7.1"})
	if err != nil || first.Ledger.Result != ledger.Stored {
		t.Fatalf("first: %+v %v", first, err)
	}
	again, err := DICOM(ctx, f, &fakeIndex{}, led, DICOMOptions{Authority: "1.2.250.1.71.4.2.7.2"})
	if err != nil {
		t.Fatal(err)
	}
	if again.Ledger.Result != ledger.Conflict || again.Ledger.First != first.Key || again.Key == first.Key || again.Ledger.Counted != (ledger.Totals{}) {
		t.Errorf("re-sent: %+v, want a conflict pointing at %v, counting nothing", again, first.Key)
	}
}
