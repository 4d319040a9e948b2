package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fhirKitClient is the npm FHIR client TestFHIRClient installs.
const fhirKitClient = "fhir-kit-client@2.0.3"

// TestFHIRClient: fhir-kit-client, a FHIR client from npm, reads, searches,
// pages, matches and cross-references the demo's patients on a running
// `vigie serve`, and gets OperationOutcomes for its mistakes. The client is
// installed by npm into a temporary folder at each run (CI installs node
// and npm, .ci/run).
func TestFHIRClient(t *testing.T) {
	node, errNode := exec.LookPath("node")
	npm, errNpm := exec.LookPath("npm")
	if errNode != nil || errNpm != nil {
		t.Skip("node and npm are needed to run the npm FHIR client (Debian packages nodejs and npm; CI installs them)")
	}
	dir := t.TempDir()
	install := exec.Command(npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", dir, fhirKitClient)
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("npm install %s: %v\n%s", fhirKitClient, err, out)
	}
	script, err := os.ReadFile(filepath.Join("testdata", "fhir_client.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	// Beside its node_modules, where node resolves the import.
	if err := os.WriteFile(filepath.Join(dir, "fhir_client.mjs"), script, 0o600); err != nil {
		t.Fatal(err)
	}

	s := startServe(t, serveConfig{Data: t.TempDir(), Demo: true, DemoPersons: 60})
	s.waitSearch(t)
	run := exec.Command(node, filepath.Join(dir, "fhir_client.mjs"))
	run.Env = append(os.Environ(), "VIGIE_FHIR=http://"+s.addr+"/fhir", "VIGIE_TOKEN="+demoKey(t, s.stdout.String(), "regional_vigilance"),
		"VIGIE_PATIENT=3")
	var stderr strings.Builder
	run.Stderr = &stderr
	out, err := run.Output()
	if err != nil {
		t.Fatalf("node fhir_client.mjs: %v\n%s\n%s", err, out, stderr.String())
	}
	var got struct {
		Capability struct {
			ResourceType, FhirVersion string
			Operations                []string
		}
		Read struct {
			ID, Family, BirthDate, Gender string
			Given, Identifiers            []string
		}
		Search []string
		Match  []struct {
			ID    string
			Score float64
			Grade string
		}
		Pix struct {
			Source, TargetID string
			Targets          []string
		}
		Pages                       [][]string
		NotFound, BadParam, NoToken struct {
			Status                        int
			Code, Expression, Diagnostics string
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("the script's output: %v\n%s", err, out)
	}
	t.Logf("fhir-kit-client saw: %s", out)
	if got.Capability.ResourceType != "CapabilityStatement" || got.Capability.FhirVersion != "4.0.1" ||
		!slices.Equal(got.Capability.Operations, []string{"match", "ihe-pix"}) {
		t.Errorf("capability statement %+v", got.Capability)
	}
	if got.Read.ID != "3" || got.Read.Family == "" || len(got.Read.Identifiers) == 0 {
		t.Errorf("read %+v", got.Read)
	}
	if !slices.Contains(got.Search, "3") {
		t.Errorf("search by the patient's own traits found %v, not 3", got.Search)
	}
	if len(got.Match) == 0 || got.Match[0].ID != "3" || got.Match[0].Grade != "certain" || got.Match[0].Score <= 0 {
		t.Errorf("$match %+v: want identity 3 first, certain", got.Match)
	}
	if got.Pix.TargetID != "Patient/3" || slices.Contains(got.Pix.Targets, got.Pix.Source) {
		t.Errorf("$ihe-pix %+v", got.Pix)
	}
	for _, id := range got.Read.Identifiers {
		if id != got.Pix.Source && !slices.Contains(got.Pix.Targets, id) {
			t.Errorf("$ihe-pix lacks %s, an identifier of the Patient", id)
		}
	}
	seen := map[string]bool{}
	for _, p := range got.Pages {
		if len(p) != 1 || seen[p[0]] {
			t.Errorf("pages %v: want one new patient per page", got.Pages)
		}
		if len(p) > 0 {
			seen[p[0]] = true
		}
	}
	if got.NotFound.Status != 404 || got.NotFound.Code != "not-found" {
		t.Errorf("unknown patient: %+v", got.NotFound)
	}
	if got.BadParam.Status != 400 || got.BadParam.Expression != "birthdate" {
		t.Errorf("birthdate=ge1950: %+v", got.BadParam)
	}
	if got.NoToken.Status != 401 || got.NoToken.Code != "login" {
		t.Errorf("without a token: %+v", got.NoToken)
	}
}
