package hl7

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// MLLP framing (HL7 v2 minimal lower layer protocol): a message travels as
// StartBlock, the message, EndBlock, CR.
const (
	StartBlock = 0x0B
	EndBlock   = 0x1C
	CR         = 0x0D
)

// Handler answers one message with its acknowledgement.
type Handler func(ctx context.Context, msg []byte, client string) []byte

// Server accepts MLLP connections and hands every message to its handler:
// many connections at once, the messages of one connection one after the
// other, each acknowledged before the next is read (HL7's original
// acknowledgement mode), so that a connection's messages are applied in
// the order they were sent.
type Server struct {
	Handler Handler
	// TLS, when set, wraps every connection in TLS.
	TLS *tls.Config
	Log *slog.Logger // nil: no log

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]*connState
	closed bool
	wg     sync.WaitGroup
}

type connState struct{ busy bool }

// Serve accepts connections on ln until Shutdown; it returns nil after a
// Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ln.Close()
	}
	s.ln = ln
	if s.conns == nil {
		s.conns = map[net.Conn]*connState{}
	}
	s.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		if s.TLS != nil {
			c = tls.Server(c, s.TLS)
		}
		st := &connState{}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return nil
		}
		s.conns[c] = st
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(c, st)
	}
}

// Shutdown stops accepting, lets every message being applied finish and
// be acknowledged, and closes the connections (a sender reconnects and
// sends again what was not acknowledged). ctx bounds the wait.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	if s.ln != nil {
		s.ln.Close()
	}
	for c, st := range s.conns {
		if !st.busy {
			c.Close()
		} else {
			// Its message finishes; the next read fails at once.
			c.SetReadDeadline(time.Now())
		}
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		return ctx.Err()
	}
}

func (s *Server) serveConn(c net.Conn, st *connState) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	client := c.RemoteAddr().String()
	r := bufio.NewReaderSize(c, 64<<10)
	ctx := context.Background()
	for {
		msg, err := ReadFrame(r)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && s.Log != nil {
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					s.Log.Warn("mllp: connection closed", "client", client, "error", err.Error())
				}
			}
			if errors.Is(err, errTooLong) {
				writeFrame(c, Ack(nil, AR, &Refusal{Code: 207, Reject: true, Reason: err.Error()}, "", time.Now()))
			}
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		st.busy = true
		s.mu.Unlock()
		ack := s.Handler(ctx, msg, client)
		err = writeFrame(c, ack)
		s.mu.Lock()
		st.busy = false
		closed := s.closed
		s.mu.Unlock()
		if err != nil || closed {
			return
		}
	}
}

var errTooLong = errors.New("mllp: message longer than the limit of one HL7 message")

// ReadFrame reads one MLLP frame and returns the message inside. Bytes
// before the start block (line ends between frames) are skipped; a frame
// longer than MaxMessageBytes is an error.
func ReadFrame(r *bufio.Reader) ([]byte, error) {
	for {
		b, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		if b == StartBlock {
			break
		}
	}
	var msg []byte
	for {
		chunk, err := r.ReadSlice(EndBlock)
		if len(msg)+len(chunk) > MaxMessageBytes+1 {
			return nil, errTooLong
		}
		msg = append(msg, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		msg = msg[:len(msg)-1] // the end block
		if b, err := r.Peek(1); err == nil && b[0] == CR {
			r.ReadByte()
		}
		return bytes.Clone(msg), nil
	}
}

func writeFrame(w io.Writer, msg []byte) error {
	buf := make([]byte, 0, len(msg)+3)
	buf = append(buf, StartBlock)
	buf = append(buf, msg...)
	buf = append(buf, EndBlock, CR)
	_, err := w.Write(buf)
	return err
}

// Start listens on addr and serves feed's messages over MLLP in the
// background, in TLS when certFile and keyFile are set (PEM files, the
// API's). It returns the server, to Shutdown, and the address it listens
// on.
func Start(addr, certFile, keyFile string, feed *Feed, log *slog.Logger) (*Server, string, error) {
	s := &Server{Handler: feed.Handler(), Log: log}
	if certFile != "" || keyFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, "", fmt.Errorf("mllp: TLS: %w", err)
		}
		s.TLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("mllp: %w", err)
	}
	go func() {
		if err := s.Serve(ln); err != nil && log != nil {
			log.Error("mllp: the listener stopped", "error", err.Error())
		}
	}()
	return s, ln.Addr().String(), nil
}

// Handler returns the feed as an MLLP handler: each message applied and
// answered by its acknowledgement, and logged with ids and codes only.
func (f *Feed) Handler() Handler {
	return func(ctx context.Context, msg []byte, client string) []byte {
		o := f.Handle(ctx, msg, client)
		if f.Log != nil {
			args := []any{"client", client, "event", o.Event, "control_id", o.ControlID, "ack", o.Code, "replayed", o.Replayed}
			if o.Refusal != nil {
				args = append(args, "at", o.Refusal.At.String(), "hl7_error", o.Refusal.Code)
			}
			level := slog.LevelDebug // an applied message: the audit trail has it
			if o.Code != AA {
				level = slog.LevelInfo
			}
			f.Log.Log(ctx, level, "hl7 message", args...)
		}
		return o.Ack
	}
}
