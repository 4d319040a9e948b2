package fhir_test

import (
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"vigie/auth"
	"vigie/fhir"
	"vigie/matcher"
	"vigie/rpc"
	"vigie/search"
)

const breakGlass = "urgence%20vitale%20au%20bloc%20op%C3%A9ratoire"

// TestRead: GET Patient/{id} as every role on the patients of the
// scenarios, with the access rules of the Connect API (README, "Roles
// and access"), each refusal an OperationOutcome naming what is missing.
func TestRead(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		who, patient string
		headers      []string
		status       int
		code, expr   string // the OperationOutcome of a refusal
	}{
		{"dr-a", "shared", nil, 200, "", ""},
		{"dr-a", "siteB", nil, 403, "forbidden", "access_basis"},
		{"dr-a", "siteB", []string{auth.BreakGlassHeader, breakGlass}, 200, "", ""},
		{"dr-a", "siteB", []string{auth.BreakGlassHeader, "urgence"}, 400, "invalid", "break_glass"},
		{"dr-a", "siteB", []string{auth.AccessCodeHeader, "K7QF-M2XD-93TB"}, 403, "forbidden", "access_code"},
		{"dr-a", "hidden", []string{auth.BreakGlassHeader, breakGlass}, 404, "not-found", "id"},
		{"iv-a", "hidden", nil, 200, "", ""},
		{"iv-a", "siteB", nil, 404, "not-found", "id"},
		{"iv-team", "siteB", nil, 200, "", ""},
		{"physicist-a", "shared", nil, 403, "forbidden", ""},
		{"pacs-a", "shared", nil, 403, "forbidden", ""},
		{"admin", "shared", nil, 403, "forbidden", ""},
		{"", "shared", nil, 401, "login", "Authorization"},
	} {
		t.Run(c.who+"/"+c.patient+"/"+strings.Join(c.headers, "="), func(t *testing.T) {
			status, m := f.call(t, c.who, "GET", "/fhir/Patient/"+f.ids[c.patient], "", c.headers...)
			if status != c.status {
				t.Fatalf("status %d, want %d: %v", status, c.status, m)
			}
			if c.status != 200 {
				code, expr, diag := issue(t, m)
				if code != c.code || expr != c.expr || diag == "" {
					t.Errorf("issue %q on %q (%s), want %q on %q", code, expr, diag, c.code, c.expr)
				}
				return
			}
			if m["resourceType"] != "Patient" || m["id"] != f.ids[c.patient] {
				t.Errorf("got %v, want Patient %s", m["id"], f.ids[c.patient])
			}
		})
	}
	if !f.audited(t, "dr-a", auth.FHIRReadOperation, "ok", f.ids["shared"]) {
		t.Error("the clinician's read is not in the audit trail with the identity")
	}
	if !f.audited(t, "dr-a", auth.FHIRReadOperation, "permission_denied", "") {
		t.Error("the refused read is not in the audit trail")
	}
}

// TestReadFRCore: the identity as an FR Core Patient: both records'
// identifiers under their authorities' OIDs, the qualified INS, the
// identity's status, official and usual names.
func TestReadFRCore(t *testing.T) {
	f := newFixture(t)
	status, m := f.call(t, "dr-a", "GET", "/fhir/Patient/"+f.ids["shared"], "")
	if status != 200 {
		t.Fatalf("status %d: %v", status, m)
	}
	ids := map[string]string{}
	for _, i := range m["identifier"].([]any) {
		im := i.(map[string]any)
		ids[im["system"].(string)] = im["value"].(string)
	}
	want := map[string]string{"urn:oid:" + siteA: "A-100", "urn:oid:" + siteB: "B-7", "urn:oid:" + matcher.OIDINSNIR: insMarie}
	for sys, v := range want {
		if ids[sys] != v {
			t.Errorf("identifier %s = %q, want %q (all: %v)", sys, ids[sys], v, ids)
		}
	}
	names := map[string]map[string]any{}
	for _, n := range m["name"].([]any) {
		nm := n.(map[string]any)
		names[nm["use"].(string)] = nm
	}
	if names["official"]["family"] != "DUPONT" || len(names["official"]["given"].([]any)) != 2 {
		t.Errorf("official name %v, want DUPONT MARIE CLAIRE", names["official"])
	}
	if names["usual"]["family"] != "MARTIN" {
		t.Errorf("usual name %v, want MARTIN", names["usual"])
	}
	if m["gender"] != "female" || m["birthDate"] != "1979-03-14" {
		t.Errorf("gender %v birthDate %v", m["gender"], m["birthDate"])
	}
	ext := m["extension"].([]any)[0].(map[string]any)
	status0 := ext["extension"].([]any)[0].(map[string]any)["valueCoding"].(map[string]any)["code"]
	if ext["url"] != fhir.ExtIdentityReliability || status0 != "QUAL" {
		t.Errorf("identity reliability %v, want QUAL", ext)
	}
	profiles := m["meta"].(map[string]any)["profile"].([]any)
	if len(profiles) != 2 || profiles[1] != fhir.ProfilePatientINS {
		t.Errorf("profiles %v, want fr-core-patient and fr-core-patient-ins", profiles)
	}
}

// TestSearch: PDQm queries, the restricted and hidden candidates, paging
// and the refusals, each naming the parameter.
func TestSearch(t *testing.T) {
	f := newFixture(t)
	q := func(s string) string { return "/fhir/Patient?" + s }
	for _, c := range []struct {
		name, who, query string
		status           int
		want, notWant    []string // patients of the scenarios among the results
		expr             string   // the parameter an error names
	}{
		{"family and given", "dr-a", q("family=DUPONT&given=MARIE&birthdate=1979-03-14"), 200, []string{"shared"}, nil, ""},
		{"accents and used name", "dr-a", q("family=MARTIN&given=Marie&gender=female"), 200, []string{"shared"}, nil, ""},
		{"identifier local", "dr-a", q("identifier=" + url.QueryEscape("urn:oid:"+siteB+"|B-7")), 200, []string{"shared"}, []string{"siteB"}, ""},
		{"identifier INS", "dr-a", q("identifier=" + url.QueryEscape("urn:oid:"+matcher.OIDINSNIR+"|"+insMarie)), 200, []string{"shared"}, nil, ""},
		{"hidden left out for a clinician", "dr-a", q("family=BERNARD&given=LUCIE&birthdate=1990-06-01"), 200, nil, []string{"hidden"}, ""},
		{"hidden shown to its vigilance", "iv-a", q("family=BERNARD&given=LUCIE&birthdate=1990-06-01"), 200, []string{"hidden"}, nil, ""},
		{"no name", "dr-a", q("given=MARIE"), 400, nil, nil, "family"},
		{"unknown parameter", "dr-a", q("family=DUPONT&telecom=0556"), 400, nil, nil, "telecom"},
		{"modifier", "dr-a", q("family:exact=DUPONT"), 400, nil, nil, "family:exact"},
		{"date prefix", "dr-a", q("family=DUPONT&birthdate=ge1979-01-01"), 400, nil, nil, "birthdate"},
		{"bad date", "dr-a", q("family=DUPONT&birthdate=1979-02-30"), 400, nil, nil, "birthdate"},
		{"bad gender", "dr-a", q("family=DUPONT&gender=F"), 400, nil, nil, "gender"},
		{"identifier without system", "dr-a", q("identifier=A-100"), 400, nil, nil, "identifier"},
		{"identifier not an OID", "dr-a", q("identifier=" + url.QueryEscape("http://x|A-100")), 400, nil, nil, "identifier"},
		{"bad INS", "dr-a", q("identifier=" + url.QueryEscape("urn:oid:"+matcher.OIDINSNIR+"|276037510669380")), 400, nil, nil, "identifier"},
		{"count zero", "dr-a", q("family=DUPONT&_count=0"), 400, nil, nil, "_count"},
		{"count too large", "dr-a", q("family=DUPONT&_count=101"), 400, nil, nil, "_count"},
		{"format xml", "dr-a", q("family=DUPONT&_format=xml"), 406, nil, nil, "_format"},
		{"physicist", "physicist-a", q("family=DUPONT"), 403, nil, nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, m := f.call(t, c.who, "GET", c.query, "")
			if status != c.status {
				t.Fatalf("status %d, want %d: %v", status, c.status, m)
			}
			if status != 200 {
				_, expr, diag := issue(t, m)
				if expr != c.expr || !strings.Contains(diag, c.expr) {
					t.Errorf("issue on %q (%s), want on %q", expr, diag, c.expr)
				}
				return
			}
			got := entryIDs(m)
			for _, w := range c.want {
				if !contains(got, f.ids[w]) {
					t.Errorf("results %v lack %s (%s)", got, w, f.ids[w])
				}
			}
			for _, w := range c.notWant {
				if contains(got, f.ids[w]) {
					t.Errorf("results %v hold %s (%s)", got, w, f.ids[w])
				}
			}
		})
	}
}

// TestSearchRestricted: a clinician sees a candidate without a basis as
// names, sex and birth year only, marked REDACTED, as the Connect search
// shows it.
func TestSearchRestricted(t *testing.T) {
	f := newFixture(t)
	_, m := f.call(t, "dr-a", "GET", "/fhir/Patient?family=LEROY&given=JEAN&birthdate=1948-11-02", "")
	e := entryOf(m, f.ids["siteB"])
	if e == nil {
		t.Fatalf("LEROY not found: %v", m)
	}
	p := e["resource"].(map[string]any)
	if p["identifier"] != nil || p["birthDate"] != "1948" || p["address"] != nil {
		t.Errorf("restricted Patient shows identifier %v, birthDate %v, address %v", p["identifier"], p["birthDate"], p["address"])
	}
	sec := p["meta"].(map[string]any)["security"].([]any)[0].(map[string]any)
	if sec["code"] != "REDACTED" {
		t.Errorf("security %v, want REDACTED", sec)
	}
	// Regional vigilance sees it in full.
	_, m = f.call(t, "iv-team", "GET", "/fhir/Patient?family=LEROY&given=JEAN&birthdate=1948-11-02", "")
	if p := entryOf(m, f.ids["siteB"])["resource"].(map[string]any); p["birthDate"] != "1948-11-02" || p["identifier"] == nil {
		t.Errorf("regional vigilance sees %v", p)
	}
}

// TestSearchPaging: _count pages through the ranked list with next links,
// each page new patients, until the last without a next link.
func TestSearchPaging(t *testing.T) {
	f := newFixture(t)
	next := "/fhir/Patient?family=GARNIER&_count=7"
	seen := map[string]bool{}
	pages := 0
	for next != "" {
		status, m := f.call(t, "dr-a", "GET", next, "")
		if status != 200 {
			t.Fatalf("%s: status %d: %v", next, status, m)
		}
		pages++
		ids := entryIDs(m)
		if len(ids) == 0 {
			t.Fatalf("page %d is empty", pages)
		}
		for _, id := range ids {
			if seen[id] {
				t.Errorf("page %d repeats %s", pages, id)
			}
			seen[id] = true
		}
		next = ""
		for _, l := range m["link"].([]any) {
			lm := l.(map[string]any)
			if lm["relation"] == "next" {
				u, err := url.Parse(lm["url"].(string))
				if err != nil {
					t.Fatal(err)
				}
				next = u.RequestURI()
			}
		}
		if pages > 10 {
			t.Fatal("more than 10 pages of 7 for 25 patients")
		}
	}
	if len(seen) != 25 || pages != 4 {
		t.Errorf("%d patients in %d pages, want the 25 GARNIER in 4 pages of 7", len(seen), pages)
	}
}

// TestMatch: $match (ITI-119) with a Parameters or a bare Patient; each
// candidate with its score and grade; the refusals naming the element.
func TestMatch(t *testing.T) {
	f := newFixture(t)
	patient := `{"resourceType":"Patient","name":[{"use":"official","family":"DUPONT","given":["MARIE"]}],"gender":"female","birthDate":"1979-03-14"}`
	params := func(extra string) string {
		return `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":` + patient + `}` + extra + `]}`
	}
	for _, c := range []struct {
		name, who, body string
		status          int
		grade           string // the grade of DUPONT's identity when found
		expr            string
	}{
		{"parameters", "dr-a", params(""), 200, "certain", ""},
		{"bare patient", "dr-a", patient, 200, "certain", ""},
		{"only certain", "iv-team", params(`,{"name":"onlyCertainMatches","valueBoolean":true},{"name":"count","valueInteger":3}`), 200, "certain", ""},
		{"by identifier", "dr-a", `{"resourceType":"Patient","identifier":[{"system":"urn:oid:` + siteA + `","value":"A-100"}]}`, 200, "certain", ""},
		{"no name", "dr-a", `{"resourceType":"Patient","birthDate":"1979-03-14"}`, 400, "", "Patient.name"},
		{"bad birth date", "dr-a", `{"resourceType":"Patient","name":[{"family":"DUPONT"}],"birthDate":"1979-13-40"}`, 400, "", "Patient.birthDate"},
		{"bad gender code", "dr-a", `{"resourceType":"Patient","name":[{"family":"DUPONT"}],"gender":"F"}`, 400, "", "Patient"},
		{"count too large", "dr-a", params(`,{"name":"count","valueInteger":500}`), 400, "", "count"},
		{"unknown parameter", "dr-a", params(`,{"name":"threshold","valueInteger":5}`), 400, "", "threshold"},
		{"no resource", "dr-a", `{"resourceType":"Parameters","parameter":[]}`, 400, "", "resource"},
		{"other resource", "dr-a", `{"resourceType":"Observation"}`, 400, "", "resourceType"},
		{"not JSON", "dr-a", `<Patient/>`, 400, "", "body"},
		{"ingest", "pacs-a", patient, 403, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, m := f.call(t, c.who, "POST", "/fhir/Patient/$match", c.body)
			if status != c.status {
				t.Fatalf("status %d, want %d: %v", status, c.status, m)
			}
			if status != 200 {
				_, expr, _ := issue(t, m)
				if expr != c.expr {
					t.Errorf("issue on %q, want %q: %v", expr, c.expr, m)
				}
				return
			}
			e := entryOf(m, f.ids["shared"])
			if e == nil {
				t.Fatalf("DUPONT not among the candidates: %v", entryIDs(m))
			}
			if entryIDs(m)[0] != f.ids["shared"] {
				t.Errorf("DUPONT is not first: %v", entryIDs(m))
			}
			s := e["search"].(map[string]any)
			ext := s["extension"].([]any)[0].(map[string]any)
			if ext["url"] != fhir.ExtMatchGrade || ext["valueCode"] != c.grade || s["mode"] != "match" {
				t.Errorf("search %v, want grade %s", s, c.grade)
			}
			if score, _ := s["score"].(float64); score <= 0 || score > 1 {
				t.Errorf("score %v, want in (0, 1]", s["score"])
			}
			if strings.Contains(c.name, "only certain") {
				for _, e := range m["entry"].([]any) {
					if g := e.(map[string]any)["search"].(map[string]any)["extension"].([]any)[0].(map[string]any)["valueCode"]; g != "certain" {
						t.Errorf("onlyCertainMatches returned a %v candidate", g)
					}
				}
			}
		})
	}
	if !f.audited(t, "dr-a", auth.FHIRMatchOperation, "ok", f.ids["shared"]) {
		t.Error("$match is not in the audit trail with the candidate")
	}
}

// TestPIX: $ihe-pix (ITI-83) cross-references, the target filter, and
// the refusals.
func TestPIX(t *testing.T) {
	f := newFixture(t)
	pix := func(q string) string { return "/fhir/Patient/$ihe-pix?" + q }
	src := func(auth, id string) string { return "sourceIdentifier=" + url.QueryEscape("urn:oid:"+auth+"|"+id) }
	for _, c := range []struct {
		name, who, query string
		status           int
		want             []string // system|value of the targets
		expr             string
	}{
		{"cross-referenced", "dr-a", pix(src(siteA, "A-100")), 200,
			[]string{"urn:oid:" + siteB + "|B-7", "urn:oid:" + matcher.OIDINSNIR + "|" + insMarie}, ""},
		{"target system", "dr-a", pix(src(siteA, "A-100") + "&targetSystem=" + url.QueryEscape("urn:oid:"+siteB)), 200,
			[]string{"urn:oid:" + siteB + "|B-7"}, ""},
		{"unknown record", "dr-a", pix(src(siteA, "nope")), 404, nil, "sourceIdentifier"},
		{"hidden is not found", "dr-a", pix(src(siteA, "A-200")), 404, nil, "sourceIdentifier"},
		{"no basis", "dr-a", pix(src(siteB, "B-8")), 403, nil, "access_basis"},
		{"break the glass", "dr-a", pix(src(siteB, "B-8")), 200, nil, ""},
		{"INS as source", "dr-a", pix(src(matcher.OIDINSNIR, insMarie)), 400, nil, "sourceIdentifier"},
		{"missing", "dr-a", pix(""), 400, nil, "sourceIdentifier"},
		{"unknown parameter", "dr-a", pix(src(siteA, "A-100") + "&_count=3"), 400, nil, "_count"},
		{"ingest", "pacs-a", pix(src(siteA, "A-100")), 403, nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var h []string
			if c.name == "break the glass" {
				h = []string{auth.BreakGlassHeader, breakGlass}
			}
			status, m := f.call(t, c.who, "GET", c.query, "", h...)
			if status != c.status {
				t.Fatalf("status %d, want %d: %v", status, c.status, m)
			}
			if status != 200 {
				_, expr, _ := issue(t, m)
				if expr != c.expr {
					t.Errorf("issue on %q, want %q: %v", expr, c.expr, m)
				}
				return
			}
			var got []string
			var target string
			for _, p := range m["parameter"].([]any) {
				pm := p.(map[string]any)
				switch pm["name"] {
				case "targetIdentifier":
					id := pm["valueIdentifier"].(map[string]any)
					got = append(got, id["system"].(string)+"|"+id["value"].(string))
				case "targetId":
					target = pm["valueReference"].(map[string]any)["reference"].(string)
				}
			}
			slices.Sort(got)
			slices.Sort(c.want)
			if c.want != nil && strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Errorf("targets %v, want %v", got, c.want)
			}
			if !strings.HasPrefix(target, "Patient/") {
				t.Errorf("targetId %q", target)
			}
		})
	}
}

// TestMetadata: the CapabilityStatement answers without a token; other
// paths and methods answer OperationOutcomes.
func TestMetadata(t *testing.T) {
	f := newFixture(t)
	status, m := f.call(t, "", "GET", "/fhir/metadata", "")
	if status != 200 || m["resourceType"] != "CapabilityStatement" || m["fhirVersion"] != "4.0.1" {
		t.Fatalf("status %d: %v", status, m)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/fhir/Observation"}, {"DELETE", "/fhir/Patient/1"}, {"POST", "/fhir/Patient"},
	} {
		status, m := f.call(t, "dr-a", c.method, c.path, "")
		if code, _, _ := issue(t, m); status != 404 || code != "not-supported" {
			t.Errorf("%s %s: %d %s", c.method, c.path, status, code)
		}
	}
	status, m = f.call(t, "dr-a", "POST", "/fhir/Patient/$match", "{}", "Content-Type", "application/xml")
	if _, expr, _ := issue(t, m); status != 415 || expr != "Content-Type" {
		t.Errorf("$match in XML: %d on %q", status, expr)
	}
}

// TestSearchCatchingUp: a search answered while the search index has not
// caught up with the patient index says so in an outcome entry.
func TestSearchCatchingUp(t *testing.T) {
	f := newFixture(t)
	sx, err := search.Open("", f.index.Model(), search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sx.Close() })
	api := &rpc.Server{Index: f.index, Search: sx, Keys: f.keys, Trail: f.trail, NoLimits: true,
		Doors: map[string]rpc.Door{fhir.Path: &fhir.Server{Index: f.index, Search: sx}}}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	g := *f
	g.url = srv.URL
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/fhir/Patient?family=DUPONT", ""},
		{"POST", "/fhir/Patient/$match", `{"resourceType":"Patient","name":[{"family":"DUPONT"}]}`},
	} {
		status, m := g.call(t, "iv-team", c.method, c.path, c.body)
		entries, _ := m["entry"].([]any)
		if status != 200 || len(entries) != 1 {
			t.Fatalf("%s %s: %d %v", c.method, c.path, status, m)
		}
		e := entries[0].(map[string]any)
		if e["search"].(map[string]any)["mode"] != "outcome" || e["resource"].(map[string]any)["resourceType"] != "OperationOutcome" {
			t.Errorf("%s %s: entry %v, want the outcome saying the index is catching up", c.method, c.path, e)
		}
	}
}

// TestBreakGlassAudited: a clinician's emergency read through FHIR is
// recorded as the Connect API records it: the basis with the reason in the
// call's audit entry, and the access in the break-the-glass list of the
// patient's sites, under the FHIR operation.
func TestBreakGlassAudited(t *testing.T) {
	f := newFixture(t)
	if status, m := f.call(t, "dr-a", "GET", "/fhir/Patient/"+f.ids["siteB"], "", auth.BreakGlassHeader, breakGlass); status != 200 {
		t.Fatalf("status %d: %v", status, m)
	}
	entries, err := f.trail.ByUser("dr-a", 100)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range entries {
		if e.Operation == auth.FHIRReadOperation && e.Result == "ok" && strings.HasPrefix(e.Basis, "break_glass: urgence vitale") {
			found = contains(e.Identities, f.ids["siteB"])
		}
	}
	if !found {
		t.Errorf("no audit entry of the emergency read with its basis: %+v", entries)
	}
	bg, err := auth.NewAccess(f.keys.Store()).BreakGlassSince(time.Time{}, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(bg) != 1 || bg[0].Identity != f.ids["siteB"] || bg[0].Operation != auth.FHIRReadOperation || bg[0].Principal != "dr-a" {
		t.Errorf("break-the-glass list %+v, want dr-a's FHIR read of %s", bg, f.ids["siteB"])
	}
}

// TestRateLimited: over the rate of reads, a FHIR call is refused with
// 429 and an OperationOutcome (throttled), as the Connect calls are with
// resource_exhausted.
func TestRateLimited(t *testing.T) {
	f := newFixture(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	api := &rpc.Server{Index: f.index, Search: f.search, Keys: f.keys, Trail: f.trail,
		Limits: &auth.Limits{Rate: 1, Burst: 2, BackoffBase: time.Second, BackoffMax: time.Minute, Now: func() time.Time { return now }},
		Doors:  map[string]rpc.Door{fhir.Path: &fhir.Server{Index: f.index, Search: f.search}}}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	g := *f
	g.url = srv.URL
	for i, want := range []int{200, 200, 429} {
		status, m := g.call(t, "dr-a", "GET", "/fhir/Patient/"+f.ids["shared"], "")
		if status != want {
			t.Fatalf("call %d: status %d, want %d: %v", i, status, want, m)
		}
		if want == 429 {
			if code, _, _ := issue(t, m); code != "throttled" {
				t.Errorf("429 with issue %q, want throttled", code)
			}
		}
	}
}
