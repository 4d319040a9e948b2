package ingest

import (
	"strconv"
	"strings"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// elems is one level of a DICOM dataset (the top level or one sequence
// item); its helpers read values without ever panicking on an unexpected
// value type.
type elems []*dicom.Element

// DICOM tags read by the extractor, by (group, element) so that no name
// lookup is involved.
var (
	tMediaSOPClass     = tag.Tag{Group: 0x0002, Element: 0x0002}
	tSOPClass          = tag.Tag{Group: 0x0008, Element: 0x0016}
	tSOPInstance       = tag.Tag{Group: 0x0008, Element: 0x0018}
	tStudyDate         = tag.Tag{Group: 0x0008, Element: 0x0020}
	tSeriesDate        = tag.Tag{Group: 0x0008, Element: 0x0021}
	tAcquisitionDate   = tag.Tag{Group: 0x0008, Element: 0x0022}
	tContentDate       = tag.Tag{Group: 0x0008, Element: 0x0023}
	tAcqDateTime       = tag.Tag{Group: 0x0008, Element: 0x002A}
	tStudyTime         = tag.Tag{Group: 0x0008, Element: 0x0030}
	tAcquisitionTime   = tag.Tag{Group: 0x0008, Element: 0x0032}
	tContentTime       = tag.Tag{Group: 0x0008, Element: 0x0033}
	tAccession         = tag.Tag{Group: 0x0008, Element: 0x0050}
	tModality          = tag.Tag{Group: 0x0008, Element: 0x0060}
	tManufacturer      = tag.Tag{Group: 0x0008, Element: 0x0070}
	tCodeValue         = tag.Tag{Group: 0x0008, Element: 0x0100}
	tCodingScheme      = tag.Tag{Group: 0x0008, Element: 0x0102}
	tCodeMeaning       = tag.Tag{Group: 0x0008, Element: 0x0104}
	tStationName       = tag.Tag{Group: 0x0008, Element: 0x1010}
	tStudyDescription  = tag.Tag{Group: 0x0008, Element: 0x1030}
	tSeriesDescription = tag.Tag{Group: 0x0008, Element: 0x103E}
	tModel             = tag.Tag{Group: 0x0008, Element: 0x1090}
	tPatientName       = tag.Tag{Group: 0x0010, Element: 0x0010}
	tPatientID         = tag.Tag{Group: 0x0010, Element: 0x0020}
	tIssuer            = tag.Tag{Group: 0x0010, Element: 0x0021}
	tIssuerQualifiers  = tag.Tag{Group: 0x0010, Element: 0x0024}
	tBirthDate         = tag.Tag{Group: 0x0010, Element: 0x0030}
	tSex               = tag.Tag{Group: 0x0010, Element: 0x0040}
	tOtherIDsSeq       = tag.Tag{Group: 0x0010, Element: 0x1002}
	tPatientAge        = tag.Tag{Group: 0x0010, Element: 0x1010}
	tPatientSize       = tag.Tag{Group: 0x0010, Element: 0x1020}
	tPatientWeight     = tag.Tag{Group: 0x0010, Element: 0x1030}
	tPregnancyStatus   = tag.Tag{Group: 0x0010, Element: 0x21C0}
	tRadiopharmaceut   = tag.Tag{Group: 0x0018, Element: 0x0031}
	tSerial            = tag.Tag{Group: 0x0018, Element: 0x1000}
	tProtocolName      = tag.Tag{Group: 0x0018, Element: 0x1030}
	tRPStartTime       = tag.Tag{Group: 0x0018, Element: 0x1072}
	tRNTotalDose       = tag.Tag{Group: 0x0018, Element: 0x1074}
	tRPStartDateTime   = tag.Tag{Group: 0x0018, Element: 0x1078}
	tDAPHeader         = tag.Tag{Group: 0x0018, Element: 0x115E}
	tBodyPartThickness = tag.Tag{Group: 0x0018, Element: 0x11A0}
	tViewPosition      = tag.Tag{Group: 0x0018, Element: 0x5101}
	tAcquisitionType   = tag.Tag{Group: 0x0018, Element: 0x9302}
	tCTDIvol           = tag.Tag{Group: 0x0018, Element: 0x9345}
	tStudyUID          = tag.Tag{Group: 0x0020, Element: 0x000D}
	tLaterality        = tag.Tag{Group: 0x0020, Element: 0x0060}
	tImageLaterality   = tag.Tag{Group: 0x0020, Element: 0x0062}
	tRequestedProcDesc = tag.Tag{Group: 0x0032, Element: 0x1060}
	tUniversalEntityID = tag.Tag{Group: 0x0040, Element: 0x0032}
	tPPSDescription    = tag.Tag{Group: 0x0040, Element: 0x0254}
	tExposureDoseSeq   = tag.Tag{Group: 0x0040, Element: 0x030E}
	tOrganDose         = tag.Tag{Group: 0x0040, Element: 0x0316}
	tUnitsCodeSeq      = tag.Tag{Group: 0x0040, Element: 0x08EA}
	tValueType         = tag.Tag{Group: 0x0040, Element: 0xA040}
	tConceptNameSeq    = tag.Tag{Group: 0x0040, Element: 0xA043}
	tDateTimeValue     = tag.Tag{Group: 0x0040, Element: 0xA120}
	tDateValue         = tag.Tag{Group: 0x0040, Element: 0xA121}
	tTimeValue         = tag.Tag{Group: 0x0040, Element: 0xA122}
	tPersonName        = tag.Tag{Group: 0x0040, Element: 0xA123}
	tUIDValue          = tag.Tag{Group: 0x0040, Element: 0xA124}
	tTextValue         = tag.Tag{Group: 0x0040, Element: 0xA160}
	tFloatValue        = tag.Tag{Group: 0x0040, Element: 0xA161}
	tConceptCodeSeq    = tag.Tag{Group: 0x0040, Element: 0xA168}
	tMeasuredValueSeq  = tag.Tag{Group: 0x0040, Element: 0xA300}
	tNumericValue      = tag.Tag{Group: 0x0040, Element: 0xA30A}
	tContentSeq        = tag.Tag{Group: 0x0040, Element: 0xA730}
	tRPInfoSeq         = tag.Tag{Group: 0x0054, Element: 0x0016}
	tRadionuclideSeq   = tag.Tag{Group: 0x0054, Element: 0x0300}
	tRadiopharmCodeSeq = tag.Tag{Group: 0x0054, Element: 0x0304}
)

func (es elems) find(t tag.Tag) *dicom.Element {
	for _, e := range es {
		if e != nil && e.Tag == t {
			return e
		}
	}
	return nil
}

// strs returns the string values of t, or nil.
func (es elems) strs(t tag.Tag) []string {
	e := es.find(t)
	if e == nil || e.Value == nil {
		return nil
	}
	switch v := e.Value.GetValue().(type) {
	case []string:
		return v
	case []byte: // VR UN: the bytes of a string, padded
		return strings.Split(string(v), `\`)
	}
	return nil
}

// str returns the first string value of t, trimmed of padding.
func (es elems) str(t tag.Tag) string {
	s := es.strs(t)
	if len(s) == 0 {
		return ""
	}
	return strings.Trim(s[0], " \x00")
}

// num returns the first numeric value of t: a DS/IS string, or a binary
// float or integer.
func (es elems) num(t tag.Tag) (float64, bool) {
	e := es.find(t)
	if e == nil || e.Value == nil {
		return 0, false
	}
	switch v := e.Value.GetValue().(type) {
	case []byte: // VR UN (Hologic private encodings): the bytes of a DS
		f, err := strconv.ParseFloat(strings.TrimSpace(strings.Trim(strings.Split(string(v), `\`)[0], " \x00")), 64)
		return f, err == nil
	case []string:
		if len(v) == 0 {
			return 0, false
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(strings.Trim(v[0], "\x00")), 64)
		return f, err == nil
	case []float64:
		if len(v) == 0 {
			return 0, false
		}
		return v[0], true
	case []int:
		if len(v) == 0 {
			return 0, false
		}
		return float64(v[0]), true
	}
	return 0, false
}

// items returns the items of sequence t.
func (es elems) items(t tag.Tag) []elems {
	e := es.find(t)
	if e == nil || e.Value == nil {
		return nil
	}
	seq, ok := e.Value.GetValue().([]*dicom.SequenceItemValue)
	if !ok {
		return nil
	}
	out := make([]elems, 0, len(seq))
	for _, it := range seq {
		if it == nil {
			continue
		}
		if x, ok := it.GetValue().([]*dicom.Element); ok {
			out = append(out, elems(x))
		}
	}
	return out
}

// first returns the first item of sequence t, or nil.
func (es elems) first(t tag.Tag) elems {
	if its := es.items(t); len(its) > 0 {
		return its[0]
	}
	return nil
}

// walk calls fn for every element at this level and, depth first, inside
// every sequence item below it.
func (es elems) walk(fn func(*dicom.Element)) {
	for _, e := range es {
		if e == nil {
			continue
		}
		fn(e)
		if e.Value == nil {
			continue
		}
		if seq, ok := e.Value.GetValue().([]*dicom.SequenceItemValue); ok {
			for _, it := range seq {
				if it == nil {
					continue
				}
				if x, ok := it.GetValue().([]*dicom.Element); ok {
					elems(x).walk(fn)
				}
			}
		}
	}
}
