package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"vigie"
	"vigie/audit"
	"vigie/dosimetry"
	"vigie/ledger"
	"vigie/mpi"
	"vigie/rpc"
)

func init() {
	register(verb{name: "alerts list", summary: "list dose alerts (--open: not acknowledged yet)", run: runAlertsList})
	register(verb{name: "alerts scan", summary: "apply the dose alert rules to the ledger and store new alerts (idempotent)", run: runAlertsScan})
	register(verb{name: "alerts ack", summary: "acknowledge a dose alert with a comment (alerts are never deleted)", run: runAlertsAck})
	register(verb{name: "alerts config", summary: "show the alert thresholds, check a site file (--config), or write the defaults or the effective-dose and nuclear-medicine coefficients for editing", run: runAlertsConfig})
}

func runAlertsConfig(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("alerts config", stderr)
	config := fs.String("config", "", "check and show this site configuration (over the defaults)")
	write := fs.String("write", "", "write the default thresholds to this file, for the site to edit and pass to alerts scan --config")
	writeCoef := fs.String("write-coefficients", "", "write the shipped effective-dose coefficients to this file, for the physicist to complete")
	writeNM := fs.String("write-nm-coefficients", "", "write the shipped nuclear-medicine dose coefficients (tab-separated, with their sources) to this file, for the physicist to complete and pass with --nm-coefficients")
	force := fs.Bool("force", false, "with --write, --write-coefficients or --write-nm-coefficients, overwrite an existing file")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *writeCoef != "" {
		if err := writeNew(*writeCoef, dosimetry.DefaultCoefficientsJSON(), *force); err != nil {
			return err
		}
	}
	if *writeNM != "" {
		if err := writeNew(*writeNM, dosimetry.DefaultNMCoefficientsTSV(), *force); err != nil {
			return err
		}
	}
	cfg, err := loadFlagFile("config", *config, dosimetry.DefaultAlertConfig, dosimetry.LoadAlertConfig)
	if err != nil {
		return err
	}
	b, err := cfg.JSON()
	if err != nil {
		return err
	}
	if *write != "" {
		return writeNew(*write, append(b, '\n'), *force)
	}
	if *writeCoef != "" || *writeNM != "" {
		return nil
	}
	_, err = fmt.Fprintf(stdout, "%s\n", b)
	return err
}

func runAlertsList(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("alerts list", stderr)
	af := addAnalyticsFlags(fs)
	var f dosimetry.AlertFilter
	fs.StringVar(&f.Site, "site", "", "only this site's alerts")
	fs.StringVar(&f.Kind, "kind", "", "only this kind (nrd_exceeded, air_kerma, dap, ct_dlp, ct_ctdivol, cumulative_dose, repeat_ct, foetal_dose, peak_skin_dose)")
	fs.BoolVar(&f.Open, "open", false, "only alerts nobody acknowledged")
	fs.StringVar(&f.From, "from", "", "first exam date, YYYY-MM-DD")
	fs.StringVar(&f.To, "to", "", "last exam date, YYYY-MM-DD")
	fs.StringVar(&f.Identity, "identity", "", "only the per-patient alerts of this regional identity")
	record := fs.String("record", "", "only the alerts of this source record, AUTHORITY/LOCAL_ID")
	asJSON := fs.Bool("json", false, "write the alerts as JSON, acknowledgements included")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *record != "" {
		auth, local, ok := strings.Cut(*record, "/")
		if !ok || auth == "" || local == "" {
			return usageErr("--record %q: want AUTHORITY/LOCAL_ID", *record)
		}
		f.Key = vigie.SourceKey{Authority: auth, LocalID: local}
	}
	db, err := af.openStore()
	if err != nil {
		return err
	}
	defer db.Close()
	as, err := dosimetry.OpenAlerts(db).List(context.Background(), f)
	if err != nil {
		return err
	}
	read := operatorRead{Verb: "alerts list", What: fmt.Sprintf("dose alerts: %d", len(as))}
	for _, a := range as {
		read.Records = append(read.Records, audit.Record{Authority: a.Key.Authority, LocalID: a.Key.LocalID})
	}
	if err := read.recordIn(db); err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(as)
	}
	tw := newTable(stdout)
	fmt.Fprintln(tw, "id\tdate\tsite\tpatient record\tkind\tstatus\tmessage")
	for _, a := range as {
		status := "open"
		if a.Acknowledged() {
			last := a.Acks[len(a.Acks)-1]
			status = "ack " + last.Actor + " " + last.At.Format("2006-01-02")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Date, a.Site, a.Key.LocalID, a.Kind, status, a.Message)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d alerts\n", len(as))
	return nil
}

func runAlertsScan(args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlagSet("alerts scan", stderr)
	af := addAnalyticsFlags(fs)
	var q dosimetry.ScanQuery
	fs.StringVar(&q.Site, "site", "", "only this site's exams (a patient's history still spans every site)")
	fs.StringVar(&q.From, "from", "", "first exam date, YYYY-MM-DD")
	fs.StringVar(&q.To, "to", "", "last exam date, YYYY-MM-DD")
	config := fs.String("config", "", "alert thresholds (JSON over the defaults; default: the shipped defaults)")
	coefFile := fs.String("coefficients", "", "effective-dose coefficients (JSON; default: the shipped ones)")
	nmFile := nmCoefficientsFlag(fs)
	identities := fs.Bool("identities", true, "use the patient index: group source records into patients, and take ages the DICOM header lacks (false: one source record is one patient)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	tab, nrd, err := af.tables()
	if err != nil {
		return err
	}
	cfg, err := loadFlagFile("config", *config, dosimetry.DefaultAlertConfig, dosimetry.LoadAlertConfig)
	if err != nil {
		return err
	}
	coef, err := loadFlagFile("coefficients", *coefFile, dosimetry.DefaultCoefficients, dosimetry.LoadCoefficients)
	if err != nil {
		return err
	}
	if coef.NM, err = loadNMCoefficients(*nmFile); err != nil {
		return err
	}
	db, err := af.openStore()
	if err != nil {
		return err
	}
	defer db.Close()
	led := ledger.Open(db)
	alerts := dosimetry.OpenAlerts(db)
	s := &dosimetry.Scanner{Types: tab, NRD: nrd, Coef: coef, Config: cfg, History: led,
		Pregnant: alerts.Pregnancies().Pregnant(context.Background())}
	if *identities {
		ix, oerr := mpi.Open(db, nil, mpi.Options{})
		if oerr != nil {
			return fmt.Errorf("patient index: %w", oerr)
		}
		defer ix.Close()
		s.Identities = rpc.MPIIdentities{Index: ix}
		demo := rpc.NewMPIDemographics(context.Background(), ix)
		s.Age = demo.Age
		defer func() {
			if err == nil {
				err = demo.Err()
			}
		}()
	}
	res, err := s.Scan(context.Background(), led, alerts, q)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d exams of %d patients examined: %d new alerts, %d already raised", res.Exams, res.Patients, res.Raised, res.Known)
	if res.Unindexed > 0 {
		fmt.Fprintf(stdout, ", %d source records not in the patient index (each taken as its own patient)", res.Unindexed)
	}
	fmt.Fprintln(stdout)
	return nil
}

func runAlertsAck(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("alerts ack", stderr)
	af := addAnalyticsFlags(fs)
	id := fs.String("id", "", "alert id, as alerts list shows it (required)")
	actor := fs.String("actor", "", "who acknowledges (required)")
	comment := fs.String("comment", "", "what was done or decided (required)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*id) == "" {
		return usageErr("--id is required")
	}
	db, err := af.openStore()
	if err != nil {
		return err
	}
	defer db.Close()
	a, err := dosimetry.OpenAlerts(db).Ack(context.Background(), *id, *actor, *comment)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "alert %s acknowledged by %s (%d acknowledgement(s))\n", a.ID, *actor, len(a.Acks))
	return nil
}
