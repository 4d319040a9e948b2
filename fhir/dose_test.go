package fhir_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"vigie"
	"vigie/audit"
	"vigie/auth"
	"vigie/dosimetry"
	"vigie/fhir"
	"vigie/ledger"
	"vigie/matcher"
	"vigie/mpi"
	"vigie/rpc"
	"vigie/store"
)

func doseQ(v float64, d ledger.Dimension) *ledger.Quantity {
	return &ledger.Quantity{Value: v, Unit: string(d), Raw: v, RawUnit: string(d)}
}

// TestDoseSummaries: the dose summaries of a patient's exams, searched by
// patient and read by id, as R4 Observations of the Radiation Dose
// Summary IG, behind the API's checks: a clinician or physicist of the
// patient's site reads them, a hidden identity is not found, the roles
// that read no dose history are refused.
func TestDoseSummaries(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ix, err := mpi.Open(db, matcher.DefaultModel(), mpi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	trail, err := audit.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	keys := auth.NewKeys(db)
	tokens := map[string]string{}
	for name, k := range map[string]struct {
		role auth.Role
		auth []string
	}{"dr-a": {auth.RoleClinician, []string{siteA}}, "dr-b": {auth.RoleClinician, []string{siteB}},
		"physicist-a": {auth.RolePhysicist, []string{siteA}}, "pacs-a": {auth.RoleIngest, []string{siteA}}, "admin": {auth.RoleAdmin, nil}} {
		secret, _, err := keys.Create(k.role, k.auth, name, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		tokens[name] = secret
	}
	resolve := func(r vigie.Record) vigie.IdentityID {
		res, err := ix.Resolve(ctx, r, mpi.System)
		if err != nil {
			t.Fatal(err)
		}
		return res.Identity
	}
	marie := resolve(vigie.Record{Authority: siteA, LocalID: "A-100", BirthName: "DUPONT", FirstName: "MARIE", FirstNames: "MARIE", BirthDate: "1979-03-14", Sex: "F"})
	hidden := resolve(vigie.Record{Authority: siteA, LocalID: "A-200", BirthName: "BERNARD", FirstName: "LUCIE", FirstNames: "LUCIE", BirthDate: "1990-06-01", Sex: "F"})
	if _, err := ix.ChangeAttributes(ctx, hidden, []string{vigie.AttrHidden}, nil, "iv-a", "patient's request"); err != nil {
		t.Fatal(err)
	}
	led := ledger.Open(db)
	chest := ledger.Code{Value: "T-D3000", Scheme: "SRT", Meaning: "Chest"}
	ct := func(sop, local string, src ledger.SourceKind, dlp float64) *ledger.Exam {
		x := &ledger.Exam{SOPInstanceUID: sop, StudyUID: "1.2.250.1.213.5.1", Date: "2026-02-01", Time: "10:00:00", Modality: "CT",
			Procedure: "Scanner thoracique", Patient: ledger.PatientSize{Age: "046Y"}, Source: src, Domain: ledger.DomainCT,
			Key: vigie.SourceKey{Authority: siteA, LocalID: local}}
		ev := ledger.CTEvent{TargetRegion: chest, CTDIvol: doseQ(9, ledger.DimDose)}
		if dlp > 0 {
			ev.UID, ev.DLP = "ev-"+sop, doseQ(dlp, ledger.DimDLP)
			x.CT = &ledger.CTDose{DLPTotal: doseQ(dlp, ledger.DimDLP)}
		} else {
			x.CT = &ledger.CTDose{}
		}
		x.CT.Events = []ledger.CTEvent{ev}
		return x
	}
	nm := &ledger.Exam{SOPInstanceUID: "1.2.9.3", StudyUID: "1.2.250.1.213.5.2", Date: "2026-03-01", Modality: "PT", Source: ledger.SourceRDSR,
		Domain: ledger.DomainNM, Key: vigie.SourceKey{Authority: siteA, LocalID: "A-100"},
		NM: &ledger.NMDose{Administrations: []ledger.Administration{{UID: "adm1", Activity: doseQ(250, ledger.DimActivity),
			Radiopharmaceutical: ledger.Code{Value: "35321007", Scheme: "SCT", Meaning: "Fluorodeoxyglucose F^18^"}}}}}
	for _, x := range []*ledger.Exam{ct("1.2.9.1", "A-100", ledger.SourceHeader, 0), ct("1.2.9.2", "A-100", ledger.SourceRDSR, 400), nm,
		ct("1.2.9.7", "A-200", ledger.SourceRDSR, 100)} {
		if _, err := led.Put(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	api := &rpc.Server{Index: ix, Keys: keys, Trail: trail, NoLimits: true,
		Doors: map[string]rpc.Door{fhir.Path: &fhir.Server{Index: ix, Ledger: led, Coefficients: dosimetry.DefaultCoefficients(), ExamTypes: dosimetry.DefaultTable()}}}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	f := &fixture{url: srv.URL, tokens: tokens}

	byPatient := "/fhir/Observation?patient=" + marie.String() + "&code=http://loinc.org|73569-6"
	cases := []struct {
		who, path string
		status    int
		entries   int
	}{
		{"dr-a", byPatient, 200, 2},
		{"physicist-a", "/fhir/Observation?subject=Patient/" + marie.String(), 200, 2},
		{"dr-a", "/fhir/Observation?patient=" + marie.String() + "&code=8867-4", 200, 0},
		{"dr-a", "/fhir/Observation/1.2.9.2", 200, -1},
		{"dr-a", "/fhir/Observation?patient=" + hidden.String(), 404, -1},
		{"dr-a", "/fhir/Observation/1.2.9.7", 404, -1},
		{"dr-a", "/fhir/Observation/1.2.9.1", 404, -1}, // a superseded header is no summary's id
		{"dr-a", "/fhir/Observation", 400, -1},
		{"dr-a", "/fhir/Observation?patient=x", 400, -1},
		{"dr-b", byPatient, 403, -1}, // no basis: another site's clinician
		{"pacs-a", byPatient, 403, -1},
		{"admin", byPatient, 403, -1},
		{"", byPatient, 401, -1},
	}
	for _, c := range cases {
		status, m := f.call(t, c.who, "GET", c.path, "")
		if status != c.status {
			t.Errorf("%s %s: %d %v, want %d", c.who, c.path, status, m, c.status)
			continue
		}
		if c.entries >= 0 {
			entries, _ := m["entry"].([]any)
			if len(entries) != c.entries {
				t.Errorf("%s %s: %d entries, want %d", c.who, c.path, len(entries), c.entries)
			}
		}
	}
	// The CapabilityStatement names the dose summaries.
	_, c := f.call(t, "", "GET", "/fhir/metadata", "")
	res := c["rest"].([]any)[0].(map[string]any)["resource"].([]any)
	if len(res) != 2 || res[1].(map[string]any)["type"] != "Observation" {
		t.Errorf("CapabilityStatement resources %v, want Patient and Observation", res)
	}
	// What the CT summary says: the dose SR's figures (the header it
	// superseded counts nothing), amended since the header.
	_, o := f.call(t, "dr-a", "GET", "/fhir/Observation/1.2.9.2", "")
	if o["status"] != "amended" || o["subject"].(map[string]any)["reference"] != "Patient/"+marie.String() {
		t.Errorf("status %v subject %v", o["status"], o["subject"])
	}
	got := map[string]any{}
	for _, c := range o["component"].([]any) {
		cm := c.(map[string]any)
		code := cm["code"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"].(string)
		if why, ok := cm["dataAbsentReason"].(map[string]any); ok {
			// The chest CT's SSDE: no phantom, no diameter.
			if code != dosimetry.CodeSSDE || !strings.HasPrefix(why["text"].(string), "non estimée : ") {
				t.Errorf("component %s absent: %v", code, why)
			}
			continue
		}
		q := cm["valueQuantity"].(map[string]any)
		got[code] = q["value"]
		if q["system"] != fhir.SystemUCUM {
			t.Errorf("component %s: quantity system %v", code, q["system"])
		}
	}
	if got["113813"] != 400.0 || got["113830"] != 9.0 || got["113839"] != 5.6 {
		t.Errorf("components %v, want DLP 400, CTDIvol 9, effective dose 5.6", got)
	}
	notes := o["note"].([]any)
	text := notes[len(notes)-1].(map[string]any)["text"].(string)
	if !strings.Contains(text, "PDL (produit dose × longueur) total : 400 mGy.cm") || strings.Contains(text, siteA) {
		t.Errorf("note %q", text)
	}
}
