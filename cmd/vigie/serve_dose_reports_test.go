package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
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
	"vigie/ingest"
	"vigie/ledger"
	"vigie/mpi"
	"vigie/store"
)

const doseChildEnv = "VIGIE_DOSE_CHILD"

// TestServeDoseChild is the child process of TestServeDoseReports: `vigie
// serve` with its DICOM listener on the given store, its outbox polling
// often and retrying soon, each dose report queued at once. It prints
// "dose <http address> <dicom address>" once both listen.
func TestServeDoseChild(t *testing.T) {
	data := os.Getenv(doseChildEnv)
	if data == "" {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	httpAddr, dicomAddr := make(chan string, 1), make(chan string, 1)
	go func() { h := <-httpAddr; fmt.Printf("dose %s %s\n", h, <-dicomAddr) }()
	err := serve(ctx, serveConfig{Data: data, Addr: "127.0.0.1:0", Ready: func(a string) { httpAddr <- a },
		DICOM:      dicomConfig{Addr: "127.0.0.1:0", AETitle: "VIGIE", Ready: func(a string) { dicomAddr <- a }},
		OutboxPoll: 50 * time.Millisecond, OutboxMaxBackoff: 200 * time.Millisecond, DoseSettle: -1})
	if err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(1)
	}
	fmt.Println("stopped")
}

// doseReceived is one ORU^R01 as python3-hl7 read it.
type doseReceived struct {
	Control, Type, Raw string
	OBX                []struct{ Code, System, Type, Value, Unit, Status string }
}

// receivedDose returns the dose reports the receiver recorded (the
// subscriber also receives the identity notifications of the patients).
func receivedDose(t *testing.T, out string) []doseReceived {
	t.Helper()
	b, err := os.ReadFile(out)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var rs []doseReceived
	for line := range strings.Lines(string(b)) {
		var r doseReceived
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(r.Type, "ORU") {
			rs = append(rs, r)
		}
	}
	return rs
}

// TestServeDoseReports: dose SRs sent by storescu (dcmtk) to `vigie
// serve` while the subscriber's MLLP receiver (python3-hl7) is down: the
// reports wait (/healthz counts them); the server is killed (SIGKILL) and
// started again with the receiver up: every report arrives, once, as a
// final result carrying the exam's DLP or DAP in its UCUM unit, the
// site's IPP first in PID-3 and a French text block.
func TestServeDoseReports(t *testing.T) {
	if os.Getenv(doseChildEnv) != "" {
		t.Skip("child process")
	}
	storescu := dcmtk(t, "storescu")
	own, _ := doseFiles(t)
	// Dose SRs of distinct exams (record and study).
	type exam struct {
		file string
		key  vigie.SourceKey
		x    ledger.Exam
	}
	var exams []exam
	seen := map[string]bool{}
	for _, f := range own {
		rep, err := ingest.ParseDICOMFile(f, ingest.DICOMOptions{Authority: dicomSite})
		if err != nil || rep.Exam.Source != ledger.SourceRDSR || rep.Exam.StudyUID == "" {
			continue
		}
		id := rep.Patient.LocalID + "\x00" + rep.Exam.StudyUID
		if seen[id] || seen[rep.Exam.SOPInstanceUID] {
			continue
		}
		seen[id], seen[rep.Exam.SOPInstanceUID] = true, true
		exams = append(exams, exam{f, vigie.SourceKey{Authority: rep.Patient.Authority, LocalID: rep.Patient.LocalID}, rep.Exam})
		if len(exams) == 4 {
			break
		}
	}
	if len(exams) < 2 {
		t.Fatalf("only %d dose SRs of distinct exams in the shared files", len(exams))
	}

	// A subscriber taking dose reports, whose receiver is not up yet (its
	// port is free).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	data := newDICOMStore(t)
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := mpi.Open(db, nil, mpi.Options{})
	if err == nil {
		_, err = (&hl7.Outbox{Index: ix, DB: db}).AddSubscriber(context.Background(), hl7.Subscriber{Name: "RIS", Addr: fmt.Sprintf("127.0.0.1:%d", port),
			RegionalOID: "1.2.250.1.999.1.99", Dose: true, Authority: dicomSite})
		ix.Close()
	}
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	child, addrs := startChildServer(t, "TestServeDoseChild", doseChildEnv, data, "dose ")
	httpAddr, dicomAddr, _ := strings.Cut(addrs, " ")
	host, dport, _ := strings.Cut(dicomAddr, ":")
	files := make([]string, len(exams))
	for i, e := range exams {
		files[i] = e.file
	}
	if b, err := exec.Command(storescu, append([]string{"-aet", dicomAE, "-aec", "VIGIE", host, dport}, files...)...).CombinedOutput(); err != nil {
		t.Fatalf("storescu: %v\n%s", err, b)
	}
	want := fmt.Sprintf("dose reports: 1 subscribers, %d pending", len(exams))
	waitFor(t, "the reports pending on /healthz", func() bool {
		resp, err := http.Get("http://" + httpAddr + "/healthz")
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return strings.Contains(string(b), want)
	})
	child.stop(t, true) // a crash

	out := filepath.Join(t.TempDir(), "got.jsonl")
	outboxReceiver(t, port, out)
	child, _ = startChildServer(t, "TestServeDoseChild", doseChildEnv, data, "dose ")
	waitFor(t, "every dose report", func() bool { return len(receivedDose(t, out)) >= len(exams) })
	child.stop(t, false)

	rs := receivedDose(t, out)
	if len(rs) != len(exams) {
		t.Errorf("received %d reports, want %d (one per exam, once)", len(rs), len(exams))
	}
	controls := map[string]bool{}
	for i, r := range rs {
		if r.Type != "ORU^R01^ORU_R01" || controls[r.Control] {
			t.Errorf("report %d: %s %s (a duplicate control id?)", i+1, r.Type, r.Control)
		}
		controls[r.Control] = true
		m, err := hl7.Parse([]byte(strings.ReplaceAll(r.Raw, "\n", "\r")))
		if err != nil {
			t.Fatalf("report %d does not parse back: %v", i+1, err)
		}
		obr, _ := m.Segment("OBR")
		pid, _ := m.Segment("PID")
		first := pid.Repetitions(3)[0]
		var x *exam
		for j := range exams {
			if exams[j].key.LocalID == first.Get(1, 0) && strings.Contains(r.Raw, exams[j].x.StudyUID) {
				x = &exams[j]
			}
		}
		if x == nil || first.Get(4, 2) != dicomSite || obr.Get(25, 0) != "F" {
			t.Errorf("report %d: PID-3 %q, OBR-25 %q: want a final result for the site's IPP of one of the exams", i+1, pid.Field(3), obr.Field(25))
			continue
		}
		figures, text := map[string]string{}, ""
		for _, o := range r.OBX {
			switch o.Type {
			case "NM":
				figures[o.Code] = o.Unit
			case "TX":
				text = o.Value
			}
		}
		tot := x.x.Totals()
		switch {
		case tot.DLP > 0 && figures["113813"] != "mGy.cm":
			t.Errorf("report %d: no DLP total in mGy.cm: %v", i+1, figures)
		case tot.DAP > 0 && figures["113722"] != "mGy.cm2":
			t.Errorf("report %d: no DAP total in mGy.cm2: %v", i+1, figures)
		case tot.Activity > 0 && figures["113507"] != "MBq":
			t.Errorf("report %d: no activity in MBq: %v", i+1, figures)
		}
		if !strings.HasPrefix(text, "Informations dosimétriques") || strings.Contains(text, x.x.StudyUID) || strings.Contains(text, dicomSite) {
			t.Errorf("report %d: text block %q", i+1, text)
		}
	}
	db, err = store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	o := &hl7.Outbox{DB: db, Ledger: ledger.Open(db)}
	if l, err := o.DoseLag(context.Background()); err != nil || l.Pending != 0 || l.ToQueue != 0 {
		t.Errorf("after delivery: %+v %v, want nothing pending", l, err)
	}
}
