package ingest

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"io"
	"strings"

	"github.com/suyashkumar/dicom/pkg/tag"
)

// maxInflated bounds the dataset of a deflated file once inflated: a dose
// report is a few MB at most, and a "zip bomb" must not exhaust memory.
const maxInflated = 256 << 20

const undefinedLength = 0xFFFFFFFF

// checkLengths walks every element header of a Part-10 object (file meta,
// then the dataset in its transfer syntax) and refuses an element whose
// value length runs past the end of the data. The DICOM library allocates a
// value's buffer from its announced length before reading it, so a few
// hostile bytes announcing 4 GB would otherwise exhaust memory: this check
// keeps every allocation within the size of the file.
func checkLengths(data []byte) error {
	pos := 132
	ts := ""
	le := binary.LittleEndian
	for pos+8 <= len(data) && le.Uint16(data[pos:]) == 0x0002 {
		elem := le.Uint16(data[pos+2:])
		vr := string(data[pos+4 : pos+6])
		vl, hdr := uint64(le.Uint16(data[pos+6:])), 8
		if longVR(vr) {
			if pos+12 > len(data) {
				return refuse("file", "malformed DICOM: file meta element (0002,%04x) is cut short", elem)
			}
			vl, hdr = uint64(le.Uint32(data[pos+8:])), 12
		}
		if uint64(pos+hdr)+vl > uint64(len(data)) {
			return refuse("file", "malformed DICOM: file meta element (0002,%04x) announces %d bytes past the end of the file", elem, vl)
		}
		if elem == 0x0010 {
			ts = strings.Trim(string(data[pos+hdr:pos+hdr+int(vl)]), " \x00")
		}
		pos += hdr + int(vl)
	}
	body := data[min(pos, len(data)):]
	var bo binary.ByteOrder = le
	explicit := true
	switch ts {
	case "1.2.840.10008.1.2":
		explicit = false
	case "1.2.840.10008.1.2.2":
		bo = binary.BigEndian
	case "1.2.840.10008.1.2.1.99":
		inflated, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(body)), maxInflated+1))
		if err != nil {
			return refuse("file", "malformed DICOM: the deflated dataset cannot be inflated: %v", err)
		}
		if len(inflated) > maxInflated {
			return refuse("file", "the deflated dataset inflates past %d MB", maxInflated>>20)
		}
		body = inflated
	}
	return scanLengths(body, bo, explicit)
}

// longVR reports whether an explicit VR has a 4-byte length (as the DICOM
// library reads it).
func longVR(vr string) bool {
	switch vr {
	case "NA", "OB", "OD", "OF", "OL", "OW", "SQ", "UN", "UC", "UR", "UT":
		return true
	}
	return false
}

// scanLengths walks a dataset's elements in order, entering sequences and
// items (whose content follows inline) and skipping every other value after
// checking its length against what is left.
func scanLengths(b []byte, bo binary.ByteOrder, explicit bool) error {
	fragments := false // inside encapsulated pixel data: items hold raw bytes
	pos := 0
	for pos < len(b) {
		if pos+8 > len(b) {
			return refuse("file", "malformed DICOM: truncated element header at byte %d of the dataset", pos)
		}
		g, e := bo.Uint16(b[pos:]), bo.Uint16(b[pos+2:])
		rest := func(hdr int) uint64 { return uint64(len(b) - pos - hdr) }
		if g == 0xFFFE {
			vl := uint64(bo.Uint32(b[pos+4:]))
			switch {
			case e == 0xE000 && fragments:
				if vl == undefinedLength || vl > rest(8) {
					return refuse("file", "malformed DICOM: pixel data fragment announces %d bytes past the end of the file", vl)
				}
				pos += int(vl)
			case e == 0xE000 && vl != undefinedLength && vl > rest(8):
				return refuse("file", "malformed DICOM: sequence item announces %d bytes past the end of the file", vl)
			case e == 0xE0DD:
				fragments = false
			}
			pos += 8
			continue
		}
		var vr string
		var vl uint64
		hdr := 8
		if explicit {
			vr = string(b[pos+4 : pos+6])
			if longVR(vr) {
				if pos+12 > len(b) {
					return refuse("file", "malformed DICOM: element (%04x,%04x) is cut short", g, e)
				}
				vl, hdr = uint64(bo.Uint32(b[pos+8:])), 12
			} else {
				vl = uint64(bo.Uint16(b[pos+6:]))
				if vl == 0xFFFF {
					vl = undefinedLength
				}
			}
		} else {
			vl = uint64(bo.Uint32(b[pos+4:]))
			if info, err := tag.Find(tag.Tag{Group: g, Element: e}); err == nil && len(info.VRs) > 0 {
				vr = info.VRs[0]
			}
		}
		if vl == undefinedLength {
			if g == 0x7FE0 && e == 0x0010 {
				fragments = true
			}
			pos += hdr
			continue
		}
		if vl > rest(hdr) {
			return refuse("file", "malformed DICOM: element (%04x,%04x) announces %d bytes past the end of the file", g, e, vl)
		}
		pos += hdr
		if vr != "SQ" {
			pos += int(vl)
		}
	}
	return nil
}
