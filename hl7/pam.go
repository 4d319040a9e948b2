package hl7

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"vigie"
)

// INSOIDs are the assigning authorities of the national identifier (INS):
// an identifier of PID-3 under one of them is the INS, whatever its type.
var INSOIDs = map[string]string{
	"1.2.250.1.213.1.4.8":  "INS-NIR",
	"1.2.250.1.213.1.4.9":  "INS-NIA",
	"1.2.250.1.213.1.4.10": "INS-NIR test",
	"1.2.250.1.213.1.4.11": "INS-NIR demo",
}

// insC is the OID of the legacy computed INS (INS-C), which some systems
// still send beside the IPP: it is neither an INS Vigie stores nor a local
// identifier, and is passed over.
const insC = "1.2.250.1.213.1.4.2"

// Events that carry an identity, as PAM-FR (IHE ITI-30) uses them.
const (
	EventCreate = "A28" // create a person
	EventUpdate = "A31" // update a person
	EventMerge  = "A40" // merge two local records: PID survives, MRG-1 is retired
	EventChange = "A47" // change of local identifier: MRG-1 old, PID-3 new
	EventLink   = "A24" // link two records (two PID segments)
	EventUnlink = "A37" // unlink two records (two PID segments)
)

// updateEvents are the events whose PID updates the record (admission,
// registration, pre-admission and patient information update carry the
// same PID as A31).
var updateEvents = []string{EventCreate, EventUpdate, "A01", "A04", "A05", "A08"}

// Location is where in a message a problem lies, as an ACK's ERR-2 names
// it: segment, its order among segments of that name (from 1), field,
// component (0: the whole field).
type Location struct {
	Segment   string
	Seq       int
	Field     int
	Component int
}

func (l Location) String() string {
	if l.Segment == "" || l.Field == 0 {
		return l.Segment
	}
	s := fmt.Sprintf("%s-%d", l.Segment, l.Field)
	if l.Component > 0 {
		s += fmt.Sprintf(".%d", l.Component)
	}
	return s
}

// Refusal is why a message is refused: where, the HL7 error code (table
// 0357), the reason, and whether it is a reject (AR: the message itself is
// not acceptable: unknown sender, unsupported type) or an error (AE: its
// content is refused).
type Refusal struct {
	At     Location
	Code   int // 0357: 100 segment sequence, 101 required field missing, 102 data type, 103 table value, 200/201 unsupported type/event, 204 unknown key, 207 application error
	Reason string
	Reject bool
}

func (r *Refusal) Error() string {
	if at := r.At.String(); at != "" {
		return at + ": " + r.Reason
	}
	return r.Reason
}

func refuse(at Location, code int, format string, args ...any) *Refusal {
	return &Refusal{At: at, Code: code, Reason: fmt.Sprintf(format, args...)}
}

// Header is what Vigie reads of MSH.
type Header struct {
	SendingApp      string // MSH-3.1
	SendingFacility string // MSH-4: namespace (component 1)
	FacilityOID     string // MSH-4: universal id (component 2)
	ReceivingApp    string // MSH-5.1
	ReceivingFac    string // MSH-6.1
	Type            string // MSH-9.1, e.g. ADT
	Event           string // MSH-9.2, e.g. A28
	ControlID       string // MSH-10
	Version         string // MSH-12.1
}

// ReadHeader reads MSH.
func ReadHeader(m *Message) Header {
	msh := m.Segments[0]
	return Header{
		SendingApp: msh.Get(3, 1), SendingFacility: msh.Get(4, 1), FacilityOID: msh.Get(4, 2),
		ReceivingApp: msh.Get(5, 1), ReceivingFac: msh.Get(6, 1),
		Type: msh.Get(9, 1), Event: msh.Get(9, 2), ControlID: msh.Get(10, 0), Version: msh.Get(12, 1),
	}
}

// Change is what an identity message asks of the patient index, read and
// checked, before anything is applied.
type Change struct {
	Event string
	// Records are the PID segments read as records, in order: one for
	// A28/A31/A01/A04/A05/A08/A40/A47, two for A24/A37.
	Records []vigie.Record
	// Prior is MRG-1's local record (A40: the record merged into the
	// survivor; A47: the identifier that changed).
	Prior *vigie.SourceKey
}

// ReadChange reads an identity message of the site whose assigning
// authority is authority: every local identifier it carries must be of
// that authority. A message Vigie does not take is a *Refusal saying
// where and why.
func ReadChange(m *Message, authority string) (*Change, error) {
	h := ReadHeader(m)
	if h.Type != "ADT" {
		return nil, &Refusal{At: Location{"MSH", 1, 9, 1}, Code: 200, Reject: true,
			Reason: fmt.Sprintf("message type %q is not an identity feed: Vigie takes ADT messages of PAM-FR (A28, A31, A01, A04, A05, A08, A40, A47, A24, A37)", clip(h.Type))}
	}
	if p := m.Segments[0].Get(11, 1); p != "" && p != "P" {
		return nil, &Refusal{At: Location{"MSH", 1, 11, 1}, Code: 202, Reject: true,
			Reason: fmt.Sprintf("processing id %q: Vigie applies production messages (P) only", clip(p))}
	}
	c := &Change{Event: h.Event}
	pids := m.All("PID")
	want := 1
	switch {
	case slices.Contains(updateEvents, h.Event), h.Event == EventMerge, h.Event == EventChange:
	case h.Event == EventLink, h.Event == EventUnlink:
		want = 2
	default:
		return nil, &Refusal{At: Location{"MSH", 1, 9, 2}, Code: 201, Reject: true,
			Reason: fmt.Sprintf("event ADT^%s is not taken: Vigie takes A28, A31, A01, A04, A05, A08, A40, A47, A24, A37", clip(h.Event))}
	}
	if len(pids) < want {
		return nil, refuse(Location{"PID", len(pids) + 1, 0, 0}, 100, "ADT^%s needs %d PID segment(s), the message has %d", h.Event, want, len(pids))
	}
	for i := range want {
		rec, err := ReadPID(pids[i], i+1, authority)
		if err != nil {
			return nil, err
		}
		c.Records = append(c.Records, rec)
	}
	if h.Event == EventMerge || h.Event == EventChange {
		mrg, ok := m.Segment("MRG")
		if !ok {
			return nil, refuse(Location{"MRG", 1, 0, 0}, 100, "ADT^%s needs an MRG segment naming the prior identifier", h.Event)
		}
		k, err := localID(mrg, Location{"MRG", 1, 1, 0}, authority)
		if err != nil {
			return nil, err
		}
		if k == c.Records[0].Key() {
			return nil, refuse(Location{"MRG", 1, 1, 1}, 102, "the prior identifier is the same as PID-3's")
		}
		c.Prior = &k
	}
	return c, nil
}

// localID returns the identifier of field at.Field of seg that is the
// site's IPP: the repetition whose assigning authority (component 4,
// subcomponent 2) is authority. An INS is skipped.
func localID(seg Segment, at Location, authority string) (vigie.SourceKey, error) {
	var others []string
	noOID := false
	for _, r := range seg.Repetitions(at.Field) {
		id, oid := r.Get(1, 0), r.Get(4, 2)
		if _, ins := INSOIDs[oid]; ins || oid == insC || strings.EqualFold(r.Get(5, 0), "INS") {
			continue
		}
		if oid == "" {
			noOID = noOID || id != ""
			continue
		}
		if oid == authority {
			if id == "" {
				return vigie.SourceKey{}, refuse(Location{at.Segment, at.Seq, at.Field, 1}, 101, "the local identifier is empty")
			}
			return vigie.SourceKey{Authority: authority, LocalID: id}, nil
		}
		others = append(others, oid)
	}
	field := Location{at.Segment, at.Seq, at.Field, 4}
	switch {
	case len(others) > 0:
		r := refuse(field, 204, "no identifier of the sending site's assigning authority (its identifiers are of another authority): a site sends its own patients only")
		r.Reject = true
		return vigie.SourceKey{}, r
	case noOID:
		return vigie.SourceKey{}, refuse(field, 102, "the assigning authority carries no OID (expected NAMESPACE&OID&ISO)")
	}
	return vigie.SourceKey{}, refuse(Location{at.Segment, at.Seq, at.Field, 0}, 101, "no local identifier (IPP with its assigning authority OID)")
}

// ReadPID reads a PID segment (the seq-th of the message) into a record of
// the site whose assigning authority is authority.
func ReadPID(pid Segment, seq int, authority string) (vigie.Record, error) {
	at := func(field, comp int) Location { return Location{"PID", seq, field, comp} }
	k, err := localID(pid, at(3, 0), authority)
	if err != nil {
		return vigie.Record{}, err
	}
	rec := vigie.Record{Authority: k.Authority, LocalID: k.LocalID}
	for _, r := range pid.Repetitions(3) {
		oid := r.Get(4, 2)
		if _, ins := INSOIDs[oid]; !ins {
			if strings.EqualFold(r.Get(5, 0), "INS") && oid != insC {
				return vigie.Record{}, refuse(at(3, 4), 103, "an INS whose assigning authority %q is not an INS OID (INS-NIR 1.2.250.1.213.1.4.8, INS-NIA 1.2.250.1.213.1.4.9)", clip(oid))
			}
			continue
		}
		if rec.INS != "" {
			return vigie.Record{}, refuse(at(3, 1), 102, "more than one INS")
		}
		rec.INS, rec.INSOID = r.Get(1, 0), oid
	}
	var legal, used, plain *Rep
	for _, r := range pid.Repetitions(5) {
		switch strings.ToUpper(r.Get(7, 0)) {
		case "L":
			if legal == nil {
				legal = &r
			}
		case "D":
			if used == nil {
				used = &r
			}
		case "":
			if plain == nil {
				plain = &r
			}
		}
	}
	if legal == nil {
		legal = plain
	}
	if legal != nil {
		rec.BirthName, rec.FirstName = legal.Get(1, 1), legal.Get(2, 0)
		if legal.Get(7, 0) != "" {
			rec.FirstNames = legal.Get(3, 0) // PAM-FR: the list of birth first names
		}
	}
	if used != nil {
		rec.UsedName = used.Get(1, 1)
		if rec.FirstName == "" {
			rec.FirstName = used.Get(2, 0)
		}
	}
	if d := pid.Get(7, 1); d != "" {
		iso, err := birthDate(d)
		if err != nil {
			return vigie.Record{}, refuse(at(7, 1), 102, "%v", err)
		}
		rec.BirthDate = iso
	}
	switch s := strings.ToUpper(pid.Get(8, 1)); s {
	case "":
	case "M", "F", "U":
		rec.Sex = s
	case "O", "A", "N":
		rec.Sex = "U"
	default:
		return vigie.Record{}, refuse(at(8, 0), 103, "sex %q is not M, F, U, O, A or N (table 0001)", clip(s))
	}
	for _, r := range pid.Repetitions(11) {
		switch strings.ToUpper(r.Get(7, 0)) {
		case "BDL":
			rec.BirthPlace = r.Get(9, 0)
		case "", "H", "HP", "C", "P", "M":
			if rec.Address == "" && rec.City == "" && rec.PostalCode == "" {
				rec.Address = strings.TrimSpace(strings.Join([]string{r.Get(1, 0), r.Get(2, 0)}, " "))
				rec.City, rec.PostalCode = r.Get(3, 0), r.Get(5, 0)
			}
		}
	}
	// PID-13 holds the phones and, in PAM-FR, the e-mail: a repetition
	// with use code NET (XTN-2) or equipment type Internet (XTN-3), its
	// address in XTN-4. The phone is the first other repetition.
	phoneSet := false
	for _, r := range pid.Repetitions(13) {
		if isEmailXTN(r.Get(2, 0), r.Get(3, 0), r.Get(4, 0)) {
			if rec.Email == "" {
				rec.Email = r.Get(4, 0)
				if rec.Email == "" { // the address in the old first component
					rec.Email = r.Get(1, 0)
				}
			}
			continue
		}
		if !phoneSet {
			phoneSet = true
			rec.Phone = r.Get(1, 0)
			if rec.Phone == "" {
				rec.Phone = r.Get(12, 0)
			}
		}
	}
	for _, r := range pid.Repetitions(32) {
		switch code := strings.ToUpper(r.Get(1, 0)); code {
		case "":
		case "VIDE":
		case vigie.StatusPROV, vigie.StatusRECUP, vigie.StatusVALI, vigie.StatusQUAL:
			if rec.Status != "" && rec.Status != code {
				return vigie.Record{}, refuse(at(32, 0), 102, "two identity statuses, %s and %s: they exclude each other", rec.Status, code)
			}
			rec.Status = code
		case "DOUTE":
			rec.Attributes = append(rec.Attributes, vigie.AttrDoubtful)
		case "FICTI":
			rec.Attributes = append(rec.Attributes, vigie.AttrFictitious)
		default:
			if !slices.Contains(vigie.Attributes, code) {
				return vigie.Record{}, refuse(at(32, 0), 103, "identity reliability code %q is not a status (PROV, RECUP, VALI, QUAL) nor an attribute of table 0445", clip(code))
			}
			rec.Attributes = append(rec.Attributes, code)
		}
	}
	return rec, nil
}

// birthDate turns an HL7 date (YYYY[MM[DD[HHMM…]]]) into the record's ISO
// form.
func birthDate(s string) (string, error) {
	digits := s
	if i := strings.IndexAny(digits, "+-."); i >= 0 {
		digits = digits[:i]
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return "", fmt.Errorf("birth date %q is not a date YYYYMMDD", clip(s))
		}
	}
	switch {
	case len(digits) >= 8:
		return digits[:4] + "-" + digits[4:6] + "-" + digits[6:8], nil
	case len(digits) == 6:
		return digits[:4] + "-" + digits[4:6], nil
	case len(digits) == 4:
		return digits, nil
	}
	return "", fmt.Errorf("birth date %q is not a date YYYYMMDD", clip(s))
}

// RecordLocation is where a record's field comes from in PID, to name it
// in an ERR segment when the patient index refuses the record.
func RecordLocation(field string, seq int) Location {
	f := map[string][2]int{
		"authority": {3, 4}, "local_id": {3, 1}, "ins": {3, 1}, "ins_oid": {3, 4},
		"birth_name": {5, 1}, "used_name": {5, 1}, "first_name": {5, 2}, "first_names": {5, 3},
		"birth_date": {7, 1}, "sex": {8, 0}, "birth_place": {11, 9}, "address": {11, 1},
		"city": {11, 3}, "postal_code": {11, 5}, "phone": {13, 1}, "status": {32, 0}, "attributes": {32, 0},
	}[field]
	if f[0] == 0 {
		return Location{"PID", seq, 0, 0}
	}
	return Location{"PID", seq, f[0], f[1]}
}

// asRefusal turns a domain error about the seq-th PID's record into a
// refusal naming the field.
func asRefusal(err error, seq int) *Refusal {
	var r *Refusal
	if errors.As(err, &r) {
		return r
	}
	code := 207
	switch vigie.ErrorCode(err) {
	case vigie.EINVALID:
		code = 102
	case vigie.ENOTFOUND:
		code = 204
	}
	ref := &Refusal{At: RecordLocation(vigie.ErrorField(err), seq), Code: code, Reason: message(err)}
	if vigie.ErrorCode(err) == vigie.EPERMISSION {
		ref.Reject = true
	}
	return ref
}

// message is a domain error's own message, without the wrapping context
// that names keys.
func message(err error) string {
	var ve *vigie.Error
	if errors.As(err, &ve) {
		return ve.Error()
	}
	return "internal error"
}

// isEmailXTN reports whether a PID-13 repetition is an e-mail address: use
// code NET (table 0201), equipment type Internet or X.400 (table 0202), or
// no codes at all and an address with an @ in XTN-4.
func isEmailXTN(use, equip, addr string) bool {
	switch {
	case strings.EqualFold(use, "NET"), strings.EqualFold(equip, "Internet"), strings.EqualFold(equip, "X.400"):
		return true
	}
	return use == "" && equip == "" && strings.Contains(addr, "@")
}
