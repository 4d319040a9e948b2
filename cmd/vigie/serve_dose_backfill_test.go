package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vigie/auth"
	"vigie/hl7"
	"vigie/ingest"
	"vigie/ledger"
	"vigie/mpi"
	"vigie/store"
)

// TestServeDoseBackfill: the shared vendor dose SRs are ingested while no
// system takes dose reports (their markers go, as the server clears
// them); a RIS of the site then subscribes on the command line (its
// site's exams backfilled by default), and
// `vigie serve` queues and sends, to python3-hl7's MLLP receiver, the
// report of every exam once, as a final result; the backfill's view on
// the running server (GET /admin/dose-backfill, admin only) says it is
// done; a second backfill asked through the API (POST) queues nothing.
func TestServeDoseBackfill(t *testing.T) {
	own, _ := doseFiles(t)
	var files []string
	exams := map[string]bool{}
	for _, f := range own {
		rep, err := ingest.ParseDICOMFile(f, ingest.DICOMOptions{Authority: dicomSite})
		if err != nil || rep.Exam.Source != ledger.SourceRDSR || rep.Exam.StudyUID == "" {
			continue
		}
		id := rep.Patient.LocalID + "\x00" + rep.Exam.StudyUID
		if exams[id] {
			continue
		}
		exams[id] = true
		files = append(files, f)
		if len(files) == 5 {
			break
		}
	}
	if len(files) < 2 {
		t.Fatalf("only %d dose SRs of distinct exams in the shared files", len(files))
	}
	data := newDICOMStore(t)
	if code, out, errs := runCLI(append([]string{"ingest", "--data", data, "--authority", dicomSite, "--quiet"}, files...)...); code != 0 {
		t.Fatalf("ingest: exit %d: %s %s", code, out, errs)
	}
	// Without a dose subscriber the server's first pass drops the
	// markers: done here as it does it.
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := mpi.Open(db, nil, mpi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ob := &hl7.Outbox{Index: ix, DB: db, Ledger: ledger.Open(db)}
	if n, err := ob.EnqueueDose(context.Background()); err != nil || n != 0 {
		t.Fatalf("EnqueueDose without subscriber: %d %v", n, err)
	}
	if l, err := ob.DoseLag(context.Background()); err != nil || l.ToQueue != 0 {
		t.Fatalf("markers left: %+v %v", l, err)
	}
	admin, _, err := auth.NewKeys(db).Create(auth.RoleAdmin, nil, "admin test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	vigilance, _, err := auth.NewKeys(db).Create(auth.RoleVigilance, []string{dicomSite}, "vigilance test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ix.Close()
	db.Close()

	out := filepath.Join(t.TempDir(), "got.jsonl")
	addr, _ := outboxReceiver(t, 0, out)
	code, stdout, errs := runCLI("hl7", "subscriber", "add", "--data", data, "--name", "RIS", "--addr", addr, "--regional-oid", "1.2.250.1.999.1.99",
		"--dose", "--authority", dicomSite)
	if code != 0 || !strings.Contains(stdout, fmt.Sprintf("rattrapage des comptes rendus de dose demandé pour RIS : établissement CH de test, %d examen(s)", len(files))) {
		t.Fatalf("subscriber add --backfill: exit %d, %q %q", code, stdout, errs)
	}
	code, stdout, _ = runCLI("hl7", "backfill", "--data", data, "--status")
	if code != 0 || !strings.Contains(stdout, "en cours") || strings.Contains(stdout, dicomSite) {
		t.Errorf("hl7 backfill --status before serving: exit %d\n%s", code, stdout)
	}

	s := startServe(t, serveConfig{Data: data, OutboxPoll: 50 * time.Millisecond, OutboxMaxBackoff: 200 * time.Millisecond, DoseSettle: -1})
	waitFor(t, "every exam's report", func() bool { return len(receivedDose(t, out)) >= len(files) })
	call := func(method, key, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+s.addr+hl7.DoseBackfillPath, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	state := func() hl7.BackfillState {
		t.Helper()
		code, body := call(http.MethodGet, admin, "")
		var v struct{ Backfills []hl7.BackfillState }
		if err := json.Unmarshal([]byte(body), &v); code != http.StatusOK || err != nil || len(v.Backfills) != 1 {
			t.Fatalf("GET %s: %d %s", hl7.DoseBackfillPath, code, body)
		}
		return v.Backfills[0]
	}
	waitFor(t, "the backfill done", func() bool { return state().State == "terminé" })
	if st := state(); st.Queued != len(files) || st.RowsLeft != 0 || st.By != "cli" {
		t.Errorf("backfill %+v, want %d queued", st, len(files))
	}
	if code, _ := call(http.MethodGet, vigilance, ""); code != http.StatusForbidden {
		t.Errorf("GET by a vigilance key: %d, want 403", code)
	}
	for _, bad := range []struct {
		body string
		want int
	}{{`{"subscriber":"NOBODY"}`, http.StatusNotFound}, {`{"subscriber":"RIS","from":"2026"}`, http.StatusBadRequest}, {`[`, http.StatusBadRequest}} {
		if code, body := call(http.MethodPost, admin, bad.body); code != bad.want {
			t.Errorf("POST %s: %d %s, want %d", bad.body, code, body, bad.want)
		}
	}
	if code, body := call(http.MethodPost, admin, `{"subscriber":"RIS"}`); code != http.StatusAccepted || !strings.Contains(body, `"state":"en cours"`) {
		t.Fatalf("POST a second backfill: %d %s", code, body)
	}
	waitFor(t, "the second backfill done", func() bool { return state().State == "terminé" })
	if st := state(); st.Queued != 0 || st.AlreadySent != len(files) || st.By != "admin test" {
		t.Errorf("second backfill %+v, want nothing queued, %d already sent", st, len(files))
	}
	rs := receivedDose(t, out)
	if len(rs) != len(files) {
		t.Errorf("received %d reports, want %d (one per exam, once)", len(rs), len(files))
	}
	controls := map[string]bool{}
	for i, r := range rs {
		if controls[r.Control] || !strings.Contains(r.Raw, "|F|") {
			t.Errorf("report %d: control %s, final %v", i+1, r.Control, strings.Contains(r.Raw, "|F|"))
		}
		controls[r.Control] = true
	}
}

// TestHL7BackfillUsage: the backfill's flags are refused where they mean
// nothing, with a usage error.
func TestHL7BackfillUsage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	add := []string{"hl7", "subscriber", "add", "--data", dir, "--name", "RIS", "--addr", "127.0.0.1:1", "--regional-oid", "1.2.250.1.999.1.99"}
	for _, args := range [][]string{
		append(append([]string(nil), add...), "--backfill"),
		append(append([]string(nil), add...), "--backfill-site", dicomSite),
		append(append([]string(nil), add...), "--dose", "--backfill=false", "--backfill-from", "2026-01-01"),
		{"hl7", "backfill", "--data", dir},
		{"hl7", "backfill", "--data", dir, "--name", "RIS", "--status"},
		{"hl7", "backfill", "--data", dir, "--status", "--site", dicomSite},
	} {
		if code, out, errs := runCLI(args...); code != 2 {
			t.Errorf("%v: exit %d (%q %q), want 2", args, code, out, errs)
		}
	}
}
