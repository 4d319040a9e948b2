package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"vigie/auth"
	"vigie/internal/sharedtest"
	"vigie/ledger"
	"vigie/store"
)

// orthancPlugin is where Debian's orthanc-dicomweb puts the plugin.
const orthancPlugin = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"

// TestOrthancForwardsToSTOW: a real Orthanc (Debian orthanc and
// orthanc-dicomweb, installed by CI) receives a CT dose report from a
// modality by C-STORE (dcmtk's storescu), and forwards it to Vigie's
// STOW-RS endpoint with nothing but configuration: the report is in the
// ledger, under the assigning authority of the sending site's key.
func TestOrthancForwardsToSTOW(t *testing.T) {
	orthanc, err := exec.LookPath("Orthanc")
	if err != nil {
		orthanc = "/usr/sbin/Orthanc"
	}
	if _, err := os.Stat(orthanc); err != nil {
		t.Skip("Orthanc is not installed (Debian packages orthanc and orthanc-dicomweb; .ci/run installs them)")
	}
	if _, err := os.Stat(orthancPlugin); err != nil {
		t.Skip("Orthanc's DICOMweb plugin is not installed (Debian orthanc-dicomweb; .ci/run installs it)")
	}
	storescu, err := exec.LookPath("storescu")
	if err != nil {
		t.Skip("dcmtk's storescu is not installed (Debian dcmtk; .ci/run installs it)")
	}
	file := filepath.Join(sharedtest.Path(t, "dicom"), "openrem", "CT-RDSR-GEPixelMed.dcm")

	// Vigie, with an ingest key for the site Orthanc forwards for.
	const site = "1.2.250.1.999.7"
	data := t.TempDir()
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := auth.NewKeys(db).Create(auth.RoleIngest, []string{site}, "orthanc-site7", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, serveConfig{Data: data})

	// Orthanc, configured to know Vigie as a DICOMweb server.
	httpPort, dicomPort := freePort(t), freePort(t)
	dir := t.TempDir()
	cfg := map[string]any{
		"Name": "vigie-test", "StorageDirectory": filepath.Join(dir, "db"), "IndexDirectory": filepath.Join(dir, "db"),
		"HttpPort": httpPort, "DicomPort": dicomPort, "RemoteAccessAllowed": false, "AuthenticationEnabled": false,
		"Plugins": []string{orthancPlugin},
		"DicomWeb": map[string]any{"Enable": true, "Root": "/dicom-web/", "Servers": map[string]any{
			"vigie": map[string]any{"Url": "http://" + s.addr + "/dicomweb/", "HttpHeaders": map[string]string{"Authorization": "Bearer " + secret}},
		}},
	}
	cfgFile := filepath.Join(dir, "orthanc.json")
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &orthancLog{started: make(chan struct{})}
	cmd := exec.Command(orthanc, cfgFile)
	cmd.Stdout, cmd.Stderr = logs, logs
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
	base := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	// Orthanc says it has started once its HTTP and DICOM servers listen.
	select {
	case <-logs.started:
	case <-time.After(time.Minute):
		t.Fatal("Orthanc did not say it had started within a minute")
	}

	// The modality sends the report to Orthanc.
	if out, err := exec.Command(storescu, "-aec", "ORTHANC", "127.0.0.1", fmt.Sprint(dicomPort), file).CombinedOutput(); err != nil {
		t.Fatalf("storescu: %v\n%s", err, out)
	}
	var instances []string
	getJSON(t, base+"/instances", &instances)
	if len(instances) != 1 {
		t.Fatalf("Orthanc holds %d instances, want 1", len(instances))
	}

	// Orthanc forwards it to Vigie.
	req, _ := json.Marshal(map[string]any{"Resources": instances})
	resp, err := http.Post(base+"/dicom-web/servers/vigie/stow", "application/json", bytes.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	var answer bytes.Buffer
	answer.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Orthanc's STOW to Vigie: HTTP %d\n%s", resp.StatusCode, answer.String())
	}

	// The report is in the ledger, under the site's authority.
	s.shutdown(t)
	db, err = store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var exams []*ledger.Entry
	if err := ledger.Open(db).Each(context.Background(), func(e *ledger.Entry) error { exams = append(exams, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(exams) != 1 || exams[0].Exam.Key.Authority != site || exams[0].Exam.Modality != "CT" {
		t.Fatalf("ledger after Orthanc's forward: %d exams %+v, want one CT exam of %s", len(exams), exams, site)
	}
}

// freePort returns a TCP port free on loopback at the time of the call.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func getJSON(t testing.TB, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// orthancLog keeps Orthanc's output and closes started at the line saying
// it has started (its HTTP and DICOM servers then listen).
type orthancLog struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	started chan struct{}
	seen    bool
}

func (l *orthancLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if !l.seen && bytes.Contains(l.buf.Bytes(), []byte("Orthanc has started")) {
		l.seen = true
		close(l.started)
	}
	return len(p), nil
}

func (l *orthancLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
