package main

import (
	"bytes"
	"context"
	"image/png"
	"path/filepath"
	"strings"
	"testing"

	"vigie/dosimetry"
	"vigie/ingest"
	"vigie/internal/sharedtest"
	"vigie/ledger"
	"vigie/store"
)

// TestSkinMapCommand: the map of a real interventional exam is the one
// stored with its skin follow-up alert when there is one, else computed;
// a CT exam has none.
func TestSkinMapCommand(t *testing.T) {
	root := sharedtest.Path(t, "dicom")
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	led, alerts := ledger.Open(db), dosimetry.OpenAlerts(db)
	var sops []string
	for _, f := range []string{"pyskindose/siemens_axiom_example_procedure.dcm", "openrem/CT-RDSR-ToshibaPixelMed.dcm"} {
		out, err := ingest.DICOM(ctx, filepath.Join(root, f), keyIdentity{}, led, ingest.DICOMOptions{Authority: "1.2.3"})
		if err != nil {
			t.Fatal(err)
		}
		sops = append(sops, out.Ledger.SOPInstanceUID)
	}
	b, text, stored, err := skinMap(ctx, led, alerts, sops[0])
	if err != nil || stored || !strings.Contains(text, "dose maximale à la peau") {
		t.Fatalf("no alert yet: stored %v, %q, %v", stored, text, err)
	}
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		t.Fatalf("computed map: %v", err)
	}
	// A site level of 10 mGy: the scan raises the alert and stores its map.
	cfg := dosimetry.DefaultAlertConfig()
	cfg.SkinDosemGy = 10
	s := &dosimetry.Scanner{Types: dosimetry.DefaultTable(), NRD: dosimetry.DefaultNRD(), Coef: dosimetry.DefaultCoefficients(), Config: cfg}
	if _, err := s.Scan(ctx, led, alerts, dosimetry.ScanQuery{}); err != nil {
		t.Fatal(err)
	}
	sb, _, stored, err := skinMap(ctx, led, alerts, sops[0])
	if err != nil || !stored {
		t.Fatalf("after the alert: stored %v, %v", stored, err)
	}
	// The stored map was drawn against the alert's level, the computed one
	// against the default 3 Gy: not the same image.
	if bytes.Equal(sb, b) {
		t.Errorf("the map returned is not the one stored with the alert")
	}
	if _, _, _, err := skinMap(ctx, led, alerts, sops[1]); err == nil {
		t.Errorf("a CT exam got a skin map")
	}
}
