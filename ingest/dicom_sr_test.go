package ingest

import (
	"bytes"
	"testing"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"vigie/ledger"
)

// srBuilder makes SR content items for synthetic dose reports. Meanings
// are deliberately wrong: only code value and scheme may be used.
type srBuilder struct{ t testing.TB }

func (b srBuilder) codeSeq(t tag.Tag, value, scheme string) *dicom.Element {
	return el(b.t, t, [][]*dicom.Element{{
		el(b.t, tag.CodeValue, []string{value}), el(b.t, tag.CodingSchemeDesignator, []string{scheme}),
		el(b.t, tag.CodeMeaning, []string{"misspelt meaning"}),
	}})
}

func (b srBuilder) item(vt, value, scheme string, extra ...*dicom.Element) []*dicom.Element {
	return append([]*dicom.Element{
		el(b.t, tag.RelationshipType, []string{"CONTAINS"}), el(b.t, tag.ValueType, []string{vt}),
		b.codeSeq(tag.ConceptNameCodeSequence, value, scheme),
	}, extra...)
}

func (b srBuilder) container(value, scheme string, kids ...[]*dicom.Element) []*dicom.Element {
	return b.item("CONTAINER", value, scheme, el(b.t, tag.ContentSequence, kids))
}

func (b srBuilder) num(value, scheme, number, unit string, mods ...[]*dicom.Element) []*dicom.Element {
	extra := []*dicom.Element{el(b.t, tag.MeasuredValueSequence, [][]*dicom.Element{{
		b.codeSeq(tag.MeasurementUnitsCodeSequence, unit, "UCUM"), el(b.t, tag.NumericValue, []string{number}),
	}})}
	if len(mods) > 0 {
		extra = append(extra, el(b.t, tag.ContentSequence, mods))
	}
	return b.item("NUM", value, scheme, extra...)
}

func (b srBuilder) code(value, scheme, cValue, cScheme string, mods ...[]*dicom.Element) []*dicom.Element {
	extra := []*dicom.Element{b.codeSeq(tag.ConceptCodeSequence, cValue, cScheme)}
	if len(mods) > 0 {
		extra = append(extra, el(b.t, tag.ContentSequence, mods))
	}
	return b.item("CODE", value, scheme, extra...)
}

func (b srBuilder) uid(value, scheme, uid string) []*dicom.Element {
	return b.item("UIDREF", value, scheme, el(b.t, tag.UID, []string{uid}))
}

// srFile builds a dose SR Part-10 file with the given root concept and
// content.
func (b srBuilder) file(class, rootValue string, content ...[]*dicom.Element) []byte {
	return fixture(b.t,
		el(b.t, tag.MediaStorageSOPClassUID, []string{class}),
		el(b.t, tag.MediaStorageSOPInstanceUID, []string{"1.2.3.9"}),
		el(b.t, tag.TransferSyntaxUID, []string{"1.2.840.10008.1.2.1"}),
		el(b.t, tag.SOPClassUID, []string{class}),
		el(b.t, tag.SOPInstanceUID, []string{"1.2.3.9"}),
		el(b.t, tag.StudyInstanceUID, []string{"1.2.3"}),
		el(b.t, tag.Modality, []string{"SR"}),
		el(b.t, tag.PatientID, []string{"P9"}),
		el(b.t, tag.ValueType, []string{"CONTAINER"}),
		b.codeSeq(tag.ConceptNameCodeSequence, rootValue, "DCM"),
		el(b.t, tag.ContentSequence, content),
	)
}

// TestReadSRNewCodes reads synthetic reports written with the SNOMED CT
// (SCT) codes that replaced the SRT ones, and units vendors use.
func TestReadSRNewCodes(t *testing.T) {
	b := srBuilder{t}
	ct := b.file(sopRDSR, "113701",
		b.code("121058", "DCM", "77477000", "SCT"),
		b.container("113811", "DCM", b.num("113813", "DCM", "0.5", "Gy.cm")),
		b.container("113819", "DCM",
			b.uid("113769", "DCM", "1.2.3.100"),
			b.code("123014", "DCM", "51185008", "SCT"),
			b.container("113829", "DCM",
				b.num("113830", "DCM", "10", "mGy"),
				b.num("113838", "DCM", "500", "mGy.cm"),
				b.code("113835", "DCM", "113691", "DCM"),
				b.num("113930", "DCM", "12.5", "mGy"))))
	mg := b.file(sopRDSR, "113701",
		b.code("121058", "DCM", "71651007", "SCT"),
		b.container("113702", "DCM",
			b.num("111637", "DCM", "1.1", "mGy", b.code("272741003", "SCT", "80248007", "SCT")),
			b.num("111637", "DCM", "0.012", "dGy", b.code("272741003", "SCT", "73056007", "SCT"))),
		b.container("113706", "DCM",
			b.uid("113769", "DCM", "1.2.3.200"),
			b.code("111031", "DCM", "399162004", "SCT"),
			b.num("111631", "DCM", "1.1", "mGy"),
			b.num("111633", "DCM", "52", "mm"),
			b.code("123014", "DCM", "76752008", "SCT", b.code("272741003", "SCT", "7771000", "SCT"))))
	nm := b.file(sopRRDSR, "113500",
		b.container("113502", "DCM",
			b.code("349358000", "SCT", "35321007", "SCT", b.code("89457008", "SCT", "77004003", "SCT")),
			b.uid("113503", "DCM", "1.2.3.300"),
			b.num("113507", "DCM", "0.394", "GBq")))
	xa := b.file(sopRDSR, "113701",
		b.code("121058", "DCM", "113704", "DCM"),
		b.container("113702", "DCM", b.num("113722", "DCM", "20", "uGy.m2"), b.num("113725", "DCM", "0.1", "Gy"), b.num("113730", "DCM", "2", "min")),
		b.container("113702", "DCM", b.num("113722", "DCM", "100", "cGy.cm2"), b.num("113725", "DCM", "50", "mGy"), b.num("113730", "DCM", "30", "s")),
		b.container("113706", "DCM", b.uid("113769", "DCM", "1.2.3.400"), b.code("113721", "DCM", "44491008", "SCT"),
			b.num("122130", "DCM", "1", "dGy.cm2"), b.num("113742", "DCM", "4000", "ms")))

	parse := func(data []byte) *DoseReport {
		t.Helper()
		rep, err := ParseDICOM(bytes.NewReader(data), int64(len(data)), DICOMOptions{Authority: "1.2.3"})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	r := parse(ct)
	if r.Exam.Domain != ledger.DomainCT || r.Exam.CT == nil || len(r.Exam.CT.Events) != 1 {
		t.Fatalf("CT report read as %s: %+v", r.Exam.Domain, r.Exam.CT)
	}
	e := r.Exam.CT.Events[0]
	if !within(r.Exam.CT.DLPTotal.Value, 500) || r.Exam.CT.DLPTotal.RawUnit != "Gy.cm" || e.UID != "1.2.3.100" ||
		!within(e.CTDIvol.Value, 10) || !within(e.DLP.Value, 500) || e.SSDE == nil || !within(e.SSDE.Value, 12.5) ||
		e.Phantom.Value != "113691" || e.TargetRegion.Value != "51185008" {
		t.Errorf("CT event %+v, total %+v", e, r.Exam.CT.DLPTotal)
	}

	r = parse(mg)
	m := r.Exam.Mammography
	if r.Exam.Domain != ledger.DomainMammography || m == nil || !within(m.AGDLeft.Value, 1.1) || !within(m.AGDRight.Value, 1.2) {
		t.Fatalf("mammography report: %s %+v", r.Exam.Domain, m)
	}
	if len(m.Events) != 1 || m.Events[0].Laterality != "L" || m.Events[0].View.Value != "399162004" || !within(m.Events[0].Thickness.Value, 52) {
		t.Errorf("mammography events %+v", m.Events)
	}

	r = parse(nm)
	if r.Exam.Domain != ledger.DomainNM || len(r.Exam.NM.Administrations) != 1 {
		t.Fatalf("radiopharmaceutical report: %s %+v", r.Exam.Domain, r.Exam.NM)
	}
	a := r.Exam.NM.Administrations[0]
	if !within(a.Activity.Value, 394) || a.Radiopharmaceutical.Value != "35321007" || a.Radionuclide.Value != "77004003" || a.UID != "1.2.3.300" {
		t.Errorf("administration %+v", a)
	}

	r = parse(xa)
	p := r.Exam.Projection
	if p == nil || p.Planes != 2 {
		t.Fatalf("projection report: %+v", p)
	}
	tt := r.Exam.Totals()
	// Plane A 20 µGy.m² + plane B 100 cGy.cm² = 20 + 100 cGy.cm²; RP 100 + 50 mGy; 120 + 30 s.
	if !within(ledger.CGyCm2(tt.DAP), 120) || !within(tt.RP, 150) || !within(tt.FluoroTime, 150) {
		t.Errorf("two-plane totals %+v", tt)
	}
	if ev := p.Events[0]; !ev.Fluoro || !within(ev.Duration.Value, 4) {
		t.Errorf("fluoroscopy event %+v", ev)
	}

	// A dose SR whose root is something else is refused.
	other := b.file(sopRDSR, "126000", b.code("121058", "DCM", "113704", "DCM"))
	if _, err := ParseDICOM(bytes.NewReader(other), int64(len(other)), DICOMOptions{Authority: "A"}); err == nil {
		t.Error("an RDSR with a non-dose root was accepted")
	}
	// An unknown unit skips the figure with a warning, never guesses.
	odd := b.file(sopRDSR, "113701", b.code("121058", "DCM", "77477000", "SCT"),
		b.container("113811", "DCM", b.num("113813", "DCM", "5", "mSv")))
	r = parse(odd)
	if r.Exam.CT.DLPTotal != nil || len(r.Warnings) == 0 {
		t.Errorf("DLP in mSv: %+v, warnings %v", r.Exam.CT.DLPTotal, r.Warnings)
	}
}

// srSeed is a small CT dose SR for the fuzz corpora.
func srSeed(tb testing.TB) []byte {
	b := srBuilder{tb}
	return b.file(sopRDSR, "113701",
		b.code("121058", "DCM", "77477000", "SCT"),
		b.container("113811", "DCM", b.num("113813", "DCM", "7.46", "mGy.cm")),
		b.container("113819", "DCM", b.uid("113769", "DCM", "1.2.3.100"),
			b.container("113829", "DCM", b.num("113830", "DCM", "0.15", "mGy"), b.num("113838", "DCM", "7.46", "mGy.cm"))))
}
