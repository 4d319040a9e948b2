package hl7

import (
	"strings"
	"time"

	"vigie"
	"vigie/mpi"
)

// Outbound events: what a subscriber receives when a regional identity
// changes (see Outbox).
const (
	NotifyCreate = EventCreate // ADT^A28: a new regional identity
	NotifyUpdate = EventUpdate // ADT^A31: an identity's traits, members or status changed
	NotifyMerge  = EventMerge  // ADT^A40: an identity was merged into another
)

// notifyStructure is each outbound event's message structure (MSH-9.3).
var notifyStructure = map[string]string{NotifyCreate: "ADT_A05", NotifyUpdate: "ADT_A05", NotifyMerge: "ADT_A39"}

// Notification is one outbound message's content: the identity as the
// patient index holds it, and for a merge the identity merged into it.
type Notification struct {
	Event    string       // NotifyCreate, NotifyUpdate or NotifyMerge
	Identity mpi.Snapshot // the identity (the survivor of a merge)
	Retired  vigie.IdentityID
}

// Sender is how Vigie names itself and its regional identifiers in an
// outbound message.
type Sender struct {
	// RegionalOID is the assigning authority of the regional identifiers
	// (PID-3 and MRG-1 under VIGIE&<OID>&ISO).
	RegionalOID string
	// ReceivingApp and ReceivingFacility are MSH-5 and MSH-6: the
	// subscriber's name.
	ReceivingApp, ReceivingFacility string
}

// outDelims are the encoding characters of every outbound message.
var outDelims = Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\', Subcomponent: '&'}

// Build writes n as an HL7 v2.5 PAM-FR message (ER7, UTF-8): MSH, EVN, PID
// of the identity (PID-3: the regional identifier under s.RegionalOID
// first, then every member record's IPP under its site's authority and the
// INS; PID-5, 7, 8, 11, 13 and 32 from the golden record and the
// identity's attributes), then PV1 (A28, A31) or MRG naming the retired
// identity (A40). control is MSH-10.
func Build(n Notification, s Sender, control string, now time.Time) []byte {
	d := outDelims
	e := d.Encode
	ts := now.UTC().Format("20060102150405")
	join := func(sep byte, parts ...string) string {
		return strings.TrimRight(strings.Join(parts, string(sep)), string(sep))
	}
	hd := func(ns, oid string) string { return join('&', e(ns), e(oid), "ISO") }
	regional := func(id vigie.IdentityID) string {
		return join('^', id.String(), "", "", hd("VIGIE", s.RegionalOID), "PI")
	}
	lines := []string{
		strings.Join([]string{"MSH", "^~\\&", "VIGIE", join('^', "VIGIE", e(s.RegionalOID), "ISO"),
			e(s.ReceivingApp), e(s.ReceivingFacility), ts, "",
			join('^', "ADT", n.Event, notifyStructure[n.Event]), e(control), "P", "2.5", "", "", "", "", "FRA", "UNICODE UTF-8"}, "|"),
		strings.Join([]string{"EVN", n.Event, ts}, "|"),
		pidSegment(n.Identity, regional(n.Identity.ID), hd),
	}
	if n.Event == NotifyMerge {
		lines = append(lines, "MRG|"+regional(n.Retired))
	} else {
		lines = append(lines, "PV1|1|N")
	}
	return []byte(strings.Join(lines, "\r") + "\r")
}

// pidSegment writes the PID of an identity: its golden traits, its
// regional identifier and its members' identifiers.
func pidSegment(s mpi.Snapshot, regional string, hd func(ns, oid string) string) string {
	return pidSegmentFirst(s, regional, hd, "")
}

// pidSegmentFirst is pidSegment with the IPPs of the establishment whose
// assigning authority is first (none: "") before the regional identifier.
func pidSegmentFirst(s mpi.Snapshot, regional string, hd func(ns, oid string) string, first string) string {
	d := outDelims
	e := d.Encode
	g := s.Golden
	comps := func(parts ...string) string { return strings.TrimRight(strings.Join(parts, "^"), "^") }
	var ids, rest []string
	for _, k := range s.Members {
		id := comps(e(k.LocalID), "", "", hd("", k.Authority), "PI")
		if first != "" && k.Authority == first {
			ids = append(ids, id)
		} else {
			rest = append(rest, id)
		}
	}
	ids = append(append(ids, regional), rest...)
	if g.INS != "" {
		ids = append(ids, comps(e(g.INS), "", "", hd(INSOIDs[g.INSOID], g.INSOID), "INS"))
	}
	var names []string
	if g.BirthName != "" || g.FirstName != "" || g.FirstNames != "" {
		names = append(names, comps(e(g.BirthName), e(g.FirstName), e(g.FirstNames), "", "", "", "L"))
	}
	if g.UsedName != "" {
		names = append(names, comps(e(g.UsedName), e(g.FirstName), "", "", "", "", "D"))
	}
	var addrs []string
	if g.Address != "" || g.City != "" || g.PostalCode != "" {
		addrs = append(addrs, comps(e(g.Address), "", e(g.City), "", e(g.PostalCode), "", "H"))
	}
	if g.BirthPlace != "" {
		addrs = append(addrs, comps("", "", "", "", "", "", "BDL", "", e(g.BirthPlace)))
	}
	var telecom []string
	if g.Phone != "" {
		telecom = append(telecom, e(g.Phone))
	}
	if g.Email != "" { // PAM-FR: use code NET, equipment type Internet, the address in XTN-4
		telecom = append(telecom, comps("", "NET", "Internet", e(g.Email)))
	}
	var status []string
	if g.Status != "" {
		status = append(status, e(g.Status))
	}
	for _, a := range s.Attributes {
		status = append(status, e(a))
	}
	f := make([]string, 33)
	f[0], f[1] = "PID", "1"
	f[3] = strings.Join(ids, "~")
	f[5] = strings.Join(names, "~")
	f[7] = strings.ReplaceAll(g.BirthDate, "-", "")
	f[8] = e(g.Sex)
	f[11] = strings.Join(addrs, "~")
	f[13] = strings.Join(telecom, "~")
	f[32] = strings.Join(status, "~")
	return strings.TrimRight(strings.Join(f, "|"), "|")
}
