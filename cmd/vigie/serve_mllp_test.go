package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"vigie"
	"vigie/hl7"
	"vigie/matcher"
	"vigie/mpi"
	"vigie/sites"
	"vigie/store"
)

const mllpChildEnv = "VIGIE_MLLP_CHILD"

// TestServeMLLPChild is the child process of TestServeMLLPKill: `vigie
// serve --mllp-addr` on the given store, on 127.0.0.1, until killed or
// stopped by SIGTERM. It does nothing when run directly.
func TestServeMLLPChild(t *testing.T) {
	data := os.Getenv(mllpChildEnv)
	if data == "" {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	err := serve(ctx, serveConfig{Data: data, Addr: "127.0.0.1:0", MLLPAddr: "127.0.0.1:0",
		MLLPReady: func(a string) { fmt.Printf("mllp %s\n", a) }})
	if err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(1)
	}
	fmt.Println("stopped")
}

// TestServeMLLPKill kills the server (SIGKILL) in the middle of an HL7
// feed sent by mllp_send, restarts it and sends the whole feed again, as
// a sender does with what it has not seen acknowledged: every message
// acknowledged before the kill is answered with the same acknowledgement
// (from the journal), and every message is applied exactly once (each
// person ends with three versions, the last one's phone).
func TestServeMLLPKill(t *testing.T) {
	if os.Getenv(mllpChildEnv) != "" {
		t.Skip("child process")
	}
	bin, err := exec.LookPath("mllp_send")
	if err != nil {
		t.Skip("mllp_send is not installed (apt-get install python3-hl7): this test needs the real peer")
	}
	const authority = "1.2.250.1.999.101"
	data := t.TempDir()
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = sites.Open(db).Add(context.Background(), sites.Site{Authority: authority, Name: "CHU A", HL7Senders: []string{"CHU_A"}})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	const persons = 120
	var feed bytes.Buffer
	for i := range persons {
		for v, event := range []string{"A28", "A31", "A31"} {
			fmt.Fprintf(&feed, "MSH|^~\\&|HIS|CHU_A|VIGIE|REG|20261207101500||ADT^%s^ADT_A05|K%d-%d|P|2.5^FRA^2.11|||||FRA|UNICODE UTF-8\r"+
				"PID|1||K%05d^^^CHU-A&%s&ISO^PI||NOM%d^PRENOM^PRENOM^^^^L||19%02d%02d%02d|F|||||06000000%02d\n",
				event, i, v, i, authority, i%97, 30+i%70, 1+i%12, 1+i%28, v)
		}
	}
	file := filepath.Join(t.TempDir(), "feed.hl7")
	if err := os.WriteFile(file, feed.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	killAfter := 30 + rand.IntN(200)
	before := runMLLPFeed(t, data, bin, file, killAfter)
	if len(before) < killAfter || len(before) >= 3*persons {
		t.Fatalf("%d acknowledgements before the kill, want at least %d and fewer than %d", len(before), killAfter, 3*persons)
	}
	after := runMLLPFeed(t, data, bin, file, 0)
	if len(after) != 3*persons {
		t.Fatalf("after the restart: %d acknowledgements, want %d", len(after), 3*persons)
	}
	for i, a := range after {
		if code := ackCode(t, a); code != hl7.AA {
			t.Errorf("message %d after the restart: %s\n%q", i, code, a)
		}
		if i < len(before) && !bytes.Equal(a, before[i]) {
			t.Errorf("message %d was acknowledged before the kill and answered otherwise after:\n%q\n%q", i, before[i], a)
		}
	}
	t.Logf("killed after %d acknowledged messages; %d sent again", len(before), len(after))

	db, err = store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ix, err := mpi.Open(db, matcher.DefaultModel(), mpi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	ctx := context.Background()
	if err := ix.Verify(ctx); err != nil {
		t.Errorf("invariants: %v", err)
	}
	for i := range persons {
		k := vigie.SourceKey{Authority: authority, LocalID: fmt.Sprintf("K%05d", i)}
		h, err := ix.History(ctx, k)
		if err != nil {
			t.Fatalf("%s: %v", k.LocalID, err)
		}
		if len(h) != 3 || h[len(h)-1].Record.Phone != "0600000002" {
			t.Errorf("%s: %d versions, last phone %q: want 3, each message applied once", k.LocalID, len(h), h[len(h)-1].Record.Phone)
		}
	}
}

// runMLLPFeed starts the child server on data, sends file with mllp_send
// and returns the acknowledgements received. With killAfter > 0 the child
// is killed (SIGKILL) once that many are received; otherwise the whole
// file is sent and the child stopped by SIGTERM.
func runMLLPFeed(t *testing.T, data, bin, file string, killAfter int) [][]byte {
	t.Helper()
	child, addr := startChildServer(t, "TestServeMLLPChild", mllpChildEnv, data, "mllp ")
	host, port, _ := strings.Cut(addr, ":")
	sender := exec.Command(bin, "--loose", "-p", port, "-f", file, host)
	sender.Env = append(os.Environ(), "PYTHONUNBUFFERED=1")
	out, err := sender.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sender.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	go func() {
		<-ctx.Done()
		_ = sender.Process.Kill()
	}()
	var acks [][]byte
	r := bufio.NewReader(out)
	for {
		frame, err := r.ReadBytes(hl7.EndBlock)
		if err != nil {
			break
		}
		acks = append(acks, bytes.Trim(frame, "\x0b\x1c\r\n"))
		if killAfter > 0 && len(acks) == killAfter {
			_ = child.cmd.Process.Kill()
		}
	}
	senderErr := sender.Wait()
	if killAfter == 0 {
		if senderErr != nil {
			t.Errorf("mllp_send: %v", senderErr)
		}
	}
	child.stop(t, killAfter > 0)
	return acks
}

func ackCode(t *testing.T, ack []byte) string {
	t.Helper()
	m, err := hl7.Parse(ack)
	if err != nil {
		t.Fatalf("the ACK does not parse: %v: %q", err, ack)
	}
	msa, _ := m.Segment("MSA")
	return msa.Get(1, 0)
}

// TestServeMLLPTLS serves MLLP in TLS with the API's certificate
// (--mllp-tls) and sends a message through openssl s_client, which checks
// the certificate.
func TestServeMLLPTLS(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed: this test needs it as the TLS peer")
	}
	const authority = "1.2.250.1.999.101"
	data := t.TempDir()
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = sites.Open(db).Add(context.Background(), sites.Site{Authority: authority, Name: "CHU A", HL7Senders: []string{"CHU_A"}})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	cert, key, _ := selfSigned(t)
	ready := make(chan string, 1)
	startServe(t, serveConfig{Data: data, TLSCert: cert, TLSKey: key, MLLPAddr: "127.0.0.1:0", MLLPTLS: true,
		MLLPReady: func(a string) { ready <- a }})
	addr := <-ready
	msg := "MSH|^~\\&|HIS|CHU_A|VIGIE|REG|20261207101500||ADT^A28^ADT_A05|TLS1|P|2.5|||||FRA|UNICODE UTF-8\r" +
		"PID|1||T0001^^^CHU-A&" + authority + "&ISO^PI||LEROY^ÉLISE^ÉLISE^^^^L||19800101|F\r"
	c := exec.Command(openssl, "s_client", "-connect", addr, "-CAfile", cert, "-verify_return_error", "-quiet")
	c.Stdin = strings.NewReader("\x0b" + msg + "\x1c\r")
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	c.Stderr = &stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	frame, err := bufio.NewReader(out).ReadBytes(hl7.EndBlock)
	_ = c.Process.Kill()
	_ = c.Wait()
	if err != nil {
		t.Fatalf("no acknowledgement over TLS: %v\n%s", err, stderr.String())
	}
	if code := ackCode(t, bytes.Trim(frame, "\x0b\x1c\r\n")); code != hl7.AA {
		t.Errorf("over TLS: %s\n%q", code, frame)
	}
}
