// Package dimse is a DICOM upper-layer acceptor (PS3.8) with the DIMSE
// services a store receiver needs (PS3.7: C-ECHO, C-STORE): modalities and
// PACS open an association, negotiate presentation contexts and send
// instances, and a Handler decides what becomes of each. It knows nothing
// of dose reports: the caller says which abstract and transfer syntaxes it
// takes, which calling AE titles it admits, and what a stored instance
// does.
//
// No Go DIMSE library is installable: the protocol is written here, small
// and by the standard: the PDUs (pdu.go), the association state machine
// of PS3.8 §9.2 for an acceptor (state.go), the DIMSE command sets in
// implicit VR little endian (command.go) and the server (server.go).
package dimse

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// PDU types (PS3.8 §9.3.1).
const (
	TypeAssociateRQ byte = 0x01
	TypeAssociateAC byte = 0x02
	TypeAssociateRJ byte = 0x03
	TypePDataTF     byte = 0x04
	TypeReleaseRQ   byte = 0x05
	TypeReleaseRP   byte = 0x06
	TypeAbort       byte = 0x07
)

// Item types of A-ASSOCIATE-RQ/AC (PS3.8 §9.3.2, §9.3.3, Annex D).
const (
	itemAppContext    byte = 0x10
	itemPresContextRQ byte = 0x20
	itemPresContextAC byte = 0x21
	itemAbstract      byte = 0x30
	itemTransfer      byte = 0x40
	itemUserInfo      byte = 0x50
	itemMaxLength     byte = 0x51
	itemImplClass     byte = 0x52
	itemImplVersion   byte = 0x55
)

// ApplicationContext is the DICOM application context name, the only one.
const ApplicationContext = "1.2.840.10008.3.1.1.1"

// Presentation context results of an A-ASSOCIATE-AC (PS3.8 §9.3.3.2).
const (
	PCAccepted                 byte = 0
	PCUserRejection            byte = 1
	PCNoReason                 byte = 2
	PCAbstractNotSupported     byte = 3
	PCTransferSyntaxesRejected byte = 4
)

// ErrMalformed is wrapped by every error of a PDU that does not follow
// PS3.8: the association is aborted (A-ABORT, invalid PDU).
var ErrMalformed = errors.New("dimse: malformed PDU")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// PresentationContext is one context of an A-ASSOCIATE-RQ (proposed: one
// abstract syntax, the transfer syntaxes offered) or of an
// A-ASSOCIATE-AC (Result, and the one transfer syntax chosen).
type PresentationContext struct {
	ID               byte
	AbstractSyntax   string   // RQ only
	TransferSyntaxes []string // RQ: proposed; AC: the chosen one when accepted
	Result           byte     // AC only
}

// UserItem is a user-information sub-item Vigie does not interpret
// (asynchronous operations, role selection, extended negotiation, user
// identity): kept as read.
type UserItem struct {
	Type byte
	Data []byte
}

// Associate is an A-ASSOCIATE-RQ or A-ASSOCIATE-AC PDU.
type Associate struct {
	Type               byte // TypeAssociateRQ or TypeAssociateAC
	ProtocolVersion    uint16
	CalledAE           string
	CallingAE          string
	ApplicationContext string
	Contexts           []PresentationContext
	// MaxLength is the largest P-DATA-TF PDU the sender receives (0: no
	// limit).
	MaxLength             uint32
	ImplementationClass   string
	ImplementationVersion string
	OtherUserItems        []UserItem
}

// Reject is an A-ASSOCIATE-RJ PDU (PS3.8 §9.3.4): Result 1 permanent or
// 2 transient; Source 1 service user, 2 service provider (ACSE), 3
// service provider (presentation); Reason depends on Source.
type Reject struct {
	Result, Source, Reason byte
}

// Rejections Vigie answers with.
var (
	RejectCallingAE      = Reject{Result: 1, Source: 1, Reason: 3}
	RejectCalledAE       = Reject{Result: 1, Source: 1, Reason: 7}
	RejectAppContext     = Reject{Result: 1, Source: 1, Reason: 2}
	RejectNoReason       = Reject{Result: 1, Source: 1, Reason: 1}
	RejectProtocol       = Reject{Result: 1, Source: 2, Reason: 2}
	RejectLocalLimit     = Reject{Result: 2, Source: 3, Reason: 2}
	RejectTemporaryLimit = Reject{Result: 2, Source: 3, Reason: 1}
)

// Error describes the rejection in words, for logs.
func (r Reject) Error() string {
	why := map[[2]byte]string{
		{1, 1}: "no reason given", {1, 2}: "application context name not supported",
		{1, 3}: "calling AE title not recognised", {1, 7}: "called AE title not recognised",
		{2, 1}: "no reason given", {2, 2}: "protocol version not supported",
		{3, 1}: "temporary congestion", {3, 2}: "local limit exceeded",
	}[[2]byte{r.Source, r.Reason}]
	if why == "" {
		why = fmt.Sprintf("source %d reason %d", r.Source, r.Reason)
	}
	kind := "permanent"
	if r.Result == 2 {
		kind = "transient"
	}
	return fmt.Sprintf("association rejected (%s): %s", kind, why)
}

// Abort is an A-ABORT PDU: Source 0 service user, 2 service provider;
// Reason (provider only) 0 not specified, 1 unrecognised PDU, 2 unexpected
// PDU, 4 unrecognised PDU parameter, 5 unexpected PDU parameter, 6
// invalid PDU parameter value.
type Abort struct {
	Source, Reason byte
}

// PDV is one presentation data value of a P-DATA-TF: a fragment of a
// command or a data set.
type PDV struct {
	Context byte
	Command bool // a command fragment, else a data set fragment
	Last    bool // the last fragment of its command or data set
	Data    []byte
}

// PData is a P-DATA-TF PDU.
type PData struct {
	Items []PDV
}

// ReleaseRQ and ReleaseRP are the A-RELEASE PDUs.
type (
	ReleaseRQ struct{}
	ReleaseRP struct{}
)

// ReadPDU reads one PDU of at most maxLength bytes after its 6-byte
// header (a larger one is refused before anything is allocated for it).
// buf, when large enough, holds the PDU's body: a P-DATA-TF's fragments
// point into it and are valid until the next call with the same buf. The
// value is *Associate, *Reject, *PData, *ReleaseRQ, *ReleaseRP or *Abort.
// An unknown PDU type or a body that breaks PS3.8 wraps ErrMalformed.
func ReadPDU(r io.Reader, maxLength uint32, buf []byte) (any, error) {
	var h [6]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(h[2:])
	if n > maxLength {
		return nil, malformed("PDU type %#02x of %d bytes, more than the %d agreed", h[0], n, maxLength)
	}
	if h[0] < TypeAssociateRQ || h[0] > TypeAbort {
		return nil, malformed("unknown PDU type %#02x", h[0])
	}
	if uint32(cap(buf)) < n {
		buf = make([]byte, n)
	}
	b := buf[:n]
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return ParsePDU(h[0], b)
}

// ParsePDU decodes the body of a PDU of type t (the bytes after its
// 6-byte header).
func ParsePDU(t byte, b []byte) (any, error) {
	switch t {
	case TypeAssociateRQ, TypeAssociateAC:
		return parseAssociate(t, b)
	case TypeAssociateRJ:
		if len(b) != 4 {
			return nil, malformed("A-ASSOCIATE-RJ of %d bytes, want 4", len(b))
		}
		return &Reject{Result: b[1], Source: b[2], Reason: b[3]}, nil
	case TypePDataTF:
		return parsePData(b)
	case TypeReleaseRQ, TypeReleaseRP:
		if len(b) != 4 {
			return nil, malformed("A-RELEASE PDU of %d bytes, want 4", len(b))
		}
		if t == TypeReleaseRQ {
			return &ReleaseRQ{}, nil
		}
		return &ReleaseRP{}, nil
	case TypeAbort:
		if len(b) != 4 {
			return nil, malformed("A-ABORT of %d bytes, want 4", len(b))
		}
		return &Abort{Source: b[2], Reason: b[3]}, nil
	}
	return nil, malformed("unknown PDU type %#02x", t)
}

func parsePData(b []byte) (*PData, error) {
	p := &PData{}
	for len(b) > 0 {
		if len(b) < 6 {
			return nil, malformed("P-DATA-TF: %d bytes left, too few for a PDV item", len(b))
		}
		n := binary.BigEndian.Uint32(b)
		if n < 2 || uint64(n) > uint64(len(b)-4) {
			return nil, malformed("P-DATA-TF: PDV item length %d with %d bytes left", n, len(b)-4)
		}
		mch := b[5]
		if mch&^3 != 0 {
			return nil, malformed("P-DATA-TF: message control header %#02x", mch)
		}
		p.Items = append(p.Items, PDV{Context: b[4], Command: mch&1 != 0, Last: mch&2 != 0, Data: b[6 : 4+n]})
		b = b[4+n:]
	}
	if len(p.Items) == 0 {
		return nil, malformed("P-DATA-TF without PDV item")
	}
	return p, nil
}

// aeTitle reads a 16-byte AE title field: leading and trailing spaces are
// not significant (PS3.8 §9.3.2).
func aeTitle(b []byte) string { return strings.Trim(string(b), " \x00") }

// uid reads a UID item value (a trailing NUL pad is tolerated).
func uid(b []byte) string { return strings.TrimRight(string(b), "\x00 ") }

func parseAssociate(t byte, b []byte) (*Associate, error) {
	name := "A-ASSOCIATE-RQ"
	if t == TypeAssociateAC {
		name = "A-ASSOCIATE-AC"
	}
	if len(b) < 68 {
		return nil, malformed("%s of %d bytes, fewer than its 68 fixed ones", name, len(b))
	}
	a := &Associate{Type: t, ProtocolVersion: binary.BigEndian.Uint16(b), CalledAE: aeTitle(b[4:20]), CallingAE: aeTitle(b[20:36])}
	err := items(b[68:], name, func(it byte, v []byte) error {
		switch it {
		case itemAppContext:
			a.ApplicationContext = uid(v)
		case itemPresContextRQ, itemPresContextAC:
			if (it == itemPresContextRQ) != (t == TypeAssociateRQ) {
				return malformed("%s: presentation context item %#02x", name, it)
			}
			if len(v) < 4 {
				return malformed("%s: presentation context of %d bytes", name, len(v))
			}
			pc := PresentationContext{ID: v[0]}
			if t == TypeAssociateAC {
				pc.Result = v[2]
			}
			err := items(v[4:], name+" presentation context", func(st byte, sv []byte) error {
				switch st {
				case itemAbstract:
					pc.AbstractSyntax = uid(sv)
				case itemTransfer:
					pc.TransferSyntaxes = append(pc.TransferSyntaxes, uid(sv))
				default:
					return malformed("%s: presentation context %d: sub-item %#02x", name, pc.ID, st)
				}
				return nil
			})
			if err != nil {
				return err
			}
			if t == TypeAssociateRQ && (pc.AbstractSyntax == "" || len(pc.TransferSyntaxes) == 0) {
				return malformed("%s: presentation context %d without abstract or transfer syntax", name, pc.ID)
			}
			a.Contexts = append(a.Contexts, pc)
		case itemUserInfo:
			return items(v, name+" user information", func(st byte, sv []byte) error {
				switch st {
				case itemMaxLength:
					if len(sv) != 4 {
						return malformed("%s: maximum length item of %d bytes", name, len(sv))
					}
					a.MaxLength = binary.BigEndian.Uint32(sv)
				case itemImplClass:
					a.ImplementationClass = uid(sv)
				case itemImplVersion:
					a.ImplementationVersion = strings.TrimRight(string(sv), " \x00")
				default:
					a.OtherUserItems = append(a.OtherUserItems, UserItem{Type: st, Data: append([]byte(nil), sv...)})
				}
				return nil
			})
		default:
			return malformed("%s: item type %#02x", name, it)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// items walks the variable items of b: type (1 byte), reserved (1),
// length (2, big endian), value.
func items(b []byte, where string, fn func(t byte, v []byte) error) error {
	for len(b) > 0 {
		if len(b) < 4 {
			return malformed("%s: %d bytes left, too few for an item header", where, len(b))
		}
		n := int(binary.BigEndian.Uint16(b[2:]))
		if n > len(b)-4 {
			return malformed("%s: item %#02x of %d bytes with %d left", where, b[0], n, len(b)-4)
		}
		if err := fn(b[0], b[4:4+n]); err != nil {
			return err
		}
		b = b[4+n:]
	}
	return nil
}

// AppendPDU appends the encoding of p (*Associate, *Reject, *PData,
// *ReleaseRQ, *ReleaseRP or *Abort) to dst.
func AppendPDU(dst []byte, p any) ([]byte, error) {
	start := len(dst)
	var t byte
	dst = append(dst, 0, 0, 0, 0, 0, 0)
	switch p := p.(type) {
	case *Associate:
		t = p.Type
		if t != TypeAssociateRQ && t != TypeAssociateAC {
			return nil, fmt.Errorf("dimse: Associate of type %#02x", t)
		}
		dst = binary.BigEndian.AppendUint16(dst, p.ProtocolVersion)
		dst = append(dst, 0, 0)
		dst = appendAE(dst, p.CalledAE)
		dst = appendAE(dst, p.CallingAE)
		dst = append(dst, make([]byte, 32)...)
		dst = appendItem(dst, itemAppContext, []byte(p.ApplicationContext))
		for _, pc := range p.Contexts {
			var v []byte
			if t == TypeAssociateRQ {
				v = append(v, pc.ID, 0, 0, 0)
				v = appendItem(v, itemAbstract, []byte(pc.AbstractSyntax))
			} else {
				v = append(v, pc.ID, 0, pc.Result, 0)
			}
			for _, ts := range pc.TransferSyntaxes {
				v = appendItem(v, itemTransfer, []byte(ts))
			}
			it := itemPresContextRQ
			if t == TypeAssociateAC {
				it = itemPresContextAC
			}
			dst = appendItem(dst, it, v)
		}
		var u []byte
		u = appendItem(u, itemMaxLength, binary.BigEndian.AppendUint32(nil, p.MaxLength))
		if p.ImplementationClass != "" {
			u = appendItem(u, itemImplClass, []byte(p.ImplementationClass))
		}
		for _, it := range p.OtherUserItems {
			u = appendItem(u, it.Type, it.Data)
		}
		if p.ImplementationVersion != "" {
			u = appendItem(u, itemImplVersion, []byte(p.ImplementationVersion))
		}
		dst = appendItem(dst, itemUserInfo, u)
	case *Reject:
		t = TypeAssociateRJ
		dst = append(dst, 0, p.Result, p.Source, p.Reason)
	case *PData:
		t = TypePDataTF
		for _, v := range p.Items {
			dst = binary.BigEndian.AppendUint32(dst, uint32(len(v.Data)+2))
			var mch byte
			if v.Command {
				mch |= 1
			}
			if v.Last {
				mch |= 2
			}
			dst = append(dst, v.Context, mch)
			dst = append(dst, v.Data...)
		}
	case *ReleaseRQ:
		t = TypeReleaseRQ
		dst = append(dst, 0, 0, 0, 0)
	case *ReleaseRP:
		t = TypeReleaseRP
		dst = append(dst, 0, 0, 0, 0)
	case *Abort:
		t = TypeAbort
		dst = append(dst, 0, 0, p.Source, p.Reason)
	default:
		return nil, fmt.Errorf("dimse: %T is not a PDU", p)
	}
	dst[start] = t
	binary.BigEndian.PutUint32(dst[start+2:], uint32(len(dst)-start-6))
	return dst, nil
}

func appendAE(dst []byte, ae string) []byte {
	var f [16]byte
	copy(f[:], ae)
	for i := len(ae); i < 16; i++ {
		f[i] = ' '
	}
	return append(dst, f[:]...)
}

func appendItem(dst []byte, t byte, v []byte) []byte {
	dst = append(dst, t, 0)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(v)))
	return append(dst, v...)
}
