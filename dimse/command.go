package dimse

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Command fields (PS3.7 §E.1).
const (
	CStoreRQ  uint16 = 0x0001
	CStoreRSP uint16 = 0x8001
	CEchoRQ   uint16 = 0x0030
	CEchoRSP  uint16 = 0x8030
)

// NoDataSet is the CommandDataSetType of a message without a data set.
const NoDataSet uint16 = 0x0101

// Status codes (PS3.7 Annex C, PS3.4 §B.2.3).
const (
	StatusSuccess uint16 = 0x0000
	// StatusCoercion: stored, some attributes coerced (B000 is "Coercion
	// of data elements").
	StatusCoercion uint16 = 0xB000
	// StatusOutOfResources: refused, out of resources; send again later.
	StatusOutOfResources uint16 = 0xA700
	// StatusDataSetMismatch: refused, the data set does not match the SOP
	// class.
	StatusDataSetMismatch uint16 = 0xA900
	// StatusCannotUnderstand: the data set cannot be understood.
	StatusCannotUnderstand uint16 = 0xC000
	// StatusProcessingFailure: a failure of the receiver; send again.
	StatusProcessingFailure uint16 = 0x0110
	// StatusSOPClassNotSupported: the SOP class was not negotiated.
	StatusSOPClassNotSupported uint16 = 0x0122
	// StatusUnrecognizedOperation: a command the receiver does not serve.
	StatusUnrecognizedOperation uint16 = 0x0211
)

// Command is a DIMSE command set (group 0000) of the messages Vigie
// serves: C-ECHO and C-STORE requests and responses.
type Command struct {
	Field               uint16 // CommandField (0000,0100)
	AffectedSOPClass    string // (0000,0002)
	MessageID           uint16 // (0000,0110), requests
	RespondedTo         uint16 // (0000,0120), responses
	Priority            uint16 // (0000,0700), C-STORE-RQ
	DataSetType         uint16 // (0000,0800): NoDataSet, or another value when a data set follows
	Status              uint16 // (0000,0900), responses
	ErrorComment        string // (0000,0902), a failed response's reason (LO, 64 characters)
	AffectedSOPInstance string // (0000,1000)
	MoveOriginatorAE    string // (0000,1030), C-STORE-RQ of a C-MOVE
	MoveOriginatorID    uint16 // (0000,1031)
}

// HasDataSet reports whether a data set follows the command.
func (c *Command) HasDataSet() bool { return c.DataSetType != NoDataSet }

// Command element tags, as (group<<16 | element).
const (
	tCommandGroupLength = 0x00000000
	tAffectedSOPClass   = 0x00000002
	tCommandField       = 0x00000100
	tMessageID          = 0x00000110
	tRespondedTo        = 0x00000120
	tPriority           = 0x00000700
	tDataSetType        = 0x00000800
	tStatus             = 0x00000900
	tOffendingElement   = 0x00000901
	tErrorComment       = 0x00000902
	tErrorID            = 0x00000903
	tAffectedInstance   = 0x00001000
	tMoveOriginatorAE   = 0x00001030
	tMoveOriginatorID   = 0x00001031
)

// MaxErrorComment is the most characters of an Error Comment (LO).
const MaxErrorComment = 64

// ParseCommand decodes a command set in implicit VR little endian (PS3.7
// §6.3.1). Elements it does not use are skipped; a truncated element, an
// element outside group 0000 or a command without CommandField is
// refused.
func ParseCommand(b []byte) (*Command, error) {
	c := &Command{DataSetType: NoDataSet}
	seen := false
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, fmt.Errorf("dimse: command set: %d bytes left, too few for an element", len(b))
		}
		group, elem := binary.LittleEndian.Uint16(b), binary.LittleEndian.Uint16(b[2:])
		n := binary.LittleEndian.Uint32(b[4:])
		if group != 0 {
			return nil, fmt.Errorf("dimse: command set: element (%04x,%04x) outside group 0000", group, elem)
		}
		if uint64(n) > uint64(len(b)-8) {
			return nil, fmt.Errorf("dimse: command set: element (0000,%04x) of %d bytes with %d left", elem, n, len(b)-8)
		}
		v := b[8 : 8+n]
		b = b[8+n:]
		us := func() (uint16, error) {
			if len(v) != 2 {
				return 0, fmt.Errorf("dimse: command set: (0000,%04x) is %d bytes, want 2 (US)", elem, len(v))
			}
			return binary.LittleEndian.Uint16(v), nil
		}
		var err error
		switch uint32(elem) {
		case tAffectedSOPClass:
			c.AffectedSOPClass = uid(v)
		case tCommandField:
			c.Field, err = us()
			seen = true
		case tMessageID:
			c.MessageID, err = us()
		case tRespondedTo:
			c.RespondedTo, err = us()
		case tPriority:
			c.Priority, err = us()
		case tDataSetType:
			c.DataSetType, err = us()
		case tStatus:
			c.Status, err = us()
		case tErrorComment:
			c.ErrorComment = strings.TrimRight(string(v), " \x00")
		case tAffectedInstance:
			c.AffectedSOPInstance = uid(v)
		case tMoveOriginatorAE:
			c.MoveOriginatorAE = strings.TrimSpace(string(v))
		case tMoveOriginatorID:
			c.MoveOriginatorID, err = us()
		}
		if err != nil {
			return nil, err
		}
	}
	if !seen {
		return nil, fmt.Errorf("dimse: command set without CommandField (0000,0100)")
	}
	return c, nil
}

// Encode returns the command set in implicit VR little endian, its
// elements in tag order after the group length. Only the elements the
// command field uses are written: a request carries MessageID (and a
// C-STORE-RQ its priority and instance), a response MessageIDBeingRespondedTo
// and Status, and ErrorComment when set.
func (c *Command) Encode() []byte {
	rsp := c.Field&0x8000 != 0
	store := c.Field == CStoreRQ || c.Field == CStoreRSP
	var b []byte
	str := func(tag uint32, s string, pad byte) {
		if len(s)%2 == 1 {
			s += string(pad)
		}
		b = binary.LittleEndian.AppendUint16(b, uint16(tag>>16))
		b = binary.LittleEndian.AppendUint16(b, uint16(tag))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	us := func(tag uint32, v uint16) {
		b = binary.LittleEndian.AppendUint16(b, uint16(tag>>16))
		b = binary.LittleEndian.AppendUint16(b, uint16(tag))
		b = binary.LittleEndian.AppendUint32(b, 2)
		b = binary.LittleEndian.AppendUint16(b, v)
	}
	if c.AffectedSOPClass != "" {
		str(tAffectedSOPClass, c.AffectedSOPClass, 0)
	}
	us(tCommandField, c.Field)
	if rsp {
		us(tRespondedTo, c.RespondedTo)
	} else {
		us(tMessageID, c.MessageID)
	}
	if c.Field == CStoreRQ {
		us(tPriority, c.Priority)
	}
	us(tDataSetType, c.DataSetType)
	if rsp {
		us(tStatus, c.Status)
		if c.ErrorComment != "" {
			str(tErrorComment, ErrorComment(c.ErrorComment), ' ')
		}
	}
	if store && c.AffectedSOPInstance != "" {
		str(tAffectedInstance, c.AffectedSOPInstance, 0)
	}
	if c.Field == CStoreRQ && c.MoveOriginatorAE != "" {
		str(tMoveOriginatorAE, c.MoveOriginatorAE, ' ')
		us(tMoveOriginatorID, c.MoveOriginatorID)
	}
	out := make([]byte, 0, 12+len(b))
	out = binary.LittleEndian.AppendUint32(out, tCommandGroupLength)
	out = binary.LittleEndian.AppendUint32(out, 4)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(b)))
	return append(out, b...)
}

// ErrorComment makes msg a valid Error Comment: DICOM's default character
// repertoire (bytes outside printable ASCII, and the backslash LO
// forbids, become '?'), cut to 64 characters with an ellipsis.
func ErrorComment(msg string) string {
	b := make([]byte, 0, min(len(msg), MaxErrorComment))
	for i := 0; i < len(msg) && len(b) < MaxErrorComment; i++ {
		c := msg[i]
		if c < 0x20 || c > 0x7e || c == '\\' {
			c = '?'
		}
		b = append(b, c)
	}
	if len(msg) > MaxErrorComment {
		b = append(b[:MaxErrorComment-3], "..."...)
	}
	return string(b)
}
