package hl7

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"vigie"
	"vigie/internal/sharedtest"
)

// mllpSend is the MLLP client of Debian's python3-hl7: the real peer of
// these tests (CI installs it, see .ci/run).
func mllpSend(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("mllp_send")
	if err != nil {
		t.Skip("mllp_send is not installed (apt-get install python3-hl7): the MLLP tests need this real peer")
	}
	return p
}

// serveFeed starts an MLLP server for f on 127.0.0.1 and returns its port.
func serveFeed(t testing.TB, f *Feed) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Handler: f.Handler()}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// send runs mllp_send on a file of messages (one after the other, as
// mllp_send --loose reads them) and returns the acknowledgements it
// printed, unframed.
func send(t testing.TB, bin, port, file string) [][]byte {
	t.Helper()
	out, err := exec.Command(bin, "--loose", "-p", port, "-f", file, "127.0.0.1").Output()
	if err != nil {
		t.Fatalf("mllp_send %s: %v\n%s", filepath.Base(file), err, out)
	}
	var acks [][]byte
	for _, frame := range bytes.Split(out, []byte{EndBlock}) {
		frame = bytes.Trim(frame, "\x0b\r\n")
		if len(frame) > 0 {
			acks = append(acks, frame)
		}
	}
	return acks
}

// TestMLLPSharedSamples sends the PAM-FR samples with mllp_send, one
// connection per file, in the order a site sends them.
func TestMLLPSharedSamples(t *testing.T) {
	bin := mllpSend(t)
	dir := sharedtest.Path(t, "hl7/pam-fr")
	f := newFeed(t, "")
	port := serveFeed(t, f)
	for _, tt := range []struct{ file, code, at string }{
		{"A28-create-ins-qualified.hl7", AA, ""},
		{"A31-update-used-name.hl7", AA, ""},
		{"A28-create-provisional-duplicate.hl7", AA, ""},
		{"A40-merge-local-duplicate.hl7", AA, ""},
		{"A47-change-local-id.hl7", AE, "MRG-1.1"},
		{"A28-create-latin1-escapes.hl7", AA, ""},
		{"A28-create-ins-qualified.hl7", AA, ""}, // sent again: the same ACK
	} {
		acks := send(t, bin, port, filepath.Join(dir, tt.file))
		if len(acks) != 1 {
			t.Fatalf("%s: %d acknowledgements, want 1", tt.file, len(acks))
		}
		if code, at, text := ackOf(t, acks[0]); code != tt.code || at != tt.at {
			t.Errorf("%s: %s at %q (%s), want %s at %q", tt.file, code, at, text, tt.code, tt.at)
		}
	}
	if h, _ := f.Index.History(context.Background(), vigie.SourceKey{Authority: chuA, LocalID: "00012345"}); len(h) != 2 {
		t.Errorf("00012345 has %d versions, want 2 (A28 and A31; the A28 sent again changed nothing)", len(h))
	}
}

// feedFile writes, for connection c, n persons each created (A28) then
// updated twice (A31, a new phone each time), and returns the file.
func feedFile(t testing.TB, dir string, c, n int) string {
	var b bytes.Buffer
	families := []string{"MARTIN", "BERNARD", "THOMAS", "PETIT", "ROBERT", "RICHARD", "DURAND", "DUBOIS", "MOREAU", "LAURENT"}
	givens := []string{"LEA", "HUGO", "CHLOE", "LOUIS", "EMMA", "GABRIEL", "JADE", "RAPHAEL", "LOUISE", "ARTHUR"}
	for i := range n {
		id := fmt.Sprintf("C%02dP%05d", c, i)
		p := pid(id, families[(i+c)%10]+strings.Repeat("E", i%7), givens[(i/10+c)%10], fmt.Sprintf("19%02d%02d%02d", 30+i%70, 1+i%12, 1+i%28), "MF"[i%2:i%2+1])
		for v, event := range []string{"A28", "A31", "A31"} {
			ctl := fmt.Sprintf("%s-%d", id, v)
			b.Write(msg(ctl, event, p+fmt.Sprintf("|||||06000000%02d", v)))
			b.WriteString("\n")
		}
	}
	path := filepath.Join(dir, fmt.Sprintf("feed-%d.hl7", c))
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestMLLPConcurrentConnections sends eight feeds at once, each over its
// own mllp_send connection: every message is acknowledged AA, and each
// record ends with the traits of its connection's last message (the
// messages of one connection are applied in order).
func TestMLLPConcurrentConnections(t *testing.T) {
	bin := mllpSend(t)
	f := newFeed(t, "")
	port := serveFeed(t, f)
	dir := t.TempDir()
	const conns, persons = 8, 15
	var wg sync.WaitGroup
	acks := make([][][]byte, conns)
	for c := range conns {
		file := feedFile(t, dir, c, persons)
		wg.Go(func() { acks[c] = send(t, bin, port, file) })
	}
	wg.Wait()
	ctx := context.Background()
	for c := range conns {
		if len(acks[c]) != persons*3 {
			t.Errorf("connection %d: %d acknowledgements, want %d", c, len(acks[c]), persons*3)
		}
		for _, a := range acks[c] {
			if code, at, text := ackOf(t, a); code != AA {
				t.Errorf("connection %d: %s at %s: %s", c, code, at, text)
			}
		}
		for i := range persons {
			k := vigie.SourceKey{Authority: chuA, LocalID: fmt.Sprintf("C%02dP%05d", c, i)}
			v, err := f.Index.Latest(ctx, k)
			if err != nil {
				t.Fatalf("%s: %v", k.LocalID, err)
			}
			if v.Record.Phone != "0600000002" || v.Version != 3 {
				t.Errorf("%s: version %d, phone %s: want version 3 with the last phone", k.LocalID, v.Version, v.Record.Phone)
			}
		}
	}
}

// TestMLLPShutdownFinishesMessage stops the server while a message is
// being applied: Shutdown waits for it, and the sender gets its
// acknowledgement.
func TestMLLPShutdownFinishesMessage(t *testing.T) {
	bin := mllpSend(t)
	entered, release := make(chan struct{}), make(chan struct{})
	s := &Server{Handler: func(ctx context.Context, msg []byte, client string) []byte {
		close(entered)
		<-release
		m, err := Parse(msg)
		if err != nil {
			t.Error(err)
		}
		return Ack(m, AA, nil, "applied", time.Now())
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	file := filepath.Join(t.TempDir(), "one.hl7")
	if err := os.WriteFile(file, msg("S1", "A28", pid("1", "A", "B", "", "")), 0o600); err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	sent := make(chan [][]byte, 1)
	go func() { sent <- send(t, bin, port, file) }()
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- s.Shutdown(context.Background()) }()
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned (%v) while a message was being applied", err)
	default:
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	acks := <-sent
	if len(acks) != 1 {
		t.Fatalf("%d acknowledgements, want 1", len(acks))
	}
	if code, _, text := ackOf(t, acks[0]); code != AA || text != "applied" {
		t.Errorf("got %s %q", code, text)
	}
}
