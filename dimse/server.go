package dimse

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Verification is the Verification SOP class (C-ECHO), always accepted.
const Verification = "1.2.840.10008.1.1"

// Transfer syntaxes.
const (
	ImplicitVRLittleEndian = "1.2.840.10008.1.2"
	ExplicitVRLittleEndian = "1.2.840.10008.1.2.1"
	DeflatedExplicitVRLE   = "1.2.840.10008.1.2.1.99"
	ExplicitVRBigEndian    = "1.2.840.10008.1.2.2"
)

// ImplementationClass identifies this implementation in associations and
// in the file meta information of received instances: a UUID-derived UID
// (PS3.5 §B.2), needing no registered root.
const ImplementationClass = "2.25.92919241450675287196774410639006615078"

// ImplementationVersion is this implementation's version name (16
// characters at most).
const ImplementationVersion = "VIGIE_DIMSE_1"

// Defaults of Server's zero fields.
const (
	DefaultMaxPDU          = 256 << 10
	DefaultMaxAssociations = 32
	DefaultMaxInstance     = 2 << 30
	DefaultARTIM           = 30 * time.Second
	DefaultIdle            = 5 * time.Minute
	// maxAssociateRQ bounds an A-ASSOCIATE-RQ: 128 presentation contexts
	// of long UIDs fit in a few tens of kilobytes.
	maxAssociateRQ = 1 << 20
	// maxCommand bounds a command set: those of C-STORE are ~200 bytes.
	maxCommand = 64 << 10
)

// Status is a DIMSE response status and the Error Comment telling a
// failure's reason (empty for success).
type Status struct {
	Code    uint16
	Comment string
}

// Peer is the association as the handler sees it.
type Peer struct {
	ID        uint64 // a number for logs, unique in the server's life
	CallingAE string
	CalledAE  string
	Addr      string
	// Admitted is what Server.Admit returned for the calling AE title
	// (the site it belongs to).
	Admitted any
}

// StoreRequest is one C-STORE: the instance, already received whole.
type StoreRequest struct {
	SOPClassUID, SOPInstanceUID, TransferSyntax string
	MessageID                                   uint16
	// File is the instance as a DICOM Part-10 file: preamble, file meta
	// information (the command's SOP class and instance, the negotiated
	// transfer syntax, the calling AE title as source), then the data set
	// as received. It is a temporary file the server removes once Store
	// returns; Size is its length.
	File *os.File
	Size int64
}

// Server accepts associations and serves C-ECHO and C-STORE. Set its
// fields before Serve; Store is required.
type Server struct {
	// AETitle is the called AE title answered to; empty: any.
	AETitle string
	// Admit decides on the calling AE title of an A-ASSOCIATE-RQ: its
	// value is kept as Peer.Admitted; an error rejects the association
	// (a Reject as is, any other error as RejectCallingAE). nil admits
	// everyone.
	Admit func(callingAE string) (any, error)
	// Accepts reports whether a SOP class is stored: the presentation
	// contexts of other abstract syntaxes are rejected in negotiation
	// (abstract syntax not supported). Verification is always accepted.
	Accepts func(sopClass string) bool
	// TransferSyntaxes are those accepted (nil: implicit and explicit VR
	// little endian, deflated, explicit big endian); of those proposed,
	// the first the peer lists that is accepted is chosen.
	TransferSyntaxes []string
	// Store decides on a received instance, after it is received whole.
	// The status is sent as is: a success only once the instance is
	// durably stored.
	Store func(ctx context.Context, p *Peer, req *StoreRequest) Status
	// MaxPDU is the largest P-DATA-TF PDU received (the maximum length
	// announced; 0: DefaultMaxPDU).
	MaxPDU uint32
	// MaxAssociations bounds the associations served at once; above,
	// A-ASSOCIATE-RJ (transient, local limit exceeded). 0: the default.
	MaxAssociations int
	// TempDir holds instances while they are received ("": os.TempDir).
	TempDir string
	// MaxInstance bounds one instance's data set (0: DefaultMaxInstance).
	// The bytes past it are read and dropped, and the instance is answered
	// A700 (refused: out of resources) with the bound in its Error
	// Comment, so that no sender fills the temporary folder.
	MaxInstance int64
	// ARTIM bounds the wait for the A-ASSOCIATE-RQ and for the peer's
	// close after a rejection, release or abort; Idle the silence of an
	// established association before it is aborted.
	ARTIM, Idle time.Duration
	// TLS, when set, wraps each connection (DICOM TLS, PS3.15 Annex B).
	TLS *tls.Config
	Log *slog.Logger

	mu       sync.Mutex
	ln       net.Listener
	conns    map[net.Conn]struct{}
	wg       sync.WaitGroup
	closing  atomic.Bool
	ids      atomic.Uint64
	active   atomic.Int64
	ctx      context.Context
	cancelFn context.CancelFunc
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("dimse: server closed")

func (s *Server) maxInstance() int64 {
	if s.MaxInstance <= 0 {
		return DefaultMaxInstance
	}
	return s.MaxInstance
}

func (s *Server) maxPDU() uint32 {
	if s.MaxPDU == 0 {
		return DefaultMaxPDU
	}
	return s.MaxPDU
}

func (s *Server) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return s.Log
}

func (s *Server) dur(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Serve accepts connections on ln until Shutdown, each served by its own
// goroutine.
func (s *Server) Serve(ln net.Listener) error {
	if s.Store == nil {
		return errors.New("dimse: Server.Store is required")
	}
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.ln = ln
	if s.conns == nil {
		s.conns = map[net.Conn]struct{}{}
	}
	if s.ctx == nil {
		s.ctx, s.cancelFn = context.WithCancel(context.Background())
	}
	s.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return fmt.Errorf("dimse: accept: %w", err)
		}
		tcp := c
		if s.TLS != nil {
			c = tls.Server(c, s.TLS)
		}
		s.mu.Lock()
		if s.closing.Load() {
			s.mu.Unlock()
			c.Close()
			return ErrServerClosed
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		// Counted here, in the order connections are accepted, for
		// MaxAssociations.
		s.active.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.active.Add(-1)
			s.serveConn(c, tcp)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// Shutdown stops accepting associations and waits for those in progress
// to be released by their peers; when ctx ends first, it closes their
// connections (an instance not yet answered is not acknowledged: the
// sender sends it again).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	if s.ln != nil {
		s.ln.Close()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	if s.cancelFn != nil {
		s.cancelFn()
	}
	s.mu.Unlock()
	<-done
	return ctx.Err()
}

// assoc is one connection's association.
type assoc struct {
	s        *Server
	conn     net.Conn
	tcp      net.Conn // the TCP connection under conn (TLS aside)
	r        *bufio.Reader
	state    State
	peer     Peer
	peerMax  uint32            // the peer's maximum PDU length (0: none)
	accepted map[byte]acceptPC // the accepted presentation contexts
	buf      []byte            // PDU bodies
	out      []byte            // PDUs sent

	// The message being received.
	cmd      []byte
	command  *Command
	cmdPC    byte
	data     *os.File
	dataW    *bufio.Writer
	dataSize int64
	dataErr  error
	stored   int
}

type acceptPC struct{ abstract, transfer string }

func (s *Server) serveConn(c, tcp net.Conn) {
	a := &assoc{s: s, conn: c, tcp: tcp, r: bufio.NewReaderSize(c, 64<<10), state: Sta2, accepted: map[byte]acceptPC{}, buf: make([]byte, s.maxPDU())}
	a.peer.ID = s.ids.Add(1)
	a.peer.Addr = c.RemoteAddr().String()
	defer func() {
		a.discardData()
		c.Close()
	}()
	log := s.log()
	for a.state != Sta1 {
		switch a.state {
		case Sta2, Sta13:
			_ = c.SetReadDeadline(time.Now().Add(s.dur(s.ARTIM, DefaultARTIM)))
		default:
			_ = c.SetReadDeadline(time.Now().Add(s.dur(s.Idle, DefaultIdle)))
		}
		limit := s.maxPDU()
		if a.state == Sta2 {
			limit = maxAssociateRQ
		}
		if a.r.Buffered() == 0 {
			quickAck(a.tcp)
		}
		pdu, err := ReadPDU(a.r, limit, a.buf)
		ev := eventOf(pdu)
		var ne net.Error
		switch {
		case err == nil:
		case errors.As(err, &ne) && ne.Timeout():
			ev = Evt18
			if a.state == Sta6 || a.state == Sta8 {
				log.Warn("dicom association idle too long: aborted", "association", a.peer.ID, "calling_ae", a.peer.CallingAE)
				ev = Evt15
			}
		case errors.Is(err, ErrMalformed):
			log.Warn("dicom association: invalid PDU", "association", a.peer.ID, "calling_ae", a.peer.CallingAE, "state", a.state.String(), "error", err.Error())
			ev = Evt19
		default:
			ev = Evt17
			if a.state == Sta6 && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				log.Warn("dicom association: connection lost", "association", a.peer.ID, "calling_ae", a.peer.CallingAE, "error", err.Error())
			} else if a.state == Sta6 && a.command != nil {
				log.Warn("dicom association: connection closed during a message", "association", a.peer.ID, "calling_ae", a.peer.CallingAE)
			}
		}
		if err := a.event(ev, pdu); err != nil {
			var oe *net.OpError
			if errors.As(err, &oe) {
				// The peer went away while it was being answered.
				log.Warn("dicom association: connection lost while answering", "association", a.peer.ID, "calling_ae", a.peer.CallingAE, "error", err.Error())
			} else {
				log.Error("dicom association: protocol failure", "association", a.peer.ID, "error", err.Error())
			}
			return
		}
	}
}

// event moves the state machine and performs the action.
func (a *assoc) event(ev Event, pdu any) error {
	action, next, err := Transition(a.state, ev)
	if err != nil {
		return err
	}
	prev := a.state
	a.state = next
	log := a.s.log()
	switch action {
	case AE6:
		return a.decide(pdu.(*Associate))
	case AE7:
		// Sent by decide.
	case AE8:
	case DT2:
		if err := a.pdata(pdu.(*PData)); err != nil {
			log.Warn("dicom association aborted", "association", a.peer.ID, "calling_ae", a.peer.CallingAE, "reason", err.Error())
			return a.abortProvider(6)
		}
	case AR2:
		if a.command != nil {
			log.Warn("dicom association: release asked during a message", "association", a.peer.ID)
		}
		return a.event(Evt14, nil)
	case AR4:
		log.Info("dicom association released", "association", a.peer.ID, "calling_ae", a.peer.CallingAE, "stored", a.stored)
		return a.send(&ReleaseRP{})
	case AA1:
		return a.send(&Abort{Source: 0})
	case AA8:
		log.Warn("dicom association: unexpected PDU, aborted", "association", a.peer.ID, "state", prev.String(), "event", int(ev))
		return a.send(&Abort{Source: 2, Reason: 2})
	case AA7:
		return a.send(&Abort{Source: 2, Reason: 2})
	case AA3:
		log.Warn("dicom association aborted by the peer", "association", a.peer.ID, "calling_ae", a.peer.CallingAE, "stored", a.stored)
	case AA4:
		log.Warn("dicom association: connection closed without release", "association", a.peer.ID, "calling_ae", a.peer.CallingAE, "stored", a.stored)
	case AA2, AA5, AR5, AA6:
	}
	return nil
}

// abortProvider sends an A-ABORT of the service provider (reason: see
// Abort) from Sta6: the association waits for the close.
func (a *assoc) abortProvider(reason byte) error {
	a.state = Sta13
	return a.send(&Abort{Source: 2, Reason: reason})
}

func (a *assoc) send(p any) error {
	var err error
	a.out, err = AppendPDU(a.out[:0], p)
	if err != nil {
		return err
	}
	_ = a.conn.SetWriteDeadline(time.Now().Add(a.s.dur(a.s.ARTIM, DefaultARTIM)))
	_, err = a.conn.Write(a.out)
	return err
}

// decide answers an A-ASSOCIATE-RQ (Sta3): A-ASSOCIATE-AC with each
// presentation context's result, or A-ASSOCIATE-RJ with the reason.
func (a *assoc) decide(rq *Associate) error {
	s, log := a.s, a.s.log()
	a.peer.CallingAE, a.peer.CalledAE = rq.CallingAE, rq.CalledAE
	reject := func(rj Reject, why string) error {
		log.Warn("dicom association rejected", "association", a.peer.ID, "calling_ae", rq.CallingAE, "called_ae", rq.CalledAE,
			"addr", a.peer.Addr, "reason", why)
		if err := a.event(Evt8, nil); err != nil {
			return err
		}
		return a.send(&rj)
	}
	switch {
	case rq.ProtocolVersion&1 == 0:
		return reject(RejectProtocol, fmt.Sprintf("protocol version %#04x does not include version 1", rq.ProtocolVersion))
	case rq.ApplicationContext != ApplicationContext:
		return reject(RejectAppContext, fmt.Sprintf("application context %q is not DICOM's", rq.ApplicationContext))
	case s.AETitle != "" && rq.CalledAE != s.AETitle:
		return reject(RejectCalledAE, fmt.Sprintf("called AE title %q is not this server's (%q)", rq.CalledAE, s.AETitle))
	case s.active.Load() > int64(s.maxAssociations()):
		return reject(RejectLocalLimit, "too many associations at once")
	}
	if s.Admit != nil {
		v, err := s.Admit(rq.CallingAE)
		if err != nil {
			var rj Reject
			if !errors.As(err, &rj) {
				rj = RejectCallingAE
			}
			return reject(rj, err.Error())
		}
		a.peer.Admitted = v
	}
	ac := &Associate{Type: TypeAssociateAC, ProtocolVersion: 1, CalledAE: rq.CalledAE, CallingAE: rq.CallingAE,
		ApplicationContext: ApplicationContext, MaxLength: s.maxPDU(),
		ImplementationClass: ImplementationClass, ImplementationVersion: ImplementationVersion}
	tss := s.TransferSyntaxes
	if tss == nil {
		tss = []string{ImplicitVRLittleEndian, ExplicitVRLittleEndian, DeflatedExplicitVRLE, ExplicitVRBigEndian}
	}
	n := 0
	for _, pc := range rq.Contexts {
		res := PresentationContext{ID: pc.ID, Result: PCAbstractNotSupported}
		if pc.AbstractSyntax == Verification || (s.Accepts != nil && s.Accepts(pc.AbstractSyntax)) {
			res.Result = PCTransferSyntaxesRejected
		pick:
			for _, ts := range pc.TransferSyntaxes {
				for _, ok := range tss {
					if ts == ok {
						res.Result, res.TransferSyntaxes = PCAccepted, []string{ts}
						a.accepted[pc.ID] = acceptPC{abstract: pc.AbstractSyntax, transfer: ts}
						n++
						break pick
					}
				}
			}
		}
		if res.Result != PCAccepted {
			// PS3.8 §9.3.3.2: a transfer syntax sub-item is present,
			// its value not significant.
			res.TransferSyntaxes = []string{ImplicitVRLittleEndian}
			log.Info("dicom presentation context rejected", "association", a.peer.ID, "calling_ae", rq.CallingAE,
				"abstract_syntax", pc.AbstractSyntax, "result", int(res.Result))
		}
		ac.Contexts = append(ac.Contexts, res)
	}
	a.peerMax = rq.MaxLength
	if err := a.event(Evt7, nil); err != nil {
		return err
	}
	log.Info("dicom association accepted", "association", a.peer.ID, "calling_ae", rq.CallingAE, "called_ae", rq.CalledAE,
		"addr", a.peer.Addr, "contexts", len(rq.Contexts), "accepted", n, "peer_implementation", rq.ImplementationClass,
		"peer_version", rq.ImplementationVersion)
	return a.send(ac)
}

func (s *Server) maxAssociations() int {
	if s.MaxAssociations <= 0 {
		return DefaultMaxAssociations
	}
	return s.MaxAssociations
}

// pdata takes the fragments of a P-DATA-TF: a command, then its data set
// when one follows. An error is a protocol violation: the caller aborts.
func (a *assoc) pdata(p *PData) error {
	for _, v := range p.Items {
		pc, ok := a.accepted[v.Context]
		if !ok {
			return fmt.Errorf("presentation context %d was not accepted", v.Context)
		}
		if v.Command {
			if a.command != nil {
				return errors.New("a command fragment arrived while a data set was expected")
			}
			if len(a.cmd)+len(v.Data) > maxCommand {
				return fmt.Errorf("command set larger than %d bytes", maxCommand)
			}
			if len(a.cmd) == 0 {
				a.cmdPC = v.Context
			} else if v.Context != a.cmdPC {
				return errors.New("command fragments on two presentation contexts")
			}
			a.cmd = append(a.cmd, v.Data...)
			if !v.Last {
				continue
			}
			c, err := ParseCommand(a.cmd)
			a.cmd = a.cmd[:0]
			if err != nil {
				return err
			}
			if err := a.command1(c, pc); err != nil {
				return err
			}
			continue
		}
		if a.command == nil {
			return errors.New("a data set fragment arrived without its command")
		}
		if v.Context != a.cmdPC {
			return errors.New("data set fragment on another presentation context than its command")
		}
		a.dataSize += int64(len(v.Data))
		if a.dataSize > a.s.maxInstance() && a.dataErr == nil {
			a.dataErr = errTooLarge
			a.truncateData()
		}
		if a.data != nil && a.dataErr == nil {
			if _, err := a.dataW.Write(v.Data); err != nil {
				a.dataErr = err
			}
		}
		if v.Last {
			if err := a.complete(pc); err != nil {
				return err
			}
		}
	}
	return nil
}

// command1 acts on a complete command set.
func (a *assoc) command1(c *Command, pc acceptPC) error {
	switch c.Field {
	case CEchoRQ:
		if c.HasDataSet() {
			return errors.New("C-ECHO-RQ with a data set")
		}
		return a.respond(&Command{Field: CEchoRSP, AffectedSOPClass: Verification, RespondedTo: c.MessageID, DataSetType: NoDataSet, Status: StatusSuccess})
	case CStoreRQ:
		if !c.HasDataSet() {
			return errors.New("C-STORE-RQ without a data set")
		}
		a.command = c
		if c.AffectedSOPClass != pc.abstract || c.AffectedSOPInstance == "" {
			return nil // answered once the data set is in (see complete)
		}
		a.dataErr = a.openData(c, pc)
		return nil
	default:
		if c.Field&0x8000 != 0 {
			return fmt.Errorf("unexpected response command %#04x", c.Field)
		}
		if c.HasDataSet() {
			a.command = c
			return nil
		}
		return a.respond(&Command{Field: c.Field | 0x8000, AffectedSOPClass: c.AffectedSOPClass, RespondedTo: c.MessageID, DataSetType: NoDataSet,
			Status: StatusUnrecognizedOperation, ErrorComment: "only C-ECHO and C-STORE are served"})
	}
}

// openData starts the Part-10 file the data set is written to.
func (a *assoc) openData(c *Command, pc acceptPC) error {
	f, err := os.CreateTemp(a.s.TempDir, "vigie-dimse-*.dcm")
	if err != nil {
		return err
	}
	a.data = f
	if a.dataW == nil {
		a.dataW = bufio.NewWriterSize(f, 256<<10)
	} else {
		a.dataW.Reset(f)
	}
	_, err = a.dataW.Write(fileMeta(c.AffectedSOPClass, c.AffectedSOPInstance, pc.transfer, a.peer.CallingAE))
	return err
}

// errTooLarge marks a data set over Server.MaxInstance: its remaining
// fragments are read and dropped.
var errTooLarge = errors.New("instance over the size bound")

// truncateData gives back the disk a data set over the bound took so far;
// the file stays open (and empty) until the message completes.
func (a *assoc) truncateData() {
	if a.data != nil {
		a.dataW.Reset(io.Discard)
		_ = a.data.Truncate(0) // best effort: the file is removed at completion anyway
	}
}

// discardData removes the file of a message in progress.
func (a *assoc) discardData() {
	if a.data != nil {
		name := a.data.Name()
		a.data.Close()
		os.Remove(name)
		a.data = nil
	}
	a.command, a.dataErr, a.dataSize = nil, nil, 0
}

// complete answers a message whose data set is in.
func (a *assoc) complete(pc acceptPC) error {
	c := a.command
	defer a.discardData()
	rsp := &Command{Field: c.Field | 0x8000, AffectedSOPClass: c.AffectedSOPClass, AffectedSOPInstance: c.AffectedSOPInstance,
		RespondedTo: c.MessageID, DataSetType: NoDataSet}
	log := a.s.log()
	switch {
	case c.Field != CStoreRQ:
		rsp.Status, rsp.ErrorComment = StatusUnrecognizedOperation, "only C-ECHO and C-STORE are served"
	case c.AffectedSOPClass != pc.abstract:
		rsp.Status, rsp.ErrorComment = StatusSOPClassNotSupported, "SOP class differs from the presentation context's"
	case c.AffectedSOPInstance == "":
		rsp.Status, rsp.ErrorComment = StatusCannotUnderstand, "no Affected SOP Instance UID"
	case a.dataErr == errTooLarge:
		log.Warn("dicom C-STORE: instance over the size bound, refused", "association", a.peer.ID,
			"sop_instance_uid", c.AffectedSOPInstance, "bytes", a.dataSize, "bound", a.s.maxInstance())
		rsp.Status, rsp.ErrorComment = StatusOutOfResources, fmt.Sprintf("instance over %d bytes: not stored", a.s.maxInstance())
	case a.flush() != nil:
		err := a.dataErr
		log.Error("dicom C-STORE: the instance could not be written to a temporary file", "association", a.peer.ID,
			"sop_instance_uid", c.AffectedSOPInstance, "error", err.Error())
		rsp.Status, rsp.ErrorComment = StatusOutOfResources, "the receiver could not hold the instance: send it again"
	default:
		size, _ := a.data.Seek(0, io.SeekCurrent)
		if _, err := a.data.Seek(0, io.SeekStart); err != nil {
			rsp.Status, rsp.ErrorComment = StatusProcessingFailure, "processing failure: send the instance again"
			break
		}
		st := a.s.Store(a.s.ctx, &a.peer, &StoreRequest{SOPClassUID: c.AffectedSOPClass, SOPInstanceUID: c.AffectedSOPInstance,
			TransferSyntax: pc.transfer, MessageID: c.MessageID, File: a.data, Size: size})
		rsp.Status, rsp.ErrorComment = st.Code, st.Comment
		if st.Code == StatusSuccess || st.Code&0xF000 == 0xB000 {
			a.stored++
		}
	}
	return a.respond(rsp)
}

// flush ends the writing of the data set's file: the first error met
// while writing it, if any.
func (a *assoc) flush() error {
	if a.dataErr == nil && a.data == nil {
		a.dataErr = errors.New("no file")
	}
	if a.dataErr == nil {
		a.dataErr = a.dataW.Flush()
	}
	return a.dataErr
}

// respond sends a command without data set, fragmented to the peer's
// maximum PDU length.
func (a *assoc) respond(c *Command) error {
	if err := a.event(Evt9, nil); err != nil {
		return err
	}
	b := c.Encode()
	max := len(b)
	if a.peerMax != 0 && int(a.peerMax)-6 < max {
		max = int(a.peerMax) - 6
	}
	if max < 1 {
		max = 1
	}
	for len(b) > 0 {
		n := min(len(b), max)
		if err := a.send(&PData{Items: []PDV{{Context: a.cmdPC, Command: true, Last: n == len(b), Data: b[:n]}}}); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// fileMeta is the preamble and file meta information (PS3.10 §7.1) of a
// received instance.
func fileMeta(class, instance, transfer, source string) []byte {
	var g []byte
	el := func(elem uint16, vr string, v []byte) {
		g = binary.LittleEndian.AppendUint16(g, 2)
		g = binary.LittleEndian.AppendUint16(g, elem)
		g = append(g, vr...)
		if vr == "OB" {
			g = append(g, 0, 0)
			g = binary.LittleEndian.AppendUint32(g, uint32(len(v)))
		} else {
			g = binary.LittleEndian.AppendUint16(g, uint16(len(v)))
		}
		g = append(g, v...)
	}
	pad := func(s string, p byte) []byte {
		b := []byte(s)
		if len(b)%2 == 1 {
			b = append(b, p)
		}
		return b
	}
	el(0x0001, "OB", []byte{0, 1})
	el(0x0002, "UI", pad(class, 0))
	el(0x0003, "UI", pad(instance, 0))
	el(0x0010, "UI", pad(transfer, 0))
	el(0x0012, "UI", pad(ImplementationClass, 0))
	el(0x0013, "SH", pad(ImplementationVersion, ' '))
	if source != "" {
		el(0x0016, "AE", pad(source, ' '))
	}
	out := make([]byte, 128, 128+4+12+len(g))
	out = append(out, "DICM"...)
	out = append(out, 2, 0, 0, 0, 'U', 'L', 4, 0)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(g)))
	return append(out, g...)
}
