// Package demo fills an empty store with demonstration data for `vigie serve
// --demo`: a generated population resolved through the patient index, dose
// reports on a sample of its records, the alerts they raise, the
// establishments by name, and one API key per role.
package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	"vigie"

	"vigie/auth"
	"vigie/dosimetry"
	"vigie/ledger"
	"vigie/mpi"
	"vigie/rpc"
	"vigie/sites"
	"vigie/store"
	"vigie/synth"
)

// Config sizes the demonstration data of `vigie serve --demo`.
type Config struct {
	Persons int
	// Data is the store's folder, named in what Load prints when the
	// store already holds data (how to make a key for it).
	Data string
	Seed uint64
	// ExamShare is the share of source records given dose reports
	// (default 0.4), one to three each.
	ExamShare float64
}

// actor is the actor of everything --demo writes, so that the history
// of every demonstration identity says where it came from.
const actor = mpi.Actor("demo")

// Load fills an EMPTY store with a generated population (the persons of
// `vigie gen identities`, resolved through the patient index as a feed
// would be), generated dose reports on a sample of their records, the
// alerts those raise, and one API key per role, whose secrets it prints
// once on stdout. A store that holds anything is left alone (a real
// deployment never gets fake patients) and Load prints SkippedNotice
// instead: the keys of the first run were shown once, and the operator
// must learn that no new one was made and how to make one.
func Load(ctx context.Context, c Config, db *store.DB, ix *mpi.Index, led *ledger.Ledger, alerts *dosimetry.AlertStore,
	keys *auth.Keys, stdout io.Writer, log *slog.Logger) error {
	empty, err := storeEmpty(db, ix)
	if err != nil {
		return err
	}
	if !empty {
		log.Warn("demo skipped: the store is not empty, and demonstration data only goes into an empty one", "records", ix.Count())
		fmt.Fprint(stdout, SkippedNotice(c.Data))
		return nil
	}
	if c.Persons <= 0 {
		c.Persons = 2000
	}
	if c.ExamShare <= 0 {
		c.ExamShare = 0.4
	}
	t0 := time.Now()
	cfg := synth.DefaultConfig(c.Persons, c.Seed)
	cfg.Sites = 12
	if dir, ok := synth.FindNamesDir("."); ok {
		if names, err := synth.LoadNames(dir); err == nil {
			cfg.Names = names
		}
	}
	type record struct {
		key vigie.SourceKey
		age int
		sex byte
	}
	var recs []record
	siteNames := map[string]string{}
	resolved, reviews := 0, 0
	_, err = synth.Generate(cfg, func(r *synth.Record) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec := r.Traits()
		res, err := ix.Resolve(ctx, rec, actor)
		if err != nil {
			// A generated record the index refuses (an anonymous
			// placeholder, say) is simply not part of the demo.
			return nil
		}
		resolved++
		reviews += len(res.Reviews)
		recs = append(recs, record{vigie.SourceKey{Authority: r.Authority, LocalID: r.LocalID}, r.Person.Age(), r.Person.Sex})
		if r.Site != nil {
			siteNames[r.Authority] = r.Site.Name
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("demo: generate identities: %w", err)
	}
	rng := rand.New(rand.NewPCG(c.Seed, 0xd05e))
	perSite := map[string]int{}
	exams := 0
	for i, r := range recs {
		if rng.Float64() >= c.ExamShare {
			continue
		}
		for j := range 1 + rng.IntN(3) {
			ex := exam(rng, r.key, r.age, r.sex, fmt.Sprintf("2.25.%d%06d%02d", c.Seed, i, j))
			if _, err := led.Put(ctx, ex); err != nil {
				return fmt.Errorf("demo: store exam: %w", err)
			}
			exams++
			perSite[r.key.Authority]++
		}
	}
	// The generated establishments, named in the site registry as an
	// administrator would (`vigie site add`).
	reg := sites.Open(db)
	for auth, name := range siteNames {
		if _, err := reg.Add(ctx, sites.Site{Authority: auth, Name: name}); err != nil {
			return fmt.Errorf("demo: register site: %w", err)
		}
	}
	// One patient with an exam of every family, a PET/CT among them, for
	// the dose history to show its four sections.
	var showcase string
	for i, r := range recs {
		if r.sex != 'F' || r.age < 45 || r.age > 80 {
			continue
		}
		day := time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC)
		var pet *ledger.Exam
		for j, kind := range []string{"DX", "XA", "CT", "MG", "PT", "CT", "DX", "MG"} {
			ex := examOf(rng, kind, r.key, r.age, day.AddDate(0, 0, 97*j), fmt.Sprintf("2.25.%d9%06d%02d", c.Seed, i, j))
			if kind == "PT" {
				pet = ex
			}
			if _, err := led.Put(ctx, ex); err != nil {
				return fmt.Errorf("demo: store exam: %w", err)
			}
			exams++
			perSite[r.key.Authority]++
		}
		// The CT part of the PET/CT: same study, same record.
		ct := examOf(rng, "CT", r.key, r.age, day, fmt.Sprintf("2.25.%d9%06d99", c.Seed, i))
		ct.StudyUID, ct.Date, ct.Procedure = pet.StudyUID, pet.Date, pet.Procedure
		if _, err := led.Put(ctx, ct); err != nil {
			return fmt.Errorf("demo: store exam: %w", err)
		}
		exams++
		if id, err := ix.IdentityOf(ctx, r.key.Authority, r.key.LocalID); err == nil {
			showcase = id.String()
		}
		break
	}
	scan := &dosimetry.Scanner{Types: dosimetry.DefaultTable(), NRD: dosimetry.DefaultNRD(), Coef: dosimetry.DefaultCoefficients(),
		Config: dosimetry.DefaultAlertConfig(), Identities: rpc.MPIIdentities{Index: ix}, History: led}
	sr, err := scan.Scan(ctx, led, alerts, dosimetry.ScanQuery{})
	if err != nil {
		return fmt.Errorf("demo: alerts: %w", err)
	}
	// The scoped demo keys act for the busiest site.
	var site string
	for s, n := range perSite {
		if site == "" || n > perSite[site] || (n == perSite[site] && s < site) {
			site = s
		}
	}
	fmt.Fprintln(stdout, "DEMO: demonstration API keys (generated patients only; valid 30 days; shown this once):")
	for _, role := range auth.Roles {
		var authorities []string
		if role.NeedsSites() {
			authorities = []string{site}
		}
		name := "demo-" + string(role)
		secret, _, err := keys.Create(role, authorities, name, 30*24*time.Hour)
		if err != nil {
			return fmt.Errorf("demo: create key %s: %w", name, err)
		}
		fmt.Fprintf(stdout, "DEMO  %-18s %-24s %s%s\n", role, name, secret, map[bool]string{true: "  (authority " + site + ")"}[role.NeedsSites()])
		log.Info("demo API key created", "name", name, "role", string(role))
	}
	if showcase != "" {
		fmt.Fprintf(stdout, "DEMO: identity %s has an exam of every kind: open #/dose/%s in the console\n", showcase, showcase)
	}
	log.Info("demo data loaded", "persons", c.Persons, "records", resolved, "reviews", reviews, "exams", exams,
		"alerts", sr.Raised, "sites", len(perSite), "elapsed", time.Since(t0).Round(time.Millisecond).String())
	return nil
}

// SkippedNotice is what Load prints on a store that already holds data:
// nothing loaded, no key created, and the command that makes a key for the
// store in data ("DIR" when unknown).
func SkippedNotice(data string) string {
	if data == "" {
		data = "DIR"
	}
	return "DEMO: the store already holds data: no demonstration data loaded and no API key created " +
		"(the keys of the first --demo run were shown once).\n" +
		"DEMO: to make a new key, stop the server and run: vigie token create --data " + data + " --role admin --name NAME " +
		"(or another role with --authority OID); to start the demo afresh, stop the server and remove " + data + ".\n"
}

// storeEmpty reports whether the store holds no patient, exam, audit entry,
// key or alert.
func storeEmpty(db *store.DB, ix *mpi.Index) (bool, error) {
	if ix.Count() > 0 {
		return false, nil
	}
	empty := true
	err := db.View(func(txn *store.Txn) error {
		for _, p := range []string{"l/", "a/", "x/"} {
			it := txn.NewIterator(store.IteratorOptions{Prefix: []byte(p)})
			it.Rewind()
			if it.Valid() {
				empty = false
			}
			it.Close()
		}
		return nil
	})
	return empty, err
}

// q builds a quantity from a value in a unit the ledger knows.
func q(v float64, unit string, dim ledger.Dimension) *ledger.Quantity {
	x, err := ledger.NewQuantity(v, unit, dim)
	if err != nil {
		panic("demo: " + err.Error())
	}
	return &x
}

func between(rng *rand.Rand, lo, hi float64) float64 {
	v := lo + rng.Float64()*(hi-lo)
	return float64(int(v*100+0.5)) / 100
}

var devices = map[string][]ledger.Device{
	"CT": {{Manufacturer: "SIEMENS", Model: "SOMATOM go.Top", Station: "TDM1"}, {Manufacturer: "GE MEDICAL SYSTEMS", Model: "Revolution EVO", Station: "TDM2"}},
	"DX": {{Manufacturer: "CARESTREAM HEALTH", Model: "DRX-Evolution", Station: "RADIO1"}},
	"XA": {{Manufacturer: "Philips", Model: "Azurion 7", Station: "SALLE-KT"}},
	"MG": {{Manufacturer: "HOLOGIC, Inc.", Model: "Selenia Dimensions", Station: "SENO1"}},
	"PT": {{Manufacturer: "GE MEDICAL SYSTEMS", Model: "Discovery MI", Station: "TEP1"}},
}

// exam generates one plausible exam (figures of the order of the French
// NRD) of a kind that fits the patient: mammography for women over 40,
// interventional cardiology and PET for adults.
func exam(rng *rand.Rand, key vigie.SourceKey, age int, sex byte, sop string) *ledger.Exam {
	kinds := []string{"CT", "CT", "DX", "DX", "DX"}
	if age >= 18 {
		kinds = append(kinds, "XA", "PT")
	}
	if sex == 'F' && age >= 40 {
		kinds = append(kinds, "MG", "MG")
	}
	kind := kinds[rng.IntN(len(kinds))]
	day := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(3*365))
	return examOf(rng, kind, key, age, day, sop)
}

// examOf generates one exam of a kind (CT, DX, XA, MG, PT) on a day.
func examOf(rng *rand.Rand, kind string, key vigie.SourceKey, age int, day time.Time, sop string) *ledger.Exam {
	devs := devices[kind]
	ex := &ledger.Exam{SOPInstanceUID: sop, StudyUID: sop + ".1", Date: day.Format(time.DateOnly),
		Time: fmt.Sprintf("%02d:%02d:00", 8+rng.IntN(10), rng.IntN(60)), Modality: kind, Key: key,
		Device: devs[rng.IntN(len(devs))], Source: ledger.SourceRDSR, SOPClassUID: "1.2.840.10008.5.1.4.1.1.88.67",
		Patient: ledger.PatientSize{Age: fmt.Sprintf("%03dY", age), Weight: q(between(rng, 50, 95), "kg", ledger.DimMass)}}
	if age < 18 {
		ex.Patient.Weight = q(between(rng, 15, 60), "kg", ledger.DimMass)
	}
	switch kind {
	case "CT":
		ex.Domain = ledger.DomainCT
		procs := []struct {
			name, region, regionCode string
			ctdi, dlp                [2]float64
			head                     bool
		}{
			{"TDM THORAX", "Chest", "T-D3000", [2]float64{4, 10}, [2]float64{150, 400}, false},
			{"TDM ABDOMEN-PELVIS", "Abdomen and Pelvis", "T-D0060", [2]float64{7, 14}, [2]float64{350, 800}, false},
			{"TDM ENCEPHALE", "Head", "T-D1100", [2]float64{35, 60}, [2]float64{600, 1100}, true},
		}
		p := procs[rng.IntN(len(procs))]
		phantom := ledger.Code{Value: "113691", Scheme: "DCM", Meaning: "IEC Body Dosimetry Phantom"}
		if p.head {
			phantom = ledger.Code{Value: "113690", Scheme: "DCM", Meaning: "IEC Head Dosimetry Phantom"}
		}
		dlp := between(rng, p.dlp[0], p.dlp[1])
		ex.Procedure, ex.Protocol = p.name, p.name
		ex.CT = &ledger.CTDose{DLPTotal: q(dlp, "mGy.cm", ledger.DimDLP), Events: []ledger.CTEvent{{
			UID: sop + ".2", Protocol: p.name, TargetRegion: ledger.Code{Value: p.regionCode, Scheme: "SRT", Meaning: p.region},
			AcquisitionType: ledger.Code{Value: "P5-08001", Scheme: "SRT", Meaning: "Spiral Acquisition"}, Phantom: phantom,
			CTDIvol: q(between(rng, p.ctdi[0], p.ctdi[1]), "mGy", ledger.DimDose), DLP: q(dlp, "mGy.cm", ledger.DimDLP)}}}
	case "DX":
		ex.Domain = ledger.DomainProjection
		procs := []struct {
			name string
			dap  [2]float64 // cGy.cm²
		}{{"THORAX DE FACE", [2]float64{5, 20}}, {"BASSIN DE FACE", [2]float64{100, 300}}, {"RACHIS LOMBAIRE DE FACE", [2]float64{100, 350}}}
		p := procs[rng.IntN(len(procs))]
		dap := between(rng, p.dap[0], p.dap[1])
		ex.Procedure, ex.Protocol = p.name, p.name
		ex.Projection = &ledger.ProjectionDose{Planes: 1, DAPTotal: q(dap, "cGy.cm2", ledger.DimDAP), Events: []ledger.ProjectionEvent{{
			UID: sop + ".2", Protocol: p.name, Type: ledger.Code{Value: "113611", Scheme: "DCM", Meaning: "Stationary Acquisition"},
			DAP: q(dap, "cGy.cm2", ledger.DimDAP)}}}
	case "XA":
		ex.Domain = ledger.DomainProjection
		kerma := between(rng, 200, 1500)
		if rng.IntN(20) == 0 {
			kerma = between(rng, 3000, 4500) // an alert for the physicist
		}
		fluoro := between(rng, 180, 1200)
		ex.Procedure = "CORONAROGRAPHIE"
		ex.Projection = &ledger.ProjectionDose{Planes: 1, DAPTotal: q(between(rng, 15, 90), "Gy.cm2", ledger.DimDAP),
			RPTotal: q(kerma, "mGy", ledger.DimDose), FluoroTime: q(fluoro, "s", ledger.DimTime)}
	case "MG":
		ex.Domain = ledger.DomainMammography
		ex.Procedure = "MAMMOGRAPHIE BILATERALE"
		ex.Mammography = &ledger.MammographyDose{AGDLeft: q(between(rng, 2, 4), "mGy", ledger.DimDose),
			AGDRight: q(between(rng, 2, 4), "mGy", ledger.DimDose)}
	case "PT":
		ex.Domain = ledger.DomainNM
		ex.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.68"
		ex.Procedure = "TEP-TDM AU 18F-FDG"
		ex.NM = &ledger.NMDose{Administrations: []ledger.Administration{{UID: sop + ".2",
			Radiopharmaceutical: ledger.Code{Value: "C-B1031", Scheme: "SRT", Meaning: "Fluorodeoxyglucose F^18^"},
			Radionuclide:        ledger.Code{Value: "C-111A1", Scheme: "SRT", Meaning: "^18^Fluorine"},
			Activity:            q(between(rng, 180, 320), "MBq", ledger.DimActivity)}}}
	}
	return ex
}
