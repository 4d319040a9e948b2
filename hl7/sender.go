package hl7

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"vigie"
	"vigie/audit"
	"vigie/store"
)

// outConn is an open MLLP connection to a subscriber.
type outConn struct {
	c net.Conn
	r *bufio.Reader
}

// Refused is a subscriber's answer other than AA: the message stays in
// the queue.
type Refused struct {
	Code     string // AE, AR, CE, CR
	HL7Error int    // ERR-3.1 (0: none)
	Reason   string // MSA-3, or ERR-8
}

func (r *Refused) Error() string {
	s := "answered " + r.Code
	if r.HL7Error != 0 {
		s += fmt.Sprintf(" (HL7 error %d)", r.HL7Error)
	}
	if r.Reason != "" {
		s += ": " + r.Reason
	}
	return s
}

// Delivery is what one pass over a subscriber's queue did.
type Delivery struct {
	Delivered int // acknowledged (AA) and removed
	Refused   int // answered AE or AR: kept
	Held      int // left for a later pass behind a refused message of the same identity
}

func (o *Outbox) dial(ctx context.Context, s Subscriber) (*outConn, error) {
	o.mu.Lock()
	if c := o.conns[s.Name]; c != nil {
		o.mu.Unlock()
		return c, nil
	}
	o.mu.Unlock()
	var c net.Conn
	var err error
	switch {
	case o.Dial != nil:
		c, err = o.Dial(ctx, s)
	case s.TLS:
		host, _, _ := net.SplitHostPort(s.Addr)
		d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}}
		c, err = d.DialContext(ctx, "tcp", s.Addr)
	default:
		d := net.Dialer{Timeout: 10 * time.Second}
		c, err = d.DialContext(ctx, "tcp", s.Addr)
	}
	if err != nil {
		return nil, err
	}
	oc := &outConn{c: c, r: bufio.NewReaderSize(c, 16<<10)}
	o.mu.Lock()
	if o.conns == nil {
		o.conns = map[string]*outConn{}
	}
	o.conns[s.Name] = oc
	o.mu.Unlock()
	return oc, nil
}

func (o *Outbox) hangUp(name string) {
	o.mu.Lock()
	if c := o.conns[name]; c != nil {
		c.c.Close()
		delete(o.conns, name)
	}
	o.mu.Unlock()
}

// Close closes the connections to the subscribers.
func (o *Outbox) Close() {
	o.mu.Lock()
	for name, c := range o.conns {
		c.c.Close()
		delete(o.conns, name)
	}
	o.mu.Unlock()
}

// send writes one message and reads its acknowledgement: nil for AA or
// CA, a *Refused for the other codes, another error when the connection
// failed or the answer is not the acknowledgement of this message.
func (o *Outbox) send(ctx context.Context, s Subscriber, p *Pending) error {
	o.mu.Lock()
	reused := o.conns[s.Name] != nil
	o.mu.Unlock()
	err := o.sendOnce(ctx, s, p)
	var ref *Refused
	if err != nil && reused && !errors.As(err, &ref) && ctx.Err() == nil {
		// A connection left open since the last pass may have been
		// closed by the peer meanwhile: once more on a new one.
		err = o.sendOnce(ctx, s, p)
	}
	return err
}

func (o *Outbox) sendOnce(ctx context.Context, s Subscriber, p *Pending) error {
	c, err := o.dial(ctx, s)
	if err != nil {
		return err
	}
	timeout := o.AckTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	c.c.SetDeadline(time.Now().Add(timeout))
	if err := writeFrame(c.c, p.Message); err != nil {
		o.hangUp(s.Name)
		return err
	}
	raw, err := ReadFrame(c.r)
	if err != nil {
		o.hangUp(s.Name)
		if errors.Is(err, bufio.ErrBufferFull) {
			err = errors.New("the acknowledgement is too long")
		}
		return fmt.Errorf("no acknowledgement: %w", err)
	}
	m, err := Parse(raw)
	if err != nil {
		o.hangUp(s.Name)
		return fmt.Errorf("the acknowledgement does not parse: %w", err)
	}
	msa, ok := m.Segment("MSA")
	if !ok {
		o.hangUp(s.Name)
		return errors.New("the acknowledgement has no MSA segment")
	}
	if got := msa.Get(2, 0); got != p.ControlID {
		// Out of step with the peer: start a new connection.
		o.hangUp(s.Name)
		return fmt.Errorf("the acknowledgement is of message %q, not %q", clip(got), p.ControlID)
	}
	code := strings.ToUpper(msa.Get(1, 0))
	if code == AA || code == "CA" {
		return nil
	}
	r := &Refused{Code: code, Reason: msa.Get(3, 0)}
	if e, ok := m.Segment("ERR"); ok {
		fmt.Sscanf(e.Get(3, 1), "%d", &r.HL7Error)
		if r.Reason == "" {
			r.Reason = e.Get(8, 0)
		}
	}
	if len(r.Reason) > 200 {
		r.Reason = strings.ToValidUTF8(r.Reason[:200], "")
	}
	return r
}

// Deliver makes one pass over a subscriber's queue: each message in turn,
// but those of an identity a refused message of this pass holds back. It
// stops at the first failure of the connection, returned with what was
// done until then.
func (o *Outbox) Deliver(ctx context.Context, s Subscriber) (Delivery, error) {
	var d Delivery
	held := map[vigie.IdentityID]bool{}
	heldStudy := map[string]bool{}
	for _, q := range queues(s.Name) {
		if err := o.deliver(ctx, s, q, &d, held, heldStudy); err != nil {
			return d, err
		}
	}
	return d, nil
}

// deliver is Deliver's pass over one queue (its prefix q).
func (o *Outbox) deliver(ctx context.Context, s Subscriber, q []byte, d *Delivery, held map[vigie.IdentityID]bool, heldStudy map[string]bool) error {
	var from []byte
	for {
		var batch []Pending
		err := o.DB.View(func(txn *store.Txn) error {
			return eachQueued(txn, q, from, func(p *Pending) (bool, error) {
				batch = append(batch, *p)
				return len(batch) < 64, nil
			})
		})
		if err != nil {
			return fmt.Errorf("hl7: outbox of %s: %w", s.Name, err)
		}
		if len(batch) == 0 {
			return nil
		}
		for i := range batch {
			p := &batch[i]
			if err := ctx.Err(); err != nil {
				return err
			}
			if p.Queue == QueueDose && heldStudy[p.Study] ||
				p.Queue != QueueDose && slices.ContainsFunc(p.Identities, func(id vigie.IdentityID) bool { return held[id] }) {
				d.Held++
				continue
			}
			err := o.send(ctx, s, p)
			var ref *Refused
			switch {
			case err == nil:
				if err := o.delivered(s, p); err != nil {
					return err
				}
				d.Delivered++
			case errors.As(err, &ref):
				d.Refused++
				if p.Queue == QueueDose {
					heldStudy[p.Study] = true
				} else {
					for _, id := range p.Identities {
						held[id] = true
					}
				}
				if err := o.failed(s, p, err); err != nil {
					return err
				}
				if o.Log != nil {
					o.Log.Warn("hl7 outbox: message refused; kept and tried again", "subscriber", s.Name, "control_id", p.ControlID,
						"event", p.Event, "identities", idList(p.Identities), "ack", ref.Code, "hl7_error", ref.HL7Error, "attempts", p.Attempts)
				}
			default:
				if ferr := o.failed(s, p, err); ferr != nil {
					return ferr
				}
				return fmt.Errorf("hl7: subscriber %s (%s): %w", s.Name, s.Addr, err)
			}
		}
		from = batch[len(batch)-1].next(s.Name)
	}
}

// delivered removes an acknowledged message and audits its delivery. The
// removal comes first: the audit entry's sync makes it durable.
func (o *Outbox) delivered(s Subscriber, p *Pending) error {
	err := store.Update(o.DB, func(txn *store.Txn) error { return txn.Delete(p.key(s.Name)) })
	if err != nil {
		return fmt.Errorf("hl7: outbox of %s: remove %s: %w", s.Name, p.ControlID, err)
	}
	if o.Log != nil {
		o.Log.Debug("hl7 outbox: delivered", "subscriber", s.Name, "control_id", p.ControlID, "event", p.Event, "identities", idList(p.Identities))
	}
	if o.Trail == nil {
		return nil
	}
	op := "HL7 ADT^" + p.Kind + " delivered"
	if p.Queue == QueueDose {
		op = "HL7 " + p.Kind + " delivered"
	}
	e := audit.Entry{Principal: "hl7-out:" + s.Name, Role: "system", Operation: op,
		Result: "ok", Client: s.Addr, Credential: "hl7-out:" + s.Name, Purpose: "HL7 " + p.ControlID}
	for _, id := range p.Identities {
		e.Identities = append(e.Identities, id.String())
	}
	for _, k := range p.Records {
		e.Records = append(e.Records, audit.Record{Authority: k.Authority, LocalID: k.LocalID})
	}
	if _, err := o.Trail.Append(e); err != nil {
		// The message is delivered: the failure is the trail's, said once.
		if o.Log != nil {
			o.Log.Error("hl7 outbox: audit of a delivered message", "subscriber", s.Name, "control_id", p.ControlID, "error", err.Error())
		}
	}
	return nil
}

// failed records a failed attempt on the message.
func (o *Outbox) failed(s Subscriber, p *Pending, why error) error {
	p.Attempts++
	p.LastTry = o.now().UTC()
	p.LastError = why.Error()
	err := store.Update(o.DB, func(txn *store.Txn) error {
		k := p.key(s.Name)
		if found, err := store.Has(txn, k); err != nil || !found {
			return err // !found: removed meanwhile (the subscriber was)
		}
		b, err := json.Marshal(p)
		if err != nil {
			return err
		}
		return txn.Set(k, b)
	})
	if err != nil {
		return fmt.Errorf("hl7: outbox of %s: record the failure of %s: %w", s.Name, p.ControlID, err)
	}
	return nil
}

func idList(ids []vigie.IdentityID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.String()
	}
	return strings.Join(s, ",")
}

// Run follows the patient index and delivers to every subscriber until
// ctx ends: every Poll it queues the new events' messages and the dose
// reports of the studies the ledger marked (EnqueueDose), then a batch of
// each backfill under way (RunBackfills), and each
// subscriber's sender (one goroutine, one connection) sends its queue.
// After a pass that failed (connection lost, a message refused) the
// subscriber waits 1 s, then twice as long after each failure up to
// MaxBackoff, before the next. Subscribers added or removed while it runs
// are taken into account at the next poll.
func (o *Outbox) Run(ctx context.Context) {
	poll := o.Poll
	if poll <= 0 {
		poll = time.Second
	}
	type worker struct {
		wake chan struct{}
		stop context.CancelFunc
	}
	workers := map[string]*worker{}
	var wg sync.WaitGroup
	defer func() {
		for _, w := range workers {
			w.stop()
		}
		wg.Wait()
		o.Close()
	}()
	t := time.NewTicker(poll)
	defer t.Stop()
	failing, failingDose := "", ""
	for {
		n, err := o.Enqueue(ctx)
		if err != nil && ctx.Err() == nil && o.Log != nil && err.Error() != failing {
			failing = err.Error()
			o.Log.Error("hl7 outbox: reading the patient index's events failed; tried again", "error", failing)
		} else if err == nil {
			failing = ""
		}
		nd, derr := o.EnqueueDose(ctx)
		n += nd
		if derr == nil {
			// After the live queue, so that a backfilled report comes
			// before any later correction of its exam.
			nd, derr = o.RunBackfills(ctx)
			n += nd
		}
		if derr != nil && ctx.Err() == nil && o.Log != nil && derr.Error() != failingDose {
			failingDose = derr.Error()
			o.Log.Error("hl7 outbox: queueing the dose reports failed; tried again", "error", failingDose)
		} else if derr == nil {
			failingDose = ""
		}
		subs, serr := o.Subscribers(ctx)
		if serr == nil {
			seen := map[string]bool{}
			for _, s := range subs {
				seen[s.Name] = true
				w := workers[s.Name]
				if w == nil {
					wctx, stop := context.WithCancel(ctx)
					w = &worker{wake: make(chan struct{}, 1), stop: stop}
					workers[s.Name] = w
					wg.Go(func() { o.sender(wctx, s, w.wake) })
				}
				if n > 0 {
					select {
					case w.wake <- struct{}{}:
					default:
					}
				}
			}
			for name, w := range workers {
				if !seen[name] {
					w.stop()
					delete(workers, name)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sender delivers one subscriber's queue: a pass at start, after each
// wake, and after its backoff while it fails.
func (o *Outbox) sender(ctx context.Context, s Subscriber, wake <-chan struct{}) {
	maxBackoff := o.MaxBackoff
	if maxBackoff <= 0 {
		maxBackoff = time.Minute
	}
	backoff := time.Duration(0)
	for {
		d, err := o.Deliver(ctx, s)
		if ctx.Err() != nil {
			o.hangUp(s.Name)
			return
		}
		if err != nil || d.Refused > 0 {
			backoff = min(max(2*backoff, time.Second), maxBackoff)
			if err != nil && o.Log != nil {
				o.Log.Warn("hl7 outbox: delivery stopped; tried again", "subscriber", s.Name, "delivered", d.Delivered,
					"retry_in", backoff.String(), "error", err.Error())
			}
		} else {
			backoff = 0
		}
		var timer <-chan time.Time
		if backoff > 0 {
			timer = time.After(backoff)
		}
		select {
		case <-ctx.Done():
			o.hangUp(s.Name)
			return
		case <-wake:
			if backoff > 0 {
				// New messages do not cut a failing subscriber's wait.
				select {
				case <-ctx.Done():
					o.hangUp(s.Name)
					return
				case <-timer:
				}
			}
		case <-timer:
		}
	}
}
