package web_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"vigie"

	"connectrpc.com/connect"

	"vigie/audit"
	"vigie/auth"
	"vigie/auth/authtest"
	"vigie/dosimetry"
	"vigie/ledger"
	"vigie/matcher"
	"vigie/mpi"
	"vigie/rpc"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
	"vigie/search"
	"vigie/sites"
	"vigie/store"
	"vigie/synth"
	"vigie/web"
)

// console is a real Vigie server on loopback: the identity and dose
// services behind the authenticating and auditing interceptor, and the
// console mounted at "/" as serve.go mounts it, over a generated
// population resolved through the patient index.
type console struct {
	url    string
	client *http.Client
	tokens map[string]string // by key: clinician, vigilance, physicist, admin, ingest…
	index  *mpi.Index
	ledger *ledger.Ledger
	// people maps a true person id to their generated records.
	people map[string][]*synth.Record
	// site is the assigning authority with the most records; the
	// physicist's key acts for it and it holds the generated exams.
	site string
	// patient is the identity whose dose history the tests read.
	patient string
}

// newConsole builds the server with persons generated persons; examsAt
// records of the busiest site get a CT and a radiography exam each.
func newConsole(t testing.TB, persons, examsAt int) *console {
	t.Helper()
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
	sx, err := search.Open("", ix.Model(), search.Options{Population: func() int { return max(ix.Count(), 10000) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sx.Close() })
	c := &console{tokens: map[string]string{}, index: ix, ledger: ledger.Open(db), people: map[string][]*synth.Record{}}

	cfg := synth.DefaultConfig(persons, 7)
	cfg.Sites = 8
	if dir, ok := synth.FindNamesDir("."); ok {
		if names, err := synth.LoadNames(dir); err == nil {
			cfg.Names = names
		}
	}
	perSite := map[string][]*synth.Record{}
	_, err = synth.Generate(cfg, func(r *synth.Record) error {
		rec := r.Traits()
		if _, err := ix.Resolve(ctx, rec, mpi.System); err != nil {
			return nil // a record the index refuses is not part of the test
		}
		cp := *r
		c.people[r.Person.ID] = append(c.people[r.Person.ID], &cp)
		perSite[r.Authority] = append(perSite[r.Authority], &cp)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sx.CatchUp(ctx, ix); err != nil {
		t.Fatal(err)
	}
	for s, rs := range perSite {
		if c.site == "" || len(rs) > len(perSite[c.site]) || len(rs) == len(perSite[c.site]) && s < c.site {
			c.site = s
		}
	}

	// Exams: a CT and a radiography for examsAt records of the site, and
	// for the first of them a full history over four sections.
	rng := rand.New(rand.NewPCG(7, 8))
	recs := perSite[c.site]
	for i, r := range recs[:min(examsAt, len(recs))] {
		key := vigie.SourceKey{Authority: r.Authority, LocalID: r.LocalID}
		kinds := []string{"CT", "DX"}
		if i == 0 {
			kinds = []string{"CT", "DX", "CT", "XA", "PT", "MG"}
			id, err := ix.IdentityOf(ctx, r.Authority, r.LocalID)
			if err != nil {
				t.Fatal(err)
			}
			c.patient = id.String()
		}
		for j, kind := range kinds {
			day := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(3*365))
			if _, err := c.ledger.Put(ctx, exam(rng, kind, key, day, fmt.Sprintf("2.25.77%06d%02d", i, j))); err != nil {
				t.Fatal(err)
			}
		}
	}
	alerts := dosimetry.OpenAlerts(db)
	scan := &dosimetry.Scanner{Types: dosimetry.DefaultTable(), NRD: dosimetry.DefaultNRD(), Coef: dosimetry.DefaultCoefficients(),
		Config: dosimetry.DefaultAlertConfig(), Identities: rpc.MPIIdentities{Index: ix}, History: c.ledger}
	if _, err := scan.Scan(ctx, c.ledger, alerts, dosimetry.ScanQuery{}); err != nil {
		t.Fatal(err)
	}

	keys := auth.NewKeys(db)
	trail, err := audit.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	// The clinician of the existing tests works at every site; the
	// clinician "clinician-site" at the busiest one only (the care
	// relationship's test), "clinician-elsewhere" at a site of no
	// patient; vigilance is regional.
	var every []string
	for s := range perSite {
		every = append(every, s)
	}
	for _, k := range []struct {
		name string
		role auth.Role
		auth []string
	}{{"clinician", auth.RoleClinician, every}, {"clinician-site", auth.RoleClinician, []string{c.site}},
		{"vigilance", auth.RoleRegionalVigilance, nil}, {"physicist", auth.RolePhysicist, []string{c.site}},
		{"clinician-elsewhere", auth.RoleClinician, []string{elsewhereSite}},
		// Two administrators (a key made through the API by one waits
		// for the other's approval) and a feed's key.
		{"admin", auth.RoleAdmin, nil}, {"admin-2", auth.RoleAdmin, nil}, {"ingest", auth.RoleIngest, []string{c.site}}} {
		secret, _, err := keys.Create(k.role, k.auth, "web-test-"+k.name, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		c.tokens[k.name] = secret
	}
	// The region's identity provider: a person signs in there as a
	// clinician (the OpenID Connect redirect sign-in).
	issuer := authtest.NewIssuer(t, map[string]any{"sub": "dr.oidc", "vigie_role": "clinician", "vigie_authorities": c.site})
	oidc, err := auth.NewOIDC(ctx, auth.OIDCConfig{Issuer: issuer.URL, Audience: authtest.ClientID})
	if err != nil {
		t.Fatal(err)
	}
	signIn, err := auth.NewSignIn(auth.SignInConfig{Verifier: oidc, ClientSecret: issuer.Secret})
	if err != nil {
		t.Fatal(err)
	}
	// The test site is registered by name; the others are not (shown as
	// "Établissement non référencé", never as an OID).
	reg := sites.Open(db)
	if _, err := reg.Add(ctx, sites.Site{Authority: c.site, Name: "CHU de Bordeaux — Pellegrin"}); err != nil {
		t.Fatal(err)
	}
	api := &rpc.Server{Index: ix, Search: sx, Ledger: c.ledger, Sites: reg, Alerts: alerts, Keys: keys, Trail: trail,
		Authenticator: auth.Chain{keys, oidc}, SignIn: signIn, Console: web.Handler(), NoLimits: true}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	c.url, c.client = srv.URL, srv.Client()
	return c
}

// elsewhereSite is the site of the "clinician-elsewhere" key: no
// generated record is of it.
const elsewhereSite = "1.2.250.1.999.9.9"

// bearer authenticates a Connect client as the given token.
func bearer(token string) connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", "Bearer "+token)
			return next(ctx, req)
		}
	}
}

func (c *console) dose(role string) vigiev1connect.DoseServiceClient {
	return vigiev1connect.NewDoseServiceClient(c.client, c.url, connect.WithInterceptors(bearer(c.tokens[role])))
}

func (c *console) identity(role string) vigiev1connect.IdentityServiceClient {
	return vigiev1connect.NewIdentityServiceClient(c.client, c.url, connect.WithInterceptors(bearer(c.tokens[role])))
}

func q(v float64, unit string, dim ledger.Dimension) *ledger.Quantity {
	x, err := ledger.NewQuantity(v, unit, dim)
	if err != nil {
		panic(err)
	}
	return &x
}

func between(rng *rand.Rand, lo, hi float64) float64 {
	return float64(int((lo+rng.Float64()*(hi-lo))*100+0.5)) / 100
}

// exam builds one plausible dose report of the given kind (CT thorax,
// chest radiograph, coronary angiography, FDG PET, mammography).
func exam(rng *rand.Rand, kind string, key vigie.SourceKey, day time.Time, sop string) *ledger.Exam {
	ex := &ledger.Exam{SOPInstanceUID: sop, StudyUID: sop + ".1", Date: day.Format(time.DateOnly), Time: "10:30:00", Modality: kind, Key: key,
		Source: ledger.SourceRDSR, SOPClassUID: "1.2.840.10008.5.1.4.1.1.88.67",
		Patient: ledger.PatientSize{Age: "054Y", Weight: q(between(rng, 55, 90), "kg", ledger.DimMass)}}
	switch kind {
	case "CT":
		dlp := between(rng, 150, 400)
		ex.Domain, ex.Procedure, ex.Protocol = ledger.DomainCT, "TDM THORAX", "TDM THORAX"
		ex.Device = ledger.Device{Manufacturer: "SIEMENS", Model: "SOMATOM go.Top", Station: "TDM1"}
		ex.CT = &ledger.CTDose{DLPTotal: q(dlp, "mGy.cm", ledger.DimDLP), Events: []ledger.CTEvent{{
			UID: sop + ".2", Protocol: "TDM THORAX", TargetRegion: ledger.Code{Value: "T-D3000", Scheme: "SRT", Meaning: "Chest"},
			AcquisitionType: ledger.Code{Value: "P5-08001", Scheme: "SRT", Meaning: "Spiral Acquisition"},
			Phantom:         ledger.Code{Value: "113691", Scheme: "DCM", Meaning: "IEC Body Dosimetry Phantom"},
			CTDIvol:         q(between(rng, 4, 12), "mGy", ledger.DimDose), DLP: q(dlp, "mGy.cm", ledger.DimDLP)}}}
	case "DX":
		dap := between(rng, 5, 30)
		ex.Domain, ex.Procedure, ex.Protocol = ledger.DomainProjection, "THORAX DE FACE", "THORAX DE FACE"
		ex.Device = ledger.Device{Manufacturer: "CARESTREAM HEALTH", Model: "DRX-Evolution", Station: "RADIO1"}
		ex.Projection = &ledger.ProjectionDose{Planes: 1, DAPTotal: q(dap, "cGy.cm2", ledger.DimDAP), Events: []ledger.ProjectionEvent{{
			UID: sop + ".2", Protocol: "THORAX DE FACE", Type: ledger.Code{Value: "113611", Scheme: "DCM", Meaning: "Stationary Acquisition"},
			DAP: q(dap, "cGy.cm2", ledger.DimDAP)}}}
	case "XA":
		ex.Domain, ex.Procedure = ledger.DomainProjection, "CORONAROGRAPHIE"
		ex.Device = ledger.Device{Manufacturer: "Philips", Model: "Azurion 7", Station: "SALLE-KT"}
		ex.Projection = &ledger.ProjectionDose{Planes: 1, DAPTotal: q(between(rng, 15, 90), "Gy.cm2", ledger.DimDAP),
			RPTotal: q(between(rng, 3000, 4500), "mGy", ledger.DimDose), FluoroTime: q(between(rng, 180, 1200), "s", ledger.DimTime)}
	case "PT":
		ex.Domain, ex.Procedure, ex.SOPClassUID = ledger.DomainNM, "TEP-TDM AU 18F-FDG", "1.2.840.10008.5.1.4.1.1.88.68"
		ex.Device = ledger.Device{Manufacturer: "GE MEDICAL SYSTEMS", Model: "Discovery MI", Station: "TEP1"}
		ex.NM = &ledger.NMDose{Administrations: []ledger.Administration{{UID: sop + ".2",
			Radiopharmaceutical: ledger.Code{Value: "C-B1031", Scheme: "SRT", Meaning: "Fluorodeoxyglucose F^18^"},
			Radionuclide:        ledger.Code{Value: "C-111A1", Scheme: "SRT", Meaning: "^18^Fluorine"},
			Activity:            q(between(rng, 180, 320), "MBq", ledger.DimActivity)}}}
	case "MG":
		ex.Domain, ex.Procedure = ledger.DomainMammography, "MAMMOGRAPHIE BILATERALE"
		ex.Device = ledger.Device{Manufacturer: "HOLOGIC, Inc.", Model: "Selenia Dimensions", Station: "SENO1"}
		ex.Mammography = &ledger.MammographyDose{AGDLeft: q(between(rng, 2, 4), "mGy", ledger.DimDose),
			AGDRight: q(between(rng, 2, 4), "mGy", ledger.DimDose)}
	}
	return ex
}
