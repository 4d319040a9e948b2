package dimse_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vigie/dimse"
	"vigie/internal/sharedtest"
)

const rdsr = "1.2.840.10008.5.1.4.1.1.88.67"

func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("dcmtk's %s is not installed (Debian dcmtk; .ci/run installs it)", name)
	}
	return p
}

// serve starts s on a loopback port; it is shut down at the test's end.
func serve(t *testing.T, s *dimse.Server) (host, port string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		if err := <-done; err != dimse.ErrServerClosed {
			t.Errorf("Serve returned %v", err)
		}
	})
	host, port, _ = net.SplitHostPort(ln.Addr().String())
	return host, port
}

// received is what a test's Store handler saw.
type received struct {
	mu    sync.Mutex
	files map[string][]byte // by SOP instance: the Part-10 file handed over
	peers []string
}

func (r *received) store(_ context.Context, p *dimse.Peer, req *dimse.StoreRequest) dimse.Status {
	b, err := io.ReadAll(req.File)
	if err != nil || int64(len(b)) != req.Size {
		return dimse.Status{Code: dimse.StatusProcessingFailure, Comment: "short read"}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.files[req.SOPInstanceUID] = b
	r.peers = append(r.peers, p.CallingAE)
	return dimse.Status{Code: dimse.StatusSuccess}
}

// TestServerWithDcmtk: echoscu and storescu, real peers, against a bare
// server. The instance handed to Store is a Part-10 file dcmtk reads,
// with the instance's attributes as sent; the temporary file is gone once
// answered; an AE title Admit refuses gets A-ASSOCIATE-RJ; a SOP class
// Accepts refuses gets no presentation context.
func TestServerWithDcmtk(t *testing.T) {
	echoscu, storescu, dcmdump := tool(t, "echoscu"), tool(t, "storescu"), tool(t, "dcmdump")
	file := filepath.Join(sharedtest.Path(t, "dicom"), "openrem", "CT-RDSR-GEPixelMed.dcm")
	tmp := t.TempDir()
	got := &received{files: map[string][]byte{}}
	s := &dimse.Server{AETitle: "VIGIE", TempDir: tmp, Store: got.store,
		Accepts: func(c string) bool { return c == rdsr },
		Admit: func(calling string) (any, error) {
			if calling != "CT1" {
				return nil, dimse.RejectCallingAE
			}
			return nil, nil
		}}
	host, port := serve(t, s)

	if out, err := exec.Command(echoscu, "-aet", "CT1", "-aec", "VIGIE", host, port).CombinedOutput(); err != nil {
		t.Fatalf("echoscu: %v\n%s", err, out)
	}
	if out, err := exec.Command(echoscu, "-aet", "OTHER", "-aec", "VIGIE", host, port).CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "Calling AE Title Not Recognized") {
		t.Fatalf("echoscu from a refused AE: %v\n%s", err, out)
	}
	if out, err := exec.Command(storescu, "-aet", "CT1", "-aec", "VIGIE", host, port, file).CombinedOutput(); err != nil {
		t.Fatalf("storescu: %v\n%s", err, out)
	}
	sop := dump(t, dcmdump, file, "0008,0018")
	b, ok := got.files[sop]
	if !ok || len(got.peers) != 1 || got.peers[0] != "CT1" {
		t.Fatalf("Store saw %d files from %v, want %s from CT1", len(got.files), got.peers, sop)
	}
	if !bytes.Equal(b[:128], make([]byte, 128)) || string(b[128:132]) != "DICM" {
		t.Fatal("the file handed over is not Part-10 (preamble, DICM)")
	}
	copyFile := filepath.Join(t.TempDir(), "got.dcm")
	if err := os.WriteFile(copyFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"0002,0002", "0002,0003", "0002,0016", "0008,0016", "0008,0018", "0010,0020", "0020,000d", "0040,a730"} {
		want := dump(t, dcmdump, file, tag)
		if tag == "0002,0016" {
			want = "CT1" // the source AE title: the calling AE
		}
		if g := dump(t, dcmdump, copyFile, tag); g != want {
			t.Errorf("(%s): received %q, sent %q", tag, g, want)
		}
	}
	if es, _ := os.ReadDir(tmp); len(es) != 0 {
		t.Errorf("%d temporary files left after the answer", len(es))
	}

	// A class Accepts refuses: no presentation context, nothing stored.
	mr := filepath.Join(sharedtest.Path(t, "dicom"), "openrem", "DX-Im-Carestream_DRX.dcm")
	out, _ := exec.Command(storescu, "-R", "-aet", "CT1", "-aec", "VIGIE", host, port, mr).CombinedOutput()
	if !strings.Contains(string(out), "No Acceptable Presentation Contexts") || len(got.files) != 1 {
		t.Errorf("a refused class: %d files stored\n%s", len(got.files), out)
	}
}

// dump returns the value dcmdump prints for tag in file (the text between
// the brackets, or the first word after the VR).
func dump(t *testing.T, dcmdump, file, tag string) string {
	t.Helper()
	out, err := exec.Command(dcmdump, "-q", "-M", "+L", "+P", tag, file).Output()
	if err != nil {
		t.Fatalf("dcmdump %s: %v", file, err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	line = strings.TrimSpace(line)
	if i, j := strings.Index(line, "["), strings.LastIndex(line, "]"); i >= 0 && j > i {
		return line[i+1 : j]
	}
	if strings.Contains(line, "SQ") {
		return "SQ"
	}
	return line
}

// TestServerAbortedTransferLeavesNothing: storescu killed while it sends
// a 128 MiB instance: Store is never called, and no temporary file stays.
func TestServerAbortedTransferLeavesNothing(t *testing.T) {
	storescu := tool(t, "storescu")
	big := bigInstance(t, 128<<20)
	tmp := t.TempDir()
	got := &received{files: map[string][]byte{}}
	s := &dimse.Server{TempDir: tmp, Store: got.store, Accepts: func(string) bool { return true }}
	// The listener tells when the server has read 8 MiB of the instance.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- s.Serve(&countingListener{Listener: ln, after: 8 << 20, reached: started}) }()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	cmd := exec.Command(storescu, "-aet", "CT1", "-aec", "VIGIE", host, port, big)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	<-started
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	// Shutdown waits for the association to end (the connection closed).
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != dimse.ErrServerClosed {
		t.Fatalf("Serve returned %v", err)
	}
	if len(got.files) != 0 {
		t.Errorf("Store was called for an instance cut short")
	}
	if es, _ := os.ReadDir(tmp); len(es) != 0 {
		t.Errorf("%d temporary files left after the connection was lost", len(es))
	}
}

// countingListener closes reached once its connections have read after
// bytes.
type countingListener struct {
	net.Listener
	after   int64
	reached chan struct{}
	n       atomic.Int64
	once    sync.Once
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, l: l}, nil
}

type countingConn struct {
	net.Conn
	l *countingListener
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.l.n.Add(int64(n)) >= c.l.after {
		c.l.once.Do(func() { close(c.l.reached) })
	}
	return n, err
}

// bigInstance writes a copy of a DX image of shared/dicom whose PixelData
// holds size bytes.
func bigInstance(t *testing.T, size uint32) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedtest.Path(t, "dicom"), "openrem", "DX-Im-Carestream_DR7500-1.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	pixel := []byte{0xe0, 0x7f, 0x10, 0x00, 'O', 'W', 0, 0}
	i := bytes.LastIndex(b, pixel)
	if i < 0 {
		t.Fatal("no PixelData")
	}
	p := filepath.Join(t.TempDir(), "big.dcm")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.Write(b[:i+8])
	binary.Write(w, binary.LittleEndian, size)
	zeros := make([]byte, 1<<20)
	for n := int(size); n > 0; n -= len(zeros) {
		w.Write(zeros[:min(n, len(zeros))])
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestServerLimitsAndTimers: over MaxAssociations, echoscu is rejected
// (transient, local limit exceeded); a connection that sends nothing is
// closed once ARTIM expires; one that sends what is no PDU gets an
// A-ABORT and is closed.
func TestServerLimitsAndTimers(t *testing.T) {
	echoscu := tool(t, "echoscu")
	s := &dimse.Server{MaxAssociations: 1, ARTIM: 200 * time.Millisecond, Store: (&received{}).store}
	host, port := serve(t, s)
	addr := net.JoinHostPort(host, port)

	// A silent connection holds the one place until ARTIM closes it.
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	out, err := exec.Command(echoscu, "-aet", "CT1", "-aec", "ANY", host, port).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Local Limit Exceeded") {
		t.Errorf("echoscu over the limit: %v, want a rejection (local limit exceeded)\n%s", err, out)
	}
	if n, err := silent.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("the silent connection: read %d, %v; want it closed by the server (EOF) once ARTIM expired", n, err)
	}

	// Bytes that are no PDU: A-ABORT, then the close.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte{0x09, 0, 0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	p, err := dimse.ReadPDU(c, 1<<16, nil)
	if _, ok := p.(*dimse.Abort); !ok || err != nil {
		t.Fatalf("after an unknown PDU type: %T %+v, %v; want an A-ABORT", p, p, err)
	}
	if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("after the A-ABORT: read %d, %v; want the connection closed", n, err)
	}
	// The place is free again.
	if out, err := exec.Command(echoscu, "-aet", "CT1", "-aec", "ANY", host, port).CombinedOutput(); err != nil {
		t.Errorf("echoscu once the place is free: %v\n%s", err, out)
	}
}

// TestServerRefusesInstanceOverBound: an instance over MaxInstance is read
// to its end but not kept: Store never sees it, the temporary folder holds
// nothing of it (its bytes are dropped as they arrive, not written), and
// storescu gets A700 (out of resources) with the bound in the comment; the
// association goes on serving the next instance.
func TestServerRefusesInstanceOverBound(t *testing.T) {
	storescu := tool(t, "storescu")
	big := bigInstance(t, 4<<20)
	small := filepath.Join(sharedtest.Path(t, "dicom"), "openrem", "DX-Im-Carestream_DR7500-1.dcm")
	tmp := t.TempDir()
	got := &received{files: map[string][]byte{}}
	var largest atomic.Int64
	s := &dimse.Server{TempDir: tmp, MaxInstance: 2 << 20, Accepts: func(string) bool { return true },
		Store: func(ctx context.Context, p *dimse.Peer, req *dimse.StoreRequest) dimse.Status {
			return got.store(ctx, p, req)
		}}
	// Watch the temporary folder while the big instance arrives.
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			default:
			}
			es, _ := os.ReadDir(tmp)
			for _, e := range es {
				if fi, err := e.Info(); err == nil && fi.Size() > largest.Load() {
					largest.Store(fi.Size())
				}
			}
			runtime.Gosched()
		}
	}()
	host, port := serve(t, s)
	out, _ := exec.Command(storescu, "-v", "--no-halt", "-aet", "CT1", "-aec", "VIGIE", host, port, big, small).CombinedOutput()
	close(stop)
	<-watched
	if !strings.Contains(string(out), "Refused: OutOfResources") {
		t.Errorf("storescu of an instance over the bound: want status A700\n%s", out)
	}
	if len(got.files) != 1 {
		t.Errorf("Store saw %d instances, want 1 (the small one after the refused one)\n%s", len(got.files), out)
	}
	if l := largest.Load(); l > 3<<20 {
		t.Errorf("a temporary file reached %d bytes with a bound of %d", l, 2<<20)
	}
	if es, _ := os.ReadDir(tmp); len(es) != 0 {
		t.Errorf("%d temporary files left", len(es))
	}
}
