package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"vigie/dosimetry"
	"vigie/fhir"
)

// TestFHIRClientDose: fhir-kit-client, a FHIR client from npm, searches
// the demo's patients' dose summaries (GET Observation?patient=&code=) and
// reads one back (GET Observation/{id}): each is a Radiation Dose Summary
// Observation (its profile, LOINC 73569-6, the patient as subject, DICOM
// coded components with UCUM quantities, a French note); an unknown id is
// not-found.
func TestFHIRClientDose(t *testing.T) {
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
	script, err := os.ReadFile(filepath.Join("testdata", "fhir_dose_client.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "fhir_dose_client.mjs"), script, 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, serveConfig{Data: t.TempDir(), Demo: true, DemoPersons: 60})
	var ids []string
	for i := 1; i <= 60; i++ {
		ids = append(ids, strconv.Itoa(i))
	}
	run := exec.Command(node, filepath.Join(dir, "fhir_dose_client.mjs"))
	run.Env = append(os.Environ(), "VIGIE_FHIR=http://"+s.addr+"/fhir", "VIGIE_TOKEN="+demoKey(t, s.stdout.String(), "regional_vigilance"),
		"VIGIE_PATIENTS="+strings.Join(ids, ","))
	var stderr strings.Builder
	run.Stderr = &stderr
	out, err := run.Output()
	if err != nil {
		t.Fatalf("node fhir_dose_client.mjs: %v\n%s\n%s", err, out, stderr.String())
	}
	type observation struct {
		ResourceType, ID, Status string
		Meta                     struct{ Profile []string }
		Code                     struct {
			Coding []struct{ System, Code string }
		}
		Subject    struct{ Reference string }
		Identifier []struct{ System, Value string }
		Component  []struct {
			Code struct {
				Coding []struct{ System, Code string }
			}
			ValueQuantity *struct {
				Value        float64
				System, Code string
			}
			ValueRange *struct {
				Low, High *struct {
					Value        float64
					System, Code string
				}
			}
			DataAbsentReason *struct{ Text string }
		}
		Note []struct{ Text string }
	}
	var got struct {
		Searched int
		Patient  string
		Total    int
		Found    []observation
		Read     observation
		Unknown  struct {
			Status int
			Code   string
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("the script's output: %v\n%s", err, out)
	}
	if len(got.Found) == 0 || got.Total != len(got.Found) {
		t.Fatalf("no dose summary among %d demo patients (total %d, %d entries)", got.Searched, got.Total, len(got.Found))
	}
	t.Logf("patient %s: %d dose summaries (searched %d patients)", got.Patient, got.Total, got.Searched)
	units := map[string]string{"113830": "mGy", "113813": "mGy.cm", "113722": "mGy.cm2", "113725": "mGy", "113730": "s",
		"111637": "mGy", "113507": "MBq", "113839": "mSv", dosimetry.CodeSSDE: "mGy", dosimetry.CodeOrganDose: "mGy"}
	for i, o := range append(got.Found, got.Read) {
		if o.ResourceType != "Observation" || len(o.Meta.Profile) != 1 || o.Meta.Profile[0] != fhir.ProfileDoseSummary {
			t.Errorf("observation %d: %s, profiles %v", i, o.ResourceType, o.Meta.Profile)
		}
		if len(o.Code.Coding) != 1 || o.Code.Coding[0].System != fhir.SystemLOINC || o.Code.Coding[0].Code != fhir.CodeDoseSummary {
			t.Errorf("observation %d: code %+v", i, o.Code)
		}
		if o.Subject.Reference != "Patient/"+got.Patient || (o.Status != "final" && o.Status != "amended") {
			t.Errorf("observation %d: subject %q status %q", i, o.Subject.Reference, o.Status)
		}
		if len(o.Identifier) != 1 || o.Identifier[0].Value != "urn:oid:"+o.ID {
			t.Errorf("observation %d: identifier %+v, want the SOP instance %s", i, o.Identifier, o.ID)
		}
		if len(o.Component) == 0 {
			t.Errorf("observation %d: no component", i)
		}
		for _, c := range o.Component {
			code := c.Code.Coding[0]
			switch {
			case c.DataAbsentReason != nil:
				// A second-level estimate not made says why.
				if c.ValueQuantity != nil || c.ValueRange != nil || !strings.HasPrefix(c.DataAbsentReason.Text, "non estimée : ") {
					t.Errorf("observation %d: component %s without value: %+v", i, code.Code, c.DataAbsentReason)
				}
			case c.ValueRange != nil:
				// The foetal and peak skin doses: ranges in Vigie's system.
				r := c.ValueRange
				if code.System != dosimetry.SystemVigie || r.High == nil || r.High.Code != "mGy" || r.High.Value <= 0 || r.Low != nil && r.Low.Value > r.High.Value {
					t.Errorf("observation %d: range component %s %+v", i, code.Code, r)
				}
			case c.ValueQuantity == nil || code.System != fhir.SystemDICOM || units[code.Code] == "" || c.ValueQuantity.System != fhir.SystemUCUM ||
				c.ValueQuantity.Code != units[code.Code] || c.ValueQuantity.Value <= 0:
				t.Errorf("observation %d: component %+v", i, c)
			}
		}
		if len(o.Note) == 0 || !strings.Contains(o.Note[len(o.Note)-1].Text, "Informations dosimétriques") {
			t.Errorf("observation %d: notes %+v", i, o.Note)
		}
	}
	if got.Read.ID != got.Found[0].ID || len(got.Read.Component) != len(got.Found[0].Component) {
		t.Errorf("read %s (%d components), searched %s (%d)", got.Read.ID, len(got.Read.Component), got.Found[0].ID, len(got.Found[0].Component))
	}
	if got.Unknown.Status != 404 || got.Unknown.Code != "not-found" {
		t.Errorf("unknown id: %+v", got.Unknown)
	}
}
