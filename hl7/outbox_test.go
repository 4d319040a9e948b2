package hl7

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"vigie"
	"vigie/mpi"
	"vigie/store"
)

// The regional assigning authority of the tests' subscribers.
const regionalOID = "1.2.250.1.999.1.99"

// pythonHL7 is Debian's interpreter with its python3-hl7 package, whose
// hl7.mllp server is the receiving peer of these tests.
func pythonHL7(t testing.TB) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import hl7.mllp").Run(); err != nil {
		t.Skip("Debian's python3-hl7 is not installed (apt-get install python3-hl7): the outbox tests need its MLLP server as the receiving peer")
	}
	return py
}

// receiver is testdata/receiver.py running: an MLLP listener of
// python3-hl7 recording what it got.
type receiver struct {
	cmd  *exec.Cmd
	port int
	out  string
	done chan struct{} // closed once it exited
}

// received is one message as the receiver recorded it.
type received struct {
	N       int    `json:"n"`
	Control string `json:"control"`
	Type    string `json:"type"`
	Raw     string `json:"raw"`
	OBX     []obx  `json:"obx"`
}

// startReceiver starts the receiver on port (0: any), appending to out;
// args are its options (--ae N, --die-at N).
func startReceiver(t testing.TB, port int, out string, args ...string) *receiver {
	t.Helper()
	py := pythonHL7(t)
	cmd := exec.Command(py, append([]string{"testdata/receiver.py", "--port", strconv.Itoa(port), "--out", out}, args...)...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the receiver did not start: %v", err)
	}
	r := &receiver{cmd: cmd, out: out, done: make(chan struct{})}
	if _, err := fmt.Sscanf(line, "PORT %d", &r.port); err != nil {
		t.Fatalf("receiver said %q", line)
	}
	go func() { cmd.Wait(); close(r.done) }()
	t.Cleanup(r.stop)
	return r
}

func (r *receiver) stop() {
	select {
	case <-r.done:
	default:
		r.cmd.Process.Kill()
		<-r.done
	}
}

func (r *receiver) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

// got reads what the receiver recorded.
func got(t testing.TB, out string) []received {
	t.Helper()
	b, err := os.ReadFile(out)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var rs []received
	for line := range strings.Lines(string(b)) {
		var r received
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("receiver line %q: %v", line, err)
		}
		rs = append(rs, r)
	}
	return rs
}

// newOutbox is an outbox over a patient index holding four persons of the
// CHU, each their own identity, and their identities in order.
func newOutbox(t testing.TB, dir string) (*Outbox, []vigie.IdentityID) {
	o, ids, _ := newOutboxStop(t, dir)
	return o, ids
}

// newOutboxStop is newOutbox, with the function that closes its store.
func newOutboxStop(t testing.TB, dir string) (*Outbox, []vigie.IdentityID, func()) {
	t.Helper()
	f, stop := openFeed(t, dir)
	o := &Outbox{Index: f.Index, DB: f.DB, Trail: f.Trail}
	t.Cleanup(o.Close)
	var ids []vigie.IdentityID
	for i, p := range [][3]string{{"MARTIN", "MARIE", "1956-03-14"}, {"LEROY", "JEAN", "1948-11-02"}, {"DURAND", "PAUL", "1990-07-21"}, {"PETIT", "ANNE", "1973-01-30"}} {
		res, err := f.Index.Resolve(context.Background(), vigie.Record{Authority: chuA, LocalID: fmt.Sprintf("IPP%d", i+1),
			BirthName: p[0], FirstName: p[1], FirstNames: p[1], BirthDate: p[2], Sex: "F", Status: vigie.StatusVALI}, mpi.System)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Identity)
	}
	return o, ids, stop
}

// pidOf reads a received message's PID with the regional authority as the
// site's: its local id is then the regional identifier.
func pidOf(t testing.TB, raw string) (vigie.Record, *Message) {
	t.Helper()
	m, err := Parse([]byte(strings.ReplaceAll(raw, "\n", "\r")))
	if err != nil {
		t.Fatalf("a received message does not parse: %v\n%s", err, raw)
	}
	pid, ok := m.Segment("PID")
	if !ok {
		t.Fatalf("no PID: %s", raw)
	}
	rec, err := ReadPID(pid, 1, regionalOID)
	if err != nil {
		t.Fatalf("PID: %v\n%s", err, raw)
	}
	return rec, m
}

func TestOutboxMessagesInOrder(t *testing.T) {
	ctx := context.Background()
	o, ids := newOutbox(t, "")
	out := filepath.Join(t.TempDir(), "got.jsonl")
	r := startReceiver(t, 0, out)
	if _, err := o.AddSubscriber(ctx, Subscriber{Name: "RIS_A", Addr: r.addr(), RegionalOID: regionalOID}); err != nil {
		t.Fatal(err)
	}
	ix := o.Index
	// A merge; a link that moves an identity's last record (a merge for
	// the subscriber); an unlink; a change of attributes. The outbox
	// reads the events after each, as Run does every second: a message
	// carries the identity as it is when its event is read.
	queued := 0
	enqueue := func() {
		t.Helper()
		n, err := o.Enqueue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		queued += n
	}
	if _, err := ix.Merge(ctx, ids[0], ids[1], "cellule", "doublon"); err != nil {
		t.Fatal(err)
	}
	enqueue()
	ipp3 := vigie.SourceKey{Authority: chuA, LocalID: "IPP3"}
	if _, err := ix.Link(ctx, ipp3, ids[0], "cellule", "même personne"); err != nil {
		t.Fatal(err)
	}
	enqueue()
	split, err := ix.Unlink(ctx, ipp3, "cellule", "erreur")
	if err != nil {
		t.Fatal(err)
	}
	enqueue()
	if _, err := ix.ChangeAttributes(ctx, ids[0], []string{vigie.AttrDoubtful}, nil, "cellule", "à vérifier"); err != nil {
		t.Fatal(err)
	}
	enqueue()
	if queued != 5 {
		t.Fatalf("queued %d messages, want 5", queued)
	}
	st, err := o.Status(ctx)
	if err != nil || len(st) != 1 || st[0].Pending != 5 {
		t.Fatalf("status %+v %v", st, err)
	}
	d, err := o.Deliver(ctx, st[0].Subscriber)
	if err != nil || d.Delivered != 5 {
		t.Fatalf("delivered %+v: %v", d, err)
	}
	rs := got(t, out)
	type want struct {
		typ      string
		id, mrg  vigie.IdentityID
		members  int
		doubtful bool
	}
	wants := []want{
		{"ADT^A40^ADT_A39", ids[0], ids[1], 2, false},
		{"ADT^A40^ADT_A39", ids[0], ids[2], 3, false},
		{"ADT^A31^ADT_A05", split, 0, 1, false},
		{"ADT^A31^ADT_A05", ids[0], 0, 2, false},
		{"ADT^A31^ADT_A05", ids[0], 0, 2, true},
	}
	if len(rs) != len(wants) {
		t.Fatalf("the receiver got %d messages, want %d", len(rs), len(wants))
	}
	var controls []string
	for i, w := range wants {
		rec, m := pidOf(t, rs[i].Raw)
		if rs[i].Type != w.typ || rec.LocalID != w.id.String() {
			t.Errorf("message %d: %s for identity %s, want %s for %s", i+1, rs[i].Type, rec.LocalID, w.typ, w.id)
		}
		pid, _ := m.Segment("PID")
		members := 0
		for _, rep := range pid.Repetitions(3) {
			if rep.Get(4, 2) == chuA {
				members++
			}
		}
		if members != w.members {
			t.Errorf("message %d: %d IPPs in PID-3, want %d", i+1, members, w.members)
		}
		if rec.BirthName == "" || rec.BirthDate == "" || rec.Status != vigie.StatusVALI {
			t.Errorf("message %d: golden traits missing: %+v", i+1, rec)
		}
		if slices.Contains(rec.Attributes, vigie.AttrDoubtful) != w.doubtful {
			t.Errorf("message %d: attributes %v", i+1, rec.Attributes)
		}
		mrg, hasMRG := m.Segment("MRG")
		if (w.mrg != 0) != hasMRG || hasMRG && (mrg.Get(1, 1) != w.mrg.String() || mrg.Repetitions(1)[0].Get(4, 2) != regionalOID) {
			t.Errorf("message %d: MRG %q, want identity %s", i+1, mrg.Field(1), w.mrg)
		}
		controls = append(controls, rs[i].Control)
	}
	sorted := slices.Clone(controls)
	slices.Sort(sorted)
	if len(slices.Compact(sorted)) != 5 {
		t.Errorf("control ids are not distinct: %v", controls)
	}
	// Acknowledged: gone from the queue, each delivery audited by ids.
	if st, _ := o.Status(ctx); st[0].Pending != 0 {
		t.Errorf("%d still pending", st[0].Pending)
	}
	es, err := o.Trail.ByIdentity(ids[0].String(), 100)
	if err != nil {
		t.Fatal(err)
	}
	audited := 0
	for _, e := range es {
		if strings.HasSuffix(e.Operation, " delivered") && e.Principal == "hl7-out:RIS_A" {
			audited++
		}
	}
	if audited != 4 {
		t.Errorf("%d deliveries about identity %s audited, want 4", audited, ids[0])
	}
	// Nothing new: nothing queued.
	if n, err := o.Enqueue(ctx); err != nil || n != 0 {
		t.Errorf("queued %d again (%v)", n, err)
	}
}

func TestOutboxHiddenIdentityIsNotSent(t *testing.T) {
	ctx := context.Background()
	o, ids := newOutbox(t, "")
	if _, err := o.AddSubscriber(ctx, Subscriber{Name: "RIS", Addr: "127.0.0.1:1", RegionalOID: regionalOID}); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Index.ChangeAttributes(ctx, ids[0], []string{vigie.AttrObjection}, nil, "cellule", "opposition"); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Index.ChangeAttributes(ctx, ids[1], []string{vigie.AttrDoubtful}, nil, "cellule", "à vérifier"); err != nil {
		t.Fatal(err)
	}
	if n, err := o.Enqueue(ctx); err != nil || n != 1 {
		t.Fatalf("queued %d (%v), want 1: the hidden identity's change is not sent", n, err)
	}
	ps, _ := o.PendingOf(ctx, "RIS", 0)
	if len(ps) != 1 || ps[0].Identities[0] != ids[1] {
		t.Errorf("pending %+v", ps)
	}
}

// freePort returns a port nobody listens on (just closed).
func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestOutboxReceiverDownThenBack(t *testing.T) {
	ctx := context.Background()
	o, ids := newOutbox(t, "")
	port := freePort(t)
	sub, err := o.AddSubscriber(ctx, Subscriber{Name: "HIS", Addr: "127.0.0.1:" + strconv.Itoa(port), RegionalOID: regionalOID})
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range []string{vigie.AttrDoubtful, vigie.AttrFictitious, vigie.AttrHomonymDoubt} {
		for _, id := range ids[:2] {
			if _, err := o.Index.ChangeAttributes(ctx, id, []string{a}, nil, "cellule", fmt.Sprint("étape ", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := o.Enqueue(ctx); err != nil {
		t.Fatal(err)
	}
	// Down: nothing leaves, the queue says why.
	d, err := o.Deliver(ctx, sub)
	if err == nil || d.Delivered != 0 {
		t.Fatalf("delivered %+v to nobody (%v)", d, err)
	}
	st, _ := o.Status(ctx)
	if st[0].Pending != 6 || st[0].Failing != 1 || !strings.Contains(st[0].LastError, "refused") {
		t.Fatalf("status while down: %+v", st[0])
	}
	// The queue grows meanwhile.
	if _, err := o.Index.ChangeAttributes(ctx, ids[0], []string{vigie.AttrPotentialDupl}, nil, "cellule", "étape 3"); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Enqueue(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := o.Status(ctx); st[0].Pending != 7 {
		t.Fatalf("pending %d, want 7", st[0].Pending)
	}
	// --replay clears the failure: nothing is dropped.
	if n, err := o.Replay(ctx, "HIS"); err != nil || n != 7 {
		t.Fatalf("replay: %d (%v)", n, err)
	}
	if st, _ := o.Status(ctx); st[0].Pending != 7 || st[0].Failing != 0 || st[0].LastError != "" {
		t.Fatalf("after the replay: %+v", st[0])
	}
	if _, err := o.Replay(ctx, "NOBODY"); vigie.ErrorCode(err) != vigie.ENOTFOUND {
		t.Errorf("replay of no subscriber: %v", err)
	}
	// Back, answering AE to the first message: that identity's later
	// messages wait behind it, the other identity's go.
	out := filepath.Join(t.TempDir(), "got.jsonl")
	startReceiver(t, port, out, "--ae", "1")
	d, err = o.Deliver(ctx, sub)
	if err != nil || d.Refused != 1 || d.Delivered != 3 || d.Held != 3 {
		t.Fatalf("first pass back: %+v (%v)", d, err)
	}
	st, _ = o.Status(ctx)
	if st[0].Pending != 4 || st[0].Failing != 1 || !strings.Contains(st[0].LastError, "AE") {
		t.Fatalf("status after an AE: %+v", st[0])
	}
	d, err = o.Deliver(ctx, sub)
	if err != nil || d.Delivered != 4 {
		t.Fatalf("second pass: %+v (%v)", d, err)
	}
	// Each identity's messages arrived in the order of its changes, the
	// refused one first again.
	rs := got(t, out)
	perIdentity := map[string][]string{}
	for _, r := range rs[1:] { // the first was answered AE
		rec, _ := pidOf(t, r.Raw)
		perIdentity[rec.LocalID] = append(perIdentity[rec.LocalID], r.Control)
	}
	for _, id := range ids[:2] {
		cs := perIdentity[id.String()]
		if !slices.IsSortedFunc(cs, func(a, b string) int { return compareControl(a, b) }) {
			t.Errorf("identity %s: received out of order: %v", id, cs)
		}
	}
	if len(perIdentity[ids[0].String()]) != 4 || len(perIdentity[ids[1].String()]) != 3 || rs[0].Control != rs[4].Control {
		t.Errorf("received %d/%d; first %s, refused one resent as %s", len(perIdentity[ids[0].String()]), len(perIdentity[ids[1].String()]), rs[0].Control, rs[4].Control)
	}
}

// compareControl orders control ids VG<event>.<n> as the queue does.
func compareControl(a, b string) int {
	var ea, na, eb, nb int
	fmt.Sscanf(a, "VG%d.%d", &ea, &na)
	fmt.Sscanf(b, "VG%d.%d", &eb, &nb)
	if ea != eb {
		return ea - eb
	}
	return na - nb
}

// TestOutboxRestartLosesNothing: the receiver dies before acknowledging
// the third message, and Vigie's store is closed and opened again: every
// message arrives, in order, and only the one whose acknowledgement was
// lost arrives twice, with the same control id.
func TestOutboxRestartLosesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	o, ids, stop := newOutboxStop(t, dir)
	out := filepath.Join(t.TempDir(), "got.jsonl")
	r := startReceiver(t, 0, out, "--die-at", "3")
	sub, err := o.AddSubscriber(ctx, Subscriber{Name: "PORTAIL", Addr: r.addr(), RegionalOID: regionalOID})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if _, err := o.Index.ChangeAttributes(ctx, id, []string{vigie.AttrDoubtful}, nil, "cellule", "à vérifier"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := o.Enqueue(ctx); err != nil {
		t.Fatal(err)
	}
	want, _ := o.PendingOf(ctx, "PORTAIL", 0)
	d, err := o.Deliver(ctx, sub)
	if err == nil || d.Delivered != 2 {
		t.Fatalf("delivered %+v before the receiver died (%v)", d, err)
	}
	<-r.done
	// The server stops: its store is closed, and opened again.
	o.Close()
	stop()
	r2 := startReceiver(t, r.port, out)
	o2 := reopen(t, dir)
	st, err := o2.Status(ctx)
	if err != nil || st[0].Pending != 2 {
		t.Fatalf("after the restart: %+v (%v), want 2 pending", st, err)
	}
	if n, err := o2.Enqueue(ctx); err != nil || n != 0 {
		t.Fatalf("queued %d again after the restart (%v)", n, err)
	}
	st[0].Addr = r2.addr()
	if d, err := o2.Deliver(ctx, st[0].Subscriber); err != nil || d.Delivered != 2 {
		t.Fatalf("after the restart: %+v (%v)", d, err)
	}
	var controls []string
	for _, r := range got(t, out) {
		controls = append(controls, r.Control)
	}
	wantControls := []string{want[0].ControlID, want[1].ControlID, want[2].ControlID, want[2].ControlID, want[3].ControlID}
	if !slices.Equal(controls, wantControls) {
		t.Errorf("received %v, want %v (the third twice: its acknowledgement was lost)", controls, wantControls)
	}
}

// reopen opens the store in dir again, as a restarted server does.
func reopen(t testing.TB, dir string) *Outbox {
	t.Helper()
	f, _ := openFeed(t, dir)
	o := &Outbox{Index: f.Index, DB: f.DB, Trail: f.Trail}
	t.Cleanup(o.Close)
	return o
}

// TestOutboxDropsPurgedIdentity: an identity purged at the end of its
// retention (server stopped) takes its pending messages with it when the
// outbox reads the purge event; the others stay.
func TestOutboxDropsPurgedIdentity(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	o, ids, stop := newOutboxStop(t, dir)
	if _, err := o.AddSubscriber(ctx, Subscriber{Name: "RIS", Addr: "127.0.0.1:1", RegionalOID: regionalOID}); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids[:2] {
		if _, err := o.Index.ChangeAttributes(ctx, id, []string{vigie.AttrDoubtful}, nil, "cellule", "à vérifier"); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := o.Enqueue(ctx); err != nil || n != 2 {
		t.Fatalf("queued %d (%v)", n, err)
	}
	o.Close()
	stop()
	// The purge, as vigie retention purge makes it on the stopped store.
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = store.Update(db, func(txn *store.Txn) error {
		p, err := mpi.PatientIn(txn, ids[0])
		if err != nil {
			return err
		}
		return mpi.PurgeIn(txn, p, &mpi.Tombstone{Identity: ids[0], Purged: time.Now(), Actor: "dpo", Run: "test", Rule: "test"})
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	o2 := reopen(t, dir)
	if n, err := o2.Enqueue(ctx); err != nil || n != 0 {
		t.Fatalf("queued %d (%v)", n, err)
	}
	ps, err := o2.PendingOf(ctx, "RIS", 0)
	if err != nil || len(ps) != 1 || ps[0].Identities[0] != ids[1] {
		t.Errorf("pending after the purge: %+v (%v), want only identity %s's", ps, err, ids[1])
	}
	if n, err := o2.RemoveSubscriber(ctx, "RIS"); err != nil || n != 1 {
		t.Errorf("remove: %d dropped (%v), want 1", n, err)
	}
	if st, err := o2.Status(ctx); err != nil || len(st) != 0 {
		t.Errorf("after the removal: %+v (%v)", st, err)
	}
	if ps, _ := o2.PendingOf(ctx, "RIS", 0); len(ps) != 0 {
		t.Errorf("%d messages left behind", len(ps))
	}
}

// TestOutboxReconnects: a connection the peer closed between two passes
// (a receiver restarted) costs no failed attempt: the message goes at once
// on a new connection.
func TestOutboxReconnects(t *testing.T) {
	ctx := context.Background()
	o, ids := newOutbox(t, "")
	out := filepath.Join(t.TempDir(), "got.jsonl")
	r := startReceiver(t, 0, out)
	sub, err := o.AddSubscriber(ctx, Subscriber{Name: "RIS", Addr: r.addr(), RegionalOID: regionalOID})
	if err != nil {
		t.Fatal(err)
	}
	change := func(attr string) {
		t.Helper()
		if _, err := o.Index.ChangeAttributes(ctx, ids[0], []string{attr}, nil, "cellule", "à vérifier"); err != nil {
			t.Fatal(err)
		}
		if _, err := o.Enqueue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	change(vigie.AttrDoubtful)
	if d, err := o.Deliver(ctx, sub); err != nil || d.Delivered != 1 {
		t.Fatalf("%+v %v", d, err)
	}
	r.stop()
	startReceiver(t, r.port, out)
	change(vigie.AttrFictitious)
	if d, err := o.Deliver(ctx, sub); err != nil || d.Delivered != 1 {
		t.Fatalf("after the receiver's restart: %+v %v", d, err)
	}
	if rs := got(t, out); len(rs) != 2 {
		t.Errorf("received %d messages, want 2", len(rs))
	}
}
