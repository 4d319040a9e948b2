package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// orthancDICOM is an Orthanc started for a test: its REST base URL and
// its DICOM port.
type orthancDICOM struct {
	base string
	port int
}

// startOrthancDICOM starts a real Orthanc (Debian orthanc) with the DICOM
// AE title aet, knowing Vigie's listener (when vigiePort is set) as the
// DICOM modality "vigie"; it skips the test when Orthanc is absent.
func startOrthancDICOM(t testing.TB, aet, vigieHost, vigiePort string) orthancDICOM {
	t.Helper()
	orthanc, err := exec.LookPath("Orthanc")
	if err != nil {
		orthanc = "/usr/sbin/Orthanc"
	}
	if _, err := os.Stat(orthanc); err != nil {
		t.Skip("Orthanc is not installed (Debian package orthanc; .ci/run installs it)")
	}
	httpPort, dicomPort := freePort(t), freePort(t)
	dir := t.TempDir()
	cfg := map[string]any{
		"Name": "vigie-test", "StorageDirectory": filepath.Join(dir, "db"), "IndexDirectory": filepath.Join(dir, "db"),
		"HttpPort": httpPort, "DicomPort": dicomPort, "DicomAet": aet, "RemoteAccessAllowed": false, "AuthenticationEnabled": false,
		"DicomCheckCalledAet": false, "ConcurrentJobs": 2,
	}
	if vigiePort != "" {
		cfg["DicomModalities"] = map[string]any{"vigie": []any{"VIGIE", vigieHost, vigiePort}}
	}
	cfgFile := filepath.Join(dir, "orthanc.json")
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(orthanc, cfgFile)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("Orthanc's log:\n%s", logs.String())
		}
	})
	o := orthancDICOM{base: fmt.Sprintf("http://127.0.0.1:%d", httpPort), port: dicomPort}
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(o.base + "/system")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return o
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Orthanc did not answer within a minute: %v", err)
		}
		time.Sleep(100 * time.Millisecond) // polling a child process's start-up, not ordering
	}
}

// TestOrthancSendsByCStore: a real Orthanc, configured with Vigie's
// DICOM listener as a modality, sends every dose file it holds by
// C-STORE (its REST /modalities/vigie/store): Vigie's ledger is what
// `vigie ingest` of the same files gives.
func TestOrthancSendsByCStore(t *testing.T) {
	files, _ := doseFiles(t)
	const orthancAE = "PACS_SITE32"
	data := newDICOMStore(t, dicomAE, orthancAE)
	s, host, port := startDICOMServe(t, data)
	o := startOrthancDICOM(t, orthancAE, host, port)

	// Orthanc receives the files (through its REST API, in order: two
	// of them share a SOP instance, and the first one stored is kept).
	var instances []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(o.base+"/instances", "application/dicom", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		var up struct{ ID string }
		err = json.NewDecoder(resp.Body).Decode(&up)
		resp.Body.Close()
		if err != nil || up.ID == "" {
			t.Fatalf("Orthanc refused %s: HTTP %d %v", f, resp.StatusCode, err)
		}
		instances = append(instances, up.ID)
	}

	// Orthanc sends them to Vigie by C-STORE.
	req, _ := json.Marshal(map[string]any{"Resources": instances, "Synchronous": true})
	resp, err := http.Post(o.base+"/modalities/vigie/store", "application/json", bytes.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		InstancesCount       int
		FailedInstancesCount int
	}
	err = json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /modalities/vigie/store: HTTP %d, %v", resp.StatusCode, err)
	}
	if res.InstancesCount != len(files) || res.FailedInstancesCount != 0 {
		t.Fatalf("Orthanc sent %d instances, %d failed; want %d, none failed", res.InstancesCount, res.FailedInstancesCount, len(files))
	}
	if !strings.Contains(s.logs.String(), `"calling_ae":"`+orthancAE+`"`) {
		t.Errorf("the association from Orthanc is not logged")
	}
	s.shutdown(t)
	compareLedgers(t, ledgerContent(t, data), ingestLedger(t, files))
}
