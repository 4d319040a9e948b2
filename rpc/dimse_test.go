package rpc_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"vigie/audit"
	"vigie/dimse"
	"vigie/ingest"
	"vigie/internal/sharedtest"
	"vigie/ledger"
	"vigie/matcher"
	"vigie/mpi"
	"vigie/rpc"
	"vigie/sites"
	"vigie/store"
)

// TestDIMSEStatuses: what the DICOM listener answers for each kind of
// instance, through the same Ingester as STOW-RS: the status code and
// the Error Comment the sender's operators read.
func TestDIMSEStatuses(t *testing.T) {
	var free atomic.Int64
	free.Store(100 << 30)
	db, err := store.Open("", store.Options{InMemory: true, FreeSpace: func(string) (int64, error) { return free.Load(), nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ix, err := mpi.Open(db, matcher.DefaultModel(), mpi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	reg := sites.Open(db)
	if _, err := reg.Add(t.Context(), sites.Site{Authority: siteA, Name: "CH A", AETitles: []string{"CT_A"}}); err != nil {
		t.Fatal(err)
	}
	trail, err := audit.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { trail.Close() })
	d := &rpc.DIMSE{Ingester: &rpc.Ingester{Index: ix, Ledger: ledger.Open(db), Metrics: rpc.NewMetrics()}, Sites: reg, Trail: trail}

	// Admission: the site's AE title, nobody else.
	v, err := d.Admit("CT_A")
	if s, ok := v.(sites.Site); err != nil || !ok || s.Authority != siteA {
		t.Fatalf("Admit(CT_A) = %v, %v; want site %s", v, err, siteA)
	}
	if _, err := d.Admit("INCONNU"); err == nil || !strings.Contains(err.Error(), "no registered site") {
		t.Fatalf("Admit(INCONNU): %v, want a refusal", err)
	}
	if !d.Accepts("1.2.840.10008.5.1.4.1.1.88.67") || d.Accepts("1.2.840.10008.5.1.4.1.1.4") || d.Accepts("1.2.840.10008.5.1.4.1.1.88.73") {
		t.Fatal("Accepts: want the X-Ray Radiation Dose SR, not MR images nor the Patient Radiation Dose SR")
	}
	peer := &dimse.Peer{ID: 1, CallingAE: "CT_A", Admitted: v}
	root := sharedtest.Path(t, "dicom")
	guard := store.Guard(db)

	for _, tc := range []struct {
		name     string
		file     string
		instance string // the command's SOP instance ("": the file's)
		noSpace  bool
		code     uint16
		comment  string // in the Error Comment
		result   string // of the audit entry
	}{
		{name: "a CT dose SR", file: "openrem/CT-RDSR-GEPixelMed.dcm", code: dimse.StatusSuccess, result: "ok"},
		{name: "the same again: counted once", file: "openrem/CT-RDSR-GEPixelMed.dcm", code: dimse.StatusSuccess, result: "ok"},
		{name: "no PatientID", file: "openrem/DX-Im-DRGEM.dcm", code: dimse.StatusCannotUnderstand, comment: "PatientID: absent or empty", result: "invalid"},
		{name: "not a dose report", file: "pydicom/test-SR.dcm", code: dimse.StatusCannotUnderstand, comment: "not a dose report", result: "invalid"},
		{name: "another authority's patient", file: "openrem/MG-RDSR-GEPristina-2D.dcm", code: 0x0124, comment: "IssuerOfPatientID is not the sending site's", result: "permission"},
		{name: "disk under its reserve", file: "openrem/DX-Im-Carestream_DRX.dcm", noSpace: true, code: dimse.StatusOutOfResources, comment: "disk is full", result: "exhausted"},
		{name: "space freed", file: "openrem/DX-Im-Carestream_DRX.dcm", code: dimse.StatusSuccess, result: "ok"},
		{name: "the command names another instance", file: "openrem/CT-ESR-GE_Optima.dcm", instance: "1.2.3.4", code: dimse.StatusCoercion,
			comment: "the data set's SOP Instance UID", result: "ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.noSpace {
				free.Store(guard.Reserve() - 1)
			} else {
				free.Store(100 << 30)
			}
			guard.Check()
			f, err := os.Open(filepath.Join(root, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, _ := f.Stat()
			inst := tc.instance
			if inst == "" {
				if rep, err := ingest.ParseDICOMFile(filepath.Join(root, tc.file), ingest.DICOMOptions{}); err == nil {
					inst = rep.Exam.SOPInstanceUID
				}
			}
			before, _ := trail.Head()
			got := d.Store(t.Context(), peer, &dimse.StoreRequest{SOPInstanceUID: inst, File: f, Size: st.Size()})
			if got.Code != tc.code || !strings.Contains(got.Comment, tc.comment) || len(got.Comment) > dimse.MaxErrorComment {
				t.Errorf("status %04X %q, want %04X with %q", got.Code, got.Comment, tc.code, tc.comment)
			}
			// One audit entry per C-STORE, before the answer.
			seq, _ := trail.Head()
			if seq != before+1 {
				t.Fatalf("%d audit entries for one C-STORE", seq-before)
			}
			e, err := trail.Get(seq)
			if err != nil || e.Principal != "dicom:CT_A" || e.Operation != rpc.CStoreOperation || e.Result != tc.result || e.Credential != "dicom_ae:CT_A" {
				t.Errorf("audit entry %+v (%v), want dicom:CT_A, %s, result %s", e, err, rpc.CStoreOperation, tc.result)
			}
			if tc.result == "ok" && len(e.Records) != 1 {
				t.Errorf("the audit entry of a stored instance names records %v, want its patient's", e.Records)
			}
		})
	}
}
