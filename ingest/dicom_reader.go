package ingest

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/charset"
	"github.com/suyashkumar/dicom/pkg/tag"
	"golang.org/x/text/encoding"
)

// The reader below turns a Part-10 object held in memory into the DICOM
// library's data model (dicom.Element values of the same types, VRs and
// string handling as dicom.Parse with SkipPixelData), using the library's
// tag dictionary and character-set decoders.
//
// Why not dicom.Parse itself:
//   - it allocates each value from its announced length before reading it:
//     fuzzing found a few bytes announcing gigabytes that got the process
//     killed, and its meta-group and transfer-syntax guessing make any
//     pre-check of lengths unreliable;
//   - its per-element overhead (an eagerly formatted debug message,
//     reflection-based integer reads) makes a 65,000-element interventional
//     RDSR cost 2.5 times the CPU of this reader.
//
// This reader only slices the bytes it was given, so no length in a file
// makes it allocate more than the file's size, and it refuses what it cannot
// read as malformed. The library stays the reference:
// TestReaderMatchesLibrary and FuzzReaderMatchesLibrary compare both
// extractions.

// maxInflated bounds the dataset of a deflated file once inflated: a dose
// report is a few MB at most, and a "zip bomb" must not exhaust memory.
const maxInflated = 256 << 20

// maxDepth bounds sequence nesting (dose templates nest about a dozen
// deep).
const maxDepth = 64

const undefinedLength = 0xFFFFFFFF

func malformed(format string, args ...any) error {
	return refuse("file", "malformed DICOM: "+format, args...)
}

// longVR reports whether an explicit VR has a 4-byte length.
func longVR(vr string) bool {
	switch vr {
	case "NA", "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UN", "UC", "UR", "UT", "UV":
		return true
	}
	return false
}

// readDataset reads the file meta information and the dataset of a
// Part-10 object (preamble and DICM already checked). With partial, data is
// only the start of the file: pixel data running past its end ends the
// dataset.
func readDataset(data []byte, partial bool, size int64) (elems, error) {
	r := &dsReader{b: data, bo: binary.LittleEndian, explicit: true, partial: partial, size: size}
	pos := 132
	if pos+12 > len(data) || binary.LittleEndian.Uint32(data[pos:]) != 0x00000002 || string(data[pos+4:pos+6]) != "UL" {
		return nil, malformed("the file meta information does not start with its group length (0002,0000)")
	}
	metaEnd := pos + 12 + int(binary.LittleEndian.Uint32(data[pos+8:]))
	var els []*dicom.Element
	ts := ""
	for pos < len(data) && pos+8 <= len(data) && binary.LittleEndian.Uint16(data[pos:]) == 0x0002 {
		e, next, err := r.element(pos, 0)
		if err != nil {
			return nil, err
		}
		els = append(els, e)
		if e.Tag == tag.TransferSyntaxUID {
			if s, ok := e.Value.GetValue().([]string); ok && len(s) > 0 {
				ts = s[0]
			}
		}
		pos = next
	}
	if pos != metaEnd {
		return nil, malformed("the file meta information is %d bytes long, its group length says %d", pos-132-12, metaEnd-132-12)
	}
	body := data[pos:]
	r.base = int64(pos)
	switch ts {
	case "":
		return nil, malformed("the file meta information has no TransferSyntaxUID")
	case "1.2.840.10008.1.2":
		r.explicit = false
	case "1.2.840.10008.1.2.2":
		r.bo = binary.BigEndian
	case "1.2.840.10008.1.2.1.99":
		inflated, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(body)), maxInflated+1))
		if err != nil {
			return nil, malformed("the deflated dataset cannot be inflated: %v", err)
		}
		if len(inflated) > maxInflated {
			return nil, refuse("file", "the deflated dataset inflates past %d MB", maxInflated>>20)
		}
		body = inflated
		r.partial = false // inflating a cut stream fails: partial files never get here
	}
	r.b = body
	rest, _, err := r.elements(0, len(body), 0, true, false)
	if err != nil {
		return nil, err
	}
	return append(elems(els), rest...), nil
}

type dsReader struct {
	b        []byte
	bo       binary.ByteOrder
	explicit bool
	dec      *encoding.Decoder // from SpecificCharacterSet; nil means UTF-8
	partial  bool              // b is a prefix of the file
	size     int64             // the size of the whole file
	base     int64             // the offset of b in the file
}

// elements reads elements from pos until end, or until an item delimiter
// when untilDelim; it returns them and the position after them.
func (r *dsReader) elements(pos, end, depth int, top, untilDelim bool) ([]*dicom.Element, int, error) {
	if depth > maxDepth {
		return nil, pos, malformed("sequences nested more than %d deep", maxDepth)
	}
	var els []*dicom.Element
	for pos < end {
		if pos+8 > end {
			return nil, pos, malformed("truncated element header at byte %d", pos)
		}
		if r.bo.Uint16(r.b[pos:]) == 0xFFFE {
			if r.bo.Uint16(r.b[pos+2:]) == 0xE00D && untilDelim {
				if r.bo.Uint32(r.b[pos+4:]) != 0 {
					return nil, pos, malformed("item delimiter with a non-zero length at byte %d", pos)
				}
				return els, pos + 8, nil
			}
			return nil, pos, malformed("unexpected item tag (fffe,%04x) at byte %d", r.bo.Uint16(r.b[pos+2:]), pos)
		}
		el, next, err := r.element(pos, depth)
		if err != nil {
			return nil, pos, err
		}
		if next > end {
			return nil, pos, malformed("element (%04x,%04x) runs past its item", el.Tag.Group, el.Tag.Element)
		}
		if el.Tag != tag.PixelData {
			els = append(els, el)
		}
		if top && el.Tag == tag.SpecificCharacterSet {
			names, _ := el.Value.GetValue().([]string)
			cs, err := charset.ParseSpecificCharacterSet(names)
			if err != nil {
				return nil, pos, refuse("SpecificCharacterSet", "%v", err)
			}
			r.dec = cs.Ideographic
		}
		pos = next
	}
	if untilDelim {
		return nil, pos, malformed("an item of undefined length has no delimiter")
	}
	return els, pos, nil
}

// element reads the element at pos (pixel data is returned without value).
func (r *dsReader) element(pos, depth int) (*dicom.Element, int, error) {
	b := r.b
	if pos+8 > len(b) {
		return nil, pos, malformed("truncated element header at byte %d", pos)
	}
	bo, explicit := r.bo, r.explicit
	t := tag.Tag{Group: bo.Uint16(b[pos:]), Element: bo.Uint16(b[pos+2:])}
	var vr string
	var vl uint32
	hdr := 8
	if explicit {
		vr = string(b[pos+4 : pos+6])
		if longVR(vr) {
			if pos+12 > len(b) {
				return nil, pos, malformed("element (%04x,%04x) is cut short", t.Group, t.Element)
			}
			vl, hdr = bo.Uint32(b[pos+8:]), 12
		} else {
			vl = uint32(bo.Uint16(b[pos+6:]))
		}
	} else {
		vl = bo.Uint32(b[pos+4:])
		vr = "UN"
		if info, err := tag.Find(t); err == nil && len(info.VRs) > 0 {
			vr = info.VRs[0]
		}
		if t == tag.PixelData || t == tag.OverlayData {
			vr = "OW"
		}
	}
	pos += hdr
	mk := func(v any, next int) (*dicom.Element, int, error) {
		val, err := dicom.NewValue(v)
		if err != nil {
			return nil, pos, malformed("element (%04x,%04x): %v", t.Group, t.Element, err)
		}
		return &dicom.Element{Tag: t, ValueRepresentation: tag.GetVRKind(t, vr), RawValueRepresentation: vr, ValueLength: vl, Value: val}, next, nil
	}
	if t == tag.PixelData && r.partial && depth == 0 && (vl == undefinedLength || int64(vl) > int64(len(b)-pos)) {
		// The rest of the file is pixel data, not read; a file shorter
		// than its pixel data is still refused as truncated.
		if vl != undefinedLength && r.base+int64(pos)+int64(vl) > r.size {
			return nil, pos, malformed("pixel data announces %d bytes, the file ends before", vl)
		}
		return mk([]byte{}, len(b))
	}
	if vl == undefinedLength {
		switch {
		case t == tag.PixelData, vr == "OB", vr == "OW":
			// Encapsulated pixel data (or a byte value in fragments):
			// skip the fragments.
			next, err := r.skipFragments(pos)
			if err != nil {
				return nil, pos, err
			}
			return mk([]byte{}, next)
		case vr == "SQ", vr == "UN":
			items, next, err := r.sequence(pos, vl, depth+1)
			if err != nil {
				return nil, pos, err
			}
			return mk(items, next)
		}
		return nil, pos, malformed("element (%04x,%04x) of VR %q has an undefined length", t.Group, t.Element, vr)
	}
	if int64(vl) > int64(len(b)-pos) {
		return nil, pos, malformed("element (%04x,%04x) announces %d bytes, %d are left", t.Group, t.Element, vl, len(b)-pos)
	}
	next := pos + int(vl)
	raw := b[pos:next]
	switch tag.GetVRKind(t, vr) {
	case tag.VRSequence:
		items, end, err := r.sequence(pos, vl, depth+1)
		if err != nil {
			return nil, pos, err
		}
		if end != next {
			return nil, pos, malformed("sequence (%04x,%04x) items do not fill its length", t.Group, t.Element)
		}
		return mk(items, next)
	case tag.VRPixelData:
		return mk([]byte{}, next)
	case tag.VRBytes, tag.VRUnknown, tag.VRItem:
		return mk(raw, next)
	case tag.VRDate:
		s, err := r.decode(raw)
		if err != nil {
			return nil, pos, malformed("element (%04x,%04x): %v", t.Group, t.Element, err)
		}
		return mk([]string{strings.Trim(s, " \x00")}, next)
	case tag.VRUInt16List, tag.VRUInt32List, tag.VRInt16List, tag.VRInt32List, tag.VRTagList:
		ints, err := readInts(raw, vr, bo)
		if err != nil {
			return nil, pos, malformed("element (%04x,%04x): %v", t.Group, t.Element, err)
		}
		return mk(ints, next)
	case tag.VRFloat32List, tag.VRFloat64List:
		fs, err := readFloats(raw, vr, bo)
		if err != nil {
			return nil, pos, malformed("element (%04x,%04x): %v", t.Group, t.Element, err)
		}
		return mk(fs, next)
	}
	s, err := r.decode(raw)
	if err != nil {
		return nil, pos, malformed("element (%04x,%04x): %v", t.Group, t.Element, err)
	}
	if strings.TrimFunc(s, unicode.IsSpace) != "" {
		s = strings.Trim(s, " \x00")
	}
	if strings.IndexByte(s, '\\') < 0 {
		return mk([]string{s}, next)
	}
	return mk(strings.Split(s, `\`), next)
}

// decode turns a string value into UTF-8 with the dataset's character set.
func (r *dsReader) decode(raw []byte) (string, error) {
	if len(raw) == 0 || r.dec == nil || isASCII(raw) {
		// Every character set DICOM allows leaves ASCII unchanged (ISO
		// 2022 escape sequences start with ESC, excluded here).
		return string(raw), nil
	}
	out, err := r.dec.Bytes(raw)
	return string(out), err
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 || c == 0x1b {
			return false
		}
	}
	return true
}

// skipFragments skips the items of encapsulated pixel data up to its
// sequence delimiter.
func (r *dsReader) skipFragments(pos int) (int, error) {
	for {
		if pos+8 > len(r.b) {
			return pos, malformed("encapsulated pixel data without its delimiter")
		}
		g, e := r.bo.Uint16(r.b[pos:]), r.bo.Uint16(r.b[pos+2:])
		vl := r.bo.Uint32(r.b[pos+4:])
		pos += 8
		switch {
		case g == 0xFFFE && e == 0xE0DD && vl == 0:
			return pos, nil
		case g == 0xFFFE && e == 0xE000 && vl != undefinedLength && int64(vl) <= int64(len(r.b)-pos):
			pos += int(vl)
		default:
			return pos, malformed("bad fragment in encapsulated pixel data")
		}
	}
}

// sequence reads the items of a sequence starting at pos.
func (r *dsReader) sequence(pos int, vl uint32, depth int) ([][]*dicom.Element, int, error) {
	end := len(r.b)
	if vl != undefinedLength {
		end = pos + int(vl)
	}
	items := [][]*dicom.Element{}
	for pos < end {
		if pos+8 > end {
			return nil, pos, malformed("truncated sequence item header at byte %d", pos)
		}
		g, e := r.bo.Uint16(r.b[pos:]), r.bo.Uint16(r.b[pos+2:])
		ivl := r.bo.Uint32(r.b[pos+4:])
		pos += 8
		switch {
		case g == 0xFFFE && e == 0xE0DD && vl == undefinedLength && ivl == 0:
			return items, pos, nil
		case g == 0xFFFE && e == 0xE000:
			var els []*dicom.Element
			var err error
			if ivl == undefinedLength {
				els, pos, err = r.elements(pos, end, depth, false, true)
			} else {
				if int64(ivl) > int64(end-pos) {
					return nil, pos, malformed("sequence item announces %d bytes, %d are left", ivl, end-pos)
				}
				els, pos, err = r.elements(pos, pos+int(ivl), depth, false, false)
			}
			if err != nil {
				return nil, pos, err
			}
			if els == nil {
				els = []*dicom.Element{}
			}
			items = append(items, els)
		default:
			return nil, pos, malformed("expected a sequence item, found (%04x,%04x)", g, e)
		}
	}
	if vl == undefinedLength {
		return nil, pos, malformed("a sequence of undefined length has no delimiter")
	}
	return items, pos, nil
}

func readInts(raw []byte, vr string, bo binary.ByteOrder) ([]int, error) {
	size := 2
	if vr == "UL" || vr == "SL" {
		size = 4
	}
	if len(raw)%size != 0 {
		return nil, errLength(vr, len(raw))
	}
	out := make([]int, 0, len(raw)/size)
	for i := 0; i < len(raw); i += size {
		switch vr {
		case "UL":
			out = append(out, int(bo.Uint32(raw[i:])))
		case "SL":
			out = append(out, int(int32(bo.Uint32(raw[i:]))))
		case "SS":
			out = append(out, int(int16(bo.Uint16(raw[i:]))))
		default: // US, AT
			out = append(out, int(bo.Uint16(raw[i:])))
		}
	}
	return out, nil
}

func readFloats(raw []byte, vr string, bo binary.ByteOrder) ([]float64, error) {
	size := 8
	if vr == "FL" {
		size = 4
	}
	if len(raw)%size != 0 {
		return nil, errLength(vr, len(raw))
	}
	out := make([]float64, 0, len(raw)/size)
	for i := 0; i < len(raw); i += size {
		if size == 4 {
			// Widened through its shortest decimal form, as the library
			// does, so that 0.15 stays 0.15.
			f32 := math.Float32frombits(bo.Uint32(raw[i:]))
			f, _ := strconv.ParseFloat(strconv.FormatFloat(float64(f32), 'g', -1, 32), 64)
			out = append(out, f)
			continue
		}
		out = append(out, math.Float64frombits(bo.Uint64(raw[i:])))
	}
	return out, nil
}

type lengthError struct {
	vr string
	n  int
}

func (e lengthError) Error() string { return "a " + e.vr + " value of " + strconv.Itoa(e.n) + " bytes" }

func errLength(vr string, n int) error { return lengthError{vr, n} }
