package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"vigie/hl7"
	"vigie/mpi"
	"vigie/sites"
	"vigie/store"
)

// outboxReceiver starts hl7/testdata/receiver.py (an MLLP server of
// Debian's python3-hl7, not Vigie's code) on port (0: any), recording in
// out, and returns its address and a function that stops it.
func outboxReceiver(t *testing.T, port int, out string, args ...string) (string, func()) {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import hl7.mllp").Run(); err != nil {
		t.Skip("Debian's python3-hl7 is not installed (apt-get install python3-hl7): this test needs its MLLP server as the receiving peer")
	}
	cmd := exec.Command(py, append([]string{"../../hl7/testdata/receiver.py", "--port", fmt.Sprint(port), "--out", out}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if _, serr := fmt.Sscanf(line, "PORT %d", &port); err != nil || serr != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the receiver did not start: %q %v", line, err)
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait() }
	t.Cleanup(stop)
	return fmt.Sprintf("127.0.0.1:%d", port), stop
}

// receivedControls returns the MSH-10 of every message the receiver
// recorded, in the order received.
func receivedControls(t *testing.T, out string) []string {
	t.Helper()
	b, err := os.ReadFile(out)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var cs []string
	for line := range strings.Lines(string(b)) {
		var r struct{ Control, Type string }
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		if r.Type != "ADT^A28^ADT_A05" {
			t.Errorf("received %s, want ADT^A28 for each new person", r.Type)
		}
		cs = append(cs, r.Control)
	}
	return cs
}

// waitFor polls cond until it holds, failing after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeOutboxKill kills `vigie serve` (SIGKILL) while its outbox is
// delivering to a subscriber, and starts it again: every notification
// arrives, in the order of the events, and only one whose acknowledgement
// the kill lost may arrive twice (with the same control id).
func TestServeOutboxKill(t *testing.T) {
	if os.Getenv(mllpChildEnv) != "" {
		t.Skip("child process")
	}
	bin, err := exec.LookPath("mllp_send")
	if err != nil {
		t.Skip("mllp_send is not installed (apt-get install python3-hl7): this test needs the real peer")
	}
	out := filepath.Join(t.TempDir(), "got.jsonl")
	addr, stopReceiver := outboxReceiver(t, 0, out, "--delay", "0.01")
	const authority = "1.2.250.1.999.101"
	data := t.TempDir()
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err = sites.Open(db).Add(ctx, sites.Site{Authority: authority, Name: "CHU A", HL7Senders: []string{"CHU_A"}})
	if err == nil {
		var ix *mpi.Index
		if ix, err = mpi.Open(db, nil, mpi.Options{}); err == nil {
			_, err = (&hl7.Outbox{Index: ix, DB: db}).AddSubscriber(ctx, hl7.Subscriber{Name: "RIS", Addr: addr, RegionalOID: "1.2.250.1.999.1.99"})
			ix.Close()
		}
	}
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	const persons = 150
	var feed bytes.Buffer
	for i := range persons {
		fmt.Fprintf(&feed, "MSH|^~\\&|HIS|CHU_A|VIGIE|REG|20261207101500||ADT^A28^ADT_A05|N%d|P|2.5|||||FRA|UNICODE UTF-8\r"+
			"PID|1||N%05d^^^CHU-A&%s&ISO^PI||NOM%dX%d^PRENOM%d^^^^^L||19%02d%02d%02d|F\n",
			i, i, authority, i, i*7, i%13, 30+i%70, 1+i%12, 1+i%28)
	}
	file := filepath.Join(t.TempDir(), "feed.hl7")
	if err := os.WriteFile(file, feed.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	// The feed is applied and acknowledged; the outbox delivers (slowly:
	// the receiver waits 10 ms before each answer) and is killed midway.
	child, mllp := startOutboxChild(t, data)
	if b, err := exec.Command(bin, "--loose", "-p", strings.Split(mllp, ":")[1], "-f", file, "127.0.0.1").CombinedOutput(); err != nil {
		t.Fatalf("mllp_send: %v\n%s", err, b)
	}
	waitFor(t, "30 notifications", func() bool { return len(receivedControls(t, out)) >= 30 })
	child.Process.Signal(syscall.SIGKILL)
	child.Wait()
	before := len(receivedControls(t, out))
	if before >= persons {
		t.Fatalf("all %d delivered before the kill: the test killed nothing", before)
	}

	// Started again: the rest arrives.
	child, _ = startOutboxChild(t, data)
	waitFor(t, "every notification", func() bool {
		cs := receivedControls(t, out)
		slices.Sort(cs)
		return len(slices.Compact(cs)) == persons
	})
	child.Process.Signal(syscall.SIGTERM)
	child.Wait()
	stopReceiver()

	cs := receivedControls(t, out)
	var firsts []string
	seen := map[string]bool{}
	for _, c := range cs {
		if !seen[c] {
			firsts = append(firsts, c)
		}
		seen[c] = true
	}
	if dup := len(cs) - len(firsts); dup > 1 {
		t.Errorf("%d notifications sent twice; at most the one in flight at the kill may be", dup)
	}
	byEvent := func(a, b string) int {
		var ea, na, eb, nb int
		fmt.Sscanf(a, "VG%d.%d", &ea, &na)
		fmt.Sscanf(b, "VG%d.%d", &eb, &nb)
		return cmpInts(ea, eb, na, nb)
	}
	if !slices.IsSortedFunc(firsts, byEvent) {
		t.Errorf("received out of the events' order: %v", firsts)
	}
	t.Logf("killed after %d of %d notifications; %d received in all", before, persons, len(cs))

	db, err = store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := (&hl7.Outbox{DB: db}).Status(ctx)
	if err != nil || len(st) != 1 || st[0].Pending != 0 {
		t.Errorf("outbox after the restart: %+v %v", st, err)
	}
}

func cmpInts(a, b, c, d int) int {
	if a != b {
		return a - b
	}
	return c - d
}

// startOutboxChild starts `vigie serve` with an MLLP listener on data (the
// child of TestServeMLLPKill) and returns it with the listener's address.
func startOutboxChild(t *testing.T, data string) (*exec.Cmd, string) {
	t.Helper()
	child := exec.Command(os.Args[0], "-test.run=^TestServeMLLPChild$", "-test.count=1")
	child.Env = append(os.Environ(), mllpChildEnv+"="+data)
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "mllp "); ok {
			go func() {
				for sc.Scan() {
				}
			}()
			return child, a
		}
	}
	t.Fatal("the child server did not start")
	return nil, ""
}
