package hl7

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"vigie"
	"vigie/audit"
	"vigie/matcher"
	"vigie/mpi"
	"vigie/sites"
	"vigie/store"
)

// Feed applies HL7 v2 identity messages to the patient index, each exactly
// once, and answers each with its acknowledgement. It is safe for
// concurrent use; the MLLP server calls Handle once per message, in the
// order a connection sends them.
//
// Who sends: MSH-4, the sending facility, must be one of the HL7 sender ids
// of a site of the registry (sites.Site.HL7Senders, `vigie site add --hl7`);
// the site acts as an ingestion feed of its own assigning authority, as an
// API key of role ingest would. An unknown sender is rejected (AR).
//
// Exactly once: every message that gets an acknowledgement other than an
// internal error is kept in the store, verbatim, with that acknowledgement,
// under its sender and control id (MSH-10): a retransmission gets the same
// acknowledgement and changes nothing. The change is committed, the message
// kept and the audit entry synced before the acknowledgement is returned,
// so that an acknowledged message is never lost. Every change a message
// makes is idempotent (a record resolved again with the same traits writes
// nothing; a link already made is not made again), so that a message
// applied but not yet acknowledged when the server stopped changes nothing
// when the sender sends it again.
//
// Key layout (namespace h/ of the store, see package store):
//
//	h/msg/<authority> 0x00 <control id> → journal entry (JSON)
type Feed struct {
	Index *mpi.Index
	Sites *sites.Registry
	Trail *audit.Log
	DB    *store.DB
	Log   *slog.Logger // nil: no log
	Now   func() time.Time

	seed  maphash.Seed
	once  sync.Once
	locks [64]sync.Mutex
}

// entry is a journal entry: a message as received and what it got.
type entry struct {
	Received time.Time `json:"t"`
	Message  []byte    `json:"m"` // verbatim, as received
	Ack      []byte    `json:"a"`
	Code     string    `json:"c"` // AA or AE
	// Fingerprint tells a retransmission from another message reusing
	// the control id (see fingerprint).
	Fingerprint string `json:"f"`
}

// fingerprint is a digest of the message as read, but for MSH-7 (the time
// of the message, which some senders set again when they retransmit).
func fingerprint(m *Message) string {
	h := sha256.New()
	for _, s := range m.Segments {
		for i, f := range s.fields {
			if s.Name == "MSH" && i == 7 {
				continue
			}
			h.Write([]byte(f))
			h.Write([]byte{0})
		}
		h.Write([]byte{1})
	}
	return hex.EncodeToString(h.Sum(nil))
}

var journalPrefix = []byte("h/msg/")

// maxControlID bounds MSH-10, a part of the journal's keys (HL7 v2.5 gives
// it 20 characters, later versions 199).
const maxControlID = 199

func journalKey(authority, control string) []byte {
	k := append(append([]byte(nil), journalPrefix...), authority...)
	return append(append(k, 0), control...)
}

// Outcome is what Handle did with a message.
type Outcome struct {
	Code      string // AA, AE or AR
	Ack       []byte
	Replayed  bool // a retransmission: the stored acknowledgement again
	Refusal   *Refusal
	Event     string
	ControlID string
}

// Handle applies one message and returns its acknowledgement. client is
// the sender's network address, for the audit trail.
func (f *Feed) Handle(ctx context.Context, raw []byte, client string) Outcome {
	f.once.Do(func() { f.seed = maphash.MakeSeed() })
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	m, err := Parse(raw)
	if err != nil {
		// The header alone may still be read: the ACK then names the
		// message, and a type Vigie does not take is said as such.
		if hm, herr := Parse(firstSegment(raw)); herr == nil {
			if _, cerr := ReadChange(hm, ""); cerr != nil {
				if r, ok := cerr.(*Refusal); ok && r.At.Segment == "MSH" {
					return f.answer(hm, AR, r, "", now())
				}
			}
			m = hm
		}
		ref := asRefusal(err, 1)
		ref.Reject = true
		if at := vigie.ErrorField(err); strings.HasPrefix(at, "MSH-") {
			var n int
			fmt.Sscanf(at, "MSH-%d", &n)
			ref.At = Location{"MSH", 1, n, 0}
		} else {
			ref.At = Location{}
		}
		var ve *vigie.Error
		if errors.As(err, &ve) {
			ref.Reason = ve.Error()
		}
		return f.answer(m, AR, ref, "", now())
	}
	h := ReadHeader(m)
	if h.ControlID == "" {
		return f.answer(m, AR, &Refusal{At: Location{"MSH", 1, 10, 0}, Code: 101, Reject: true, Reason: "the message control id is empty"}, "", now())
	}
	if len(h.ControlID) > maxControlID {
		return f.answer(m, AR, &Refusal{At: Location{"MSH", 1, 10, 0}, Code: 102, Reject: true,
			Reason: fmt.Sprintf("the message control id is %d bytes, more than %d", len(h.ControlID), maxControlID)}, "", now())
	}
	site, err := f.sender(ctx, h)
	if err != nil {
		f.logError(ctx, "hl7: read the site registry", err, h)
		return f.answer(m, AE, &Refusal{Code: 207, Reason: "internal error: the message was not applied; send it again"}, "", now())
	}
	if site == nil {
		return f.answer(m, AR, &Refusal{At: Location{"MSH", 1, 4, 0}, Code: 204, Reject: true,
			Reason: "the sending facility is not an HL7 sender of any site of the registry"}, "", now())
	}
	key := journalKey(site.Authority, h.ControlID)
	mu := &f.locks[maphash.Bytes(f.seed, key)%uint64(len(f.locks))]
	mu.Lock()
	defer mu.Unlock()
	fp := fingerprint(m)
	if e, ok, err := f.journal(key); err != nil {
		f.logError(ctx, "hl7: read the journal", err, h)
		return f.answer(m, AE, &Refusal{Code: 207, Reason: "internal error: the message was not applied; send it again"}, "", now())
	} else if ok {
		if e.Fingerprint != fp {
			return f.answer(m, AR, &Refusal{At: Location{"MSH", 1, 10, 0}, Code: 205, Reject: true,
				Reason: "this control id was already used by another message of this sender"}, "", now())
		}
		return Outcome{Code: e.Code, Ack: e.Ack, Replayed: true, Event: h.Event, ControlID: h.ControlID}
	}
	actor := mpi.Actor("hl7:" + site.Authority + ":" + h.SendingFacility)
	touched, text, ref := f.apply(ctx, m, site.Authority, actor, h)
	code := AA
	switch {
	case ref != nil && ref.Code == 207:
		// Not kept: the sender sends it again and it is applied then.
		return f.answer(m, AE, ref, "", now())
	case ref != nil && ref.Reject:
		// Not kept either: the message was not taken at all, and
		// refusing it again changes nothing.
		out := f.answer(m, AR, ref, "", now())
		if err := f.audit(h, site.Authority, client, AR, ref, touched); err != nil {
			f.logError(ctx, "hl7: audit", err, h)
		}
		return out
	case ref != nil:
		code = AE
	}
	out := f.answer(m, code, ref, text, now())
	err = store.Update(f.DB, func(txn *store.Txn) error {
		b, err := json.Marshal(entry{Received: now().UTC(), Message: raw, Ack: out.Ack, Code: code, Fingerprint: fp})
		if err != nil {
			return err
		}
		return txn.Set(key, b)
	})
	if err == nil {
		err = f.audit(h, site.Authority, client, code, ref, touched)
	}
	if err != nil {
		f.logError(ctx, "hl7: keep the message", err, h)
		return f.answer(m, AE, &Refusal{Code: 207, Reason: "internal error: the message's effect may be applied, not acknowledged; send it again"}, "", now())
	}
	return out
}

// touched is what a message changed, for the audit trail: ids only.
type touched struct {
	records    []vigie.SourceKey
	identities []vigie.IdentityID
}

// apply reads the message's change and applies it. A refusal leaves the
// index as it was: every record is admitted before anything is written.
func (f *Feed) apply(ctx context.Context, m *Message, authority string, actor mpi.Actor, h Header) (touched, string, *Refusal) {
	var t touched
	c, err := ReadChange(m, authority)
	if err != nil {
		return t, "", asRefusal(err, 1)
	}
	for i := range c.Records {
		r := c.Records[i]
		r.Attributes = slices.Clone(r.Attributes)
		if _, err := matcher.Admit(&r); err != nil {
			return t, "", asRefusal(err, i+1)
		}
	}
	reason := fmt.Sprintf("HL7 ADT^%s %s", h.Event, h.ControlID)
	internal := func(err error) *Refusal {
		switch vigie.ErrorCode(err) {
		case vigie.EINVALID, vigie.ENOTFOUND, vigie.ECONFLICT, vigie.EPERMISSION:
			return asRefusal(err, 1)
		case vigie.EEXHAUSTED:
			return &Refusal{Code: 207, Reason: "the server's disk is short of space: send the message again later"}
		}
		f.logError(ctx, "hl7: apply", err, h)
		return &Refusal{Code: 207, Reason: "internal error: the message was not applied; send it again"}
	}
	identityOf := func(k vigie.SourceKey, seg Location) (vigie.IdentityID, *Refusal) {
		id, err := f.Index.IdentityOf(ctx, k.Authority, k.LocalID)
		if vigie.ErrorCode(err) == vigie.ENOTFOUND {
			return 0, refuse(seg, 204, "the record %s is not known to the patient index", k.LocalID)
		}
		if err != nil {
			return 0, internal(err)
		}
		return id, nil
	}
	switch c.Event {
	case EventLink, EventUnlink:
		k1, k2 := c.Records[0].Key(), c.Records[1].Key()
		t.records = []vigie.SourceKey{k1, k2}
		if k1 == k2 {
			return t, "", refuse(Location{"PID", 2, 3, 1}, 102, "both PID segments name the same record")
		}
		id1, ref := identityOf(k1, Location{"PID", 1, 3, 1})
		if ref != nil {
			return t, "", ref
		}
		id2, ref := identityOf(k2, Location{"PID", 2, 3, 1})
		if ref != nil {
			return t, "", ref
		}
		t.identities = []vigie.IdentityID{id1, id2}
		if c.Event == EventLink {
			if id1 == id2 {
				return t, "the two records already belong to one identity", nil
			}
			if _, err := f.Index.Link(ctx, k2, id1, actor, reason); err != nil {
				return t, "", internal(err)
			}
			return t, "linked", nil
		}
		if id1 != id2 {
			return t, "the two records already belong to different identities", nil
		}
		id, err := f.Index.Unlink(ctx, k2, actor, reason)
		if err != nil {
			return t, "", internal(err)
		}
		t.identities = append(t.identities, id)
		return t, "unlinked", nil
	case EventMerge, EventChange:
		prior := *c.Prior
		t.records = []vigie.SourceKey{c.Records[0].Key(), prior}
		idPrior, ref := identityOf(prior, Location{"MRG", 1, 1, 1})
		if ref != nil {
			return t, "", ref
		}
		// The survivor (A40) or the new identifier (A47) is filed from
		// PID when the index does not know it yet; a known record keeps
		// its traits (the PID of a merge need not carry them all: A31
		// updates them).
		k := c.Records[0].Key()
		var res mpi.Result
		if id, err := f.Index.IdentityOf(ctx, k.Authority, k.LocalID); err == nil {
			res = mpi.Result{Key: k, Identity: id}
		} else if vigie.ErrorCode(err) != vigie.ENOTFOUND {
			return t, "", internal(err)
		} else if res, err = f.Index.Resolve(ctx, c.Records[0], actor); err != nil {
			return t, "", internal(err)
		}
		t.identities = []vigie.IdentityID{res.Identity, idPrior}
		// The index keeps every source record it was sent: the prior
		// one is not retired, it joins the survivor's identity (the
		// regional identity follows the local merge) and stays there.
		text := "the prior record joins the identity of " + c.Records[0].LocalID + " and is kept there (the index does not retire a source record)"
		if cur, err := f.Index.IdentityOf(ctx, prior.Authority, prior.LocalID); err != nil {
			return t, "", internal(err)
		} else if cur == res.Identity {
			return t, text, nil
		}
		if _, err := f.Index.Link(ctx, prior, res.Identity, actor, reason); err != nil {
			return t, "", internal(err)
		}
		return t, text, nil
	}
	res, err := f.Index.Resolve(ctx, c.Records[0], actor)
	if err != nil {
		return t, "", internal(err)
	}
	t.records = []vigie.SourceKey{res.Key}
	t.identities = []vigie.IdentityID{res.Identity}
	// What was stored but not believed (an INS whose key is wrong…) is
	// said to the sender, the message being applied all the same.
	return t, strings.Join(append([]string{string(res.Decision)}, res.Warnings...), "; "), nil
}

// sender returns the site whose HL7 sender ids hold MSH-4 (its namespace
// or its universal id), nil when none does.
func (f *Feed) sender(ctx context.Context, h Header) (*sites.Site, error) {
	all, err := f.Sites.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range all {
		for _, id := range s.HL7Senders {
			if id != "" && (id == h.SendingFacility || id == h.FacilityOID) {
				return &s, nil
			}
		}
	}
	return nil, nil
}

func (f *Feed) journal(key []byte) (entry, bool, error) {
	var e entry
	var found bool
	err := f.DB.View(func(txn *store.Txn) (err error) {
		found, err = store.Read(txn, key, func(v []byte) error { return json.Unmarshal(v, &e) })
		return err
	})
	return e, found && err == nil, err
}

// audit records the message's effect, ids only; Append returns once the
// entry and every commit before it are durable.
func (f *Feed) audit(h Header, authority, client, code string, ref *Refusal, t touched) error {
	if f.Trail == nil {
		return nil
	}
	result := "ok"
	if ref != nil {
		result = map[string]string{AE: "invalid_argument", AR: "permission_denied"}[code]
		if ref.Code == 204 && !ref.Reject {
			result = "not_found"
		}
	}
	e := audit.Entry{Principal: "hl7:" + h.SendingFacility, Role: "ingest", Authorities: []string{authority},
		Operation: "HL7 ADT^" + h.Event, Result: result, Client: client, Credential: "hl7:" + h.SendingFacility,
		Purpose: "HL7 " + h.ControlID}
	for _, k := range t.records {
		e.Records = append(e.Records, audit.Record{Authority: k.Authority, LocalID: k.LocalID})
	}
	for _, id := range t.identities {
		if id != 0 {
			e.Identities = append(e.Identities, id.String())
		}
	}
	_, err := f.Trail.Append(e)
	return err
}

// answer builds the acknowledgement and its outcome.
func (f *Feed) answer(m *Message, code string, ref *Refusal, text string, now time.Time) Outcome {
	o := Outcome{Code: code, Refusal: ref, Ack: Ack(m, code, ref, text, now)}
	if m != nil {
		h := ReadHeader(m)
		o.Event, o.ControlID = h.Event, h.ControlID
	}
	return o
}

func (f *Feed) logError(ctx context.Context, msg string, err error, h Header) {
	if f.Log != nil {
		f.Log.ErrorContext(ctx, msg, "sender", h.SendingFacility, "control_id", h.ControlID, "event", h.Event, "error", err.Error())
	}
}

// firstSegment returns the message's first segment (MSH).
func firstSegment(raw []byte) []byte {
	raw = bytes.TrimLeft(raw, "\r\n \t")
	if i := bytes.IndexAny(raw, "\r\n"); i >= 0 {
		return raw[:i]
	}
	return raw
}
