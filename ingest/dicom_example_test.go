package ingest_test

import (
	"bytes"
	"context"
	"fmt"

	"vigie"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"vigie/ingest"
	"vigie/ledger"
	"vigie/store"
)

// dxImage builds a small DX image whose header carries a dose-area product
// of 1.5 dGy.cm², as a radiography room sends it.
func dxImage() []byte {
	var els []*dicom.Element
	for _, e := range []struct {
		t tag.Tag
		v []string
	}{
		{tag.MediaStorageSOPClassUID, []string{"1.2.840.10008.5.1.4.1.1.1.1"}},
		{tag.MediaStorageSOPInstanceUID, []string{"1.2.3.4.5"}},
		{tag.TransferSyntaxUID, []string{"1.2.840.10008.1.2.1"}},
		{tag.SOPClassUID, []string{"1.2.840.10008.5.1.4.1.1.1.1"}},
		{tag.SOPInstanceUID, []string{"1.2.3.4.5"}},
		{tag.StudyInstanceUID, []string{"1.2.3.4"}},
		{tag.StudyDate, []string{"20240301"}},
		{tag.StudyDescription, []string{"THORAX F"}},
		{tag.Modality, []string{"DX"}},
		{tag.PatientID, []string{"IPP42"}},
		{tag.PatientName, []string{"MARTIN^Claire^Anne"}},
		{tag.PatientBirthDate, []string{"19700101"}},
		{tag.PatientSex, []string{"F"}},
		{tag.ImageAndFluoroscopyAreaDoseProduct, []string{"1.5"}},
	} {
		el, err := dicom.NewElement(e.t, e.v)
		if err != nil {
			panic(err)
		}
		els = append(els, el)
	}
	var buf bytes.Buffer
	if err := dicom.Write(&buf, dicom.Dataset{Elements: els}, dicom.DefaultMissingTransferSyntax()); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func ExampleParseDICOM() {
	b := dxImage()
	rep, err := ingest.ParseDICOM(bytes.NewReader(b), int64(len(b)), ingest.DICOMOptions{Authority: "1.2.250.1.71.4.2.7.1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	p, x := rep.Patient, rep.Exam
	fmt.Println(p.Authority, p.LocalID, p.BirthName, p.FirstNames, p.BirthDate, p.Sex)
	fmt.Println(x.Source, x.Domain, x.Date, x.Procedure)
	fmt.Printf("DAP %.1f cGy.cm2 (raw %v %s)\n", ledger.CGyCm2(x.Projection.DAPTotal.Value), x.Projection.DAPTotal.Raw, x.Projection.DAPTotal.RawUnit)
	// Output:
	// 1.2.250.1.71.4.2.7.1 IPP42 MARTIN Claire Anne 1970-01-01 F
	// header projection 2024-03-01 THORAX F
	// DAP 15.0 cGy.cm2 (raw 1.5 dGy.cm2)
}

// oneIdentity resolves every record to the identity of its local id, as
// the patient index would for a new patient.
type oneIdentity struct{}

func (oneIdentity) Resolve(_ context.Context, rec vigie.Record) (string, error) {
	return "V-" + rec.LocalID, nil
}

func ExampleDICOMReport() {
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		panic(err)
	}
	defer db.Close()
	led := ledger.Open(db)
	b := dxImage()
	rep, err := ingest.ParseDICOM(bytes.NewReader(b), int64(len(b)), ingest.DICOMOptions{Authority: "1.2.250.1.71.4.2.7.1"})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for range 2 { // the same image sent twice counts once
		out, err := ingest.DICOMReport(ctx, "image.dcm", rep, oneIdentity{}, led)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s identity=%q\n", out.Ledger.Result, out.Identity)
	}
	h, _ := led.History(ctx, []vigie.SourceKey{rep.Exam.Key})
	fmt.Printf("%s %s %.1f cGy.cm2\n", h.Radiology[0].Date, h.Radiology[0].Procedure, h.Radiology[0].DAPcGycm2)
	// Output:
	// stored identity="V-IPP42"
	// duplicate identity=""
	// 2024-03-01 THORAX F 15.0 cGy.cm2
}
