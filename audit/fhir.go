package audit

import (
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"vigie"
)

// FHIR AuditEvent (R4) code systems of the export.
const (
	dcmSystem        = "http://dicom.nema.org/resources/ontology/DCM"
	eventTypeSystem  = "http://terminology.hl7.org/CodeSystem/audit-event-type"
	entityTypeSystem = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	objectRoleSystem = "http://terminology.hl7.org/CodeSystem/object-role"
	sourceTypeSystem = "http://terminology.hl7.org/CodeSystem/security-source-type"
	actReasonSystem  = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	// Vigie's own identifier systems: principals, identities, roles,
	// operations, access bases and audit entries.
	vigieSystem = "urn:vigie:"
)

type coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

type concept struct {
	Coding []coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

type identifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

type reference struct {
	Identifier *identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

// AuditEvent is an entry in the shape of a FHIR R4 AuditEvent (IHE ATNA's
// successor), for the region's SIEM: type, subtype (the operation),
// action, recorded, outcome, purposeOfEvent, agent (the principal, its
// role, sites, credential and address, and its access basis as
// purposeOfUse: break the glass is v3-ActReason BTG), source (Vigie) and
// entity (each identity and source record as a patient, and the audit
// entry itself with its sequence and hash).
type AuditEvent struct {
	ResourceType   string    `json:"resourceType"`
	ID             string    `json:"id"`
	Type           coding    `json:"type"`
	Subtype        []coding  `json:"subtype,omitempty"`
	Action         string    `json:"action,omitempty"`
	Recorded       string    `json:"recorded"`
	Outcome        string    `json:"outcome,omitempty"`
	OutcomeDesc    string    `json:"outcomeDesc,omitempty"`
	PurposeOfEvent []concept `json:"purposeOfEvent,omitempty"`
	Agent          []agent   `json:"agent"`
	Source         source    `json:"source"`
	Entity         []entity  `json:"entity,omitempty"`
}

type agent struct {
	Type         *concept   `json:"type,omitempty"`
	Role         []concept  `json:"role,omitempty"`
	Who          reference  `json:"who"`
	AltID        string     `json:"altId,omitempty"`
	Requestor    bool       `json:"requestor"`
	Policy       []string   `json:"policy,omitempty"`
	Network      *network   `json:"network,omitempty"`
	PurposeOfUse []concept  `json:"purposeOfUse,omitempty"`
	Location     *reference `json:"location,omitempty"`
}

type network struct {
	Address string `json:"address"`
	Type    string `json:"type"`
}

type source struct {
	Site     string    `json:"site"`
	Observer reference `json:"observer"`
	Type     []coding  `json:"type"`
}

type entity struct {
	What   reference `json:"what"`
	Type   *coding   `json:"type,omitempty"`
	Role   *coding   `json:"role,omitempty"`
	Detail []detail  `json:"detail,omitempty"`
}

type detail struct {
	Type        string `json:"type"`
	ValueString string `json:"valueString"`
}

// FHIR returns the entry as a FHIR AuditEvent.
func (e *Entry) FHIR() AuditEvent {
	ev := AuditEvent{ResourceType: "AuditEvent", ID: "vigie-audit-" + strconv.FormatUint(e.Seq, 10),
		Type:     coding{System: eventTypeSystem, Code: "rest", Display: "RESTful Operation"},
		Subtype:  []coding{{System: vigieSystem + "operation", Code: e.Operation}},
		Action:   action(e.Operation),
		Recorded: e.Time.UTC().Format(time.RFC3339Nano), OutcomeDesc: e.Result,
		Source: source{Site: "vigie", Observer: reference{Display: "Vigie, regional patient index and dose ledger"},
			Type: []coding{{System: sourceTypeSystem, Code: "4", Display: "Application Server"}}},
	}
	if len(e.Identities) > 0 || len(e.Records) > 0 {
		ev.Type = coding{System: dcmSystem, Code: "110110", Display: "Patient Record"}
	}
	switch e.Result {
	case "ok":
		ev.Outcome = "0"
	case "internal", "unknown", "unavailable", "data_loss":
		ev.Outcome = "8"
	default:
		ev.Outcome = "4"
	}
	if e.Purpose != "" {
		ev.PurposeOfEvent = []concept{{Text: e.Purpose}}
	}
	a := agent{Who: reference{Identifier: &identifier{System: vigieSystem + "principal", Value: e.Principal}},
		AltID: e.Credential, Requestor: true, Policy: e.Authorities}
	if e.Role != "" {
		a.Role = []concept{{Coding: []coding{{System: vigieSystem + "role", Code: e.Role}}}}
	}
	if e.Client != "" {
		a.Network = &network{Address: e.Client, Type: "2"} // an IP address or a host name
	}
	if e.Basis != "" {
		kind, reason, _ := strings.Cut(e.Basis, ": ")
		c := concept{Coding: []coding{{System: vigieSystem + "access-basis", Code: kind}}, Text: reason}
		if kind == "break_glass" {
			c.Coding = append(c.Coding, coding{System: actReasonSystem, Code: "BTG", Display: "break the glass"})
		}
		a.PurposeOfUse = []concept{c}
	}
	ev.Agent = []agent{a}
	patient := func(id identifier) entity {
		return entity{What: reference{Identifier: &id}, Type: &coding{System: entityTypeSystem, Code: "1", Display: "Person"},
			Role: &coding{System: objectRoleSystem, Code: "1", Display: "Patient"}}
	}
	for _, id := range e.Identities {
		ev.Entity = append(ev.Entity, patient(identifier{System: vigieSystem + "identity", Value: id}))
	}
	for _, r := range e.Records {
		ev.Entity = append(ev.Entity, patient(identifier{System: "urn:oid:" + r.Authority, Value: r.LocalID}))
	}
	ev.Entity = append(ev.Entity, entity{What: reference{Identifier: &identifier{System: vigieSystem + "audit-entry", Value: strconv.FormatUint(e.Seq, 10)}},
		Type:   &coding{System: entityTypeSystem, Code: "2", Display: "System Object"},
		Role:   &coding{System: objectRoleSystem, Code: "13", Display: "Security Resource"},
		Detail: []detail{{Type: "hash", ValueString: hex.EncodeToString(e.Hash)}, {Type: "previous-hash", ValueString: hex.EncodeToString(e.PrevHash)}}})
	return ev
}

// action is the AuditEvent action of an operation: R for the reads, E for
// the rest.
func action(op string) string {
	name := op[strings.LastIndexByte(op, '/')+1:]
	for _, read := range []string{"Get", "List", "Search", "Query", "cli: "} {
		if strings.HasPrefix(name, read) || strings.HasPrefix(op, read) {
			return "R"
		}
	}
	return "E"
}

// Since calls fn with every entry recorded at or after t, in sequence
// order, up to the head at the call.
func (l *Log) Since(t time.Time, fn func(Entry) error) error {
	head, _ := l.Head()
	// Entries are appended in time order: find the first at or after t.
	lo, hi := uint64(1), head+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		e, err := l.Get(mid)
		if err != nil {
			return err
		}
		if e.Time.Before(t) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	for seq := lo; seq <= head; seq++ {
		e, err := l.Get(seq)
		if vigie.ErrorCode(err) == vigie.ENOTFOUND {
			continue // a removed entry: Verify reports it
		}
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}
